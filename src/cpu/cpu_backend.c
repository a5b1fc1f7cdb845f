/* cpu_backend.c — the CPU backend: buffers in host memory and its ops table.
 * The ops themselves live in cpu_ops.c (elementwise, losses, reductions,
 * optimizers) and gemm.c (matrix multiply). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend.h"
#include "cpu/cpu_ops.h"

/* Buffers up to this size are zeroed when allocated (see cpu_alloc). */
#define PREFAULT_BYTES ((size_t)16 << 20)
/* Buffers of at least this size ask for transparent huge pages: a shuffled
 * batch gathers rows from all over a resident data set, and with 4 KiB pages
 * nearly every row costs a page walk (measured: a fifth of a small network's
 * step). */
#define HUGE_BYTES ((size_t)4 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

static void read_cpu_model(char *dst, size_t len) {
    snprintf(dst, len, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ') colon++;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(dst, len, "%s", colon);
            }
            break;
        }
    }
    fclose(f);
}

static nn_status cpu_open(nn_backend *be, const nn_backend_config *cfg, nn_error *err) {
    nn_cpu_state *c = calloc(1, sizeof *c);
    if (!c) return nn_error_set(err, NN_E_NOMEM, "out of memory opening the cpu backend");
    c->path = nn_cpu_path_best();
    be->threads = cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
    /* NN_CPU_TEAM=fixed: always offer jobs to every thread (tests of the
     * threaded paths on a busy machine); default: adaptive (cpu_team.c) */
    const char *mode = getenv("NN_CPU_TEAM");
    const int adaptive = !(mode && strcmp(mode, "fixed") == 0);
    nn_status st = nn_team_create(be->threads, adaptive, &c->team, err);
    if (st != NN_OK) {
        free(c);
        return st;
    }
    be->ctx = c;
    read_cpu_model(be->device, sizeof be->device);
    return NN_OK;
}

static void cpu_close(nn_backend *be) {
    nn_cpu_state *c = be->ctx;
    if (!c) return;
    nn_team_free(c->team); /* first: a job in flight runs on the copies */
    nn_cpu_solos_free(c->solos);
    nn_gemm_workspace_free(&c->ws);
    free(c);
    be->ctx = NULL;
}

static int cpu_threads_used(nn_backend *be, int reset) {
    nn_cpu_state *c = be->ctx;
    return nn_team_used(c->team, reset);
}

nn_cpu_path nn_cpu_backend_use_path(nn_backend *be, nn_cpu_path path) {
    nn_cpu_state *st = be->ctx;
    st->path = nn_cpu_path_resolve(path);
    return st->path;
}

static nn_status cpu_alloc(nn_backend *be, size_t count, nn_buf **out, nn_error *err) {
    (void)be;
    *out = NULL;
    if (count > (SIZE_MAX - 64) / sizeof(float))
        return nn_error_set(err, NN_E_NOMEM, "buffer of %zu floats is too large", count);
    nn_buf *b = malloc(sizeof *b);
    size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
    const int huge = bytes >= HUGE_BYTES;
    if (huge) bytes = (bytes + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN;
    void *data = NULL;
    if (!b || posix_memalign(&data, huge ? HUGE_ALIGN : 64, bytes ? bytes : 64) != 0) {
        free(b);
        return nn_error_set(err, NN_E_NOMEM, "cannot allocate %zu bytes on the cpu backend",
                            count * sizeof(float));
    }
    /* Fault in the pages of buffers up to PREFAULT_BYTES now, not in the first
     * training step that writes them (page faults cost microseconds each). */
#ifdef MADV_HUGEPAGE
    if (huge) madvise(data, bytes, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    if (bytes <= PREFAULT_BYTES) memset(data, 0, bytes);
    b->count = count;
    b->data = data;
    *out = b;
    return NN_OK;
}

static void cpu_release(nn_backend *be, nn_buf *b) {
    (void)be;
    if (!b) return;
    free(b->data);
    free(b);
}

static nn_status check_range(nn_view v, size_t count, const char *what, nn_error *err) {
    if (!v.buf || v.off > v.buf->count || count > v.buf->count - v.off)
        return nn_error_set(err, NN_E_INVALID, "%s: %zu elements at offset %zu exceed the buffer",
                            what, count, v.off);
    return NN_OK;
}

static nn_status cpu_write(nn_backend *be, nn_view dst, const void *src, size_t count,
                           nn_error *err) {
    (void)be;
    nn_status st = check_range(dst, count, "write", err);
    if (st == NN_OK && count) memcpy(nn_cpu_ptr(dst), src, count * sizeof(float));
    return st;
}

static nn_status cpu_read(nn_backend *be, nn_view src, void *dst, size_t count, nn_error *err) {
    (void)be;
    nn_status st = check_range(src, count, "read", err);
    if (st == NN_OK && count) memcpy(dst, nn_cpu_ptr(src), count * sizeof(float));
    return st;
}

static float *cpu_host_ptr(nn_backend *be, nn_view v) {
    (void)be;
    return nn_cpu_ptr(v);
}

static nn_status cpu_sync(nn_backend *be, nn_error *err) {
    (void)be;
    (void)err;
    return NN_OK;
}

const struct nn_backend_ops nn_cpu_ops = {
    .name = "cpu",
    .open = cpu_open,
    .close = cpu_close,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .write = cpu_write,
    .read = cpu_read,
    .fill = nn_cpu_fill,
    .matmul = nn_cpu_matmul,
    .bias_add = nn_cpu_bias_add,
    .act_forward = nn_cpu_act_forward,
    .act_backward = nn_cpu_act_backward,
    .loss_sum = nn_cpu_loss_sum,
    .loss_grad = nn_cpu_loss_grad,
    .col_sum = nn_cpu_col_sum,
    .gather_rows = nn_cpu_gather_rows,
    .prefetch_rows = nn_cpu_prefetch_rows,
    .update = nn_cpu_update,
    .dense_forward = nn_cpu_dense_forward,
    .bias_act = nn_cpu_bias_act,
    .dense_backward_dx = nn_cpu_dense_backward_dx,
    .dense_backward_dw = nn_cpu_dense_backward_dw,
    .dense_backward_dw_update = nn_cpu_dense_backward_dw_update,
    .act_backward_sum = nn_cpu_act_backward_sum,
    .loss_grad_sum = nn_cpu_loss_grad_sum,
    .run_chunks = nn_cpu_run_chunks,
    .start_chunks = nn_cpu_start_chunks,
    .wait_chunks = nn_cpu_wait_chunks,
    .small_step_fits = nn_cpu_small_step_fits,
    .small_step = nn_cpu_small_step,
    .sync = cpu_sync,
    .profile = NULL,
    .host_ptr = cpu_host_ptr,
    .threads_used = cpu_threads_used,
};
