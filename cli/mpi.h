/* The nlcl command on several processes (Open MPI): `mpirun -np N nlcl train`
 * (data-parallel) and `mpirun -np N nlcl derain` (the images shared out).
 * MPI lives here, in the command; libnlcl only calls the functions of an
 * nlcl_train_comm (nlcl/train.h) and links no MPI (docs/SCALING.md).
 *
 * A build without MPI (CMake found none, or -DNLCL_MPI=OFF) has the same
 * functions for one process; started by mpirun with N > 1 ranks it refuses to
 * run (each process would do the whole job) and says how to get MPI. MPI is
 * started only when a launcher started the process (mpirun's environment),
 * so a plain `nlcl train` never touches MPI. */
#ifndef NLCL_CLI_MPI_H
#define NLCL_CLI_MPI_H

#include <stddef.h>

#include "nlcl/train.h"

/* Start: MPI_Init when a launcher started this process. `cmd` is the
 * subcommand; those that do not run on several ranks refuse N > 1 (as does
 * every command of a build without MPI). Returns CLI_CONTINUE, or the exit
 * status after printing why not. Call once, before anything else of this file. */
int cli_mpi_start(const char *cmd);
/* MPI_Finalize (if started); returns rc. */
int cli_mpi_finish(int rc);
/* Last resort when the ranks cannot agree any more (a failed collective):
 * prints "nlcl: rank R: msg" and ends every rank (MPI_Abort) with status rc. */
void cli_mpi_abort(const char *msg, int rc);

int cli_mpi_rank(void); /* 0 without MPI */
int cli_mpi_size(void); /* 1 without MPI */

/* Element-wise sums over the ranks, in place, the result on every rank. 0 or -1. */
int cli_mpi_sum(long long *v, int n);
/* Rank 0's n ints to every rank. 0 or -1. */
int cli_mpi_bcast_ints(int *v, int n);

/* The ranks as libnlcl's training sees them (NULL for one process). */
const nlcl_train_comm *cli_mpi_train_comm(void);
/* Whether a collective of cli_mpi_train_comm failed (the ranks may then
 * disagree: end them with cli_mpi_abort). */
int cli_mpi_comm_failed(void);

/* "Open MPI v4.1.4, ..." (the library's own words) or NULL without MPI. */
const char *cli_mpi_library(void);
/* Seconds mpirun waits between SIGTERM and SIGKILL after Ctrl-C
 * (OMPI_MCA_odls_base_sigkill_timeout; 1 if unset), or -1 outside mpirun. */
int cli_mpi_kill_timeout(void);

#endif
