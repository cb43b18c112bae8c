# SPDX-License-Identifier: MIT
# otrp-tamd: build, test, run, install.
#
#   make            build the daemon, the CLI and the mock TEE into build/
#   make run        demo: PKI + database under run/, daemon on 127.0.0.1
#   make check      every test, in a normal and an ASan+UBSan build
#   make fuzz       libFuzzer harnesses (clang) into build-fuzz/
#   make vectors    regenerate the published test vectors in docs/vectors/
#   make bench      the benchmark of bench/ (minutes; results as in docs/performance.md)
#   make install    PREFIX, DESTDIR, SBINDIR, BINDIR, SYSTEMDUNITDIR honoured
#
# `run` and `check` first run `make deps`, which installs missing Debian
# packages with apt-get (and does nothing when all are present).

PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
MANDIR ?= $(DATADIR)/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

BUILD ?= build
SAN ?= 0
V ?= 0

PKGS := libmicrohttpd jansson openssl sqlite3 cjose inih libsystemd gnutls
CTL_PKGS := libcurl
TEST_PKGS := cmocka libcurl

OPT ?= -O2 -g
override CFLAGS += $(OPT) -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L
override CFLAGS += -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED
override CFLAGS += -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Wpointer-arith -Wvla
override CFLAGS += $(EXTRA_WARN) -Iinclude -I$(BUILD)/gen -MMD -MP
override CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null) -Itests/mock-tee -Itests/e2e
TEST_LDLIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

ifeq ($(SAN),1)
override CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),fuzz)
override CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=fuzzer,address,undefined
endif

ifneq ($(V),1)
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
msg =
endif

