/* The backbone registry: every CNN of the MDMT paper, by the name torchvision or timm gives it,
 * built into a graph with torchvision/timm state_dict names, so that `--backbone NAME` works in
 * every tool and converted weights load unchanged. */
#ifndef CX_MODELS_BACKBONE_H
#define CX_MODELS_BACKBONE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/graph.h"

typedef struct {
    int num_classes;   /* > 0: also build the architecture's own classifier (for ImageNet weights
                          and parity); 0: features only */
    double drop_rate;  /* dropout before that classifier; < 0 for the architecture's default */
    bool aux_logits;   /* GoogLeNet: the two auxiliary classifiers (training only) */
} cx_backbone_options;

typedef struct {
    cx_var features;   /* pooled features [N, feature_dim] */
    cx_var logits;     /* [N, num_classes], or -1 */
    cx_var aux[2];     /* GoogLeNet's auxiliary logits, or -1 */
} cx_backbone_outputs;

typedef struct {
    const char *name;          /* "resnet18" */
    const char *source;        /* "torchvision" or "timm" */
    int feature_dim;           /* 512 */
    int64_t params_1000;       /* parameters with a 1000-class classifier, as published */
    const char *classifier;    /* the classifier's key prefix ("fc.", "classifier.") */
    int min_input;             /* the smallest input side the architecture takes */
    /* Build on input x [N, C, H, W] (C = 1 or 3). 0, or an error code (recorded). */
    int (*build)(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out);
} cx_backbone;

/* NULL with EX_USAGE recorded (listing the known names) for an unknown name. */
const cx_backbone *cx_backbone_find(const char *name);
int cx_backbone_count(void);
const cx_backbone *cx_backbone_at(int i);
/* The --list-backbones table: name, source, feature dim, parameters. */
void cx_backbone_list(FILE *f);

#endif
