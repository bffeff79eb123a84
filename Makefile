# SPDX-License-Identifier: MIT
# memoman - a thin wrapper around CMake. Every target configures its own build folder under build/.
#
#   make demo        compile and run the demo (examples/audio_loop.c, seconds); DEMO_ARGS="--no-rt --no-lock"
#                    to skip its attempts at SCHED_FIFO and mlock; writes build/demo/audio_latency.svg
#   make test        build and run the tests (release build)
#   make test-asan   the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-32     the tests built with -m32 (needs gcc-multilib)
#   make test-bounds the worst-case instruction counts stated in the headers, each call checked under
#                    callgrind (needs valgrind and python3; tests/bounds)
#   make bounds-m4   the same worst paths counted in instructions on a Cortex-M4 under QEMU (-icount),
#                    the library at -O2 and -Os (M4_OPT="-O2" for one): a report (tests/bounds/m4.sh)
#   make test-debug  the tests with MM_DEBUG=1: every check on, validation every 64 operations
#   make test-tsan   the tests under ThreadSanitizer, but four long ones that never start a thread
#   make test-tools  memoman built for Valgrind's memcheck (MEMOMAN_VALGRIND) and for AddressSanitizer
#                    (MEMOMAN_ASAN): programs with one memory bug each on memoman's blocks, every bug
#                    reported by the checker (tests/tools/run.sh; needs valgrind)
#   make test-clang  the tests built with clang at -Os (its warnings are errors too): MinSizeRel, so the
#                    library is built small (MM_SMALL_CODE=1) where the others build it for speed
#   make test-programs  real programs (CPython, sqlite3, git, lua, gcc, redis) with and without
#                    libmemoman-malloc in LD_PRELOAD: the same results (tests/programs/run.sh)
#   make test-cross  libmemoman's tests (not the malloc layer) built with Debian's cross compilers and run
#                    under qemu-user: aarch64 armhf riscv64 s390x ppc32 (tests/cross/run.sh, installs them
#                    with apt-get; they displace gcc-multilib, which it puts back); CROSS_ARCHS="armhf
#                    s390x" for a subset; folders BUILD/cross-<arch>
#   make test-cross-malloc  the malloc tests under qemu-user: aarch64 at 4/16/64 KiB pages, riscv64,
#                    armhf, ppc64le at
#                    64 KiB (tests/cross-malloc/run.sh; installs cross compilers, puts gcc-multilib back)
#   make test-arm64-vm  the malloc tests on Debian's arm64 kernel (48-bit addresses) in qemu-system-aarch64
#   make test-ppc64el-vm  the same on Debian's ppc64el kernel (64 KiB pages) in qemu-system-ppc64
#   make test-cortex-m  libmemoman on bare-metal Cortex-M4 (mps2-an386) and Cortex-M0 (microbit) under
#                    QEMU with semihosting (examples/cortex-m/run.sh; arm-none-eabi-gcc, qemu-system-arm),
#                    then make size's stated footprint bounds (bench/footprint/run.sh --check)
#   make fuzz        the libFuzzer targets (needs clang, libclang-rt-14-dev): corpus replay + 60 s each
#   make bench       the benchmarks (bench/README.md); valgrind adds instruction counts; ends with make size
#                    and make frag-report and make wcet
#   make wcet        the worst paths of every real-time entry point with cold caches and TLB, each call
#                    timed alone, beside glibc and TLSF 3.1 (bench/wcet; x86-64; build/release/wcet)
#   make frag-report the fragmentation report (bench/frag): distributions and recorded programs replayed
#                    on the TLSF core, the heap and glibc; table, CSV and SVG plots in build/release/frag
#   make bench-suite SUITE_DIR=<mimalloc-bench checkout> [MIMALLOC_SO=<newer libmimalloc.so>
#                    MIMALLOC_LABEL=<name>]  mimalloc-bench's programs against glibc, jemalloc,
#                    tcmalloc and mimalloc (bench/suite/README.md); make bench runs it when SUITE_DIR is set
#   make bench-security HARDENED_DIR=<hardened_malloc checkout> SUITE_DIR=<mimalloc-bench checkout>
#                    [HARDENED_SO=<its libhardened_malloc.so>]  the two suites' heap-misuse programs:
#                    how many each allocator stops, the secure build included (bench/security/README.md)
#   make size        flash and RAM on Cortex-M4/M0+ and the control structure's size, beside TLSF 3.1 and
#                    o1heap when TLSF31_DIR / O1HEAP_DIR are given (bench/footprint/run.sh)
#   make lint        clang-format check and clang-tidy's bug-prone and analyzer checks
#   make docs        the API reference from the public headers (Doxygen; warnings are errors) in
#                    BUILD/docs/html/index.html
#   make check-all   everything CI runs
#   make install     build build/release (BUILD/release) and cmake --install it into PREFIX (default
#                    /usr/local): headers, libraries, pkg-config files, CMake package, amalgamation
#   make amalgamation  libmemoman as two drop-in files, tlsf.c + tlsf.h (and memoman.h for the mm_*
#                    API), made from the current sources by scripts/amalgamate.sh into BUILD/amalgamation

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
TSAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer

