// SPDX-License-Identifier: GPL-2.0
/*
 * Trends over runs from results/history.jsonl: JSON Lines, one object per
 * run (results/README.md: "bench": { benchmark: { mode: median } }, bench
 * runs only).  The reader is deliberately forgiving about where a run keeps
 * its medians, so that a history written before or after a schema change
 * still draws: a median of benchmark B in mode M is found as B: { M: ... }
 * (the schema), M: { B: ... }, a member "B/M" (or "B.M", "B:M"), or a row
 * object with "benchmark": B, "mode": M, "median"; a value is a number or
 * an object with "median".  Lines that do not parse are counted and named,
 * never fatal.  Only runs with a headline median go on the axis: smoke and
 * attack runs are in the history too.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heki_plot.h"

/* Rows whose cost is the protection's own: a patch, a call, a mapping. */
static const char *const headline[][2] = {
	{ "text_poke_5", "off" },
	{ "text_poke_5", "hypercall" },
	{ "hypercall_noop", "hypercall" },
	{ "static_key_flip", "hypercall" },
	{ "vmap_1", "hypercall" },
	{ "set_memory_ro_rw", "hypercall" },
};
#define NHEAD (int)(sizeof(headline) / sizeof(headline[0]))

static const struct json *member(const struct json *j, const char *key)
{
	if (!j || j->type != JSON_OBJ)
		return NULL;
	for (const struct json *c = j->child; c; c = c->next)
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}

/* The first member named key of the given type, depth first. */
static const struct json *find_key(const struct json *j, const char *key,
				   enum json_type type)
{
	for (const struct json *c = j ? j->child : NULL; c; c = c->next) {
		const struct json *f;

		if (j->type == JSON_OBJ && !strcmp(c->key, key) && c->type == type)
			return c;
		if (c->type != JSON_OBJ && c->type != JSON_ARR)
			continue;
		f = find_key(c, key, type);
		if (f)
			return f;
	}
	return NULL;
}

static const char *find_str(const struct json *j, const char *key)
{
	const struct json *v = member(j, key);

	if (v && v->type == JSON_STR)
		return v->str;
	v = find_key(j, key, JSON_STR);
	return v ? v->str : NULL;
}

static double median_of(const struct json *v)
{
	if (!v)
		return NAN;
	if (v->type == JSON_NUM)
		return v->num;
	if (v->type == JSON_OBJ)
		return jnum(v, "median");
	return NAN;
}

static bool is_row(const struct json *c, const char *bench, const char *mode)
{
	const char *b = jstr(c, "benchmark") ?: jstr(c, "bench");
	const char *m = jstr(c, "mode");

	return b && m && !strcmp(b, bench) && !strcmp(m, mode);
}

static double member_median(const struct json *c, const char *bench,
			    const char *mode)
{
	static const char *const seps = "/.:";
	char k[256];

	for (const char *s = seps; *s; s++) {
		snprintf(k, sizeof(k), "%s%c%s", bench, *s, mode);
		if (!strcmp(c->key, k))
			return median_of(c);
	}
	if (c->type == JSON_OBJ && !strcmp(c->key, bench))
		return median_of(member(c, mode));
	if (c->type == JSON_OBJ && !strcmp(c->key, mode))
		return median_of(member(c, bench));
	return NAN;
}

static double hist_median(const struct json *j, const char *bench,
			  const char *mode)
{
	for (const struct json *c = j->child; c; c = c->next) {
		double v = NAN;

		if (j->type == JSON_OBJ)
			v = member_median(c, bench, mode);
		if (!isfinite(v) && c->type == JSON_OBJ && is_row(c, bench, mode))
			v = jnum(c, "median");
		if (!isfinite(v) && (c->type == JSON_OBJ || c->type == JSON_ARR))
			v = hist_median(c, bench, mode);
		if (isfinite(v))
			return v;
	}
	return NAN;
}

static int hist_icount(const struct json *j)
{
	const struct json *v = find_key(j, "icount", JSON_BOOL);

	if (v)
		return v->boolean;
	v = find_key(j, "icount", JSON_NUM);
	return v ? v->num != 0 : -1;
}

