#include "nn/graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor.h"
#include "nn/attention.h"
#include "nn/batchnorm.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/elementwise.h"
#include "nn/linear.h"
#include "nn/pool.h"
#include "nn/softmax.h"

typedef enum {
    OP_CONV2D, OP_CONV_TRANSPOSE2D, OP_BATCHNORM, OP_ACT, OP_MAXPOOL, OP_AVGPOOL, OP_ADAPTIVE_AVGPOOL,
    OP_UPSAMPLE, OP_ADD, OP_MUL, OP_CONCAT, OP_CHUNK, OP_SHUFFLE, OP_LINEAR, OP_SOFTMAX, OP_DROPOUT, OP_DROP_PATH,
    OP_TASK_ATTENTION, OP_NTYPES
} op_type;

static const char *const op_names[OP_NTYPES] = {
    "conv2d", "conv_transpose2d", "batchnorm", "act", "maxpool", "avgpool", "adaptive_avgpool",
    "upsample", "add", "mul", "concat", "chunk", "channel_shuffle", "linear", "softmax", "dropout", "drop_path",
    "task_attention",
};

typedef struct {
    op_type type;
    int nin, nout;
    cx_var *in, *out;
    union {
        cx_conv2d_desc conv;
        cx_conv_transpose2d_desc convt;
        struct { cx_batchnorm2d_desc d; } bn;
        cx_act act;
        cx_pool2d_desc pool;
        cx_adaptive_pool2d_desc apool;
        cx_upsample2d_desc up;
        cx_broadcast_desc bc;
        struct { cx_channels_desc d; int64_t *channels; } ch;
        cx_shuffle_desc shuf;
        cx_linear_desc lin;
        struct { cx_softmax_desc d; int axis; bool log; } sm;
        cx_dropout_desc drop;
        cx_drop_path_desc path;
        cx_task_attention_desc att;
    } u;
    void *saved;              /* what backward needs besides inputs and outputs */
    size_t saved_bytes, work_bytes;
} op;

typedef struct {
    char *name;
    cx_var_kind kind;
    int ndim;                     /* batched variables include the batch dim */
    int64_t shape[CX_MAX_DIMS];   /* shape[0] = current batch for batched variables */
    int64_t sample_numel;         /* per sample (batched) or in all (parameters, buffers) */
    bool batched, requires_grad, is_output;
    cx_init init;
    float init_value;
    int producer;                 /* op index, -1 for inputs, parameters and buffers */
    cx_var alias_of;              /* a view (flatten) shares its root's memory; -1 otherwise */
    size_t offset;                /* parameters/buffers: float offset in their arena */
    size_t data_at, grad_at;      /* activations: byte offsets in the planned arena */
    bool has_data, has_grad;      /* planned slots exist */
    int data_start, data_end, grad_start, grad_end;
} var;

struct cx_graph {
    int max_batch, batch;
    var *vars;
    int nvars, capvars;
    op *ops;
    int nops, capops;
    char scope[512];
    size_t scope_len[32];
    int nscopes;
    bool failed, planned;
    cx_mode mode;
    float *params, *grads, *buffers;
    size_t nparams, nbuffers;     /* floats, padding included */
    char *arena;
    size_t arena_bytes, arena_sum_bytes;
    float *work;
    size_t work_bytes;
};

/* ------------------------------------------------------------------ building */

cx_graph *cx_graph_new(int max_batch) {
    cx_graph *g = cx_calloc(1, sizeof *g);
    g->max_batch = g->batch = max_batch > 0 ? max_batch : 1;
    return g;
}

void cx_graph_free(cx_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->nvars; i++) free(g->vars[i].name);
    for (int i = 0; i < g->nops; i++) {
        free(g->ops[i].in);
        free(g->ops[i].out);
        free(g->ops[i].saved);
        if (g->ops[i].type == OP_CONCAT || g->ops[i].type == OP_CHUNK) free(g->ops[i].u.ch.channels);
    }
    free(g->vars);
    free(g->ops);
    free(g->params);
    free(g->grads);
    free(g->buffers);
    free(g->arena);
    free(g->work);
    free(g);
}

void cx_graph_push(cx_graph *g, const char *fmt, ...) {
    if (g->nscopes == 32) cx_fatal(EX_SOFTWARE, "graph: name scopes nested too deeply");
    size_t len = strlen(g->scope);
    g->scope_len[g->nscopes++] = len;
    if (len) g->scope[len++] = '.';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->scope + len, sizeof g->scope - len, fmt, ap);
    va_end(ap);
}

void cx_graph_pop(cx_graph *g) {
    if (!g->nscopes) cx_fatal(EX_SOFTWARE, "graph: cx_graph_pop without a push");
    g->scope[g->scope_len[--g->nscopes]] = 0;
}

bool cx_graph_ok(const cx_graph *g) { return !g->failed; }

static cx_var fail(cx_graph *g, const char *fmt, ...) CX_PRINTF(2, 3);
static cx_var fail(cx_graph *g, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!g->failed) cx_err(EX_DATAERR, "graph: %s%s%s", g->scope, g->scope[0] ? ": " : "", msg);
    g->failed = true;
    return -1;
}

static cx_var new_var(cx_graph *g, const char *name, cx_var_kind kind, int ndim, const int64_t *shape_in, bool batched) {
    int64_t shape[CX_MAX_DIMS];   /* shape_in may point into g->vars, which may move below */
    memcpy(shape, shape_in, (size_t)ndim * sizeof *shape);
    if (g->nvars == g->capvars) {
        g->capvars = g->capvars ? 2 * g->capvars : 256;
        g->vars = cx_realloc(g->vars, (size_t)g->capvars * sizeof *g->vars);
    }
    var *v = &g->vars[g->nvars];
    memset(v, 0, sizeof *v);
    char full[640];
    if (kind == CX_VAR_PARAM || kind == CX_VAR_BUFFER)
        snprintf(full, sizeof full, "%s%s%s", g->scope, g->scope[0] ? "." : "", name);
    else
        snprintf(full, sizeof full, "%s", name);
    v->name = cx_strdup(full);
    v->kind = kind;
    v->batched = batched;
    v->producer = -1;
    v->alias_of = -1;
    int k = 0;
    if (batched) v->shape[k++] = g->batch;
    v->sample_numel = 1;
    for (int i = 0; i < ndim; i++) {
        v->shape[k++] = shape[i];
        v->sample_numel *= shape[i];
    }
    v->ndim = k;
    return g->nvars++;
}

static bool valid(const cx_graph *g, cx_var v) { return v >= 0 && v < g->nvars; }

static cx_var find_by_name(const cx_graph *g, const char *name) {
    for (int i = 0; i < g->nvars; i++)
        if ((g->vars[i].kind == CX_VAR_PARAM || g->vars[i].kind == CX_VAR_BUFFER) && !strcmp(g->vars[i].name, name))
            return i;
    return -1;
}

cx_var cx_graph_input(cx_graph *g, const char *name, int ndim, const int64_t *shape, bool requires_grad) {
    if (ndim < 0 || ndim >= CX_MAX_DIMS) return fail(g, "input %s: %d dims", name, ndim);
    cx_var v = new_var(g, name, CX_VAR_INPUT, ndim, shape, true);
    g->vars[v].requires_grad = requires_grad;
    return v;
}

