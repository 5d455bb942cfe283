/* DenseNet-BC (Huang et al., CVPR 2017) exactly as torchvision 0.14 builds it
 * (torchvision/models/densenet.py), with its state_dict names: "densenet121", "densenet161",
 * "densenet169" and "densenet201".
 *
 * torchvision's pretrained .pth files use the legacy dense-layer keys ("norm.1", "conv.2");
 * tools/cxr-convert-weights renames them to these ("norm1", "conv2") while converting to
 * safetensors. TorchXRayVision's densenet121-res224-chex is densenet121 built on a 1-channel
 * input with 18 classes. */
#ifndef CX_MODELS_DENSENET_H
#define CX_MODELS_DENSENET_H

#include "models/backbone.h"

extern const cx_backbone cx_densenet_backbones[];
extern const int cx_densenet_backbone_count;

#endif
