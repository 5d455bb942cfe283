/* Losses: finite-difference gradients of every input for every reduction, PyTorch's values and
 * gradients (tests/data/ref/loss.cxs from tests/ref/gen_train.py), masks and empty batches,
 * accumulation into the gradients, and thread independence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gradcheck.h"
#include "nn/loss.h"
#include "spatial_ref.h"
#include "test.h"

typedef enum { CE, NLL, BCE, L1, MSE, DICE, INFONCE, NLOSSES } loss_kind;
/* The fixture's names for them. */
static const char *const loss_names[NLOSSES] = {"cross_entropy", "nll", "bce_logits", "l1", "mse", "dice", "infonce"};

/* One call of a loss, whatever its kind: n samples of k values (classes, elements, or the
 * embedding size). */
typedef struct {
    loss_kind kind;
    cx_reduction reduction;
    int n, k;
    float eps, tau;
    float *x, *b;                  /* the input; InfoNCE's second input */
    float *target;                 /* element-wise and Dice targets */
    const int32_t *label;          /* class targets */
    const float *weight, *mask;    /* class weights or pos_weight; the sample mask */
    float *work;
    const float *probe;            /* dout, for the finite-difference loss */
    float *out;
} loss_case;

static int64_t out_size(const loss_case *c) {
    if (c->reduction != CX_REDUCE_NONE) return 1;
    return c->kind == BCE || c->kind == L1 || c->kind == MSE ? (int64_t)c->n * c->k : c->n;
}

static float run_forward(const loss_case *c, float *out) {
    cx_class_loss_desc cd = {c->n, c->k, c->reduction};
    cx_elem_loss_desc ed = {c->n, c->k, c->reduction};
    cx_dice_desc dd = {c->n, c->k, c->eps, c->reduction};
    cx_infonce_desc id = {c->n, c->k, c->tau, c->reduction};
    switch (c->kind) {
    case CE: return cx_cross_entropy_forward(&cd, out, c->x, c->label, c->weight, c->mask);
    case NLL: return cx_nll_forward(&cd, out, c->x, c->label, c->weight, c->mask);
    case BCE: return cx_bce_logits_forward(&ed, out, c->x, c->target, c->weight, c->mask);
    case L1: return cx_l1_forward(&ed, out, c->x, c->target, c->mask);
    case MSE: return cx_mse_forward(&ed, out, c->x, c->target, c->mask);
    case DICE: return cx_dice_forward(&dd, out, c->x, c->target, c->mask);
    default: return cx_infonce_forward(&id, out, c->x, c->b, c->work);
    }
}

/* Adds the gradients of sum(dout * out) into dx, db (InfoNCE) and dtarget (L1, MSE). */
static void run_backward(const loss_case *c, float *dx, float *db, float *dtarget, const float *dout) {
    cx_class_loss_desc cd = {c->n, c->k, c->reduction};
    cx_elem_loss_desc ed = {c->n, c->k, c->reduction};
    cx_dice_desc dd = {c->n, c->k, c->eps, c->reduction};
    cx_infonce_desc id = {c->n, c->k, c->tau, c->reduction};
    switch (c->kind) {
    case CE: cx_cross_entropy_backward(&cd, dx, dout, c->x, c->label, c->weight, c->mask); break;
    case NLL: cx_nll_backward(&cd, dx, dout, c->label, c->weight, c->mask); break;
    case BCE: cx_bce_logits_backward(&ed, dx, dout, c->x, c->target, c->weight, c->mask); break;
    case L1: cx_l1_backward(&ed, dx, dtarget, dout, c->x, c->target, c->mask); break;
    case MSE: cx_mse_backward(&ed, dx, dtarget, dout, c->x, c->target, c->mask); break;
    case DICE: cx_dice_backward(&dd, dx, dout, c->x, c->target, c->mask); break;
    default: cx_infonce_backward(&id, dx, db, dout, c->x, c->b, c->work); break;
    }
}

static float *infonce_work(const loss_case *c) {
    cx_infonce_desc id = {c->n, c->k, c->tau, c->reduction};
    return c->kind == INFONCE ? zeros((int64_t)(cx_infonce_workspace_bytes(&id) / sizeof(float))) : NULL;
}

/* ---- finite differences ---- */

static double probe_loss(void *ctx) {
    loss_case *c = ctx;
    run_forward(c, c->out);
    return cx_dot_f64(c->probe, c->out, out_size(c));
}

