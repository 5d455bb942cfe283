#include "gradcheck.h"

#include <math.h>
#include <stdio.h>

#include "core/rng.h"

double cx_dot_f64(const float *probe, const float *y, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)probe[i] * y[i];
    return s;
}

void cx_fill_normal(float *x, int64_t n, uint64_t seed, float scale) {
    cx_rng r;
    cx_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(scale * cx_rng_normal(&r));
}

bool cx_gradcheck(const char *what, cx_loss_fn loss, void *ctx, float *x, const float *grad, int64_t n,
                  int max_points, double rtol, double atol) {
    int64_t step = n > max_points ? n / max_points : 1;
    bool ok = true;
    double worst = 0;
    for (int64_t i = 0; i < n; i += step) {
        float saved = x[i];
        float h = 1e-2f * fmaxf(1.0f, fabsf(saved));
        x[i] = saved + h;
        double hi = loss(ctx);
        x[i] = saved - h;
        double lo = loss(ctx);
        x[i] = saved;
        /* the step actually taken in float32 */
        double fd = (hi - lo) / ((double)(saved + h) - (double)(saved - h));
        double err = fabs(fd - grad[i]), tol = atol + rtol * fmax(fabs(fd), fabs((double)grad[i]));
        if (!(err <= tol)) {
            if (ok || err / tol > worst)
                printf("  gradcheck %s: [%lld] finite difference %.7g, backward %.7g (|diff| %.3g > %.3g)\n", what,
                       (long long)i, fd, (double)grad[i], err, tol);
            worst = fmax(worst, err / tol);
            ok = false;
        }
    }
    return ok;
}