static cx_var state_var(cx_graph *g, const char *name, cx_var_kind kind, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > CX_MAX_DIMS) return fail(g, "%s: %d dims", name, ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1) return fail(g, "%s: dim %d is %lld", name, i, (long long)shape[i]);
    cx_var v = new_var(g, name, kind, ndim, shape, false);
    if (find_by_name(g, g->vars[v].name) != v) {
        g->nvars--;
        return fail(g, "%s: name used twice", name);
    }
    return v;
}

cx_var cx_graph_param(cx_graph *g, const char *name, int ndim, const int64_t *shape, cx_init init) {
    cx_var v = state_var(g, name, CX_VAR_PARAM, ndim, shape);
    if (v >= 0) {
        g->vars[v].init = init;
        g->vars[v].requires_grad = true;
    }
    return v;
}

cx_var cx_graph_buffer(cx_graph *g, const char *name, int ndim, const int64_t *shape, float value) {
    cx_var v = state_var(g, name, CX_VAR_BUFFER, ndim, shape);
    if (v >= 0) g->vars[v].init_value = value;
    return v;
}

static op *new_op(cx_graph *g, op_type type, const cx_var *in, int nin, int nout) {
    if (g->nops == g->capops) {
        g->capops = g->capops ? 2 * g->capops : 256;
        g->ops = cx_realloc(g->ops, (size_t)g->capops * sizeof *g->ops);
    }
    op *o = &g->ops[g->nops];
    memset(o, 0, sizeof *o);
    o->type = type;
    o->nin = nin;
    o->nout = nout;
    o->in = cx_malloc((size_t)nin * sizeof *o->in);
    memcpy(o->in, in, (size_t)nin * sizeof *in);
    o->out = cx_malloc((size_t)(nout ? nout : 1) * sizeof *o->out);
    return o;
}

/* The activation an op writes: batched, shape without the batch dim. */
static cx_var add_output(cx_graph *g, op *o, int k, int ndim, const int64_t *sample_shape) {
    char name[640];
    snprintf(name, sizeof name, "%s%s%s#%d", g->scope, g->scope[0] ? "/" : "", op_names[o->type], g->nops);
    cx_var v = new_var(g, name, CX_VAR_ACT, ndim, sample_shape, true);
    var *x = &g->vars[v];
    x->producer = g->nops;
    for (int i = 0; i < o->nin; i++)
        if (o->in[i] >= 0) x->requires_grad |= g->vars[o->in[i]].requires_grad;
    o->out[k] = v;
    return v;
}

/* Shapes as ints for the op descriptors. */
#define DIM(v, i) ((int)g->vars[v].shape[i])

/* (Re)compute an op's descriptor from its inputs' current shapes: at build time and whenever
 * the batch changes. Returns 0 or an error code (recorded). */
static int configure(cx_graph *g, op *o) {
    int n = g->batch;
    cx_var x = o->in[0];
    switch (o->type) {
    case OP_CONV2D: {
        cx_conv2d_desc *d = &o->u.conv;
        d->batch = n;
        d->in_channels = DIM(x, 1);
        d->in_h = DIM(x, 2);
        d->in_w = DIM(x, 3);
        if (cx_conv2d_setup(d)) return cx_errcode();
        o->work_bytes = cx_conv2d_workspace_bytes(d);
        return 0;
    }
    case OP_CONV_TRANSPOSE2D: {
        cx_conv_transpose2d_desc *d = &o->u.convt;
        d->batch = n;
        d->in_channels = DIM(x, 1);
        d->in_h = DIM(x, 2);
        d->in_w = DIM(x, 3);
        if (cx_conv_transpose2d_setup(d)) return cx_errcode();
        o->work_bytes = cx_conv_transpose2d_workspace_bytes(d);
        return 0;
    }
    case OP_BATCHNORM: {
        cx_batchnorm2d_desc *d = &o->u.bn.d;
        d->batch = n;
        d->channels = DIM(x, 1);
        d->height = g->vars[x].ndim > 2 ? DIM(x, 2) : 1;
        d->width = g->vars[x].ndim > 3 ? DIM(x, 3) : 1;
        o->saved_bytes = 2 * (size_t)d->channels * sizeof(float);
        return cx_batchnorm2d_setup(d);
    }
    case OP_MAXPOOL:
    case OP_AVGPOOL: {
        cx_pool2d_desc *d = &o->u.pool;
        d->batch = n;
        d->channels = DIM(x, 1);
        d->in_h = DIM(x, 2);
        d->in_w = DIM(x, 3);
        if (cx_pool2d_setup(d)) return cx_errcode();
        if (o->type == OP_MAXPOOL)   /* argmax at the largest batch: sized once */
            o->saved_bytes = (size_t)g->max_batch * (size_t)d->channels * (size_t)d->out_h * (size_t)d->out_w * sizeof(int32_t);
        return 0;
    }
    case OP_ADAPTIVE_AVGPOOL: {
        cx_adaptive_pool2d_desc *d = &o->u.apool;
        d->batch = n;
        d->channels = DIM(x, 1);
        d->in_h = DIM(x, 2);
        d->in_w = DIM(x, 3);
        return cx_adaptive_pool2d_setup(d);
    }
    case OP_UPSAMPLE: {
        cx_upsample2d_desc *d = &o->u.up;
        d->batch = n;
        d->channels = DIM(x, 1);
        d->in_h = DIM(x, 2);
        d->in_w = DIM(x, 3);
        return cx_upsample2d_setup(d);
    }
    case OP_ADD:
    case OP_MUL: {
        cx_broadcast_desc *d = &o->u.bc;
        const var *a = &g->vars[o->in[0]], *b = &g->vars[o->in[1]];
        d->ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
        /* align trailing dims; a parameter without a batch dim gets leading ones */
        for (int i = 0; i < d->ndim; i++) {
            int ia = i - (d->ndim - a->ndim), ib = i - (d->ndim - b->ndim);
            d->a_shape[i] = ia >= 0 ? a->shape[ia] : 1;
            d->b_shape[i] = ib >= 0 ? b->shape[ib] : 1;
        }
        int64_t y[CX_MAX_DIMS];
        return cx_broadcast_shape(d, y);
    }
    case OP_CONCAT:
    case OP_CHUNK: {
        cx_channels_desc *d = &o->u.ch.d;
        d->n = n;
        d->hw = g->vars[x].sample_numel / g->vars[x].shape[1];
        return 0;
    }
    case OP_SHUFFLE:
        o->u.shuf.n = n;
        o->u.shuf.c = g->vars[x].shape[1];
        o->u.shuf.hw = g->vars[x].sample_numel / g->vars[x].shape[1];
        return cx_shuffle_check(&o->u.shuf);
    case OP_LINEAR:
        o->u.lin.n = n;
        return 0;
    case OP_SOFTMAX:
        return cx_softmax_desc_make(&o->u.sm.d, g->vars[x].ndim, g->vars[x].shape, o->u.sm.axis);
    case OP_DROPOUT:   /* the mask is sized once, for the largest batch */
        o->u.drop.n = (int64_t)n * g->vars[x].sample_numel;
        o->saved_bytes = (size_t)g->max_batch * (size_t)g->vars[x].sample_numel;
        return 0;
    case OP_DROP_PATH:
        o->u.path.n = n;
        o->u.path.sample = g->vars[x].sample_numel;
        o->saved_bytes = (size_t)g->max_batch;
        return 0;
    case OP_TASK_ATTENTION: {   /* the saved scales are sized once, for the largest batch */
        o->u.att.n = n;
        cx_task_attention_desc largest = o->u.att;
        largest.n = g->max_batch;
        o->saved_bytes = cx_task_attention_saved_bytes(&largest);
        o->work_bytes = cx_task_attention_workspace_bytes(&o->u.att);
        return 0;
    }
    case OP_ACT:
    case OP_NTYPES:
        return 0;
    }
    return 0;
}

