# rmon: rmond (collector daemon) and rmonctl (client).
#
#   make            build build/rmond and build/rmonctl
#   make run        build, then run rmond in the foreground with defaults
#   make test       build and run every test (unit, integration, fuzz smoke)
#   make check      the tests again under AddressSanitizer + UBSan
#   make valgrind   the daemon's integration run under valgrind memcheck
#   make bench      print the benchmark figures (bench/RESULTS.md)
#   make fuzz       build the libFuzzer targets with clang and run each for
#                   FUZZ_TIME seconds (default 600) on a copy of its corpus
#   make deps       install missing Debian packages (apt-get)
#   make install    PREFIX=/usr/local DESTDIR= (also SYSCONFDIR, UNITDIR, MANDIR...)
#   make docs       regenerate docs/metrics.md from the schema table

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
BUILD     ?= build
O         := $(BUILD)/obj

PKGS      := libuv msgpack yaml-0.1
DEB_PKGS  := build-essential pkg-config libuv1-dev libmsgpack-dev libyaml-dev \
             libcmocka-dev clang libclang-rt-14-dev llvm valgrind procps \
             systemd libxml2-utils groff-base man-db prometheus curl

OS        := $(shell uname -s | tr A-Z a-z)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wshadow -Wconversion -Wno-sign-conversion \
             -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DRMON_VERSION='"$(VERSION)"' $(WARN) \
             -Icommon -Iproto -Idaemon -Idaemon/collect -Idaemon/collect/nvml -Iclient \
             $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(EXTRA_LDFLAGS)

