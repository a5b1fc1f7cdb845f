/* test_mutation_matmul.c — the mutants of matmul.cl, reduce.cl and
 * optimizer.cl (tests/mutants.h) must be caught by `nnbench check`, naming
 * their layer and quantity; equivalent ones must pass. See test_mutation.c.
 * Skipped without an OpenCL device. */
#include "mutation_util.h"

Test(mutation, matmul_cl, .timeout = 900) { run_file("matmul.cl"); }
Test(mutation, reduce_cl, .timeout = 900) { run_file("reduce.cl"); }
Test(mutation, optimizer_cl, .timeout = 900) { run_file("optimizer.cl"); }