/* Finish an op whose descriptor the builder filled: configure it, make its single output. */
static cx_var finish(cx_graph *g, op *o, int ndim, const int64_t *sample_shape) {
    if (configure(g, o)) return fail(g, "%s: %s", op_names[o->type], cx_errmsg());
    cx_var y = add_output(g, o, 0, ndim, sample_shape);
    g->nops++;
    return y;
}

static bool check_inputs(cx_graph *g, const cx_var *in, int n, const char *what) {
    if (g->failed) return false;
    for (int i = 0; i < n; i++)
        if (!valid(g, in[i])) {
            fail(g, "%s: input %d is not a variable", what, i);
            return false;
        }
    return true;
}

static bool is_nchw(cx_graph *g, cx_var x, const char *what) {
    if (g->vars[x].ndim != 4 || !g->vars[x].batched) {
        fail(g, "%s: input %s is not [N, C, H, W]", what, g->vars[x].name);
        return false;
    }
    return true;
}

static bool param_shape(cx_graph *g, cx_var p, int ndim, const int64_t *want, const char *what) {
    const var *v = &g->vars[p];
    bool ok = v->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = v->shape[i] == want[i];
    if (!ok) {
        char have[160], need[160];
        cx_shape_format(have, sizeof have, v->ndim, v->shape);
        cx_shape_format(need, sizeof need, ndim, want);
        fail(g, "%s: %s has shape %s, %s wanted", what, v->name, have, need);
    }
    return ok;
}

cx_var cx_graph_conv2d(cx_graph *g, cx_var x, cx_var w, cx_var b, int stride_h, int stride_w, const int pad[4],
                       int dilation, int groups) {
    cx_var in[3] = {x, w, b};
    if (!check_inputs(g, in, b >= 0 ? 3 : 2, "conv2d") || !is_nchw(g, x, "conv2d")) return -1;
    const var *wv = &g->vars[w];
    if (wv->ndim != 4) return fail(g, "conv2d: weight %s is not 4-D", wv->name);
    int64_t want[4] = {wv->shape[0], groups > 0 ? g->vars[x].shape[1] / groups : 0, wv->shape[2], wv->shape[3]};
    if (!param_shape(g, w, 4, want, "conv2d")) return -1;
    if (b >= 0 && !param_shape(g, b, 1, want, "conv2d bias")) return -1;
    op *o = new_op(g, OP_CONV2D, in, b >= 0 ? 3 : 2, 1);
    cx_conv2d_desc *d = &o->u.conv;
    d->out_channels = (int)wv->shape[0];
    d->kernel_h = (int)wv->shape[2];
    d->kernel_w = (int)wv->shape[3];
    d->stride_h = stride_h;
    d->stride_w = stride_w;
    d->dilation_h = d->dilation_w = dilation;
    d->pad_top = pad[0];
    d->pad_left = pad[1];
    d->pad_bottom = pad[2];
    d->pad_right = pad[3];
    d->groups = groups;
    if (configure(g, o)) return fail(g, "conv2d: %s", cx_errmsg());
    int64_t shape[3] = {d->out_channels, d->out_h, d->out_w};
    return finish(g, o, 3, shape);
}

cx_var cx_graph_conv_transpose2d(cx_graph *g, cx_var x, cx_var w, cx_var b, int stride, int pad, int output_pad) {
    cx_var in[3] = {x, w, b};
    if (!check_inputs(g, in, b >= 0 ? 3 : 2, "conv_transpose2d") || !is_nchw(g, x, "conv_transpose2d")) return -1;
    const var *wv = &g->vars[w];
    if (wv->ndim != 4 || wv->shape[0] != g->vars[x].shape[1])
        return fail(g, "conv_transpose2d: weight %s is not [%lld, out, kh, kw]", wv->name, (long long)g->vars[x].shape[1]);
    int64_t bshape[1] = {wv->shape[1]};
    if (b >= 0 && !param_shape(g, b, 1, bshape, "conv_transpose2d bias")) return -1;
    op *o = new_op(g, OP_CONV_TRANSPOSE2D, in, b >= 0 ? 3 : 2, 1);
    cx_conv_transpose2d_desc *d = &o->u.convt;
    d->out_channels = (int)wv->shape[1];
    d->kernel_h = (int)wv->shape[2];
    d->kernel_w = (int)wv->shape[3];
    d->stride_h = d->stride_w = stride;
    d->dilation_h = d->dilation_w = 1;
    d->pad_h = d->pad_w = pad;
    d->output_pad_h = d->output_pad_w = output_pad;
    if (configure(g, o)) return fail(g, "conv_transpose2d: %s", cx_errmsg());
    int64_t shape[3] = {d->out_channels, d->out_h, d->out_w};
    return finish(g, o, 3, shape);
}

cx_var cx_graph_batchnorm(cx_graph *g, cx_var x, cx_var weight, cx_var bias, cx_var running_mean,
                          cx_var running_var, double eps, double momentum) {
    cx_var in[5] = {x, running_mean, running_var, weight, bias};
    if (!check_inputs(g, in, 3, "batchnorm") || (weight >= 0 && !valid(g, weight)) || (bias >= 0 && !valid(g, bias)))
        return fail(g, "batchnorm: bad input");
    const var *xv = &g->vars[x];
    if (xv->ndim < 2 || xv->ndim > 4) return fail(g, "batchnorm: input %s is not [N, C(, H, W)]", xv->name);
    int64_t c[1] = {xv->shape[1]};
    for (int i = 1; i < 5; i++)
        if (in[i] >= 0 && !param_shape(g, in[i], 1, c, "batchnorm")) return -1;
    op *o = new_op(g, OP_BATCHNORM, in, 5, 1);
    o->u.bn.d.eps = eps;
    o->u.bn.d.momentum = momentum;
    return finish(g, o, xv->ndim - 1, xv->shape + 1);
}

cx_var cx_graph_act(cx_graph *g, cx_var x, cx_act act) {
    if (!check_inputs(g, &x, 1, "act")) return -1;
    op *o = new_op(g, OP_ACT, &x, 1, 1);
    o->u.act = act;
    return finish(g, o, g->vars[x].ndim - 1, g->vars[x].shape + 1);
}

static cx_var pool(cx_graph *g, op_type type, cx_var x, int kernel, int stride, int pad, bool ceil_mode,
                   bool count_include_pad) {
    if (!check_inputs(g, &x, 1, op_names[type]) || !is_nchw(g, x, op_names[type])) return -1;
    op *o = new_op(g, type, &x, 1, 1);
    cx_pool2d_desc *d = &o->u.pool;
    d->kernel_h = d->kernel_w = kernel;
    d->stride_h = d->stride_w = stride;
    d->pad_h = d->pad_w = pad;
    d->ceil_mode = ceil_mode;
    d->count_include_pad = count_include_pad;
    if (configure(g, o)) return fail(g, "%s: %s", op_names[type], cx_errmsg());
    int64_t shape[3] = {d->channels, d->out_h, d->out_w};
    return finish(g, o, 3, shape);
}