/* Random inputs of the right kind for c (seeded), the awkward parts included: masked samples
 * carry out-of-range labels, L1's |x - y| stays clear of its kink, Dice gets probabilities and
 * 0/1 targets with one empty target. */
static void fill_inputs(loss_case *c, uint64_t seed) {
    int64_t nk = (int64_t)c->n * c->k;
    cx_fill_normal(c->x, nk, seed, c->kind == CE ? 2.0f : 1.0f);
    if (c->b) cx_fill_normal(c->b, nk, seed + 1, 1.0f);
    if (c->kind == INFONCE)
        for (int64_t i = 0; i < nk; i++) c->b[i] += c->x[i];   /* correlated pairs */
    if (c->target) {
        cx_fill_normal(c->target, nk, seed + 2, 1.0f);
        for (int64_t i = 0; i < nk; i++) {
            float r = c->target[i];
            if (c->kind == BCE) c->target[i] = 1.0f / (1.0f + expf(-r));
            if (c->kind == L1) c->target[i] = c->x[i] + (r < 0 ? -0.2f : 0.2f) + r;
            if (c->kind == DICE) {
                c->x[i] = 1.0f / (1.0f + expf(-2.0f * c->x[i]));
                c->target[i] = r > 0.3f && i < nk - c->k ? 1.0f : 0.0f;
            }
        }
    }
}

TEST(loss_gradcheck) {
    enum { N = 5, K = 7 };
    /* where the mask is 0 the labels are junk (-1, 99): never read */
    static const int32_t labels[N] = {2, 6, 0, 1, 3}, masked_labels[N] = {2, -1, 0, 1, 99};
    static const float mask[N] = {1, 0, 1, 1, 0}, weight[K] = {0.5f, 2.0f, 1.0f, 0.3f, 1.7f, 1.1f, 0.8f};
    for (int kind = 0; kind < NLOSSES; kind++)
        for (int r = CX_REDUCE_MEAN; r <= CX_REDUCE_NONE; r++)
            for (int masked = 0; masked < 2; masked++) {
                if (kind == INFONCE && masked) continue;   /* InfoNCE has no mask */
                float x[N * K], b[N * K], target[N * K], out[N * K], probe[N * K];
                float dx[N * K] = {0}, db[N * K] = {0}, dtarget[N * K] = {0};
                loss_case c = {.kind = (loss_kind)kind, .reduction = (cx_reduction)r, .n = N, .k = K,
                               .eps = kind == DICE && r == CX_REDUCE_SUM ? 1e-3f : CX_DICE_EPS, .tau = 0.3f,
                               .x = x, .b = kind == INFONCE ? b : NULL,
                               .target = kind == BCE || kind == L1 || kind == MSE || kind == DICE ? target : NULL,
                               .label = masked ? masked_labels : labels, .weight = kind == CE || kind == NLL || kind == BCE ? weight : NULL,
                               .mask = masked ? mask : NULL, .probe = probe, .out = out};
                c.work = infonce_work(&c);
                fill_inputs(&c, 100 + 10 * (uint64_t)kind + (uint64_t)r);
                cx_fill_normal(probe, out_size(&c), 7 + (uint64_t)kind, 1.0f);
                run_forward(&c, out);
                run_backward(&c, dx, c.b ? db : NULL, c.kind == L1 || c.kind == MSE ? dtarget : NULL, probe);
                char what[64];
                snprintf(what, sizeof what, "%s %s%s", loss_names[kind], cx_reduction_name(c.reduction),
                         masked ? " masked" : "");
                CHECK(cx_gradcheck(what, probe_loss, &c, x, dx, N * K, N * K, 1e-2, 1e-4));
                if (c.b) CHECK(cx_gradcheck(what, probe_loss, &c, b, db, N * K, N * K, 1e-2, 1e-4));
                if (c.kind == L1 || c.kind == MSE)
                    CHECK(cx_gradcheck(what, probe_loss, &c, target, dtarget, N * K, N * K, 1e-2, 1e-4));
                free(c.work);
            }
}

/* ---- PyTorch ---- */

static const int32_t *ref_i32(const cx_record *rec, const char *name, int64_t n) {
    const cx_tensor *t = cx_record_tensor(rec, name);
    if (t && t->dtype == CX_I32 && cx_tensor_numel(t) == n) return t->data;
    printf("  case %s: tensor '%s' missing or not i32[%lld]\n", rec->id, name, (long long)n);
    CHECK(!"reference labels missing");
    return NULL;
}

/* An optional float tensor: NULL when the case has none. */
static const float *ref_optional(const cx_record *rec, const char *name, int64_t n) {
    return cx_record_tensor(rec, name) ? ref_f32(rec, name, n) : NULL;
}

