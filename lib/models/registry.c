/* The backbone registry: the families' tables joined, in the order the MDMT paper lists them. */
#include <string.h>

#include "core/error.h"
#include "models/backbone.h"
#include "models/densenet.h"
#include "models/efficientnet.h"
#include "models/googlenet.h"
#include "models/mobilenet.h"
#include "models/resnet.h"
#include "models/shufflenet.h"

typedef struct { const cx_backbone *table; const int *count; } family;

static const family families[] = {
    {cx_densenet_backbones, &cx_densenet_backbone_count},
    {cx_efficientnet_backbones, &cx_efficientnet_backbone_count},
    {cx_googlenet_backbones, &cx_googlenet_backbone_count},
    {cx_mobilenet_backbones, &cx_mobilenet_backbone_count},
    {cx_resnet_backbones, &cx_resnet_backbone_count},
    {cx_shufflenet_backbones, &cx_shufflenet_backbone_count},
};
#define NFAMILIES (int)(sizeof families / sizeof families[0])

int cx_backbone_count(void) {
    int n = 0;
    for (int f = 0; f < NFAMILIES; f++) n += *families[f].count;
    return n;
}

const cx_backbone *cx_backbone_at(int i) {
    for (int f = 0; f < NFAMILIES; f++) {
        if (i < *families[f].count) return &families[f].table[i];
        i -= *families[f].count;
    }
    return NULL;
}

const cx_backbone *cx_backbone_find(const char *name) {
    for (int i = 0; i < cx_backbone_count(); i++)
        if (!strcmp(cx_backbone_at(i)->name, name)) return cx_backbone_at(i);
    char known[1024] = "";
    size_t used = 0;
    for (int i = 0; i < cx_backbone_count() && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", cx_backbone_at(i)->name);
    cx_err(EX_USAGE, "unknown backbone \"%s\" (known: %s)", name, known);
    return NULL;
}

void cx_backbone_list(FILE *f) {
    fprintf(f, "%-24s %-12s %8s %14s\n", "backbone", "source", "features", "parameters");
    for (int i = 0; i < cx_backbone_count(); i++) {
        const cx_backbone *b = cx_backbone_at(i);
        fprintf(f, "%-24s %-12s %8d %14lld\n", b->name, b->source, b->feature_dim, (long long)b->params_1000);
    }
}