static void hist_keep(struct run *r, struct json *j)
{
	struct hist_run *h;

	/* Only the newest runs fit on an axis. */
	if (r->nhist == MAX_HIST_RUNS) {
		json_free(r->hist[0].j);
		memmove(r->hist, r->hist + 1, sizeof(r->hist[0]) * (MAX_HIST_RUNS - 1));
		r->nhist--;
	}
	h = &r->hist[r->nhist++];
	h->j = j;
	h->id = find_str(j, "run_id") ?: find_str(j, "run") ?: find_str(j, "id") ?: "?";
	h->status = find_str(j, "status");
	h->accel = find_str(j, "l0_accel");
	h->git_rev = find_str(j, "git_rev");
	h->icount = hist_icount(j);
}

/* Returns the number of lines that were not JSON objects. */
static int hist_read(struct run *r, FILE *f, char *first_bad, size_t len)
{
	char *line = NULL, err[256];
	size_t cap = 0;
	int lineno = 0, bad = 0;

	while (getline(&line, &cap, f) > 0) {
		struct json *j;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (strspn(line, " \t") == strlen(line))
			continue;
		j = json_parse(line, err, sizeof(err));
		if (j && j->type == JSON_OBJ) {
			hist_keep(r, j);
			continue;
		}
		if (!bad++)
			snprintf(first_bad, len, "line %d: %s", lineno,
				 j ? "not an object" : err);
		json_free(j);
	}
	free(line);
	return bad;
}

static bool has_headline(const struct json *j)
{
	for (int s = 0; s < NHEAD; s++)
		if (isfinite(hist_median(j, headline[s][0], headline[s][1])))
			return true;
	return false;
}

/*
 * One rig per axis: TCG wall-clock, icount and hardware times measure
 * different things, so only runs of this run's rig (L0 accelerator and
 * icount) are drawn; when this run's rig is unknown, the newest drawable
 * run's.
 */
static const char *ref_accel;
static int ref_icount;

static bool same_rig(const struct hist_run *h)
{
	return h->accel && ref_accel && !strcmp(h->accel, ref_accel) &&
	       (h->icount == 1) == (ref_icount == 1);
}

static bool on_axis(const struct hist_run *h)
{
	return same_rig(h) && has_headline(h->j);
}

/* Returns how many runs with medians are left out for their rig. */
static int pick_rig(const struct run *r)
{
	int other = 0;

	ref_accel = r->accel;
	ref_icount = r->icount;
	for (int i = r->nhist - 1; i >= 0 && !ref_accel; i--)
		if (has_headline(r->hist[i].j)) {
			ref_accel = r->hist[i].accel;
			ref_icount = r->hist[i].icount;
		}
	for (int i = 0; i < r->nhist; i++)
		other += has_headline(r->hist[i].j) && !same_rig(&r->hist[i]);
	return other;
}

/* One unit for the axis when every run drawn recorded the same one. */
static void hist_unit(struct run *r)
{
	const char *unit = NULL;
	bool mixed = false;

	for (int i = 0; i < r->nhist; i++) {
		const char *u = find_str(r->hist[i].j, "time_unit");

		if (!on_axis(&r->hist[i]))
			continue;
		if (!u || (unit && strcmp(u, unit)))
			mixed = true;
		unit = u;
	}
	snprintf(r->hist_unit, sizeof(r->hist_unit), "median per operation in %s",
		 unit && !mixed ? unit : "each run's own time unit (see its bench.json)");
}

/* Which headline rows any run has; their names go to gnuplot as words. */
static int pick_series(const struct run *r, int *cols, char *words, size_t len)
{
	int n = 0;
	size_t w = 0;

	words[0] = '\0';
	for (int s = 0; s < NHEAD; s++) {
		for (int i = 0; i < r->nhist; i++) {
			if (!on_axis(&r->hist[i]) ||
			    !isfinite(hist_median(r->hist[i].j, headline[s][0],
						  headline[s][1])))
				continue;
			cols[n++] = s;
			w += snprintf(words + w, len > w ? len - w : 0, "%s%s/%s",
				      w ? " " : "", headline[s][0], headline[s][1]);
			break;
		}
	}
	return n;
}

