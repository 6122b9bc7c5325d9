# srs — Stackelberg reward shaping engine.
#
#   make            build build/srs, build/libsrs.a, build/libsrs.so
#   make test       build and run the test suite (installs missing Debian packages first)
#   make demo       build and run `srs demo`, the main job on the embedded default scenario
#   make sanitize   build with ASan + UBSan into build-san/ (CPU-only: ASan and the CUDA
#                   runtime do not mix) and run the test suite there, at every CPU level
#   make test-portable  the test suite at every other CPU level this machine runs
#                   (SRS_CPU=v2, v3, ...): the code CPUs without AVX-512 or AVX2 run
#   make fuzz       the libFuzzer harnesses (tests/fuzz/: readers, pipeline, config) with
#                   ASan + UBSan, FUZZ_SECONDS (300) each; make fuzz-smoke: 100,000 runs each
#                   from a fresh corpus, fixed seed (CI)
#   make test-arm64 the suite cross-compiled for aarch64 (build-arm64/, level neon) and
#                   run under qemu-user (installs the cross toolchain and arm64 libraries)
#   make bench      CPU threshold benchmark against NumPy and SciPy (results/cpu-threshold.md)
#   make test-mpi   srs under mpirun with 1-4 ranks (tests/mpi/run.sh)
#   make test-slurm the Slurm templates on a localhost cluster, as root (tests/slurm/run.sh)
#   make test-python the Python package: pip install . (and -e .) in a fresh virtual
#                   environment, then its pytest suite (tests/python/run.sh; needs PyPI)
#   make bench-mpi  MPI strong scaling of threshold precomputation (results/mpi-scaling.md)
#   make install    bin/srs, lib/libsrs.so.X.Y.Z (soname libsrs.so.X), lib/libsrs.a,
#                   include/srs.h, lib/pkgconfig/srs.pc under $(DESTDIR)$(PREFIX)
#   make uninstall  removes what make install put there
#   make test-install  make install into a scratch prefix, then the README's link
#                   recipe verbatim against it (shared and static)
#   make test-fresh the README's two commands in brand-new Debian roots (debootstrap;
#                   bookworm and trixie; root), then the install recipe there
#   make gpu-session-dry  every part of scripts/gpu-session.sh that needs no GPU (the
#                   packages fetched and used, the device's build command, the step runner
#                   with the GPU steps faked), so the one-call GPU session cannot rot
#   make check-fma  the guide kernels' PTX: no a*b+c contracted into an fma (the CPU and
#                   GPU round the same operations)
#   make coverage   the CPU suite built with gcov instrumentation (CPU-only, build/coverage/),
#                   then the share of kernels/ lines it executed, per file and in total
#                   (scripts/coverage.py; lines only nvcc compiles count as unexecuted)
#
# Overrides: CC, OPT, ARCH (none by default: one portable build for every CPU
# level; ARCH=native or ARCH=-march=... builds for one CPU), NO_OMP=1, BUILD=dir,
# NVCC, NO_CUDA=1 (CPU-only even where nvcc is found), GPU_COMPUTE_CAPABILITY
# (default 90: `make GPU_COMPUTE_CAPABILITY=80` for an A100), SAN_FLAGS,
# MPI=0|1 (default: with MPI when mpicc is found), MPICC, PREFIX (/usr/local),
# DESTDIR, BINDIR, LIBDIR, INCLUDEDIR, PKGCONFIGDIR, SRS_NO_DEPS=1 (install no
# Debian packages: dependencies are managed by hand).

