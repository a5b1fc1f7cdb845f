/* batch_rows.c — which rows of the source the next step takes (for checking
 * a step against a recomputation on the host; nn_tools.h section 4). The same
 * plan as locate() in step.c and select_rows() in stage.c: batch k of a chunk
 * is rows [k*batch, k*batch + n) of the chunk's shuffle (or of the chunk in
 * order when a batch covers it). */
#include <stdlib.h>

#include "nn_tools.h"
#include "train/train_internal.h"

nn_status nn_trainer_batch_rows(const nn_trainer *tr, uint64_t *rows, size_t cap, size_t *count,
                                nn_error *err) {
    if (nn_trainer_finished(tr))
        return nn_error_set(err, NN_E_INVALID, "training is finished (%d epochs)", tr->cfg.epochs);
    const uint64_t s = tr->epoch_step;
    const uint64_t chunk = tr->resident ? 0 : s / tr->steps_per_chunk;
    const uint64_t k = tr->resident ? s : s % tr->steps_per_chunk; /* batch within the chunk */
    const size_t chunk_rows = trainer_chunk_size(tr, chunk);
    const size_t r0 = (size_t)k * tr->batch;
    const size_t n = chunk_rows - r0 < tr->batch ? chunk_rows - r0 : tr->batch;
    if (n > cap)
        return nn_error_set(err, NN_E_INVALID, "the next batch has %zu rows, room for %zu", n,
                            cap);
    /* a resident chunk is shuffled when a batch is smaller than it; a streamed
     * chunk when a batch is smaller than that chunk's rows */
    const int shuffle = tr->resident ? tr->shuffle : tr->batch < chunk_rows;
    uint32_t *perm = NULL; /* (chunk_rows) the chunk's shuffle */
    if (shuffle) {
        perm = malloc(chunk_rows * sizeof *perm);
        if (!perm) return nn_error_set(err, NN_E_NOMEM, "out of memory for a shuffle order");
        trainer_chunk_perm(tr, tr->epoch, chunk, perm, chunk_rows);
    }
    const uint64_t first = chunk * tr->chunk_rows;
    for (size_t j = 0; j < n; j++) rows[j] = first + (shuffle ? perm[r0 + j] : r0 + j);
    free(perm);
    *count = n;
    return NN_OK;
}
