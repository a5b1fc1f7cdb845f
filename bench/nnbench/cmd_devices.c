/* cmd_devices.c — `nnbench devices`: list OpenCL platforms and devices, and
 * say which device "--backend auto" would use. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "nn_tools.h"
#include "nn_tune.h"
#include "options.h"

static const opt_group *const NO_GROUPS[] = {NULL};
static const opt_table DEVICES_OPTIONS = {
    "devices",
    "usage: nnbench devices [--help]\n"
    "Lists every OpenCL platform and device with its index (what --device and\n"
    "NN_OPENCL_DEVICE take, as does a name substring), type, compute units, global\n"
    "memory, max work-group size and OpenCL C version, and marks the device that\n"
    "--backend auto would use (the first GPU or accelerator; otherwise auto uses the\n"
    "CPU backend) and the one --backend opencl opens by default, and whether each device\n"
    "has launch parameters from nnbench tune in the cache.\n",
    NO_GROUPS};

/* Whether `nnbench tune` has tuned device `index`, as the backend will see it. */
static void print_tuning(size_t index) {
    nn_tune_entry_info info;
    nn_error err = {0};
    if (nn_tune_device_status(index, &info, &err) != NN_OK) {
        printf("      tuning: unknown (%s)\n", err.msg);
        return;
    }
    if (info.state == NN_TUNE_VALID)
        printf("      tuning: %s, from %s\n", info.detail, info.path);
    else if (info.state == NN_TUNE_IGNORED)
        printf("      tuning: cache entry ignored (%s); defaults used until nnbench tune --device "
               "%zu\n", info.detail, index);
    else
        printf("      tuning: not tuned, built-in defaults (nnbench tune --device %zu)\n", index);
}

/* Print the devices of platform p (entries of devs with that platform index). */
static void print_platform(const nn_opencl_platform_info *p, const nn_opencl_device_info *devs,
                           size_t n) {
    printf("platform %zu: %s (%s; %s), %zu device%s\n", p->index, p->name, p->vendor,
           p->version, p->devices, p->devices == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const nn_opencl_device_info *d = &devs[i];
        if (d->platform_index != p->index) continue;
        printf("  [%zu] %s%s%s\n", d->index, d->name, d->is_auto ? "  <- auto" : "",
               d->is_default ? "  <- default for --backend opencl" : "");
        printf("      type %s, %u compute units, %.2f GiB global memory, max work-group %zu, %s\n",
               d->type, d->compute_units, (double)d->global_mem_bytes / (1024.0 * 1024.0 * 1024.0),
               d->max_work_group_size, d->c_version);
        print_tuning(d->index);
    }
}

/* List everything; exit 0 also when there is no platform or device. */
static int list_all(void) {
    nn_error err = {0};
    nn_opencl_platform_info *pfs = NULL;
    size_t npf = 0;
    if (nn_opencl_list_platforms(&pfs, &npf, &err) != NN_OK) {
        printf("%s; auto uses the CPU backend\n", err.msg);
        return EXIT_OK;
    }
    nn_opencl_device_info *devs = NULL;
    size_t nd = 0;
    nn_status st = nn_opencl_list_devices(&devs, &nd, &err);
    if (st != NN_OK && st != NN_E_UNAVAILABLE) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        free(pfs);
        return EXIT_FAIL;
    }
    printf("%zu OpenCL platform%s\n", npf, npf == 1 ? "" : "s");
    for (size_t p = 0; p < npf; p++) print_platform(&pfs[p], devs, nd);
    const nn_opencl_device_info *chosen = NULL;
    for (size_t i = 0; i < nd; i++)
        if (devs[i].is_auto) chosen = &devs[i];
    if (chosen)
        printf("auto: OpenCL device %zu, %s (%s)\n", chosen->index, chosen->name, chosen->platform);
    else
        printf("auto: no OpenCL GPU or accelerator, so auto uses the CPU backend\n");
    free(devs);
    free(pfs);
    return EXIT_OK;
}

/* `nnbench devices [--help]`: 0 on success (also with no OpenCL), 2 on bad options. */
int cmd_devices(int argc, char **argv) {
    int rc = opt_parse(&DEVICES_OPTIONS, argc, argv, NULL, NULL);
    if (rc < 0) return EXIT_OK; /* --help */
    if (rc != 0) return rc;
    return list_all();
}
