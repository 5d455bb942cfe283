/* A small unit-test harness. Each TEST registers itself at load time; the runner
 * (tests/unit/main.c) runs all of them, or those whose name contains argv[1], and closes
 * with "N passed, N failed". A test fails when any CHECK in it fails. */
#ifndef CX_TEST_H
#define CX_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*cx_test_fn)(void);
void cx_test_register(const char *name, const char *file, cx_test_fn fn);
bool cx_test_check(bool ok, const char *what, const char *file, int line);
bool cx_test_near(double got, double want, double rtol, double atol, const char *what, const char *file, int line);
/* Max |got-want| / (atol + rtol*|want|) over n floats; a failure names the worst index. */
bool cx_test_close_f32(const float *got, const float *want, int64_t n, double rtol, double atol,
                       const char *what, const char *file, int line);
/* A fresh directory for this run's files, removed when the runner exits. */
const char *cx_test_tmpdir(void);
/* "<tmpdir>/<name>" in a static rotating buffer. */
const char *cx_test_tmp(const char *name);

#define TEST(name)                                                                   \
    static void test_##name(void);                                                   \
    __attribute__((constructor)) static void register_##name(void) {                 \
        cx_test_register(#name, __FILE__, test_##name);                              \
    }                                                                                \
    static void test_##name(void)

#define CHECK(cond) cx_test_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b) cx_test_check((a) == (b), #a " == " #b, __FILE__, __LINE__)
#define CHECK_NEAR(got, want, rtol, atol) cx_test_near((got), (want), (rtol), (atol), #got, __FILE__, __LINE__)
#define CHECK_CLOSE_F32(got, want, n, rtol, atol) \
    cx_test_close_f32((got), (want), (n), (rtol), (atol), #got, __FILE__, __LINE__)

#endif