# $(call build,dir,cmake-arguments): configure (quietly) and build one folder.
define build
	@$(CMAKE) -S . -B $(BUILD)/$(1) $(2) > $(BUILD)/$(1).configure.log 2>&1 || \
		{ cat $(BUILD)/$(1).configure.log; exit 1; }
	@$(CMAKE) --build $(BUILD)/$(1) -j $(JOBS) -- --no-print-directory -s
endef

# $(call ctest,dir): run the tests of one folder.
define ctest
	@cd $(BUILD)/$(1) && ctest --output-on-failure -j $(JOBS)
endef

SOURCES = $(wildcard src/*.c src/*.h src/malloc/*.c src/malloc/*.h src/malloc/os/*.c src/malloc/os/*.h include/*.h \
	include/memoman/*.h tests/*.c tests/*.h tests/*.cpp tests/malloc/*.c tests/malloc/*.h bench/malloc/*.c \
	tests/install/*.c tests/bounds/*.c tests/tools/*.c tools/*.c bench/*.c bench/wcet/*.h bench/footprint/*.c fuzz/*.c examples/*.c)
TIDY_SOURCES = $(wildcard src/*.c src/malloc/*.c src/malloc/os/*.c)
TIDY_CHECKS = -*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,cert-*,\
	-cert-dcl37-c,-cert-dcl51-cpp,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling

.PHONY: all demo test test-asan test-tools test-32 test-clang test-bounds bounds-m4 test-debug test-tsan test-programs fuzz bench bench-suite frag-report wcet size lint docs test-cross test-cross-malloc test-arm64-vm test-ppc64el-vm test-cortex-m check-all install amalgamation clean bench-security

all:
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)

demo:
	@mkdir -p $(BUILD)/demo
	@echo "demo: $(CC) examples/audio_loop.c and libmemoman's six sources -> $(BUILD)/demo/audio_loop"
	@$(CC) -std=c11 -O2 -pthread -DMM_CYCLES=1 -Iinclude -o $(BUILD)/demo/audio_loop examples/audio_loop.c src/tlsf.c \
		src/tlsf_compat.c src/observe.c src/fixed.c src/heap.c src/heap_config.c -lm
	@$(BUILD)/demo/audio_loop $(DEMO_ARGS) 20000 $(BUILD)/demo/audio_latency.svg

test:
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)
	$(call ctest,release)

test-asan:
	@mkdir -p $(BUILD)
	$(call build,asan,-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS=$(SAN_FLAGS)" "-DCMAKE_CXX_FLAGS=$(SAN_FLAGS)" -DMEMOMAN_BUILD_BENCH=OFF)
	$(call ctest,asan)

TOOLS_ARGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMOMAN_BUILD_TESTS=OFF -DMEMOMAN_BUILD_BENCH=OFF \
	-DMEMOMAN_BUILD_EXAMPLES=OFF -DMEMOMAN_BUILD_TOOLS=OFF
test-tools:
	@mkdir -p $(BUILD)
	$(call build,tools-memcheck,$(TOOLS_ARGS) -DMEMOMAN_VALGRIND=ON)
	$(call ctest,tools-memcheck)
	$(call build,tools-asan,$(TOOLS_ARGS) -DMEMOMAN_ASAN=ON)
	$(call ctest,tools-asan)

test-32:
	@mkdir -p $(BUILD)
	$(call build,m32,-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-m32 -DMEMOMAN_TEST_CXX=OFF -DMEMOMAN_BUILD_BENCH=OFF)
	$(call ctest,m32)

test-tsan:
	@mkdir -p $(BUILD)
	$(call build,tsan,-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS=$(TSAN_FLAGS)" "-DCMAKE_CXX_FLAGS=$(TSAN_FLAGS)" -DMEMOMAN_BUILD_BENCH=OFF)
	@cd $(BUILD)/tsan && ctest --output-on-failure -j $(JOBS) -LE one_thread

test-clang:
	@mkdir -p $(BUILD)
	$(call build,clang,-DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_C_COMPILER=clang -DMEMOMAN_TEST_CXX=OFF -DMEMOMAN_BUILD_BENCH=OFF)
	$(call ctest,clang)

# The worst-case instruction counts stated in the headers, checked call by call under callgrind
# (tests/bounds). BOUNDS_CALLS / BOUNDS_SEEDS: the random traces' length and number per layer and level.
BOUNDS_CALLS ?= 3000
BOUNDS_SEEDS ?= 3
test-bounds:
	@mkdir -p $(BUILD)
	$(call build,bounds,-DCMAKE_BUILD_TYPE=Release -DMEMOMAN_BUILD_BOUNDS=ON -DMEMOMAN_BUILD_BENCH=OFF -DMEMOMAN_BUILD_EXAMPLES=OFF -DMEMOMAN_BUILD_MALLOC=OFF)
	@python3 tests/bounds/check.py $(BUILD)/bounds --jobs $(JOBS) --calls $(BOUNDS_CALLS) --seeds $(BOUNDS_SEEDS) --report $(BUILD)/bounds/bounds.md

# The same worst paths counted in instructions on a Cortex-M4 under QEMU (-icount): a report.
bounds-m4:
	@M4_BUILD=$(abspath $(BUILD))/bounds-m4 sh tests/bounds/m4.sh $(M4_OPT)

test-debug:
	@mkdir -p $(BUILD)
	$(call build,debug,-DCMAKE_BUILD_TYPE=Debug -DMEMOMAN_DEBUG=ON -DMEMOMAN_VALIDATE_INTERVAL=64 -DMEMOMAN_BUILD_BENCH=OFF)
	$(call ctest,debug)

fuzz:
	@mkdir -p $(BUILD)
	$(call build,fuzz,-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DMEMOMAN_BUILD_FUZZ=ON -DMEMOMAN_BUILD_TESTS=OFF -DMEMOMAN_BUILD_BENCH=OFF -DMEMOMAN_BUILD_EXAMPLES=OFF)
	@fuzz/run.sh $(BUILD)/fuzz/fuzz/fuzz_tlsf $(FUZZ_SECONDS) corpus
	@fuzz/run.sh $(BUILD)/fuzz/fuzz/fuzz_heap $(FUZZ_SECONDS) corpus_heap
	@fuzz/run.sh $(BUILD)/fuzz/fuzz/fuzz_malloc $(FUZZ_SECONDS) corpus_malloc

test-programs:
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)
	@tests/programs/run.sh $(BUILD)/release/libmemoman-malloc.so

bench:
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)
	@bench/run.sh $(BUILD)/release
	@echo
	@sh bench/footprint/run.sh $(BUILD)/footprint
	@echo
	@sh bench/frag/run.sh $(BUILD)/release
	@echo
	@if [ -x $(BUILD)/release/bench/wcet ]; then sh bench/wcet/run.sh $(BUILD)/release; fi
	@if [ -n "$(SUITE_DIR)" ]; then $(MAKE) --no-print-directory bench-suite; fi

# The WCET harness (bench/wcet, x86-64): the worst paths with cold caches, beside glibc and TLSF 3.1.
wcet:
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)
	@sh bench/wcet/run.sh $(BUILD)/release

# The fragmentation report (bench/frag): synthetic distributions and recorded programs replayed by
# memoman-trace on the TLSF core, the heap and glibc; writes build/release/frag/.
frag-report:
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)
	@sh bench/frag/run.sh $(BUILD)/release

# mimalloc-bench's programs under glibc, jemalloc, tcmalloc, Debian's mimalloc, a newer mimalloc
# (MIMALLOC_SO) and libmemoman-malloc, from a checkout you give (SUITE_DIR); bench/suite/README.md.
SUITE_ROUNDS ?= 3
bench-suite:
	@[ -n "$(SUITE_DIR)" ] || { echo "bench-suite: give SUITE_DIR=<a mimalloc-bench checkout> (bench/suite/README.md)"; exit 2; }
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)
	@bench/suite/run.sh --suite "$(SUITE_DIR)" --build "$(BUILD)/suite-programs" \
		--memoman "$(BUILD)/release/libmemoman-malloc.so" --rounds $(SUITE_ROUNDS) --out "$(BUILD)/suite" \
		$(if $(MIMALLOC_SO),--mimalloc "$(MIMALLOC_SO)" --mimalloc-label "$(or $(MIMALLOC_LABEL),mimalloc-new)") \
		--wait-idle 1.0

# The heap-misuse programs of hardened_malloc's test/ (HARDENED_DIR) and mimalloc-bench's
# bench/security (SUITE_DIR), from checkouts you give, under glibc, libmemoman-malloc, its secure
# build and HARDENED_SO if given: how many each stops (bench/security/README.md).
bench-security:
	@[ -n "$(HARDENED_DIR)$(SUITE_DIR)" ] || { echo "bench-security: give HARDENED_DIR=<a hardened_malloc checkout> and/or SUITE_DIR=<a mimalloc-bench checkout> (bench/security/README.md)"; exit 2; }
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)
	@bench/security/run.sh $(if $(HARDENED_DIR),--hardened "$(HARDENED_DIR)") $(if $(SUITE_DIR),--mimalloc-bench "$(SUITE_DIR)") \
		--lib glibc= --lib memoman="$(BUILD)/release/libmemoman-malloc.so" \
		--lib memoman-secure="$(BUILD)/release/libmemoman-malloc-secure.so" \
		$(if $(HARDENED_SO),--lib hardened_malloc="$(HARDENED_SO)") --out "$(BUILD)/security"

size:
	@mkdir -p $(BUILD)
	@sh bench/footprint/run.sh $(BUILD)/footprint

lint:
	@clang-format --dry-run --Werror $(SOURCES)
	@JOBS=$(JOBS) sh tests/lint/tidy.sh '$(TIDY_CHECKS)' $(TIDY_SOURCES)
	@echo "lint: clean"

CROSS_ARCHS ?= aarch64 armhf riscv64 s390x ppc32

test-cross:
	@mkdir -p $(BUILD)
	@BUILD=$(BUILD) JOBS=$(JOBS) sh tests/cross/run.sh $(CROSS_ARCHS)

test-cross-malloc:
	@mkdir -p $(BUILD)
	@JOBS=$(JOBS) sh tests/cross-malloc/run.sh $(BUILD)

test-arm64-vm test-ppc64el-vm:
	@mkdir -p $(BUILD)
	@sh tests/cross-malloc/$(@:test-%=%).sh $(BUILD)/$(@:test-%=%) || \
		{ s=$$?; [ $$s = 77 ] && echo "$@: skipped (see above)"; [ $$s = 77 ]; }

test-cortex-m:
	@mkdir -p $(BUILD)
	@CM_BUILD=$(abspath $(BUILD))/cortex-m sh examples/cortex-m/run.sh
	@sh bench/footprint/run.sh --check $(BUILD)/footprint

docs:
	@command -v doxygen >/dev/null || { echo "make docs needs doxygen (apt-get install doxygen)"; exit 1; }
	@rm -rf $(BUILD)/docs && mkdir -p $(BUILD)/docs
	@MEMOMAN_DOCS_OUT=$(BUILD)/docs doxygen docs/Doxyfile
	@echo "docs: $(BUILD)/docs/html/index.html"

check-all: lint docs test test-asan test-tools test-32 test-clang test-bounds test-debug test-tsan test-programs fuzz test-cortex-m test-cross test-cross-malloc test-arm64-vm test-ppc64el-vm

install:
	@mkdir -p $(BUILD)
	$(call build,release,-DCMAKE_BUILD_TYPE=Release)
	$(CMAKE) --install $(BUILD)/release --prefix $(PREFIX)

amalgamation:
	@sh scripts/amalgamate.sh $(BUILD)/amalgamation .
	@echo "amalgamation: $(BUILD)/amalgamation/tlsf.c tlsf.h memoman.h"

clean:
	rm -rf $(BUILD)
