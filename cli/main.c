/* nlcl: unsupervised real-image deraining (NLCL, Ye et al., CVPR 2022).
 * Entry point: dispatches to the subcommands in cli/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand commands[] = {
    {"derain", cmd_derain, "remove rain from images with a trained model"},
    {"eval", cmd_eval, "PSNR/SSIM against ground truth, NIQE without"},
    {"train", cmd_train, "train G_B and G_R on unpaired rainy and clean folders"},
    {"convert", cmd_convert, "import a PyTorch .pth generator as safetensors"},
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

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("nlcl 0.1.0\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "nlcl: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
