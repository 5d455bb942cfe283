/* ShuffleNetV2 (Ma et al., ECCV 2018) exactly as torchvision 0.14 builds it
 * (torchvision/models/shufflenetv2.py), with its state_dict names: "shufflenet_v2_x0_5" and
 * "shufflenet_v2_x1_0". */
#ifndef CX_MODELS_SHUFFLENET_H
#define CX_MODELS_SHUFFLENET_H

#include "models/backbone.h"

extern const cx_backbone cx_shufflenet_backbones[];
extern const int cx_shufflenet_backbone_count;

#endif
