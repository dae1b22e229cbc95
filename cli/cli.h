/* The nlcl command: shared declarations of the subcommands and the option
 * parser. The library never parses argv or exits; this folder maps statuses
 * to exit codes:
 *   0 success, 1 runtime failure (bad input file, I/O, non-finite loss...),
 *   2 usage error (unknown option, bad value, missing argument). */
#ifndef NLCL_CLI_H
#define NLCL_CLI_H

#include <stdio.h>

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

/* Print "nlcl: <library message>" to stderr and return CLI_EXIT_FAIL. */
int cli_fail(nlcl_status s);
/* Print "nlcl <cmd>: <message>" and a hint to use --help; return CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- declarative option parser: one table drives parsing, validation and
 * --help. */
typedef enum cli_opt_type {
    CLI_FLAG,   /* int*: set to 1 */
    CLI_INT,    /* long long*, range-checked against [min, max] */
    CLI_DOUBLE, /* double*, range-checked against [min, max], finite */
    CLI_STRING, /* const char**: points into argv */
    CLI_CHOICE, /* int*: index of the value in `choices` ("a|b|c") */
    CLI_LIST    /* cli_list*: every occurrence is appended (a repeatable option) */
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
    double min, max;     /* numeric range (inclusive) */
    const char *choices; /* CLI_CHOICE: "round|truncate" */
} cli_opt;

typedef enum cli_parse_result {
    CLI_PARSE_OK = 0,
    CLI_PARSE_HELP = 1,  /* --help was given and help was printed to stdout */
    CLI_PARSE_ERROR = 2  /* a usage error was printed to stderr */
} cli_parse_result;

/* Parse argv[1..argc-1] (argv[0] is the subcommand name). Positional
 * arguments are stored in pos[0..*npos-1] (pos must have room for argc
 * entries). "--name=value", "--name value", "-x value" and "--" (end of
 * options) are accepted; "-" alone is a positional. Every option may appear
 * more than once: a CLI_LIST collects every value, the others keep the last. `summary` is the usage line(s) printed by
 * --help before the option list. Never exits. */
cli_parse_result cli_parse(const char *cmd, const char *summary, const cli_opt *opts, int argc,
                           char **argv, char **pos, int *npos);
void cli_print_help(FILE *out, const char *cmd, const char *summary, const cli_opt *opts);

#endif
