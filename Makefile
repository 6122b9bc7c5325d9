# srs — Stackelberg reward shaping engine.
#
#   make            build build/srs, build/libsrs.a, build/libsrs.so
#   make test       build and run the test suite (installs missing Debian packages first)
#   make demo       build and run `srs demo`, the main job on the embedded default scenario
#   make sanitize   build with ASan + UBSan into build-san/ (CPU-only: ASan and the CUDA
#                   runtime do not mix) and run the test suite there
#   make test-portable  the test suite on a build without AVX2/AVX-512 (build-portable/):
#                   the portable fallbacks of the vectorised paths
#   make bench      CPU threshold benchmark against NumPy and SciPy (results/cpu-threshold.md)
#   make test-mpi   srs under mpirun with 1-4 ranks (tests/mpi/run.sh)
#   make test-slurm the Slurm templates on a localhost cluster, as root (tests/slurm/run.sh)
#   make bench-mpi  MPI strong scaling of threshold precomputation (results/mpi-scaling.md)
#
# Overrides: CC, OPT, ARCH (default -march=native), NO_OMP=1, BUILD=dir,
# NVCC, NO_CUDA=1 (CPU-only even where nvcc is found), GPU_COMPUTE_CAPABILITY
# (default 90: `make GPU_COMPUTE_CAPABILITY=80` for an A100), SAN_FLAGS,
# MPI=0|1 (default: with MPI when mpicc is found), MPICC.

CC    ?= gcc
# NO_CUDA=1 builds into its own directory: objects of the two configurations never mix
ifeq ($(NO_CUDA),1)
  BUILD ?= build-cpu
endif
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
LDLIBS += -ljansson -lopenblas -linih -lm