COMMON_SRC := $(wildcard common/*.c)
PROTO_SRC  := $(wildcard proto/*.c)
DAEMON_SRC := $(filter-out daemon/main.c,$(wildcard daemon/*.c daemon/req/*.c \
              daemon/collect/*.c daemon/collect/$(OS)/*.c daemon/collect/nvml/*.c))
CLIENT_SRC := $(filter-out client/main.c,$(wildcard client/*.c))
TEST_SRC   := $(wildcard tests/unit/test-*.c)
ITEST_SRC  := $(wildcard tests/integration/test-*.c)
HELPER_SRC := $(wildcard tests/helpers/*.c)
BENCH_SRC  := $(wildcard bench/*.c)

# Quiet by default; V=1 shows every command.
ifeq ($(V),1)
Q :=
else
Q := @
endif

obj = $(patsubst %.c,$(O)/%.o,$(1))

LIB_COMMON := $(O)/libcommon.a
LIB_PROTO  := $(O)/libproto.a
LIB_DAEMON := $(O)/libdaemon.a
LIB_CLIENT := $(O)/libclient.a
LIBS       := $(LIB_DAEMON) $(LIB_CLIENT) $(LIB_PROTO) $(LIB_COMMON)

TESTS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC)) \
           $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(ITEST_SRC))
HELPERS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(HELPER_SRC))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all deps run test check bench fuzz install clean docs tests valgrind fuzz-smoke-build
.DEFAULT_GOAL := all
.SECONDARY:

all: $(BUILD)/rmond $(BUILD)/rmonctl

# Install what is missing, and only that (apt-get update first, once).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: run as root (or sudo make deps)" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB_COMMON): $(call obj,$(COMMON_SRC))
$(LIB_PROTO): $(call obj,$(PROTO_SRC))
$(LIB_DAEMON): $(call obj,$(DAEMON_SRC))
$(LIB_CLIENT): $(call obj,$(CLIENT_SRC))
$(LIBS):
	@mkdir -p $(dir $@)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/rmond: $(O)/daemon/main.o $(LIB_DAEMON) $(LIB_PROTO) $(LIB_COMMON)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LDLIBS_ALL) -ldl

$(BUILD)/rmonctl: $(O)/client/main.o $(LIB_CLIENT) $(LIB_PROTO) $(LIB_COMMON)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

# Unit tests link everything but the two mains, plus cmocka.  In `make
# test` they run under LeakSanitizer (TEST_SAN), so a leak fails the run.
TEST_SAN ?= -fsanitize=leak
$(BUILD)/tests/%: $(O)/tests/unit/%.o $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(TEST_SAN) -o $@ $^ $(LIBS) $(CMOCKA_LIBS) $(LDLIBS_ALL) -ldl

$(BUILD)/tests/%: $(O)/tests/integration/%.o $(O)/tests/integration/harness.o $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(TEST_SAN) -o $@ $^ $(LIBS) $(CMOCKA_LIBS) $(LDLIBS_ALL) -ldl

$(BUILD)/tests/helpers/%: $(O)/tests/helpers/%.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ -lpthread -lm

$(BUILD)/bench/%: $(O)/bench/%.o $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LIBS) $(LDLIBS_ALL) -ldl

tests: all $(TESTS) $(HELPERS)

# The first thing a fresh clone runs: rmond in the foreground, built-in
# defaults (per-user socket and state directory when not root).
run: deps all
	$(BUILD)/rmond --foreground $(RMOND_ARGS)

test: deps
	@$(MAKE) --no-print-directory tests fuzz-smoke-build
	@BUILD=$(BUILD) tests/run.sh

# Same tests, instrumented; objects go to build/asan so the two never mix.
check: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan TEST_SAN= \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" tests
	@BUILD=$(BUILD)/asan RMON_NO_FUZZ=1 tests/run.sh

# The daemon's integration run under valgrind memcheck: errors or definite
# leaks in rmond fail it.
valgrind: deps tests
	RMON_BUILD=$(BUILD) RMON_SRCDIR=$(CURDIR) RMON_VALGRIND=1 $(BUILD)/tests/test-daemon

bench: deps all $(BENCHES) $(HELPERS)
	@BUILD=$(BUILD) bench/run.sh

# libFuzzer targets: built with clang, separate objects.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              -Icommon -Iproto $(PKG_CFLAGS)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(PROTO_SRC) $(COMMON_SRC)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS) -lpthread -lm
# fuzz-config parses config text as rmond does: the daemon's parser too.
$(BUILD)/fuzz/fuzz-config: daemon/config.c
$(BUILD)/fuzz/fuzz-config: FUZZ_FLAGS += -Idaemon
# fuzz-http: the Prometheus listener's request parser (bytes from the network).
$(BUILD)/fuzz/fuzz-http: daemon/http.c
$(BUILD)/fuzz/fuzz-http: FUZZ_FLAGS += -Idaemon
# The longer runs: `make test` gives each target 15 s (tests/run.sh).
FUZZ_TIME ?= 600
fuzz: deps $(FUZZ_BIN)
	@FUZZ_TIME=$(FUZZ_TIME) BUILD=$(BUILD) tests/fuzz/run-smoke.sh
fuzz-smoke-build: $(FUZZ_BIN)

docs: $(BUILD)/rmonctl
	$(BUILD)/rmonctl metrics --markdown > docs/metrics.md

# Where `make install` puts things; each may be overridden.  PREFIX=/usr
# for a package, /usr/local (the default) by hand: systemd, sysusers,
# tmpfiles, man and bash-completion all look under /usr/local too.  The
# config stays in /etc either way (the unit reads SYSCONFDIR/rmon).
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MAN_PAGES   := docs/man/rmond.8 docs/man/rmonctl.1 docs/man/rmond.yaml.5

# The example config goes to share/rmon always, and to SYSCONFDIR/rmon
# only when no config is there yet (an edited one is never replaced).
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/rmon \
	  $(DESTDIR)$(PREFIX)/share/rmon $(DESTDIR)$(SYSCONFDIR)/rmon \
	  $(DESTDIR)$(BASHCOMPDIR) $(addprefix $(DESTDIR)$(MANDIR)/man,1 5 8)
	install -m 0755 $(BUILD)/rmond $(BUILD)/rmonctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 etc/rmond.yaml $(DESTDIR)$(PREFIX)/share/rmon/rmond.yaml.example
	@[ -e $(DESTDIR)$(SYSCONFDIR)/rmon/rmond.yaml ] || \
	  install -v -m 0644 etc/rmond.yaml $(DESTDIR)$(SYSCONFDIR)/rmon/rmond.yaml
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/rmon/
	for m in $(MAN_PAGES); do \
	  install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	install -m 0644 completions/rmonctl $(DESTDIR)$(BASHCOMPDIR)/rmonctl
	sed 's|/usr/local/bin/rmond|$(PREFIX)/bin/rmond|' launchd/org.rmon.rmond.plist \
	  > $(DESTDIR)$(PREFIX)/share/rmon/org.rmon.rmond.plist
ifeq ($(OS),linux)
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/rmond.service \
	  > $(DESTDIR)$(UNITDIR)/rmond.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/rmond.service
	install -m 0644 systemd/rmon.sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/rmon.conf
	install -m 0644 systemd/rmon.tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/rmon.conf
	@[ -n "$(DESTDIR)" ] || echo "install: now run: systemd-sysusers && systemd-tmpfiles --create" \
	  "&& systemctl daemon-reload && systemctl enable --now rmond"
endif

clean:
	rm -rf $(BUILD)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
