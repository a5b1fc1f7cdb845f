/* cpu_path.h — the instruction-set paths of the CPU backend (internal). The
 * GEMM and the elementwise loops each exist once per path; every path computes
 * the same bits, so which one runs never changes a result. The backend uses the
 * best path this CPU supports; tests force each one and compare. */
#ifndef NN_CPU_PATH_H
#define NN_CPU_PATH_H

/* An instruction-set path. */
typedef enum nn_cpu_path {
    NN_CPU_PATH_AUTO = 0, /* the best path this CPU supports */
    NN_CPU_PATH_C,        /* portable C */
    NN_CPU_PATH_AVX2,     /* AVX2 + FMA */
    NN_CPU_PATH_AVX512,   /* AVX-512F */
} nn_cpu_path;

/* 1 if this CPU can run `path` (AUTO and C: always). */
int nn_cpu_path_supported(nn_cpu_path path);
/* The fastest supported path (never AUTO). */
nn_cpu_path nn_cpu_path_best(void);
/* AUTO and unsupported paths -> the best supported one; others unchanged. */
nn_cpu_path nn_cpu_path_resolve(nn_cpu_path path);
/* "auto", "c", "avx2", "avx512". */
const char *nn_cpu_path_name(nn_cpu_path path);

#endif
