// SPDX-License-Identifier: GPL-2.0
/*
 * The retry table (rig/flakes.c) and the forensics it matches on
 * (rig/forensics.c): each signature matches the record of the run it was
 * seen in (console excerpts of real runs in tests/fixtures/forensics/), and
 * an oops of a test module, an L2 triple fault, a panic an attack asked
 * for, or any failure off TCG matches none: those fail at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "forensics.h"
#include "flakes.h"

static const char *fixture(const char *name)
{
	static char path[512];
	const char *d = getenv("FIXTURES");

	snprintf(path, sizeof(path), "%s/forensics/%s", d ? d : "tests/fixtures", name);
	return path;
}

/* A failed run's record as rigrun writes it (summary.json, the fields flakes.c reads). */
struct rec {
	const char *accel, *how, *stage;
	int l2_qemu_exit;		/* -1: L2's QEMU had not exited */
	const char *l1_log, *l2_log;	/* console fixtures, or NULL */
	bool shutdown, icount;
};

static void put_oops(struct jw *w, const char *key, const char *log)
{
	struct oops o;

	if (!log || !forensics_oops(fixture(log), &o)) {
		jw_null(w, key);
		return;
	}
	jw_obj(w, key);
	jw_str(w, "headline", o.headline);
	jw_str(w, "function", o.function);
	jw_str(w, "text", o.text);
	jw_end(w);
}

static struct json *summary_of(const struct rec *r)
{
	char *buf = NULL, err[128];
	size_t len = 0;
	struct json *j;
	struct jw w;
	FILE *f = open_memstream(&buf, &len);

	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_str(&w, "status", "failed");
	jw_obj(&w, "rig");
	jw_str(&w, "l0_accel", r->accel ?: "tcg");
	jw_bool(&w, "icount", r->icount);
	jw_end(&w);
	jw_obj(&w, "failure");
	jw_str(&w, "how", r->how);
	jw_str(&w, "stage", r->stage);
	if (r->l2_qemu_exit < 0)
		jw_null(&w, "l2_qemu_exit");
	else
		jw_int(&w, "l2_qemu_exit", r->l2_qemu_exit);
	put_oops(&w, "l1_oops", r->l1_log);
	put_oops(&w, "l2_oops", r->l2_log);
	if (r->shutdown) {
		jw_obj(&w, "l2_shutdown");
		jw_str(&w, "rip", "0xffffffffc0201234");
		jw_str(&w, "event", "0");
		jw_end(&w);
	} else {
		jw_null(&w, "l2_shutdown");
	}
	jw_end(&w);
	jw_end(&w);
	fclose(f);
	j = json_parse(buf, err, sizeof(err));
	free(buf);
	return j;
}

static const char *matched(const struct rec *r)
{
	struct json *s = summary_of(r);
	const struct flake_sig *sig = flake_match(s);

	json_free(s);
	return sig ? sig->id : "none";
}