cx_var cx_graph_maxpool(cx_graph *g, cx_var x, int kernel, int stride, int pad, bool ceil_mode) {
    return pool(g, OP_MAXPOOL, x, kernel, stride, pad, ceil_mode, false);
}

cx_var cx_graph_avgpool(cx_graph *g, cx_var x, int kernel, int stride, int pad, bool ceil_mode, bool count_include_pad) {
    return pool(g, OP_AVGPOOL, x, kernel, stride, pad, ceil_mode, count_include_pad);
}

cx_var cx_graph_adaptive_avgpool(cx_graph *g, cx_var x, int out_h, int out_w) {
    if (!check_inputs(g, &x, 1, "adaptive_avgpool") || !is_nchw(g, x, "adaptive_avgpool")) return -1;
    op *o = new_op(g, OP_ADAPTIVE_AVGPOOL, &x, 1, 1);
    o->u.apool.out_h = out_h;
    o->u.apool.out_w = out_w;
    int64_t shape[3] = {g->vars[x].shape[1], out_h, out_w};
    return finish(g, o, 3, shape);
}

cx_var cx_graph_upsample(cx_graph *g, cx_var x, int out_h, int out_w, cx_upsample_mode mode, bool align_corners) {
    if (!check_inputs(g, &x, 1, "upsample") || !is_nchw(g, x, "upsample")) return -1;
    op *o = new_op(g, OP_UPSAMPLE, &x, 1, 1);
    o->u.up.out_h = out_h;
    o->u.up.out_w = out_w;
    o->u.up.mode = mode;
    o->u.up.align_corners = align_corners;
    int64_t shape[3] = {g->vars[x].shape[1], out_h, out_w};
    return finish(g, o, 3, shape);
}

static cx_var binary(cx_graph *g, op_type type, cx_var a, cx_var b) {
    cx_var in[2] = {a, b};
    if (!check_inputs(g, in, 2, op_names[type])) return -1;
    op *o = new_op(g, type, in, 2, 1);
    if (configure(g, o)) return fail(g, "%s: %s", op_names[type], cx_errmsg());
    int64_t y[CX_MAX_DIMS];
    cx_broadcast_shape(&o->u.bc, y);
    if (y[0] != g->batch) return fail(g, "%s: the result is not batched", op_names[type]);
    return finish(g, o, o->u.bc.ndim - 1, y + 1);
}

cx_var cx_graph_add(cx_graph *g, cx_var a, cx_var b) { return binary(g, OP_ADD, a, b); }
cx_var cx_graph_mul(cx_graph *g, cx_var a, cx_var b) { return binary(g, OP_MUL, a, b); }

cx_var cx_graph_concat(cx_graph *g, const cx_var *xs, int n) {
    if (n < 1 || !check_inputs(g, xs, n, "concat")) return fail(g, "concat: no inputs");
    const var *first = &g->vars[xs[0]];
    int64_t *channels = cx_malloc((size_t)n * sizeof *channels), total = 0;
    for (int i = 0; i < n; i++) {
        const var *v = &g->vars[xs[i]];
        bool same = v->batched && v->ndim == first->ndim && v->ndim >= 2;
        for (int k = 2; same && k < v->ndim; k++) same = v->shape[k] == first->shape[k];
        if (!same) {
            free(channels);
            return fail(g, "concat: %s and %s differ outside the channel dim", first->name, v->name);
        }
        channels[i] = v->shape[1];
        total += channels[i];
    }
    op *o = new_op(g, OP_CONCAT, xs, n, 1);
    o->u.ch.channels = channels;
    o->u.ch.d.parts = n;
    o->u.ch.d.channels = channels;
    int64_t shape[CX_MAX_DIMS];
    memcpy(shape, first->shape + 1, (size_t)(first->ndim - 1) * sizeof *shape);
    shape[0] = total;
    return finish(g, o, first->ndim - 1, shape);
}

int cx_graph_chunk(cx_graph *g, cx_var x, int n, cx_var *out) {
    if (!check_inputs(g, &x, 1, "chunk")) return -1;
    const var *xv = &g->vars[x];
    if (xv->ndim < 2) return fail(g, "chunk: %s has no channel dim", xv->name);
    int64_t *channels = cx_malloc((size_t)n * sizeof *channels);
    int parts = cx_chunk_channels(xv->shape[1], n, channels);
    if (parts != n) {
        free(channels);
        return fail(g, "chunk: %lld channels do not split into %d chunks", (long long)xv->shape[1], n);
    }
    op *o = new_op(g, OP_CHUNK, &x, 1, n);
    o->u.ch.channels = channels;
    o->u.ch.d.parts = n;
    o->u.ch.d.channels = channels;
    configure(g, o);
    int64_t shape[CX_MAX_DIMS];
    memcpy(shape, xv->shape + 1, (size_t)(xv->ndim - 1) * sizeof *shape);
    int ndim = xv->ndim - 1;
    for (int k = 0; k < n; k++) {
        shape[0] = channels[k];
        out[k] = add_output(g, o, k, ndim, shape);
    }
    g->nops++;
    return 0;
}

cx_var cx_graph_channel_shuffle(cx_graph *g, cx_var x, int groups) {
    if (!check_inputs(g, &x, 1, "channel_shuffle")) return -1;
    op *o = new_op(g, OP_SHUFFLE, &x, 1, 1);
    o->u.shuf.groups = groups;
    return finish(g, o, g->vars[x].ndim - 1, g->vars[x].shape + 1);
}

cx_var cx_graph_flatten(cx_graph *g, cx_var x) {
    if (!check_inputs(g, &x, 1, "flatten")) return -1;
    var xv = g->vars[x];
    int64_t n = xv.sample_numel;
    char name[640];
    snprintf(name, sizeof name, "%s/flatten", xv.name);
    cx_var y = new_var(g, name, CX_VAR_ACT, 1, &n, true);
    var *yv = &g->vars[y];
    yv->alias_of = xv.alias_of >= 0 ? xv.alias_of : x;
    yv->requires_grad = xv.requires_grad;
    yv->producer = xv.producer;
    return y;
}

cx_var cx_graph_linear(cx_graph *g, cx_var x, cx_var w, cx_var b) {
    cx_var in[3] = {x, w, b};
    if (!check_inputs(g, in, b >= 0 ? 3 : 2, "linear")) return -1;
    const var *xv = &g->vars[x], *wv = &g->vars[w];
    if (xv->ndim != 2) return fail(g, "linear: input %s is not [N, features] (flatten it)", xv->name);
    int64_t want[2] = {wv->ndim == 2 ? wv->shape[0] : 0, xv->shape[1]};
    if (!param_shape(g, w, 2, want, "linear")) return -1;
    if (b >= 0 && !param_shape(g, b, 1, want, "linear bias")) return -1;
    op *o = new_op(g, OP_LINEAR, in, b >= 0 ? 3 : 2, 1);
    o->u.lin.in = want[1];
    o->u.lin.out = want[0];
    return finish(g, o, 1, want);
}

