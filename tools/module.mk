# tools/: small command-line tools over libhog.
HOGSPEC := $(BIN)/hogspec
HOGSPEC_OBJ := $(BUILD)/obj/tools/hogspec.o
HOGSPEC_PKGS := $(LIBHOG_PKGS)
BINARIES += $(HOGSPEC)
DEPFILES += $(HOGSPEC_OBJ:.o=.d)

$(HOGSPEC_OBJ): PKG_CFLAGS = $(call pkg,cflags,hogspec,$(HOGSPEC_PKGS))

$(HOGSPEC): $(HOGSPEC_OBJ) $(LIBHOG)
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg,libs,hogspec,$(HOGSPEC_PKGS)) -lm
