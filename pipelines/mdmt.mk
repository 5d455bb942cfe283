# The MDMT paper's core experiment (DESIGN.md 1.1) as a make pipeline: for each backbone, the
# experiments STL-tau1, STL-tau2, FT and MDMT under 5-fold cross-validation (cv) and
# leave-one-center-out (loco); tau1 (prognosis) evaluated on each held-out fold; a Table S1.
#
#   make -f pipelines/mdmt.mk BIN=$PWD/bin -j2                 the demo: phantom data, 2 backbones
#                                       (68 trainings, 48x48 crops: about 6.5 CPU-minutes)
#   make -f pipelines/mdmt.mk CROPS=my-crops.cxs OUT=run -j16  your own crop stream
#   make -f pipelines/mdmt.mk EMBED=1 ...                      heads only, on embeddings
#   make -f pipelines/mdmt.mk full -j64                        the paper's grid (18 backbones, 224x224)
#   make -f pipelines/mdmt.mk LAUNCHER='srun -c1 --mem=8G' -j200   every training through a scheduler
#
# Every run (backbone x experiment x protocol x fold) is its own target writing its own files
#   $(OUT)/runs/BACKBONE/EXPERIMENT/PROTOCOL/FOLD/{best.cxs,log.cxs,metrics.cxs,predictions.cxs}
# so 'make -j' fills the cores and a rerun redoes only what changed (the training options are a
# prerequisite too: $(OUT)/train.flags changes when they do). Tools write under a temporary name
# and rename on success, so a failed or interrupted run leaves nothing that make takes for done.
#
# The data, and the decisions the paper leaves open (its authors' code in notes/reference.md):
# - Input: one crop stream (CROPS) holding both data sets. D_tau1 = the records with a prognosis
#   label, D_tau2 = those with a brixia_class; each data set keeps only its own task's label (a
#   record with both labels, as some real images have, is in both data sets once each: "no sample
#   has both labels", as in the paper). Patients of D_tau1 are removed from D_tau2, so that no
#   test patient is ever seen in training through the other data set; with the paper's data
#   and the phantom the two sets have disjoint patients and nothing is removed.
# - Folds: only D_tau1 is cross-validated. cv: K stratified folds on prognosis, grouped by patient
#   (cxr-folds); loco: one fold per center of D_tau1 (LOCO_K of them). D_tau2 is never tested on:
#   it trains in every fold of both protocols, less a fixed validation part (below); the paper's
#   BRIXIA comes from one hospital outside the AIforCOVID centers. So STL-tau2 is trained once per
#   backbone and shared by all folds.
# - Early-stopping validation: a patient-level part of the training folds, the inner fold 0 of
#   VAL_K stratified folds of them (VAL_K=4 in cv gives train:val:test = 3:1:1 of D_tau1, the
#   authors' 942/314/314 patients); for D_tau2 a fixed 1/VAL_K of its patients. The monitor is the
#   validation tau1 loss (the authors': val AIforCOVID loss) for STL-tau1, FT and MDMT, the tau2
#   loss for STL-tau2; best checkpoint = lowest monitored loss, patience PATIENCE epochs.
# - Splits are id lists (splits/PROTOCOL/FOLD/{train,val,test}.ids) shared by every backbone and
#   by crops and embeddings alike.
# - Experiments: STL-tau1 = backbone + head on D_tau1; STL-tau2 = the same on D_tau2; FT = the
#   shared weights of STL-tau2, a new tau1 head, trained on D_tau1; MDMT = the element-wise mean of
#   STL-tau1's and STL-tau2's shared weights (each task's head from its STL run), then both tasks
#   on D_tau1 + D_tau2 (batches drawn from the union, the indicator loss of mt-train).
# - EMBED=1: each backbone embeds the crops once (embed), then only heads are trained
#   (mt-train --input embedding). Cheap, but the model then has no shared part: FT is STL-tau1 and
#   MDMT is STL-tau1 warm-started, trained beside an independent tau2 head. It tests the plumbing
#   and frozen features, not the MDMT hypothesis.
# - Without WEIGHTS_DIR (no network: no ImageNet weights here) backbones start from their random
#   initialisation; with it, WEIGHTS_DIR/BACKBONE.safetensors (cxr-convert-weights).

