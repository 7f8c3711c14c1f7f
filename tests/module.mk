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
