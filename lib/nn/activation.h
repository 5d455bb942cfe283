/* Element-wise activations, forward and backward, with PyTorch's definitions (also at the kinks).
 *
 *   relu         max(x, 0)                      dx = dy where x > 0 (0 at x = 0, as torch)
 *   relu6        min(max(x, 0), 6)              dx = dy where 0 < x < 6 (0 at both kinks)
 *   silu         x * sigmoid(x)                 dx = dy * s * (1 + x * (1 - s)), s = sigmoid(x)
 *   sigmoid      1 / (1 + exp(-x))              dx = dy * y * (1 - y)
 *   hardswish    x * relu6(x + 3) / 6           dx = 0 for x < -3, dy * (x / 3 + 1/2) for -3 <= x < 3,
 *                                               dy for x >= 3 (so -dy/2 at x = -3 and dy at x = 3)
 *   hardsigmoid  relu6(x + 3) / 6               dx = dy / 6 where -3 < x < 3 (0 at both kinks)
 *   tanh         tanh(x)                        dx = dy * (1 - y^2)
 *
 * Hardswish at the kinks: torch 1.13's vectorised CPU kernel, which every element of a tensor
 * takes but a tail shorter than two vectors, gives -dy/2 at -3 and dy at 3; its scalar tail
 * gives 3dy/2 at 3 (pytorch/pytorch#87778), and torch >= 2.7 gives 0 at -3 (#148049). This file
 * matches the vectorised kernel, whose value at 3 is also the documented one.
 *
 * Backward takes both the input x and the output y and reads only one of them:
 * cx_act_backward_needs_input() says which. When it is false (relu, relu6, sigmoid, tanh) the
 * forward may run in place (y == x) and x may be passed as NULL to backward; silu, hardswish and
 * hardsigmoid need x (hardsigmoid's output rounds to exactly 0 or 1 inside the open interval
 * where its gradient is 1/6, so the output cannot tell the sides apart).
 */
#ifndef CX_NN_ACTIVATION_H
#define CX_NN_ACTIVATION_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    CX_ACT_RELU,
    CX_ACT_RELU6,
    CX_ACT_SILU,
    CX_ACT_SIGMOID,
    CX_ACT_HARDSWISH,
    CX_ACT_HARDSIGMOID,
    CX_ACT_TANH,
    CX_NACTS
} cx_act;

/* "relu", "relu6", "silu", "sigmoid", "hardswish", "hardsigmoid", "tanh" (torch.nn.functional's names). */
const char *cx_act_name(cx_act act);
/* 0, or -1 when the name is unknown (nothing recorded: the caller words the error). */
int cx_act_parse(const char *name, cx_act *act);
bool cx_act_backward_needs_input(cx_act act);

/* y[n] = act(x[n]); y may be x. */
void cx_act_forward(cx_act act, float *y, const float *x, int64_t n);
/* dx[n] += act'(x) * dy[n]; x or y as cx_act_backward_needs_input says (the other may be NULL). */
void cx_act_backward(cx_act act, float *dx, const float *dy, const float *x, const float *y, int64_t n);

#endif
