#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One recorded error per thread: worker threads report their own failures. */
static _Thread_local char err_msg[2048];
static _Thread_local int err_code;
static const char *progname = "cxr";

int cx_err(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    err_code = code;
    return code;
}

int cx_err_prefix(const char *fmt, ...) {
    char prefix[1024], old[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof old);
    snprintf(err_msg, sizeof err_msg, "%s: %s", prefix, old);
    if (!err_code) err_code = EX_SOFTWARE;
    return err_code;
}

const char *cx_errmsg(void) { return err_msg[0] ? err_msg : "unknown error"; }
int cx_errcode(void) { return err_code; }
void cx_err_clear(void) { err_msg[0] = 0; err_code = 0; }

void cx_set_progname(const char *argv0) {
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    progname = slash ? slash + 1 : (argv0 ? argv0 : "cxr");
}

const char *cx_progname(void) { return progname; }

static void (*exit_handlers[16])(void);
static int nexit_handlers;

void cx_atexit(void (*fn)(void)) {
    if (nexit_handlers == 16) return;
    exit_handlers[nexit_handlers++] = fn;
    atexit(fn);
}

void cx_die(void) {
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", progname, cx_errmsg());
    for (int i = nexit_handlers - 1; i >= 0; i--) exit_handlers[i]();
    fflush(NULL);
    _exit(err_code ? err_code : EX_SOFTWARE);
}

void cx_fatal(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    err_code = code;
    cx_die();
}

void cx_warn(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: warning: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void out_of_memory(size_t n) { cx_fatal(EX_OSERR, "out of memory allocating %zu bytes", n); }

void *cx_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) out_of_memory(n);
    return p;
}

void *cx_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *cx_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) out_of_memory(n);
    return q;
}

char *cx_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(cx_malloc(n), s, n);
}

void *cx_aligned_alloc(size_t n) {
    size_t rounded = (n + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) out_of_memory(n);
    return p;
}
