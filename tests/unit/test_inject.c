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

/* A write that landed is missed or detected, whatever came of it. */
TEST(a_landed_write_is_never_prevented)
{
	struct heki_attack_result r = { .ran = true, .effect = 0, .landed = 1, .violations = 1 };

	EXPECT_EQ(OBS_DETECTED, heki_observe(&r));
	r.violations = 0;
	EXPECT_EQ(OBS_MISSED, heki_observe(&r));
	r.landed = 0;
	EXPECT_EQ(OBS_INEFFECTIVE, heki_observe(&r));
	r.violations = 1;
	EXPECT_EQ(OBS_PREVENTED, heki_observe(&r));
	r.landed = -1;		/* not reported apart: the effect decides */
	EXPECT_EQ(OBS_PREVENTED, heki_observe(&r));

	/*
	 * The suite's line for a cred written to root whose task the kernel
	 * still refuses root: no effect, but the write landed, and a report.
	 */
	heki_result_parse("id=cred_uid_root effect=1 landed=1 faulted=0 violations=1 vm_seq_before=0 gfn=0x1 rip=0x2 what=cred object=0xffff888001234500 user_uid=65534 user_euid=65534 user_sethostname=0 detail=uid=0", &r);
	EXPECT_TRUE(r.ran);
	EXPECT_EQ(0, r.effect);
	EXPECT_EQ(1, r.landed);
	EXPECT_EQ(1, r.violations);
	EXPECT_EQ(OBS_DETECTED, heki_observe(&r));
}

/* Fields are read before detail=, whose free text may look like fields. */
TEST(result_fields_stop_at_the_detail)
{
	const char *line = "id=x effect=0 violations=2 rip=0xffffffffc0001000 detail=effect=1 landed=1 what=fop";
	struct heki_attack_result r;

	EXPECT_EQ(0, heki_result_num(line, "effect", -1));
	EXPECT_EQ(-1, heki_result_num(line, "landed", -1));
	EXPECT_EQ(NULL, heki_result_field(line, "what"));
	EXPECT_EQ(0xffffffffc0001000ull, (unsigned long long)heki_result_num(line, "rip", 0));
	/* "effect" inside "landed_effect=" is not the field. */
	EXPECT_EQ(7, heki_result_num("id=x landed_effect=3 effect=7 detail=", "effect", -1));
	heki_result_parse(line, &r);
	EXPECT_EQ(-1, r.landed);
	EXPECT_EQ(OBS_PREVENTED, heki_observe(&r));
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
		{ "attack.hypercall.cr4_smep_clear", "status=ran expected=prevented observed=prevented id=cr4_smep_clear effect=0 landed=0 faulted=1 violations=1 vm_seq_before=3 gfn=0x0 rip=0xffffffffc0002000 cr=4 bits=0x100000 detail=cr4=0x711ee0", 0 },
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

/* One cell against a host log: its mismatch count, and its JSON result. */
static int judge_one(const char *key, const char *val, const struct inject_viol *v, int nv,
		     char *table, size_t tlen, struct json **out)
{
	const struct inject_kv kv = { key, val, 0 };
	int mis = -1;

	*out = report(&kv, 1, v, nv, &mis, table, tlen);
	return *out ? mis : -1;
}

static const struct json *only_result(const struct json *j)
{
	return json_get(json_get(j, "attacks")->child, "results")->child;
}

#define WRITE_AT(seq, rip, gfn) \
	"seq=" #seq " vm_pid=9 vm_seq=" #seq " vcpu=0 cpl=0 mode=long64 kind=write via=npt rip=" rip \
	" gfn=" gfn " gpa=0x0 gva=0x0 attrs=0xd action=refused"
#define REPORT_AT(seq, what, obj) \
	"seq=" #seq " vm_pid=9 vm_seq=" #seq " vcpu=1 cpl=0 mode=long64 kind=report via=guest-checker rip=0xffffffffc0300000" \
	" what=" what " value=0xffff888000aa0000 object=" obj " action=reported"

/* prevented: a refusal with the attacking RIP and the attacked frame, nothing less. */
TEST(prevented_needs_a_refusal_at_the_attacks_rip_and_frame)
{
	static const char cell[] = "status=ran expected=prevented observed=prevented id=text_alias_write effect=0 landed=0 faulted=1 violations=1 vm_seq_before=0 gfn=0xec90 rip=0xffffffffc0001000 detail=refused";
	static const struct {
		const char *record, *why;
		int mis;
	} cases[] = {
		{ WRITE_AT(1, "0xffffffffc0001000", "0xec90"), NULL, 0 },
		{ WRITE_AT(1, "0xffffffffc0001000", "0xec91"), "another frame", 1 },
		{ WRITE_AT(1, "0xffffffffc0001008", "0xec90"), "another RIP", 1 },
		/* a checker's report is no refusal, whatever it names */
		{ REPORT_AT(1, "fop", "0xffff888001000000"), "a checker's report, not a refusal", 1 },
		/* the right refusal, logged before the attack */
		{ WRITE_AT(0, "0xffffffffc0001000", "0xec90"), "no record with vm_seq 1..1", 1 },
	};
	char table[8192];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct inject_viol v = { cases[i].record, 0 };
		const struct json *r;
		struct json *j;

		ASSERT_EQ(cases[i].mis, judge_one("attack.hypercall.text_alias_write", cell, &v, 1,
						  table, sizeof(table), &j)) TH_LOG("case %zu: %s", i, table);
		r = only_result(j);
		EXPECT_EQ(!cases[i].mis, json_get(r, "match")->boolean) TH_LOG("case %zu", i);
		EXPECT_EQ(!cases[i].mis, json_get(r, "host_records")->child != NULL) TH_LOG("case %zu", i);
		if (cases[i].why) {
			ASSERT_NE(NULL, json_get(r, "mismatch"));
			EXPECT_NE(NULL, strstr(json_get(r, "mismatch")->str, cases[i].why))
				TH_LOG("case %zu: %s", i, json_get(r, "mismatch")->str);
			EXPECT_NE(NULL, strstr(json_get(r, "mismatch")->str, "rip 0xffffffffc0001000, gfn 0xec90"))
				TH_LOG("case %zu: %s", i, json_get(r, "mismatch")->str);
		}
		json_free(j);
	}
}

