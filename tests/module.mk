# tests/unit/test_<module>.c -> one cmocka binary each, run by tests/run-unit.
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_PKGS := cmocka $(LIBHOG_PKGS)
DEPFILES += $(UNIT_OBJ:.o=.d)
TESTS += $(UNIT_BIN)

$(UNIT_OBJ): PKG_CFLAGS = $(call pkg,cflags,unit,$(UNIT_PKGS))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBHOG)
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg,libs,unit,$(UNIT_PKGS)) -lm

# tests/integration/test_<area>.c -> binaries linked with hogmock in-process and libcurl.
INTEG_SRC := $(wildcard tests/integration/test_*.c)
INTEG_OBJ := $(INTEG_SRC:%.c=$(BUILD)/obj/%.o)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
HARNESS_OBJ := $(BUILD)/obj/tests/integration/harness.o
INTEG_PKGS := cmocka libcurl $(HOGMOCK_PKGS)
DEPFILES += $(INTEG_OBJ:.o=.d) $(HARNESS_OBJ:.o=.d)
TESTS += $(INTEG_BIN)

$(INTEG_OBJ) $(HARNESS_OBJ): PKG_CFLAGS = $(call pkg,cflags,integ,$(INTEG_PKGS)) -Imockserver -Itests/integration

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(HARNESS_OBJ) $(LIBHOGMOCK) $(LIBHOG)
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg,libs,integ,$(INTEG_PKGS)) -lm
