# The M3H paper's protocol (DESIGN.md 1.2) as a make pipeline: image embeddings + tabular +
# text modalities, several tasks learnt jointly with cross-task attention, hyper-parameters by
# 5-fold cross-validation, test metrics with the paper's bootstrap, and the TIM matrix over the
# task sets of sizes 1 and 2 (tim-score) with its heatmap.
#
#   make -f pipelines/m3h.mk BIN=$PWD/bin OUT=m3h                   phantom data made here
#   make -f pipelines/m3h.mk BIN=... OUT=... DATA=images.cxs        your image stream (all labels)
#   make -f pipelines/m3h.mk BIN=... OUT=... search                 + the greedy task-set search
#   make -f pipelines/m3h.mk BIN=... OUT=... BATCHES="256 512" LRS="1e-4 3e-4"   the paper's grid
#
# Files (each a target: a rerun redoes only what changed; the training options are a
# prerequisite too, $(OUT)/train.flags changes when they do):
#   images.cxs crops.cxs embedded.cxs    the image stream, its lung crops, their embeddings
#   split.cxs                            embedded records with meta fold (patient-level folds)
#   features.cxs train.cxs test.cxs      cxr-features fitted on the training part; both parts
#                                        with tensors embedding, tabular, text
#   cv/B_L/F/{best,metrics}.cxs          5-fold CV of batch B x lr L on the training part
#   cv.tsv hp.txt                        mean validation score per (B, L); the best "B L"
#   final/{best,metrics,predictions}.cxs all tasks, the best (B, L), the whole training part,
#                                        tested with the bootstrap (5 draws of 90%)
#   sets/A+B/{best,metrics}.cxs          one run per task set (tim-score --plan 2), same options
#   tim.tsv tim.cxs tim.png              the TIM matrix (deltas, subsets used, ranks), its stream,
#                                        the rank heatmap
#   search.txt                           (target search) the greedy search's best set per task
#
# Decisions the paper leaves open:
# - Image modality: cxr-crop to the lungs, then 'embed' with BACKBONE (default resnet18 at
#   64x64). Without WEIGHTS (no network here: no ImageNet or CheXpert weights) the backbone keeps
#   its random initialisation (seed 0): random convolutional features, not the paper's
#   DenseNet121-res224-chex. Give WEIGHTS=file.safetensors, or EMBED_MODEL=an mt-train checkpoint
#   (embed -m) for a backbone trained by mt-train.
# - Tabular and text: cxr-features (TF-IDF hashed into TEXT_DIM columns stands in for
#   ClinicalBERT), fitted on the training part only.
# - Split: 80/20 at patient level: cxr-folds -k 5 --stratify prognosis --group patient, fold 0
#   is the test part (the paper: 80/20 stratified at patient level). The CV folds are a second
#   cxr-folds -k 5 on the training part, same grouping.
# - Model selection: the mean over the 5 folds and over all tasks of each task's score (auroc for
#   binary and multiclass, r2 for regression, silhouette for clustering) on the validation fold.
# - Tasks (TASKS, full mt-train specs): on the phantom prognosis (binary), brixia_class
#   (multiclass K 4), brixia_global (regression) and a clustering task (K clusters, autoencoder
#   latent). The phantom carries no other binary clinical label (no ICU, intubation or death):
#   its clinical fields are inputs (tabular), not tasks.
# - TIM: over TIM_TASKS (default every task, the clustering one included: its score is the
#   silhouette). A task set's run uses the hyper-parameters chosen for all tasks.
# - Each task set run is evaluated on the test part (as the paper's TIM uses test scores).

BIN      ?= bin
OUT      ?= m3h
export PATH := $(abspath $(BIN)):$(PATH)
export OMP_WAIT_POLICY ?= passive

# ---- the data ----
# an image stream with every label on every record (default: a phantom made here)
DATA     ?= $(OUT)/phantom.cxs
PATIENTS ?= 100
PHANTOM_SIZE ?= 64
DATA_SEED ?= 1
TABULAR  ?= age,sex,spo2,temperature,crp,ldh,lymphocytes,wbc,comorbidities
TEXT     ?= note
TEXT_DIM ?= 256
# the image modality
BACKBONE ?= resnet18
SIZE     ?= 64
CHANNELS ?= 1
NORM     ?= imagenet
WEIGHTS  ?=
EMBED_MODEL ?=
CROP_FLAGS ?=

# ---- the tasks ----
TASKS    ?= prognosis:binary:prognosis brixia:multiclass:brixia_class:4 global:regression:brixia_global \
            pheno:clustering:phenotype:$(CLUSTERS)
CLUSTERS ?= 15
INPUTS   ?= embedding,tabular,text
TASK_NAMES := $(foreach s,$(TASKS),$(firstword $(subst :, ,$(s))))
TIM_TASKS ?= $(subst $(space),$(comma),$(strip $(TASK_NAMES)))
comma := ,
empty :=
space := $(empty) $(empty)
STRATIFY ?= prognosis