#define KVM_WRITE_AT(seq, via, gfn) \
	"seq=" #seq " vm_pid=9 vm_seq=" #seq " vcpu=0 cpl=0 mode=long64 kind=write via=" via \
	" rip=0xffffffff81234567 gfn=" gfn " gpa=0x0 gva=0xffffffffffffffff attrs=0x1 action=refused"

/*
 * prevented, KVM writing for the guest: a refused write by one of KVM's
 * own paths (via=kvm-*) to the attacked frame; its RIP is wherever the
 * vCPU was, so it is not asked for.
 */
TEST(prevented_kvm_write_needs_kvms_refusal_of_the_frame)
{
	static const char cell[] = "status=ran expected=prevented observed=prevented id=kvm_pvclock effect=0 landed=0 faulted=0 violations=1 vm_seq_before=0 gfn=0x1fdfb rip=0x0 detail=refused";
	static const struct {
		const char *record, *why;
		int mis;
	} cases[] = {
		{ KVM_WRITE_AT(1, "kvm-pfn-cache", "0x1fdfb"), NULL, 0 },
		{ KVM_WRITE_AT(1, "kvm-map", "0x1fdfb"), NULL, 0 },
		{ KVM_WRITE_AT(1, "kvm-pfn-cache", "0x1fdfc"), "another frame", 1 },
		/* the guest's own store refused in the second stage is not KVM's write */
		{ KVM_WRITE_AT(1, "npt", "0x1fdfb"), "not a write KVM made", 1 },
		{ REPORT_AT(1, "fop", "0x1fdfb"), "a checker's report, not a refusal", 1 },
	};
	char table[8192];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct inject_viol v = { cases[i].record, 0 };
		const struct json *r;
		struct json *j;

		ASSERT_EQ(cases[i].mis, judge_one("attack.hypercall.kvm_pvclock", cell, &v, 1,
						  table, sizeof(table), &j)) TH_LOG("case %zu: %s", i, table);
		r = only_result(j);
		EXPECT_EQ(!cases[i].mis, json_get(r, "match")->boolean) TH_LOG("case %zu", i);
		if (cases[i].why) {
			ASSERT_NE(NULL, json_get(r, "mismatch"));
			EXPECT_NE(NULL, strstr(json_get(r, "mismatch")->str, cases[i].why))
				TH_LOG("case %zu: %s", i, json_get(r, "mismatch")->str);
		}
		json_free(j);
	}
}

