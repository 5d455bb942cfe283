# make demo: the main job on the built-in phantom data, sized for 2 cores (about 10 minutes).
#   1. phantom chest X-rays -> PNG files + a labels CSV -> cxr-ingest, as a user's data arrives
#   2. a lung U-Net trained on other phantom films (cxr-segment fit), applied with its
#      post-processing; Dice and IoU against the phantom's exact masks
#   3. cxr-crop on the predicted lung masks: the backbones' input
#   4. MDMT (pipelines/mdmt.mk): STL-tau1, STL-tau2, FT and MDMT for two ShuffleNets under
#      5-fold CV and leave-one-center-out -> Table S1
#   5. the report (pipelines/report.mk): Tables 1, 2 and S1, bar and ROC plots
#   6. M3H (pipelines/m3h.mk): image embeddings + tabular + text features, CV over batch x lr,
#      bootstrap, every task pair trained -> the TIM matrix and its heatmap
# Every stage is a file target: rerunning redoes only what changed; a failed stage leaves no
# output (tools write under a temporary name and rename on success).
#   make demo                   everything below
#   make report                 stages 1-5 only
#   make -f pipelines/demo.mk BIN=$PWD/bin OUT=/tmp/d PATIENTS=40 JOBS=4
BIN  ?= bin
OUT  ?= demo
# phantom films: side in pixels, patients per data set
SIZE ?= 128
PATIENTS ?= 80
SEED ?= 1
# make jobs for the MDMT grid (each training uses one thread)
JOBS ?= 2
export PATH := $(abspath $(BIN)):$(PATH)
export OMP_WAIT_POLICY ?= passive

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.PHONY: all report mdmt m3h

all: $(OUT)/summary.txt $(OUT)/overlays/.done $(OUT)/report/report.md $(OUT)/m3h/tim.tsv
	@echo "demo: lung model $(OUT)/lung; MDMT runs in $(OUT)/mdmt; report $(OUT)/report/report.md;" \
	  "M3H and the TIM heatmap in $(OUT)/m3h"

report: $(OUT)/report/report.md

# 1. Phantom chest X-rays: two data sets (prognosis-only and Brixia-only labels) ...
$(OUT)/phantom.cxs:
	@mkdir -p $(@D)
	cxr-phantom --seed $(SEED) --size $(SIZE) --patients $(PATIENTS) -o $@

# ... out to PNG files and a labels CSV, as a user's own data would arrive ...
$(OUT)/png/.done $(OUT)/masks/.done &: $(OUT)/phantom.cxs
	cxr-topng -d $(OUT)/png $<
	cxr-topng -t mask -d $(OUT)/masks $<
	touch $(OUT)/png/.done $(OUT)/masks/.done

$(OUT)/labels.csv: $(OUT)/phantom.cxs
	cxr-inspect --csv patient,center,dataset,view,age,sex,spo2,prognosis,brixia_global,brixia_class $< > $@.tmp && mv $@.tmp $@

# ... and back in: PNG + masks + labels -> an image stream.
$(OUT)/images.cxs: $(OUT)/png/.done $(OUT)/masks/.done $(OUT)/labels.csv
	cxr-ingest --dir $(OUT)/png --mask-dir $(OUT)/masks --labels $(OUT)/labels.csv --require-labels -o $@

$(OUT)/by-dataset/.done: $(OUT)/images.cxs
	@mkdir -p $(@D)
	cxr-split --by dataset -o $(OUT)/by-dataset/%s.cxs $<
	touch $@

# 2. The lung U-Net: trained on phantom films of other patients (another seed), then applied to
#    every image; the exact phantom masks are the truth for Dice and IoU.
$(OUT)/lung/train.cxs:
	@mkdir -p $(@D)
	cxr-phantom --seed $$(($(SEED) + 1000)) --size $(SIZE) --patients 16 -o $@

$(OUT)/lung/model.cxs: $(OUT)/lung/train.cxs
	cxr-segment fit --threads 2 --size 128 --base 8 --batch 4 --lr 5e-3 --epochs 8 \
	  --state $(@D)/state.cxs --log $(@D)/log.cxs -o $@ $<

$(OUT)/lung/segmented.cxs: $(OUT)/lung/model.cxs $(OUT)/images.cxs
	cxr-segment -m $< --threads 2 --truth mask --output-tensor lung_mask -q \
	  --report $(@D)/report.json -o $@ $(OUT)/images.cxs

# 3. Crops from the predicted masks (the ground-truth mask is not used from here on).
$(OUT)/crops.cxs: $(OUT)/lung/segmented.cxs
	cxr-crop --mask lung_mask --size 48 --channels 1 --normalize imagenet -o $@ $<

# 4. The MDMT grid on those crops, and 5. its report.
$(OUT)/mdmt/table-s1.md: $(OUT)/crops.cxs
	$(MAKE) -f pipelines/mdmt.mk BIN=$(BIN) OUT=$(OUT)/mdmt CROPS=$(OUT)/crops.cxs -j$(JOBS)

$(OUT)/report/report.md: $(OUT)/mdmt/table-s1.md
	$(MAKE) -f pipelines/report.mk BIN=$(BIN) RUNS=$(OUT)/mdmt OUT=$(OUT)/report

# 6. M3H on its own phantom with every label on every record, and the TIM.
$(OUT)/m3h/tim.tsv:
	$(MAKE) -f pipelines/m3h.mk BIN=$(BIN) OUT=$(OUT)/m3h BATCHES="32 64" LRS="1e-3 3e-3"

# Look: overlays of the predicted masks, and a summary of what the streams hold.
$(OUT)/overlays/.done: $(OUT)/lung/segmented.cxs
	cxr-topng --overlay lung_mask --index 0-5 -d $(OUT)/overlays $<
	touch $@

$(OUT)/summary.txt: $(OUT)/images.cxs $(OUT)/by-dataset/.done $(OUT)/lung/segmented.cxs
	{ cxr-inspect --header $<; \
	  for f in $(OUT)/by-dataset/*.cxs; do printf '%s: %s records\n' $$f "$$(cxr-inspect -c $$f)"; done; \
	  echo "lung segmentation against the phantom's masks:"; cat $(OUT)/lung/report.json; } > $@.tmp && mv $@.tmp $@
	@cat $@