TEST(oops_text_and_function_from_a_console)
{
	struct oops o;

	ASSERT_TRUE(forensics_oops(fixture("l1-irq-at-if0-smoke.log"), &o));
	ASSERT_NE(NULL, strstr(o.headline, "watchdog: BUG: soft lockup - CPU#0 stuck for 26s!"));
	ASSERT_EQ(0, strncmp(o.headline, "watchdog:", 9)) TH_LOG("timestamp kept: %s", o.headline);
	ASSERT_STREQ("native_queued_spin_lock_slowpath", o.function);
	ASSERT_NE(NULL, strstr(o.text, "serial8250_start_tx+0xf9/0x1e0"));
	/* One report: the next soft lockup 28 s later is not part of it. */
	ASSERT_EQ(NULL, strstr(o.text, "stuck for 52s"));
	/* A panic: the function is the caller of panic(), not the user RIP after. */
	ASSERT_TRUE(forensics_oops(fixture("l2-panic-attack-kills-guest.log"), &o));
	ASSERT_STREQ("run_write", o.function);
	ASSERT_NE(NULL, strstr(o.headline, "Kernel panic - not syncing"));
	/* The l2-oops scenario's own run: an oops in heki_testmod's init. */
	ASSERT_TRUE(forensics_oops(fixture("l2-oops-heki-testmod.log"), &o));
	ASSERT_STREQ("heki_testmod_oops", o.function);
	ASSERT_NE(NULL, strstr(o.text, "heki_testmod_init+0x21/0x1000 [heki_testmod]"));
	ASSERT_NE(NULL, strstr(o.text, "Oops: 0002 [#1]"));
	/* The same at load 14: one report spread over 6 s of printk time. */
	ASSERT_TRUE(forensics_oops(fixture("l2-oops-heki-testmod-loaded.log"), &o));
	ASSERT_STREQ("heki_testmod_oops", o.function);
	ASSERT_NE(NULL, strstr(o.text, "heki_testmod_init+0x21/0x1000 [heki_testmod]"));
	/* A report without a trace (L2's console at loglevel=4) ends where user space goes on. */
	ASSERT_TRUE(forensics_oops(fixture("l2-idle-soft-lockup-view.log"), &o));
	ASSERT_STREQ("", o.function);
	ASSERT_EQ(NULL, strstr(o.text, "ok 83")) TH_LOG("%s", o.text);
	ASSERT_NE(NULL, strstr(o.text, "[swapper/0:0]"));
	ASSERT_TRUE(forensics_oops(fixture("l1-boot-timer-check-panic.log"), &o));
	ASSERT_STREQ("setup_IO_APIC", o.function);
	/* die() for a #PF with RSVD (the host refused a text_poke): an oops too. */
	ASSERT_TRUE(forensics_oops(fixture("l2-bad-pagetable-text-poke.log"), &o));
	ASSERT_NE(NULL, strstr(o.headline, "Bad pagetable: 000b [#1]")) TH_LOG("%s", o.headline);
	ASSERT_NE(NULL, strstr(o.text, "__text_poke+0x1f3/0x490"));
	/* An RCU stall is not an oops. */
	ASSERT_FALSE(forensics_oops(fixture("l2-suite-stall.log"), &o));
	ASSERT_FALSE(forensics_oops(fixture("l2-reset-without-oops.log"), &o));
}

static void collect(const char *key, const char *val, void *ctx)
{
	char *out = ctx;

	snprintf(out + strlen(out), 512 - strlen(out), "%s:%s;", key, val);
}

/* The host's "shutdown" record (host/ABI.md) splits into its fields. */
TEST(host_shutdown_record_fields)
{
	char got[512] = "";

	forensics_fields("vm_id=3 vm_pid=140 vcpu=0 rip=0xffffffffc0a01010 via=svm-shutdown "
			 "event=0 event_type=exception event_err=none", collect, got);
	ASSERT_STREQ("vm_id:3;vm_pid:140;vcpu:0;rip:0xffffffffc0a01010;via:svm-shutdown;"
		     "event:0;event_type:exception;event_err:none;", got);
}

/* Each signature, on the record of the run it comes from. */
TEST(every_signature_matches_its_evidence)
{
	static const struct {
		const char *sig;
		struct rec r;
	} cases[] = {
		{ "l1-irq-at-if0", { .how = "timeout", .stage = "suite", .l2_qemu_exit = -1,
				     .l1_log = "l1-irq-at-if0-smoke.log" } },
		{ "l1-irq-at-if0", { .how = "timeout", .stage = "suite", .l2_qemu_exit = -1,
				     .l1_log = "l1-irq-at-if0-attacks.log" } },
		{ "l2-reset-without-oops", { .how = "l0-exited", .stage = "suite", .l2_qemu_exit = 0,
					     .l2_log = "l2-reset-without-oops.log" } },
		{ "l2-suite-stall", { .how = "timeout", .stage = "suite", .l2_qemu_exit = -1,
				      .l2_log = "l2-suite-stall.log" } },
		{ "l1-reset-without-oops", { .how = "l0-exited", .stage = "suite", .l2_qemu_exit = -1 } },
		{ "boot-stall", { .how = "timeout", .stage = "l2-boot", .l2_qemu_exit = -1 } },
		{ "boot-stall", { .how = "timeout", .stage = "l0-boot", .l2_qemu_exit = -1 } },
		{ "l1-boot-timer-check", { .how = "l0-exited", .stage = "l0-boot", .l2_qemu_exit = -1,
					   .l1_log = "l1-boot-timer-check-panic.log" } },
		{ "l2-idle-soft-lockup", { .how = "judged", .stage = "collect", .l2_qemu_exit = 0,
					   .l2_log = "l2-idle-soft-lockup-view.log" } },
		{ "module-load-stall-icount", { .how = "timeout", .stage = "guest-module",
						.l2_qemu_exit = -1, .icount = true } },
	};
	bool seen[64] = { false };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_STREQ(cases[i].sig, matched(&cases[i].r)) TH_LOG("case %zu", i);
		for (unsigned int s = 0; s < flake_nsigs; s++)
			seen[s] |= !strcmp(flake_sigs[s].id, cases[i].sig);
	}
	/* Every row has its evidence; those without a console excerpt are listed here. */
	for (unsigned int s = 0; s < flake_nsigs; s++) {
		ASSERT_LT(10, strlen(flake_sigs[s].evidence)) TH_LOG("%s", flake_sigs[s].id);
		if (!strcmp(flake_sigs[s].id, "l1-bad-gs-after-vmrun") ||
		    !strcmp(flake_sigs[s].id, "l1-int3-lockup-at-l2-exit"))
			continue;
		EXPECT_TRUE(seen[s]) TH_LOG("%s has no case here", flake_sigs[s].id);
	}
}

