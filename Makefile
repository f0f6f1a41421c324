# Heki testbed.  `make run` and `make test` are the two commands a user
# needs; both install and build whatever is missing first.  See README.md.

# ---- knobs (documented in README.md) -------------------------------------
SUITE   ?= smoke
L0      ?= auto
ICOUNT  ?= 0
MODES   ?= hypercall
TIMEOUT ?= 0
RUN_ARGS ?=

BUILD   ?= build
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror=implicit-function-declaration

.DEFAULT_GOAL := all
.PHONY: all deps run test unit-test rig-test clean distclean help
.DELETE_ON_ERROR:

# Where the current Debian kernel ABI resolved to; written by `make deps`.
# Including it with a rule to make it is what makes every goal fetch and
# extract the dependencies on a fresh machine.
DEPS_MK := $(BUILD)/deps.mk
NODEPS_GOALS := clean distclean help deps
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
include $(DEPS_MK)
endif

deps:
	rig/deps.sh $(BUILD)

$(DEPS_MK): rig/deps.sh
	rig/deps.sh $(BUILD)

# $(call kbuild,DIR,NAME): out-of-tree Kbuild against the Debian headers;
# the full log is kept, shown on failure, and quiet on success except for
# warnings (BTF is skipped for lack of vmlinux: expected, not shown).
define kbuild
	@mkdir -p $(BUILD)/logs
	@$(MAKE) -s -C $(KHDRS) M=$(1) modules >$(BUILD)/logs/$(2).log 2>&1 || \
		{ cat $(BUILD)/logs/$(2).log; echo "kbuild of $(2) failed (log: $(BUILD)/logs/$(2).log)"; exit 1; }
	@grep -v 'Skipping BTF generation' $(BUILD)/logs/$(2).log || true
endef

