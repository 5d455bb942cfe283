/* A 2-D U-Net (Ronneberger et al., MICCAI 2015) for lung segmentation, built into a graph.
 *
 *   down.i    level i = 0 .. depth-1 at 1/2^i of the input size: two 3x3 convolutions of
 *             widths[i] channels, kept as the skip of level i, then a 2x2 max pool
 *   bottom    bottom_convs 3x3 convolutions of widths[depth] channels at 1/2^depth
 *   up.i      from the level below back to level i's size (depth-1 first, 0 last): up-sample x2
 *             (nearest, bilinear, or a 2x2 transposed convolution to up_widths[i] channels),
 *             convs_before_concat 3x3 convolutions, concatenation [skip of down.i, x] along
 *             channels, convs_after_concat 3x3 convolutions, all of up_widths[i] channels
 *   head      a head_kernel x head_kernel convolution (bias, no activation) to out_channels
 *
 * Every 3x3 convolution pads 1 ('same') and is followed by BatchNorm (eps 1e-5, momentum 0.1)
 * and ReLU when batch_norm is set (the convolution then has no bias, which BN would cancel), by
 * ReLU alone otherwise. The output is logits [N, out_channels, H, W]: the sigmoid belongs to the
 * loss (BCE with logits, soft Dice) and to inference. Bilinear up-sampling is F.interpolate's
 * with align_corners false; the transposed convolution has a bias and no activation.
 *
 * Parameter names, in the order they are declared (the order the model runs):
 *   down.<i>.conv<k>.weight [.bias]      k = 1, 2
 *   down.<i>.bn<k>.{weight,bias,running_mean,running_var}    with batch_norm
 *   bottom.conv<k>..., bottom.bn<k>...   k = 1 .. bottom_convs
 *   up.<i>.upconv.{weight,bias}          transposed mode: weight [in, up_widths[i], 2, 2]
 *   up.<i>.conv<k>..., up.<i>.bn<k>...   k counts on across the concatenation: 1 ..
 *                                        convs_before_concat + convs_after_concat
 *   head.weight, head.bias
 * tests/ref/gen_unet.py is a PyTorch module with the same names and state_dict order. The skip
 * comes first in the concatenation, as in Keras' concatenate([skip, x]) of the original lung
 * U-Net, so a conversion of its weights needs only the HWIO -> OIHW kernel transpose.
 *
 * Presets (cx_unet_preset):
 *   "lung-unet-4l"     build_UNet2D_4L of imlab-uiip/lung-segmentation-2d (build_model.py): depth
 *                      4, widths 32/64/64/128, bottom 256 (one conv), decoder 256/256/128/64
 *                      from the bottom up with two convs before and one after each
 *                      concatenation, nearest up-sampling, no BN, 3x3 head to 1 channel;
 *                      1-channel 256x256 input; 5,468,897 parameters
 *   "lung-unet-small"  a Ronneberger-style U-Net for quick training: depth 4, widths
 *                      16/32/64/128, bottom 256, decoder widths equal to the encoder's, two
 *                      convs after each concatenation, BN, bilinear up-sampling, 1x1 head;
 *                      1 channel in, 1 out; 1,963,809 parameters */
#ifndef CX_MODELS_UNET_H
#define CX_MODELS_UNET_H

#include <stdbool.h>

#include "nn/graph.h"

#define CX_UNET_MAX_DEPTH 7

typedef enum { CX_UNET_UP_NEAREST, CX_UNET_UP_BILINEAR, CX_UNET_UP_TRANSPOSED } cx_unet_up_mode;

typedef struct {
    int depth;                              /* max-pool down-samplings, 1 .. CX_UNET_MAX_DEPTH */
    int widths[CX_UNET_MAX_DEPTH + 1];      /* down.0 .. down.<depth-1>, then the bottom */
    int up_widths[CX_UNET_MAX_DEPTH];       /* up.i's channels (up.i returns to down.i's size) */
    int bottom_convs;                       /* >= 1 */
    int convs_before_concat;                /* >= 0, in each up.i */
    int convs_after_concat;                 /* >= 1, in each up.i */
    int head_kernel;                        /* odd: 1 or 3 */
    bool batch_norm;
    cx_unet_up_mode up_mode;
    int in_channels, out_channels;
} cx_unet_config;

/* Fill c with a named preset: 0, or EX_USAGE (recorded, listing the names) for an unknown name. */
int cx_unet_preset(const char *name, cx_unet_config *c);

/* Build on x [N, c->in_channels, H, W] and return the logits [N, c->out_channels, H, W], or -1
 * with the error recorded: EX_USAGE for an invalid configuration, EX_DATAERR for an input of
 * another channel count, or whose H or W is not a positive multiple of 2^depth (the message
 * names the nearest sizes that work). */
cx_var cx_unet_build(cx_graph *g, cx_var x, const cx_unet_config *c);

#endif
