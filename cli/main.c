/* nlcl: unsupervised real-image deraining (NLCL, Ye et al., CVPR 2022).
 * Entry point: dispatches to the subcommands in cli/cmd_*.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mpi.h"
#include "nlcl/image.h"
#include "nlcl/version.h"

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand commands[] = {
    {"derain", cmd_derain, "remove rain from images with a trained model"},
    {"eval", cmd_eval, "PSNR/SSIM against ground truth, NIQE without"},
    {"train", cmd_train, "train G_B and G_R on unpaired rainy and clean folders"},
    {"convert", cmd_convert, "import a PyTorch .pth generator, or export ONNX"},
    {"info", cmd_info, "print a model's metadata"},
    {"synth", cmd_synth, "add synthetic rain to clean images (paired data)"},
    {"demo", cmd_demo, "derain a generated sample and show before/after"},
};

static void usage(FILE *out) {
    fprintf(out,
            "nlcl - unsupervised real-image deraining by non-local contrastive learning\n\n"
            "usage: nlcl <command> [options] [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'nlcl <command> --help' describes each command's options.\n");
}

/* libgomp's default keeps idle OpenMP threads spinning for ~300000 rounds
 * at every barrier. When another busy process shares the cores, a spinning
 * thread holds a core its descheduled partner needs, and a training iteration
 * measured 25x slower (docs/BENCHMARKS.md). 100000 rounds costs nothing on an
 * idle machine and keeps the slowdown to about 4x. libgomp reads the setting
 * when it loads, before main, so the command re-executes itself once with it
 * set; an explicit OMP_WAIT_POLICY or GOMP_SPINCOUNT is respected. Under
 * valgrind /proc/self/exe is valgrind's own tool binary, which refuses to be
 * started directly, so nothing is re-executed there (its preload library is
 * in LD_PRELOAD). */
static void tune_openmp(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) return;
    if (setenv("GOMP_SPINCOUNT", "100000", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): carry on with the default */
}

int main(int argc, char **argv) {
    tune_openmp(argv);
    /* nothing changed silently: an image with transparent pixels is refused
     * (train, eval, synth, demo) rather than used without its alpha; derain
     * carries the alpha into its outputs (nlcl_image_load_alpha) */
    nlcl_image_set_refuse_transparent(1);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        const char *mpi = cli_mpi_library();
        printf("nlcl %s\n", nlcl_version());
        if (mpi)
            printf("MPI: %s (mpirun -np N nlcl train|derain shares the work across N ranks)\n", mpi);
        else
            printf("MPI: none (built without MPI: mpirun -np N with N > 1 is refused)\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            cli_set_command(commands[i].name);
            int rc = cli_mpi_start(argv[1]);
            if (rc != CLI_CONTINUE) return rc;
            return cli_mpi_finish(commands[i].run(argc - 1, argv + 1));
        }
    fprintf(stderr, "nlcl: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
