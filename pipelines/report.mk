# The MDMT report (DESIGN.md 1.1, project issue #8): the grid's metrics and predictions
# (pipelines/mdmt.mk, its OUT) turned into the paper's Table 1, Table 2 and Table S1 in Markdown
# and plots as PNG, gathered in OUT/report.md.
#
#   make -f pipelines/report.mk BIN=$PWD/bin RUNS=mdmt OUT=mdmt/report
#
# It reads, and never rebuilds, what the grid wrote:
#   RUNS/metrics.cxs                                          every run's metrics (mt-eval -o)
#   RUNS/runs/BACKBONE/EXPERIMENT/PROTOCOL/FOLD/predictions.cxs   every run's predictions (-p)
# and writes into OUT:
#   summary.cxs        mean and std over folds per backbone, experiment, protocol, task (mt-summary)
#   table1.md          Table 1: per experiment and protocol, the mean over backbones (mt-report)
#   table2-P.md        Table 2 for protocol P: MDMT vs STL and vs FT, paired by backbone, one-sided
#                      paired t-tests of the fold means (greater) and fold stds (less) (stat-ttest)
#   table-s1.md        Table S1: per backbone and experiment, mean(std) over folds (mt-summary)
#   bars.png           per protocol and metric, a bar per backbone and experiment, std whiskers
#   roc-B-P.png        ROC curves of TASK for backbone B, protocol P: one per experiment, the
#                      test folds pooled (mt-roc)
#   report.md          the three tables and links to the PNGs
# Each PNG has its gnuplot script beside it (.gp). Every output appears whole or not at all.
# Table 2 pairs backbones: it needs at least 2 of them with every experiment compared.

BIN  ?= bin
RUNS ?= mdmt
OUT  ?= $(RUNS)/report
TASK ?= prognosis
METRICS ?= acc,f1,gmean
# the experiments' names in the grid (mdmt.mk's)
STL  ?= stl-tau1
FT   ?= ft
MDMT ?= mdmt
EXPERIMENTS ?= $(STL) $(FT) $(MDMT)
export PATH := $(abspath $(BIN)):$(PATH)

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DELETE_ON_ERROR:
.PHONY: all

comma := ,
empty :=
space := $(empty) $(empty)

# What the grid holds: backbones and protocols from its directories.
PREDICTIONS := $(wildcard $(RUNS)/runs/*/*/*/*/predictions.cxs)
run_part = $(word $(1),$(subst /, ,$(patsubst $(RUNS)/runs/%,%,$(2))))
BACKBONES := $(sort $(foreach f,$(PREDICTIONS),$(call run_part,1,$(f))))
PROTOCOLS := $(sort $(foreach f,$(PREDICTIONS),$(call run_part,3,$(f))))
# predictions of backbone $(1), experiment $(2), protocol $(3): every fold
folds_of = $(wildcard $(RUNS)/runs/$(1)/$(2)/$(3)/*/predictions.cxs)

ROCS := $(foreach b,$(BACKBONES),$(foreach p,$(PROTOCOLS),$(OUT)/roc-$(b)-$(p).png))
TABLES := $(OUT)/table1.md $(foreach p,$(PROTOCOLS),$(OUT)/table2-$(p).md) $(OUT)/table-s1.md

all: $(OUT)/report.md

$(RUNS)/metrics.cxs:
	@echo "report.mk: $@ is missing: run the grid first (make -f pipelines/mdmt.mk OUT=$(RUNS))" >&2; exit 1

$(OUT)/summary.cxs: $(RUNS)/metrics.cxs
	@mkdir -p $(@D)
	mt-summary -o $@ $<

$(OUT)/table1.md: $(OUT)/summary.cxs
	mt-report --task $(TASK) -m $(METRICS) -o $@ $<

$(OUT)/table2-%.md: $(OUT)/summary.cxs
	stat-ttest -w protocol=$* -w task=$(TASK) -p backbone -c experiment=$(MDMT),$(STL) -c experiment=$(MDMT),$(FT) \
	  -k $(subst $(comma),_mean$(comma),$(METRICS))_mean:greater -k $(subst $(comma),_std$(comma),$(METRICS))_std:less \
	  --table -o $@ $<

$(OUT)/table-s1.md: $(RUNS)/metrics.cxs
	@mkdir -p $(@D)
	mt-summary --layout s1 --task $(TASK) -m $(METRICS) -t markdown $< > $@.tmp && mv $@.tmp $@

# A PNG from its gnuplot script, drawn under a temporary name.
$(OUT)/%.png: $(OUT)/%.gp
	gnuplot -e "png='$@.tmp'" $< && mv $@.tmp $@

$(OUT)/bars.gp: $(OUT)/summary.cxs
	mt-report --task $(TASK) -m $(METRICS) --plot bars.png -o $@ $<

define roc_rule
$(OUT)/roc-$(1)-$(2).gp: $(foreach e,$(EXPERIMENTS),$(call folds_of,$(1),$(e),$(2)))
	@mkdir -p $$(@D)
	mt-roc --task $(TASK) --title '$(TASK): $(1), $(2), test folds pooled' --plot roc-$(1)-$(2).png -o $$@ \
	  $(foreach e,$(EXPERIMENTS),$(if $(call folds_of,$(1),$(e),$(2)),$(e)=$(subst $(space),$(comma),$(strip $(call folds_of,$(1),$(e),$(2))))))
endef
$(foreach b,$(BACKBONES),$(foreach p,$(PROTOCOLS),$(eval $(call roc_rule,$(b),$(p)))))

$(OUT)/report.md: $(TABLES) $(OUT)/bars.png $(ROCS)
	{ echo "# MDMT report: task $(TASK)"; echo; \
	  echo "Runs: $(RUNS) ($(words $(BACKBONES)) backbones: $(BACKBONES); protocols: $(PROTOCOLS))."; echo; \
	  echo "## Table 1. Average performance across backbones"; echo; cat $(OUT)/table1.md; echo; \
	  echo "## Table 2. $(MDMT) vs $(STL) and vs $(FT): one-sided paired t-tests across backbones"; echo; \
	  echo "Rows H1 greater: the fold means (mu); rows H1 less: the fold standard deviations (sigma)."; \
	  $(foreach p,$(PROTOCOLS),echo; echo "### $(p)"; echo; cat $(OUT)/table2-$(p).md;) \
	  echo; echo "## Table S1. Per backbone: mean(std) over folds, %"; echo; cat $(OUT)/table-s1.md; echo; \
	  echo "## Plots"; echo; echo "![mean and std over folds per backbone](bars.png)"; echo; \
	  $(foreach r,$(ROCS),echo "![ROC $(basename $(notdir $(r)))]($(notdir $(r)))"; echo;) \
	} > $@.tmp && mv $@.tmp $@
