/* keeps the test-support library non-empty */
typedef int nn_test_support_empty;