LIB_SRCS := $(filter-out src/tamd/main.c,$(sort $(wildcard src/*/*.c)))
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(BUILD)/gen/schema.o
CTL_SRCS := $(sort $(wildcard tools/otrp-tamctl/*.c))
CTL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CTL_SRCS))
MOCK_LIB_SRCS := $(filter-out tests/mock-tee/main.c,$(sort $(wildcard tests/mock-tee/*.c)))
MOCK_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(MOCK_LIB_SRCS))
E2E_LIB_SRCS := $(filter-out tests/e2e/test_%.c,$(sort $(wildcard tests/e2e/*.c)))
E2E_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(E2E_LIB_SRCS))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(sort $(wildcard tests/unit/test_*.c)))
E2E_TESTS := $(patsubst tests/e2e/%.c,$(BUILD)/tests/e2e/%,$(sort $(wildcard tests/e2e/test_*.c)))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRCS))
SCHEMA := $(sort $(wildcard schema/*.sql))

BINS := $(BUILD)/otrp-tamd $(BUILD)/otrp-tamctl $(BUILD)/mock-tee

.PHONY: all tests deps run check test-run fuzz fuzz-bins fuzz-run valgrind clean install uninstall \
	vectors bench
.DEFAULT_GOAL := all
.SECONDARY:

all: $(BINS)

$(BUILD)/libtam.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/gen/schema.c: $(SCHEMA) tools/embed-schema.sh
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sh tools/embed-schema.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/schema.o: $(BUILD)/gen/schema.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/otrp-tamd: $(BUILD)/src/tamd/main.o $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/otrp-tamctl: $(CTL_OBJS) $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(CTL_PKGS) 2>/dev/null) $(LDLIBS)

$(BUILD)/mock-tee: $(BUILD)/tests/mock-tee/main.o $(MOCK_LIB_OBJS) $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LDLIBS) $(LDLIBS)

$(UNIT_TESTS): $(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(MOCK_LIB_OBJS) $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LDLIBS) $(LDLIBS)

$(E2E_TESTS): $(BUILD)/tests/e2e/%: $(BUILD)/tests/e2e/%.o $(E2E_LIB_OBJS) $(MOCK_LIB_OBJS) $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LDLIBS) $(LDLIBS)

# Fuzz harnesses linked with a plain driver that replays the seed corpus, so
# `make check` runs them as regression tests without clang.
$(FUZZ_REPLAY): $(BUILD)/tests/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/list-routes: $(BUILD)/tests/tools/list_routes.o $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/jose-tool: $(BUILD)/tests/tools/jose_tool.o $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The published test vectors, generated by the engine and the mock TEE with a test-only
# random source (docs/vectors/README.md).
$(BUILD)/tests/vectors: $(BUILD)/tests/tools/vectors.o $(MOCK_LIB_OBJS) $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

tests: $(BINS) $(UNIT_TESTS) $(E2E_TESTS) $(FUZZ_REPLAY) $(BUILD)/tests/list-routes \
	$(BUILD)/tests/jose-tool $(BUILD)/tests/vectors $(BUILD)/bench/otrp-loadgen

# The load generator of bench/ (not part of make check: it measures, it does not test).
$(BUILD)/bench/otrp-loadgen: $(BUILD)/bench/loadgen.o $(MOCK_LIB_OBJS) $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

bench: $(BINS) $(BUILD)/bench/otrp-loadgen
	$(Q)sh bench/run.sh $(BUILD)

# Regenerate docs/vectors/ (deterministic: the same bytes on every run).
vectors: $(BUILD)/tests/vectors
	$(Q)$(BUILD)/tests/vectors docs/vectors docs/vectors/pki

deps:
	$(Q)sh tools/deps.sh

# Both builds first, then the runs, so a compile error is never mistaken for a test result.
check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=1 tests
	$(Q)sh tests/run.sh build build-asan

# Run the tests of one build directory only (no dependency installation).
test-run: tests
	$(Q)sh tests/run.sh $(BUILD)

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh tools/demo-run.sh $(BUILD) run

FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60

$(FUZZ_BINS): $(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/libtam.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-bins: $(FUZZ_BINS)

fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=build-fuzz SAN=fuzz CC=clang OPT="-O1 -g" \
		EXTRA_WARN=-Wno-unknown-warning-option fuzz-bins

fuzz-run: fuzz
	$(Q)for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); mkdir -p build-fuzz/corpus/$$n; \
		d=; [ -f tests/fuzz/$$n.dict ] && d=-dict=tests/fuzz/$$n.dict; \
		build-fuzz/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 $$d \
			build-fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

valgrind: tests
	$(Q)for t in $(UNIT_TESTS); do echo "  VG     $$t"; \
		valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $$t >/dev/null || exit 1; done

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/otrp-tamd
	install -m 0755 $(BUILD)/otrp-tamd $(DESTDIR)$(SBINDIR)/otrp-tamd
	install -m 0755 $(BUILD)/otrp-tamctl $(DESTDIR)$(BINDIR)/otrp-tamctl
	install -m 0755 pki/otrp-pki.sh $(DESTDIR)$(DATADIR)/otrp-tamd/otrp-pki.sh
	install -m 0644 conf/otrp-tamd.conf $(DESTDIR)$(DATADIR)/otrp-tamd/otrp-tamd.conf.example
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/otrp-tamd
	[ -e $(DESTDIR)$(SYSCONFDIR)/otrp-tamd/otrp-tamd.conf ] || \
		install -m 0640 conf/otrp-tamd.conf $(DESTDIR)$(SYSCONFDIR)/otrp-tamd/otrp-tamd.conf
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/otrp-tamd.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/otrp-tamd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/otrp-tamd.service
	install -m 0644 systemd/otrp-tamd.sysusers $(DESTDIR)$(SYSUSERSDIR)/otrp-tamd.conf
	install -m 0644 systemd/otrp-tamd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/otrp-tamd.conf
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 docs/man/otrp-tamd.conf.5 $(DESTDIR)$(MANDIR)/man5/otrp-tamd.conf.5
	install -m 0644 docs/man/otrp-tamd.8 docs/man/otrp-tamctl.8 $(DESTDIR)$(MANDIR)/man8/

# The configuration in SYSCONFDIR is the operator's: uninstall leaves it.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/otrp-tamd $(DESTDIR)$(BINDIR)/otrp-tamctl \
		$(DESTDIR)$(DATADIR)/otrp-tamd/otrp-pki.sh $(DESTDIR)$(DATADIR)/otrp-tamd/otrp-tamd.conf.example \
		$(DESTDIR)$(SYSTEMDUNITDIR)/otrp-tamd.service $(DESTDIR)$(SYSUSERSDIR)/otrp-tamd.conf \
		$(DESTDIR)$(TMPFILESDIR)/otrp-tamd.conf $(DESTDIR)$(MANDIR)/man5/otrp-tamd.conf.5 \
		$(DESTDIR)$(MANDIR)/man8/otrp-tamd.8 $(DESTDIR)$(MANDIR)/man8/otrp-tamctl.8
	-rmdir $(DESTDIR)$(DATADIR)/otrp-tamd

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
