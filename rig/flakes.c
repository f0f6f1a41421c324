// SPDX-License-Identifier: GPL-2.0
/*
 * The emulator signatures `make test` may retry (see flakes.h).  Each row
 * names where it was seen; the console excerpts of the runs it comes from
 * are in tests/fixtures/forensics/ and tests/unit/test_flakes.c checks
 * that each row matches its evidence and that an oops of our own code, an
 * L2 triple fault or a crash of any other shape matches none.
 *
 * Rules every row keeps: the run was under L0 TCG; the host recorded no
 * triple fault of an L2 vCPU (none has been traced to the emulator yet:
 * each is a finding); an oops matches only a row that names its shape.
 */
#include <stdlib.h>
#include <string.h>

#include "flakes.h"

static const char *str(const struct json *s, const char *path)
{
	const struct json *v = json_get(s, path);

	return v && v->type == JSON_STR ? v->str : NULL;
}

static bool present(const struct json *s, const char *path)
{
	const struct json *v = json_get(s, path);

	return v && v->type != JSON_NULL;
}

static bool has(const struct json *s, const char *path, const char *needle)
{
	const char *v = str(s, path);

	return v && strstr(v, needle);
}

static bool stage_is(const struct json *s, const char *stage)
{
	return !strcmp(str(s, "failure.stage") ?: "", stage);
}

static bool how_is(const struct json *s, const char *how)
{
	return !strcmp(str(s, "failure.how") ?: "", how);
}

static bool no_oops(const struct json *s)
{
	return !present(s, "failure.l1_oops") && !present(s, "failure.l2_oops");
}

/*
 * L1 soft-locked in serial8250_handle_irq's spin on the port lock, the
 * interrupt taken in serial8250_start_tx (which holds that lock with
 * interrupts off) at an RFLAGS with IF clear: a maskable interrupt the CPU
 * (QEMU) delivered at IF=0.
 */
static bool l1_irq_at_if0(const struct json *s)
{
	const char *t = str(s, "failure.l1_oops.text"), *rip, *fl;

	if (!t || !has(s, "failure.l1_oops.headline", "soft lockup") ||
	    !strstr(t, "serial8250_handle_irq") || present(s, "failure.l2_oops"))
		return false;
	rip = strstr(t, "RIP: 0010:serial8250_start_tx");
	fl = rip ? strstr(rip, "EFLAGS: ") : NULL;
	return fl && !(strtoul(fl + 8, NULL, 16) & 0x200);
}

/* L1's GS unusable right after a VMRUN: every %gs access faults again. */
static bool l1_bad_gs(const struct json *s)
{
	return has(s, "failure.l1_oops.headline", "stack guard page was hit") &&
	       has(s, "failure.l1_oops.text", "exc_page_fault") &&
	       !present(s, "failure.l2_oops");
}

/* L1 soft-locked in its int3 handler (a text_poke IPI) while L2's QEMU exits. */
static bool l1_int3_lockup_at_exit(const struct json *s)
{
	return stage_is(s, "collect") &&
	       has(s, "failure.l1_oops.headline", "soft lockup") &&
	       has(s, "failure.l1_oops.text", "int3") && !present(s, "failure.l2_oops");
}

/* L2's QEMU exited (status 0) mid-run: no oops anywhere, no triple fault. */
static bool l2_reset_without_oops(const struct json *s)
{
	const struct json *q = json_get(s, "failure.l2_qemu_exit");

	/* The run ended because L0 exited, not because checks failed. */
	return how_is(s, "l0-exited") &&
	       q && q->type == JSON_NUM && q->num == 0 && no_oops(s) &&
	       !stage_is(s, "collect") && !stage_is(s, "l0-boot") && !stage_is(s, "kvm-load");
}

/* L0's QEMU exited before L2's did (L1 reset): no oops anywhere. */
static bool l1_reset_without_oops(const struct json *s)
{
	return how_is(s, "l0-exited") && !present(s, "failure.l2_qemu_exit") && no_oops(s);
}

/* A level that booted no further (L1 or L2), no oops anywhere. */
static bool boot_stall(const struct json *s)
{
	return how_is(s, "timeout") && (stage_is(s, "l0-boot") || stage_is(s, "l2-boot")) &&
	       no_oops(s);
}

/* ICOUNT=1: L2 stalled while it loaded heki.ko (0.7 s of guest time). */
static bool module_load_stall_icount(const struct json *s)
{
	const struct json *ic = json_get(s, "rig.icount");

	return how_is(s, "timeout") && stage_is(s, "guest-module") && ic &&
	       ic->type == JSON_BOOL && ic->boolean && no_oops(s);
}

