# mockserver/ -> libhogmock.a (everything but main.c, so tests run it in-process) and hogmock.
HOGMOCK_SRC := $(filter-out mockserver/main.c,$(wildcard mockserver/*.c))
HOGMOCK_OBJ := $(HOGMOCK_SRC:%.c=$(BUILD)/obj/%.o)
HOGMOCK_MAIN_OBJ := $(BUILD)/obj/mockserver/main.o
LIBHOGMOCK := $(BUILD)/lib/libhogmock.a
HOGMOCK := $(BIN)/hogmock
HOGMOCK_PKGS := libmicrohttpd sqlite3 libcurl $(LIBHOG_PKGS)
# hogmock itself takes libcurl's headers only: it opens the library when it first needs it
# (mockserver/curlapi.c), and starts without loading it and its dependencies.
HOGMOCK_LINK_PKGS := $(filter-out libcurl,$(HOGMOCK_PKGS))
BINARIES += $(HOGMOCK)
DEPFILES += $(HOGMOCK_OBJ:.o=.d) $(HOGMOCK_MAIN_OBJ:.o=.d)

$(HOGMOCK_OBJ) $(HOGMOCK_MAIN_OBJ): PKG_CFLAGS = $(call pkg,cflags,hogmock,$(HOGMOCK_PKGS)) -Imockserver

$(LIBHOGMOCK): $(HOGMOCK_OBJ)
	$(quiet) AR $@
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(HOGMOCK): $(HOGMOCK_MAIN_OBJ) $(LIBHOGMOCK) $(LIBHOG)
	$(quiet) LINK $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg,libs,hogmock_link,$(HOGMOCK_LINK_PKGS)) -ldl -lm

# The bundled specs in the JSON form hogmock reads at start in a fraction of the time their
# YAML takes: the SHA-256 of the YAML (hogmock uses the form only while they match), a
# newline, then the document as hogspec loads it.
SPEC_FORMS := $(BUILD)/share/openapi/hogplane.yaml.cache $(BUILD)/share/openapi/hogmock-admin.yaml.cache
BINARIES += $(SPEC_FORMS)

$(BUILD)/share/openapi/%.yaml.cache: openapi/%.yaml $(HOGSPEC)
	$(quiet) GEN $@
	@mkdir -p $(@D)
	$(Q){ sha256sum < $< | cut -c1-64 && $(HOGSPEC) --spec $< json; } > $@.tmp && mv $@.tmp $@
