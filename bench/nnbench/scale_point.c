/* scale_point.c — the hidden command every rank of a multi-rank point runs
 * under the MPI launcher: `nnbench scale-point RESULT [scale options]`, each
 * list holding one value. The ranks train the point together through the
 * job's communicator (ranks.c started MPI); rank 0 writes the results to
 * RESULT for the sweep that launched them. A failure on any rank reaches
 * every rank through the library's agreement, so all return together with
 * the failing rank's message in the result. */
#include <string.h>

#include "cli.h"
#include "nn_io.h"
#include "ranks.h"
#include "scale.h"

/* Write pt whole to path (replaced only when complete). */
static int write_result(const char *path, const point *pt) {
    nn_outfile *f;
    nn_error err;
    nn_status st = nn_outfile_open(path, 0, &f, &err);
    if (st == NN_OK) {
        fwrite(pt, sizeof *pt, 1, nn_outfile_stream(f));
        st = nn_outfile_commit(f, &err);
    }
    if (st != NN_OK) fprintf(stderr, "nnbench: %s: %s\n", SCALE_POINT_COMMAND, err.msg);
    return st == NN_OK ? 0 : -1;
}

int cmd_scale_point(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-')
        return cli_usage_error("%s: internal command of `nnbench scale --ranks`; usage: nnbench "
                               "%s RESULT_FILE [scale options]", SCALE_POINT_COMMAND,
                               SCALE_POINT_COMMAND);
    const char *result = argv[1];
    scale_options o;
    int rc = scale_parse(argc - 1, argv + 1, &o);
    if (rc < 0) return EXIT_OK;
    if (rc != EXIT_OK) return rc;
    for (int a = 0; a < N_AXES; a++)
        if (o.ax[a].n != 1)
            return cli_usage_error("%s: --%s takes one value here", SCALE_POINT_COMMAND,
                                   SCALE_AXIS_NAMES[a]);
    if (o.backends.n != 1)
        return cli_usage_error("%s: --backend takes one value here", SCALE_POINT_COMMAND);
    point pt;
    memset(&pt, 0, sizeof pt);
    pt.backend = o.backends.v[0];
    for (int a = 0; a < N_AXES; a++) pt.p[a] = o.ax[a].v[0];
    nn_comm *comm = ranks_comm();
    const int size = comm ? comm->size : 1;
    if ((uint64_t)size != pt.p[AX_RANKS]) {
        char lib[128];
        return cli_usage_error("%s: --ranks %llu, but MPI sees %d process%s (is the launcher of "
                               "the MPI this nnbench was built with, %s?)", SCALE_POINT_COMMAND,
                               (unsigned long long)pt.p[AX_RANKS], size, size == 1 ? "" : "es",
                               ranks_mpi_library(lib, sizeof lib));
    }
    scale_point_train(&o, &pt, comm);
    if ((!comm || comm->rank == 0) && write_result(result, &pt) != 0) ranks_abort(EXIT_FAIL);
    return pt.ok ? EXIT_OK : EXIT_FAIL;
}
