/* Models as static graphs of the engine's ops.
 *
 * A model is built once, as a DAG of variables (inputs, parameters, buffers, activations) and
 * ops, in the order it runs. Forward runs the ops in that order; backward runs them in reverse,
 * each op ADDING into the gradients of its inputs. Shapes are fixed at build time for a maximum
 * batch; cx_graph_set_batch runs any smaller batch without rebuilding.
 *
 * Memory: parameters live in one contiguous arena and their gradients in another of the same
 * layout (so optimisers and checkpoints see flat arrays, as in llm.c); buffers (BatchNorm
 * running statistics) in a third. Activations and their gradients share one planned arena:
 * cx_graph_plan computes, for training or inference, when each is first written and last read,
 * and packs those lifetimes into as few bytes as it can, so what backward no longer needs is
 * reused, and inference keeps nothing it does not need. One workspace, the largest any op asks
 * for, is shared by all ops (they run one at a time).
 *
 * Names: every parameter and buffer has its dotted state_dict name (torchvision/timm style,
 * "layer1.0.conv1.weight"), so weights import and export by name. Builders push name scopes.
 */
#ifndef CX_NN_GRAPH_H
#define CX_NN_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/rng.h"
#include "nn/activation.h"
#include "nn/upsample.h"

typedef int cx_var;   /* a variable of a graph: an index, -1 for none */

typedef enum { CX_VAR_INPUT, CX_VAR_PARAM, CX_VAR_BUFFER, CX_VAR_ACT } cx_var_kind;

/* How a parameter is initialised by cx_graph_init (PyTorch's defaults are the usual choice). */
typedef enum {
    CX_INIT_ZERO,
    CX_INIT_ONE,
    CX_INIT_UNIFORM_FAN_IN,   /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)): nn.Conv2d / nn.Linear defaults */
    CX_INIT_KAIMING_NORMAL_FAN_OUT,   /* N(0, 2/fan_out): torchvision's ResNet convs */
    CX_INIT_KAIMING_NORMAL_FAN_IN,    /* N(0, 2/fan_in): torchvision's DenseNet convs */
    CX_INIT_XAVIER_UNIFORM,   /* U(-a, a), a = sqrt(6/(fan_in+fan_out)) */
    CX_INIT_NORMAL_001,       /* N(0, 0.01^2): torchvision's classifier weights */
} cx_init;

typedef enum { CX_MODE_TRAIN, CX_MODE_EVAL } cx_mode;

typedef struct cx_graph cx_graph;

cx_graph *cx_graph_new(int max_batch);
void cx_graph_free(cx_graph *g);

/* Name scopes: cx_graph_push(g, "layer1.0") makes the next parameter "conv1.weight" become
 * "layer1.0.conv1.weight". Pops must match pushes. */
