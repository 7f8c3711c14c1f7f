# common/ -> libhog.a: the shared core (no server or runner knowledge).
LIBHOG_SRC := $(wildcard common/*.c)
LIBHOG_OBJ := $(LIBHOG_SRC:%.c=$(BUILD)/obj/%.o)
LIBHOG := $(BUILD)/lib/libhog.a
LIBHOG_PKGS := libcjson yaml-0.1 libpcre2-8 libcrypto
DEPFILES += $(LIBHOG_OBJ:.o=.d)

$(LIBHOG_OBJ): PKG_CFLAGS = $(call pkg,cflags,libhog,$(LIBHOG_PKGS))
$(BUILD)/obj/common/bundle.o: PKG_CFLAGS += -DHOG_SOURCE_DIR='"$(TOP)"' 
# jose uses the OpenSSL 3 API only: deprecated calls do not even compile there.
$(BUILD)/obj/common/jose.o: PKG_CFLAGS += -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED

$(LIBHOG): $(LIBHOG_OBJ)
	$(quiet) AR $@
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
