/* conv_bench: convolution speed on ResNet-18 and MobileNetV2 shapes, beside the OpenBLAS
 * sgemm rate measured in the same run.
 *
 *   conv_bench [-b batch] [-t threads] [-r reps] [-c]      (defaults: 16, 2, 5)
 *
 * -c times by the process's CPU time instead of the wall clock: with -t 1 on a busy shared
 * machine that still measures the code, where wall-clock figures measure the neighbours.
 *
 * For each shape: forward, backward (dx and dw) and the single GEMM the forward amounts to
 * (C_out x C_in*k*k times C_in*k*k x batch*out_h*out_w, no im2col), in GFLOP/s = 2 x
 * multiply-adds / best time. Backward counts twice the forward's work (dx and dw). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "nn/conv.h"
#include "nn/nn.h"

extern char *openblas_get_corename(void);

static clockid_t timer = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec ts;
    clock_gettime(timer, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static float *filled(size_t n, float scale) {
    float *p = cx_aligned_alloc(n * sizeof(float) + 64);
    for (size_t i = 0; i < n; i++) p[i] = scale * (float)((int)(i * 2654435761u % 2001) - 1000) * 1e-3f;
    return p;
}

typedef struct {
    const char *name;
    int cin, cout, size, kernel, stride, groups;
} shape;

typedef void (*timed_fn)(void *ctx);

static double best_time(timed_fn fn, void *ctx, int reps) {
    fn(ctx);   /* warm-up: page faults, OpenBLAS buffers */
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fn(ctx);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

typedef struct {
    cx_conv2d_desc d;
    float *x, *w, *b, *y, *dx, *dw, *db, *work;
} conv_ctx;

static void run_forward(void *p) {
    conv_ctx *c = p;
    cx_conv2d_forward(&c->d, c->y, c->x, c->w, c->b, c->work);
}

static void run_backward(void *p) {
    conv_ctx *c = p;
    cx_conv2d_backward(&c->d, c->dx, c->dw, c->db, c->y, c->x, c->w, c->work);
}

typedef struct {
    int m, n, k;
    float *a, *b, *c;
} gemm_ctx;

static void run_gemm(void *p) {
    gemm_ctx *g = p;
    cx_sgemm(false, false, g->m, g->n, g->k, 1.0f, g->a, g->k, g->b, g->n, 0.0f, g->c, g->n);
}

static double gemm_rate(int m, int n, int k, int reps) {
    gemm_ctx g = {m, n, k, filled((size_t)m * k, 1), filled((size_t)k * n, 1), filled((size_t)m * n, 0)};
    double t = best_time(run_gemm, &g, reps);
    free(g.a), free(g.b), free(g.c);
    return 2.0 * m * n * (double)k / t * 1e-9;
}

int main(int argc, char **argv) {
    int batch = 16, threads = 2, reps = 5, opt;
    bool json = false;
    const char *shapes_path = "tests/bench/conv_shapes.tsv";
    while ((opt = getopt(argc, argv, "b:t:r:cjs:")) != -1) {
        if (opt == 'b') batch = atoi(optarg);
        else if (opt == 't') threads = atoi(optarg);
        else if (opt == 'r') reps = atoi(optarg);
        else if (opt == 'c') timer = CLOCK_PROCESS_CPUTIME_ID;
        else if (opt == 'j') json = true;
        else if (opt == 's') shapes_path = optarg;
        else {
            fprintf(stderr, "usage: conv_bench [-b batch] [-t threads] [-r reps] [-c] [-j] [-s shapes.tsv]\n");
            return EX_USAGE;
        }
    }
    cx_nn_set_threads(threads);
    printf("# conv_bench: batch %d, %d threads, OpenBLAS core %s, %s time\n", batch, threads, openblas_get_corename(),
           timer == CLOCK_MONOTONIC ? "wall-clock" : "CPU");
    printf("# sgemm 1024^3: %.0f GFLOP/s; 2048^3: %.0f GFLOP/s\n", gemm_rate(1024, 1024, 1024, reps),
           gemm_rate(2048, 2048, 2048, reps));
    FILE *list = fopen(shapes_path, "r");
    if (!list) cx_fatal(EX_NOINPUT, "%s: cannot open", shapes_path);
    shape shapes[64];
    size_t nshapes = 0;
    char line[256], names[64][64];
    while (nshapes < 64 && fgets(line, sizeof line, list)) {
        shape *sh = &shapes[nshapes];
        if (line[0] == '#' || sscanf(line, "%63s %d %d %d %d %d %d", names[nshapes], &sh->cin, &sh->cout, &sh->size,
                                     &sh->kernel, &sh->stride, &sh->groups) != 7)
            continue;
        sh->name = names[nshapes++];
    }
    fclose(list);
    if (!json) printf("%-34s %9s %9s %9s %9s %9s\n", "shape", "fwd ms", "fwd GF/s", "bwd ms", "bwd GF/s", "GEMM GF/s");
    for (size_t s = 0; s < nshapes; s++) {
        const shape *sh = &shapes[s];
        int pad = sh->kernel / 2;
        conv_ctx c = {.d = {batch, sh->cin, sh->cout, sh->size, sh->size, sh->kernel, sh->kernel, sh->stride,
                            sh->stride, 1, 1, pad, pad, pad, pad, sh->groups, 0, 0}};
        if (cx_conv2d_setup(&c.d)) cx_die();
        size_t nx = (size_t)batch * sh->cin * sh->size * sh->size;
        size_t ny = (size_t)batch * sh->cout * c.d.out_h * c.d.out_w;
        int k = sh->cin / sh->groups * sh->kernel * sh->kernel;
        size_t nw = (size_t)sh->cout * k;
        c.x = filled(nx, 1), c.w = filled(nw, 0.1f), c.b = filled((size_t)sh->cout, 1), c.y = filled(ny, 0);
        c.dx = filled(nx, 0), c.dw = filled(nw, 0), c.db = filled((size_t)sh->cout, 0);
        c.work = filled(cx_conv2d_workspace_bytes(&c.d) / sizeof(float), 0);
        double flops = 2.0 * (double)ny * k;
        double fwd = best_time(run_forward, &c, reps), bwd = best_time(run_backward, &c, reps);
        char gemm[16] = "-";
        if (sh->groups == 1)
            snprintf(gemm, sizeof gemm, "%.0f", gemm_rate(sh->cout, (int)(ny / sh->cout), k, reps));
        if (json)
            printf("{\"impl\": \"cxr-mtl\", \"shape\": \"%s\", \"batch\": %d, \"threads\": %d, \"fwd_s\": %.6f, "
                   "\"bwd_s\": %.6f, \"gflop_fwd\": %.4f}\n", sh->name, batch, threads, fwd, bwd, flops * 1e-9);
        else
            printf("%-34s %9.2f %9.0f %9.2f %9.0f %9s\n", sh->name, fwd * 1e3, flops / fwd * 1e-9, bwd * 1e3,
                   2 * flops / bwd * 1e-9, gemm);
        fflush(stdout);
        float *all[] = {c.x, c.w, c.b, c.y, c.dx, c.dw, c.db, c.work};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    }
    return 0;
}
