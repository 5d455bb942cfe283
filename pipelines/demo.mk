# make demo: the main job on the built-in phantom data, small enough for 2 cores.
# Every stage is a file target: rerunning redoes only what changed; a failed stage leaves
# no output (tools write under a temporary name and rename on success).
#   make demo                   everything below
#   make -f pipelines/demo.mk BIN=$PWD/bin OUT=/tmp/d SIZE=512
BIN  ?= bin
OUT  ?= demo
SIZE ?= 256
SEED ?= 1
PATIENTS ?= 24
export PATH := $(BIN):$(PATH)

.PHONY: all
all: $(OUT)/summary.txt $(OUT)/overlays/.done

# 1. Phantom chest X-rays: two data sets (prognosis-only and Brixia-only labels).
$(OUT)/phantom.cxs:
	@mkdir -p $(@D)
	cxr-phantom --seed $(SEED) --size $(SIZE) --patients $(PATIENTS) -o $@

# 2. Out to PNG files and a labels CSV, as a user's own data would arrive ...
$(OUT)/png/.done $(OUT)/masks/.done: $(OUT)/phantom.cxs
	cxr-topng -d $(OUT)/png $<
	cxr-topng -t mask -d $(OUT)/masks $<
	touch $(OUT)/png/.done $(OUT)/masks/.done

$(OUT)/labels.csv: $(OUT)/phantom.cxs
	cxr-inspect --csv patient,center,dataset,view,age,sex,spo2,prognosis,brixia_global,brixia_class $< > $@.tmp && mv $@.tmp $@

# 3. ... and back in: PNG + masks + labels -> an image stream.
$(OUT)/images.cxs: $(OUT)/png/.done $(OUT)/masks/.done $(OUT)/labels.csv
	cxr-ingest --dir $(OUT)/png --mask-dir $(OUT)/masks --labels $(OUT)/labels.csv --require-labels -o $@

# 4. Plumbing: one stream per data set and per center.
$(OUT)/by-dataset/.done: $(OUT)/images.cxs
	@mkdir -p $(@D)
	cxr-split --by dataset -o $(OUT)/by-dataset/%s.cxs $<
	touch $@

# 5. Look: overlays of masks on images, and a summary of what the streams hold.
$(OUT)/overlays/.done: $(OUT)/images.cxs
	cxr-topng --overlay mask --index 0-5 -d $(OUT)/overlays $<
	touch $@

$(OUT)/summary.txt: $(OUT)/images.cxs $(OUT)/by-dataset/.done
	{ cxr-inspect --header $<; \
	  for f in $(OUT)/by-dataset/*.cxs; do printf '%s: %s records\n' $$f "$$(cxr-inspect -c $$f)"; done; \
	  cxr-inspect --stats --index 0-1 $<; } > $@.tmp && mv $@.tmp $@
	@cat $@
	@echo "demo: images in $(OUT)/png, overlays in $(OUT)/overlays, streams in $(OUT)/"
