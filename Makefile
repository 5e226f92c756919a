# kdwatch: one Makefile for the program, kdsim, unit tests, fuzzers and benchmarks.
# Sources are found by wildcard: a new file in a folder needs no edit here.

PKGS_CODEC := libcrypto
PKGS_LINK  := libserialport libusb-1.0 libpcap glib-2.0
PKGS_UI    := ncursesw
PKGS_ALL   := $(PKGS_CODEC) $(PKGS_LINK) $(PKGS_UI)
# Wireshark's wiretap writes our pcapng recordings; Debian ships no .pc for it.
WIRETAP_CFLAGS := -isystem /usr/include/wireshark
WIRETAP_LIBS   := -lwiretap -lwsutil

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
WARN    := -Wall -Wextra -Werror -pedantic -Wmissing-prototypes -Wshadow
CPPFLAGS_BASE := -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I. -Ikdproto -Imonitor -Iui
CFLAGS_ALL = -std=c11 $(WARN) $(OPT) $(SAN) $(CPPFLAGS_BASE) $(shell pkg-config --cflags $(PKGS_ALL)) $(WIRETAP_CFLAGS)
LIBS_CODEC = $(shell pkg-config --libs $(PKGS_CODEC))
LIBS_ALL   = $(shell pkg-config --libs $(PKGS_ALL)) $(WIRETAP_LIBS) -lm