# ---- host: our kvm.ko / kvm-amd.ko / kvm-intel.ko -------------------------
# Debian's arch/x86/kvm and virt/kvm are copied into $(KVM_TREE) with their
# relative layout, the hook patches applied and host/ linked in; Kbuild then
# builds out of tree against the matching headers.
KVM_TREE := $(BUILD)/kvm
KVM_DIR  := $(KVM_TREE)/arch/x86/kvm
KVM_KOS  := $(KVM_DIR)/kvm.ko $(KVM_DIR)/kvm-amd.ko $(KVM_DIR)/kvm-intel.ko
HOST_SRCS := $(wildcard host/*.c host/*.h)
HOST_PATCHES := $(sort $(wildcard host/patches/*.patch))

$(KVM_TREE)/.prepared: $(DEPS_MK) $(HOST_PATCHES) host/prepare-tree.sh
	host/prepare-tree.sh $(KSRC) $(KVM_TREE) $(HOST_PATCHES)

$(KVM_KOS) &: $(KVM_TREE)/.prepared $(HOST_SRCS)
	@echo "  KBUILD  kvm.ko kvm-amd.ko kvm-intel.ko (Debian $(KPKGVER) + Heki)"
	@ln -sf $(abspath $(HOST_SRCS)) $(KVM_DIR)/heki/	# files added since the tree was prepared
	$(call kbuild,$(abspath $(KVM_DIR)),kvm)
	@touch $(KVM_KOS)

# ---- guest: the Heki guest module ----------------------------------------
# heki_testmod.ko: a module the suite loads and unloads under lockdown.
GUEST_KOS := guest-kmod/heki.ko guest-kmod/heki_testmod.ko guest-kmod/heki_attack.ko
GUEST_SRCS := $(wildcard guest-kmod/*.c guest-kmod/*.h guest-kmod/*.S) guest-kmod/Kbuild host/heki_abi.h inject/attacks.h

$(GUEST_KOS) &: $(GUEST_SRCS) $(DEPS_MK)
	@echo "  KBUILD  $(GUEST_KOS)"
	$(call kbuild,$(CURDIR)/guest-kmod,guest-kmod)
	@touch $(GUEST_KOS)

# ---- userland tools -------------------------------------------------------
BIN := $(BUILD)/bin
RIG_COMMON := rig/frame.c rig/frame.h
RIG_RECORD := rig/record.c rig/record.h $(RIG_COMMON)

# Run inside L1/L2, whose images carry no libc: linked statically.
$(BIN)/heki-emit: rig/emit_main.c $(RIG_RECORD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $(filter %.c,$^)
$(BIN)/heki-suite: rig/suite.c rig/suite.h rig/heki_modes.h bench/bench_suite.c inject/inject_suite.c inject/inject_verdict.h inject/attacks.h $(RIG_RECORD) host/heki_abi.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -Ihost -Irig -Iinject -o $@ $(filter %.c,$^) -lpfm -lm
# Runs on the machine that runs `make run`.
$(BIN)/rigrun: rig/rigrun.c rig/heki_modes.h rig/heki_violation.h rig/bochs.c rig/bochs.h rig/forensics.c rig/forensics.h rig/json.c rig/json.h rig/run_env.h rig/suite.h rig/ci_report.c rig/ci_report.h bench/bench_report.c bench/bench_report.h inject/inject_report.c inject/inject_report.h inject/inject_verdict.h inject/attacks.h $(RIG_COMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibench -Iinject -Irig -Ihost -o $@ $(filter %.c,$^) -lm
# In L1 only: forwards the host's violation log to L0 as it happens, and a
# second VM made straight on /dev/kvm (rig/l1-run.sh).
$(BIN)/heki-logfwd: rig/logfwd.c rig/heki_violation.h $(RIG_RECORD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -Irig -o $@ $(filter %.c,$^)
$(BIN)/heki-minivm: rig/minivm.c host/heki_abi.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -Ihost -o $@ $(filter %.c,$^)
TOOLS := $(BIN)/heki-emit $(BIN)/heki-suite $(BIN)/rigrun $(BIN)/heki-logfwd $(BIN)/heki-minivm
# Charts and index.html of a run (plots/README.md); finds its .gp scripts here.
$(BIN)/heki-plot: plots/heki_plot.c plots/plot_history.c plots/plot_html.c plots/heki_plot.h rig/json.c rig/json.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Irig -DHEKI_PLOT_GP_DIR='"$(CURDIR)/plots"' -o $@ $(filter %.c,$^) -lm
TOOLS += $(BIN)/heki-plot
# Checks, compares and records run results (results/README.md).
$(BIN)/heki-results: results/heki_results.c results/results_lib.c results/results_lib.h rig/json.c rig/json.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Irig -Iresults -o $@ $(filter %.c,$^) -lm
TOOLS += $(BIN)/heki-results
# Projects each mode's cost per operation from a run's bench.json (bench/README.md).
$(BIN)/heki-costmodel: bench/costmodel.c bench/costmodel_lib.c bench/costmodel_lib.h rig/heki_modes.h rig/json.c rig/json.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibench -Irig -o $@ $(filter %.c,$^) -lm
TOOLS += $(BIN)/heki-costmodel

# ---- images ---------------------------------------------------------------
IMG := $(BUILD)/images
L2_IMAGE := $(IMG)/l2.cpio.gz
L1_IMAGE := $(IMG)/l1.cpio

$(L2_IMAGE): $(GUEST_KOS) $(BIN)/heki-emit $(BIN)/heki-suite rig/l2-init rig/mkimage.sh
	@mkdir -p $(@D)
	rig/mkimage.sh l2 $@ $(IMG)/l2.stage $(BIN) $(GUEST_KOS)

$(L1_IMAGE): $(KVM_KOS) $(L2_IMAGE) $(BIN)/heki-emit $(BIN)/heki-suite $(BIN)/heki-logfwd $(BIN)/heki-minivm rig/l1-init rig/l1-run.sh rig/mkimage.sh $(DEPS_MK)
	@mkdir -p $(@D)
	rig/mkimage.sh l1 $@ $(IMG)/l1.stage $(BIN) $(KVM_DIR) $(KMODS) $(KIMAGE) $(L2_IMAGE)

all: $(KVM_KOS) $(GUEST_KOS) $(TOOLS) $(L1_IMAGE)

# L0=bochs boots L1 through a BIOS: the same kernel and L1 image on a GRUB
# CD (rig/mkiso.sh); built only for the goals that boot Bochs.
BOCHS_ISO := $(IMG)/l1-bochs.iso
$(BOCHS_ISO): $(L1_IMAGE) rig/mkiso.sh $(DEPS_MK)
	rig/mkiso.sh $@ $(IMG)/iso.stage $(KIMAGE) $(L1_IMAGE)

# ---- run ------------------------------------------------------------------
GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

RIGRUN = $(BIN)/rigrun --suite $(SUITE) --l0 $(L0) --icount $(ICOUNT) \
	--modes $(MODES) --timeout $(TIMEOUT) --kernel $(KIMAGE) \
	--l1-image $(L1_IMAGE) --l2-image $(L2_IMAGE) --kmod-dir $(IMG)/l1.stage/lib/modules/heki \
	--guest-kernel $(KVER) --git-rev $(GIT_REV) --results results \
	--rig-dir $(CURDIR)/rig --bochs-iso $(BOCHS_ISO) $(RUN_ARGS)

# Every run also goes into results/history.jsonl and gets its charts and
# index.html (plots/README.md); the status stays rigrun's.
run: all $(if $(filter bochs,$(L0)),$(BOCHS_ISO))
	$(RIGRUN); rc=$$?; [ ! -d results/latest ] || { \
		$(BIN)/heki-results history-append results "$$(readlink -f results/latest)"; \
		$(BIN)/heki-plot results/latest --history results/history.jsonl >/dev/null && \
			echo "charts: results/latest/index.html"; } || true; \
		exit $$rc

# make compare [BASE=<run>] [NEW=<run>] [THRESHOLD=<pct>] [FORCE=1]: a run is
# a directory or an id under results/runs/; NEW defaults to results/latest,
# BASE to the last good run of NEW's suite and rig before it.
.PHONY: compare
compare: $(BIN)/heki-results
	@new='$(or $(NEW),results/latest)'; [ -d "$$new" ] || new="results/runs/$$new"; \
	base='$(BASE)'; \
	if [ -z "$$base" ]; then base=$$($(BIN)/heki-results last-good results --before "$$new") || exit 2; fi; \
	[ -d "$$base" ] || base="results/runs/$$base"; \
	echo "compare $$base -> $$new"; \
	$(BIN)/heki-results compare "$$base" "$$new" $(if $(THRESHOLD),--threshold $(THRESHOLD)) $(if $(filter 1,$(FORCE)),--force)

# The cost model of a bench run (bench/README.md): make costmodel [RUN=<run
# dir>] [COSTS=<file>]; a target of its own, so make run's status stays rigrun's.
.PHONY: costmodel
costmodel: $(BIN)/heki-costmodel
	$(BIN)/heki-costmodel $(or $(RUN),results/latest) $(if $(COSTS),--costs $(COSTS))

# Charts and index.html of one run: make plots [RUN=<run dir>] (plots/README.md).
.PHONY: plots
plots: $(BIN)/heki-plot
	$(BIN)/heki-plot $(or $(RUN),results/latest) $(if $(wildcard results/history.jsonl),--history results/history.jsonl)

# make nightly: the long job behind the dashboards.  Per suite of
# NIGHTLY_SUITES: a run (the bench with ICOUNT=1: deterministic figures), a
# compare with the last good run of its kind (none comparable, compare's
# exit 2: this run becomes the baseline), and its plots; non-zero if any
# run failed or regressed.
# "flood" is the smoke suite with a 1,000,000-write flood of the host's
# violation log (~3.5 min of it under TCG here); its run fails unless every
# VM's records at L0 plus the host's counted drops equal its violations.
# "fuzz" is the smoke suite with the long fuzz: NIGHTLY_FUZZ_CALLS calls
# before lockdown and as many after (1,000,000 in all), the permission store
# filled in both phases, no cap on the calls the host logs; its run passes
# or fails, there is nothing to compare.
NIGHTLY_SUITES ?= bench attacks flood fuzz
NIGHTLY_FLOOD_ARGS := --l2-append heki.kmod=flood_writes=1000000+lockdown=0 --stage-timeout suite=1200
NIGHTLY_FUZZ_CALLS ?= 500000
.PHONY: nightly
nightly: all $(BIN)/heki-results $(BIN)/heki-plot
	@rc=0; for s in $(NIGHTLY_SUITES); do \
		ic=0; [ $$s = bench ] && ic=1; \
		echo "nightly: $$s (ICOUNT=$$ic)"; \
		if [ $$s = flood ]; then \
			$(MAKE) --no-print-directory run SUITE=smoke RUN_ARGS="$(NIGHTLY_FLOOD_ARGS)" || rc=1; \
			$(MAKE) --no-print-directory plots || rc=1; \
			continue; \
		elif [ $$s = fuzz ]; then \
			$(MAKE) --no-print-directory run SUITE=smoke ICOUNT=0 \
				RUN_ARGS="$(RUN_ARGS) --l2-append 'heki.fuzz_calls=$(NIGHTLY_FUZZ_CALLS) heki.fuzz_log_budget=0 heki.fuzz_store_limit=3' --stage-timeout suite=3600" || rc=1; \
			$(MAKE) --no-print-directory plots || rc=1; \
			continue; \
		fi; \
		$(MAKE) --no-print-directory run SUITE=$$s ICOUNT=$$ic || rc=1; \
		$(MAKE) --no-print-directory compare; c=$$?; \
		[ $$c = 1 ] && rc=1; \
		[ $$c = 2 ] && echo "nightly: no comparable earlier $$s run (above): this one is the baseline"; \
		$(MAKE) --no-print-directory plots || rc=1; \
	done; echo "nightly: $$([ $$rc = 0 ] && echo ok || echo FAILED); dashboard: results/latest/index.html"; exit $$rc

# ---- tests ----------------------------------------------------------------
KSFT_DIR := $(KSRC)/tools/testing/selftests
# The harness's own macros trip these; our code is built without them too.
TEST_CFLAGS := -Wno-unused-parameter -Wno-sign-compare
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BIN)/tests/%,$(wildcard tests/unit/test_*.c))

# Each unit test links the pure C it tests; the host's is the same source
# that goes into kvm.ko.
UNIT_LIBS := rig/frame.c rig/json.c rig/bochs.c rig/forensics.c rig/flakes.c host/heki_store.c host/heki_log.c inject/inject_report.c rig/ci_report.c bench/costmodel_lib.c
$(BIN)/tests/%: tests/unit/%.c $(UNIT_LIBS) $(wildcard rig/*.h host/*.h inject/*.h bench/*.h) $(DEPS_MK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -I$(KSFT_DIR) -Irig -Ihost -Iinject -Ibench -o $@ $< $(UNIT_LIBS) -lm

# Every mode in every knob: runs rigrun --dry-run 1 and inject/run.
$(BIN)/tests/test_modes: $(BIN)/rigrun

# heki-plot on fixture runs, then its page in headless Chromium (skips without it).
PLOTS_TEST := $(BIN)/plots_test $(BIN)/heki-plot
PLOTS_TEST_CMD = "HEKI_PLOT=$(BIN)/heki-plot $(BIN)/plots_test"
$(BIN)/plots_test: tests/plots_test.c $(DEPS_MK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -I$(KSFT_DIR) -o $@ $<

$(BIN)/rig_test: tests/rig_test.c rig/json.c rig/json.h rig/flakes.c rig/flakes.h rig/heki_modes.h host/heki_abi.h $(DEPS_MK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -I$(KSFT_DIR) -Irig -Ihost -o $@ $< rig/json.c rig/flakes.c -lm

# heki-results' logic, linked directly; fixtures in tests/fixtures/results.
$(BIN)/tests/test_results: tests/unit/test_results.c results/results_lib.c results/results_lib.h rig/json.c rig/json.h $(DEPS_MK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -I$(KSFT_DIR) -Irig -Iresults -o $@ $< results/results_lib.c rig/json.c -lm

# Whole-rig scenarios: a good run, the deterministic (icount) run, and two
# stages broken on purpose.  Results go to build/test-results, not results/.
# Most telling first: under make test's time budget (tests/run.sh) the last
# ones are the ones a slow machine skips.
RIG_SCENARIOS ?= smoke attacks smoke-view reboot-under-lockdown bench-smoke no-guest-module hang-in-l2 l2-triple-fault l2-oops attack-kills-guest migrate-under-lockdown smoke-icount bench-icount-twice
# Scenarios on L0 Bochs boot its CD.
RIG_TEST_DEPS = all $(BIN)/rig_test $(BIN)/heki-results $(BIN)/heki-plot $(if $(filter bochs-%,$(RIG_SCENARIOS)),$(BOCHS_ISO))
RIG_TEST_CMDS = $(foreach s,$(RIG_SCENARIOS),"$(BIN)/rig_test $(s)")

unit-test: $(UNIT_TESTS) $(PLOTS_TEST)
	@KVM_DIR=$(abspath $(KVM_DIR)) tests/run.sh $(UNIT_TESTS) $(PLOTS_TEST_CMD)

# After the rig scenarios: the test runs' dashboard (the newest run's page,
# with the flake rate per scenario and L0 over build/test-results/history.jsonl).
RIG_TEST_DASHBOARD = $(BIN)/heki-plot --dashboard $(BUILD)/test-results >/dev/null 2>&1 && \
	echo "dashboard: $(BUILD)/test-results/latest/index.html"
rig-test: $(RIG_TEST_DEPS)
	@KVM_DIR=$(abspath $(KVM_DIR)) RIGRUN="$(RIGRUN)" RIG_TEST_RESULTS=$(BUILD)/test-results HEKI_RESULTS_TOOL=$(BIN)/heki-results tests/run.sh $(RIG_TEST_CMDS); \
		rc=$$?; $(RIG_TEST_DASHBOARD); exit $$rc

test: $(RIG_TEST_DEPS) $(UNIT_TESTS) $(PLOTS_TEST)
	@KVM_DIR=$(abspath $(KVM_DIR)) RIGRUN="$(RIGRUN)" RIG_TEST_RESULTS=$(BUILD)/test-results HEKI_RESULTS_TOOL=$(BIN)/heki-results tests/run.sh $(UNIT_TESTS) $(PLOTS_TEST_CMD) $(RIG_TEST_CMDS); \
		rc=$$?; $(RIG_TEST_DASHBOARD); exit $$rc

clean:
	rm -rf $(BUILD)/kvm $(BUILD)/bin $(BUILD)/images $(BUILD)/logs $(BUILD)/test-results
	rm -f guest-kmod/*.o guest-kmod/*.ko guest-kmod/*.mod* guest-kmod/.*.cmd \
		guest-kmod/Module.symvers guest-kmod/modules.order

distclean: clean
	rm -rf $(BUILD)

help:
	@echo "make run     boot the rig and run SUITE (installs and builds what is missing)"
	@echo "make test    unit tests and whole-rig scenarios"
	@echo "make nightly bench (ICOUNT=1) and attacks, each compared with the last good run, plots, a smoke run with a 1,000,000-write log flood and one with a 1,000,000-call fuzz; non-zero on a regression or failure"
	@echo "make compare compare two runs (BASE=, NEW=, THRESHOLD=, FORCE=1; results/README.md)"
	@echo "make costmodel  projected cost per operation of a bench run (RUN=, COSTS=; bench/README.md)"
	@echo "make deps    install packages, fetch the current Debian 6.1 kernel, extract sources"
	@echo "make         build everything incrementally"
	@echo "knobs: SUITE=$(SUITE) L0=$(L0) ICOUNT=$(ICOUNT) MODES=$(MODES) TIMEOUT=$(TIMEOUT) RUN_ARGS=... (see README.md)"
