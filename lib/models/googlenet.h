/* GoogLeNet (Inception v1, Szegedy et al., CVPR 2015) exactly as torchvision 0.14 builds it
 * (torchvision/models/googlenet.py), with its state_dict names: "googlenet".
 *
 * Auxiliary classifiers: with opt->aux_logits (and num_classes > 0) the graph also holds aux1
 * (on inception4a) as out->aux[0] and aux2 (on inception4d) as out->aux[1], torchvision's
 * training-mode outputs; the caller adds their losses and writes their gradients (in eval mode
 * they are computed all the same, and may be ignored). torchvision 0.14's GoogLeNetOutputs
 * returns them crosswise: its aux_logits1 holds aux2's output. Without them the keys and the
 * count are the published ones (6,624,904 parameters); with them 13,004,888, as in
 * torchvision's .pth file.
 * Dropout: 0.2 before fc and 0.7 inside each auxiliary head (torchvision's dropout and
 * dropout_aux); opt->drop_rate >= 0 replaces only the first, as torchvision's dropout= does.
 *
 * transform_input is off, torchvision's default: torchvision turns it on only for its
 * pretrained weights, to re-map ImageNet-normalised inputs to the (x - 0.5) / 0.5 scaling
 * those weights were trained with. Here inputs are normalised explicitly by cxr-crop, so
 * that mapping is the normalisation itself: mean 0.5 and std 0.5 on every channel give
 * exactly what transform_input computes from ImageNet-normalised pixels. */
#ifndef CX_MODELS_GOOGLENET_H
#define CX_MODELS_GOOGLENET_H

#include "models/backbone.h"

extern const cx_backbone cx_googlenet_backbones[];
extern const int cx_googlenet_backbone_count;

/* The registry's build with torchvision's dropout_aux in the auxiliary heads instead of 0.7
 * (parity tests run them with 0). */
int cx_googlenet_build(cx_graph *g, cx_var x, const cx_backbone_options *opt, double aux_drop_rate,
                       cx_backbone_outputs *out);

#endif
