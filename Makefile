# One command each: build, test, demo, format.  CMake does the work.
#   make            build (build/)
#   make check      install what is missing, then the whole test suite:
#                   gcc -Werror, clang -Werror, ASan+UBSan, valgrind, format and layer checks,
#                   the server's own integration tests against PostgreSQL $(CHECK_PG_OTHER), and the
#                   failover test (a primary and a standby) against $(CHECK_FAILOVER_PG)
#   make asan       tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind   every test under valgrind (make check leaves out the slowest there)
#   make matrix     the integration tests against PostgreSQL 13, 14, 16, 17 and 18 (build-pgNN;
#                   servers from scripts/pg-versions), a summary per version at the end
#   make check-failover  decoding on a standby and the switch to a promoted standby
#                   (failover slots), against PostgreSQL 17 (under a minute)
#   make demo       the seed's e-commerce worker, end to end
#   make bench      the benchmark (bench/run --quick: under a minute)
#   make chaos      the fault-injection suite, full (make check runs its CI subset)
#   make format     apply .clang-format
#   make docs       regenerate docs/CONFIGURATION.md from the property table
#   make install    install library, header, pkg-config file and tool (PREFIX=/usr/local)

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
CTEST ?= ctest
SOURCES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find include src tools examples tests bench -name '*.[ch]')

.PHONY: all build deps check check-gcc check-clang check-asan check-valgrind valgrind check-fuzz format format-check \
        check-layers asan demo install clean bench chaos matrix check-pg-other check-failover

all: build

build:
	$(CMAKE) -S . -B build -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	$(CMAKE) --build build -j $(JOBS)

deps:
	@scripts/install-deps

# The final ctest run's summary closes the output.
check: deps format-check check-layers check-clang check-asan check-valgrind check-fuzz check-pg-other check-failover check-gcc

# The layer rules of src/ (docs/ARCHITECTURE.md).
check-layers:
	scripts/check-layers

check-gcc:
	$(CMAKE) -S . -B build-check -DCMAKE_C_COMPILER=gcc -DPGCDC_WERROR=ON
	$(CMAKE) --build build-check -j $(JOBS)
	$(CTEST) --test-dir build-check --output-on-failure -j $(JOBS)

check-clang:
	$(CMAKE) -S . -B build-clang -DCMAKE_C_COMPILER=clang -DPGCDC_WERROR=ON
	$(CMAKE) --build build-clang -j $(JOBS)

check-asan asan:
	$(CMAKE) -S . -B build-asan -DCMAKE_C_COMPILER=clang -DPGCDC_WERROR=ON -DPGCDC_SANITIZE=ON \
	    -DCMAKE_BUILD_TYPE=Debug
	$(CMAKE) --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(CTEST) --test-dir build-asan --output-on-failure -j $(JOBS)

# Under memcheck, make check leaves out the sinks' suites and the snapshot's, the
# slowest there (ASan+UBSan run them); make valgrind runs everything.
VALGRIND_SKIP ?= integration\.test_(nats|amqp|redis|kafka|kafka_eos|pgsql|http|snapshot)$$
check-valgrind valgrind:
	$(CMAKE) -S . -B build-valgrind -DCMAKE_C_COMPILER=gcc -DPGCDC_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
	    -DPGCDC_VALGRIND=ON
	$(CMAKE) --build build-valgrind -j $(JOBS)
	$(CTEST) --test-dir build-valgrind --output-on-failure -j $(JOBS) \
	    $(if $(filter valgrind,$(MAKECMDGOALS)),,-E '$(VALGRIND_SKIP)')

# libFuzzer under ASan+UBSan, seeded with messages recorded from a real server.  A
# finding prints the fuzzer's report and leaves its input in build-fuzz/ (crash-*).
FUZZ_SECONDS ?= 60
fuzz_run = build-fuzz/tests/fuzz/$(1) -max_total_time=$(2) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/ build-fuzz/corpus-$(3) $(4) >build-fuzz/$(1).log 2>&1 || \
	    { tail -n 60 build-fuzz/$(1).log; exit 1; }; tail -n 4 build-fuzz/$(1).log
check-fuzz:
	$(CMAKE) -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DPGCDC_WERROR=ON -DPGCDC_FUZZ=ON \
	    -DPGCDC_TESTS=OFF
	$(CMAKE) --build build-fuzz -j $(JOBS) --target fuzz_decoder fuzz_binval fuzz_txn fuzz_copy
	rm -rf build-fuzz/corpus-decoder build-fuzz/corpus-binval build-fuzz/corpus-txn build-fuzz/corpus-copy
	mkdir -p build-fuzz/corpus-decoder build-fuzz/corpus-binval build-fuzz/corpus-txn build-fuzz/corpus-copy
	$(call fuzz_run,fuzz_decoder,$(FUZZ_SECONDS),decoder,tests/fuzz/corpus)
	$(call fuzz_run,fuzz_binval,15,binval,)
	$(call fuzz_run,fuzz_txn,30,txn,tests/fuzz/corpus-txn)
	$(call fuzz_run,fuzz_copy,15,copy,)