# ---- dependencies first --------------------------------------------------------
# Every probe below (nvcc, mpicc) must see the machine as the build will, so the
# missing Debian packages are installed while this Makefile is read, before any
# probe: on a fresh machine mpicc appears only then. Not for goals that build
# nothing, not under -n, not in sub-makes (SRS_DEPS_DONE), not with SRS_NO_DEPS=1.
NO_DEPS_GOALS := clean uninstall cuda-info test-fresh
ifeq ($(SRS_NO_DEPS)$(SRS_DEPS_DONE),)
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
ifneq ($(filter-out $(NO_DEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
  $(shell bash scripts/install-deps.sh 1>&2)
  ifneq ($(.SHELLSTATUS),0)
    $(error srs: scripts/install-deps.sh failed (above); SRS_NO_DEPS=1 skips it)
  endif
endif
endif
endif
export SRS_DEPS_DONE := 1

CC    ?= gcc
# NO_CUDA=1 builds into its own directory: objects of the two configurations never mix
ifeq ($(NO_CUDA),1)
  BUILD ?= build-cpu
endif
BUILD ?= build
OPT   ?= -O3
GPU_COMPUTE_CAPABILITY ?= 90
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
              -Wno-unused-parameter -Wno-psabi -ffp-contract=off -fPIC -fvisibility=hidden -Iinclude -Ihost \
              -Ihost/cli -Ihost/io
# SAN: extra compile and link flags (the sanitize target sets it); CFLAGS and
# LDFLAGS from the command line or environment are appended, never replace ours.
SAN ?=
ifeq ($(NO_OMP),1)
  $(info srs: OpenMP disabled (NO_OMP=1))
  OMP :=
else
  OMP := -fopenmp
endif
ALL_CFLAGS  = $(CFLAGS_BASE) $(OPT) $(BASE_ARCH) -g $(OMP) $(SAN) $(CFLAGS)

# ---- CPU levels ----------------------------------------------------------------
# One build runs on every CPU. The hot units (ISA_SRC: thresholds and shaping,
# the evaluation's rows) are compiled once per instruction-set level with that
# level's -march, the rest once for the lowest level (BASE_ARCH);
# host/dispatch.c gives each context the best level the CPU runs (SRS_CPU=v2|
# v3|v4|neon forces one). ARCH=native (or any -march=...) is the opt-in
# single-level build: everything with those flags, runs only where such a CPU is.
MACHINE := $(shell $(CC) -dumpmachine 2>/dev/null)
ifeq ($(origin ARCH),command line)
  ISA_LEVELS := native
  ISA_FLAGS_native := $(if $(filter native,$(ARCH)),-march=native,$(ARCH))
  BASE_ARCH := $(ISA_FLAGS_native)
else ifneq ($(filter x86_64-%,$(MACHINE)),)
  ISA_LEVELS := v2 v3 v4
  ISA_FLAGS_v2 := -march=x86-64-v2 -mtune=generic
  ISA_FLAGS_v3 := -march=x86-64-v3 -mtune=generic
  ISA_FLAGS_v4 := -march=x86-64-v4 -mtune=generic
  BASE_ARCH := $(ISA_FLAGS_v2)
else ifneq ($(filter aarch64-%,$(MACHINE)),)
  ISA_LEVELS := neon
  ISA_FLAGS_neon := -march=armv8-a
  BASE_ARCH := $(ISA_FLAGS_neon)
else
  ISA_LEVELS := native
  ISA_FLAGS_native :=
  BASE_ARCH :=
endif
ISA_SRC := $(wildcard host/cpu/*.c) host/eval_rows.c
ALL_LDFLAGS = $(OMP) $(SAN) $(LDFLAGS)
LDLIBS += -ljansson -lopenblas -linih -lm

# ---- CUDA detection ----------------------------------------------------------
# With nvcc (on the PATH or in /usr/local/cuda) every kernels/*.cu is compiled
# for sm_$(GPU_COMPUTE_CAPABILITY) into the library, host code gets
# SRS_WITH_CUDA, and everything links cudart and cuBLAS (NVTX 3 is
# header-only). NO_CUDA=1, or no nvcc, builds the complete CPU-only engine.
ifeq ($(origin NVCC),undefined)
  NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
endif
KERNEL_SRC := $(wildcard kernels/*.cu)
ifeq ($(NO_CUDA),1)
  CUDA_MSG := srs: NO_CUDA=1: building the CPU-only engine
  KERNEL_SRC :=
else ifeq ($(NVCC),)
  CUDA_MSG := srs: nvcc not found: building the CPU-only engine
  KERNEL_SRC :=
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
  LDLIBS += -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcublas -lcudart -lstdc++ -ldl -lpthread -lrt
endif

# ---- MPI detection -----------------------------------------------------------
# With mpicc (OpenMPI or MPICH) the command line gets the MPI layer (host/cli/mpi.c:
# SRS_WITH_MPI, linked into build/srs only; libsrs stays MPI-free). MPI=0 builds
# without it, MPI=1 fails when mpicc is missing. A build without MPI runs one process.
ifeq ($(origin MPICC),undefined)
  MPICC := $(shell command -v mpicc 2>/dev/null)
endif
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
# host/: the library's core and backends; host/io/: the formats (library);
# host/cuda/: the CUDA host glue (the kernels' launchers in kernels/ do the work);
# host/cli/: the command line. The eval config (host/cli/config.c) is the
# command line's, but the tests link it from libsrs.a.
CLI_SRC  := $(filter-out host/cli/config.c,$(wildcard host/cli/*.c))
LIB_SRC  := $(filter-out $(ISA_SRC),$(wildcard host/*.c host/io/*.c host/cuda/*.c)) host/cli/config.c
TEST_SRC := $(wildcard tests/*.c)
HDRS     := $(wildcard include/*.h host/*.h host/cli/*.h host/io/*.h host/cpu/*.h tests/*.h kernels/*.cuh kernels/*.h)
# The kernels' per-row code compiled by the host C++ compiler (kernels/*_emu.cpp:
# the bodies in kernels/*.cuh as plain C++): the CPU tests run it with host-thread
# groups. Every build has it, CPU-only and sanitizer builds included; not in libsrs.
# No contraction into fma, as in CFLAGS_BASE (g++ contracts by default).
KERNEL_EMU_SRC := $(wildcard kernels/*_emu.cpp)
KERNEL_EMU_OBJ := $(KERNEL_EMU_SRC:%.cpp=$(BUILD)/obj/%.o)
# gcc 12 for aarch64 stops with an internal compiler error in its vectoriser on
# eval_body.cuh's ev_row (as on tests/test_threshold_kernels.c): there the
# emulations, test code whose speed does not matter, are built without it.
ifneq ($(filter aarch64-%,$(MACHINE)),)
$(KERNEL_EMU_OBJ): ALL_CXXFLAGS += -fno-tree-vectorize
endif
ALL_CXXFLAGS = -std=c++17 -Wall -Wextra -Wshadow -Wno-unused-parameter -ffp-contract=off -Iinclude -Ikernels \
               $(OPT) $(BASE_ARCH) -g $(SAN) $(CXXFLAGS)

ISA_OBJ  := $(foreach l,$(ISA_LEVELS),$(ISA_SRC:%.c=$(BUILD)/obj/$(l)/%.o))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(ISA_OBJ) $(KERNEL_SRC:%.cu=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

SRS     := $(BUILD)/srs
LIBA    := $(BUILD)/libsrs.a
TESTBIN := $(BUILD)/test_srs

# The shared library carries the version of include/srs.h: the file
# libsrs.so.X.Y.Z, its soname libsrs.so.X (X changes with the ABI), and the
# development link libsrs.so, in build/ as in an installed tree.
VERSION := $(shell sed -n 's/^\#define SRS_VERSION_STRING "\(.*\)"/\1/p' include/srs.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME  := libsrs.so.$(SOMAJOR)
LIBSO_REAL := $(BUILD)/libsrs.so.$(VERSION)
LIBSO   := $(BUILD)/libsrs.so

.PHONY: all test demo sanitize test-portable bench clean deps cuda-info test-mpi test-slurm bench-mpi \
        install uninstall test-install test-fresh test-arm64 fuzz fuzz-smoke test-python gpu-session-dry check-fma \
        coverage
all: cuda-info $(SRS) $(LIBA) $(LIBSO)

cuda-info:
	@echo "$(CUDA_MSG)"
	@echo "$(MPI_MSG)"

# host/cli/mpi.o is rebuilt when MPI is switched on or off.
$(MPI_STAMP):
	@mkdir -p $(BUILD)
	@rm -f $(BUILD)/.mpi-on $(BUILD)/.mpi-off
	@touch $@
$(BUILD)/obj/host/cli/mpi.o: $(MPI_STAMP)
$(BUILD)/obj/host/cli/mpi.o: ALL_CFLAGS += $(if $(MPICC),-DSRS_WITH_MPI $(MPI_CFLAGS))
$(SRS): LDLIBS += $(if $(MPICC),$(MPI_LIBS))

# The Debian packages the build needs (scripts/install-deps.sh; make runs it
# itself while reading this file, see the top).
deps:
	@bash scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The hot units, once per CPU level; the dispatcher learns the levels (and is
# rebuilt when they change).
define ISA_RULE
$$(BUILD)/obj/$(1)/%.o: %.c $$(HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_BASE) $$(OPT) $$(ISA_FLAGS_$(1)) -g $$(OMP) $$(SAN) $$(CFLAGS) -DSRS_ISA=$(1) -c $$< -o $$@
endef
$(foreach l,$(ISA_LEVELS),$(eval $(call ISA_RULE,$(l))))
empty :=
space := $(empty) $(empty)
LEVELS_STAMP := $(BUILD)/.cpu-levels-$(subst $(space),-,$(ISA_LEVELS))
$(LEVELS_STAMP):
	@mkdir -p $(BUILD)
	@rm -f $(BUILD)/.cpu-levels-*
	@touch $@
$(BUILD)/obj/host/dispatch.o: $(LEVELS_STAMP)
$(BUILD)/obj/host/dispatch.o: ALL_CFLAGS += -DSRS_CPU_LEVELS="$(foreach l,$(ISA_LEVELS),L($(l)))" \
                                            -DSRS_CPU_ARCH='"$(ISA_FLAGS_native)"'

$(BUILD)/obj/%.o: %.cpp $(HDRS)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cu $(HDRS)
	@mkdir -p $(dir $@)
	$(NVCC) $(ALL_NVCCFLAGS) -c $< -o $@

# The guide's kernels run include/srs_guide_math.h's per-row arithmetic, which the
# CPU backend (host/guide.c) runs too: neither side contracts a*b+c into an fma
# (gcc and clang: -ffp-contract=off in CFLAGS_BASE; nvcc: --fmad=false here), so
# both round the same operations; only exp and log differ (glibc's and CUDA's).
# make check-fma proves it on the PTX (scripts/check_fma.py).
$(BUILD)/obj/kernels/guide.o $(BUILD)/ptx/kernels/guide.ptx: ALL_NVCCFLAGS += --fmad=false
# The same code emulated on the CPU (the tests compare it bit for bit with the
# CPU backend) is compiled with -ffp-contract=off too (ALL_CXXFLAGS).
$(BUILD)/ptx/%.ptx: %.cu $(HDRS)
	@mkdir -p $(dir $@)
	$(NVCC) $(ALL_NVCCFLAGS) -ptx $< -o $@
check-fma: $(if $(KERNEL_SRC),$(BUILD)/ptx/kernels/guide.ptx)
	@$(if $(KERNEL_SRC),python3 scripts/check_fma.py $<,echo "check-fma: no CUDA build here (nvcc not found or NO_CUDA=1): nothing to check")

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBSO_REAL): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIBSO): $(LIBSO_REAL)
	ln -sf $(notdir $<) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(SRS): $(CLI_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LDLIBS)

$(TESTBIN): $(TEST_OBJ) $(KERNEL_EMU_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(KERNEL_EMU_OBJ) $(LIBA) $(LDLIBS) -lstdc++ -lpthread

test: all $(TESTBIN)
	SRS_BIN=$(SRS) $(TESTBIN)

demo: all
	$(SRS) demo

# float-cast-overflow is not in gcc's "undefined" group: a NaN or an out-of-range
# double converted to an integer (srs_exp once did so with NaN) is undefined too.
SAN_FLAGS ?= -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined,float-cast-overflow
sanitize:
	$(MAKE) NO_CUDA=1 MPI=0 BUILD=build-san OPT="-O1" SAN="$(SAN_FLAGS)" all build-san/test_srs
	@for l in $$(bash scripts/cpu-levels.sh build-san/srs); do \
	    echo "== ASan + UBSan at CPU level $$l"; \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	        SRS_CPU=$$l SRS_BIN=build-san/srs SRS_TEST_QUICK=1 build-san/test_srs || exit 1; \
	done

# The suite at every other CPU level this machine runs (SRS_CPU forces it):
# the code a CPU without AVX-512, or without AVX2, runs, from this same build.
test-portable: all $(TESTBIN)
	@best=$$(SRS_CPU= $(SRS) --version | sed -n 's/^CPU level: \([^ ]*\).*/\1/p'); \
	for l in $$(bash scripts/cpu-levels.sh $(SRS)); do \
	    if [ "$$l" = "$$best" ]; then echo "== CPU level $$l: the default here, run by make test"; continue; fi; \
	    echo "== the suite at CPU level $$l (SRS_CPU=$$l)"; \
	    SRS_CPU=$$l SRS_BIN=$(SRS) SRS_TEST_QUICK=1 $(TESTBIN) || exit 1; \
	done

# Coverage of kernels/ by the CPU suite: a CPU-only build at -O0 with --coverage (gcov
# counts), -MMD (which kernels/ files the host compiles) and -fkeep-inline-functions
# (unused inline functions count as unexecuted, not as absent) in its own directory;
# old counts are cleared, the suite runs (quick mode), and scripts/coverage.py reads
# them (its head comment defines the denominator).
COV_BUILD ?= build/coverage
coverage:
	$(MAKE) NO_CUDA=1 MPI=0 BUILD=$(COV_BUILD) OPT="-O0" SAN="--coverage" CFLAGS="-MMD" \
	    CXXFLAGS="-MMD -fkeep-inline-functions" $(COV_BUILD)/srs $(COV_BUILD)/test_srs
	find $(COV_BUILD) -name '*.gcda' -delete
	SRS_BIN=$(COV_BUILD)/srs SRS_TEST_QUICK=1 $(COV_BUILD)/test_srs
	python3 scripts/coverage.py $(COV_BUILD)

# aarch64: the engine and the suite cross-compiled with Debian's toolchain
# against the arm64 libraries (dpkg multiarch), the suite run under qemu-user
# (tests/arm64/run.sh): correctness only.
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_CXX ?= aarch64-linux-gnu-g++
test-arm64:
	bash scripts/install-deps.sh --arm64
	$(MAKE) CC=$(ARM64_CC) CXX=$(ARM64_CXX) NO_CUDA=1 MPI=0 BUILD=build-arm64 build-arm64/srs build-arm64/test_srs
	bash tests/arm64/run.sh build-arm64

# Fuzzing: clang's libFuzzer with ASan and UBSan over a CPU-only libsrs in
# build-fuzz/; the harnesses check the library's promises as properties.
FUZZ_SECONDS ?= 300
fuzz:
	bash tests/fuzz/run.sh $(FUZZ_SECONDS)
fuzz-smoke:
	FUZZ_RUNS=100000 bash tests/fuzz/run.sh 45

# Benchmark programs link the library like srs does (CUDA, BLAS, ... as built).
# Its streaming read, the reference, is compiled for this machine (-march=native).
$(BUILD)/bench_cpu: bench/bench_cpu.c $(LIBA) include/srs.h
	$(CC) $(CFLAGS_BASE) $(OPT) -march=native -g $(OMP) $(CFLAGS) -o $@ $< $(LIBA) $(ALL_LDFLAGS) $(LDLIBS)

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

# The Python package (pyproject.toml, setup.py, python/srs): pip builds the library
# through this Makefile and puts it inside the package; tests/python/run.sh installs it
# into a fresh virtual environment (with pytest, NumPy, pandas, hypothesis and torch from
# PyPI, the one list of them; SRS_TEST_NO_TORCH=1 leaves torch out) and runs the suite.
test-python:
	bash tests/python/run.sh

# The GPU session (scripts/gpu-session.sh all, one device call) dry-run here: prepare's
# packages, the deps step on them, the nvcc build, the runner with the GPU steps faked.
gpu-session-dry: all
	bash scripts/gpu-session.sh dry

# ---- install -------------------------------------------------------------------
# The usual GNU layout under $(DESTDIR)$(PREFIX). srs.pc's Libs.private is what a
# static link of libsrs.a needs, exactly what this build linked (with the CUDA
# libraries when the CUDA backend is compiled in). ldconfig runs for a live
# install as root, so the new soname is found at once.
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

$(BUILD)/srs.pc: FORCE
	@mkdir -p $(BUILD)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	    'Name: srs' \
	    'Description: Stackelberg reward shaping: per-prompt thresholds, shaped rewards, evaluation, guided decoding' \
	    'Version: $(VERSION)' \
	    'Cflags: -I$${includedir}' \
	    'Libs: -L$${libdir} -lsrs' \
	    'Libs.private: $(strip $(LDLIBS) $(OMP))' > $@.tmp
	@mv $@.tmp $@
FORCE:

install: all $(BUILD)/srs.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(SRS) $(DESTDIR)$(BINDIR)/srs
	install -m 755 $(LIBSO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf libsrs.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsrs.so
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/libsrs.a
	install -m 644 include/srs.h $(DESTDIR)$(INCLUDEDIR)/srs.h
	install -m 644 $(BUILD)/srs.pc $(DESTDIR)$(PKGCONFIGDIR)/srs.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/srs $(DESTDIR)$(LIBDIR)/libsrs.so.$(VERSION) \
	      $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libsrs.so $(DESTDIR)$(LIBDIR)/libsrs.a \
	      $(DESTDIR)$(INCLUDEDIR)/srs.h $(DESTDIR)$(PKGCONFIGDIR)/srs.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# The README's link recipe, verbatim, against make install in a scratch prefix.
test-install: all
	bash tests/install/run.sh
# The README's two commands in brand-new Debian roots (root, debootstrap).
test-fresh:
	bash tests/fresh/run.sh $(FRESH_SUITES)

clean:
	rm -rf build build-san build-cpu build-arm64 build-fuzz
