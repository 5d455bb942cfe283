# The lung segmentation model and its evaluation (cxr-segment(1)).
#   make -f pipelines/lung.mk BIN=$PWD/bin OUT=/tmp/lung                    phantom data only
#   make -f pipelines/lung.mk BIN=$PWD/bin OUT=/tmp/lung DATA=/path/to/cxr-public
# Trains on phantom X-rays, plus, when DATA is set, the training patients of the real images
# that have a lung mask; evaluates on held-out phantom records and held-out real patients:
# Dice / IoU per image and overall, the lung-box IoU against lung_bbox, and overlays to look at.
# Real split, a fixed rule: the patients with a mask, sorted by name, every 5th (the 5th, 10th,
# ...) is a test patient (20%); all of a patient's images go to the same side.
BIN      ?= bin
OUT      ?= lung
DATA     ?=
SIZE     ?= 128
BASE     ?= 16
EPOCHS   ?= 30
BATCH    ?= 4
PATIENTS ?= 20
THREADS  ?= 2
SEED     ?= 1
export PATH := $(BIN):$(PATH)
export OMP_WAIT_POLICY ?= passive

FIT = cxr-segment fit --size $(SIZE) --base $(BASE) --epochs $(EPOCHS) --batch $(BATCH) --seed $(SEED) \
      --threads $(THREADS) --val-fraction 0.15
EVAL = cxr-segment --threads $(THREADS) --truth mask --truth-box lung_bbox --output-tensor lung_mask

TRAIN = $(OUT)/phantom-train.cxs $(if $(DATA),$(OUT)/real-train.cxs)
REPORTS = $(OUT)/phantom-report.json $(if $(DATA),$(OUT)/real-report.json)

.PHONY: all
all: $(REPORTS) $(OUT)/overlays/.done

$(OUT)/phantom-train.cxs:
	@mkdir -p $(@D)
	cxr-phantom --size $(SIZE) --patients $(PATIENTS) --seed 11 -o $@

$(OUT)/phantom-test.cxs:
	@mkdir -p $(@D)
	cxr-phantom --size $(SIZE) --patients 4 --seed 12 -o $@

# The real images with a mask, and the test ids by the rule above.
$(OUT)/real.cxs:
	@mkdir -p $(@D)
	cxr-ingest --dir $(DATA)/images --mask-dir $(DATA)/masks -l $(DATA)/labels.csv \
	  | cxr-select --where has_mask=1 -o $@

$(OUT)/real-test.ids: $(DATA)/labels.csv
	@mkdir -p $(@D)
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$$i] = i; next } \
	  $$col["has_mask"] == 1 { print $$col["patient"], $$col["id"] }' $< | sort -k1,1 -k2,2 \
	  | awk '$$1 != last { n++; last = $$1 } n % 5 == 0 { print $$2 }' > $@.tmp && mv $@.tmp $@

$(OUT)/real-train.cxs: $(OUT)/real.cxs $(OUT)/real-test.ids
	cxr-select --ids-from $(OUT)/real-test.ids --invert -o $@ $<

$(OUT)/real-test.cxs: $(OUT)/real.cxs $(OUT)/real-test.ids
	cxr-select --ids-from $(OUT)/real-test.ids -o $@ $<

$(OUT)/lung.cxs: $(TRAIN)
	$(FIT) --state $(OUT)/lung-state.cxs --log $(OUT)/lung-log.cxs -o $@ $^

$(OUT)/%-report.json: $(OUT)/lung.cxs $(OUT)/%-test.cxs
	$(EVAL) -m $< --report $@ -o $(OUT)/$*-segmented.cxs $(OUT)/$*-test.cxs 2> $(OUT)/$*-eval.txt; \
	  status=$$?; cat $(OUT)/$*-eval.txt; exit $$status

$(OUT)/overlays/.done: $(REPORTS)
	cxr-topng --overlay lung_mask -d $(OUT)/overlays $(OUT)/phantom-segmented.cxs
	$(if $(DATA),cxr-topng --overlay lung_mask -d $(OUT)/overlays $(OUT)/real-segmented.cxs)
	$(if $(DATA),cxr-topng --overlay mask --suffix -truth -d $(OUT)/overlays $(OUT)/real-segmented.cxs)
	touch $@