# ---- protocol and training ----
K        ?= 5
SEED     ?= 1
BATCHES  ?= 256 512
LRS      ?= 1e-4 3e-4
EPOCHS   ?= 15
THREADS  ?= 2
# the M3H network and more mt-train options for every run
NET_FLAGS ?= --hidden 128 --proj-dim 64 --shared-dim 128 --task-dim 64 --latent-dim 16
TRAIN_FLAGS ?=
BOOTSTRAP ?= 5
BOOTSTRAP_FRACTION ?= 0.9

CV_FOLDS := $(shell seq 0 $$(($(K) - 1)))
GRID := $(foreach b,$(BATCHES),$(foreach l,$(LRS),$(b)_$(l)))
TRAIN_ARGS := --arch m3h --input $(INPUTS) $(foreach s,$(TASKS),--task $(s)) --epochs $(EPOCHS) --seed $(SEED) \
    --threads $(THREADS) $(NET_FLAGS) $(TRAIN_FLAGS)
# the task sets of sizes 1 and 2, as directory names (a+b)
SETS := $(subst $(comma),+,$(shell $(abspath $(BIN))/tim-score --plan 2 --tasks $(TIM_TASKS)))

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.PHONY: all search clean-runs FORCE
.DELETE_ON_ERROR:
# a task set's checkpoint is reached through a pattern only: keep it (every file here is named
# by a rule, so a missing one is remade)
.PRECIOUS: $(OUT)/sets/%/best.cxs

all: $(OUT)/final/metrics.cxs $(OUT)/tim.tsv

clean-runs:
	rm -rf $(OUT)/cv $(OUT)/final $(OUT)/sets $(OUT)/cv.tsv $(OUT)/hp.txt $(OUT)/tim.* $(OUT)/search.txt

# ---- 1. images -> crops -> embeddings ----
$(OUT)/phantom.cxs:
	@mkdir -p $(@D)
	cxr-phantom --all-labels --seed $(DATA_SEED) --size $(PHANTOM_SIZE) --patients $(PATIENTS) -o $@

$(OUT)/crops.cxs: $(DATA)
	@mkdir -p $(@D)
	cxr-crop --size $(SIZE) --channels $(CHANNELS) --normalize $(NORM) $(CROP_FLAGS) -o $@ $<

$(OUT)/embedded.cxs: $(OUT)/crops.cxs
	embed $(if $(EMBED_MODEL),-m $(EMBED_MODEL),-b $(BACKBONE) $(if $(WEIGHTS),--weights $(WEIGHTS))) \
	  --threads $(THREADS) -o $@ $<

# ---- 2. the 80/20 patient-level split, then the tabular and text modalities ----
$(OUT)/split.cxs: $(OUT)/embedded.cxs
	cxr-folds -k 5 --stratify $(STRATIFY) --group patient --seed $(SEED) -q -o $@ $<

$(OUT)/train-raw.cxs: $(OUT)/split.cxs
	cxr-select --where 'fold!=0' --unset fold -o $@ $<

$(OUT)/test-raw.cxs: $(OUT)/split.cxs
	cxr-select --where fold=0 --unset fold -o $@ $<

$(OUT)/features.cxs: $(OUT)/train-raw.cxs
	cxr-features fit --tabular $(TABULAR) --text $(TEXT) --text-dim $(TEXT_DIM) -o $@ $<

$(OUT)/%.cxs: $(OUT)/%-raw.cxs $(OUT)/features.cxs
	cxr-features apply -p $(OUT)/features.cxs -o $@ $<

# ---- 3. 5-fold CV on the training part over BATCHES x LRS ----
$(OUT)/cv-folds.cxs: $(OUT)/train.cxs
	cxr-folds -k $(K) --stratify $(STRATIFY) --group patient --seed $(SEED) -q -o $@ $<

$(OUT)/cv/parts/%/train.cxs: $(OUT)/cv-folds.cxs
	@mkdir -p $(@D)
	cxr-select --where 'fold!=$*' -o $@ $<

$(OUT)/cv/parts/%/val.cxs: $(OUT)/cv-folds.cxs
	@mkdir -p $(@D)
	cxr-select --where fold=$* -o $@ $<

# The training options as a file that changes only when they do: every run depends on it.
$(OUT)/train.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(TRAIN_ARGS)' | cmp -s - $@ || echo '$(TRAIN_ARGS)' > $@

# cv/B_L/F: $(1) batch_lr, $(2) fold
define cv_rules
$(OUT)/cv/$(1)/$(2)/best.cxs: $(OUT)/cv/parts/$(2)/train.cxs $(OUT)/train.flags
	@mkdir -p $$(@D)
	mt-train $(TRAIN_ARGS) --batch $(word 1,$(subst _, ,$(1))) --lr $(word 2,$(subst _, ,$(1))) \
	  --log $$(@D)/log.cxs -o $$@ $$<