cx_var cx_graph_softmax(cx_graph *g, cx_var x, int axis, bool log) {
    if (!check_inputs(g, &x, 1, "softmax")) return -1;
    if (axis < 1 || axis >= g->vars[x].ndim) return fail(g, "softmax: axis %d of %d dims (0 is the batch)", axis, g->vars[x].ndim);
    op *o = new_op(g, OP_SOFTMAX, &x, 1, 1);
    o->u.sm.axis = axis;
    o->u.sm.log = log;
    return finish(g, o, g->vars[x].ndim - 1, g->vars[x].shape + 1);
}

/* Each dropout layer draws from its own stream: the run's seed mixed with the op's index. */
cx_var cx_graph_dropout(cx_graph *g, cx_var x, double p) {
    if (!check_inputs(g, &x, 1, "dropout")) return -1;
    if (!(p >= 0 && p <= 1)) return fail(g, "dropout: p = %g is not a probability", p);
    op *o = new_op(g, OP_DROPOUT, &x, 1, 1);
    o->u.drop.p = (float)p;
    return finish(g, o, g->vars[x].ndim - 1, g->vars[x].shape + 1);
}

cx_var cx_graph_drop_path(cx_graph *g, cx_var x, double p) {
    if (!check_inputs(g, &x, 1, "drop_path")) return -1;
    if (!(p >= 0 && p <= 1)) return fail(g, "drop_path: p = %g is not a probability", p);
    op *o = new_op(g, OP_DROP_PATH, &x, 1, 1);
    o->u.path.p = (float)p;
    return finish(g, o, g->vars[x].ndim - 1, g->vars[x].shape + 1);
}

/* Two outputs: W V (first) and the attention W (second, through *attention). */
cx_var cx_graph_task_attention(cx_graph *g, cx_var q, cx_var k, cx_var v, double alpha, cx_var *attention) {
    cx_var in[3] = {q, k, v};
    *attention = -1;
    if (!check_inputs(g, in, 3, "task_attention")) return -1;
    const var *qv = &g->vars[q];
    if (qv->batched || qv->ndim != 2) return fail(g, "task_attention: query %s is not [tasks, dim]", qv->name);
    int64_t tasks = qv->shape[0], dim = qv->shape[1];
    for (int i = 1; i < 3; i++)
        if (!g->vars[in[i]].batched || g->vars[in[i]].sample_numel != tasks * dim)
            return fail(g, "task_attention: %s is not [N, %lld, %lld]", g->vars[in[i]].name, (long long)tasks,
                        (long long)dim);
    op *o = new_op(g, OP_TASK_ATTENTION, in, 3, 2);
    o->u.att.tasks = (int)tasks;
    o->u.att.dim = (int)dim;
    o->u.att.alpha = (float)alpha;
    configure(g, o);
    int64_t out_shape[2] = {tasks, dim}, w_shape[2] = {tasks, tasks};
    cx_var y = add_output(g, o, 0, 2, out_shape);
    *attention = add_output(g, o, 1, 2, w_shape);
    g->nops++;
    return y;
}

void cx_graph_output(cx_graph *g, cx_var v) {
    if (valid(g, v)) g->vars[v].is_output = true;
}

/* ------------------------------------------------------------------ planning */

static cx_var root(const cx_graph *g, cx_var v) { return g->vars[v].alias_of >= 0 ? g->vars[v].alias_of : v; }
static bool planned_kind(const var *v) { return v->kind == CX_VAR_INPUT || v->kind == CX_VAR_ACT; }

/* Does op o's backward read input k's value, or its own output's? */
static bool backward_reads_input(const cx_graph *g, const op *o, int k) {
    switch (o->type) {
    case OP_CONV2D:
    case OP_CONV_TRANSPOSE2D:
    case OP_LINEAR:
    case OP_MUL:
    case OP_TASK_ATTENTION: return true;
    case OP_BATCHNORM: return k == 0 || k >= 3 || g->mode == CX_MODE_EVAL;
    case OP_ACT: return cx_act_backward_needs_input(o->u.act);
    default: return false;
    }
}

static bool backward_reads_output(const op *o) {
    return (o->type == OP_ACT && !cx_act_backward_needs_input(o->u.act)) || o->type == OP_SOFTMAX ||
           o->type == OP_TASK_ATTENTION;
}

typedef struct { size_t bytes, at; int start, end; cx_var v; bool grad; } slot;

static int by_size_desc(const void *a, const void *b) {
    const slot *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : x->v - y->v;
}

static int by_offset(const void *a, const void *b) {
    const slot *const *x = a, *const *y = b;
    return (*x)->at < (*y)->at ? -1 : (*x)->at > (*y)->at;
}

/* Greedy packing of lifetimes: biggest first, each at the lowest offset that does not
 * collide with an already placed slot alive at an overlapping time. */
static size_t pack(slot *s, int n) {
    qsort(s, (size_t)n, sizeof *s, by_size_desc);
    slot **live = cx_malloc((size_t)(n ? n : 1) * sizeof *live);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        int nl = 0;
        for (int j = 0; j < i; j++)
            if (s[j].start <= s[i].end && s[i].start <= s[j].end) live[nl++] = &s[j];
        qsort(live, (size_t)nl, sizeof *live, by_offset);
        size_t at = 0;
        for (int j = 0; j < nl; j++) {
            if (live[j]->at >= at + s[i].bytes) break;
            if (live[j]->at + live[j]->bytes > at) at = live[j]->at + live[j]->bytes;
        }
        s[i].at = at;
        if (at + s[i].bytes > total) total = at + s[i].bytes;
    }
    free(live);
    return total;
}

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

void cx_graph_alloc_state(cx_graph *g) {
    if (g->params || g->buffers) return;   /* parameters keep their values across plans */
    size_t np = 0, nb = 0;
    for (int i = 0; i < g->nvars; i++) {
        var *v = &g->vars[i];
        size_t padded = round64((size_t)v->sample_numel * sizeof(float)) / sizeof(float);
        if (v->kind == CX_VAR_PARAM) { v->offset = np; np += padded; }
        if (v->kind == CX_VAR_BUFFER) { v->offset = nb; nb += padded; }
    }
    g->nparams = np;
    g->nbuffers = nb;
    g->params = cx_aligned_alloc(np * sizeof(float));
    g->grads = cx_aligned_alloc(np * sizeof(float));
    g->buffers = cx_aligned_alloc(nb * sizeof(float));
    memset(g->params, 0, np * sizeof(float));
    memset(g->grads, 0, np * sizeof(float));
    memset(g->buffers, 0, nb * sizeof(float));
}