BIN      ?= bin
OUT      ?= mdmt
export PATH := $(abspath $(BIN)):$(PATH)
export OMP_WAIT_POLICY ?= passive

# ---- inputs (the default: phantom crops made here) ----
CROPS    ?= $(OUT)/crops.cxs
# phantom patients per data set
PATIENTS ?= 80
PHANTOM_SIZE ?= 64
# crop side, pixels; channels (1: the first conv sums its RGB filters; 3: grey replicated)
SIZE     ?= 48
CHANNELS ?= 1
NORM     ?= imagenet
DATA_SEED ?= 1

# ---- the grid ----
BACKBONES ?= shufflenet_v2_x0_5 shufflenet_v2_x1_0
PROTOCOLS ?= cv loco
# cv folds
K        ?= 5
# centers in D_tau1 (the phantom has 6; checked)
LOCO_K   ?= 6
# 1/VAL_K of the training patients validate
VAL_K    ?= 4
SEED     ?= 1

# ---- training ----
EPOCHS   ?= 20
WARMUP   ?= 0
PATIENCE ?= 40
BATCH    ?= 32
LR       ?= 1e-3
WD       ?= 1e-4
# per run; make -jN runs N at once
THREADS  ?= 1
# more mt-train options for every run. The demo balances the classes in the loss: the phantom's
# prognosis is 64% mild and, without, its few steps end predicting all mild (F1 = G-mean = 0);
# the paper's AIforCOVID is near balanced and 'full' sets no class weights.
TRAIN_FLAGS ?= --class-weights balanced
EMBED    ?= 0
WEIGHTS_DIR ?=
# a prefix for every embed, mt-train and mt-eval command
LAUNCHER ?=
SUMMARY_FLAGS ?=

TAU1 := prognosis:binary:prognosis
TAU2 := brixia:multiclass:brixia_class:4

ALL_BACKBONES := densenet121 densenet161 densenet169 densenet201 efficientnet_b0 efficientnet_b1_pruned \
    efficientnet_es efficientnet_es_pruned efficientnet_lite0 googlenet mobilenet_v2 resnet18 resnet34 \
    resnet50 resnet101 shufflenet_v2_x0_5 shufflenet_v2_x1_0 wide_resnet50_2

FOLDS_cv   := $(shell seq 0 $$(($(K) - 1)))
FOLDS_loco := $(shell seq 0 $$(($(LOCO_K) - 1)))
EXPERIMENTS := stl-tau1 ft mdmt

# EMBED=1 runs and their tables live beside the crop runs: runs-embed/, table-s1-embed.md
MODE := $(if $(filter 1,$(EMBED)),-embed)
RUNS := $(OUT)/runs$(MODE)

TRAIN_ARGS := --epochs $(EPOCHS) --warmup $(WARMUP) --patience $(PATIENCE) --batch $(BATCH) --lr $(LR) \
    --weight-decay $(WD) --seed $(SEED) --threads $(THREADS) $(TRAIN_FLAGS)

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.PHONY: all full clean-runs
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUT)/table-s1$(MODE).md

# The paper's grid on a bigger machine: 18 backbones, 224x224 crops, the paper's schedule (Adam
# 1e-3, weight decay 1e-4, warm-up 40, at most 300 epochs, patience 40, batch 128). Give it your
# crops (CROPS=..., made at 224 by cxr-crop) and weights (WEIGHTS_DIR=...), e.g.
#   make -f pipelines/mdmt.mk full CROPS=aiforcovid+brixia.cxs WEIGHTS_DIR=weights OUT=full -j32
full:
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) all BACKBONES="$(ALL_BACKBONES)" SIZE=224 CHANNELS=3 PHANTOM_SIZE=256 \
	    EPOCHS=300 WARMUP=40 PATIENCE=40 BATCH=128 TRAIN_FLAGS= THREADS=$(THREADS)

clean-runs:
	rm -rf $(RUNS) $(OUT)/table-s1$(MODE).md $(OUT)/metrics$(MODE).cxs $(OUT)/metrics$(MODE).csv

# ---- 1. crops (the default input): phantom X-rays cropped to their lungs by cxr-crop ----
$(OUT)/phantom.cxs:
	@mkdir -p $(@D)
	cxr-phantom --seed $(DATA_SEED) --size $(PHANTOM_SIZE) --patients $(PATIENTS) -o $@