/* Every case of one loss in loss.cxs: the output within rtol_out (plus 1e-6 of its largest
 * value), the gradients within rtol_grad (plus 1e-6 of the largest), and forward's return value
 * (out[0], or the sum of out for "none"). */
static void check_against_torch(loss_kind kind, double rtol_out, double rtol_grad) {
    ref_cases rc;
    ref_open(&rc, "loss");
    int seen = 0;
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        if (!ref_is(rec, "loss", loss_names[kind])) continue;
        seen++;
        const cx_tensor *xt = cx_record_tensor(rec, "x");
        loss_case c = {.kind = kind, .eps = (float)(kind == DICE ? ref_num(rec, "eps") : 0),
                       .tau = (float)(kind == INFONCE ? ref_num(rec, "tau") : 0)};
        if (!CHECK(xt && xt->ndim == 2) ||
            !CHECK(cx_reduction_parse(cx_map_str(&rec->meta, "reduction", "?"), &c.reduction) == 0))
            continue;
        c.n = (int)xt->shape[0];
        c.k = (int)xt->shape[1];
        int64_t nk = (int64_t)c.n * c.k, nout = out_size(&c);
        c.x = (float *)ref_f32(rec, "x", nk);
        c.b = kind == INFONCE ? (float *)ref_f32(rec, "b", nk) : NULL;
        c.target = kind == DICE ? (float *)ref_f32(rec, "target", nk)
                   : kind == BCE || kind == L1 || kind == MSE ? (float *)ref_f32(rec, "y", nk) : NULL;
        c.label = kind == CE || kind == NLL ? ref_i32(rec, "target", c.n) : NULL;
        c.weight = kind == BCE ? ref_optional(rec, "pos_weight", c.k) : ref_optional(rec, "weight", c.k);
        c.mask = ref_optional(rec, "mask", c.n);
        const float *probe = ref_f32(rec, "probe", nout), *want_out = ref_f32(rec, "out", nout);
        if (!c.x || !probe || !want_out) continue;
        c.work = infonce_work(&c);
        float *out = zeros(nout), *dx = zeros(nk), *db = zeros(nk), *dtarget = zeros(nk);
        float loss = run_forward(&c, out);
        double want_loss = 0;
        for (int64_t i = 0; i < nout; i++) want_loss += want_out[i];
        CHECK_NEAR(loss, want_loss, rtol_out, 1e-6 * max_abs(want_out, nout));
        run_backward(&c, dx, c.b ? db : NULL, kind == L1 || kind == MSE ? dtarget : NULL, probe);
        CHECK_REF(rec, "out", out, nout, rtol_out, 1e-6);
        CHECK_REF(rec, "dx", dx, nk, rtol_grad, 1e-6);
        if (c.b) CHECK_REF(rec, "db", db, nk, rtol_grad, 1e-6);
        if (kind == L1 || kind == MSE) CHECK_REF(rec, "dtarget", dtarget, nk, rtol_grad, 1e-6);
        free(out);
        free(dx);
        free(db);
        free(dtarget);
        free(c.work);
    }
    ref_close(&rc);
    if (!CHECK(seen >= 3)) printf("  only %d %s cases in loss.cxs\n", seen, loss_names[kind]);
}

/* Tolerances: float32 work against torch's float32 work, which rounds differently (double sums
 * here, vectorised float sums there): a few ulps, so rtol 1e-5 for values and gradients; the
 * masked cases compare with torch's loss over the selected rows. */
TEST(loss_cross_entropy_matches_torch) { check_against_torch(CE, 1e-5, 1e-5); }
TEST(loss_nll_matches_torch) { check_against_torch(NLL, 1e-5, 1e-5); }
TEST(loss_bce_matches_torch) { check_against_torch(BCE, 1e-5, 1e-5); }
TEST(loss_l1_matches_torch) { check_against_torch(L1, 1e-5, 1e-5); }
TEST(loss_mse_matches_torch) { check_against_torch(MSE, 1e-5, 1e-5); }
TEST(loss_dice_matches_torch) { check_against_torch(DICE, 1e-5, 1e-5); }
/* InfoNCE goes through a normalisation and an N x N GEMM (OpenBLAS here, MKL-DNN/OpenMP in
 * torch): rtol 1e-5 for the loss, 1e-4 for the gradients (within the 1e-3 asked). */
TEST(loss_infonce_matches_torch) { check_against_torch(INFONCE, 1e-5, 1e-4); }

