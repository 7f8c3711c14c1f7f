# conformance/ -> hogconf: the conformance runner. It starts hogmock and the adapters as
# child processes and talks to hogmock over HTTP only (never mockserver/ headers).
HOGCONF := $(BIN)/hogconf
HOGCONF_SRC := $(wildcard conformance/*.c)
HOGCONF_OBJ := $(HOGCONF_SRC:%.c=$(BUILD)/obj/%.o)
HOGCONF_PKGS := libcurl $(LIBHOG_PKGS)
BINARIES += $(HOGCONF)
DEPFILES += $(HOGCONF_OBJ:.o=.d)

$(HOGCONF_OBJ): PKG_CFLAGS = $(call pkg,cflags,hogconf,$(HOGCONF_PKGS)) -Iconformance

$(HOGCONF): $(HOGCONF_OBJ) $(LIBHOG)
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg,libs,hogconf,$(HOGCONF_PKGS)) -lm

# tests/integration/test_hogconf{,_real} spawn hogconf, hogmock and the C adapter: built first.
$(BUILD)/tests/integration/test_hogconf $(BUILD)/tests/integration/test_hogconf_real: \
    | $(HOGCONF) $(HOGMOCK) $(HOG_ADAPTER_C)