$(OUT)/crops.cxs: $(OUT)/phantom.cxs
	cxr-crop --size $(SIZE) --channels $(CHANNELS) --normalize $(NORM) -o $@ $<

# ---- 2. the two data sets, each with its own task's label only ----
$(OUT)/data/tau1.cxs: $(CROPS)
	@mkdir -p $(@D)
	cxr-select --has prognosis --unset brixia_class -o $@ $<

$(OUT)/data/tau1-patients.txt: $(OUT)/data/tau1.cxs
	cxr-inspect --csv patient $< | tail -n +2 | cut -d, -f2 | sort -u > $@.tmp && mv $@.tmp $@

# D_tau2 less the patients of D_tau1 (keep.ids: the ids of the others; an empty list would
# select everything, so it is refused)
$(OUT)/data/tau2.cxs: $(CROPS) $(OUT)/data/tau1-patients.txt
	cxr-select --has brixia_class $< | cxr-inspect --csv patient \
	  | awk -F, 'FILENAME == ARGV[1] { tau1[$$1]; next } FNR > 1 && !($$2 in tau1) { print $$1 }' \
	    $(OUT)/data/tau1-patients.txt - > $(@D)/tau2-keep.ids
	@[ -s $(@D)/tau2-keep.ids ] || { echo "mdmt.mk: $<: no brixia_class record outside D_tau1's patients" >&2; exit 1; }
	cxr-select --has brixia_class --unset prognosis --ids-from $(@D)/tau2-keep.ids -o $@ $<

# ---- 3. folds and splits as id lists ----
# splits/PROTOCOL.csv: id,patient,fold of each D_tau1 record; cxr-folds' summary beside it.
# (Ids and patients are taken from CSV: they must not contain commas.)
$(OUT)/splits/cv.csv: $(OUT)/data/tau1.cxs
	@mkdir -p $(@D)
	cxr-folds -k $(K) --stratify prognosis --group patient --seed $(SEED) --summary $(@D)/cv-summary.tsv $< \
	  | cxr-inspect --csv patient,fold > $@.tmp && mv $@.tmp $@

