/* The EfficientNets of timm (huggingface/pytorch-image-models, timm/models/efficientnet.py) with
 * timm's state_dict names: "efficientnet_b0", "efficientnet_b1_pruned", "efficientnet_es",
 * "efficientnet_es_pruned" and "efficientnet_lite0". */
#ifndef CX_MODELS_EFFICIENTNET_H
#define CX_MODELS_EFFICIENTNET_H

#include "models/backbone.h"

extern const cx_backbone cx_efficientnet_backbones[];
extern const int cx_efficientnet_backbone_count;

#endif
