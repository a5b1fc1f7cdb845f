/* resume.h — checkpoints of `nnbench train`: the trainer's state
 * (nn_train_state) with the run's settings written as an nn_checkpoint
 * (include/nn_io.h), and a run continued from one (--resume).
 *
 * Besides the model metadata (architecture, scaler, the data's description,
 * seed, epochs planned) and the optimizer's settings, a checkpoint carries
 * the extras "batch", "log_every", "train_rows" and "steps_per_epoch". A
 * resumed run takes every setting from the checkpoint (they are placed
 * before the command line's options); an option given that contradicts one
 * is refused, except --epochs, which may move the end anywhere at or after
 * the checkpoint's position. */
#ifndef NNBENCH_RESUME_H
#define NNBENCH_RESUME_H

#include "experiment.h"
#include "nn_io.h"

/* What a run's checkpoints carry besides the trainer's state. */
typedef struct run_ckpt {
    const char *path;              /* --checkpoint */
    const experiment_options *o;   /* the run's settings */
    const experiment_data *d;      /* its data (scaler, rows) */
    const char *desc;              /* describe_data's text */
    uint64_t steps_per_epoch;
} run_ckpt;

/* Copy tr's state (collective when training with ranks) and, on the root
 * rank, save it with the run's settings to c->path (atomic, durable). A
 * failure to save names "checkpoint" in err->param. */
nn_status ckpt_write(const run_ckpt *c, nn_trainer *tr, int is_root, nn_error *err);

/* The value of --resume in argv[1..) ("--resume P" or "--resume=P"), or NULL. */
const char *resume_find(int argc, char **argv);
/* Read and validate the checkpoint at path into ck (free with
 * nn_checkpoint_free). EXIT_OK, or EXIT_USAGE after one line naming it. */
int resume_load(const char *path, nn_checkpoint *ck);
/* The argument vector of the resumed run: argv[0], the checkpoint's
 * settings as options, then argv[1..). Returns 0, or -1 (message printed). */
int resume_args(const nn_checkpoint *ck, int argc, char **argv, arglist *a);
/* After experiment_prepare: the run's data and settings must be the
 * checkpoint's (desc is describe_data's text) and --epochs must not end
 * before its position. EXIT_OK, or EXIT_USAGE naming the option, the file
 * and both values. */
int resume_verify(const nn_checkpoint *ck, const char *path, const experiment_options *o,
                  const experiment_data *d, const char *desc);
/* Continue tr from the checkpoint's state. EXIT_OK, or EXIT_USAGE when the
 * trainer plans other steps than the checkpoint's run, EXIT_FAIL otherwise. */
int resume_apply(const nn_checkpoint *ck, const char *path, nn_trainer *tr);

#endif