$(OUT)/splits/loco.csv: $(OUT)/data/tau1.cxs
	@mkdir -p $(@D)
	cxr-folds --by center --stratify prognosis --group patient --summary $(@D)/loco-summary.tsv $< \
	  | cxr-inspect --csv patient,fold > $@.tmp
	@k=$$(tail -n +2 $@.tmp | cut -d, -f3 | sort -u | wc -l); [ $$k -eq $(LOCO_K) ] || \
	  { echo "mdmt.mk: D_tau1 has $$k centers: run with LOCO_K=$$k" >&2; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

# splits/P/F/{test,train,val}.ids: test = fold F; the rest split by patient, inner fold 0 validates
define split_rules
$(OUT)/splits/$(1)/$(2)/test.ids: $(OUT)/splits/$(1).csv
	@mkdir -p $$(@D)
	awk -F, 'NR > 1 && $$$$3 == $(2) { print $$$$1 }' $$< > $$@.tmp && mv $$@.tmp $$@

$(OUT)/splits/$(1)/$(2)/train.ids $(OUT)/splits/$(1)/$(2)/val.ids &: $(OUT)/splits/$(1)/$(2)/test.ids $(OUT)/data/tau1.cxs
	cxr-select --ids-from $$< --invert $(OUT)/data/tau1.cxs \
	  | cxr-folds -k $(VAL_K) --stratify prognosis --group patient --seed $(SEED) -q \
	  | cxr-inspect --csv fold > $$(@D)/inner.csv
	awk -F, 'NR > 1 && $$$$2 == 0 { print $$$$1 }' $$(@D)/inner.csv > $$(@D)/val.ids
	awk -F, 'NR > 1 && $$$$2 != 0 { print $$$$1 }' $$(@D)/inner.csv > $$(@D)/train.ids
endef
$(foreach p,$(PROTOCOLS),$(foreach f,$(FOLDS_$(p)),$(eval $(call split_rules,$(p),$(f)))))

$(OUT)/splits/tau2/train.ids $(OUT)/splits/tau2/val.ids &: $(OUT)/data/tau2.cxs
	@mkdir -p $(@D)
	cxr-folds -k $(VAL_K) --stratify brixia_class --group patient --seed $(SEED) -q $< \
	  | cxr-inspect --csv fold > $(@D)/inner.csv
	awk -F, 'NR > 1 && $$2 == 0 { print $$1 }' $(@D)/inner.csv > $(@D)/val.ids
	awk -F, 'NR > 1 && $$2 != 0 { print $$1 }' $(@D)/inner.csv > $(@D)/train.ids

# ---- 4. the model inputs: crops, or (EMBED=1) embeddings per backbone ----
# DATA(B): where backbone B's streams are; MODEL(B): how mt-train builds its model.
ifeq ($(EMBED),1)
DATA  = $(OUT)/embed/$(1)
MODEL = --input embedding
WEIGHTS_OF = $(if $(WEIGHTS_DIR),--weights $(WEIGHTS_DIR)/$(1).safetensors)
define embed_rules
$(OUT)/embed/$(1)/$(2).cxs: $(OUT)/data/$(2).cxs
	@mkdir -p $$(@D)
	$(LAUNCHER) embed -b $(1) $(call WEIGHTS_OF,$(1)) --threads $(THREADS) -o $$@ $$<
endef
$(foreach b,$(BACKBONES),$(foreach t,tau1 tau2,$(eval $(call embed_rules,$(b),$(t)))))
else
DATA  = $(OUT)/data
MODEL = -b $(1) $(if $(WEIGHTS_DIR),--weights $(WEIGHTS_DIR)/$(1).safetensors)
endif

# D/P/F/{train,val,test}.cxs and D/tau2-{train,val}.cxs, D = $(OUT)/data or $(OUT)/embed/B
define select_rules
$(1)/$(2)/%.cxs: $(OUT)/splits/$(2)/%.ids $(1)/tau1.cxs
	@mkdir -p $$(@D)
	cxr-select --ids-from $$< -o $$@ $(1)/tau1.cxs
endef
define select_tau2_rules
$(1)/tau2-%.cxs: $(OUT)/splits/tau2/%.ids $(1)/tau2.cxs
	cxr-select --ids-from $$< -o $$@ $(1)/tau2.cxs
endef
DATA_DIRS := $(sort $(foreach b,$(BACKBONES),$(call DATA,$(b))))
$(foreach d,$(DATA_DIRS),$(foreach p,$(PROTOCOLS),$(foreach f,$(FOLDS_$(p)),$(eval $(call select_rules,$(d),$(p)/$(f))))))
$(foreach d,$(DATA_DIRS),$(eval $(call select_tau2_rules,$(d))))

# ---- 5. training and evaluation ----
# The training options as a file that changes only when they do: every run depends on it.
$(OUT)/train$(MODE).flags: FORCE
	@mkdir -p $(@D)
	@echo '$(TRAIN_ARGS) EMBED=$(EMBED) WEIGHTS_DIR=$(WEIGHTS_DIR)' | cmp -s - $@ || \
	  echo '$(TRAIN_ARGS) EMBED=$(EMBED) WEIGHTS_DIR=$(WEIGHTS_DIR)' > $@
FORCE:

TRAIN = $(LAUNCHER) mt-train $(TRAIN_ARGS)

# STL-tau2: once per backbone (D_tau2 is training data in every fold)
define backbone_rules
$(RUNS)/$(1)/stl-tau2/best.cxs: $(call DATA,$(1))/tau2-train.cxs $(call DATA,$(1))/tau2-val.cxs $(OUT)/train$(MODE).flags
	@mkdir -p $$(@D)
	$(TRAIN) $(call MODEL,$(1)) --task $(TAU2) --val $(call DATA,$(1))/tau2-val.cxs --monitor brixia:loss \
	  --log $$(@D)/log.cxs -o $$@ $(call DATA,$(1))/tau2-train.cxs
endef
$(foreach b,$(BACKBONES),$(eval $(call backbone_rules,$(b))))

# one fold: $(1) backbone, $(2) protocol, $(3) fold
define fold_rules
$(RUNS)/$(1)/stl-tau1/$(2)/$(3)/best.cxs: $(call DATA,$(1))/$(2)/$(3)/train.cxs $(call DATA,$(1))/$(2)/$(3)/val.cxs $(OUT)/train$(MODE).flags
	@mkdir -p $$(@D)
	$(TRAIN) $(call MODEL,$(1)) --task $(TAU1) --val $(call DATA,$(1))/$(2)/$(3)/val.cxs --monitor prognosis:loss \
	  --log $$(@D)/log.cxs -o $$@ $(call DATA,$(1))/$(2)/$(3)/train.cxs

$(RUNS)/$(1)/ft/$(2)/$(3)/best.cxs: $(RUNS)/$(1)/stl-tau2/best.cxs $(call DATA,$(1))/$(2)/$(3)/train.cxs $(call DATA,$(1))/$(2)/$(3)/val.cxs $(OUT)/train$(MODE).flags
	@mkdir -p $$(@D)
	$(TRAIN) $(call MODEL,$(1)) --init $$< --task $(TAU1) --val $(call DATA,$(1))/$(2)/$(3)/val.cxs \
	  --monitor prognosis:loss --log $$(@D)/log.cxs -o $$@ $(call DATA,$(1))/$(2)/$(3)/train.cxs

$(RUNS)/$(1)/mdmt/$(2)/$(3)/best.cxs: $(RUNS)/$(1)/stl-tau1/$(2)/$(3)/best.cxs $(RUNS)/$(1)/stl-tau2/best.cxs \
    $(call DATA,$(1))/$(2)/$(3)/train.cxs $(call DATA,$(1))/$(2)/$(3)/val.cxs $(call DATA,$(1))/tau2-train.cxs $(OUT)/train$(MODE).flags
	@mkdir -p $$(@D)
	$(TRAIN) $(call MODEL,$(1)) --init-average $(RUNS)/$(1)/stl-tau1/$(2)/$(3)/best.cxs \
	  --init-average $(RUNS)/$(1)/stl-tau2/best.cxs --task $(TAU1) --task $(TAU2) \
	  --val $(call DATA,$(1))/$(2)/$(3)/val.cxs --monitor prognosis:loss --log $$(@D)/log.cxs -o $$@ \
	  $(call DATA,$(1))/$(2)/$(3)/train.cxs $(call DATA,$(1))/tau2-train.cxs

$(RUNS)/$(1)/%/$(2)/$(3)/metrics.cxs: $(RUNS)/$(1)/%/$(2)/$(3)/best.cxs $(call DATA,$(1))/$(2)/$(3)/test.cxs
	$(LAUNCHER) mt-eval -m $$< --threads $(THREADS) --tag backbone=$(1) --tag experiment=$$* --tag protocol=$(2) \
	  --tag fold=$(3) -p $$(@D)/predictions.cxs -o $$@ $(call DATA,$(1))/$(2)/$(3)/test.cxs
endef
$(foreach b,$(BACKBONES),$(foreach p,$(PROTOCOLS),$(foreach f,$(FOLDS_$(p)),$(eval $(call fold_rules,$(b),$(p),$(f))))))

METRICS := $(foreach b,$(BACKBONES),$(foreach e,$(EXPERIMENTS),$(foreach p,$(PROTOCOLS),$(foreach f,$(FOLDS_$(p)),\
    $(RUNS)/$(b)/$(e)/$(p)/$(f)/metrics.cxs))))

# ---- 6. every run's metrics in one stream, a CSV, and Table S1 ----
$(OUT)/metrics$(MODE).cxs: $(METRICS)
	cxr-cat -o $@ $^

$(OUT)/metrics$(MODE).csv: $(OUT)/metrics$(MODE).cxs
	cxr-inspect --csv backbone,experiment,protocol,fold,task,n,acc,f1,gmean,auroc $< > $@.tmp && mv $@.tmp $@

# Table S1: per backbone and experiment, mean(std) over folds of tau1's ACC, F1, G-mean in %
$(OUT)/table-s1$(MODE).md: $(OUT)/metrics$(MODE).cxs $(OUT)/metrics$(MODE).csv
	mt-summary --layout s1 --task prognosis -t markdown $(SUMMARY_FLAGS) $< > $@.tmp && mv $@.tmp $@
	@cat $@
