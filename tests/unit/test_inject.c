// SPDX-License-Identifier: GPL-2.0
/*
 * The attack verdicts (inject/inject_verdict.h) and inject.json
 * (inject/inject_report.c), natively: outcomes from effect and the host's
 * counter, the host's log as second witness, mismatches counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "inject_report.h"
#include "inject_verdict.h"
#include "json.h"

TEST(observe_maps_effect_and_log_to_outcomes)
{
	struct heki_attack_result r = { .ran = true, .effect = 1, .violations = 0 };

	EXPECT_EQ(OBS_MISSED, heki_observe(&r));
	r.violations = 1;
	EXPECT_EQ(OBS_DETECTED, heki_observe(&r));
	r.effect = 0;
	EXPECT_EQ(OBS_PREVENTED, heki_observe(&r));
	r.violations = 0;
	EXPECT_EQ(OBS_INEFFECTIVE, heki_observe(&r));
	r.violations = -1;	/* counter unreadable: nothing proves a log */
	EXPECT_EQ(OBS_INEFFECTIVE, heki_observe(&r));
	r.effect = -1;
	EXPECT_EQ(OBS_ERROR, heki_observe(&r));
	r.crashed = true;
	EXPECT_EQ(OBS_CRASHED, heki_observe(&r));
	r = (struct heki_attack_result){ 0 };
	EXPECT_EQ(OBS_NOT_RUN, heki_observe(&r));
}

TEST(catalogue_is_well_formed)
{
	for (unsigned int i = 0; i < HEKI_NR_ATTACKS; i++) {
		const struct heki_attack_row *r = &heki_attack_rows[i];

		EXPECT_EQ(r, heki_attack_find(r->id)) TH_LOG("duplicate id %s", r->id);
		/* Unprotected, every attack must succeed silently. */
		EXPECT_EQ(OUT_MISSED, r->expected[0]) TH_LOG("%s", r->id);
		/* A miss under protection must say why. */
		if (r->expected[1] == OUT_MISSED)
			EXPECT_NE(NULL, r->why) TH_LOG("%s", r->id);
		EXPECT_LT(10, strlen(r->description));
	}
	EXPECT_EQ(NULL, heki_attack_find("no_such_attack"));
	EXPECT_EQ(OBS_INEFFECTIVE, heki_outcome_parse("ineffective"));
	EXPECT_EQ(-1, heki_outcome_parse("bogus"));
}

static char dir[] = "/tmp/test_inject.XXXXXX";

static struct json *report(const struct inject_kv *kvs, int n, const struct inject_viol *viol,
			   int nv, int *mismatches, char *table, size_t tlen)
{
	static const struct inject_env env = { { "run", "tcg", "cpu", "hk", "gk", "rev", false },
					       { NULL, "run-continued" } };
	char path[64], err[128], *text;
	struct json *j;
	FILE *t = fmemopen(table, tlen, "w");
	FILE *f;
	long len;

	if (!mkdtemp(dir) && access(dir, F_OK))
		return NULL;
	if (inject_report(dir, &env, kvs, n, viol, nv, t, mismatches) < 0)
		return NULL;
	fclose(t);
	snprintf(path, sizeof(path), "%s/inject.json", dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, len + 1);
	if (fread(text, 1, len, f) != (size_t)len)
		len = 0;
	fclose(f);
	unlink(path);
	rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	j = json_parse(text, err, sizeof(err));
	free(text);
	return j;
}

static const struct inject_viol viol[] = {
	{ "seq=7 vm_pid=9 vm_seq=3 vcpu=1 cpl=0 mode=long64 kind=write via=npt rip=0xffffffffc0001000 gfn=0xec90 gpa=0xec90918 gva=0xffffffff81000918 attrs=0xd action=refused", 0 },
	{ "seq=8 vm_pid=9 vm_seq=4 vcpu=1 cpl=0 mode=long64 kind=cr4 via=cr-write rip=0xffffffffc0002000 old=0x711ee0 new=0x611ee0 pinned=0x300800 action=refused", 0 },
	/* The same record, from a continuation run's host: not this run's. */
	{ "seq=0 vm_pid=5 vm_seq=1 vcpu=0 cpl=0 mode=long64 kind=write via=npt rip=0xffffffffc0001000 gfn=0xec90 gpa=0xec90918 gva=0xffffffff81000918 attrs=0xd action=refused", 1 },
};

