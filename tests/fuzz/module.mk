# tests/fuzz/fuzz_<name>.c -> build/fuzz/bin/fuzz_<name>: libFuzzer targets built with clang
# and ASan + UBSan from objects of their own under build/fuzz/ (the gcc builds in build/
# and build/san/ are not touched). `make fuzz` runs each for FUZZ_S seconds on a copy of
# its seed corpus tests/fuzz/corpus/<name>/ (see tests/fuzz/run).
FUZZ_BUILD := build/fuzz
FUZZ_CC ?= clang
FUZZ_S ?= 60
# -O1 runs fastest; CI passes -O0, which builds in half the time, for its short runs.
FUZZ_OPT ?= -O1 -g
# make fuzz builds with this many jobs unless make was given -j itself.
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BIN := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/bin/fuzz_%)
FUZZ_PKGS := $(HOGMOCK_PKGS)
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# gcc's -Wformat=2 leaves vsnprintf with a va_list alone, and clang's string-concatenation
# check flags SQL split over lines on purpose: the gcc build keeps both checks.
FUZZ_CFLAGS = -std=c11 -pthread -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(WARN) \
              -Wno-format-nonliteral -Wno-string-concatenation $(FUZZ_SANFLAGS) \
              -fsanitize=fuzzer-no-link $(FUZZ_OPT) -MMD -MP -I$(TOP)/common -Imockserver -Iconformance \
              $(call pkg,cflags,fuzz,$(FUZZ_PKGS))

# The code under test: libhog, hogmock without its main(), and the parts of hogconf the
# targets reach (the scenario loader with its matchers, the adapter protocol).
FUZZ_LIB_SRC := $(LIBHOG_SRC) $(HOGMOCK_SRC) \
                $(addprefix conformance/,adapter.c child.c match.c scenario.c subst.c yamlpos.c)
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB := $(FUZZ_BUILD)/lib/libhogfuzz.a
FUZZ_OBJ := $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
DEPFILES += $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d)

$(FUZZ_BUILD)/obj/common/bundle.o: FUZZ_EXTRA = -DHOG_SOURCE_DIR='"$(TOP)"'
$(FUZZ_BUILD)/obj/common/jose.o: FUZZ_EXTRA = -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED

# The objects are rebuilt when FUZZ_OPT changes (a stamp holds the last one).
ifneq ($(filter fuzz fuzz-build $(FUZZ_BUILD)/%,$(MAKECMDGOALS)),)
$(shell mkdir -p $(FUZZ_BUILD) && { echo '$(FUZZ_OPT)' | cmp -s - $(FUZZ_BUILD)/opt \
        || echo '$(FUZZ_OPT)' > $(FUZZ_BUILD)/opt; })
endif
$(FUZZ_LIB_OBJ) $(FUZZ_OBJ): $(FUZZ_BUILD)/opt

$(FUZZ_BUILD)/obj/%.o: %.c
	$(quiet) FUZZCC $<
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_EXTRA) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	$(quiet) AR $@
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_BUILD)/bin/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_SANFLAGS) -fsanitize=fuzzer -pthread -o $@ $^ \
	    $(call pkg,libs,fuzz,$(FUZZ_PKGS)) -lm

.PHONY: fuzz-build
fuzz-build: $(FUZZ_OBJ) $(FUZZ_BIN)

.PHONY: deps-fuzz
deps-fuzz:
	@scripts/install-deps fuzz
