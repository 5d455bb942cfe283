/* MobileNetV2 (Sandler et al., CVPR 2018) exactly as torchvision 0.14 builds it
 * (torchvision/models/mobilenetv2.py), with its state_dict names: "mobilenet_v2". */
#ifndef CX_MODELS_MOBILENET_H
#define CX_MODELS_MOBILENET_H

#include "models/backbone.h"

extern const cx_backbone cx_mobilenet_backbones[];
extern const int cx_mobilenet_backbone_count;

#endif