/* prevented, CR: the register, the attacking RIP, and the bits cleared and pinned. */
TEST(prevented_cr_needs_the_register_and_the_bits)
{
#define CR_REC(kind, old, new, pinned) \
	"seq=4 vm_pid=9 vm_seq=4 vcpu=1 cpl=0 mode=long64 kind=" kind " via=cr-write rip=0xffffffffc0002000" \
	" old=" old " new=" new " pinned=" pinned " action=refused"
	static const struct {
		const char *cell, *record, *why;
		int mis;
	} cases[] = {
		{ "cr=4 bits=0x100000", CR_REC("cr4", "0x711ee0", "0x611ee0", "0x300800"), NULL, 0 },
		{ "cr=4 bits=0x100000", CR_REC("cr0", "0x711ee0", "0x611ee0", "0x300800"), "another register", 1 },
		/* SMAP attacked, the record cleared SMEP */
		{ "cr=4 bits=0x200000", CR_REC("cr4", "0x711ee0", "0x611ee0", "0x300800"), "other bits", 1 },
		/* the bit was not pinned: not this refusal */
		{ "cr=4 bits=0x100000", CR_REC("cr4", "0x711ee0", "0x611ee0", "0x200800"), "other bits", 1 },
		/* an attacker that names no register has no evidence */
		{ "", CR_REC("cr4", "0x711ee0", "0x611ee0", "0x300800"), "named no register", 1 },
		/* CR0.WP */
		{ "cr=0 bits=0x10000", CR_REC("cr0", "0x80050033", "0x80040033", "0x10000"), NULL, 0 },
	};
	char table[8192], cell[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct inject_viol v = { cases[i].record, 0 };
		const struct json *r;
		struct json *j;

		snprintf(cell, sizeof(cell), "status=ran expected=prevented observed=prevented id=cr4_smep_clear effect=0 landed=0 faulted=1 violations=1 vm_seq_before=3 gfn=0x0 rip=0xffffffffc0002000 %s detail=cr", cases[i].cell);
		ASSERT_EQ(cases[i].mis, judge_one("attack.hypercall.cr4_smep_clear", cell, &v, 1,
						  table, sizeof(table), &j)) TH_LOG("case %zu: %s", i, table);
		r = only_result(j);
		if (cases[i].why) {
			EXPECT_NE(NULL, strstr(json_get(r, "mismatch")->str, cases[i].why))
				TH_LOG("case %zu: %s", i, json_get(r, "mismatch")->str);
		} else {
			EXPECT_STREQ("4", json_get(json_get(r, "host_records")->child, "vm_seq")->str);
		}
		json_free(j);
	}
#undef CR_REC
}

/* detected: a checker's report of the attacked kind about the attacked object. */
TEST(detected_needs_a_report_naming_the_object)
{
	static const struct {
		const char *id, *cell_what, *record, *why;
		int mis;
	} cases[] = {
		{ "fop_swap", "what=fop object=0xffff888004c8a300", REPORT_AT(1, "fop", "0xffff888004c8a300"), NULL, 0 },
		{ "fop_swap", "what=fop object=0xffff888004c8a300", REPORT_AT(1, "fop", "0xffff888004c8a400"), "another object", 1 },
		{ "fop_swap", "what=fop object=0xffff888004c8a300", REPORT_AT(1, "cred", "0xffff888004c8a300"), "something else", 1 },
		{ "fop_swap", "what=fop object=0xffff888004c8a300", WRITE_AT(1, "0xffffffffc0001000", "0xec90"), "a refusal, not a checker's report", 1 },
		/* an attacker line that names no object proves nothing */
		{ "fop_swap", "", REPORT_AT(1, "fop", "0xffff888004c8a300"), "named no object", 1 },
		{ "cred_init_cred", "what=cred object=0xffff888003a1c000", REPORT_AT(1, "cred", "0xffff888003a1c000"), NULL, 0 },
	};
	char table[8192], cell[512], key[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct inject_viol v = { cases[i].record, 0 };
		const struct json *r;
		struct json *j;

		snprintf(key, sizeof(key), "attack.hypercall+ext.%s", cases[i].id);
		snprintf(cell, sizeof(cell), "status=ran expected=detected observed=detected id=%s effect=1 landed=1 faulted=0 violations=1 vm_seq_before=0 gfn=0x1234 rip=0xffffffffc0001000 %s detail=read_returned=0", cases[i].id, cases[i].cell_what);
		ASSERT_EQ(cases[i].mis, judge_one(key, cell, &v, 1, table, sizeof(table), &j))
			TH_LOG("case %zu: %s", i, table);
		r = only_result(j);
		if (cases[i].why) {
			EXPECT_NE(NULL, strstr(json_get(r, "mismatch")->str, cases[i].why))
				TH_LOG("case %zu: %s", i, json_get(r, "mismatch")->str);
		} else {
			const struct json *h = json_get(r, "host_records")->child;

			EXPECT_EQ(NULL, json_get(r, "mismatch"));
			ASSERT_NE(NULL, h) TH_LOG("case %zu", i);
			/* the record names the object the attacker did */
			EXPECT_STREQ(strstr(cases[i].cell_what, "object=") + 7,
				     json_get(h, "object")->str);
			EXPECT_STREQ(json_get(r, "object")->str, json_get(h, "object")->str);
		}
		json_free(j);
	}
}

