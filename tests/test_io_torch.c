/* test_io_torch.c — models saved by nnbench load into the matching PyTorch
 * nn.Sequential with net.load_state_dict(safetensors.torch.load_file(path))
 * (tests/python/st_torch.py, strict) and predict the same within 1e-5.
 * Skipped (reported as such) unless a python3 with torch and safetensors is
 * found; <build>/pydeps (where setup.sh pip-installs safetensors) is put
 * first on PYTHONPATH. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "tu_io.h"

Test(io_torch, pytorch_loads_nnbench_models) {
    char exe[4096];
    snprintf(exe, sizeof exe, "%s", NNBENCH_EXE);
    char *pydeps = tu_path(dirname(exe), "pydeps");
    const char *old = getenv("PYTHONPATH");
    char *pythonpath = NULL;
    cr_assert_gt(asprintf(&pythonpath, "%s%s%s", pydeps, old ? ":" : "", old ? old : ""), 0);
    setenv("PYTHONPATH", pythonpath, 1);
    const char *python = tu_find_python("numpy torch safetensors");
    if (python == NULL)
        cr_skip_test("no python3 with torch and safetensors (apt-get install python3-torch; "
                     "python3 -m pip install --target build/pydeps safetensors)");
    char *dir = tu_tmpdir();
    tu_check_peer_predictions(python, NN_SOURCE_DIR "/tests/python/st_torch.py", dir, "torch",
                              1e-5);
    tu_rmtree(dir); /* frees dir */
    free(pythonpath);
    free(pydeps);
}
