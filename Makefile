# cxr-mtl: one library (lib/ -> build/libcxr.a), one program per tools/*.c (-> bin/).
#   make            build everything          make check   unit + bats tests
#   make demo       the main job on phantom   make bench   speed beside PyTorch
#   make report     the MDMT grid's tables and plots (demo/report/report.md)
#   make fuzz       bounded fuzzing runs      make install PREFIX=/usr/local
#   make SAN=1 ...  the same under AddressSanitizer + UBSan (separate build tree)
VERSION := 0.1.0
PREFIX  ?= /usr/local

CC      ?= cc
OPT     ?= -O2
BLAS_INC ?= /usr/include/x86_64-linux-gnu/openblas-pthread
# x86-64-v3 (AVX2, FMA) is what the project's machines have; ARCH= builds for any x86-64.
# -std=c11 keeps floating-point contraction off, so results do not depend on ARCH.
ARCH    ?= -march=x86-64-v3
CFLAGS  ?= $(OPT) $(ARCH) -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-format-truncation
CPPFLAGS += -fopenmp -std=c11 -D_GNU_SOURCE -DCX_VERSION='"$(VERSION)"' -Ilib -isystem $(BLAS_INC) -MMD -MP
LDLIBS  += -fopenmp -lpng -lmsgpackc -lopenblas -lm -lpthread

ifeq ($(SAN),1)
BUILD   ?= build-san
BIN     ?= $(BUILD)/bin
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   ?= build
BIN     ?= bin
endif

LIB_SRC   := $(sort $(wildcard lib/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libcxr.a
TOOL_SRC  := $(sort $(wildcard tools/*.c))
# Scripts in tools/ (no .c) are programs too: copied to bin/ and installed.
TOOL_SCRIPTS := $(filter-out %.c,$(sort $(wildcard tools/*)))
TOOLS     := $(TOOL_SRC:tools/%.c=$(BIN)/%) $(TOOL_SCRIPTS:tools/%=$(BIN)/%)
UNIT_SRC  := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT      := $(BUILD)/tests/unit-tests
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCHES   := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
MAN1      := $(sort $(wildcard man/man1/*.1))
MAN5      := $(sort $(wildcard man/man5/*.5))

.PHONY: all check unit bats demo report bench fuzz install clean deps
all: deps $(TOOLS)

include pipelines/deps.mk

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/%: tools/%
	@mkdir -p $(@D)
	install -m 755 $< $@

$(BIN)/%: $(BUILD)/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(UNIT): $(UNIT_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(UNIT_OBJ) $(LIB) $(LDLIBS) -o $@

# make check runs both suites and closes with one 'N passed, N failed' line (tests/check.sh).
unit: deps $(UNIT)
	$(UNIT)

bats: deps $(TOOLS)
	CXR_BIN=$(abspath $(BIN)) bats --print-output-on-failure tests/bats

check: deps $(UNIT) $(TOOLS)
	$(if $(filter 1,$(SAN)),CXR_SANITIZED=1) tests/check.sh $(UNIT) $(abspath $(BIN)) $(BUILD)/check

demo: all
	$(MAKE) -f pipelines/demo.mk BIN=$(abspath $(BIN))

report: all
	$(MAKE) -f pipelines/demo.mk BIN=$(abspath $(BIN)) report

bench: all $(BENCHES)
	$(MAKE) deps DEPS_EXTRA="python3-torch python3-torchvision"
	$(MAKE) -f pipelines/bench.mk BENCH_BIN=$(abspath $(BUILD)/bench)

fuzz:
	$(MAKE) deps DEPS_EXTRA="clang libclang-rt-14-dev zlib1g-dev"
	$(MAKE) -f pipelines/fuzz.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf build build-san build-fuzz bin

-include $(LIB_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%.d)
.SECONDARY:
