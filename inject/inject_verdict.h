/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From what an attack did to its verdict (DESIGN §4), shared by the L2 suite
 * (inject/inject_suite.c, whose checks fail the run) and the report
 * (inject/inject_report.c, which also matches the host's log).  Pure C.
 */
#ifndef HEKI_INJECT_VERDICT_H
#define HEKI_INJECT_VERDICT_H

#include <stdbool.h>
#include <string.h>

#include "attacks.h"

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
	long violations;	/* host violation counter delta; -1 unknown */
};

static inline enum heki_observed heki_observe(const struct heki_attack_result *r)
{
	bool logged = r->violations > 0;

	if (r->crashed)
		return OBS_CRASHED;
	if (!r->ran)
		return OBS_NOT_RUN;
	if (r->effect < 0)
		return OBS_ERROR;
	if (r->effect)
		return logged ? OBS_DETECTED : OBS_MISSED;
	return logged ? OBS_PREVENTED : OBS_INEFFECTIVE;
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
	enum heki_outcome expected[5];	/* in the order of HEKI_MODE_NAMES */
};

#define HEKI_MODE_NAMES "off", "hypercall", "hypercall+ext", "view", "vmfunc"
#define HEKI_NR_MODES 5

static const struct heki_attack_row heki_attack_rows[] = {
#define HEKI_ATTACK_ROW(id, fam, prim, judge, e0, e1, e2, e3, e4, desc, why) \
	{ #id, fam, prim, judge, desc, why, { e0, e1, e2, e3, e4 } },
	HEKI_ATTACKS(HEKI_ATTACK_ROW)
#undef HEKI_ATTACK_ROW
};

#define HEKI_NR_ATTACKS (sizeof(heki_attack_rows) / sizeof(heki_attack_rows[0]))

static inline const struct heki_attack_row *heki_attack_find(const char *id)
{
	for (unsigned int i = 0; i < HEKI_NR_ATTACKS; i++)
		if (!strcmp(heki_attack_rows[i].id, id))
			return &heki_attack_rows[i];
	return NULL;
}

#endif /* HEKI_INJECT_VERDICT_H */
