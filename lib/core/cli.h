/* What every tool shares: program name, the command line kept for provenance, --help and
 * --version, one-line usage errors, and progress on stderr when it is a terminal. */
#ifndef CX_CORE_CLI_H
#define CX_CORE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *name;      /* "cxr-inspect" */
    const char *summary;   /* one line: what the tool does */
    const char *usage;     /* the full --help text after the first line */
} cx_tool;

/* Sets the program name and keeps argv for stream provenance. */
void cx_cli_init(const cx_tool *tool, int argc, char **argv);
const cx_tool *cx_cli_tool(void);
int cx_cli_argc(void);
char **cx_cli_argv(void);

/* Standard long options to append to a tool's table: --help (CX_OPT_HELP), --version (CX_OPT_VERSION). */
enum { CX_OPT_HELP = 0x1000, CX_OPT_VERSION, CX_OPT_FIRST_TOOL };
#define CX_STD_OPTIONS {"help", no_argument, 0, CX_OPT_HELP}, {"version", no_argument, 0, CX_OPT_VERSION}

/* Run getopt_long with opterr off. Handles --help / --version (print, exit 0) and turns
 * unknown options and missing arguments into one usage line and exit 64. */
int cx_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* Usage error: "prog: message; try 'prog --help'", exit 64. */
void cx_usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Whether name is one of the items of a comma-separated list ("image,mask"). */
bool cx_in_list(const char *list, const char *name);
/* The items of a comma list as new strings in *items (free with cx_free_list); their count, or
 * -1 and EX_USAGE recorded ("WHAT: empty item in 'LIST'", "WHAT: 'X' given twice"), *items NULL. */
int cx_split_list(const char *what, const char *list, char ***items);
void cx_free_list(char **items, int n);

/* Strict number parsing for option values; a bad value is a usage error naming the option. */
int64_t cx_opt_int(const char *opt, const char *text, int64_t lo, int64_t hi);
double cx_opt_double(const char *opt, const char *text, double lo, double hi);

/* Progress: "\rprog: <what> 1234/5000 (250/s)" at most 4 times a second, only when stderr
 * is a terminal (or CXR_PROGRESS=1). total <= 0 when unknown. */
typedef struct { const char *what; int64_t total, done; double t0, last; bool on; } cx_progress;
void cx_progress_start(cx_progress *p, const char *what, int64_t total);
void cx_progress_step(cx_progress *p, int64_t n);
void cx_progress_end(cx_progress *p);
double cx_now(void);   /* monotonic seconds */

#endif
