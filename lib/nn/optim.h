/* Optimisers, learning-rate schedules and gradient clipping, with torch.optim's definitions.
 *
 * Parameters come as groups: a flat float array, its gradient and its optimiser state (one
 * group per tensor, or one for a whole parameter arena). The state buffers belong to the caller
 * (the graph plans them beside the parameters), start zeroed, and are saved in checkpoints with
 * cx_optim.step; cx_optim_state_count/name say which buffers a configuration uses, under
 * torch.optim's names. Hyperparameters are doubles, as Python's floats in torch.optim, and each
 * scalar is rounded to float32 where PyTorch's kernels round it, so that five steps agree with
 * torch to a few float32 ulps.
 *
 * One step, with g the gradient and t the step number counted from 1:
 *   SGD:   g += wd p;  with momentum: m = g at t = 1, else m = momentum m + (1 - dampening) g;
 *          g = nesterov ? g + momentum m : m;  p -= lr g
 *   Adam:  g += wd p (L2 through the gradient); m = beta1 m + (1 - beta1) g;
 *          v = beta2 v + (1 - beta2) g^2;
 *          p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *   AdamW: p *= 1 - lr wd (decoupled), then Adam's update without the L2 term.
 * Updates are element-wise and threaded over elements: identical results for any thread count.
 */
#ifndef CX_NN_OPTIM_H
#define CX_NN_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { CX_OPTIM_SGD, CX_OPTIM_ADAM, CX_OPTIM_ADAMW } cx_optim_kind;

typedef struct {
    cx_optim_kind kind;
    double lr;                    /* current learning rate: schedules set it between steps */
    double weight_decay;
    double beta1, beta2, eps;     /* Adam, AdamW */
    double momentum, dampening;   /* SGD */
    bool nesterov;                /* SGD: needs momentum > 0 and dampening 0, as torch */
} cx_optim_config;

typedef struct {
    cx_optim_config cfg;
    int64_t step;   /* steps taken */
} cx_optim;

/* m: Adam's exp_avg or SGD's momentum_buffer; v: Adam's exp_avg_sq. NULL where unused. */
typedef struct {
    float *param, *grad;
    int64_t n;
    float *m, *v;
} cx_param_group;

/* "sgd", "adam", "adamw", and back: 0, or -1 when unknown (nothing recorded). */
const char *cx_optim_kind_name(cx_optim_kind kind);
int cx_optim_kind_parse(const char *name, cx_optim_kind *kind);

/* Check the configuration (lr, eps, weight_decay >= 0, betas in [0, 1), momentum >= 0,
 * nesterov's conditions) and start at step 0. 0 or EX_USAGE (recorded). */
int cx_optim_init(cx_optim *opt, const cx_optim_config *cfg);
/* State buffers per parameter: 2 for Adam and AdamW (m, v), 1 for SGD with momentum (m), 0 for
 * plain SGD; their names "exp_avg", "exp_avg_sq", "momentum_buffer" (state i of that count). */
int cx_optim_state_count(const cx_optim_config *cfg);
const char *cx_optim_state_name(const cx_optim_config *cfg, int i);

/* One step over every group with the gradients as they are; increments opt->step first. */
void cx_optim_step(cx_optim *opt, const cx_param_group *groups, int ngroups);

/* torch.nn.utils.clip_grad_norm_: the global L2 norm of all gradients; when max_norm / (norm +
 * 1e-6) < 1, every gradient is multiplied by that factor. Returns the norm before clipping (NaN
 * or inf passes through: the caller decides). */
float cx_clip_grad_norm(const cx_param_group *groups, int ngroups, float max_norm);

/* ---- learning-rate schedules: the rate for epoch (or step) t = 0, 1, 2, ... ----
 *   CONSTANT  lr
 *   WARMUP    lr (start_factor + (1 - start_factor) min(t, warmup) / warmup): linear from
 *             lr start_factor to lr over `warmup` epochs, then constant (torch's LinearLR)
 *   COSINE    eta_min + (lr - eta_min) (1 + cos(pi t / t_max)) / 2 (CosineAnnealingLR; past t_max
 *             the cosine goes on, as torch's)
 *   STEP      lr gamma^floor(t / step_size) (StepLR)
 * Closed forms: torch's recursive updates agree to about 1e-15 relative. */
typedef enum { CX_LR_CONSTANT, CX_LR_WARMUP, CX_LR_COSINE, CX_LR_STEP } cx_lr_kind;

typedef struct {
    cx_lr_kind kind;
    double lr;
    double start_factor;   /* WARMUP, in (0, 1] */
    int64_t warmup;        /* WARMUP, > 0 */
    int64_t t_max;         /* COSINE, > 0 */
    double eta_min;        /* COSINE */
    int64_t step_size;     /* STEP, > 0 */
    double gamma;          /* STEP */
} cx_lr_schedule;

/* 0 or EX_USAGE (recorded) for parameters out of range. */
int cx_lr_schedule_check(const cx_lr_schedule *s);
double cx_lr_at(const cx_lr_schedule *s, int64_t t);

/* ---- reduce on plateau (torch's ReduceLROnPlateau, threshold_mode "rel") ----
 * A metric improves on the best so far when it is below best (1 - threshold) (min mode) or
 * above best (1 + threshold) (max mode). After more than `patience` epochs without improvement
 * lr becomes max(lr factor, min_lr) (unless that changes it by 1e-8 or less), and the next
 * `cooldown` epochs count no bad epochs. The state fields are saved in checkpoints. */
typedef struct {
    bool maximize;
    double factor;      /* in (0, 1) */
    int patience;       /* >= 0 */
    double threshold;   /* >= 0 */
    int cooldown;       /* >= 0 */
    double min_lr;      /* >= 0 */
} cx_plateau_config;

typedef struct {
    cx_plateau_config cfg;
    double lr, best;
    int num_bad_epochs, cooldown_counter;
} cx_plateau;

/* Check cfg and start from lr with no best yet. 0 or EX_USAGE (recorded). */
int cx_plateau_init(cx_plateau *p, const cx_plateau_config *cfg, double lr);
/* Take one epoch's metric; returns the learning rate for the next epoch (also p->lr). */
double cx_plateau_step(cx_plateau *p, double metric);

#endif
