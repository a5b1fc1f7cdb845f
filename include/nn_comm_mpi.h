/* nn_comm_mpi.h — the MPI communicator (library nn_mpi, built when CMake
 * finds MPI). Only this header's implementation sees MPI: the program calls
 * these functions and hands the nn_comm to the trainer. */
#ifndef NN_COMM_MPI_H
#define NN_COMM_MPI_H

#include "nn_comm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Initialize MPI (if it is not already) and open a communicator over all the
 * processes of the job, on a private duplicate of MPI_COMM_WORLD with errors
 * returned, not fatal. *out is allocated; close with nn_comm_mpi_close. */
nn_status nn_comm_mpi_open(int *argc, char ***argv, nn_comm **out, nn_error *err);
/* Release the communicator and finalize MPI. NULL only finalizes. */
void nn_comm_mpi_close(nn_comm *c);
/* Stop every process of the job with exit code `code` (after a rank failed
 * outside a collective, where the others cannot learn of it). */
void nn_comm_mpi_abort(nn_comm *c, int code);
/* The MPI library's version string, e.g. "Open MPI v4.1.4". */
const char *nn_comm_mpi_library(char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* NN_COMM_MPI_H */