/*
 * L2 stopped answering mid-suite (an RCU stall on one of its vCPUs, or
 * silence), L1 alive: no oops anywhere.  A hang of ours would repeat in
 * every attempt; each attempt keeps its stall dumps and last check.
 */
static bool l2_suite_stall(const struct json *s)
{
	return how_is(s, "timeout") && stage_is(s, "suite") && no_oops(s);
}

/*
 * L1's boot-time timer check (check_timer()) saw no tick in its loops:
 * the emulator, starved of the host's CPUs, ticked too late.
 */
static bool l1_boot_timer_check(const struct json *s)
{
	return stage_is(s, "l0-boot") &&
	       has(s, "failure.l1_oops.headline", "IO-APIC + timer doesn't work") &&
	       !present(s, "failure.l2_oops");
}

/*
 * L2's watchdog found a vCPU "stuck" in its idle task: the vCPU was halted,
 * not running guest code, and was not run for that long (L1 or the
 * emulator starved); L1 alive.
 */
static bool l2_idle_soft_lockup(const struct json *s)
{
	return has(s, "failure.l2_oops.headline", "soft lockup") &&
	       has(s, "failure.l2_oops.headline", "[swapper/") && !present(s, "failure.l1_oops");
}

const struct flake_sig flake_sigs[] = {
	{ "l1-irq-at-if0", "L1 soft lockup: serial8250 interrupt taken at IF=0 in serial8250_start_tx",
	  "README 'One more, seen three times on 2026-12-03'; tests/fixtures/forensics/l1-irq-at-if0*.log "
	  "(runs 20261203-113817-attacks and 20261203-121416-smoke)", l1_irq_at_if0 },
	{ "l1-bad-gs-after-vmrun", "L1 'BUG: TASK stack guard page was hit' in exc_page_fault after VMRUN",
	  "README (smoke-view runs of 2026-11-23); rig_test's retry comment since 2026-11-22", l1_bad_gs },
	{ "l1-int3-lockup-at-l2-exit", "L1 soft lockup in its int3 handler while L2's QEMU exits",
	  "commit 936cdf1 (2026-11-23, seen once at collect)", l1_int3_lockup_at_exit },
	{ "l2-reset-without-oops", "L2's QEMU exited 0 mid-run, no oops, no triple fault recorded",
	  "README (2026-11-22/23, also in mode off); tests/fixtures/forensics/l2-reset-without-oops.json "
	  "(run 20261203-122655-attacks)", l2_reset_without_oops },
	{ "l1-reset-without-oops", "L0's QEMU exited while L1 ran (L2 still up), no oops",
	  "commit 12ab6f8 (2026-11-22); README", l1_reset_without_oops },
	{ "boot-stall", "L1 or L2 booted no further, no oops (ICOUNT=1: the next seed)",
	  "README (about one run in ten); commit 314beec (ICOUNT=1 L2 boot stalled at seed 1 every time)",
	  boot_stall },
	{ "module-load-stall-icount", "ICOUNT=1: L2 stalled loading heki.ko, no oops",
	  "README; commit 79b0dc1 (2026-11-23, once)", module_load_stall_icount },
	{ "l1-boot-timer-check", "L1 panicked at boot: 'IO-APIC + timer doesn't work!'",
	  "tests/fixtures/forensics/l1-boot-timer-check-panic.log (run 20261203-162925-smoke, "
	  "load 14 on 2 cores)", l1_boot_timer_check },
	{ "l2-idle-soft-lockup", "L2 soft lockup reported in the idle task (swapper/N), L1 alive",
	  "tests/fixtures/forensics/l2-idle-soft-lockup-view.log (run 20261203-162206-smoke, "
	  "smoke-view at load 14: all 186 checks passed)", l2_idle_soft_lockup },
	{ "l2-suite-stall", "L2 silent mid-suite (RCU stall or nothing), L1 alive, no oops",
	  "README (2026-11-23, mode view and once hypercall; CI once); "
	  "tests/fixtures/forensics/l2-suite-stall.log (run 20261203-131738-smoke)", l2_suite_stall },
};
const unsigned int flake_nsigs = sizeof(flake_sigs) / sizeof(flake_sigs[0]);

const struct flake_sig *flake_match(const struct json *s)
{
	if (!s || strcmp(str(s, "status") ?: "", "failed") ||
	    strcmp(str(s, "rig.l0_accel") ?: "", "tcg") || !present(s, "failure") ||
	    present(s, "failure.l2_shutdown"))
		return NULL;
	for (unsigned int i = 0; i < flake_nsigs; i++)
		if (flake_sigs[i].match(s))
			return &flake_sigs[i];
	return NULL;
}
