# Bounded fuzzing runs: make fuzz (or make -f pipelines/fuzz.mk FUZZ_SECONDS=300).
#
# Each harness tests/fuzz/fuzz_NAME.c is linked by clang with libFuzzer, AddressSanitizer and
# UBSan against the library sources compiled with the same sanitizers in build-fuzz/ (its own
# object tree: the normal build has no coverage instrumentation). Each runs for FUZZ_SECONDS
# from its seed corpus tests/fuzz/corpus/NAME/ (tests/fuzz/make_corpus.py writes it; inputs
# found while fuzzing go to build-fuzz/corpus/NAME/) and prints its executions and crashes.
# A crash leaves its input in build-fuzz/crashes/NAME/ and makes the whole run fail.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ         ?= build-fuzz

HARNESSES := stream png csv
# Longest input per harness: a few records, a small image, a label table.
MAX_LEN_stream := 4096
MAX_LEN_png    := 16384
MAX_LEN_csv    := 4096

# Own names, so CFLAGS=... on the make command line cannot drop the sanitizers.
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CPPFLAGS := -fopenmp -std=c11 -D_GNU_SOURCE -DCX_VERSION='"fuzz"' -Ilib -MMD -MP
FUZZ_CFLAGS   := -O1 -g -fno-omit-frame-pointer $(FUZZ_SANITIZE)
# No BLAS: nothing here needs it, and its idle threads would spin beside the fuzzer.
FUZZ_LDLIBS   := -fopenmp -lpng -lz -lmsgpackc -lm -lpthread

# The wings the harnesses reach: coverage-instrumenting the numeric kernels would only slow them.
LIB_SRC := $(sort $(wildcard lib/core/*.c lib/io/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ)/%.o)
RUNS    := $(HARNESSES:%=run-%)

.PHONY: fuzz build   # not $(RUNS): make skips pattern rules for phony targets
fuzz: $(RUNS)
	@for h in $(HARNESSES); do \
	  [ "$$(cat $(FUZZ)/logs/$$h.status)" = 0 ] || { echo "fuzz: fuzz_$$h failed: $(FUZZ)/logs/$$h.log"; exit 1; }; \
	done

build: $(HARNESSES:%=$(FUZZ)/fuzz_%)

# One harness: its exit status goes to logs/NAME.status, so every harness runs before fuzz fails.
run-%: $(FUZZ)/fuzz_%
	@rm -rf $(FUZZ)/crashes/$* && mkdir -p $(FUZZ)/corpus/$* $(FUZZ)/crashes/$* $(FUZZ)/logs
	@$< -max_total_time=$(FUZZ_SECONDS) -max_len=$(MAX_LEN_$*) -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ)/crashes/$*/ $(FUZZ)/corpus/$* tests/fuzz/corpus/$* > $(FUZZ)/logs/$*.log 2>&1; \
	  echo $$? > $(FUZZ)/logs/$*.status; \
	  echo "fuzz_$*: $$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ)/logs/$*.log) executions," \
	       "$$(ls $(FUZZ)/crashes/$* | wc -l) crashes in $(FUZZ_SECONDS) s"; \
	  grep -m1 '^SUMMARY' $(FUZZ)/logs/$*.log || true

$(FUZZ)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ)/fuzz_%: $(FUZZ)/tests/fuzz/fuzz_%.o $(LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(FUZZ_LDLIBS) -o $@

-include $(LIB_OBJ:.o=.d) $(HARNESSES:%=$(FUZZ)/tests/fuzz/fuzz_%.d)
.SECONDARY:
