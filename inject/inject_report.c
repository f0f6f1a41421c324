// SPDX-License-Identifier: GPL-2.0
/*
 * inject.json and the terminal matrix from the attacks suite's records
 * (schema in results/README.md).  A cell record is
 *   attack.<mode>.<id> = "status=S expected=E observed=O <rest>"
 * where <rest> is "reason=<text>" (n/a), the attacker module's result
 * "id=.. effect=.. faulted=.. violations=.. gfn=.. rip=.. detail=<text>",
 * or the suite's words for an attack that did not report.
 *
 * The suite judged each cell from the attack's effect and the VM's
 * violation counter; here the same judgement is made again from the
 * attacker's own figures, and the host's own log must hold the evidence,
 * logged during the attack (its vm_seq in the range the counter moved
 * through), or the cell counts as a mismatch:
 *
 *  - "prevented": a refusal record (any kind but "report": write, exec,
 *    cr0/cr4, patch, ...) with the attacking RIP and the attacked frame,
 *    or for a CR attack the register, the attacking RIP and the bits it
 *    cleared (the record's old value has them, its new value not, and
 *    they are pinned); and the attacker's write must not have landed: a
 *    landed write is "missed" or "detected", never "prevented";
 *  - "detected": a guest checker's report (kind=report) naming what the
 *    attack changed and the object it changed it in (what=fop and the
 *    victim file, what=cred and the attacking task), as the attacker
 *    reported them.
 *
 * Anything else logged in the same range (another task's cred report, a
 * refusal at another frame) is no evidence for this cell.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "inject_report.h"
#include "inject_verdict.h"
#include "heki_violation.h"
#include "json.h"

#define NMODES HEKI_NR_MODES	/* rig/heki_modes.h */

struct cell {
	bool present;
	char status[16], expected[16], observed[16];
	char reason[256], detail[512];
	long faulted, violations, vm_seq_before;
	bool has_result;
	unsigned long long gfn, rip;
	char what[16];			/* what a checker would report: fop, cred */
	unsigned long long object;	/* about which object (file, task) */
	long cr;			/* a CR attack's register, -1 not named */
	bool cr_attack;			/* of the catalogue's family "cr" */
	bool kvm_attack;		/* of the family "kvm": KVM writes for the guest */
	unsigned long long bits;	/* and the bits it clears */
	/* effect (as judged: a cred attack's also in its task), landed, violations */
	struct heki_attack_result res;
	int matches[8], nmatches;	/* indices into the violation list */
	int part;			/* which run reported it (0: this one) */
	bool mismatch;
	char why[512];
};

struct mode_state {
	char status[16], reason[256];
	bool seen;
};

static int mode_index(const char *m, size_t len)
{
	char name[64];

	snprintf(name, sizeof(name), "%.*s", (int)len, m);
	return heki_mode_find(name);
}

/* Copies the value of the token "key=value" at *p; advances past it. */
static bool token(const char **p, const char *key, char *out, size_t len)
{
	size_t k = strlen(key), n;

	if (strncmp(*p, key, k) || (*p)[k] != '=')
		return false;
	*p += k + 1;
	n = strcspn(*p, " ");
	snprintf(out, len, "%.*s", (int)n, *p);
	*p += n;
	while (**p == ' ')
		(*p)++;
	return true;
}

static const char *find_field(const char *s, const char *key)
{
	size_t k = strlen(key);

	for (const char *p = s; (p = strstr(p, key)); p += k)
		if ((p == s || p[-1] == ' ') && p[k] == '=')
			return p + k + 1;
	return NULL;
}

static void parse_cell(const char *val, struct cell *c)
{
	const char *p = val, *d, *w;

	memset(c, 0, sizeof(*c));
	c->present = true;
	c->violations = -1;
	c->cr = -1;
	token(&p, "status", c->status, sizeof(c->status));
	token(&p, "expected", c->expected, sizeof(c->expected));
	token(&p, "observed", c->observed, sizeof(c->observed));
	if (!strncmp(p, "reason=", 7)) {
		snprintf(c->reason, sizeof(c->reason), "%s", p + 7);
		return;
	}
	if (strncmp(p, "id=", 3)) {
		snprintf(c->detail, sizeof(c->detail), "%s", p);
		return;
	}
	c->has_result = true;
	d = find_field(p, "detail");
	snprintf(c->detail, sizeof(c->detail), "%s", d ? d : "");
	/* The other fields come before detail= (inject_verdict.h). */
	heki_result_parse(p, &c->res);
	c->faulted = heki_result_num(p, "faulted", 0);
	c->violations = heki_result_num(p, "violations", -1);
	c->vm_seq_before = heki_result_num(p, "vm_seq_before", 0);
	c->gfn = heki_result_num(p, "gfn", 0);
	c->rip = heki_result_num(p, "rip", 0);
	w = heki_result_field(p, "what");
	if (w)
		snprintf(c->what, sizeof(c->what), "%.*s", (int)strcspn(w, " "), w);
	c->object = heki_result_num(p, "object", 0);
	if (heki_result_field(p, "cr"))
		c->cr = heki_result_num(p, "cr", -1);
	c->bits = heki_result_num(p, "bits", 0);
}

/*
 * Is @line, logged during the attack, evidence for cell @c (its observed
 * outcome)?  NULL if it is, else why not, in words for the mismatch.
 */
static const char *evidence_mismatch(const struct cell *c, const char *line)
{
	bool report = heki_viol_is(line, HEKI_VKEY(kind), "report");
	char kind[24];

	if (!strcmp(c->observed, "detected")) {
		if (!report)
			return "a refusal, not a checker's report";
		if (!c->what[0])
			return "the attacker named no object a checker would report";
		if (!heki_viol_is(line, HEKI_VKEY(what), c->what))
			return "a report about something else";
		if (heki_viol_hex(line, HEKI_VKEY(object)) != c->object)
			return "a report about another object";
		return NULL;
	}
	if (report)
		return "a checker's report, not a refusal";
	/*
	 * KVM writing guest memory for the guest (PV areas, nested state):
	 * the record names KVM's path (via=kvm-*) and the frame; its RIP is
	 * wherever the vCPU was when KVM wrote.
	 */
	if (c->kvm_attack) {
		if (!heki_viol_is(line, HEKI_VKEY(kind), "write"))
			return "not a refused write";
		if (strncmp(heki_viol_find(line, HEKI_VKEY(via)) ?: "", "kvm-", 4))
			return "not a write KVM made (via=kvm-*)";
		return heki_viol_hex(line, HEKI_VKEY(gfn)) == c->gfn ? NULL : "another frame";
	}
	if (heki_viol_hex(line, HEKI_VKEY(rip)) != c->rip)
		return "another RIP";
	if (c->cr_attack) {
		unsigned long long old = heki_viol_hex(line, HEKI_VKEY(old)), new = heki_viol_hex(line, HEKI_VKEY(new));
		unsigned long long pinned = heki_viol_hex(line, HEKI_VKEY(pinned));

		if (c->cr < 0 || !c->bits)
			return "the attacker named no register and bits";
		snprintf(kind, sizeof(kind), "cr%ld", c->cr);
		if (!heki_viol_is(line, HEKI_VKEY(kind), kind))
			return "another register";
		if ((old & c->bits) != c->bits || (new & c->bits) || (pinned & c->bits) != c->bits)
			return "other bits";
		return NULL;
	}
	if (heki_viol_hex(line, HEKI_VKEY(gfn)) != c->gfn)
		return "another frame";
	return NULL;
}

/*
 * Host records of this cell's access: logged while the attack ran (the
 * VM's count moved from vm_seq_before to vm_seq_before + violations) and
 * evidence for its outcome (evidence_mismatch()).  Without one, @why says
 * what the range held instead.
 */
static void match_host(struct cell *c, const struct inject_viol *viol, int nv,
		       char *why, size_t len)
{
	const char *first_why = NULL, *first = NULL;
	int inrange = 0;

	for (int i = 0; i < nv && c->nmatches < 8; i++) {
		long long seq = heki_viol_num(viol[i].line, HEKI_VKEY(vm_seq), -1);
		const char *no;

		if (viol[i].part != c->part || !heki_viol_find(viol[i].line, HEKI_VKEY(kind)))
			continue;
		if (seq <= c->vm_seq_before || seq > c->vm_seq_before + c->violations)
			continue;
		inrange++;
		no = evidence_mismatch(c, viol[i].line);
		if (!no) {
			c->matches[c->nmatches++] = i;
		} else if (!first) {
			first = viol[i].line;
			first_why = no;
		}
	}
	if (c->nmatches)
		return;
	if (!inrange) {
		snprintf(why, len, "the host's log holds no record with vm_seq %ld..%ld",
			 c->vm_seq_before + 1, c->vm_seq_before + c->violations);
		return;
	}
	/* The record from its kind on: what it is about, without the bookkeeping. */
	if (strstr(first, "kind="))
		first = strstr(first, "kind=");
	snprintf(why, len, "%d host record(s) logged during the attack, none its evidence: %s (%s)",
		 inrange, first_why, first);
}

