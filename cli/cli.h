/* The nlcl command: shared declarations of the subcommands and the option
 * parser. The library never parses argv or exits; this folder maps statuses
 * to exit codes:
 *   0 success, 1 runtime failure (bad input file, I/O, non-finite loss...),
 *   2 usage error (unknown option, bad value, missing argument). */
#ifndef NLCL_CLI_H
#define NLCL_CLI_H

#include <stdio.h>

#include "nlcl/image.h"
#include "nlcl/status.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Subcommands: each parses its own arguments (argv[0] is the subcommand). */
int cmd_derain(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* This process's rank when mpirun started it (cli/mpi.h), else 0. Usage
 * errors and --help are printed by rank 0 only: every rank has the same
 * arguments. */
extern int cli_rank;

/* Print "nlcl COMMAND: <library message>" (the library's message names the
 * file and the problem: "nlcl derain: x.png: PNG truncated") to stderr and
 * return CLI_EXIT_FAIL. The command is the one main() dispatched to
 * (cli_set_command). */
int cli_fail(nlcl_status s);
void cli_set_command(const char *name);
const char *cli_command_name(void);
/* Print "nlcl <cmd>: <message>" and a hint to use --help; return CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- declarative option parser: one table drives parsing, validation and
 * --help; the table's destinations are the fields the values belong in
 * (e.g. an nlcl_train_config), not locals copied there afterwards. */
typedef enum cli_opt_type {
    CLI_FLAG,     /* int*: set to 1 */
    CLI_FLAG_OFF, /* int*: set to 0 (an option that turns something off) */
    CLI_INT,      /* int*, range-checked against [min, max] */
    CLI_INT64,    /* int64_t*, range-checked against [min, max] */
    CLI_UINT64,   /* uint64_t*: 0..2^64-1 (seeds), at least min */
    CLI_DOUBLE,   /* double*, range-checked against [min, max], finite */
    CLI_STRING,   /* const char**: points into argv */
    CLI_CHOICE,   /* int* (or an enum of int size): index of the value in `choices` ("a|b|c") */
    CLI_LIST      /* cli_list*: every occurrence is appended (a repeatable option) */
} cli_opt_type;

/* Values of a repeatable option, pointing into argv; `cap` is the most the
 * option accepts (a usage error names it when exceeded). */
typedef struct cli_list {
    const char **items;
    int n, cap;
} cli_list;

typedef struct cli_opt {
    const char *name;    /* long name without "--"; NULL ends the table */
    char short_name;     /* or 0 */
    cli_opt_type type;
    void *dest;
    const char *metavar; /* e.g. "FILE"; NULL for flags */
    const char *help;
    double min, max;     /* numeric range (inclusive; min == max: none) */
    const char *choices; /* CLI_CHOICE: "round|truncate" */
} cli_opt;

/* A subcommand's arguments: its options and the positional arguments it takes. */
typedef struct cli_command {
    const char *name;    /* "derain": messages say "nlcl derain: ..." */
    const char *summary; /* the usage line(s) printed by --help before the options */
    const cli_opt *opts;
    int min_pos, max_pos; /* positional arguments taken; max_pos < 0: no limit */
    const char *pos_what; /* for a count outside them: "expected <pos_what>, got N argument(s)" */
    const char *pos_hint; /* with max_pos 0: appended to "unexpected argument 'X'" as " (hint)" */
} cli_command;

/* The positional arguments after cli_parse: v[0..n-1] point into argv. */
typedef struct cli_pos {
    char **v;
    int n;
} cli_pos;

/* The images named by positional arguments: files as given, folders as their
 * PNG/JPEG/TIFF/BMP files (sorted; with recursive, their subfolders' too).
 * rel[i] is the name an output keeps: the file's name for a file argument,
 * its path below the folder argument ("sub/x.jpg") for a folder's image.
 * Files in a folder whose names say a format nlcl cannot read (.webp, .heic,
 * .avif, .gif, ...), and image names that are not files (a broken symbolic
 * link, a FIFO), are reported as skipped, in one warning per folder; an
 * empty folder is a note unless quiet. Free with cli_inputs_free, also on
 * failure. Returns CLI_EXIT_OK, or CLI_EXIT_FAIL after printing "nlcl CMD:
 * ..." (a missing or unreadable file, no images at all). */
typedef struct cli_inputs {
    char **path, **rel;
    int n, cap;
} cli_inputs;
/* recursive: 1 with -r, 0 without, -1 for a command that has no -r (the
 * note on an empty folder then does not suggest it). */
int cli_expand_inputs(const char *cmd, const cli_pos *pos, int quiet, int recursive, cli_inputs *in);
void cli_inputs_free(cli_inputs *in);
/* "nlcl CMD: warning: DIR: N files skipped that nlcl cannot read: a.webp
 * (WebP), b.png (a broken symbolic link), ...": the n files un (from
 * nlcl_list_images_ex, nlcl_skipped_image_reason), so that none is left out
 * unsaid; nothing when n is 0. */
void cli_report_unreadable(const char *cmd, const char *dir, char **un, int n);
/* nlcl_image_load (alpha NULL) or nlcl_image_load_alpha (transparency kept in
 * *alpha), then a warning "nlcl CMD: warning: PATH: ..." for what the loader
 * had to change (colours outside sRGB clipped: info->gamut_clipped). info
 * may be NULL. Fails like the loader (nothing printed). */
nlcl_status cli_load_image(const char *cmd, const char *path, nlcl_image *img, float **alpha,
                           nlcl_image_info *info);
/* 1 if p ends in .jpg or .jpeg (any case). */
int cli_is_jpeg_name(const char *p);
/* cli_load_image and the metadata of input `path` in one reading of the file
 * (nlcl_image_load_with_meta): *meta as nlcl_image_load_meta gives it. When
 * only the metadata cannot be read (rare: memory), *meta is empty, why
 * (nwhy bytes) says why, and the pixels are loaded without it; else why is
 * "". Fails like cli_load_image (nothing printed). Free *meta with
 * nlcl_image_meta_free. */
nlcl_status cli_load_image_meta(const char *cmd, const char *path, nlcl_image *img, float **alpha,
                                nlcl_image_info *info, nlcl_image_meta *meta, char *why, size_t nwhy);
/* For the metadata *meta of input `path` (cli_load_image_meta, with its why)
 * going to its output `out`
 * (and the outputs of the same format made with it), one warning
 * "nlcl CMD: warning: PATH: metadata could not be carried to the output: ..."
 * naming what the file holds that is not carried (meta->lost; all of it when
 * why is not "") and what the
 * output's format cannot hold. out NULL: nothing is carried (a picture that
 * is not a version of the input, e.g. demo's panel); the warning names what
 * there was and *meta is left empty. Free with nlcl_image_meta_free. */
void cli_say_meta(const char *cmd, const char *path, const char *out, nlcl_image_meta *meta, const char *why);
/* Of several warnings of cli_say_meta with the same text, the first three
 * name their files; this says in one line how many more there were (call it
 * when a command's images are done; nothing when there were none). */
void cli_say_meta_summary(const char *cmd);
/* Save an image made from `input` (whose bits per sample, info.bit_depth, are
 * bit_depth): PNG unless path ends in .jpg/.jpeg, 16 bits per sample for
 * inputs of more than 8, RGBA with the input's opacity alpha (NULL: RGB),
 * with the metadata meta (cli_load_image_meta; NULL: none); a
 * JPEG (8 bits only) of a deeper input is written with a warning naming the
 * input; a JPEG with alpha is NLCL_ERR_UNSUPPORTED (see cli_check_jpeg_out). */
nlcl_status cli_save_image(const char *cmd, const char *path, const nlcl_image *img,
                           const float *alpha, const nlcl_image_meta *meta,
                           nlcl_quantize q, int quality, const char *input, int bit_depth);
/* Before any work on an input whose output out is a JPEG: an image with a
 * side over NLCL_JPEG_MAX_SIDE ("INPUT: WxH: a JPEG output (OUT) is limited
 * to 65500 pixels a side: ...") or with transparent pixels (alpha non-NULL:
 * "INPUT: N of M pixels are transparent, and a JPEG output (OUT) cannot keep
 * transparency: ...") is NLCL_ERR_UNSUPPORTED. */
nlcl_status cli_check_jpeg_out(const char *input, const char *out, const nlcl_image *img,
                               const float *alpha, const nlcl_image_info *info);
/* 0 if a file can be created in folder dir (a temporary one, removed at
 * once), else prints "nlcl CMD: DIR: cannot write in the output folder: ..."
 * and returns CLI_EXIT_FAIL. */
int cli_check_writable_dir(const char *cmd, const char *dir);
/* Before any work, an output the command will write (atomically: a temporary
 * beside it renamed over it): its folder exists, its name fits the folder's
 * limit (255 bytes on Linux), the whole path PATH_MAX, and it is not a
 * folder; writable: a file can be created in its folder. Prints "nlcl CMD:
 * PATH: ..." and returns CLI_EXIT_FAIL, or CLI_EXIT_OK. */
int cli_check_out_path(const char *cmd, const char *path, int writable);
/* Seconds on the monotonic clock (for durations). */
double cli_now_s(void);
/* handler for SIGINT and SIGTERM, and SIGUSR1 too where usr1 (empty mask, no
 * SA_RESTART: a blocking call returns EINTR). */
void cli_catch_signals(void (*handler)(int), int usr1);

/* cli_parse's answer when the command should go on. */
#define CLI_CONTINUE (-1)

/* Parse argv[1..argc-1] (argv[0] is the subcommand name) into the option
 * destinations. "--name=value", "--name value", "-x value" and "--" (end of
 * options) are accepted; "-" alone is a positional. A CLI_LIST collects
 * every value; any other option that takes a value may be given once (a
 * second is a usage error naming both values: "-o a -o b" would silently
 * write to b), a flag any number of times.
 * The positional arguments are moved, in order, to argv[1..pos->n]
 * (pos->v = argv + 1); their count is checked against the command's.
 * Returns CLI_CONTINUE, or the exit status for the command to return at
 * once: CLI_EXIT_OK after --help (printed to stdout), CLI_EXIT_USAGE after a
 * usage error (printed to stderr). Never exits. */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_pos *pos);
void cli_print_help(FILE *out, const cli_command *cmd);
/* The arguments of a command recorded earlier (rec, e.g. a training run's)
 * merged with those given now into out (room for nrec + nnow): each option
 * occurrence of rec (with its value) unless that option is given now, or,
 * for an option that is not a CLI_LIST, again later in rec; then every word
 * of now. Words that name no option of cmd are kept. Returns the count. */
int cli_merge_args(const cli_command *cmd, char **rec, int nrec, char **now, int nnow, char **out);

#endif
