/* Declarative option parser of the nlcl command (cli/cli.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *command_name;

void cli_set_command(const char *name) { command_name = name; }

const char *cli_command_name(void) { return command_name ? command_name : "nlcl"; }

int cli_fail(nlcl_status s) {
    const char *m = nlcl_error_message();
    if (command_name) fprintf(stderr, "nlcl %s: ", command_name);
    else fputs("nlcl: ", stderr);
    fprintf(stderr, "%s\n", m && *m ? m : nlcl_status_name(s));
    return CLI_EXIT_FAIL;
}

int cli_rank = 0;

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    if (cli_rank != 0) return CLI_EXIT_USAGE; /* every rank has the same arguments */
    va_list ap;
    fprintf(stderr, "nlcl %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'nlcl %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

void cli_print_help(FILE *out, const cli_command *cmd) {
    fprintf(out, "%s\n\nOptions of nlcl %s:\n", cmd->summary, cmd->name);
    for (const cli_opt *o = cmd->opts; o && o->name; o++) {
        char left[96];
        int n = 0;
        if (o->short_name) n = snprintf(left, sizeof left, "-%c, ", o->short_name);
        else n = snprintf(left, sizeof left, "    ");
        if (o->type == CLI_CHOICE)
            snprintf(left + n, sizeof left - n, "--%s %s", o->name, o->choices);
        else if (o->metavar)
            snprintf(left + n, sizeof left - n, "--%s %s", o->name, o->metavar);
        else
            snprintf(left + n, sizeof left - n, "--%s", o->name);
        if (strlen(left) > 30) /* a long left column: the description on the next line */
            fprintf(out, "  %s\n  %-30s %s\n", left, "", o->help ? o->help : "");
        else
            fprintf(out, "  %-30s %s\n", left, o->help ? o->help : "");
    }
    fprintf(out, "  %-30s %s\n", "-h, --help", "show this help and exit");
}

static int choice_index(const char *choices, const char *v) {
    int idx = 0;
    size_t vl = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == vl && strncmp(p, v, len) == 0) return idx;
        idx++;
        if (!e) break;
        p = e + 1;
    }
    return -1;
}

/* CLI_UINT64: 0..2^64-1, at least o->min. */
static int set_uint64(const char *cmd, const cli_opt *o, const char *v) {
    char *end = NULL;
    errno = 0;
    while (isspace((unsigned char)*v)) v++; /* as strtoull skips them, before the sign check */
    unsigned long long u = *v == '-' ? 0 : strtoull(v, &end, 10);
    if (*v != '-' && errno == ERANGE && end != v && !*end) /* an integer, beyond 2^64 - 1 */
        return cli_usage_error(cmd, "--%s must be in [%.15g, 18446744073709551615], got %s", o->name,
                               o->min, v);
    if (*v == '-' || errno || end == v || *end)
        return cli_usage_error(cmd, "--%s expects an integer in [%.15g, 18446744073709551615], got '%s'",
                               o->name, o->min, v);
    if ((double)u < o->min)
        return cli_usage_error(cmd, "--%s must be in [%.15g, 18446744073709551615], got %llu", o->name,
                               o->min, u);
    *(uint64_t *)o->dest = (uint64_t)u;
    return CLI_CONTINUE;
}

/* CLI_INT and CLI_INT64: in [o->min, o->max] when min < max, and in the
 * destination's range. */
static int set_integer(const char *cmd, const cli_opt *o, const char *v) {
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    double lo = o->min, hi = o->max;
    if (!(lo < hi)) lo = o->type == CLI_INT ? INT_MIN : (double)INT64_MIN, hi = o->type == CLI_INT ? INT_MAX : (double)INT64_MAX;
    if (errno == ERANGE && end != v && !*end) /* an integer, beyond long long */
        return cli_usage_error(cmd, "--%s must be in [%.15g, %.15g], got %s", o->name, lo, hi, v);
    if (errno || end == v || *end) return cli_usage_error(cmd, "--%s expects an integer, got '%s'", o->name, v);
    if ((double)x < lo || (double)x > hi || (o->type == CLI_INT && (x < INT_MIN || x > INT_MAX)))
        return cli_usage_error(cmd, "--%s must be in [%.15g, %.15g], got %lld", o->name, lo, hi, x);
    if (o->type == CLI_INT) *(int *)o->dest = (int)x;
    else *(int64_t *)o->dest = (int64_t)x;
    return CLI_CONTINUE;
}