int cx_graph_plan(cx_graph *g, cx_mode mode) {
    if (g->failed) return cx_err(EX_SOFTWARE, "graph: cannot plan a graph whose building failed");
    g->mode = mode;
    bool train = mode == CX_MODE_TRAIN;
    int n = g->nops, end_of_time = 2 * n + 2;
    /* steps: inputs written at 0, op i forward at 1+i, the user writes output grads at n+1,
     * op i backward at 2n+1-i */
#define FWD(i) (1 + (i))
#define BWD(i) (2 * n + 1 - (i))
    for (int i = 0; i < g->nvars; i++) {
        var *v = &g->vars[i];
        v->has_data = v->has_grad = false;
        v->data_start = v->producer >= 0 ? FWD(v->producer) : 0;
        v->data_end = v->data_start;
        v->grad_start = end_of_time;
        v->grad_end = -1;
    }
    for (int i = 0; i < g->nvars; i++) {
        var *v = &g->vars[i];
        if (!planned_kind(v)) continue;
        var *r = &g->vars[root(g, i)];
        if (v->is_output) {
            r->data_end = end_of_time;
            if (train && v->requires_grad) r->grad_start = n + 1;
        }
        if (v->kind == CX_VAR_INPUT && v->requires_grad && train) r->grad_end = end_of_time;
    }
    for (int i = 0; i < n; i++) {
        op *o = &g->ops[i];
        for (int k = 0; k < o->nin; k++) {
            if (o->in[k] < 0 || !planned_kind(&g->vars[o->in[k]])) continue;
            var *r = &g->vars[root(g, o->in[k])];
            if (FWD(i) > r->data_end) r->data_end = FWD(i);
            if (train && backward_reads_input(g, o, k) && BWD(i) > r->data_end) r->data_end = BWD(i);
            if (train && r->requires_grad && BWD(i) < r->grad_start) r->grad_start = BWD(i);
        }
    }
    /* a second pass: an output's gradient start is known only once all its consumers are seen */
    for (int i = 0; i < n; i++) {
        op *o = &g->ops[i];
        for (int k = 0; k < o->nout; k++) {
            var *y = &g->vars[o->out[k]];
            if (train && backward_reads_output(o) && BWD(i) > y->data_end) y->data_end = BWD(i);
            if (train && y->requires_grad && y->grad_start <= BWD(i)) y->grad_end = BWD(i);
        }
    }
    /* the batch currently set need not be the largest: plan for max_batch */
    slot *s = cx_malloc((size_t)(2 * g->nvars + 1) * sizeof *s);
    int ns = 0;
    g->arena_sum_bytes = 0;
    for (int i = 0; i < g->nvars; i++) {
        var *v = &g->vars[i];
        if (!planned_kind(v) || v->alias_of >= 0) continue;
        size_t bytes = round64((size_t)g->max_batch * (size_t)v->sample_numel * sizeof(float));
        s[ns++] = (slot){bytes, 0, v->data_start, v->data_end, i, false};
        v->has_data = true;
        if (train && v->requires_grad && v->grad_end >= v->grad_start) {
            s[ns++] = (slot){bytes, 0, v->grad_start, v->grad_end, i, true};
            v->has_grad = true;
        }
    }
    for (int i = 0; i < ns; i++) g->arena_sum_bytes += s[i].bytes;
    size_t total = pack(s, ns);
    for (int i = 0; i < ns; i++) {
        if (s[i].grad) g->vars[s[i].v].grad_at = s[i].at;
        else g->vars[s[i].v].data_at = s[i].at;
    }
    free(s);
    free(g->arena);
    g->arena_bytes = total;
    g->arena = cx_aligned_alloc(total ? total : 64);
    memset(g->arena, 0, total);
    cx_graph_alloc_state(g);
    g->work_bytes = 0;
    int saved_batch = g->batch;
    cx_graph_set_batch(g, g->max_batch);   /* largest workspace and saved state */
    for (int i = 0; i < n; i++) {
        op *o = &g->ops[i];
        if (o->work_bytes > g->work_bytes) g->work_bytes = o->work_bytes;
        free(o->saved);
        o->saved = o->saved_bytes ? cx_aligned_alloc(o->saved_bytes) : NULL;
    }
    cx_graph_set_batch(g, saved_batch);
    free(g->work);
    g->work = cx_aligned_alloc(g->work_bytes ? g->work_bytes : 64);
    g->planned = true;
    return 0;
#undef FWD
#undef BWD
}

/* ------------------------------------------------------------------ init */

static void fans(const var *v, double *fan_in, double *fan_out) {
    double receptive = 1;
    for (int i = 2; i < v->ndim; i++) receptive *= (double)v->shape[i];
    *fan_in = v->ndim >= 2 ? (double)v->shape[1] * receptive : (double)v->shape[0];
    *fan_out = (double)v->shape[0] * receptive;
}

void cx_graph_init(cx_graph *g, uint64_t seed) {
    cx_graph_alloc_state(g);
    for (int i = 0; i < g->nvars; i++) {
        var *v = &g->vars[i];
        if (v->kind == CX_VAR_BUFFER) {
            float *p = g->buffers + v->offset;
            for (int64_t k = 0; k < v->sample_numel; k++) p[k] = v->init_value;
            continue;
        }
        if (v->kind != CX_VAR_PARAM) continue;
        float *p = g->params + v->offset;
        cx_rng r = cx_rng_split(seed, (uint64_t)i);
        double fan_in, fan_out;
        fans(v, &fan_in, &fan_out);
        /* a bias's fan-in is its layer's: PyTorch bounds it by 1/sqrt(fan_in of the weight) */
        if (v->ndim == 1 && v->init == CX_INIT_UNIFORM_FAN_IN && i > 0 && g->vars[i - 1].kind == CX_VAR_PARAM &&
            g->vars[i - 1].ndim >= 2) {
            double wi, wo;
            fans(&g->vars[i - 1], &wi, &wo);
            fan_in = wi;
        }
        for (int64_t k = 0; k < v->sample_numel; k++) {
            double x = 0;
            switch (v->init) {
            case CX_INIT_ZERO: x = 0; break;
            case CX_INIT_ONE: x = 1; break;
            case CX_INIT_UNIFORM_FAN_IN: x = cx_rng_range(&r, -1, 1) / sqrt(fan_in); break;
            case CX_INIT_KAIMING_NORMAL_FAN_OUT: x = cx_rng_normal(&r) * sqrt(2.0 / fan_out); break;
            case CX_INIT_KAIMING_NORMAL_FAN_IN: x = cx_rng_normal(&r) * sqrt(2.0 / fan_in); break;
            case CX_INIT_XAVIER_UNIFORM: x = cx_rng_range(&r, -1, 1) * sqrt(6.0 / (fan_in + fan_out)); break;
            case CX_INIT_NORMAL_001: x = 0.01 * cx_rng_normal(&r); break;
            }
            p[k] = (float)x;
        }
    }
}

/* ------------------------------------------------------------------ running */

int cx_graph_set_batch(cx_graph *g, int batch) {
    if (batch < 1 || batch > g->max_batch)
        return cx_err(EX_SOFTWARE, "graph: batch %d outside 1..%d", batch, g->max_batch);
    g->batch = batch;
    for (int i = 0; i < g->nvars; i++)
        if (g->vars[i].batched) g->vars[i].shape[0] = batch;
    for (int i = 0; i < g->nops; i++)
        if (configure(g, &g->ops[i])) return cx_errcode();
    return 0;
}

int cx_graph_batch(const cx_graph *g) { return g->batch; }

float *cx_graph_data(const cx_graph *g, cx_var v) {
    if (!valid(g, v)) return NULL;
    const var *x = &g->vars[v];
    if (x->kind == CX_VAR_PARAM) return g->params ? g->params + x->offset : NULL;
    if (x->kind == CX_VAR_BUFFER) return g->buffers ? g->buffers + x->offset : NULL;
    const var *r = &g->vars[root(g, v)];
    return r->has_data ? (float *)(g->arena + r->data_at) : NULL;
}

