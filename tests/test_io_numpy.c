/* test_io_numpy.c — models trained and saved by nnbench (circles/bce,
 * spirals/ce, moons/mse), read back by NumPy alone (tests/python/st_numpy.py
 * parses the safetensors header itself and checks the layout and checksum),
 * predict the same as nn_model_predict within 1e-5. Skipped (reported as
 * such) when no python3 with NumPy is found. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "testutil.h"
#include "tu_io.h"

Test(io_numpy, numpy_reads_nnbench_models) {
    const char *python = tu_find_python("numpy");
    if (python == NULL) cr_skip_test("no python3 with NumPy (apt-get install python3-numpy)");
    char *dir = tu_tmpdir();
    tu_check_peer_predictions(python, NN_SOURCE_DIR "/tests/python/st_numpy.py", dir, "numpy",
                              1e-5);
    tu_rmtree(dir); /* frees dir */
}