/* What a cell's outcome needs from the host's log, in words. */
static void wanted(const struct cell *c, char *out, size_t len)
{
	if (!strcmp(c->observed, "detected"))
		snprintf(out, len, "a checker's report what=%s object=0x%llx",
			 c->what[0] ? c->what : "?", c->object);
	else if (c->cr_attack && c->cr < 0)
		snprintf(out, len, "a refusal of the attacked register's bits, which the attacker did not name");
	else if (c->cr_attack)
		snprintf(out, len, "a refusal of cr%ld clearing 0x%llx at rip 0x%llx",
			 c->cr, c->bits, c->rip);
	else if (c->kvm_attack)
		snprintf(out, len, "a refused KVM write (via=kvm-*) of gfn 0x%llx", c->gfn);
	else
		snprintf(out, len, "a refusal at rip 0x%llx, gfn 0x%llx", c->rip, c->gfn);
}

/* Marks @c a mismatch and adds a reason to its why ("; " between reasons). */
static void __attribute__((format(printf, 2, 3))) add_why(struct cell *c, const char *fmt, ...)
{
	size_t n = strlen(c->why);
	va_list ap;

	c->mismatch = true;
	if (n && n + 2 < sizeof(c->why)) {
		memcpy(c->why + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(c->why + n, sizeof(c->why) - n, fmt, ap);
	va_end(ap);
}

/*
 * The suite's verdict again, from the attacker's own figures: a cell the
 * suite called "prevented" whose write landed, or any other disagreement
 * (a stale suite, a damaged record), is a mismatch.
 */
static void judge_again(struct cell *c)
{
	enum heki_observed o;

	if (!strcmp(c->observed, "prevented") && (c->res.effect == 1 || c->res.landed == 1)) {
		add_why(c, "prevented, but the attack %s (effect=%d landed=%d): a landed write is missed or detected, never prevented",
			c->res.effect == 1 ? "took effect" : "read its write back",
			c->res.effect, c->res.landed);
		return;
	}
	if (strcmp(c->status, "ran"))
		return;
	o = heki_observe(&c->res);
	if (strcmp(heki_observed_names[o], c->observed))
		add_why(c, "the suite observed %s, the attacker's figures (effect=%d landed=%d violations=%ld) make it %s",
			c->observed, c->res.effect, c->res.landed, c->res.violations,
			heki_observed_names[o]);
}

/* A violation line as an object of strings, like summary.json's. */
static void write_violation(struct jw *w, const char *line)
{
	char key[64], val[1024];
	const char *p = line;

	jw_obj(w, NULL);
	while (heki_viol_next(&p, key, sizeof(key), val, sizeof(val)))
		jw_str(w, key, val);
	jw_end(w);
}

/* Did attack @a report in any mode (else it was not selected)? */
static bool attack_present(struct cell (*cells)[NMODES], size_t a)
{
	for (int mi = 0; mi < NMODES; mi++)
		if (cells[a][mi].present)
			return true;
	return false;
}

static void hex(struct jw *w, const char *key, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%llx", v);
	jw_str(w, key, buf);
}

/* One attack told in words (inject/run): what was done, what the host saw, the verdict. */
static void print_account(FILE *out, struct cell (*cells)[NMODES], const struct inject_viol *viol)
{
	for (size_t a = 0; a < HEKI_NR_ATTACKS; a++) {
		const struct heki_attack_row *row = &heki_attack_rows[a];

		if (!attack_present(cells, a))
			continue;
		fprintf(out, "\n  attack %s (family %s)\n    %s\n    primitive: %s; judged by: %s\n",
			row->id, row->family, row->description, row->primitive, row->judged_by);
		for (int mi = 0; mi < NMODES; mi++) {
			const struct cell *c = &cells[a][mi];

			if (!c->present)
				continue;
			fprintf(out, "\n    mode %s: expected %s, observed %s: %s\n", heki_modes[mi].name,
				c->expected, c->observed, c->mismatch ? "MISMATCH" : "as expected");
			if (c->mismatch)
				fprintf(out, "      %s\n", c->why);
			if (c->reason[0])
				fprintf(out, "      %s\n", c->reason);
			if (!c->has_result) {
				if (c->detail[0])
					fprintf(out, "      %s\n", c->detail);
				continue;
			}
			fprintf(out, "      the attacker: %s\n", c->detail);
			fprintf(out, "      effect: %s; its write %s; its access %s; the VM's host violation count moved by %ld\n",
				c->res.effect == 1 ? "took effect" : "none",
				c->res.landed < 0 ? "not reported apart" :
				c->res.landed ? "landed" : "did not land",
				c->faulted ? "faulted" : "did not fault", c->violations);
			for (int i = 0; i < c->nmatches; i++)
				fprintf(out, "      host log: %s\n", viol[c->matches[i]].line);
			if (!strcmp(c->expected, "missed") && row->why && mi > 0)
				fprintf(out, "      why a miss is expected here: %s\n", row->why);
		}
	}
	fprintf(out, "\n");
}

int inject_report(const char *dir, const struct inject_env *env,
		  const struct inject_kv *kvs, int n,
		  const struct inject_viol *violations, int nviolations,
		  FILE *table, int *mismatches)
{
	struct cell (*cells)[NMODES] = calloc(HEKI_NR_ATTACKS, sizeof(*cells));
	struct mode_state modes[NMODES] = {};
	char path[PATH_MAX];
	int ncells = 0, nmis = 0, nattacks = 0;
	struct jw w;
	FILE *f;

	*mismatches = 0;
	if (!cells)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *k = kvs[i].key, *v = kvs[i].val;

		if (!strcmp(k, "inject.mode")) {
			size_t len = strcspn(v, " ");
			int mi = mode_index(v, len);
			const char *p = v + len;

			if (mi < 0)
				continue;
			while (*p == ' ')
				p++;
			modes[mi].seen = true;
			token(&p, "status", modes[mi].status, sizeof(modes[mi].status));
			if (!strncmp(p, "reason=", 7))
				snprintf(modes[mi].reason, sizeof(modes[mi].reason), "%s", p + 7);
		} else if (!strncmp(k, "attack.", 7)) {
			const char *m = k + 7, *dot = strchr(m, '.');
			const struct heki_attack_row *row;
			int mi;

			if (!dot || (mi = mode_index(m, dot - m)) < 0 || !(row = heki_attack_find(dot + 1)))
				continue;
			parse_cell(v, &cells[row - heki_attack_rows][mi]);
			cells[row - heki_attack_rows][mi].part = kvs[i].part;
		}
	}

	/* Judge each cell again, with the host's log as the second witness. */
	for (size_t a = 0; a < HEKI_NR_ATTACKS; a++)
		for (int mi = 0; mi < NMODES; mi++) {
			struct cell *c = &cells[a][mi];

			if (!c->present)
				continue;
			ncells++;
			/* Every reason is told, the difference first. */
			if (heki_outcome_parse(c->observed) < 0 || heki_outcome_parse(c->expected) < 0)
				add_why(c, "no valid outcome reported ('%s', '%s')",
					c->expected, c->observed);
			else if (strcmp(c->expected, c->observed))
				add_why(c, "expected %s, observed %s", c->expected, c->observed);
			if (c->has_result)
				judge_again(c);
			if (!strcmp(c->observed, "prevented") || !strcmp(c->observed, "detected")) {
				char none[320] = "", want[128];

				c->cr_attack = !strcmp(heki_attack_rows[a].family, "cr") || c->cr >= 0;
				c->kvm_attack = !strcmp(heki_attack_rows[a].family, "kvm");
				match_host(c, violations, nviolations, none, sizeof(none));
				if (!c->nmatches) {
					wanted(c, want, sizeof(want));
					add_why(c, "%s needs %s; %s", c->observed, want, none);
				}
			}
			nmis += c->mismatch;
		}
	*mismatches = nmis;

	snprintf(path, sizeof(path), "%s/inject.json", dir);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		free(cells);
		return -1;
	}
	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_str(&w, "schema", "heki-inject");
	jw_int(&w, "schema_version", INJECT_SCHEMA_VERSION);
	jw_run_env(&w, &env->run);
	jw_arr(&w, "modes");
	for (int mi = 0; mi < NMODES; mi++) {
		if (!modes[mi].seen)
			continue;
		jw_obj(&w, NULL);
		jw_str(&w, "name", heki_modes[mi].name);
		jw_str(&w, "status", modes[mi].status);
		if (modes[mi].reason[0])
			jw_str(&w, "reason", modes[mi].reason);
		jw_end(&w);
	}
	jw_end(&w);
	jw_arr(&w, "attacks");
	for (size_t a = 0; a < HEKI_NR_ATTACKS; a++) {
		const struct heki_attack_row *row = &heki_attack_rows[a];

		if (!attack_present(cells, a))
			continue;
		nattacks++;
		jw_obj(&w, NULL);
		jw_str(&w, "id", row->id);
		jw_str(&w, "family", row->family);
		jw_str(&w, "description", row->description);
		jw_str(&w, "primitive", row->primitive);
		jw_str(&w, "judged_by", row->judged_by);
		jw_arr(&w, "results");
		for (int mi = 0; mi < NMODES; mi++) {
			const struct cell *c = &cells[a][mi];

			if (!c->present)
				continue;
			jw_obj(&w, NULL);
			jw_str(&w, "mode", heki_modes[mi].name);
			jw_str(&w, "expected", c->expected);
			jw_str(&w, "observed", c->observed);
			jw_bool(&w, "match", !c->mismatch);
			if (c->mismatch)
				jw_str(&w, "mismatch", c->why);
			if (c->reason[0])
				jw_str(&w, "reason", c->reason);
			else if (!strcmp(c->expected, "missed") && row->why && mi > 0)
				jw_str(&w, "reason", row->why);
			jw_str(&w, "status", c->status);
			if (c->part > 0 && c->part < INJECT_MAX_PARTS && env->part_run[c->part])
				jw_str(&w, "continued_in", env->part_run[c->part]);
			if (c->has_result) {
				jw_bool(&w, "effect", c->res.effect == 1);
				if (c->res.landed >= 0)
					jw_bool(&w, "landed", c->res.landed == 1);
				jw_bool(&w, "host_logged", c->violations > 0);
				jw_int(&w, "violations", c->violations);
				hex(&w, "gfn", c->gfn);
				hex(&w, "rip", c->rip);
				if (c->what[0]) {
					jw_str(&w, "what", c->what);
					hex(&w, "object", c->object);
				}
				if (c->cr >= 0) {
					jw_int(&w, "cr", c->cr);
					hex(&w, "bits", c->bits);
				}
			}
			if (c->detail[0])
				jw_str(&w, "detail", c->detail);
			jw_arr(&w, "host_records");
			for (int i = 0; i < c->nmatches; i++)
				write_violation(&w, violations[c->matches[i]].line);
			jw_end(&w);
			jw_end(&w);
		}
		jw_end(&w);
		jw_end(&w);
	}
	jw_end(&w);
	jw_int(&w, "cells", ncells);
	jw_int(&w, "mismatches", nmis);
	jw_end(&w);
	fputc('\n', f);
	if (fclose(f)) {
		perror(path);
		free(cells);
		return -1;
	}

	if (table && nattacks == 1)
		print_account(table, cells, violations);
	if (table) {
		fprintf(table, "  %-26s", "attack");
		for (int mi = 0; mi < NMODES; mi++)
			fprintf(table, " %-13s", heki_modes[mi].name);
		fprintf(table, "\n");
		for (size_t a = 0; a < HEKI_NR_ATTACKS; a++) {
			if (!attack_present(cells, a))
				continue;
			fprintf(table, "  %-26s", heki_attack_rows[a].id);
			for (int mi = 0; mi < NMODES; mi++) {
				const struct cell *c = &cells[a][mi];
				char txt[24];

				snprintf(txt, sizeof(txt), "%s%s", c->present ? c->observed : "-",
					 c->mismatch ? "(!)" : "");
				fprintf(table, " %-13s", txt);
			}
			fprintf(table, "\n");
		}
		fprintf(table, "  %d cells, %d expected != observed\n", ncells, nmis);
		for (size_t a = 0; a < HEKI_NR_ATTACKS; a++)
			for (int mi = 0; mi < NMODES; mi++)
				if (cells[a][mi].mismatch)
					fprintf(table, "  MISMATCH %s/%s: %s\n", heki_attack_rows[a].id,
						heki_modes[mi].name, cells[a][mi].why);
	}
	free(cells);
	return ncells;
}