float *cx_graph_grad(const cx_graph *g, cx_var v) {
    if (!valid(g, v)) return NULL;
    const var *x = &g->vars[v];
    if (x->kind == CX_VAR_PARAM) return g->grads ? g->grads + x->offset : NULL;
    if (x->kind == CX_VAR_BUFFER) return NULL;
    const var *r = &g->vars[root(g, v)];
    return r->has_grad ? (float *)(g->arena + r->grad_at) : NULL;
}

static float *in_data(const cx_graph *g, const op *o, int k) { return o->in[k] >= 0 ? cx_graph_data(g, o->in[k]) : NULL; }

/* The gradient buffer to add into for input k, or NULL when that input needs none. */
static float *in_grad(const cx_graph *g, const op *o, int k) {
    if (k >= o->nin || o->in[k] < 0 || !g->vars[o->in[k]].requires_grad) return NULL;
    return cx_graph_grad(g, o->in[k]);
}

static int forward_op(cx_graph *g, op *o) {
    bool train = g->mode == CX_MODE_TRAIN;
    float *y = cx_graph_data(g, o->out[0]), *x = in_data(g, o, 0);
    switch (o->type) {
    case OP_CONV2D: cx_conv2d_forward(&o->u.conv, y, x, in_data(g, o, 1), o->nin > 2 ? in_data(g, o, 2) : NULL, g->work); break;
    case OP_CONV_TRANSPOSE2D:
        cx_conv_transpose2d_forward(&o->u.convt, y, x, in_data(g, o, 1), o->nin > 2 ? in_data(g, o, 2) : NULL, g->work);
        break;
    case OP_BATCHNORM:
        if (train)
            return cx_batchnorm2d_forward_train(&o->u.bn.d, y, o->saved, in_data(g, o, 1), in_data(g, o, 2), x,
                                                in_data(g, o, 3), in_data(g, o, 4));
        cx_batchnorm2d_forward_eval(&o->u.bn.d, y, x, in_data(g, o, 3), in_data(g, o, 4), in_data(g, o, 1), in_data(g, o, 2));
        break;
    case OP_ACT: cx_act_forward(o->u.act, y, x, cx_graph_numel(g, o->out[0])); break;
    case OP_MAXPOOL: cx_maxpool2d_forward(&o->u.pool, y, o->saved, x); break;
    case OP_AVGPOOL: cx_avgpool2d_forward(&o->u.pool, y, x); break;
    case OP_ADAPTIVE_AVGPOOL: cx_adaptive_avgpool2d_forward(&o->u.apool, y, x); break;
    case OP_UPSAMPLE: cx_upsample2d_forward(&o->u.up, y, x); break;
    case OP_ADD: cx_add_forward(y, x, in_data(g, o, 1), &o->u.bc); break;
    case OP_MUL: cx_mul_forward(y, x, in_data(g, o, 1), &o->u.bc); break;
    case OP_CONCAT: {
        const float *xs[o->nin];
        for (int k = 0; k < o->nin; k++) xs[k] = in_data(g, o, k);
        cx_concat_forward(y, xs, &o->u.ch.d);
        break;
    }
    case OP_CHUNK: {
        float *ys[o->nout];
        for (int k = 0; k < o->nout; k++) ys[k] = cx_graph_data(g, o->out[k]);
        cx_split_forward(ys, x, &o->u.ch.d);
        break;
    }
    case OP_SHUFFLE: cx_channel_shuffle_forward(y, x, &o->u.shuf); break;
    case OP_LINEAR: cx_linear_forward(y, x, in_data(g, o, 1), o->nin > 2 ? in_data(g, o, 2) : NULL, &o->u.lin); break;
    case OP_SOFTMAX:
        if (o->u.sm.log) cx_log_softmax_forward(y, x, &o->u.sm.d);
        else cx_softmax_forward(y, x, &o->u.sm.d);
        break;
    case OP_DROPOUT:
        o->u.drop.training = train;
        cx_dropout_forward(y, o->saved, x, &o->u.drop);
        break;
    case OP_DROP_PATH:
        o->u.path.training = train;
        cx_drop_path_forward(y, o->saved, x, &o->u.path);
        break;
    case OP_TASK_ATTENTION:
        cx_task_attention_forward(&o->u.att, y, cx_graph_data(g, o->out[1]), o->saved, x, in_data(g, o, 1),
                                  in_data(g, o, 2), g->work);
        break;
    case OP_NTYPES: break;
    }
    return 0;
}

static void backward_op(cx_graph *g, op *o) {
    bool train = g->mode == CX_MODE_TRAIN;
    float *dy = cx_graph_grad(g, o->out[0]), *x = in_data(g, o, 0), *y = cx_graph_data(g, o->out[0]);
    float *dx = in_grad(g, o, 0);
    switch (o->type) {
    case OP_CONV2D:
        cx_conv2d_backward(&o->u.conv, dx, in_grad(g, o, 1), in_grad(g, o, 2), dy, x, in_data(g, o, 1), g->work);
        break;
    case OP_CONV_TRANSPOSE2D:
        cx_conv_transpose2d_backward(&o->u.convt, dx, in_grad(g, o, 1), in_grad(g, o, 2), dy, x, in_data(g, o, 1), g->work);
        break;
    case OP_BATCHNORM:
        if (train)
            cx_batchnorm2d_backward_train(&o->u.bn.d, dx, in_grad(g, o, 3), in_grad(g, o, 4), dy, x, in_data(g, o, 3), o->saved);
        else
            cx_batchnorm2d_backward_eval(&o->u.bn.d, dx, in_grad(g, o, 3), in_grad(g, o, 4), dy, x, in_data(g, o, 3),
                                         in_data(g, o, 1), in_data(g, o, 2));
        break;
    case OP_ACT:
        if (dx) cx_act_backward(o->u.act, dx, dy, x, y, cx_graph_numel(g, o->out[0]));
        break;
    case OP_MAXPOOL: if (dx) cx_maxpool2d_backward(&o->u.pool, dx, dy, o->saved); break;
    case OP_AVGPOOL: if (dx) cx_avgpool2d_backward(&o->u.pool, dx, dy); break;
    case OP_ADAPTIVE_AVGPOOL: if (dx) cx_adaptive_avgpool2d_backward(&o->u.apool, dx, dy); break;
    case OP_UPSAMPLE: if (dx) cx_upsample2d_backward(&o->u.up, dx, dy); break;
    case OP_ADD: cx_add_backward(dx, in_grad(g, o, 1), dy, &o->u.bc); break;
    case OP_MUL: cx_mul_backward(dx, in_grad(g, o, 1), dy, x, in_data(g, o, 1), &o->u.bc); break;
    case OP_CONCAT: {
        float *dxs[o->nin];
        for (int k = 0; k < o->nin; k++) dxs[k] = in_grad(g, o, k);
        cx_concat_backward(dxs, dy, &o->u.ch.d);
        break;
    }
    case OP_CHUNK: {
        const float *dys[o->nout];
        for (int k = 0; k < o->nout; k++) dys[k] = cx_graph_grad(g, o->out[k]);
        if (dx) cx_split_backward(dx, dys, &o->u.ch.d);
        break;
    }
    case OP_SHUFFLE: if (dx) cx_channel_shuffle_backward(dx, dy, &o->u.shuf); break;
    case OP_LINEAR:
        cx_linear_backward(dx, in_grad(g, o, 1), in_grad(g, o, 2), dy, x, in_data(g, o, 1), &o->u.lin);
        break;
    case OP_SOFTMAX:
        if (!dx) break;
        if (o->u.sm.log) cx_log_softmax_backward(dx, dy, y, &o->u.sm.d);
        else cx_softmax_backward(dx, dy, y, &o->u.sm.d);
        break;
    case OP_DROPOUT: if (dx) cx_dropout_backward(dx, dy, o->saved, &o->u.drop); break;
    case OP_DROP_PATH: if (dx) cx_drop_path_backward(dx, dy, o->saved, &o->u.path); break;
    case OP_TASK_ATTENTION:
        cx_task_attention_backward(&o->u.att, dx, in_grad(g, o, 1), in_grad(g, o, 2), dy, cx_graph_grad(g, o->out[1]), x,
                                   in_data(g, o, 1), in_data(g, o, 2), cx_graph_data(g, o->out[1]), o->saved, g->work);
        break;
    case OP_NTYPES: break;
    }
}