/* Ids are <YYYYmmdd-HHMMSS>-<suite>: the stamp's length, or the whole id. */
static int run_id_stamp(const char *id)
{
	for (int i = 0; i < 15; i++)
		if (i == 8 ? id[i] != '-' : !isdigit((unsigned char)id[i]))
			return (int)strlen(id);
	return 15;
}

/* Returns the number of runs written; *lo the smallest median. */
static int write_trends(FILE *f, const struct run *r, const int *cols, int n,
			double *lo)
{
	int x = 0;

	*lo = NAN;
	fputs("# index run", f);
	for (int s = 0; s < n; s++)
		fprintf(f, " %s/%s", headline[cols[s]][0], headline[cols[s]][1]);
	fputc('\n', f);
	for (int i = 0; i < r->nhist; i++) {
		const struct hist_run *h = &r->hist[i];
		char label[200];

		if (!on_axis(h))
			continue;
		/* The rig is in the title: the id's date and time say which run. */
		snprintf(label, sizeof(label), "%.*s", run_id_stamp(h->id), h->id);
		fprintf(f, "%d", x++);
		data_str(f, label);
		for (int s = 0; s < n; s++) {
			double v = hist_median(h->j, headline[cols[s]][0],
					       headline[cols[s]][1]);

			fmt_num(f, v);
			if (v > 0 && !(v >= *lo))
				*lo = v;
		}
		fputc('\n', f);
	}
	return x;
}

static int hist_load(struct run *r, struct plot *p)
{
	char first_bad[300] = "";
	FILE *f = fopen(r->history, "r");
	int bad;

	if (!f) {
		plot_skip(r, p, "history file %s cannot be read", r->history);
		return -1;
	}
	bad = hist_read(r, f, first_bad, sizeof(first_bad));
	fclose(f);
	if (bad)
		run_note(r, "%s: %d line%s skipped (%s)", r->history, bad,
			 bad == 1 ? "" : "s", first_bad);
	if (!r->nhist) {
		plot_skip(r, p, "history file %s has no runs", r->history);
		return -1;
	}
	return 0;
}

void history_plot(struct run *r)
{
	struct plot *p = &r->plots[PLOT_TRENDS];
	struct gpvars v = { 0 };
	char words[512], extra[160];
	int cols[NHEAD], n, nruns, other;
	double lo;
	FILE *f;

	if (!r->history) {
		plot_skip(r, p, "no history file given (--history)");
		return;
	}
	if (hist_load(r, p))
		return;
	other = pick_rig(r);
	hist_unit(r);
	n = pick_series(r, cols, words, sizeof(words));
	if (!n) {
		plot_skip(r, p, "no run of this rig (L0 %s%s) in %s has a median of "
			  "the headline rows (text_poke_5, hypercall_noop, ...)",
			  ref_accel ?: "unknown", ref_icount == 1 ? ", icount" : "",
			  r->history);
		return;
	}
	f = plot_data_open(r, p);
	if (!f)
		return;
	nruns = write_trends(f, r, cols, n, &lo);
	if (plot_data_close(r, p, f))
		return;
	gp_str(&v, "series", words);
	gp_lines(&v, "ylabel", r->hist_unit, 60);
	snprintf(extra, sizeof(extra), "runs of L0 %s%s only%s%s",
		 ref_accel, ref_icount == 1 ? ", icount" : "",
		 other ? ", other rigs left out" : "",
		 !strcmp(ref_accel, "tcg") && !r->tcg ? ": TCG, not hardware figures" : "");
	gp_str(&v, "extra", extra);
	gp_num(&v, "ymin", isfinite(lo) ? pow(10, floor(log10(lo))) : 1);
	gp_num(&v, "nruns", nruns);
	gp_run(r, p, &v);
}

void history_free(struct run *r)
{
	for (int i = 0; i < r->nhist; i++)
		json_free(r->hist[i].j);
	r->nhist = 0;
}