static int set_double(const char *cmd, const cli_opt *o, const char *v) {
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x))
        return cli_usage_error(cmd, "--%s expects a finite number, got '%s'", o->name, v);
    if ((o->min < o->max) && (x < o->min || x > o->max))
        return cli_usage_error(cmd, "--%s must be in [%.15g, %.15g], got %g", o->name, o->min, o->max, x);
    *(double *)o->dest = x;
    return CLI_CONTINUE;
}

/* Store the value v of option o; CLI_CONTINUE or CLI_EXIT_USAGE (printed). */
static int set_value(const char *cmd, const cli_opt *o, const char *v) {
    switch (o->type) {
    case CLI_FLAG: *(int *)o->dest = 1; return CLI_CONTINUE;
    case CLI_FLAG_OFF: *(int *)o->dest = 0; return CLI_CONTINUE;
    case CLI_INT:
    case CLI_INT64: return set_integer(cmd, o, v);
    case CLI_UINT64: return set_uint64(cmd, o, v);
    case CLI_DOUBLE: return set_double(cmd, o, v);
    case CLI_STRING:
        if (!*v) return cli_usage_error(cmd, "--%s needs a non-empty value", o->name);
        *(const char **)o->dest = v;
        return CLI_CONTINUE;
    case CLI_LIST: {
        cli_list *l = o->dest;
        if (!*v) return cli_usage_error(cmd, "--%s needs a non-empty value", o->name);
        if (l->n >= l->cap) return cli_usage_error(cmd, "--%s may be given at most %d times", o->name, l->cap);
        l->items[l->n++] = v;
        return CLI_CONTINUE;
    }
    case CLI_CHOICE: {
        int idx = choice_index(o->choices, v);
        if (idx < 0) return cli_usage_error(cmd, "--%s must be one of %s, got '%s'", o->name, o->choices, v);
        *(int *)o->dest = idx;
        return CLI_CONTINUE;
    }
    }
    return CLI_EXIT_USAGE;
}

/* The option named by argument a ("--name[=value]" or "-x"), silently:
 * NULL when a names none; *inl is set when a carries its value ("--x=v"). */
static const cli_opt *lookup(const cli_command *cmd, const char *a, int *inl, size_t *len) {
    const cli_opt *o = NULL;
    *inl = 0;
    if (a[0] != '-' || a[1] == '\0') return NULL;
    if (a[1] == '-') {
        const char *name = a + 2, *eq = strchr(name, '=');
        *len = eq ? (size_t)(eq - name) : strlen(name);
        for (const cli_opt *q = cmd->opts; q && q->name; q++)
            if (strlen(q->name) == *len && strncmp(q->name, name, *len) == 0) o = q;
        *inl = eq != NULL;
        return o;
    }
    if (a[2] == '\0')
        for (const cli_opt *q = cmd->opts; q && q->name; q++)
            if (q->short_name && q->short_name == a[1]) o = q;
    return o;
}

static int is_flag(const cli_opt *o) { return o->type == CLI_FLAG || o->type == CLI_FLAG_OFF; }

/* The option named by argument a ("--name[=value]" or "-x"); *val gets an
 * inline value. NULL after printing a usage error. */
static const cli_opt *find_option(const cli_command *cmd, const char *a, const char **val) {
    int inl;
    size_t len = 0;
    const cli_opt *o = lookup(cmd, a, &inl, &len);
    *val = inl ? strchr(a, '=') + 1 : NULL;
    if (!o && a[1] == '-') cli_usage_error(cmd->name, "unknown option '--%.*s'", (int)len, a + 2);
    else if (!o) cli_usage_error(cmd->name, "unknown option '%s'", a);
    else if (inl && is_flag(o)) cli_usage_error(cmd->name, "--%s takes no value", o->name);
    else return o;
    return NULL;
}