int cx_graph_forward(cx_graph *g, uint64_t seed, int64_t step) {
    if (!g->planned) return cx_err(EX_SOFTWARE, "graph: forward before cx_graph_plan");
    for (int i = 0; i < g->nops; i++) {
        op *o = &g->ops[i];
        if (o->type == OP_DROPOUT || o->type == OP_DROP_PATH) {
            cx_rng layer = cx_rng_split(seed, (uint64_t)i);
            uint64_t layer_seed = cx_rng_u64(&layer);
            if (o->type == OP_DROPOUT) { o->u.drop.seed = layer_seed; o->u.drop.step = (uint64_t)step; }
            else { o->u.path.seed = layer_seed; o->u.path.step = (uint64_t)step; }
        }
        int rc = forward_op(g, &g->ops[i]);
        if (rc) return cx_err_prefix("graph: %s #%d", op_names[g->ops[i].type], i);
    }
    return 0;
}

void cx_graph_zero_grad(cx_graph *g) {
    if (g->grads) memset(g->grads, 0, g->nparams * sizeof(float));
}

void cx_graph_backward(cx_graph *g) {
    if (!g->planned || g->mode != CX_MODE_TRAIN) cx_fatal(EX_SOFTWARE, "graph: backward needs a training plan");
    int n = g->nops;
    for (int i = n - 1; i >= 0; i--) {
        op *o = &g->ops[i];
        /* a gradient slot starts its life at its first writer's backward: zero it there */
        for (int k = 0; k < o->nin; k++) {
            if (o->in[k] < 0) continue;
            var *r = &g->vars[root(g, o->in[k])];
            if (planned_kind(r) && r->has_grad && r->grad_start == 2 * n + 1 - i)
                memset(g->arena + r->grad_at, 0, (size_t)g->batch * (size_t)r->sample_numel * sizeof(float));
        }
        /* An op whose outputs nothing reads (a branch that feeds no loss) passes no gradient on:
         * its inputs keep the zeros written above. */
        bool needed = false, flows = false;
        for (int k = 0; k < o->nin; k++) needed |= in_grad(g, o, k) != NULL;
        for (int k = 0; k < o->nout; k++) flows |= cx_graph_grad(g, o->out[k]) != NULL;
        if (needed && flows) backward_op(g, o);
    }
}

/* ------------------------------------------------------------------ access */

const char *cx_graph_name(const cx_graph *g, cx_var v) { return valid(g, v) ? g->vars[v].name : "?"; }
cx_var_kind cx_graph_kind(const cx_graph *g, cx_var v) { return g->vars[v].kind; }
int cx_graph_ndim(const cx_graph *g, cx_var v) { return g->vars[v].ndim; }
const int64_t *cx_graph_shape(const cx_graph *g, cx_var v) { return g->vars[v].shape; }
int cx_graph_nvars(const cx_graph *g) { return g->nvars; }

int64_t cx_graph_numel(const cx_graph *g, cx_var v) {
    const var *x = &g->vars[v];
    return x->batched ? (int64_t)g->batch * x->sample_numel : x->sample_numel;
}

cx_var cx_graph_find(const cx_graph *g, const char *name) { return find_by_name(g, name); }

float *cx_graph_params(const cx_graph *g, int64_t *n) {
    *n = (int64_t)g->nparams;
    return g->params;
}

float *cx_graph_param_grads(const cx_graph *g, int64_t *n) {
    *n = (int64_t)g->nparams;
    return g->grads;
}

float *cx_graph_buffers(const cx_graph *g, int64_t *n) {
    *n = (int64_t)g->nbuffers;
    return g->buffers;
}

int cx_graph_state_count(const cx_graph *g) {
    int n = 0;
    for (int i = 0; i < g->nvars; i++) n += g->vars[i].kind == CX_VAR_PARAM || g->vars[i].kind == CX_VAR_BUFFER;
    return n;
}

cx_var cx_graph_state_var(const cx_graph *g, int k) {
    for (int i = 0; i < g->nvars; i++)
        if ((g->vars[i].kind == CX_VAR_PARAM || g->vars[i].kind == CX_VAR_BUFFER) && k-- == 0) return i;
    return -1;
}

size_t cx_graph_activation_bytes(const cx_graph *g) { return g->arena_bytes; }

static void print_bytes(FILE *f, const char *what, double bytes) {
    fprintf(f, "  %-28s %10.2f MiB\n", what, bytes / (1 << 20));
}

void cx_graph_print_plan(const cx_graph *g, FILE *f, bool verbose) {
    int64_t params = 0, buffers = 0;
    size_t saved = 0;
    for (int i = 0; i < g->nvars; i++) {
        if (g->vars[i].kind == CX_VAR_PARAM) params += g->vars[i].sample_numel;
        if (g->vars[i].kind == CX_VAR_BUFFER) buffers += g->vars[i].sample_numel;
    }
    for (int i = 0; i < g->nops; i++) saved += g->ops[i].saved_bytes;
    fprintf(f, "memory plan (%s, batch %d, %d ops, %lld parameters):\n", g->mode == CX_MODE_TRAIN ? "training" : "inference",
            g->max_batch, g->nops, (long long)params);
    print_bytes(f, "parameters", (double)params * 4);
    if (g->mode == CX_MODE_TRAIN) print_bytes(f, "parameter gradients", (double)params * 4);
    print_bytes(f, "buffers", (double)buffers * 4);
    print_bytes(f, "activations (planned)", (double)g->arena_bytes);
    print_bytes(f, "activations (unplanned sum)", (double)g->arena_sum_bytes);
    print_bytes(f, "saved for backward", (double)saved);
    print_bytes(f, "workspace", (double)g->work_bytes);
    if (!verbose) return;
    for (int i = 0; i < g->nops; i++) {
        const op *o = &g->ops[i];
        const var *y = &g->vars[o->out[0]];
        char shape[160];
        cx_shape_format(shape, sizeof shape, y->ndim, y->shape);
        fprintf(f, "  #%-4d %-18s -> %-22s %s\n", i, op_names[o->type], shape, y->name);
    }
}
