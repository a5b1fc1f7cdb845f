#!/usr/bin/env python3
"""Neural network from scratch with NumPy: the classic tutorial experiment.

A 2-8-1 network (ReLU hidden layer, sigmoid output) learns to separate two
concentric circles, trained with full-batch gradient descent. This is the
experiment nnbench runs by default (`nnbench` with no options), written the
way the tutorial writes it, so the two can be compared side by side:

    /usr/bin/python3 bench/peers/python/tutorial_numpy.py          # the tutorial's output
    /usr/bin/python3 bench/peers/python/tutorial_numpy.py --json   # plus a JSON record

Only the training loop (the 1000 epochs) is timed. The JSON record uses the
keys of `nnbench --json`: train_seconds, samples_per_second, gflops,
final_loss, test_accuracy, ...
"""
import sys
import time

import numpy as np
from sklearn.datasets import make_circles
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

# 1. The data: two noisy concentric circles
X, y = make_circles(n_samples=1000, noise=0.1, random_state=42)
y = y.reshape(-1, 1)

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)


# 2. The network
class NeuralNetwork:
    def __init__(self, input_size, hidden_size, output_size):
        # He initialization for the ReLU layer
        np.random.seed(42)
        self.W1 = np.random.randn(input_size, hidden_size) * np.sqrt(2 / input_size)
        self.b1 = np.zeros((1, hidden_size))
        self.W2 = np.random.randn(hidden_size, output_size) * np.sqrt(2 / hidden_size)
        self.b2 = np.zeros((1, output_size))

    def relu(self, Z):
        return np.maximum(0, Z)

    def sigmoid(self, Z):
        return 1 / (1 + np.exp(-Z))

    def forward(self, X):
        self.Z1 = X @ self.W1 + self.b1
        self.A1 = self.relu(self.Z1)
        self.Z2 = self.A1 @ self.W2 + self.b2
        self.A2 = self.sigmoid(self.Z2)
        return self.A2

    def compute_loss(self, y_true, y_pred):
        # binary cross-entropy, clipped so that log(0) never happens
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))

    def backward(self, X, y):
        m = X.shape[0]
        dZ2 = self.A2 - y
        dW2 = self.A1.T @ dZ2 / m
        db2 = np.sum(dZ2, axis=0, keepdims=True) / m
        dZ1 = dZ2 @ self.W2.T * (self.Z1 > 0)
        dW1 = X.T @ dZ1 / m
        db1 = np.sum(dZ1, axis=0, keepdims=True) / m
        return dW1, db1, dW2, db2

    def update(self, dW1, db1, dW2, db2, learning_rate):
        self.W1 -= learning_rate * dW1
        self.b1 -= learning_rate * db1
        self.W2 -= learning_rate * dW2
        self.b2 -= learning_rate * db2

    def train(self, X, y, epochs, learning_rate):
        losses = []
        for epoch in range(epochs):
            y_pred = self.forward(X)
            loss = self.compute_loss(y, y_pred)
            losses.append(loss)
            dW1, db1, dW2, db2 = self.backward(X, y)
            self.update(dW1, db1, dW2, db2, learning_rate)
            if epoch % 100 == 0:
                print(f"Epoch {epoch}: Loss = {loss:.4f}")
        return losses

    def predict(self, X):
        return (self.forward(X) > 0.5).astype(int)


# 3. Training
input_size, hidden_size, output_size = 2, 8, 1
epochs, learning_rate = 1000, 0.1
model = NeuralNetwork(input_size, hidden_size, output_size)

start = time.perf_counter()
losses = model.train(X_train, y_train, epochs=epochs, learning_rate=learning_rate)
train_seconds = time.perf_counter() - start

# 4. Evaluation
test_accuracy = np.mean(model.predict(X_test) == y_test)
print(f"Test accuracy: {test_accuracy:.4f}")

if "--json" in sys.argv[1:]:
    from peer_common import tutorial_record

    print(tutorial_record("numpy-tutorial", np.__version__, None, len(X_train), len(X_test), epochs,
                          learning_rate, losses, test_accuracy, train_seconds))