TEST(prevented_cells_carry_the_host_record)
{
	const struct inject_kv kvs[] = {
		{ "inject.mode", "off status=run", 0 },
		{ "inject.mode", "hypercall status=run", 0 },
		{ "inject.mode", "view status=n/a reason=views are not implemented yet", 0 },
		{ "attack.off.text_pte_write", "status=ran expected=missed observed=missed id=text_pte_write effect=1 faulted=0 violations=0 vm_seq_before=0 gfn=0xec90 rip=0xffffffffc0001000 detail=pte_level=2 landed", 0 },
		{ "attack.hypercall.text_pte_write", "status=ran expected=prevented observed=prevented id=text_pte_write effect=0 faulted=1 violations=1 vm_seq_before=2 gfn=0xec90 rip=0xffffffffc0001000 detail=refused", 0 },
		{ "attack.view.text_pte_write", "status=n/a expected=n/a observed=n/a reason=views are not implemented yet", 0 },
		{ "attack.hypercall.cr4_smep_clear", "status=ran expected=prevented observed=prevented id=cr4_smep_clear effect=0 faulted=1 violations=1 vm_seq_before=3 gfn=0x0 rip=0xffffffffc0002000 detail=cr4=0x711ee0", 0 },
	};
	char table[8192];
	const struct json *a, *r;
	struct json *j;
	int mis = -1;

	j = report(kvs, sizeof(kvs) / sizeof(kvs[0]), viol, 2, &mis, table, sizeof(table));
	ASSERT_NE(NULL, j);
	EXPECT_EQ(0, mis) TH_LOG("%s", table);
	EXPECT_EQ(4.0, json_get(j, "cells")->num);
	a = json_get(j, "attacks")->child;
	ASSERT_STREQ("text_pte_write", json_get(a, "id")->str);
	r = json_get(a, "results")->child->next;	/* hypercall */
	ASSERT_STREQ("hypercall", json_get(r, "mode")->str);
	EXPECT_TRUE(json_get(r, "host_logged")->boolean);
	ASSERT_NE(NULL, json_get(r, "host_records")->child);
	EXPECT_STREQ("3", json_get(json_get(r, "host_records")->child, "vm_seq")->str);
	EXPECT_NE(NULL, strstr(table, "text_pte_write")) TH_LOG("%s", table);
	json_free(j);
}

TEST(a_difference_or_a_missing_record_is_a_mismatch)
{
	const struct inject_kv kvs[] = {
		/* expected prevented, observed missed */
		{ "attack.hypercall.text_alias_write", "status=ran expected=prevented observed=missed id=text_alias_write effect=1 faulted=0 violations=0 vm_seq_before=0 gfn=0xec90 rip=0xffffffffc0001000 detail=landed", 0 },
		/* prevented, but the host's record lies outside the attack's range */
		{ "attack.hypercall.text_pte_write", "status=ran expected=prevented observed=prevented id=text_pte_write effect=0 faulted=1 violations=1 vm_seq_before=5 gfn=0xec90 rip=0xffffffffc0001000 detail=refused", 0 },
		/* under off, a broken attack */
		{ "attack.off.cr0_wp_clear", "status=ran expected=missed observed=ineffective id=cr0_wp_clear effect=0 faulted=0 violations=0 vm_seq_before=0 gfn=0x0 rip=0x1 detail=nothing", 0 },
	};
	char table[8192];
	struct json *j;
	int mis = -1;

	j = report(kvs, 3, viol, 2, &mis, table, sizeof(table));
	ASSERT_NE(NULL, j);
	EXPECT_EQ(3, mis) TH_LOG("%s", table);
	EXPECT_EQ(3.0, json_get(j, "mismatches")->num);
	EXPECT_NE(NULL, strstr(table, "MISMATCH text_pte_write/hypercall")) TH_LOG("%s", table);
	EXPECT_NE(NULL, strstr(table, "no record")) TH_LOG("%s", table);
	json_free(j);
}

