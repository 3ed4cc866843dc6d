# onnx2lite - plain GNU make.
#   make            build/onnx2lite and build/libonnx2lite.a
#   make test       unit tests and conformance tests, under ASan + UBSan
#   make asan       the sanitized build only (build/asan/)
#   make venv       the Python environment the tests use (build/venv)
#   make bench      benchmarks (bench/)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS := -Iinclude -Isrc
LDLIBS  := -lm
# zlib (.npz), libpng, libjpeg: calibration data (src/quant/calib_data.c);
# Debian zlib1g-dev libpng-dev libjpeg62-turbo-dev
LDLIBS  += -lz -lpng -ljpeg

SRC_ALL := $(sort $(wildcard src/*.c src/*/*.c))
LIB_SRC := $(filter-out src/main.c,$(SRC_ALL))
HDRS    := $(wildcard include/*.h src/*.h src/*/*.h src/*/*.def)

B  := build
BA := build/asan

LIB_OBJ   := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
LIB_OBJ_A := $(LIB_SRC:src/%.c=$(BA)/obj/%.o)
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BA)/tests/%)

PYTHON ?= python3
VENV   := $(B)/venv
VPY    := $(VENV)/bin/python

.PHONY: all asan test unit conformance checks venv bench clean

all: $(B)/onnx2lite $(B)/libonnx2lite.a

$(B)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c $< -o $@

$(BA)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) -O1 -g $(SAN) -c $< -o $@

$(B)/libonnx2lite.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BA)/libonnx2lite.a: $(LIB_OBJ_A)
	@rm -f $@
	ar rcs $@ $^

$(B)/onnx2lite: $(B)/obj/main.o $(B)/libonnx2lite.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BA)/onnx2lite: $(BA)/obj/main.o $(BA)/libonnx2lite.a
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

$(BA)/tests/%: tests/unit/%.c tests/unit/check.h $(BA)/libonnx2lite.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(WARN) -Wno-missing-prototypes -O1 -g $(SAN) -o $@ $< $(BA)/libonnx2lite.a $(LDLIBS)

asan: $(BA)/onnx2lite

venv: $(VENV)/.done

# Made afresh whenever tests/requirements.txt changes.  Works with any
# python3 that has the venv module (pyenv's; Debian's needs python3-venv).
PIP := $(VPY) -m pip install -q --disable-pip-version-check --retries 5 --timeout 60
$(VENV)/.done: tests/requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "'$(PYTHON) -m venv' failed;" \
	  "on Debian/Ubuntu: apt-get install python3-venv" >&2; exit 1; }
	$(PIP) --upgrade pip
	$(PIP) -r tests/requirements.txt
	$(VPY) -c "import numpy, onnx, onnxruntime, ai_edge_litert.interpreter"
	touch $@

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

conformance: $(BA)/onnx2lite $(B)/onnx2lite venv
	$(VPY) tests/run_conformance.py --bin $(BA)/onnx2lite

# LiteRT checks per lowering family, of the writer, of the float kernels
# against LiteRT, and of quantization (every mode, calibration methods,
# Vela, bad calibration data).  The parts that need ../shared/models are
# skipped when it is absent.
SHARED_MODELS := $(wildcard ../shared/models/manifest.json)
checks: $(BA)/onnx2lite $(B)/onnx2lite $(B)/ref_run venv
	$(VPY) tests/tfl_runtime_check.py
	$(VPY) tests/check_lower_eltwise.py --bin $(BA)/onnx2lite
	$(VPY) tests/check_lower_shape.py --bin $(BA)/onnx2lite
	$(VPY) tests/check_ops_extra.py --bin $(BA)/onnx2lite
	$(VPY) tests/check_zoo_regressions.py --bin $(BA)/onnx2lite
	$(VPY) tests/check_quant_regressions.py --bin $(B)/onnx2lite
ifneq ($(SHARED_MODELS),)
	$(VPY) tests/check_ref_vs_litert.py --bin $(B)/onnx2lite --models-dir ../shared/models --fixtures
	$(VPY) tests/check_quant.py --bin $(B)/onnx2lite --only modes,methods,options,vela,ops,errors
else
	$(VPY) tests/check_quant.py --bin $(B)/onnx2lite --only ops
endif

test: all unit conformance checks
	@echo "all tests passed"

bench: $(B)/onnx2lite venv
	$(VPY) bench/bench_convert.py --bin $(B)/onnx2lite

clean:
	rm -rf $(B)/obj $(BA) $(B)/onnx2lite $(B)/libonnx2lite.a

# ---- src/ref: float reference kernels (calibration throughput) ----------
# -O3 keeps the GEMM and depthwise register tiles in vector registers and
# -ffp-contract=fast lets the AVX2/AVX-512 variants (chosen at run time,
# see src/ref/ref_impl.h) use FMA, which -std=c11 would otherwise forbid.
# No -march: the binary still runs on any x86-64.
$(B)/obj/ref/%.o: CFLAGS += -O3 -ffp-contract=fast

# ---- constant folding of weight-sized tensors (weight standardization) -----
# -O3 vectorizes the float32 row loops of eltwise/reduce/norm folding; no
# -ffp-contract: folded constants stay those of one rounding per operation.
$(B)/obj/ops/eltwise.o $(B)/obj/ops/reduce.o $(B)/obj/ops/norm.o: CFLAGS += -O3

# Kernel GFLOP/s and a synthetic MobileNetV2 per ISA: make build/bench_ref
$(B)/bench_ref: bench/bench_ref.c $(B)/libonnx2lite.a
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(B)/libonnx2lite.a $(LDLIBS)

# A .tflite run by the reference kernels, for tests/check_ref_vs_litert.py
$(B)/ref_run: tests/unit/ref_run.c $(B)/libonnx2lite.a
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(B)/libonnx2lite.a $(LDLIBS)
$(B)/ref_cases: tests/unit/ref_cases.c $(B)/libonnx2lite.a
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(B)/libonnx2lite.a $(LDLIBS)
