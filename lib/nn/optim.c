#include "nn/optim.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

/* Below this many elements a parallel region costs more than it saves. */
#define PARALLEL_MIN 32768
/* Sums of squares run over NORM_CHUNKS fixed pieces added in order: the same bits for any
 * thread count. */
#define NORM_CHUNKS 64
/* torch.optim.lr_scheduler.ReduceLROnPlateau's eps: smaller reductions are ignored. */
#define PLATEAU_EPS 1e-8

static const char *const kind_names[] = {[CX_OPTIM_SGD] = "sgd", [CX_OPTIM_ADAM] = "adam",
                                         [CX_OPTIM_ADAMW] = "adamw"};

const char *cx_optim_kind_name(cx_optim_kind kind) {
    return kind >= CX_OPTIM_SGD && kind <= CX_OPTIM_ADAMW ? kind_names[kind] : "?";
}

int cx_optim_kind_parse(const char *name, cx_optim_kind *kind) {
    for (int i = CX_OPTIM_SGD; i <= CX_OPTIM_ADAMW; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *kind = (cx_optim_kind)i;
            return 0;
        }
    return -1;
}

int cx_optim_init(cx_optim *opt, const cx_optim_config *cfg) {
    /* negated comparisons so that NaN fails too */
    if (!(cfg->lr >= 0)) return cx_err(EX_USAGE, "learning rate %g is negative", cfg->lr);
    if (!(cfg->weight_decay >= 0)) return cx_err(EX_USAGE, "weight decay %g is negative", cfg->weight_decay);
    if (cfg->kind == CX_OPTIM_SGD) {
        if (!(cfg->momentum >= 0)) return cx_err(EX_USAGE, "momentum %g is negative", cfg->momentum);
        if (cfg->nesterov && (cfg->momentum <= 0 || cfg->dampening != 0))
            return cx_err(EX_USAGE, "Nesterov momentum needs momentum > 0 and dampening 0");
    } else {
        if (!(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1))
            return cx_err(EX_USAGE, "betas (%g, %g) must lie in [0, 1)", cfg->beta1, cfg->beta2);
        if (!(cfg->eps >= 0)) return cx_err(EX_USAGE, "eps %g is negative", cfg->eps);
    }
    opt->cfg = *cfg;
    opt->step = 0;
    return 0;
}

int cx_optim_state_count(const cx_optim_config *cfg) {
    if (cfg->kind != CX_OPTIM_SGD) return 2;
    return cfg->momentum != 0 ? 1 : 0;
}

const char *cx_optim_state_name(const cx_optim_config *cfg, int i) {
    if (cfg->kind == CX_OPTIM_SGD) return "momentum_buffer";
    return i == 0 ? "exp_avg" : "exp_avg_sq";
}

/* The scalars below are rounded to float32 where torch's kernels round them, and fmaf stands
 * where they fuse (add with alpha, addcmul), so every element matches torch.optim's bits. */

static void sgd_update(const cx_optim_config *c, int64_t step, const cx_param_group *g) {
    float wd = (float)c->weight_decay, mom = (float)c->momentum, keep = (float)(1.0 - c->dampening),
          neg_lr = (float)-c->lr;
    bool first = step == 1, use_momentum = c->momentum != 0;
    float *p = g->param, *m = g->m;
    const float *grad = g->grad;
#pragma omp parallel for schedule(static) if (g->n >= PARALLEL_MIN)
    for (int64_t i = 0; i < g->n; i++) {
        float d = c->weight_decay != 0 ? fmaf(p[i], wd, grad[i]) : grad[i];
        if (use_momentum) {
            m[i] = first ? d : fmaf(d, keep, m[i] * mom);
            d = c->nesterov ? fmaf(m[i], mom, d) : m[i];
        }
        p[i] = fmaf(d, neg_lr, p[i]);
    }
}

static void adam_update(const cx_optim_config *c, int64_t step, const cx_param_group *g) {
    bool decoupled = c->kind == CX_OPTIM_ADAMW, l2 = !decoupled && c->weight_decay != 0;
    double bias1 = 1.0 - pow(c->beta1, (double)step), bias2 = 1.0 - pow(c->beta2, (double)step);
    float wd = (float)c->weight_decay, shrink = (float)(1.0 - c->lr * c->weight_decay);
    float b1 = (float)c->beta1, keep1 = (float)(1.0 - c->beta1), b2 = (float)c->beta2, keep2 = (float)(1.0 - c->beta2);
    float neg_step = (float)-(c->lr / bias1), bias2_sqrt = (float)sqrt(bias2), eps = (float)c->eps;
    float *p = g->param, *m = g->m, *v = g->v;
    const float *grad = g->grad;
#pragma omp parallel for schedule(static) if (g->n >= PARALLEL_MIN)
    for (int64_t i = 0; i < g->n; i++) {
        float d = l2 ? fmaf(p[i], wd, grad[i]) : grad[i];
        if (decoupled) p[i] *= shrink;
        m[i] = fmaf(d, keep1, m[i] * b1);
        v[i] = fmaf(keep2 * d, d, v[i] * b2);
        float denom = sqrtf(v[i]) / bias2_sqrt + eps;
        p[i] = p[i] + neg_step * m[i] / denom;
    }
}

void cx_optim_step(cx_optim *opt, const cx_param_group *groups, int ngroups) {
    opt->step++;
    for (int k = 0; k < ngroups; k++) {
        if (opt->cfg.kind == CX_OPTIM_SGD)
            sgd_update(&opt->cfg, opt->step, &groups[k]);
        else
            adam_update(&opt->cfg, opt->step, &groups[k]);
    }
}

