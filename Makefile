# hogplane conformance kit: one non-recursive Makefile; each module adds itself
# through its module.mk. `make V=1` shows full commands, `make SAN=1` builds with
# AddressSanitizer + UndefinedBehaviorSanitizer into build/san/.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS :=
endif
BIN := $(BUILD)/bin

CC ?= cc
PKG_CONFIG ?= pkg-config
OPT ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wno-missing-field-initializers -Werror
CFLAGS ?= $(OPT)
ALL_CFLAGS = -std=c11 -pthread -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(WARN) $(SANFLAGS) \
             -MMD -MP -I$(TOP)/common $(CFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS)

ifeq ($(V),1)
Q :=
quiet = @:
else
Q := @
quiet = @printf '  %-6s %s\n'
endif

# pkg-config per package set, run once and only when a rule first needs it (the
# packages may be installed by this very run): $(call pkg,cflags|libs,NAME,PKGS)
pkg = $(if $(PC_$(1)_$(2)),,$(eval PC_$(1)_$(2) := $$(shell $(PKG_CONFIG) --$(1) $(3) || echo PKG_CONFIG_FAILED_$(2))))$(PC_$(1)_$(2))

DEPFILES :=
BINARIES :=
TESTS :=

# Each module sets PKG_CFLAGS for its objects as a target-specific variable.
$(BUILD)/obj/%.o: %.c
	$(quiet) CC $<
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

include common/module.mk
include tools/module.mk
include mockserver/module.mk
include tests/module.mk
include harness/module.mk
include conformance/module.mk
include tests/fuzz/module.mk

-include $(DEPFILES)

.PHONY: all test run serve lint clean deps deps-test deps-lint bench soak crash deps-bench

all: deps $(LIBHOG) $(BINARIES)

deps:
	@scripts/install-deps build

deps-test:
	@scripts/install-deps test

deps-lint:
	@scripts/install-deps lint

deps-bench:
	@scripts/install-deps bench

# Long checks of hogmock itself (python3, standard library): bench/soak, a mixed load
# under random fault plans for SOAK_S seconds (300); bench/crash, kill -9 under write
# load CRASH_ROUNDS times (20) with nothing acknowledged lost.
soak crash: deps-bench
	@$(MAKE) --no-print-directory all
	HOGMOCK=$(BIN)/hogmock bench/$@

# hogmock beside WireMock, Prism and nginx (bench/run): one table of figures and
# targets, appended to bench/RESULTS.md. BENCH_QUICK=1: 2 s runs, kept in the cache only.
BENCH_QUICK ?=
BENCH_ARGS ?=
bench: deps-bench
	@$(MAKE) --no-print-directory all $(BUILD)/bench/firstreply
	bench/run --bin $(BIN) --firstreply $(BUILD)/bench/firstreply \
	    $(if $(filter 1,$(BENCH_QUICK)),--quick) $(BENCH_ARGS)

# Launch to first 200, timed from C (fork, exec, a GET every 0.5 ms): no interpreter's
# start-up in the figure.
$(BUILD)/bench/firstreply: bench/firstreply.c
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $<

# Make the dependencies first, then build with a fresh make so pkg-config sees them.
test: deps-test
	@$(MAKE) --no-print-directory test-build
	@HOG_SRCDIR=$(TOP) VALGRIND=$(VALGRIND) tests/run-unit $(TESTS)

.PHONY: test-build
test-build: $(LIBHOG) $(BINARIES) $(TESTS)

# libFuzzer targets (tests/fuzz/, clang + ASan + UBSan, build/fuzz/), FUZZ_S seconds each
# on a copy of their seed corpora; fails on the first crash, saying where its input is.
.PHONY: fuzz
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(FUZZ_JOBS)) fuzz-build
	@tests/fuzz/run $(FUZZ_S) $(FUZZ_BIN)

# The main job: the conformance run. Every suite through the C adapter against hogmock;
# ADAPTER=python uses the Python standard-library adapter, ADAPTER='CMD' any other, and
# RUN_ARGS adds hogconf options (RUN_ARGS='--suite lifecycle --junit build/junit.xml').
# Fails when hogconf does (hogconf exits 0 all passed, 1 a scenario failed, 2 usage or
# infrastructure; make turns any failure into its own status 2).
ADAPTER ?=
RUN_ARGS ?=
run: deps
	@$(MAKE) --no-print-directory all
	$(BIN)/hogconf run $(if $(ADAPTER),--adapter '$(ADAPTER)') $(RUN_ARGS)

# hogmock on its own, for trying a client by hand: the test tokens on RUN_LISTEN until Ctrl-C.
RUN_LISTEN ?= 127.0.0.1:8080
serve: deps
	@$(MAKE) --no-print-directory all
	$(BIN)/hogspec check -q
	@echo "try: curl -H 'Authorization: Bearer tok_alice' http://$(RUN_LISTEN)/v1/me"
	$(BIN)/hogmock --listen $(RUN_LISTEN) --tokens fixtures/auth/tokens.yaml

REDOCLY_VERSION := 1.34.20
REDOCLY := $(BUILD)/tools/node_modules/.bin/redocly

lint: deps-lint $(REDOCLY)
	$(REDOCLY) lint --config openapi/redocly.yaml openapi/hogplane.yaml openapi/hogmock-admin.yaml

$(REDOCLY):
	$(quiet) NPM @redocly/cli@$(REDOCLY_VERSION)
	@mkdir -p $(BUILD)/tools
	$(Q)npm install --prefix $(BUILD)/tools --no-save --no-package-lock --no-audit --no-fund \
	    --loglevel=error @redocly/cli@$(REDOCLY_VERSION) >/dev/null

clean:
	rm -rf build
