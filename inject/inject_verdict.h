/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From what an attack did to its verdict (DESIGN §4), shared by the L2 suite
 * (inject/inject_suite.c, whose checks fail the run) and the report
 * (inject/inject_report.c, which also matches the host's log).  Pure C.
 */
#ifndef HEKI_INJECT_VERDICT_H
#define HEKI_INJECT_VERDICT_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "attacks.h"
#include "heki_modes.h"

/* Observed outcomes: the design's four, then the ways an attack can fail. */
enum heki_observed {
	OBS_PREVENTED = OUT_PREVENTED,
	OBS_DETECTED = OUT_DETECTED,
	OBS_MISSED = OUT_MISSED,
	OBS_NA = OUT_NA,
	OBS_INEFFECTIVE,	/* no effect, nothing logged: a broken attack under "off" */
	OBS_CRASHED,		/* the guest (or the attacking task) died */
	OBS_ERROR,		/* the attack could not be set up */
	OBS_NOT_RUN,		/* no result arrived */
	OBS_NR
};

static const char *const heki_observed_names[OBS_NR] = {
	HEKI_OUTCOME_NAMES, "ineffective", "crashed", "error", "not-run",
};

/* What one attack in one mode reported (the attacker module's line). */
struct heki_attack_result {
	bool ran;		/* a result line arrived */
	bool crashed;		/* the attacking task died instead */
	int effect;		/* 1, 0, or -1 (not set up) */
	/*
	 * 1: the attacked memory or register read back the attacker's value
	 * (its write landed), whatever came of it; 0: it did not; -1: not
	 * reported (taken to be the effect).
	 */
	int landed;
	long violations;	/* host violation counter delta; -1 unknown */
};

/*
 * From effect, landed write and the host's count to the outcome.  A write
 * that landed is never "prevented", even when what it was for did not
 * follow (a cred written to root whose task is still refused root): the
 * host logging it makes it "detected", nothing logged "missed".
 */
static inline enum heki_observed heki_observe(const struct heki_attack_result *r)
{
	bool logged = r->violations > 0;

	if (r->crashed)
		return OBS_CRASHED;
	if (!r->ran)
		return OBS_NOT_RUN;
	if (r->effect < 0)
		return OBS_ERROR;
	if (r->effect || r->landed == 1)
		return logged ? OBS_DETECTED : OBS_MISSED;
	return logged ? OBS_PREVENTED : OBS_INEFFECTIVE;
}

/*
 * The attacker's result line (heki_attack_main.c writes it, the suite
 * inserts the attacking task's own view of a cred attack):
 *   id=ID effect=E landed=L faulted=F violations=N vm_seq_before=B gfn=0x..
 *   rip=0x.. [what=fop|cred object=0x..] [cr=N bits=0x..]
 *   [user_uid=U user_euid=U user_sethostname=0|1] detail=<free text>
 * Returns where the value of field @key starts, or NULL: fields are looked
 * up before detail=, whose text may hold anything.
 */
static inline const char *heki_result_field(const char *line, const char *key)
{
	const char *detail = strstr(line, " detail=");
	size_t k = strlen(key);

	if (!strncmp(line, "detail=", 7))
		detail = line;
	for (const char *p = line; (p = strstr(p, key)) && (!detail || p < detail); p += k)
		if ((p == line || p[-1] == ' ') && p[k] == '=')
			return p + k + 1;
	return NULL;
}

/* Field @key as a number (base 0: decimal or 0x hex), or @def. */
static inline long long heki_result_num(const char *line, const char *key, long long def)
{
	const char *v = heki_result_field(line, key);

	return v ? (long long)strtoull(v, NULL, 0) : def;
}

/* The outcome's inputs from a result line (the suite's and the report's judge). */
static inline void heki_result_parse(const char *line, struct heki_attack_result *r)
{
	*r = (struct heki_attack_result){ .ran = true };
	r->effect = (int)heki_result_num(line, "effect", -1);
	r->landed = (int)heki_result_num(line, "landed", -1);
	r->violations = (long)heki_result_num(line, "violations", -1);
	/*
	 * A cred attack took effect only if the task itself is now root; its
	 * write landed all the same (landed stays as the attacker read it).
	 */
	if (r->effect == 1 && heki_result_field(line, "user_uid") &&
	    (heki_result_num(line, "user_uid", -1) || heki_result_num(line, "user_euid", -1) ||
	     heki_result_num(line, "user_sethostname", 0) != 1))
		r->effect = 0;
}

static inline int heki_outcome_parse(const char *s)
{
	for (int i = 0; i < OBS_NR; i++)
		if (!strcmp(s, heki_observed_names[i]))
			return i;
	return -1;
}

/* The catalogue, as data. */
struct heki_attack_row {
	const char *id, *family, *primitive, *judged_by, *description, *why;
	enum heki_outcome expected[HEKI_NR_MODES];	/* by enum heki_mode */
};

/* attacks.h gives one expected outcome per mode, in heki_modes.h's order. */
_Static_assert(HEKI_NR_MODES == 5, "a new mode needs its column in every row of attacks.h");

static const struct heki_attack_row heki_attack_rows[] = {
#define HEKI_ATTACK_ROW(id, fam, prim, judge, e0, e1, e2, e3, e4, desc, why) \
	{ #id, fam, prim, judge, desc, why, { e0, e1, e2, e3, e4 } },
	HEKI_ATTACKS(HEKI_ATTACK_ROW)
#undef HEKI_ATTACK_ROW
};

#define HEKI_NR_ATTACKS (sizeof(heki_attack_rows) / sizeof(heki_attack_rows[0]))

/*
 * Rows that need what not every rig has: one vendor's nested
 * virtualization in the guest's CPU (the flag in /proc/cpuinfo; on the
 * other vendor's host the instruction does not exist) or a second online
 * vCPU.  Where it is missing the row is n/a in every mode, with this reason.
 */
static const struct heki_attack_need {
	const char *id, *cpu_flag;
	int min_cpus;
	const char *reason;
} heki_attack_needs[] = {
	{ "kvm_vmsave", "svm", 0, "VMSAVE is AMD SVM's: the guest's CPU has no svm (an Intel host)" },
	{ "kvm_vmclear", "vmx", 0, "VMCLEAR is Intel VMX's: the guest's CPU has no vmx (an AMD host)" },
	{ "window_race_other_vcpu", NULL, 2,
	  "needs a second online vCPU, this guest has one (L0=bochs: --bochs-cpus 2)" },
};

static inline const struct heki_attack_need *heki_attack_need(const char *id)
{
	for (unsigned int i = 0; i < sizeof(heki_attack_needs) / sizeof(heki_attack_needs[0]); i++)
		if (!strcmp(heki_attack_needs[i].id, id))
			return &heki_attack_needs[i];
	return NULL;
}

static inline const struct heki_attack_row *heki_attack_find(const char *id)
{
	for (unsigned int i = 0; i < HEKI_NR_ATTACKS; i++)
		if (!strcmp(heki_attack_rows[i].id, id))
			return &heki_attack_rows[i];
	return NULL;
}

#endif /* HEKI_INJECT_VERDICT_H */
