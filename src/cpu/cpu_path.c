/* cpu_path.c — which instruction-set paths this CPU runs. */
#include "cpu/cpu_path.h"

int nn_cpu_path_supported(nn_cpu_path path) {
    switch (path) {
    case NN_CPU_PATH_AUTO:
    case NN_CPU_PATH_C:
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    case NN_CPU_PATH_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NN_CPU_PATH_AVX512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

nn_cpu_path nn_cpu_path_best(void) {
    if (nn_cpu_path_supported(NN_CPU_PATH_AVX512)) return NN_CPU_PATH_AVX512;
    if (nn_cpu_path_supported(NN_CPU_PATH_AVX2)) return NN_CPU_PATH_AVX2;
    return NN_CPU_PATH_C;
}

nn_cpu_path nn_cpu_path_resolve(nn_cpu_path path) {
    return path == NN_CPU_PATH_AUTO || !nn_cpu_path_supported(path) ? nn_cpu_path_best() : path;
}

const char *nn_cpu_path_name(nn_cpu_path path) {
    switch (path) {
    case NN_CPU_PATH_AUTO: return "auto";
    case NN_CPU_PATH_C: return "c";
    case NN_CPU_PATH_AVX2: return "avx2";
    case NN_CPU_PATH_AVX512: return "avx512";
    }
    return "?";
}