/* ---- masks, empty batches, labels, accumulation ---- */

/* The masked mean equals the plain mean over the unmasked rows copied out (an independent
 * computation with the same code path but no mask), and masked rows get exactly zero. */
TEST(loss_mask_selects_rows) {
    enum { N = 6, C = 4 };
    float x[N * C], sel[N * C], dx[N * C] = {0}, dsel[N * C] = {0}, one = 1.0f;
    static const float mask[N] = {0, 1, 1, 0, 1, 0};
    static const int32_t label[N] = {-5, 3, 0, 7, 2, 1}, label_sel[3] = {3, 0, 2};
    cx_fill_normal(x, N * C, 42, 2.0f);
    int rows = 0;
    for (int i = 0; i < N; i++)
        if (mask[i]) memcpy(sel + C * rows++, x + C * i, C * sizeof(float));
    for (int r = CX_REDUCE_MEAN; r <= CX_REDUCE_SUM; r++) {
        cx_class_loss_desc d = {N, C, (cx_reduction)r}, ds = {rows, C, (cx_reduction)r};
        memset(dx, 0, sizeof dx);
        memset(dsel, 0, sizeof dsel);
        float masked = cx_cross_entropy_forward(&d, NULL, x, label, NULL, mask);
        float plain = cx_cross_entropy_forward(&ds, NULL, sel, label_sel, NULL, NULL);
        CHECK(masked == plain);
        cx_cross_entropy_backward(&d, dx, &one, x, label, NULL, mask);
        cx_cross_entropy_backward(&ds, dsel, &one, sel, label_sel, NULL, NULL);
        for (int i = 0, k = 0; i < N; i++) {
            if (mask[i]) CHECK(memcmp(dx + C * i, dsel + C * k++, C * sizeof(float)) == 0);
            else
                for (int j = 0; j < C; j++) CHECK(dx[C * i + j] == 0.0f);
        }
    }
}

/* A batch with nothing to count: loss 0 and zero gradient (PyTorch gives NaN), for every loss
 * that takes a mask. */
TEST(loss_all_masked_is_zero) {
    enum { N = 3, K = 4 };
    float x[N * K], target[N * K], out[N * K], dx[N * K], one = 1.0f;
    static const float mask[N] = {0, 0, 0};
    static const int32_t label[N] = {-1, -1, -1};
    cx_fill_normal(x, N * K, 1, 1.0f);
    for (int i = 0; i < N * K; i++) target[i] = 0.5f;
    for (int kind = 0; kind < NLOSSES; kind++) {
        if (kind == INFONCE) continue;
        for (int r = CX_REDUCE_MEAN; r <= CX_REDUCE_SUM; r++) {
            loss_case c = {.kind = (loss_kind)kind, .reduction = (cx_reduction)r, .n = N, .k = K, .eps = 1.0f,
                           .x = x, .target = target, .label = label, .mask = mask};
            memset(dx, 0, sizeof dx);
            out[0] = NAN;
            float loss = run_forward(&c, out);
            run_backward(&c, dx, NULL, NULL, &one);
            if (!CHECK(loss == 0.0f && out[0] == 0.0f)) printf("  %s: loss %g\n", loss_names[kind], loss);
            for (int i = 0; i < N * K; i++) CHECK(dx[i] == 0.0f);
        }
    }
}

/* A label outside [0, C) where it counts: the check names it, the loss is NaN and the sample
 * gets no gradient (and no out-of-bounds read). */
TEST(loss_bad_labels) {
    enum { N = 3, C = 4 };
    float x[N * C], dx[N * C] = {0}, one = 1.0f;
    static const int32_t label[N] = {1, 4, 0};
    static const float mask[N] = {1, 0, 1};
    cx_fill_normal(x, N * C, 5, 1.0f);
    CHECK(cx_class_targets_check("labels.csv", label, mask, N, C) == 0);
    CHECK(cx_class_targets_check("labels.csv", label, NULL, N, C) == EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "labels.csv") && strstr(cx_errmsg(), "sample 1"));
    cx_class_loss_desc d = {N, C, CX_REDUCE_MEAN};
    CHECK(isnan(cx_cross_entropy_forward(&d, NULL, x, label, NULL, NULL)));
    CHECK(!isnan(cx_cross_entropy_forward(&d, NULL, x, label, NULL, mask)));
    cx_cross_entropy_backward(&d, dx, &one, x, label, NULL, NULL);
    for (int j = 0; j < C; j++) CHECK(dx[C + j] == 0.0f);
}

