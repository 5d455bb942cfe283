# make bench: speed beside PyTorch on this machine, in the same run (never asserted in tests).
#
# 1. Per convolution shape (tests/bench/conv_shapes.tsv: ResNet-18, DenseNet-121, MobileNetV2),
#    batch 16: forward and backward GFLOP/s of cxr-mtl's conv2d and of torch's conv2d.
# 2. Per backbone of BENCH_MODELS: training (batch 16) and inference (batch 32) at 224x224 on
#    BENCH_THREADS threads, by cxr-mtl (tests/bench/backbone_bench.c) and by PyTorch
#    (SHARED/bench/pytorch_bench.py: the same model, batch, loss and optimiser).
# cxr-mtl runs twice: with OPENBLAS_CORETYPE as the environment has it, and unset, as a fresh
# machine runs (OpenBLAS then picks its AVX-512 kernels); PyTorch's convolutions use oneDNN and
# ignore it. Each configuration is its own process, so peak RSS is per configuration.
#   make bench BENCH_MODELS="resnet18 densenet121" BENCH_ITERS=5
BENCH_BIN     ?= build/bench
SHARED        ?= ../shared
BENCH_MODELS  ?= resnet18 densenet121 mobilenet_v2 resnet50 efficientnet_b0 shufflenet_v2_x1_0 googlenet
BENCH_THREADS ?= 2
BENCH_RES     ?= 224
BENCH_WARMUP  ?= 2
BENCH_ITERS   ?= 5
OUT           ?= bench-results
PY            := /usr/bin/python3
CORE          := $(or $(OPENBLAS_CORETYPE),auto)

.PHONY: all
all: $(OUT)/conv.md $(OUT)/backbones.md
	@cat $^

$(OUT)/conv.jsonl: $(BENCH_BIN)/conv_bench tests/bench/conv_shapes.tsv
	@mkdir -p $(OUT)
	{ $(BENCH_BIN)/conv_bench -j -t $(BENCH_THREADS) | sed 's/}$$/, "coretype": "$(CORE)"}/'; \
	  env -u OPENBLAS_CORETYPE $(BENCH_BIN)/conv_bench -j -t $(BENCH_THREADS) | sed 's/}$$/, "coretype": "auto"}/'; \
	  $(PY) tests/bench/torch_conv.py 16 $(BENCH_THREADS); } > $@.tmp && mv $@.tmp $@

$(OUT)/backbones.jsonl: $(BENCH_BIN)/backbone_bench
	@mkdir -p $(OUT) && : > $@.tmp
	@for m in $(BENCH_MODELS); do for mode in train infer; do \
	  b=$$([ $$mode = train ] && echo 16 || echo 32); \
	  echo "bench: $$m $$mode batch $$b" >&2; \
	  $(BENCH_BIN)/backbone_bench $$m $$mode $$b $(BENCH_RES) $(BENCH_THREADS) $(BENCH_WARMUP) $(BENCH_ITERS) \
	    | sed 's/}$$/, "coretype": "$(CORE)"}/' >> $@.tmp || exit 1; \
	  env -u OPENBLAS_CORETYPE $(BENCH_BIN)/backbone_bench $$m $$mode $$b $(BENCH_RES) $(BENCH_THREADS) $(BENCH_WARMUP) $(BENCH_ITERS) \
	    | sed 's/}$$/, "coretype": "auto"}/' >> $@.tmp || exit 1; \
	  $(PY) $(SHARED)/bench/pytorch_bench.py run $$m --mode $$mode --batch $$b --res $(BENCH_RES) \
	    --threads $(BENCH_THREADS) --warmup $(BENCH_WARMUP) --iters $(BENCH_ITERS) \
	    | sed 's/^{/{"impl": "pytorch", /' >> $@.tmp || exit 1; \
	done; done
	@mv $@.tmp $@

$(OUT)/%.md: $(OUT)/%.jsonl tests/bench/table.py
	$(PY) tests/bench/table.py $* $< > $@.tmp && mv $@.tmp $@