$(OUT)/cv/$(1)/$(2)/metrics.cxs: $(OUT)/cv/$(1)/$(2)/best.cxs $(OUT)/cv/parts/$(2)/val.cxs
	mt-eval -m $$< --threads $(THREADS) --tag hp=$(1) --tag fold=$(2) -o $$@ $(OUT)/cv/parts/$(2)/val.cxs
endef
$(foreach h,$(GRID),$(foreach f,$(CV_FOLDS),$(eval $(call cv_rules,$(h),$(f)))))

# the score of a metrics record: auroc (binary, multiclass), r2 (regression), silhouette
SCORE_COLUMNS := hp,fold,task,kind,auroc,r2,silhouette
define score_awk
awk -F, 'NR > 1 { s = $$6 != "" ? $$6 : $$7 != "" ? $$7 : $$8; if (s == "") s = 0; sum[$$2] += s; n[$$2]++ } \
  END { for (h in sum) printf "%s\t%.6f\t%d\n", h, sum[h] / n[h], n[h] }'
endef

# cv.tsv: hp, mean validation score over folds and tasks (an undefined score counts 0), records
$(OUT)/cv.tsv: $(foreach h,$(GRID),$(foreach f,$(CV_FOLDS),$(OUT)/cv/$(h)/$(f)/metrics.cxs))
	cxr-cat $^ | cxr-inspect --csv $(SCORE_COLUMNS) | $(score_awk) | sort -k2,2gr -k1,1 > $@.tmp && mv $@.tmp $@

$(OUT)/hp.txt: $(OUT)/cv.tsv
	head -1 $< | cut -f1 | tr _ ' ' > $@.tmp && mv $@.tmp $@

# ---- 4. the chosen hyper-parameters on the whole training part, tested with the bootstrap ----
HP_ARGS = --batch $$(cut -d' ' -f1 $(OUT)/hp.txt) --lr $$(cut -d' ' -f2 $(OUT)/hp.txt)
EVAL_ARGS := --threads $(THREADS) --bootstrap $(BOOTSTRAP) --bootstrap-fraction $(BOOTSTRAP_FRACTION) --seed $(SEED)

$(OUT)/final/best.cxs: $(OUT)/train.cxs $(OUT)/hp.txt $(OUT)/train.flags
	@mkdir -p $(@D)
	mt-train $(TRAIN_ARGS) $(HP_ARGS) --log $(@D)/log.cxs -o $@ $<

$(OUT)/final/metrics.cxs: $(OUT)/final/best.cxs $(OUT)/test.cxs
	mt-eval -m $< $(EVAL_ARGS) --tag experiment=final -p $(@D)/predictions.cxs -o $@ $(OUT)/test.cxs
	cxr-inspect --csv task,kind,n,auroc,auroc_std,r2,r2_std,silhouette,silhouette_std $@

# ---- 5. one run per task set (directory a+b+c), the TIM matrix and heatmap ----
# the specs of the set's tasks, from TASKS by name
SET_TASKS = $(foreach n,$(subst +, ,$*),--task $(filter $(n):%,$(TASKS)))
SET_ARGS := --arch m3h --input $(INPUTS) --epochs $(EPOCHS) --seed $(SEED) --threads $(THREADS) $(NET_FLAGS) $(TRAIN_FLAGS)

$(OUT)/sets/%/best.cxs: $(OUT)/train.cxs $(OUT)/hp.txt $(OUT)/train.flags
	@mkdir -p $(@D)
	mt-train $(SET_ARGS) $(SET_TASKS) $(HP_ARGS) --log $(@D)/log.cxs -o $@ $<

$(OUT)/sets/%/metrics.cxs: $(OUT)/sets/%/best.cxs $(OUT)/test.cxs
	mt-eval -m $< $(EVAL_ARGS) -o $@ $(OUT)/test.cxs

SET_METRICS := $(foreach s,$(SETS),$(OUT)/sets/$(s)/metrics.cxs)

$(OUT)/tim.tsv: $(SET_METRICS)
	tim-score --tasks $(TIM_TASKS) -o $(OUT)/tim.cxs --heatmap $(OUT)/tim.png $^ > $@.tmp && mv $@.tmp $@
	cat $@

# ---- 6. (optional) the paper's greedy search: run what tim-score --next asks until it stops ----
search: $(OUT)/search.txt

$(OUT)/search.txt: $(SET_METRICS)
	while next=$$(tim-score --next --tasks $(TIM_TASKS) $(OUT)/sets/*/metrics.cxs) && [ -n "$$next" ]; do \
	  for s in $$next; do $(MAKE) -f $(firstword $(MAKEFILE_LIST)) $(OUT)/sets/$${s//,/+}/metrics.cxs; done; \
	done
	tim-score --chosen --tasks $(TIM_TASKS) $(OUT)/sets/*/metrics.cxs > $@.tmp && mv $@.tmp $@
	cat $@