/* Cross-entropy of huge logits against a direct double-precision log-sum-exp. */
TEST(loss_cross_entropy_large_logits) {
    float x[6] = {1e4f, -3e4f, 9999.0f, -50.0f, 88.0f, 89.5f};
    int32_t label[2] = {2, 0};
    cx_class_loss_desc d = {2, 3, CX_REDUCE_SUM};
    double want = 0;
    for (int i = 0; i < 2; i++) {
        double m = fmax(fmax(x[3 * i], x[3 * i + 1]), x[3 * i + 2]), s = 0;
        for (int j = 0; j < 3; j++) s += exp((double)x[3 * i + j] - m);
        want += m + log(s) - x[3 * i + label[i]];
    }
    CHECK_NEAR(cx_cross_entropy_forward(&d, NULL, x, label, NULL, NULL), want, 1e-6, 1e-6);
}

/* Backward adds into what the gradient holds (a tensor used twice gets both contributions). */
TEST(loss_backward_accumulates) {
    enum { N = 4, K = 5 };
    static const int32_t label[N] = {0, 4, 2, 1};
    float x[N * K], b[N * K], target[N * K], prior[N * K], fresh[N * K], added[N * K], bfresh[N * K],
        badded[N * K], probe[N * K];
    cx_fill_normal(prior, N * K, 9, 1.0f);
    for (int kind = 0; kind < NLOSSES; kind++) {
        loss_case c = {.kind = (loss_kind)kind, .reduction = CX_REDUCE_NONE, .n = N, .k = K, .eps = 1.0f,
                       .tau = 0.5f, .x = x, .b = b, .target = target, .label = label};
        c.work = infonce_work(&c);
        fill_inputs(&c, 50 + (uint64_t)kind);
        cx_fill_normal(probe, out_size(&c), 60, 1.0f);
        memset(fresh, 0, sizeof fresh);
        memset(bfresh, 0, sizeof bfresh);
        memcpy(added, prior, sizeof added);
        memcpy(badded, prior, sizeof badded);
        run_backward(&c, fresh, bfresh, NULL, probe);
        run_backward(&c, added, badded, NULL, probe);
        for (int i = 0; i < N * K; i++) {
            CHECK(added[i] == prior[i] + fresh[i]);
            if (kind == INFONCE) CHECK(badded[i] == prior[i] + bfresh[i]);
        }
        free(c.work);
    }
}

/* ---- threads ---- */

typedef struct {
    loss_case c;
    const float *dout;
} thread_case;

/* out = forward's output followed by the input gradient. */
static void loss_op(void *ctx, float *out) {
    thread_case *t = ctx;
    int64_t nout = out_size(&t->c);
    run_forward(&t->c, out);
    memset(out + nout, 0, (size_t)t->c.n * t->c.k * sizeof(float));
    run_backward(&t->c, out + nout, NULL, NULL, t->dout);
}

/* Sizes that take the parallel paths (chunked sums, OpenBLAS for InfoNCE). */
TEST(loss_thread_determinism) {
    enum { N = 8, K = 8192 };
    float *x = zeros(N * K), *target = zeros(N * K), *b = zeros(N * K), *dout = zeros(N * K);
    float *mask = zeros(N);
    for (int i = 0; i < N; i++) mask[i] = (float)(i % 3 != 1);
    cx_fill_normal(dout, N * K, 77, 1.0f);
    for (int kind = BCE; kind < NLOSSES; kind++)
        for (int r = CX_REDUCE_MEAN; r <= CX_REDUCE_NONE; r += 2) {
            thread_case t = {.c = {.kind = (loss_kind)kind, .reduction = (cx_reduction)r, .n = N, .k = K,
                                   .eps = 1.0f, .tau = 0.1f, .x = x, .b = b, .target = target,
                                   .mask = kind == INFONCE ? NULL : mask},
                             .dout = dout};
            if (kind == INFONCE) {   /* 128 pairs of 512-vectors */
                t.c.n = 128;
                t.c.k = 512;
            }
            t.c.work = infonce_work(&t.c);
            fill_inputs(&t.c, 300 + (uint64_t)kind);
            char what[64];
            snprintf(what, sizeof what, "%s %s", loss_names[kind], cx_reduction_name(t.c.reduction));
            check_thread_determinism(what, loss_op, &t, out_size(&t.c) + (int64_t)t.c.n * t.c.k, 1e-5);
            free(t.c.work);
        }
    free(x);
    free(target);
    free(b);
    free(dout);
    free(mask);
}