static double sum_squares(const float *x, int64_t n) {
    double part[NORM_CHUNKS];
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (int chunk = 0; chunk < NORM_CHUNKS; chunk++) {
        int64_t lo = n * chunk / NORM_CHUNKS, hi = n * (chunk + 1) / NORM_CHUNKS;
        double s = 0;
        for (int64_t i = lo; i < hi; i++) s += (double)x[i] * x[i];
        part[chunk] = s;
    }
    double total = 0;
    for (int chunk = 0; chunk < NORM_CHUNKS; chunk++) total += part[chunk];
    return total;
}

float cx_clip_grad_norm(const cx_param_group *groups, int ngroups, float max_norm) {
    /* as torch: the norm of the per-group norms, each rounded to float32 */
    double total_sq = 0;
    for (int k = 0; k < ngroups; k++) {
        float norm = (float)sqrt(sum_squares(groups[k].grad, groups[k].n));
        total_sq += (double)norm * norm;
    }
    float total = (float)sqrt(total_sq);
    float coef = max_norm / (total + 1e-6f);
    if (coef >= 1.0f) return total;
    for (int k = 0; k < ngroups; k++) {
        float *grad = groups[k].grad;
#pragma omp parallel for schedule(static) if (groups[k].n >= PARALLEL_MIN)
        for (int64_t i = 0; i < groups[k].n; i++) grad[i] *= coef;
    }
    return total;
}

/* ---- schedules ---- */

int cx_lr_schedule_check(const cx_lr_schedule *s) {
    if (!(s->lr >= 0)) return cx_err(EX_USAGE, "learning rate %g is negative", s->lr);
    switch (s->kind) {
    case CX_LR_CONSTANT: return 0;
    case CX_LR_WARMUP:
        if (!(s->start_factor > 0 && s->start_factor <= 1))
            return cx_err(EX_USAGE, "warm-up start factor %g must lie in (0, 1]", s->start_factor);
        if (s->warmup <= 0) return cx_err(EX_USAGE, "warm-up length %lld must be positive", (long long)s->warmup);
        return 0;
    case CX_LR_COSINE:
        if (s->t_max <= 0) return cx_err(EX_USAGE, "cosine period %lld must be positive", (long long)s->t_max);
        if (!(s->eta_min >= 0)) return cx_err(EX_USAGE, "cosine minimum %g is negative", s->eta_min);
        return 0;
    case CX_LR_STEP:
        if (s->step_size <= 0) return cx_err(EX_USAGE, "step size %lld must be positive", (long long)s->step_size);
        if (!(s->gamma > 0)) return cx_err(EX_USAGE, "step decay factor %g must be positive", s->gamma);
        return 0;
    }
    return cx_err(EX_USAGE, "unknown learning-rate schedule %d", (int)s->kind);
}

double cx_lr_at(const cx_lr_schedule *s, int64_t t) {
    /* operations in the order of torch's _get_closed_form_lr */
    switch (s->kind) {
    case CX_LR_WARMUP: {
        int64_t done = t < s->warmup ? t : s->warmup;
        return s->lr * (s->start_factor + (1.0 - s->start_factor) * (double)done / (double)s->warmup);
    }
    case CX_LR_COSINE:
        return s->eta_min + (s->lr - s->eta_min) * (1.0 + cos(M_PI * (double)t / (double)s->t_max)) / 2.0;
    case CX_LR_STEP: return s->lr * pow(s->gamma, (double)(t / s->step_size));
    default: return s->lr;
    }
}

int cx_plateau_init(cx_plateau *p, const cx_plateau_config *cfg, double lr) {
    if (!(cfg->factor > 0 && cfg->factor < 1))
        return cx_err(EX_USAGE, "plateau factor %g must lie in (0, 1)", cfg->factor);
    if (cfg->patience < 0 || cfg->cooldown < 0)
        return cx_err(EX_USAGE, "plateau patience %d and cooldown %d must not be negative", cfg->patience,
                      cfg->cooldown);
    if (!(cfg->threshold >= 0)) return cx_err(EX_USAGE, "plateau threshold %g is negative", cfg->threshold);
    if (!(cfg->min_lr >= 0)) return cx_err(EX_USAGE, "minimum learning rate %g is negative", cfg->min_lr);
    if (!(lr >= 0)) return cx_err(EX_USAGE, "learning rate %g is negative", lr);
    p->cfg = *cfg;
    p->lr = lr;
    p->best = cfg->maximize ? -INFINITY : INFINITY;
    p->num_bad_epochs = 0;
    p->cooldown_counter = 0;
    return 0;
}

double cx_plateau_step(cx_plateau *p, double metric) {
    /* torch's relative threshold, best * (1 -+ threshold), also for a negative best */
    bool better = p->cfg.maximize ? metric > p->best * (1.0 + p->cfg.threshold)
                                  : metric < p->best * (1.0 - p->cfg.threshold);
    if (better) {
        p->best = metric;
        p->num_bad_epochs = 0;
    } else {
        p->num_bad_epochs++;
    }
    if (p->cooldown_counter > 0) {
        p->cooldown_counter--;
        p->num_bad_epochs = 0;
    }
    if (p->num_bad_epochs > p->cfg.patience) {
        double reduced = fmax(p->lr * p->cfg.factor, p->cfg.min_lr);
        if (p->lr - reduced > PLATEAU_EPS) p->lr = reduced;
        p->cooldown_counter = p->cfg.cooldown;
        p->num_bad_epochs = 0;
    }
    return p->lr;
}
