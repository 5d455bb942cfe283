/* Runner for the unit tests: see test.h. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "test.h"

typedef struct { const char *name, *file; cx_test_fn fn; } test_case;
static test_case *tests;
static int ntests, captests;
static int failed_checks;

void cx_test_register(const char *name, const char *file, cx_test_fn fn) {
    if (ntests == captests) {
        captests = captests ? 2 * captests : 64;
        tests = realloc(tests, (size_t)captests * sizeof *tests);
        if (!tests) abort();
    }
    tests[ntests++] = (test_case){name, file, fn};
}

bool cx_test_check(bool ok, const char *what, const char *file, int line) {
    if (!ok) {
        failed_checks++;
        printf("  %s:%d: check failed: %s\n", file, line, what);
    }
    return ok;
}

bool cx_test_near(double got, double want, double rtol, double atol, const char *what, const char *file, int line) {
    double err = fabs(got - want), tol = atol + rtol * fabs(want);
    bool ok = err <= tol && !isnan(got) == !isnan(want);
    if (!ok) {
        failed_checks++;
        printf("  %s:%d: %s = %.17g, want %.17g (|diff| %.3g > tol %.3g)\n", file, line, what, got, want, err, tol);
    }
    return ok;
}

bool cx_test_close_f32(const float *got, const float *want, int64_t n, double rtol, double atol,
                       const char *what, const char *file, int line) {
    double worst = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]) / (atol + rtol * fabs((double)want[i]));
        if (isnan(err) || err > worst) { worst = isnan(err) ? INFINITY : err; at = i; }
    }
    if (worst > 1.0) {
        failed_checks++;
        printf("  %s:%d: %s differs at [%lld]: %.9g vs %.9g (%.3g x tolerance, rtol %g atol %g, n %lld)\n", file, line,
               what, (long long)at, got[at], want[at], worst, rtol, atol, (long long)n);
        return false;
    }
    return true;
}

static char tmpdir[256];
const char *cx_test_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/cxr-unit-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(1); }
    }
    return tmpdir;
}

const char *cx_test_tmp(const char *name) {
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, 512, "%s/%s", cx_test_tmpdir(), name);
    return b;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static int by_file_then_order(const void *a, const void *b) {
    const test_case *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : (x < y ? -1 : x > y);
}

int main(int argc, char **argv) {
    cx_set_progname("unit-tests");
    const char *filter = argc > 1 ? argv[1] : NULL;
    qsort(tests, (size_t)ntests, sizeof *tests, by_file_then_order);
    int passed = 0, failed = 0;
    for (int i = 0; i < ntests; i++) {
        if (filter && !strstr(tests[i].name, filter) && !strstr(tests[i].file, filter)) continue;
        int before = failed_checks;
        cx_err_clear();
        tests[i].fn();
        fflush(stdout);
        if (failed_checks == before) {
            passed++;
            printf("ok   %s\n", tests[i].name);
        } else {
            failed++;
            printf("FAIL %s (%s)\n", tests[i].name, tests[i].file);
        }
        fflush(stdout);   /* a test that forks must not inherit unwritten lines */
    }
    if (tmpdir[0]) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
