# mockserver/ -> libhogmock.a (everything but main.c, so tests run it in-process) and hogmock.
HOGMOCK_SRC := $(filter-out mockserver/main.c,$(wildcard mockserver/*.c))
HOGMOCK_OBJ := $(HOGMOCK_SRC:%.c=$(BUILD)/obj/%.o)
HOGMOCK_MAIN_OBJ := $(BUILD)/obj/mockserver/main.o
LIBHOGMOCK := $(BUILD)/lib/libhogmock.a
HOGMOCK := $(BIN)/hogmock
HOGMOCK_PKGS := libmicrohttpd sqlite3 libcurl $(LIBHOG_PKGS)
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
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg,libs,hogmock,$(HOGMOCK_PKGS)) -lm
