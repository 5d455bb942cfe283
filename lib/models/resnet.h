/* ResNet (He et al., CVPR 2016) and Wide ResNet (Zagoruyko & Komodakis, BMVC 2016) exactly as
 * torchvision 0.14 builds them (torchvision/models/resnet.py), with its state_dict names:
 * "resnet18", "resnet34", "resnet50", "resnet101" and "wide_resnet50_2". */
#ifndef CX_MODELS_RESNET_H
#define CX_MODELS_RESNET_H

#include "models/backbone.h"

extern const cx_backbone cx_resnet_backbones[];
extern const int cx_resnet_backbone_count;

#endif
