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
 * violation counter; here the host's own log must also hold a record of
 * the refused access, logged during the attack (its vm_seq in the range
 * the counter moved through), with the attacking RIP and, for memory, the
 * attacked frame, for every "prevented" or "detected" cell, or the cell
 * counts as a mismatch.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "inject_report.h"
#include "inject_verdict.h"
#include "json.h"

static const char *const mode_names[] = { HEKI_MODE_NAMES };
#define NMODES HEKI_NR_MODES

struct cell {
	bool present;
	char status[16], expected[16], observed[16];
	char reason[256], detail[512];
	long effect, faulted, violations, vm_seq_before;
	bool has_result;
	unsigned long long gfn, rip;
	int matches[8], nmatches;	/* indices into the violation list */
	int part;			/* which run reported it (0: this one) */
	bool mismatch;
	char why[160];
};

struct mode_state {
	char status[16], reason[256];
	bool seen;
};

static int mode_index(const char *m, size_t len)
{
	for (int i = 0; i < NMODES; i++)
		if (strlen(mode_names[i]) == len && !strncmp(mode_names[i], m, len))
			return i;
	return -1;
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
	const char *p = val, *d;
	char tmp[32];

	memset(c, 0, sizeof(*c));
	c->present = true;
	c->violations = -1;
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
	/* The numeric fields come before detail=. */
#define NUM(name, dst, base) do {					\
		const char *v = find_field(p, name);			\
		if (v && (!d || v < d)) {				\
			snprintf(tmp, sizeof(tmp), "%.*s", (int)strcspn(v, " "), v); \
			dst = strtoull(tmp, NULL, base);		\
		}							\
	} while (0)
	NUM("effect", c->effect, 10);
	NUM("faulted", c->faulted, 10);
	NUM("violations", c->violations, 10);
	NUM("vm_seq_before", c->vm_seq_before, 10);
	NUM("gfn", c->gfn, 16);
	NUM("rip", c->rip, 16);
#undef NUM
}

static unsigned long long viol_hex(const char *line, const char *key)
{
	const char *v = find_field(line, key);

	return v ? strtoull(v, NULL, 16) : ~0ull;
}

/*
 * Host records of this cell's access: logged while the attack ran (the
 * VM's count moved from vm_seq_before to vm_seq_before + violations), with
 * the attacking RIP, and for memory the attacked frame; or a guest
 * checker's report logged while the attack ran.
 */
static void match_host(struct cell *c, const char *family, const struct inject_viol *viol, int nv)
{
	bool cr = !strcmp(family, "cr");
	/*
	 * KVM writing guest memory for the guest (PV areas, nested state):
	 * the record names the frame and KVM's path (via=kvm-*), and its RIP
	 * is wherever the vCPU was when KVM wrote.
	 */
	bool kvm = !strcmp(family, "kvm");

	for (int i = 0; i < nv && c->nmatches < 8; i++) {
		const char *kind = find_field(viol[i].line, "kind");
		const char *vs = find_field(viol[i].line, "vm_seq");
		long long seq = vs ? strtoll(vs, NULL, 10) : -1;

		if (viol[i].part != c->part)
			continue;

		if (!kind || (!c->rip && !kvm) || seq <= c->vm_seq_before ||
		    seq > c->vm_seq_before + c->violations)
			continue;
		if (kvm) {
			const char *via = find_field(viol[i].line, "via");

			if (!strncmp(kind, "write", 5) && via && !strncmp(via, "kvm-", 4) &&
			    viol_hex(viol[i].line, "gfn") == c->gfn)
				c->matches[c->nmatches++] = i;
			continue;
		}
		/* A guest checker's report names what it saw, not the attacker's RIP. */
		if (!strncmp(kind, "report", 6)) {
			c->matches[c->nmatches++] = i;
			continue;
		}
		if (cr ? strncmp(kind, "cr", 2) : (strncmp(kind, "write", 5) && strncmp(kind, "exec", 4)))
			continue;
		if (viol_hex(viol[i].line, "rip") != c->rip)
			continue;
		if (!cr && viol_hex(viol[i].line, "gfn") != c->gfn)
			continue;
		c->matches[c->nmatches++] = i;
	}
}

/* A violation line as an object of strings, like summary.json's. */
static void write_violation(struct jw *w, const char *line)
{
	char key[64], val[128];
	const char *p = line;

	jw_obj(w, NULL);
	while (*p) {
		size_t n = strcspn(p, " ");
		const char *eq = memchr(p, '=', n);

		if (eq) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
			snprintf(val, sizeof(val), "%.*s", (int)(n - (eq - p) - 1), eq + 1);
			jw_str(w, key, val);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
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
			fprintf(out, "\n    mode %s: expected %s, observed %s: %s\n", mode_names[mi],
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
			fprintf(out, "      effect: %s; its access %s; the VM's host violation count moved by %ld\n",
				c->effect == 1 ? "took effect" : "none", c->faulted ? "faulted" : "did not fault",
				c->violations);
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
			if (heki_outcome_parse(c->observed) < 0 || heki_outcome_parse(c->expected) < 0) {
				c->mismatch = true;
				snprintf(c->why, sizeof(c->why), "no valid outcome reported ('%s', '%s')",
					 c->expected, c->observed);
			} else if (strcmp(c->expected, c->observed)) {
				c->mismatch = true;
				snprintf(c->why, sizeof(c->why), "expected %s, observed %s",
					 c->expected, c->observed);
			}
			if (!strcmp(c->observed, "prevented") || !strcmp(c->observed, "detected")) {
				match_host(c, heki_attack_rows[a].family, violations, nviolations);
				if (!c->nmatches && !c->mismatch) {
					c->mismatch = true;
					snprintf(c->why, sizeof(c->why),
						 "%s, but the host's log holds no record with rip 0x%llx%s",
						 c->observed, c->rip, !strcmp(heki_attack_rows[a].family, "cr") ? "" :
						 !strcmp(heki_attack_rows[a].family, "kvm") ?
						 " (any, for KVM's writes), via=kvm-* and that frame" : " and that frame");
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
		jw_str(&w, "name", mode_names[mi]);
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
			jw_str(&w, "mode", mode_names[mi]);
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
				jw_bool(&w, "effect", c->effect == 1);
				jw_bool(&w, "host_logged", c->violations > 0);
				jw_int(&w, "violations", c->violations);
				hex(&w, "gfn", c->gfn);
				hex(&w, "rip", c->rip);
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
			fprintf(table, " %-13s", mode_names[mi]);
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
						mode_names[mi], cells[a][mi].why);
	}
	free(cells);
	return ncells;
}
