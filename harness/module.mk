# harness/: libhogclient (the reference C client, build/lib/libhogclient.a), the C adapter
# speaking harness/PROTOCOL.md (build/bin/hog-adapter-c), and the link of the tests that
# drive them (tests/integration/test_client*.c, test_adapter_c.c) against hogmock.
LIBHOGCLIENT_SRC := $(wildcard harness/libhogclient/*.c)
LIBHOGCLIENT_OBJ := $(LIBHOGCLIENT_SRC:%.c=$(BUILD)/obj/%.o)
LIBHOGCLIENT := $(BUILD)/lib/libhogclient.a
LIBHOGCLIENT_PKGS := libcurl $(LIBHOG_PKGS)
DEPFILES += $(LIBHOGCLIENT_OBJ:.o=.d)

$(LIBHOGCLIENT_OBJ): PKG_CFLAGS = $(call pkg,cflags,hogclient,$(LIBHOGCLIENT_PKGS)) -Iharness/libhogclient

$(LIBHOGCLIENT): $(LIBHOGCLIENT_OBJ)
	$(quiet) AR $@
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

HOG_ADAPTER_C := $(BIN)/hog-adapter-c
HOG_ADAPTER_C_SRC := $(wildcard harness/adapters/c/*.c)
HOG_ADAPTER_C_OBJ := $(HOG_ADAPTER_C_SRC:%.c=$(BUILD)/obj/%.o)
BINARIES += $(HOG_ADAPTER_C)
DEPFILES += $(HOG_ADAPTER_C_OBJ:.o=.d)

$(HOG_ADAPTER_C_OBJ): PKG_CFLAGS = $(call pkg,cflags,hogclient,$(LIBHOGCLIENT_PKGS)) -Iharness/libhogclient

$(HOG_ADAPTER_C): $(HOG_ADAPTER_C_OBJ) $(LIBHOGCLIENT) $(LIBHOG)
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg,libs,hogclient,$(LIBHOGCLIENT_PKGS)) -lm

# The client's integration tests: tests/module.mk finds and runs them; these rules add
# libhogclient to their link (and the adapter they spawn to their prerequisites).
HOGCLIENT_TEST_BIN := $(filter $(BUILD)/tests/integration/test_client% \
                        $(BUILD)/tests/integration/test_adapter_c,$(INTEG_BIN))
HOGCLIENT_TEST_OBJ := $(HOGCLIENT_TEST_BIN:$(BUILD)/tests/integration/%=$(BUILD)/obj/tests/integration/%.o)

$(HOGCLIENT_TEST_OBJ): PKG_CFLAGS += -Iharness/libhogclient

$(HOGCLIENT_TEST_BIN): $(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o \
                       $(HARNESS_OBJ) $(LIBHOGCLIENT) $(LIBHOGMOCK) $(LIBHOG) | $(HOG_ADAPTER_C)
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg,libs,integ,$(INTEG_PKGS)) -lm

# The mutation self-test (tests/integration/test_mutants.c, table conformance/mutants.txt):
# build/mutants/hog-adapter-c-mK is the C adapter with libhogclient compiled with
# -DHOG_MUTANT=K, one deliberate bug each. Built only as prerequisites of that test.
HOG_MUTANTS := $(shell seq 1 18)
HOG_MUTANT_SRC := $(HOG_ADAPTER_C_SRC) $(LIBHOGCLIENT_SRC)
HOG_MUTANT_BIN := $(HOG_MUTANTS:%=$(BUILD)/mutants/hog-adapter-c-m%)
DEPFILES += $(foreach k,$(HOG_MUTANTS),$(HOG_MUTANT_SRC:%.c=$(BUILD)/mutants/obj$(k)/%.d))

define HOG_MUTANT_RULES
$(BUILD)/mutants/obj$(1)/%.o: %.c
	$$(quiet) CC "$$< (mutant $(1))"
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_CFLAGS) $$(call pkg,cflags,hogclient,$$(LIBHOGCLIENT_PKGS)) \
	    -Iharness/libhogclient -DHOG_MUTANT=$(1) -c -o $$@ $$<

$(BUILD)/mutants/hog-adapter-c-m$(1): $(HOG_MUTANT_SRC:%.c=$(BUILD)/mutants/obj$(1)/%.o) $$(LIBHOG)
	$$(quiet) LINK $$@
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(call pkg,libs,hogclient,$$(LIBHOGCLIENT_PKGS)) -lm
endef
$(foreach k,$(HOG_MUTANTS),$(eval $(call HOG_MUTANT_RULES,$(k))))

$(BUILD)/tests/integration/test_mutants: | $(HOGCONF) $(HOGMOCK) $(HOG_ADAPTER_C) $(HOG_MUTANT_BIN)
