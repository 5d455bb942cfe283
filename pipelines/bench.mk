# make bench: speed figures beside PyTorch (never asserted in tests). Stages are added by the
# engine and backbone work; each prints its own table.
BIN ?= bin
.PHONY: all
all:
	@echo "bench: no benchmarks built yet"
