/* The nlcl command's MPI side (cli/mpi.h, docs/SCALING.md). */
#include "mpi.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifdef NLCL_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1, g_failed = 0;
#ifdef NLCL_HAVE_MPI
static int g_started = 0; /* MPI_Init done */
#endif

/* The number of processes a launcher started (mpirun, srun with PMI), or 0
 * when none did. */
static int launched_size(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v) > 0 ? atoi(v) : 1;
    }
    return getenv("PMIX_RANK") ? 1 : 0;
}

static int launched_rank(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

int cli_mpi_start(const char *cmd) {
    int n = launched_size();
    int shares = !strcmp(cmd, "train") || !strcmp(cmd, "derain");
    cli_rank = launched_rank();
#ifdef NLCL_HAVE_MPI
    if (n > 1 && !shares) {
        if (cli_rank == 0)
            fprintf(stderr, "nlcl %s: runs in one process; start it without mpirun (train and derain "
                            "are the commands that share their work across ranks)\n", cmd);
        return CLI_EXIT_USAGE;
    }
    if (n == 0 || !shares) {
        cli_rank = 0;
        return CLI_CONTINUE;
    }
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "nlcl %s: MPI_Init failed\n", cmd);
        return CLI_EXIT_FAIL;
    }
    g_started = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    cli_rank = g_rank;
    return CLI_CONTINUE;
#else
    if (n > 1) {
        if (cli_rank == 0)
            fprintf(stderr, "nlcl %s: this nlcl was built without MPI, so each of the %d processes "
                            "mpirun started would do the whole job; rebuild with MPI (Debian: "
                            "libopenmpi-dev; 'nlcl --version' says whether a build has it) or run "
                            "one process\n", cmd, n);
        return CLI_EXIT_FAIL;
    }
    (void)shares;
    cli_rank = 0;
    return CLI_CONTINUE;
#endif
}

int cli_mpi_finish(int rc) {
#ifdef NLCL_HAVE_MPI
    if (g_started) MPI_Finalize();
    g_started = 0;
#endif
    return rc;
}

void cli_mpi_abort(const char *msg, int rc) {
    fprintf(stderr, "nlcl: rank %d: %s; ending every rank (MPI_Abort)\n", g_rank, msg);
    fflush(stderr);
#ifdef NLCL_HAVE_MPI
    if (g_started) MPI_Abort(MPI_COMM_WORLD, rc);
#endif
    exit(rc);
}

int cli_mpi_rank(void) { return g_rank; }
int cli_mpi_size(void) { return g_size; }

#ifdef NLCL_HAVE_MPI
/* MPI counts are ints: large buffers go in pieces of 2^30 elements. */
#define PIECE ((size_t)1 << 30)

static int allreduce(void *ctx, void *buf, size_t count, nlcl_comm_type type, nlcl_comm_op op) {
    (void)ctx;
    MPI_Datatype t = type == NLCL_COMM_DOUBLE ? MPI_DOUBLE : MPI_FLOAT;
    size_t esz = type == NLCL_COMM_DOUBLE ? sizeof(double) : sizeof(float);
    for (size_t at = 0; at < count; at += PIECE) {
        int n = (int)(count - at < PIECE ? count - at : PIECE);
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * esz, n, t,
                          op == NLCL_COMM_MAX ? MPI_MAX : MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) {
            g_failed = 1;
            return -1;
        }
    }
    return 0;
}

static int broadcast(void *ctx, void *buf, size_t bytes) {
    (void)ctx;
    for (size_t at = 0; at < bytes; at += PIECE) {
        int n = (int)(bytes - at < PIECE ? bytes - at : PIECE);
        if (MPI_Bcast((char *)buf + at, n, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
            g_failed = 1;
            return -1;
        }
    }
    return 0;
}
#endif

int cli_mpi_sum(long long *v, int n) {
#ifdef NLCL_HAVE_MPI
    if (g_started && MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
        return g_failed = 1, -1;
#else
    (void)v, (void)n;
#endif
    return 0;
}

int cli_mpi_bcast_ints(int *v, int n) {
#ifdef NLCL_HAVE_MPI
    if (g_started && MPI_Bcast(v, n, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS) return g_failed = 1, -1;
#else
    (void)v, (void)n;
#endif
    return 0;
}

const nlcl_train_comm *cli_mpi_train_comm(void) {
#ifdef NLCL_HAVE_MPI
    static nlcl_train_comm comm;
    if (!g_started || g_size < 2) return NULL;
    comm = (nlcl_train_comm){g_rank, g_size, allreduce, broadcast, NULL};
    return &comm;
#else
    return NULL;
#endif
}

int cli_mpi_comm_failed(void) { return g_failed; }

const char *cli_mpi_library(void) {
#ifdef NLCL_HAVE_MPI
    static char buf[MPI_MAX_LIBRARY_VERSION_STRING + 1];
    int len = 0;
    if (MPI_Get_library_version(buf, &len) != MPI_SUCCESS) return "MPI";
    buf[strcspn(buf, ",\n")] = '\0';
    return buf;
#else
    return NULL;
#endif
}

int cli_mpi_kill_timeout(void) {
    if (!getenv("OMPI_COMM_WORLD_SIZE")) return -1;
    const char *v = getenv("OMPI_MCA_odls_base_sigkill_timeout");
    return v && atoi(v) > 0 ? atoi(v) : 1;
}
