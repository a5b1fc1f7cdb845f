/* backend.c — the backend registry: open by name, "auto" selection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

typedef struct registry_entry {
    const char *name;
    const struct nn_backend_ops *ops;
} registry_entry;

static const registry_entry REGISTRY[] = {
    {"cpu", &nn_cpu_ops},
#ifdef NN_HAVE_OPENCL
    {"opencl", &nn_opencl_ops},
#endif
};

static const char *const NAMES[] = {
    "cpu",
#ifdef NN_HAVE_OPENCL
    "opencl",
#endif
    NULL,
};

const char *const *nn_backend_names(void) { return NAMES; }

static const struct nn_backend_ops *find_ops(const char *name) {
    for (size_t i = 0; i < sizeof REGISTRY / sizeof REGISTRY[0]; i++)
        if (strcmp(REGISTRY[i].name, name) == 0) return REGISTRY[i].ops;
    return NULL;
}

nn_status nn_backend_open(const char *name, const nn_backend_config *cfg, nn_backend **out,
                          nn_error *err) {
    static const nn_backend_config defaults = {0, NULL, 0};
    if (!out) return nn_error_set(err, NN_E_INVALID, "nn_backend_open: out is NULL");
    *out = NULL;
    if (!cfg) cfg = &defaults;
    if (!name) name = "auto";
    if (cfg->threads < 0)
        return nn_error_set(err, NN_E_INVALID, "threads must be >= 0, got %d", cfg->threads);

    const struct nn_backend_ops *ops;
    if (strcmp(name, "auto") == 0) {
#ifdef NN_HAVE_OPENCL
        ops = nn_opencl_has_gpu() ? &nn_opencl_ops : &nn_cpu_ops;
#else
        ops = &nn_cpu_ops;
#endif
    } else {
        ops = find_ops(name);
        if (!ops) {
            if (strcmp(name, "opencl") == 0)
                return nn_error_set(err, NN_E_UNAVAILABLE,
                                    "this library was built without OpenCL");
            return nn_error_set(err, NN_E_INVALID,
                                "unknown backend '%s' (expected cpu, opencl or auto)", name);
        }
    }

    nn_backend *be = calloc(1, sizeof *be);
    if (!be) return nn_error_set(err, NN_E_NOMEM, "out of memory opening backend '%s'", name);
    be->ops = ops;
    snprintf(be->name, sizeof be->name, "%s", ops->name);
    nn_status st = ops->open(be, cfg, err);
    if (st != NN_OK) {
        free(be);
        return st;
    }
    *out = be;
    return NN_OK;
}

void nn_backend_close(nn_backend *be) {
    if (!be) return;
    be->ops->close(be);
    free(be);
}

const char *nn_backend_name(const nn_backend *be) { return be->name; }
const char *nn_backend_device(const nn_backend *be) { return be->device; }
int nn_backend_threads(const nn_backend *be) { return be->threads; }
const char *nn_backend_notes(const nn_backend *be) { return be->notes; }

void nn_backend_profile(const nn_backend *be, nn_profile *p) {
    memset(p, 0, sizeof *p);
    if (be && be->ops->profile) be->ops->profile(be, p);
}
