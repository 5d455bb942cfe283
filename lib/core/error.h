/* Errors: one line on stderr naming what went wrong, and a sysexits(3) code.
 *
 * Library functions never print or exit. They record what failed with cx_err() and
 * return its code (or -1 / NULL where the function says so); the tool decides. Tools
 * end with cx_die(), which prints "prog: message" and exits with the recorded code;
 * output files still under their temporary names are removed at exit (io/outfile.h).
 */
#ifndef CX_CORE_ERROR_H
#define CX_CORE_ERROR_H

#include <stddef.h>
#include <sysexits.h>   /* EX_USAGE 64, EX_DATAERR 65, EX_NOINPUT 66, EX_SOFTWARE 70, EX_CANTCREAT 73, EX_IOERR 74 */

#if defined(__GNUC__)
#define CX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CX_NORETURN __attribute__((noreturn))
#else
#define CX_PRINTF(f, a)
#define CX_NORETURN
#endif

/* Record an error (replacing any earlier one) and return its code. */
int cx_err(int code, const char *fmt, ...) CX_PRINTF(2, 3);
/* Put context in front of the recorded message: "context: message". Returns the code. */
int cx_err_prefix(const char *fmt, ...) CX_PRINTF(1, 2);
const char *cx_errmsg(void);
int cx_errcode(void);          /* 0 when nothing has failed */
void cx_err_clear(void);

/* The program name used in messages (set by cx_cli_init; "cxr" by default). */
void cx_set_progname(const char *argv0);
const char *cx_progname(void);

/* Cleanup to run when the program ends: at a normal exit (atexit) and in cx_die. Handlers must
 * be idempotent. At most 16. */
void cx_atexit(void (*fn)(void));
/* Print "prog: <recorded message>" and exit with the recorded code (EX_SOFTWARE if none).
 * It runs the cx_atexit handlers and then _exit()s: an error exit ends at once with its code,
 * without the C library's exit processing (a leak checker would replace the code). */
CX_NORETURN void cx_die(void);
/* Record and die in one call. */
CX_NORETURN void cx_fatal(int code, const char *fmt, ...) CX_PRINTF(2, 3);
/* "prog: warning: ..." on stderr; does not change the recorded error. */
void cx_warn(const char *fmt, ...) CX_PRINTF(1, 2);

/* Allocation that cannot fail silently: on exhaustion, die with EX_OSERR naming the size. */
void *cx_malloc(size_t n);
void *cx_calloc(size_t count, size_t size);
void *cx_realloc(void *p, size_t n);
char *cx_strdup(const char *s);
/* 64-byte aligned block for tensor data (free with free()). */
void *cx_aligned_alloc(size_t n);

#endif