# kdproto splits in two: the pure codec (no I/O, only libcrypto) and the links
# (transports, captures, recorder) that need the system libraries.
LINK_PATTERNS := kdproto/transport%.c kdproto/capture%.c kdproto/recorder%.c kdproto/session%.c
KDPROTO_ALL   := $(sort $(wildcard kdproto/*.c))
KDLINK_SRCS   := $(filter $(LINK_PATTERNS),$(KDPROTO_ALL))
KDCODEC_SRCS  := $(filter-out $(LINK_PATTERNS),$(KDPROTO_ALL))
MONITOR_SRCS  := $(sort $(wildcard monitor/*.c))
UI_SRCS       := $(filter-out ui/main.c,$(sort $(wildcard ui/*.c)))
KDSIM_SRCS    := $(sort $(wildcard tests/kdsim/*.c))
UNIT_SRCS     := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRCS    := $(sort $(wildcard tests/bench/bench_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_CODEC   := $(BUILD)/libkdcodec.a
LIB_LINK    := $(BUILD)/libkdlink.a
LIB_MONITOR := $(BUILD)/libmonitor.a
LIB_UI      := $(BUILD)/libui.a
KDWATCH     := $(BUILD)/kdwatch
KDSIM       := $(BUILD)/kdsim
# Codec tests (test_kd_*, test_kdnet_*) link only the codec and libcrypto.
CODEC_TESTS := $(filter tests/unit/test_kd_% tests/unit/test_kdnet%,$(UNIT_SRCS))
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
REPLAY_BINS := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/replay_%,$(FUZZ_SRCS))
BENCH_BINS  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all deps demo check check-run unit asan fuzz fuzz-run bench format format-check layering clean
.DEFAULT_GOAL := all
# Keep intermediate objects (fuzz harnesses, generated images) between runs.
.SECONDARY:

all: $(KDWATCH) $(KDSIM)

# ---- set-up: install (as root) or name the missing Debian packages --------------
deps:
	@sh scripts/deps.sh

# ---- the README's two commands -----------------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory check-run

check-run: all $(UNIT_BINS) $(REPLAY_BINS)
	@sh scripts/run_checks.sh $(BUILD)

# ---- libraries -------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB_CODEC): $(call obj,$(KDCODEC_SRCS))
$(LIB_LINK): $(call obj,$(KDLINK_SRCS))
$(LIB_MONITOR): $(call obj,$(MONITOR_SRCS))
$(LIB_UI): $(call obj,$(UI_SRCS))
$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	@ar rcs $@ $^

ALL_LIBS := $(LIB_UI) $(LIB_MONITOR) $(LIB_LINK) $(LIB_CODEC)

$(KDWATCH): $(call obj,ui/main.c) $(ALL_LIBS)
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(LIBS_ALL)

$(KDSIM): $(call obj,$(KDSIM_SRCS)) $(ALL_LIBS)
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(LIBS_ALL)

# ---- unit tests ------------------------------------------------------------------
$(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(CODEC_TESTS)): $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_CODEC)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(LIBS_CODEC)

$(filter-out $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(CODEC_TESTS)),$(UNIT_BINS)): $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(filter-out $(call obj,tests/kdsim/main.c),$(call obj,$(KDSIM_SRCS))) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(LIBS_ALL)

unit: $(UNIT_BINS)
	@sh scripts/run_checks.sh $(BUILD) unit

# Unit suite and fuzz corpora under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  $(patsubst build/%,build/asan/%,$(UNIT_BINS) $(REPLAY_BINS)) build/asan/kdsim build/asan/kdwatch

# ---- fuzzers: plain replay drivers (for check) and libFuzzer builds (make fuzz) ----
$(BUILD)/fuzz/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(LIBS_ALL)

FUZZ_BINS := $(patsubst tests/fuzz/fuzz_%.c,build/libfuzzer/fuzz_%,$(FUZZ_SRCS))
fuzz:
	@$(MAKE) --no-print-directory CC=clang BUILD=build/libfuzzer OPT="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" $(FUZZ_BINS)
build/libfuzzer/fuzz_%: build/libfuzzer/obj/tests/fuzz/fuzz_%.o $(ALL_LIBS)
	@echo "  LD      $@"
	@$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS_ALL)

# A longer run of every fuzzer (FUZZ_SECONDS each, default 60).
fuzz-run: fuzz
	@for f in $(FUZZ_BINS); do n=$${f##*/fuzz_}; w=$$(mktemp -d); cp tests/fuzz/corpus/$$n/* $$w/; \
	  echo "== $$f"; $$f -max_total_time=$${FUZZ_SECONDS:-60} $$w || exit 1; rm -rf $$w; done

# ---- benchmarks ------------------------------------------------------------------
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(filter-out $(call obj,tests/kdsim/main.c),$(call obj,$(KDSIM_SRCS))) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(LIBS_ALL)

bench: all $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done
	@echo "== tests/bench/bench_sample.sh"; sh tests/bench/bench_sample.sh $(BUILD)

# ---- kdsim images (begin)
# kdsim's module images are real PE32+ DLLs built by mingw-w64 from
# tests/kdsim/img/<image>.c (ntoskrnl.exe also from its .S), each linked at its
# kernel address, then embedded as bytes ($(BUILD)/gen) into kdsim and every
# binary that links tests/kdsim/*.c.
KDSIM_MINGW ?= x86_64-w64-mingw32-gcc
KDSIM_IMAGES := ntoskrnl.exe:0xfffff80535a00000 hal.dll:0xfffff80535800000 \
  FLTMGR.SYS:0xfffff8054e0d0000 storport.sys:0xfffff8054e200000 \
  CLASSPNP.SYS:0xfffff8054e300000 rosempio.sys:0xfffff8054e400000 \
  ql2300.sys:0xfffff8054e500000 Ntfs.sys:0xfffff8055b700000 MyDrv.sys:0xfffff8055c3f0000
KDSIM_IMG_FILES := $(foreach i,$(KDSIM_IMAGES),$(BUILD)/gen/img/$(word 1,$(subst :, ,$(i))))
KDSIM_IMG_FRAMEPTR := Ntfs.sys MyDrv.sys
KDSIM_IMG_CFLAGS := -O1 -fno-inline -fno-toplevel-reorder -fno-stack-protector \
  -mno-stack-arg-probe -Wall -Wextra -Werror
KDSIM_IMG_LDFLAGS := -shared -nostdlib -s -Wl,--exclude-all-symbols -Wl,--no-insert-timestamp \
  -Wl,--subsystem,native -Wl,--file-alignment,0x200 -Wl,--section-alignment,0x1000
KDSIM_GEN_C := $(BUILD)/gen/sim_images_data.c
KDSIM_GEN_O := $(BUILD)/gen/sim_images_data.o

$(BUILD)/gen/img/ntoskrnl.exe: tests/kdsim/img/ntoskrnl.exe.S
$(BUILD)/gen/img/%: tests/kdsim/img/%.c tests/kdsim/img/sim_img.h
	@mkdir -p $(dir $@)
	@echo "  MINGW   $@"
	@$(KDSIM_MINGW) $(KDSIM_IMG_CFLAGS) $(if $(filter $*,$(KDSIM_IMG_FRAMEPTR)),-fno-omit-frame-pointer) \
	  $(KDSIM_IMG_LDFLAGS) -Wl,--image-base,$(word 2,$(subst :, ,$(filter $*:%,$(KDSIM_IMAGES)))) \
	  -Wl,--entry,$(if $(filter ntoskrnl.exe,$*),KiSystemStartup,DriverEntry) \
	  -o $@ $(filter %.c %.S,$^)

$(KDSIM_GEN_C): $(KDSIM_IMG_FILES) tests/kdsim/img/embed.sh
	@echo "  EMBED   $@"
	@sh tests/kdsim/img/embed.sh $@ $(KDSIM_IMG_FILES)

$(KDSIM_GEN_O): $(KDSIM_GEN_C) tests/kdsim/sim_images.h
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

$(KDSIM) $(BENCH_BINS) $(filter-out $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(CODEC_TESTS)),$(UNIT_BINS)): $(KDSIM_GEN_O)
# ---- kdsim images (end)

# ---- hygiene ---------------------------------------------------------------------
layering:
	@sh scripts/check_layering.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