/*
 * Another task's cred report logged while the attack ran is no evidence:
 * alone it leaves the cell without any; beside the attack's own it is
 * not attached.
 */
TEST(a_concurrent_unrelated_report_is_no_evidence)
{
	static const char cell[] = "status=ran expected=detected observed=detected id=cred_uid_root effect=1 landed=1 faulted=0 violations=2 vm_seq_before=10 gfn=0x3a1c rip=0xffffffffc0001000 what=cred object=0xffff888003a1c000 detail=uid=0";
	const struct inject_viol other[] = {
		{ REPORT_AT(11, "cred", "0xffff888003b00000"), 0 },
		{ REPORT_AT(12, "cred", "0xffff888003a1c000"), 0 },
	};
	const struct json *r, *h;
	char table[8192];
	struct json *j;

	ASSERT_EQ(1, judge_one("attack.hypercall+ext.cred_uid_root", cell, other, 1, table,
			       sizeof(table), &j)) TH_LOG("%s", table);
	r = only_result(j);
	EXPECT_NE(NULL, strstr(json_get(r, "mismatch")->str, "another object"))
		TH_LOG("%s", json_get(r, "mismatch")->str);
	EXPECT_EQ(NULL, json_get(r, "host_records")->child);
	json_free(j);

	ASSERT_EQ(0, judge_one("attack.hypercall+ext.cred_uid_root", cell, other, 2, table,
			       sizeof(table), &j)) TH_LOG("%s", table);
	h = json_get(only_result(j), "host_records")->child;
	ASSERT_NE(NULL, h);
	EXPECT_STREQ("0xffff888003a1c000", json_get(h, "object")->str);
	EXPECT_EQ(NULL, h->next);
	json_free(j);
}

/* The report judges again: a landed write called prevented is a mismatch. */
TEST(report_refuses_a_landed_write_called_prevented)
{
	/* As inject_suite.c could once say of a cred written to root that its task did not use. */
	static const char landed[] = "status=ran expected=detected observed=prevented id=cred_uid_root effect=0 landed=1 faulted=0 violations=1 vm_seq_before=0 gfn=0x3a1c rip=0xffffffffc0001000 what=cred object=0xffff888003a1c000 detail=uid=0";
	/* Expected prevented, and the refusal is there: still no, it landed. */
	static const char landed2[] = "status=ran expected=prevented observed=prevented id=text_alias_write effect=0 landed=1 faulted=1 violations=1 vm_seq_before=0 gfn=0xec90 rip=0xffffffffc0001000 detail=refused";
	/* The suite's word against the attacker's figures. */
	static const char stale[] = "status=ran expected=missed observed=missed id=fop_swap effect=1 landed=1 faulted=0 violations=1 vm_seq_before=0 gfn=0x1 rip=0x2 what=fop object=0x3 detail=read_returned=0";
	const struct inject_viol v[] = {
		{ REPORT_AT(1, "cred", "0xffff888003a1c000"), 0 },
		{ WRITE_AT(1, "0xffffffffc0001000", "0xec90"), 0 },
	};
	char table[8192];
	struct json *j;

	ASSERT_EQ(1, judge_one("attack.hypercall+ext.cred_uid_root", landed, v, 1, table,
			       sizeof(table), &j));
	EXPECT_NE(NULL, strstr(json_get(only_result(j), "mismatch")->str, "never prevented"))
		TH_LOG("%s", table);
	json_free(j);
	ASSERT_EQ(1, judge_one("attack.hypercall.text_alias_write", landed2, v + 1, 1, table,
			       sizeof(table), &j));
	EXPECT_NE(NULL, strstr(json_get(only_result(j), "mismatch")->str, "never prevented"))
		TH_LOG("%s", table);
	json_free(j);
	ASSERT_EQ(1, judge_one("attack.hypercall.fop_swap", stale, v, 0, table, sizeof(table), &j));
	EXPECT_NE(NULL, strstr(json_get(only_result(j), "mismatch")->str, "make it detected"))
		TH_LOG("%s", table);
	json_free(j);
}

TEST_HARNESS_MAIN