/* The words argument w[i] takes (2: "--name value"), and its option in *o. */
static int words_of(const cli_command *cmd, char **w, int i, int n, const cli_opt **o) {
    int inl;
    size_t len;
    *o = strcmp(w[i], "--") ? lookup(cmd, w[i], &inl, &len) : NULL;
    return *o && !inl && !is_flag(*o) && i + 1 < n ? 2 : 1;
}

/* 1 if option o is among the arguments w[0..n-1] */
static int among(const cli_command *cmd, const cli_opt *o, char **w, int n) {
    const cli_opt *q;
    for (int i = 0; i < n;) {
        i += words_of(cmd, w, i, n, &q);
        if (q == o) return 1;
    }
    return 0;
}

int cli_merge_args(const cli_command *cmd, char **rec, int nrec, char **now, int nnow, char **out) {
    int n = 0;
    const cli_opt *o;
    for (int i = 0, k; i < nrec; i += k) {
        k = words_of(cmd, rec, i, nrec, &o);
        if (o && (among(cmd, o, now, nnow) || (o->type != CLI_LIST && among(cmd, o, rec + i + k, nrec - i - k))))
            continue; /* given now, or again later in rec */
        for (int j = 0; j < k; j++) out[n++] = rec[i + j];
    }
    for (int i = 0; i < nnow; i++) out[n++] = now[i];
    return n;
}

/* The count of positional arguments against the command's. */
static int check_positional(const cli_command *cmd, const cli_pos *pos) {
    if (cmd->max_pos == 0 && pos->n > 0)
        return cli_usage_error(cmd->name, "unexpected argument '%s'%s%s%s", pos->v[0],
                               cmd->pos_hint ? " (" : "", cmd->pos_hint ? cmd->pos_hint : "",
                               cmd->pos_hint ? ")" : "");
    if (pos->n < cmd->min_pos || (cmd->max_pos >= 0 && pos->n > cmd->max_pos))
        return cli_usage_error(cmd->name, "expected %s, got %d argument(s)", cmd->pos_what, pos->n);
    return CLI_CONTINUE;
}

/* An option that takes one value may be given once: the first value of
 * each (given[index in the table]) is kept to name both in the message. */
#define MAX_CHECKED 160
static int given_twice(const cli_command *cmd, const cli_opt *o, const char *v, const char **given) {
    ptrdiff_t k = o - cmd->opts;
    if (is_flag(o) || o->type == CLI_LIST || k >= MAX_CHECKED) return 0;
    if (!given[k]) {
        given[k] = v;
        return 0;
    }
    cli_usage_error(cmd->name, "--%s is given twice ('%s', then '%s'): it takes one value; give it once",
                    o->name, given[k], v);
    return 1;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_pos *pos) {
    pos->v = argv + 1;
    pos->n = 0;
    int only_pos = 0;
    const char *given[MAX_CHECKED] = {NULL};
    for (int i = 1; i < argc && argv[i]; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            pos->v[pos->n++] = a; /* never ahead of i: the entries moved over were read */
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            if (cli_rank == 0) cli_print_help(stdout, cmd);
            return CLI_EXIT_OK;
        }
        const char *val;
        const cli_opt *o = find_option(cmd, a, &val);
        if (!o) return CLI_EXIT_USAGE;
        if (o->type != CLI_FLAG && o->type != CLI_FLAG_OFF && !val) {
            if (i + 1 >= argc || !argv[i + 1])
                return cli_usage_error(cmd->name, "--%s needs a value%s%s", o->name, o->metavar ? " " : "",
                                       o->metavar ? o->metavar : "");
            val = argv[++i];
        }
        if (given_twice(cmd, o, val ? val : "", given)) return CLI_EXIT_USAGE;
        int r = set_value(cmd->name, o, val ? val : "");
        if (r != CLI_CONTINUE) return r;
    }
    return check_positional(cmd, pos);
}