# ---- CUDA detection ----------------------------------------------------------
# With nvcc (on the PATH or in /usr/local/cuda) every kernels/*.cu is compiled
# for sm_$(GPU_COMPUTE_CAPABILITY) into the library, host code gets
# SRS_WITH_CUDA, and everything links cudart, cuBLAS and cuRAND (NVTX 3 is
# header-only). NO_CUDA=1, or no nvcc, builds the complete CPU-only engine.
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
KERNEL_SRC := $(wildcard kernels/*.cu)
ifeq ($(NO_CUDA),1)
  CUDA_MSG := srs: NO_CUDA=1: building the CPU-only engine
  KERNEL_SRC :=
else ifeq ($(NVCC),)
  CUDA_MSG := srs: nvcc not found: building the CPU-only engine
else ifeq ($(KERNEL_SRC),)
  CUDA_MSG := srs: nvcc found ($(NVCC)) but kernels/ has no .cu files: building the CPU-only engine
else
  CUDA_MSG := srs: CUDA backend compiled for sm_$(GPU_COMPUTE_CAPABILITY) (nvcc: $(NVCC))
  CUDA_HOME ?= $(abspath $(dir $(NVCC))..)
  CUDA_LIBDIR := $(firstword $(wildcard $(CUDA_HOME)/lib64 $(CUDA_HOME)/lib))
  CFLAGS_BASE += -DSRS_WITH_CUDA -I$(CUDA_HOME)/include
  NVCC_FLAGS ?= -O3 -lineinfo
  ALL_NVCCFLAGS = $(NVCC_FLAGS) -std=c++17 -arch=sm_$(GPU_COMPUTE_CAPABILITY) -DSRS_WITH_CUDA \
                  -Iinclude -Ihost -Ikernels -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra \
                  -Xcudafe --display_error_number $(NVCCFLAGS)
  LDLIBS += -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcublas -lcurand -lcudart -lstdc++ -ldl -lpthread -lrt
endif

# ---- MPI detection -----------------------------------------------------------
# With mpicc (OpenMPI or MPICH) the command line gets the MPI layer (host/mpi.c:
# SRS_WITH_MPI, linked into build/srs only; libsrs stays MPI-free). MPI=0 builds
# without it, MPI=1 fails when mpicc is missing. A build without MPI runs one process.
MPICC ?= $(shell command -v mpicc 2>/dev/null)
ifeq ($(MPI),0)
  MPICC :=
  MPI_MSG := srs: MPI=0: building without MPI (one process)
else ifeq ($(MPICC),)
  ifeq ($(MPI),1)
    $(error srs: MPI=1 but mpicc was not found (Debian: apt-get install libopenmpi-dev openmpi-bin))
  endif
  MPI_MSG := srs: mpicc not found: building without MPI (one process)
else
  MPI_SHOW   := $(shell $(MPICC) -show 2>/dev/null || $(MPICC) --showme 2>/dev/null)
  MPI_CFLAGS := $(or $(shell $(MPICC) --showme:compile 2>/dev/null),$(filter -I% -D% -pthread,$(MPI_SHOW)))
  MPI_LIBS   := $(or $(shell $(MPICC) --showme:link 2>/dev/null),$(filter -L% -l% -Wl% -pthread,$(MPI_SHOW)))
  MPI_MSG := srs: MPI layer compiled in (mpicc: $(MPICC))
endif
MPI_STAMP := $(BUILD)/.mpi-$(if $(MPICC),on,off)

# ---- sources -----------------------------------------------------------------
CLI_SRC  := $(wildcard host/cli*.c) host/progress.c host/mpi.c
LIB_SRC  := $(filter-out $(CLI_SRC),$(wildcard host/*.c))
TEST_SRC := $(wildcard tests/*.c)
HDRS     := $(wildcard include/*.h host/*.h tests/*.h kernels/*.cuh)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(KERNEL_SRC:%.cu=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

SRS     := $(BUILD)/srs
LIBA    := $(BUILD)/libsrs.a
LIBSO   := $(BUILD)/libsrs.so
TESTBIN := $(BUILD)/test_srs
DEPS_OK := .deps-ok

.PHONY: all test demo sanitize test-portable bench clean deps cuda-info test-mpi test-slurm bench-mpi
all: cuda-info $(SRS) $(LIBA) $(LIBSO)

cuda-info:
	@echo "$(CUDA_MSG)"
	@echo "$(MPI_MSG)"

# host/mpi.o is rebuilt when MPI is switched on or off.
$(MPI_STAMP):
	@mkdir -p $(BUILD)
	@rm -f $(BUILD)/.mpi-on $(BUILD)/.mpi-off
	@touch $@
$(BUILD)/obj/host/mpi.o: $(MPI_STAMP)
$(BUILD)/obj/host/mpi.o: ALL_CFLAGS += $(if $(MPICC),-DSRS_WITH_MPI $(MPI_CFLAGS))
$(SRS): LDLIBS += $(if $(MPICC),$(MPI_LIBS))

# Debian packages the build needs; installed by scripts/install-deps.sh when missing.
deps: $(DEPS_OK)
$(DEPS_OK): scripts/install-deps.sh
	@bash scripts/install-deps.sh
	@touch $@

$(BUILD)/obj/%.o: %.c $(HDRS) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cu $(HDRS)
	@mkdir -p $(dir $@)
	$(NVCC) $(ALL_NVCCFLAGS) -c $< -o $@

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
	$(MAKE) NO_CUDA=1 MPI=0 BUILD=build-san OPT="-O1" SAN="$(SAN_FLAGS)" all build-san/test_srs
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    SRS_BIN=build-san/srs SRS_TEST_QUICK=1 build-san/test_srs

# The suite on a build for x86-64 without AVX-512 or AVX2 (SSE4.2, as many
# laptops and older servers): the portable fallbacks of the vector paths.
PORTABLE_ARCH ?= -march=x86-64-v2
test-portable: | $(DEPS_OK)
	$(MAKE) NO_CUDA=1 MPI=0 BUILD=build-portable ARCH="$(PORTABLE_ARCH)" all build-portable/test_srs
	SRS_BIN=build-portable/srs SRS_TEST_QUICK=1 build-portable/test_srs

# Benchmark programs link the library like srs does (CUDA, BLAS, ... as built).
$(BUILD)/bench_cpu: bench/bench_cpu.c $(LIBA) include/srs.h
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBA) $(ALL_LDFLAGS) $(LDLIBS)

bench: all $(BUILD)/bench_cpu
	bash bench/run_cpu.sh

# MPI: 1-4 ranks give identical outputs, a failing rank fails cleanly (skips
# without MPI); Slurm: the configs/slurm templates on a localhost cluster (root).
test-mpi: all
	bash tests/mpi/run.sh $(SRS)
test-slurm: all
	bash tests/slurm/run.sh $(SRS)
bench-mpi: all
	bash bench/run_mpi.sh

clean:
	rm -rf build build-san build-cpu build-portable
