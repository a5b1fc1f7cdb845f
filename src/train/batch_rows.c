/* batch_rows.c — which rows of the source the next step takes (for checking
 * a step against a recomputation on the host; nn_tools.h section 4). The
 * batch is trainer_batch_at's, as for locate() in step.c, and the shuffle
 * select_rows()'s in stage.c: batch k of a chunk is rows [k*batch, k*batch + n)
 * of the chunk's shuffle (or of the chunk in order when a batch covers it). */
#include <stdlib.h>

#include "nn_tools.h"
#include "train/train_internal.h"

nn_status nn_trainer_batch_rows(const nn_trainer *tr, uint64_t *rows, size_t cap, size_t *count,
                                nn_error *err) {
    if (nn_trainer_finished(tr))
        return nn_error_set(err, NN_E_INVALID, "training is finished (%d epochs)", tr->cfg.epochs);
    const batch_pos p = trainer_batch_at(tr, tr->epoch_step);
    const uint64_t chunk = p.chunk;
    const size_t chunk_rows = p.chunk_rows, r0 = p.r0, n = p.n;
    if (n > cap)
        return nn_error_set(err, NN_E_INVALID, "the next batch has %zu rows, room for %zu", n,
                            cap);
    /* a chunk is shuffled when a batch is smaller than it (a resident chunk
     * has tr->chunk_rows rows: then this is tr->shuffle) */
    const int shuffle = tr->batch < chunk_rows;
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