void cx_graph_push(cx_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cx_graph_pop(cx_graph *g);

/* Variables. Shapes of inputs and activations exclude the batch dim (it is always first). */
cx_var cx_graph_input(cx_graph *g, const char *name, int ndim, const int64_t *shape, bool requires_grad);
cx_var cx_graph_param(cx_graph *g, const char *name, int ndim, const int64_t *shape, cx_init init);
cx_var cx_graph_buffer(cx_graph *g, const char *name, int ndim, const int64_t *shape, float value);

/* Ops: each returns its output variable, or -1 with EX_DATAERR recorded (a shape mismatch,
 * naming the op). An error stays recorded: builders may check once at the end, with
 * cx_graph_ok. Bias and affine arguments may be -1 for none. Padding is (top, left, bottom,
 * right). */
cx_var cx_graph_conv2d(cx_graph *g, cx_var x, cx_var w, cx_var b, int stride_h, int stride_w, const int pad[4],
                       int dilation, int groups);
cx_var cx_graph_conv_transpose2d(cx_graph *g, cx_var x, cx_var w, cx_var b, int stride, int pad, int output_pad);
cx_var cx_graph_batchnorm(cx_graph *g, cx_var x, cx_var weight, cx_var bias, cx_var running_mean,
                          cx_var running_var, double eps, double momentum);
cx_var cx_graph_act(cx_graph *g, cx_var x, cx_act act);
cx_var cx_graph_maxpool(cx_graph *g, cx_var x, int kernel, int stride, int pad, bool ceil_mode);
cx_var cx_graph_avgpool(cx_graph *g, cx_var x, int kernel, int stride, int pad, bool ceil_mode, bool count_include_pad);
cx_var cx_graph_adaptive_avgpool(cx_graph *g, cx_var x, int out_h, int out_w);
cx_var cx_graph_upsample(cx_graph *g, cx_var x, int out_h, int out_w, cx_upsample_mode mode, bool align_corners);
cx_var cx_graph_add(cx_graph *g, cx_var a, cx_var b);   /* with broadcasting of size-1 dims */
cx_var cx_graph_mul(cx_graph *g, cx_var a, cx_var b);
cx_var cx_graph_concat(cx_graph *g, const cx_var *xs, int n);   /* along channels */
/* Split along channels into n equal chunks (torch.chunk); out receives n variables. */
int cx_graph_chunk(cx_graph *g, cx_var x, int n, cx_var *out);
cx_var cx_graph_channel_shuffle(cx_graph *g, cx_var x, int groups);
cx_var cx_graph_flatten(cx_graph *g, cx_var x);            /* [N, ...] -> [N, prod(...)], no copy */
cx_var cx_graph_linear(cx_graph *g, cx_var x, cx_var w, cx_var b);
cx_var cx_graph_softmax(cx_graph *g, cx_var x, int axis, bool log);   /* axis counts the batch dim as 0 */
/* Inverted dropout and drop-path (per sample), identities in eval mode; masks from (seed, step). */
cx_var cx_graph_dropout(cx_graph *g, cx_var x, double p);
cx_var cx_graph_drop_path(cx_graph *g, cx_var x, double p);
/* M3H's cross-task attention (nn/attention.h): q a parameter [T, d] shared by the batch, k and v
 * [N, T, d] (or any [N, T*d] view). Returns W V [N, T, d] and sets *attention to W [N, T, T], a
 * second output of the op; mark it with cx_graph_output to read it after forward (then write
 * its gradient too: zeros when no loss uses it). */
cx_var cx_graph_task_attention(cx_graph *g, cx_var q, cx_var k, cx_var v, double alpha, cx_var *attention);

bool cx_graph_ok(const cx_graph *g);   /* false once any builder call failed (the error stays recorded) */

/* Mark a variable as an output: its value survives the forward pass and backward starts from
 * its gradient (write it through cx_graph_grad after forward). */
void cx_graph_output(cx_graph *g, cx_var v);

/* Plan memory for a mode and allocate. Must be called after building and before running;
 * may be called again to switch between training and inference plans. */
int cx_graph_plan(cx_graph *g, cx_mode mode);
/* Allocate the parameter, gradient and buffer arenas (zeroed) if not yet done; cx_graph_plan
 * and cx_graph_init do it too. Parameters keep their values across plans. */
void cx_graph_alloc_state(cx_graph *g);
/* Initialise parameters and buffers as they were declared, from a seed. */
void cx_graph_init(cx_graph *g, uint64_t seed);

/* Batch for the next runs: 1..max_batch. */
int cx_graph_set_batch(cx_graph *g, int batch);
int cx_graph_batch(const cx_graph *g);

/* Forward in the planned mode. The dropout masks draw from (seed, step): the same seed and
 * step reproduce them exactly. Returns 0 or an error code (BatchNorm on a single value). */
int cx_graph_forward(cx_graph *g, uint64_t seed, int64_t step);
/* Zero the parameter gradients (they accumulate across backward calls until zeroed). */
void cx_graph_zero_grad(cx_graph *g);
/* Backward from the gradients written into the outputs' grad buffers. Training plans only. */
void cx_graph_backward(cx_graph *g);

/* Access. Data and grad of activations exist only while planned live; these return NULL
 * for a variable whose memory the plan does not keep at this point. */
float *cx_graph_data(const cx_graph *g, cx_var v);
float *cx_graph_grad(const cx_graph *g, cx_var v);
const char *cx_graph_name(const cx_graph *g, cx_var v);
cx_var_kind cx_graph_kind(const cx_graph *g, cx_var v);
int cx_graph_ndim(const cx_graph *g, cx_var v);            /* activations: including the batch dim */
const int64_t *cx_graph_shape(const cx_graph *g, cx_var v); /* activations: shape[0] is the current batch */
int64_t cx_graph_numel(const cx_graph *g, cx_var v);       /* at the current batch */
cx_var cx_graph_find(const cx_graph *g, const char *name); /* a parameter or buffer by name, or -1 */
int cx_graph_nvars(const cx_graph *g);

/* All parameters as one flat array (and their gradients, same layout); buffers likewise. */
float *cx_graph_params(const cx_graph *g, int64_t *n);
float *cx_graph_param_grads(const cx_graph *g, int64_t *n);
float *cx_graph_buffers(const cx_graph *g, int64_t *n);

/* Parameters and buffers, in declaration order, for import/export by name. */
int cx_graph_state_count(const cx_graph *g);
cx_var cx_graph_state_var(const cx_graph *g, int i);

/* The memory plan: parameters, buffers, activations (planned vs. the sum of all lifetimes),
 * saved state and workspace, one line each, plus per-op lines when verbose. */
void cx_graph_print_plan(const cx_graph *g, FILE *f, bool verbose);
size_t cx_graph_activation_bytes(const cx_graph *g);

#endif