# Other PostgreSQL major versions (scripts/pg-versions pins them; the servers are
# installed with npm into build-matrix/pg).  Each version builds in build-pgNN
# (gcc, no sanitizers) and runs the integration tests there against its server;
# the benchmark and the chaos suite stay with 15.  The summary closes the output.
MATRIX_VERSIONS ?= 13 14 16 17 18
MATRIX_SKIP ?= ^bench\.
# make check runs one other version, and only what tells versions apart: the
# suites of the server-facing code, not the sinks' (they meet the same pgcdc),
# nor the snapshot's (two and a half minutes; make matrix runs it).
CHECK_PG_OTHER ?= 13
CHECK_PG_SKIP ?= ^bench\.|^demo\.|integration\.test_(nats|amqp|redis|kafka|kafka_eos|http|pgsql|exec|sink_stats|status_page|metrics|plugin|faults|snapshot)$$
pg_version_run = bin=$$(scripts/pg-versions install $(1) build-matrix/pg) && \
	$(CMAKE) -S . -B build-pg$(1) -DCMAKE_C_COMPILER=gcc -DPGCDC_WERROR=ON -DPGCDC_TEST_PGBIN="$$bin" >/dev/null && \
	$(CMAKE) --build build-pg$(1) -j $(JOBS) && \
	$(CTEST) --test-dir build-pg$(1) --output-on-failure -j $(JOBS) -L integration -E '$(2)' 2>&1 | \
	    tee build-pg$(1)/ctest.log
matrix: deps
	@mkdir -p build-matrix; rm -f build-matrix/summary
	@for v in $(MATRIX_VERSIONS); do \
	    if ( $(call pg_version_run,$$v,$(MATRIX_SKIP)) ); then st=passed; else st=FAILED; fi; \
	    echo "PostgreSQL $$v: $$st ($$(grep -h 'tests passed' build-pg$$v/ctest.log 2>/dev/null || echo 'no test ran');" \
	        "$$(grep -h '^\[  SKIPPED \] [^0-9]' build-pg$$v/Testing/Temporary/LastTest.log 2>/dev/null | \
	            sort -u | wc -l) test cases skipped)" >>build-matrix/summary; \
	    grep -h '^SKIPPED:' build-pg$$v/Testing/Temporary/LastTest.log 2>/dev/null | sort -u | \
	        sed 's/^/    /' >>build-matrix/summary || true; \
	done; \
	echo; echo "== make matrix"; cat build-matrix/summary; ! grep -q FAILED build-matrix/summary

# It runs in check-gcc's build (the server comes from PGBIN, read when the tests
# run), which check-gcc then reuses: one build fewer.
check-pg-other:
	scripts/pg-versions install $(CHECK_PG_OTHER) build-matrix/pg >/dev/null
	$(CMAKE) -S . -B build-check -DCMAKE_C_COMPILER=gcc -DPGCDC_WERROR=ON
	$(CMAKE) --build build-check -j $(JOBS)
	PGBIN="$$(scripts/pg-versions bin $(CHECK_PG_OTHER) build-matrix/pg)" \
	    $(CTEST) --test-dir build-check --output-on-failure -j $(JOBS) -L integration -E '$(CHECK_PG_SKIP)'

# High availability needs a server of 16 or later (failover slots: 17); the system's is
# 15, where ha.failover says SKIPPED.  It runs in check-gcc's build like check-pg-other.
CHECK_FAILOVER_PG ?= 17
check-failover: deps
	scripts/pg-versions install $(CHECK_FAILOVER_PG) build-matrix/pg >/dev/null
	$(CMAKE) -S . -B build-check -DCMAKE_C_COMPILER=gcc -DPGCDC_WERROR=ON
	$(CMAKE) --build build-check -j $(JOBS) --target pgcdc
	PGBIN="$$(scripts/pg-versions bin $(CHECK_FAILOVER_PG) build-matrix/pg)" \
	    $(CTEST) --test-dir build-check --output-on-failure -R '^ha\.'

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run -Werror $(SOURCES)

demo: deps build
	scripts/demo

# The fault-injection suite, full (about 40 minutes; make check runs its CI subset).
chaos: deps build
	tests/chaos/run --full --pgcdc build/tools/pgcdc/pgcdc

# The benchmark, full (bench/run --quick for a short one); results in bench/results/.
bench: deps
	bench/run

# docs/CONFIGURATION.md is pgcdc --help-config's output (the test docs.configuration checks it).
.PHONY: docs
docs: build
	build/tools/pgcdc/pgcdc --help-config > docs/CONFIGURATION.md.tmp
	mv docs/CONFIGURATION.md.tmp docs/CONFIGURATION.md

install: build
	$(CMAKE) --install build

clean:
	rm -rf build build-check build-clang build-asan build-valgrind build-fuzz build-bench build-pg* build-matrix
