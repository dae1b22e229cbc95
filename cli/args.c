/* Declarative option parser of the nlcl command (cli/cli.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(nlcl_status s) {
    const char *m = nlcl_error_message();
    fprintf(stderr, "nlcl: %s\n", m && *m ? m : nlcl_status_name(s));
    return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "nlcl %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'nlcl %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

void cli_print_help(FILE *out, const char *cmd, const char *summary, const cli_opt *opts) {
    fprintf(out, "%s\n\nOptions of nlcl %s:\n", summary, cmd);
    for (const cli_opt *o = opts; o && o->name; o++) {
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

static cli_parse_result set_value(const char *cmd, const cli_opt *o, const char *v) {
    char *end = NULL;
    switch (o->type) {
    case CLI_FLAG: *(int *)o->dest = 1; return CLI_PARSE_OK;
    case CLI_STRING:
        if (!*v) {
            cli_usage_error(cmd, "--%s needs a non-empty value", o->name);
            return CLI_PARSE_ERROR;
        }
        *(const char **)o->dest = v;
        return CLI_PARSE_OK;
    case CLI_INT: {
        if (o->max > 9223372036854775807.0) {
            /* a maximum beyond INT64_MAX (seeds: 0..2^64-1): parsed as an
             * unsigned 64-bit value and stored in the long long's bits; the
             * caller reads it back as (uint64_t) */
            errno = 0;
            while (*v == ' ' || *v == '\t') v++;
            unsigned long long u = *v == '-' ? 0 : strtoull(v, &end, 10);
            if (*v == '-' || errno || end == v || *end) {
                cli_usage_error(cmd, "--%s expects an integer in [%.15g, 18446744073709551615], "
                                     "got '%s'", o->name, o->min, v);
                return CLI_PARSE_ERROR;
            }
            if ((double)u < o->min) {
                cli_usage_error(cmd, "--%s must be in [%.15g, 18446744073709551615], got %llu",
                                o->name, o->min, u);
                return CLI_PARSE_ERROR;
            }
            *(long long *)o->dest = (long long)u;
            return CLI_PARSE_OK;
        }
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end) {
            cli_usage_error(cmd, "--%s expects an integer, got '%s'", o->name, v);
            return CLI_PARSE_ERROR;
        }
        if ((o->min < o->max) && ((double)x < o->min || (double)x > o->max)) {
            cli_usage_error(cmd, "--%s must be in [%.15g, %.15g], got %lld", o->name, o->min,
                            o->max, x);
            return CLI_PARSE_ERROR;
        }
        *(long long *)o->dest = x;
        return CLI_PARSE_OK;
    }
    case CLI_DOUBLE: {
        errno = 0;
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x)) {
            cli_usage_error(cmd, "--%s expects a finite number, got '%s'", o->name, v);
            return CLI_PARSE_ERROR;
        }
        if ((o->min < o->max) && (x < o->min || x > o->max)) {
            cli_usage_error(cmd, "--%s must be in [%.15g, %.15g], got %g", o->name, o->min,
                            o->max, x);
            return CLI_PARSE_ERROR;
        }
        *(double *)o->dest = x;
        return CLI_PARSE_OK;
    }
    case CLI_LIST: {
        cli_list *l = o->dest;
        if (!*v) {
            cli_usage_error(cmd, "--%s needs a non-empty value", o->name);
            return CLI_PARSE_ERROR;
        }
        if (l->n >= l->cap) {
            cli_usage_error(cmd, "--%s may be given at most %d times", o->name, l->cap);
            return CLI_PARSE_ERROR;
        }
        l->items[l->n++] = v;
        return CLI_PARSE_OK;
    }
    case CLI_CHOICE: {
        int idx = choice_index(o->choices, v);
        if (idx < 0) {
            cli_usage_error(cmd, "--%s must be one of %s, got '%s'", o->name, o->choices, v);
            return CLI_PARSE_ERROR;
        }
        *(int *)o->dest = idx;
        return CLI_PARSE_OK;
    }
    }
    return CLI_PARSE_ERROR;
}

cli_parse_result cli_parse(const char *cmd, const char *summary, const cli_opt *opts, int argc,
                           char **argv, char **pos, int *npos) {
    *npos = 0;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!a) break;
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_print_help(stdout, cmd, summary, opts);
            return CLI_PARSE_HELP;
        }
        const cli_opt *o = NULL;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (const cli_opt *q = opts; q && q->name; q++)
                if (strlen(q->name) == len && strncmp(q->name, name, len) == 0) o = q;
            if (!o) {
                cli_usage_error(cmd, "unknown option '--%.*s'", (int)len, name);
                return CLI_PARSE_ERROR;
            }
            if (eq) {
                if (o->type == CLI_FLAG) {
                    cli_usage_error(cmd, "--%s takes no value", o->name);
                    return CLI_PARSE_ERROR;
                }
                val = eq + 1;
            }
        } else {
            if (a[2] != '\0') {
                cli_usage_error(cmd, "unknown option '%s'", a);
                return CLI_PARSE_ERROR;
            }
            for (const cli_opt *q = opts; q && q->name; q++)
                if (q->short_name && q->short_name == a[1]) o = q;
            if (!o) {
                cli_usage_error(cmd, "unknown option '%s'", a);
                return CLI_PARSE_ERROR;
            }
        }
        if (o->type != CLI_FLAG && !val) {
            if (i + 1 >= argc || !argv[i + 1]) {
                cli_usage_error(cmd, "--%s needs a value%s%s", o->name, o->metavar ? " " : "",
                                o->metavar ? o->metavar : "");
                return CLI_PARSE_ERROR;
            }
            val = argv[++i];
        }
        cli_parse_result r = set_value(cmd, o, val ? val : "");
        if (r != CLI_PARSE_OK) return r;
    }
    return CLI_PARSE_OK;
}
