# srs — Stackelberg reward shaping engine.
#
#   make            build build/srs, build/libsrs.a, build/libsrs.so
#   make test       build and run the test suite (installs missing Debian packages first)
#   make demo       build and run `srs demo`, the main job on the embedded default scenario
#   make sanitize   build with ASan + UBSan into build-san/ and run the test suite there
#   make bench      CPU threshold benchmark against NumPy and SciPy (results/cpu-threshold.md)
#
# Overrides: CC, OPT, ARCH (default -march=native), NO_OMP=1, BUILD=dir,
# NVCC, GPU_COMPUTE_CAPABILITY (default 90), SAN_FLAGS.

CC    ?= gcc
BUILD ?= build
OPT   ?= -O3
ARCH  ?= -march=native
GPU_COMPUTE_CAPABILITY ?= 90
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
              -Wno-unused-parameter -fPIC -fvisibility=hidden -Iinclude -Ihost
# SAN: extra compile and link flags (the sanitize target sets it); CFLAGS and
# LDFLAGS from the command line or environment are appended, never replace ours.
SAN ?=
ifeq ($(NO_OMP),1)
  $(info srs: OpenMP disabled (NO_OMP=1))
  OMP :=
else
  OMP := -fopenmp
endif
ALL_CFLAGS  = $(CFLAGS_BASE) $(OPT) $(ARCH) -g $(OMP) $(SAN) $(CFLAGS)
ALL_LDFLAGS = $(OMP) $(SAN) $(LDFLAGS)
LDLIBS += -ljansson -linih -lm

# ---- CUDA detection ----------------------------------------------------------
# The CUDA backend (kernels/) is its own piece of work; until its kernels exist
# the build is CPU-only whether or not nvcc is present, and says so.
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
KERNEL_SRC := $(wildcard kernels/*.cu)
ifeq ($(NVCC),)
  CUDA_MSG := srs: nvcc not found: building the CPU-only engine
else ifeq ($(KERNEL_SRC),)
  CUDA_MSG := srs: nvcc found ($(NVCC)) but the CUDA backend is not implemented yet: building the CPU-only engine
else
  CUDA_MSG := srs: nvcc found ($(NVCC)): CUDA backend compiled for sm_$(GPU_COMPUTE_CAPABILITY)
endif

# ---- sources -----------------------------------------------------------------
CLI_SRC  := $(wildcard host/cli*.c) host/progress.c
LIB_SRC  := $(filter-out $(CLI_SRC),$(wildcard host/*.c))
TEST_SRC := $(wildcard tests/*.c)
HDRS     := $(wildcard include/*.h host/*.h tests/*.h)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

SRS     := $(BUILD)/srs
LIBA    := $(BUILD)/libsrs.a
LIBSO   := $(BUILD)/libsrs.so
TESTBIN := $(BUILD)/test_srs
DEPS_OK := .deps-ok

.PHONY: all test demo sanitize bench clean deps cuda-info
all: cuda-info $(SRS) $(LIBA) $(LIBSO)

cuda-info:
	@echo "$(CUDA_MSG)"

# Debian packages the build needs; installed by scripts/install-deps.sh when missing.
deps: $(DEPS_OK)
$(DEPS_OK): scripts/install-deps.sh
	@bash scripts/install-deps.sh
	@touch $@

$(BUILD)/obj/%.o: %.c $(HDRS) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBSO): $(LIB_OBJ)
	$(CC) -shared $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(SRS): $(CLI_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LDLIBS)

$(TESTBIN): $(TEST_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(LIBA) $(LDLIBS)

test: all $(TESTBIN)
	SRS_BIN=$(SRS) $(TESTBIN)

demo: all
	$(SRS) demo

SAN_FLAGS ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
sanitize: | $(DEPS_OK)
	$(MAKE) BUILD=build-san OPT="-O1" SAN="$(SAN_FLAGS)" all build-san/test_srs
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    SRS_BIN=build-san/srs SRS_TEST_QUICK=1 build-san/test_srs

bench: all
	bash bench/run_cpu.sh

clean:
	rm -rf build build-san