/* What is ours until proven otherwise: none of these is forgiven. */
TEST(our_failures_match_nothing)
{
	static const struct rec cases[] = {
		/* An oops in a module of ours (L2): the l2-oops scenario's run. */
		{ .how = "l0-exited", .stage = "guest-module", .l2_qemu_exit = 0,
		  .l2_log = "l2-oops-heki-testmod.log" },
		/* The same oops seen as a stall of the suite. */
		{ .how = "timeout", .stage = "suite", .l2_qemu_exit = -1,
		  .l2_log = "l2-oops-heki-testmod.log" },
		/* A panic in the attack module, run ended by L0's exit. */
		{ .how = "l0-exited", .stage = "suite", .l2_qemu_exit = 0,
		  .l2_log = "l2-panic-attack-kills-guest.log" },
		/* The IF=0 lockup's shape, but L2 also oopsed. */
		{ .how = "timeout", .stage = "suite", .l2_qemu_exit = -1,
		  .l1_log = "l1-irq-at-if0-smoke.log", .l2_log = "l2-panic-attack-kills-guest.log" },
		/* An L2 reset the host recorded as a triple fault. */
		{ .how = "l0-exited", .stage = "suite", .l2_qemu_exit = 0, .shutdown = true },
		/* A stall with an L2 triple fault on record. */
		{ .how = "timeout", .stage = "suite", .l2_qemu_exit = -1, .shutdown = true },
		/* A suite whose checks failed, a level that reported its failure. */
		{ .how = "judged", .stage = "suite", .l2_qemu_exit = -1 },
		/* Checks failed and L2 powered off normally (seen 2026-12-03: retried as a reset). */
		{ .how = "judged", .stage = "suite", .l2_qemu_exit = 0 },
		{ .how = "reported", .stage = "guest-module", .l2_qemu_exit = -1 },
		/* heki.ko's load stalled without ICOUNT=1: never seen. */
		{ .how = "timeout", .stage = "guest-module", .l2_qemu_exit = -1 },
		/* A timeout at collect without an oops: never seen. */
		{ .how = "timeout", .stage = "collect", .l2_qemu_exit = -1 },
		/* A soft lockup of an L2 task that is not the idle one. */
		{ .how = "judged", .stage = "collect", .l2_qemu_exit = 0,
		  .l2_log = "l1-irq-at-if0-smoke.log" },
		/* The timer-check panic after L1 booted: never seen. */
		{ .how = "l0-exited", .stage = "suite", .l2_qemu_exit = -1,
		  .l1_log = "l1-boot-timer-check-panic.log" },
		/* Off TCG nothing is the emulator's. */
		{ .accel = "kvm", .how = "timeout", .stage = "l2-boot", .l2_qemu_exit = -1 },
		{ .accel = "bochs", .how = "timeout", .stage = "suite", .l2_qemu_exit = -1,
		  .l1_log = "l1-irq-at-if0-smoke.log" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_STREQ("none", matched(&cases[i])) TH_LOG("case %zu", i);
	}
}

TEST_HARNESS_MAIN