/* A cell from a continuation is matched with that run's host log only. */
TEST(continued_cells_use_their_own_host_log)
{
	const struct inject_kv kvs[] = {
		{ "attack.off.cr0_wp_clear", "status=crashed expected=missed observed=crashed the guest died during this attack", 0 },
		{ "attack.hypercall.text_pte_write", "status=ran expected=prevented observed=prevented id=text_pte_write effect=0 faulted=1 violations=1 vm_seq_before=0 gfn=0xec90 rip=0xffffffffc0001000 detail=refused", 1 },
		/* vm_seq 1 of this run's log is not the write: no evidence. */
		{ "attack.hypercall.text_alias_write", "status=ran expected=prevented observed=prevented id=text_alias_write effect=0 faulted=1 violations=1 vm_seq_before=0 gfn=0xec90 rip=0xffffffffc0001000 detail=refused", 0 },
	};
	char table[8192];
	const struct json *a, *r;
	struct json *j;
	int mis = -1;

	j = report(kvs, 3, viol, 3, &mis, table, sizeof(table));
	ASSERT_NE(NULL, j);
	/* The crashed cell, and the part-0 cell without its record. */
	EXPECT_EQ(2, mis) TH_LOG("%s", table);
	for (a = json_get(j, "attacks")->child; a; a = a->next) {
		if (strcmp(json_get(a, "id")->str, "text_pte_write"))
			continue;
		r = json_get(a, "results")->child;
		EXPECT_TRUE(json_get(r, "match")->boolean);
		EXPECT_STREQ("run-continued", json_get(r, "continued_in")->str);
		EXPECT_STREQ("0", json_get(json_get(r, "host_records")->child, "seq")->str);
	}
	EXPECT_NE(NULL, strstr(table, "MISMATCH cr0_wp_clear/off: expected missed, observed crashed"))
		TH_LOG("%s", table);
	json_free(j);
}

TEST(one_attack_is_told_in_words)
{
	const struct inject_kv kvs[] = {
		{ "attack.hypercall.fop_swap", "status=ran expected=missed observed=missed id=fop_swap effect=1 faulted=0 violations=0 vm_seq_before=0 gfn=0x1 rip=0x2 detail=read_returned=0", 0 },
	};
	char table[8192];
	struct json *j;
	int mis = -1;

	j = report(kvs, 1, viol, 0, &mis, table, sizeof(table));
	ASSERT_NE(NULL, j);
	EXPECT_EQ(0, mis);
	EXPECT_NE(NULL, strstr(table, "why a miss is expected here")) TH_LOG("%s", table);
	EXPECT_NE(NULL, strstr(table, "the attacker: read_returned=0")) TH_LOG("%s", table);
	json_free(j);
}

TEST(garbage_records_are_ignored_not_fatal)
{
	const struct inject_kv kvs[] = {
		{ "attack.nomode.text_pte_write", "status=ran", 0 },
		{ "attack.off.no_such_attack", "status=ran", 0 },
		{ "attack.off", "", 0 },
		{ "inject.mode", "", 0 },
		{ "attack.off.fop_swap", "", 0 },
	};
	char table[8192];
	struct json *j;
	int mis = -1;

	j = report(kvs, 5, viol, 0, &mis, table, sizeof(table));
	ASSERT_NE(NULL, j);
	/* Only the fop_swap cell names a known mode and attack; it has no outcome. */
	EXPECT_EQ(1.0, json_get(j, "cells")->num);
	EXPECT_EQ(1, mis) TH_LOG("%s", table);
	json_free(j);
}

TEST_HARNESS_MAIN
