// SPDX-License-Identifier: GPL-2.0
/*
 * heki-costmodel's logic: see costmodel_lib.h; the model is explained in
 * bench/README.md and the JSON in results/README.md.
 *
 * The projection of a row in a mode is the row's median in mode off (the
 * work the operation does unprotected) plus, for each transition, the
 * number per operation that the mode adds over off times its cost.  Off's
 * own transitions (hypercall_noop makes its hypercall in every mode) are
 * already in off's median, hence "above off".  A term whose cost or count
 * is unknown is never taken as zero: the projection is then incomplete,
 * says which input it lacks, and keeps only a lower bound.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "costmodel_lib.h"
#include "json.h"
#include "heki_modes.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT(i)		(1u << (i))
/* A bench.json is tens of kilobytes; anything this big is not one. */
#define CM_MAX_FILE	(16u << 20)

const char *const cm_input_name[CM_NINPUTS] = {
	[CM_HYPERCALL] = "hypercall",
	[CM_VIEW_SWITCH] = "view_switch",
	[CM_VMFUNC] = "vmfunc",
	[CM_ZAP] = "zap",
	[CM_TLB_FLUSH] = "tlb_flush",
};

const char *const cm_count_field[CM_NCOUNTS] = {
	[CM_N_HYPERCALLS] = "hypercalls_per_op",
	[CM_N_ZAPS] = "zaps_per_op",
	[CM_N_TLB] = "tlb_flushes_per_op",
	[CM_N_WINDOWS] = "windows_per_op",
	[CM_N_EXITS] = "exits_per_op",
};

/* The view modes' mapping, printed with every projection that uses it. */
static const char *const mapping_text =
	"view and vmfunc are projected from the hypercall row's counts "
	"(DESIGN section 3: view = 2 exits per text_poke and no entry rewrites, "
	"vmfunc = 0 exits): each write window's two hypercalls become two "
	"view-switch hypercalls (view) or two VMFUNCs without an exit (vmfunc), "
	"and its zap, one per window, goes with its share of the TLB flushes; "
	"the other hypercalls and zaps (vmap, set_memory_*) stay";

static const char *const unmodelled_text =
	"not modelled: exits other than hypercalls (interrupts, IPIs, the "
	"refault after a zap: other_exits_per_op in --json), and a handler's "
	"work beyond a no-op hypercall's";

/* ------------------------------------------------------------ helpers */

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Appends one line to @err, as far as it fits. */
static void __attribute__((format(printf, 3, 4)))
adderr(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strlen(err);
	va_list ap;

	if (used + 1 >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
	used = strlen(err);
	if (used + 1 < errlen)
		strcpy(err + used, "\n");
}

/*
 * Names end up in a table and in messages: printable, no spaces, and
 * short enough for their field, or the file is not one of ours.
 */
static bool good_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n >= max)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s) || *s == '"')
			return false;
	return true;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char *buf;
	long len;

	if (f && (fstat(fileno(f), &st) || !S_ISREG(st.st_mode))) {
		seterr(err, errlen, "%s: not a regular file", path);
		fclose(f);
		return NULL;
	}
	if (!f) {
		seterr(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		seterr(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	if ((unsigned long)len > CM_MAX_FILE) {
		seterr(err, errlen, "%s: %ld bytes: too big to be one", path, len);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		seterr(err, errlen, "%s: cannot read: %s", path,
		       buf ? "short read" : "out of memory");
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[len] = '\0';
	fclose(f);
	if (strlen(buf) != (size_t)len) {
		seterr(err, errlen, "%s: contains a NUL byte: not a text file", path);
		free(buf);
		return NULL;
	}
	return buf;
}

static const struct cm_row *find_row(const struct cm_bench *b, const char *bench,
				     const char *mode)
{
	for (int i = 0; i < b->nrows; i++)
		if (!strcmp(b->rows[i].bench, bench) && !strcmp(b->rows[i].mode, mode))
			return &b->rows[i];
	return NULL;
}

static bool is_measured(const struct cm_row *r)
{
	return r && !strcmp(r->status, "measured");
}

/* How @mode pokes (heki_modes.h); a mode the table lacks, by hypercall. */
static const char *transport(const char *mode)
{
	int m = heki_mode_find(mode);

	return m < 0 ? "hypercall" : heki_modes[m].transport;
}

/* Projected from the hypercall row (mapping_text): the view transports. */
static bool is_view_mode(const char *mode)
{
	return strcmp(transport(mode), "hypercall") != 0;
}

enum cm_input cm_principal(const char *mode)
{
	if (!strcmp(transport(mode), "view"))
		return CM_VIEW_SWITCH;
	if (!strcmp(transport(mode), "vmfunc"))
		return CM_VMFUNC;
	return CM_HYPERCALL;
}

/* ---------------------------------------------------------- bench.json */

/* An optional string member into @dst; a wrong type is an error. */
static int opt_str(const struct json *o, const char *key, char *dst, size_t n,
		   const char *def, const char *name, const char *where,
		   char *err, size_t errlen)
{
	const struct json *v = json_get(o, key);

	if (!v || v->type == JSON_NULL) {
		snprintf(dst, n, "%s", def);
		return 0;
	}
	if (v->type != JSON_STR) {
		seterr(err, errlen, "%s: %s%s: expected a string, got %s", name, where,
		       key, json_type_name(v->type));
		return -1;
	}
	snprintf(dst, n, "%s", v->str);
	return 0;
}

static int parse_counts(const struct json *o, struct cm_row *r, const char *name,
			int idx, char *err, size_t errlen)
{
	for (int k = 0; k < CM_NCOUNTS; k++) {
		const struct json *v = json_get(o, cm_count_field[k]);

		if (!v || v->type == JSON_NULL)
			continue;
		if (v->type != JSON_NUM || v->num < 0 || !isfinite(v->num)) {
			seterr(err, errlen, "%s: rows[%d].%s: expected a number >= 0, got %s",
			       name, idx, cm_count_field[k],
			       v->type == JSON_NUM ? "a negative number" : json_type_name(v->type));
			return -1;
		}
		r->n[k] = v->num;
		r->has[k] = true;
	}
	return 0;
}

static int parse_row(const struct json *o, struct cm_row *r, const char *name,
		     int idx, char *err, size_t errlen)
{
	static const struct { const char *key; size_t off, size; } names[] = {
		{ "benchmark", offsetof(struct cm_row, bench), sizeof(r->bench) },
		{ "mode", offsetof(struct cm_row, mode), sizeof(r->mode) },
		{ "status", offsetof(struct cm_row, status), sizeof(r->status) },
	};
	const struct json *v;

	if (o->type != JSON_OBJ) {
		seterr(err, errlen, "%s: rows[%d]: expected an object, got %s", name, idx,
		       json_type_name(o->type));
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *dst = (char *)r + names[i].off;

		v = json_get(o, names[i].key);
		if (!v || v->type != JSON_STR || !good_name(v->str, names[i].size)) {
			seterr(err, errlen, "%s: rows[%d].%s: %s", name, idx, names[i].key,
			       !v ? "missing" : v->type != JSON_STR ? "expected a string" :
			       "not a short name without spaces");
			return -1;
		}
		snprintf(dst, names[i].size, "%s", v->str);
	}
	if (!is_measured(r))
		return 0;
	v = json_get(o, "median");
	if (!v || v->type != JSON_NUM || v->num < 0 || !isfinite(v->num)) {
		seterr(err, errlen, "%s: rows[%d].median: a measured row needs a number >= 0, got %s",
		       name, idx, !v ? "none" : v->type == JSON_NUM ? "a negative number" :
		       json_type_name(v->type));
		return -1;
	}
	r->median = v->num;
	return parse_counts(o, r, name, idx, err, errlen);
}

static int parse_header(const struct json *j, struct cm_bench *b, const char *name,
			char *err, size_t errlen)
{
	const struct json *v = json_get(j, "schema");

	if (!v || v->type != JSON_STR || strcmp(v->str, "heki-bench")) {
		seterr(err, errlen, "%s: schema is %s%s%s, expected \"heki-bench\" (a run's bench.json, from make run SUITE=bench)",
		       name, v && v->type == JSON_STR ? "\"" : "",
		       !v ? "missing" : v->type == JSON_STR ? v->str : json_type_name(v->type),
		       v && v->type == JSON_STR ? "\"" : "");
		return -1;
	}
	v = json_get(j, "schema_version");
	if (!v || v->type != JSON_NUM || v->num != 1) {
		char got[32];

		if (v && v->type == JSON_NUM)
			snprintf(got, sizeof(got), "%g", v->num);
		else
			snprintf(got, sizeof(got), "%s", v ? json_type_name(v->type) : "none");
		seterr(err, errlen, "%s: schema_version: this tool reads version 1, got %s",
		       name, got);
		return -1;
	}
	if (opt_str(j, "run_id", b->run_id, sizeof(b->run_id), "(no run_id)", name, "", err, errlen) ||
	    opt_str(j, "time_unit", b->time_unit, sizeof(b->time_unit), "ns (unit not stated)",
		    name, "", err, errlen) ||
	    opt_str(j, "rig.l0_accel", b->l0_accel, sizeof(b->l0_accel), "unknown", name, "",
		    err, errlen))
		return -1;
	v = json_get(j, "rig.icount");
	b->icount = v && v->type == JSON_BOOL && v->boolean;
	return 0;
}

static int check_rows(const struct cm_bench *b, const char *name, char *err, size_t errlen)
{
	bool base = false;

	for (int i = 0; i < b->nrows; i++) {
		const struct cm_row *r = &b->rows[i];

		if (find_row(b, r->bench, r->mode) != r) {
			seterr(err, errlen, "%s: rows[%d]: %s in mode %s appears twice", name, i,
			       r->bench, r->mode);
			return -1;
		}
		base |= !strcmp(r->mode, "off") && is_measured(r);
	}
	if (!base) {
		seterr(err, errlen, "%s: no measured row in mode off: no base cost to project from",
		       name);
		return -1;
	}
	return 0;
}

int cm_bench_parse(const char *name, const char *text, struct cm_bench *b,
		   char *err, size_t errlen)
{
	char perr[160];
	struct json *j = json_parse(text, perr, sizeof(perr));
	const struct json *rows, *o;
	int n = 0, ret = -1;

	memset(b, 0, sizeof(*b));
	snprintf(b->file, sizeof(b->file), "%s", name);
	if (!j) {
		seterr(err, errlen, "%s: not valid JSON: %s", name, perr);
		return -1;
	}
	if (j->type != JSON_OBJ) {
		seterr(err, errlen, "%s: expected a JSON object, got %s", name,
		       json_type_name(j->type));
		goto out;
	}
	if (parse_header(j, b, name, err, errlen))
		goto out;
	rows = json_get(j, "rows");
	if (!rows || rows->type != JSON_ARR) {
		seterr(err, errlen, "%s: rows: expected an array, got %s", name,
		       rows ? json_type_name(rows->type) : "nothing");
		goto out;
	}
	for (o = rows->child; o; o = o->next)
		n++;
	b->rows = calloc(n ? n : 1, sizeof(*b->rows));
	if (!b->rows) {
		seterr(err, errlen, "%s: out of memory", name);
		goto out;
	}
	for (o = rows->child; o; o = o->next, b->nrows++)
		if (parse_row(o, &b->rows[b->nrows], name, b->nrows, err, errlen))
			goto out;
	ret = check_rows(b, name, err, errlen);
out:
	json_free(j);
	return ret;
}

int cm_bench_load(const char *path, struct cm_bench *b, char *err, size_t errlen)
{
	char file[sizeof(b->file)], *text;
	struct stat st;
	int ret;

	/* A run directory stands for its bench.json. */
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		snprintf(file, sizeof(file), "%s/bench.json", path);
		path = file;
	}
	text = read_file(path, err, errlen);

	if (!text) {
		memset(b, 0, sizeof(*b));
		return -1;
	}
	ret = cm_bench_parse(path, text, b, err, errlen);
	free(text);
	return ret;
}

void cm_bench_free(struct cm_bench *b)
{
	free(b->rows);
	b->rows = NULL;
	b->nrows = 0;
}

/* ------------------------------------------------------------- inputs */

/* How to read a time measured on this rig, for the inputs' sources. */
static const char *rig_note(const struct cm_bench *b)
{
	if (!strcmp(b->l0_accel, "tcg"))
		return b->icount ? "L0 tcg with icount: instruction counts of an emulated machine, not hardware times" :
		       "L0 tcg: emulator figures, not hardware";
	if (!strcmp(b->l0_accel, "kvm"))
		return "L0 kvm: nested, each exit to the host also passes through L0, so several times a bare-metal figure";
	if (!strcmp(b->l0_accel, "none"))
		return "L0 none: this host on bare metal";
	return "L0 unknown: how to read this figure is not recorded";
}

/* The first measured row named @bench, preferring mode @mode. */
static const struct cm_row *measured_row(const struct cm_bench *b, const char *bench,
					 const char *mode)
{
	const struct cm_row *r = find_row(b, bench, mode);

	if (is_measured(r))
		return r;
	for (int i = 0; i < b->nrows; i++)
		if (!strcmp(b->rows[i].bench, bench) && is_measured(&b->rows[i]))
			return &b->rows[i];
	return NULL;
}

/* An input timed by a raw transition row, @per ops of it per sample. */
static void from_row(const struct cm_bench *b, struct cm_cost *c, const char *bench,
		     const char *mode, double per, const char *how)
{
	const struct cm_row *r = measured_row(b, bench, mode);

	memset(c, 0, sizeof(*c));
	if (!r) {
		snprintf(c->source, sizeof(c->source),
			 "unknown: row %s not measured in run %s", bench, b->run_id);
		return;
	}
	c->known = true;
	c->ns = r->median / per;
	snprintf(c->source, sizeof(c->source), "measured in run %s: %s %s in mode %s (%s)",
		 b->run_id, how, bench, r->mode, rig_note(b));
}

void cm_costs_from_bench(const struct cm_bench *b, struct cm_costs *c)
{
	from_row(b, &c->c[CM_HYPERCALL], "hypercall_noop", "hypercall", 1,
		 "median of");
	from_row(b, &c->c[CM_VIEW_SWITCH], "view_switch", "view", 1, "median of");
	/* The row goes to the patch view and back: two VMFUNCs per sample. */
	from_row(b, &c->c[CM_VMFUNC], "vmfunc_roundtrip", "vmfunc", 2,
		 "half the median (there and back) of");
	/*
	 * Every row that zaps also makes hypercalls whose handlers do more
	 * than hypercall_noop's (permission store, window counters), and
	 * the flush comes with the zap: the rows cannot tell them apart.
	 */
	memset(&c->c[CM_ZAP], 0, sizeof(c->c[CM_ZAP]));
	snprintf(c->c[CM_ZAP].source, sizeof(c->c[CM_ZAP].source),
		 "unknown: not separable in run %s (every row that zaps also makes hypercalls doing more than a no-op); projections with zaps are lower bounds (>=)",
		 b->run_id);
	memset(&c->c[CM_TLB_FLUSH], 0, sizeof(c->c[CM_TLB_FLUSH]));
	snprintf(c->c[CM_TLB_FLUSH].source, sizeof(c->c[CM_TLB_FLUSH].source),
		 "unknown: not separable in run %s (a flush only comes with a zap, inside a hypercall); projections with flushes are lower bounds (>=)",
		 b->run_id);
}

/* ---------------------------------------------------------- costs file */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int input_by_name(const char *key)
{
	for (int i = 0; i < CM_NINPUTS; i++)
		if (!strcmp(key, cm_input_name[i]))
			return i;
	return -1;
}

/* One "key = value_ns  # source" line into @c; 0, or 1 problem reported. */
static int costs_line(const char *name, int lineno, char *line, struct cm_costs *c,
		      int *seen, char *err, size_t errlen)
{
	char *hash = strchr(line, '#'), *body, *eq, *key, *val, *src = "", *end;
	struct cm_cost *cost;
	double ns;
	int i;

	if (hash) {
		*hash = '\0';
		src = trim(hash + 1);
	}
	body = trim(line);
	if (!*body)
		return 0;
	eq = strchr(body, '=');
	if (!eq) {
		adderr(err, errlen, "%s:%d: expected 'key = value_ns  # source', got '%.60s'",
		       name, lineno, body);
		return 1;
	}
	*eq = '\0';
	key = trim(body);
	val = trim(eq + 1);
	i = input_by_name(key);
	if (i < 0) {
		adderr(err, errlen, "%s:%d: unknown key '%.40s' (known: hypercall, view_switch, vmfunc, zap, tlb_flush)",
		       name, lineno, key);
		return 1;
	}
	if (seen[i]) {
		adderr(err, errlen, "%s:%d: %s given twice (first on line %d)", name, lineno,
		       key, seen[i]);
		return 1;
	}
	seen[i] = lineno;
	cost = &c->c[i];
	memset(cost, 0, sizeof(*cost));
	if (!strcmp(val, "unknown")) {
		snprintf(cost->source, sizeof(cost->source), "unknown: %s:%d%s%s", name,
			 lineno, *src ? ": " : " (no reason given)", src);
		return 0;
	}
	errno = 0;
	ns = strtod(val, &end);
	if (!*val || *end || errno || !isfinite(ns)) {
		adderr(err, errlen, "%s:%d: %s = '%.40s': not a number (ns, no unit; or 'unknown')",
		       name, lineno, key, val);
		return 1;
	}
	if (ns < 0) {
		adderr(err, errlen, "%s:%d: %s = %g: a cost cannot be negative", name,
		       lineno, key, ns);
		return 1;
	}
	cost->known = true;
	cost->ns = ns;
	snprintf(cost->source, sizeof(cost->source), "%s:%d%s%s", name, lineno,
		 *src ? ": " : " (no source given)", src);
	return 0;
}

int cm_costs_parse(const char *name, const char *text, struct cm_costs *c,
		   char *err, size_t errlen)
{
	struct cm_costs tmp = *c;
	int seen[CM_NINPUTS] = { 0 }, lineno = 0, problems = 0;
	const char *p = text;

	err[0] = '\0';
	while (*p) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len);

		lineno++;
		if (!line) {
			adderr(err, errlen, "%s: out of memory", name);
			return problems + 1;
		}
		problems += costs_line(name, lineno, line, &tmp, seen, err, errlen);
		free(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	if (!problems)
		*c = tmp;
	return problems;
}

int cm_costs_load(const char *path, struct cm_costs *c, char *err, size_t errlen)
{
	char *text = read_file(path, err, errlen);
	int problems;

	if (!text) {
		adderr(err, errlen, "%s", "");	/* its line ends like the others' */
		return 1;
	}
	problems = cm_costs_parse(path, text, c, err, errlen);
	free(text);
	return problems;
}

/* ---------------------------------------------------------- projection */

/* @k per operation of @r above off's @o; false when @r does not count it. */
static bool above_off(const struct cm_row *r, const struct cm_row *o, int k, double *v)
{
	if (!r->has[k])
		return false;
	*v = r->n[k] - (o->has[k] ? o->n[k] : 0);
	if (*v < 0)	/* counter noise: the mode cannot remove off's events */
		*v = 0;
	return true;
}

static void set_event(struct cm_proj *p, int i, bool known, double v)
{
	p->event_known[i] = known;
	p->events[i] = known ? v : 0;
}

/*
 * Whole-system rows carry no flush count (their loop is not pinned to a
 * vCPU).  KVM flushes after it zaps; with no zap above off, Heki adds no
 * flush, so the count is 0 rather than unknown.
 */
static void tlb_event(struct cm_proj *p, bool have, double tlb)
{
	if (have)
		set_event(p, CM_TLB_FLUSH, true, tlb);
	else
		set_event(p, CM_TLB_FLUSH, p->events[CM_ZAP] == 0, 0);
}

/* A mode's own counts: hypercall, hypercall+ext, ... */
static const char *direct(struct cm_proj *p, const struct cm_row *r, const struct cm_row *o)
{
	double hc, zaps, tlb = 0, exits;
	bool have_tlb;

	if (!above_off(r, o, CM_N_HYPERCALLS, &hc))
		return "the row has no hypercalls_per_op";
	if (!above_off(r, o, CM_N_ZAPS, &zaps))
		return "the row has no zaps_per_op";
	have_tlb = above_off(r, o, CM_N_TLB, &tlb);
	set_event(p, CM_HYPERCALL, true, hc);
	set_event(p, CM_VIEW_SWITCH, true, 0);
	set_event(p, CM_VMFUNC, true, 0);
	set_event(p, CM_ZAP, true, zaps);
	tlb_event(p, have_tlb, tlb);
	if (above_off(r, o, CM_N_EXITS, &exits)) {
		p->has_other_exits = true;
		p->other_exits = exits > hc ? exits - hc : 0;
	}
	return NULL;
}

/* view and vmfunc from the hypercall row @h: see mapping_text. */
static const char *mapped(struct cm_proj *p, const struct cm_row *h, const struct cm_row *o)
{
	double w, hc, zaps, tlb = 0, exits, zaps_left;
	bool have_tlb;

	if (!above_off(h, o, CM_N_WINDOWS, &w) || !above_off(h, o, CM_N_HYPERCALLS, &hc) ||
	    !above_off(h, o, CM_N_ZAPS, &zaps))
		return "the hypercall row lacks windows, hypercalls or zaps per op";
	have_tlb = above_off(h, o, CM_N_TLB, &tlb);
	zaps_left = zaps > w ? zaps - w : 0;
	set_event(p, CM_HYPERCALL, true, hc > 2 * w ? hc - 2 * w : 0);
	set_event(p, CM_VIEW_SWITCH, true, cm_principal(p->mode) == CM_VIEW_SWITCH ? 2 * w : 0);
	set_event(p, CM_VMFUNC, true, cm_principal(p->mode) == CM_VMFUNC ? 2 * w : 0);
	set_event(p, CM_ZAP, true, zaps_left);
	/* Flushes follow zaps: those of the zaps that go, go with them. */
	tlb_event(p, have_tlb, zaps > 0 ? tlb * zaps_left / zaps : tlb);
	if (above_off(h, o, CM_N_EXITS, &exits)) {
		p->has_other_exits = true;
		p->other_exits = exits > hc ? exits - hc : 0;
	}
	return NULL;
}

static void sum_terms(struct cm_proj *p, const struct cm_costs *c)
{
	p->lower = p->base;
	for (int i = 0; i < CM_NINPUTS; i++) {
		if (!p->event_known[i])
			p->missing_counts |= BIT(i);
		else if (p->events[i] > 0 && !c->c[i].known)
			p->missing_costs |= BIT(i);
		else if (p->events[i] > 0)
			p->lower += p->events[i] * c->c[i].ns;
	}
	p->complete = !p->missing_costs && !p->missing_counts;
}

static void project_one(const struct cm_bench *b, const struct cm_costs *c,
			const struct cm_row *off, const char *mode, struct cm_proj *p)
{
	const struct cm_row *own = find_row(b, off->bench, mode), *from;

	memset(p, 0, sizeof(*p));
	snprintf(p->bench, sizeof(p->bench), "%s", off->bench);
	snprintf(p->mode, sizeof(p->mode), "%s", mode);
	p->base = off->median;
	if (is_measured(own)) {
		p->has_measured = true;
		p->measured = own->median;
	}
	snprintf(p->counts_from, sizeof(p->counts_from), "%s",
		 is_view_mode(mode) ? "hypercall" : mode);
	from = find_row(b, off->bench, p->counts_from);
	if (!is_measured(from)) {
		p->unavailable = is_view_mode(mode) ?
			"no measured hypercall row to map from" : "not measured in this mode";
		return;
	}
	p->unavailable = is_view_mode(mode) ? mapped(p, from, off) : direct(p, from, off);
	if (!p->unavailable)
		sum_terms(p, c);
}

/*
 * Modes to project, in bench.json's order: measured ones, then the view
 * modes of heki_modes.h (view, vmfunc), measured or not.
 */
static int project_modes(const struct cm_bench *b, const char *modes[], int max)
{
	int n = 0, views = 0;

	for (int m = 0; m < HEKI_NR_MODES; m++)
		views += is_view_mode(heki_modes[m].name);
	for (int i = 0; i < b->nrows && n < max - views; i++) {
		const struct cm_row *r = &b->rows[i];
		bool dup = false;

		if (!strcmp(r->mode, "off") || is_view_mode(r->mode) || !is_measured(r))
			continue;
		for (int k = 0; k < n; k++)
			dup |= !strcmp(modes[k], r->mode);
		if (!dup)
			modes[n++] = r->mode;
	}
	for (int m = 0; m < HEKI_NR_MODES; m++)
		if (is_view_mode(heki_modes[m].name))
			modes[n++] = heki_modes[m].name;
	return n;
}

int cm_project(const struct cm_bench *b, const struct cm_costs *c,
	       struct cm_proj **out)
{
	const char *modes[16 + HEKI_NR_MODES];
	int nmodes = project_modes(b, modes, ARRAY_SIZE(modes)), n = 0;
	struct cm_proj *p = calloc((size_t)b->nrows * nmodes + 1, sizeof(*p));

	*out = p;
	if (!p)
		return -1;
	for (int i = 0; i < b->nrows; i++) {
		const struct cm_row *off = &b->rows[i];

		if (strcmp(off->mode, "off") || !is_measured(off))
			continue;
		for (int m = 0; m < nmodes; m++)
			project_one(b, c, off, modes[m], &p[n++]);
	}
	return n;
}

/* ------------------------------------------------------------- output */

static bool any_user_cost(const struct cm_costs *c, bool *from_run)
{
	bool user = false;

	*from_run = false;
	for (int i = 0; i < CM_NINPUTS; i++) {
		if (!c->c[i].known)
			continue;
		if (!strncmp(c->c[i].source, "measured in run ", 16))
			*from_run = true;
		else
			user = true;
	}
	return user;
}

/* Figures from a costs file on top of a rig's base: two machines in one sum. */
static bool mixed_machines(const struct cm_bench *b, const struct cm_costs *c)
{
	bool from_run;

	return any_user_cost(c, &from_run) && strcmp(b->l0_accel, "none");
}

/* What a reader must keep in mind about these inputs together; NULL: nothing. */
static const char *caution(const struct cm_bench *b, const struct cm_costs *c)
{
	bool from_run, user = any_user_cost(c, &from_run);

	if (!user)
		return NULL;
	if (mixed_machines(b, c))
		return "the base (off medians) comes from this run's rig, most likely not the machine the costs file describes: the sums mix two machines (measured - model not shown)";
	if (from_run)
		return "the inputs mix this run's measurements with the costs file's figures";
	return NULL;
}

/* The missing inputs of @p as "zap cost, tlb_flush count". */
static void missing_list(const struct cm_proj *p, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < CM_NINPUTS && used < len; i++) {
		if (p->missing_costs & BIT(i))
			used += snprintf(buf + used, len - used, "%s%s cost", used ? ", " : "",
					 cm_input_name[i]);
		if (used < len && (p->missing_counts & BIT(i)))
			used += snprintf(buf + used, len - used, "%s%s count", used ? ", " : "",
					 cm_input_name[i]);
	}
}

/*
 * Without the mode's own transition the figure says nothing: "unknown".
 * Without only a secondary one (a zap, a flush) it is a useful floor.
 */
static bool principal_missing(const struct cm_proj *p)
{
	return (p->missing_costs | p->missing_counts) & BIT(cm_principal(p->mode));
}

static void print_inputs(FILE *f, const struct cm_bench *b, const struct cm_costs *c)
{
	const char *why = caution(b, c);

	fprintf(f, "  inputs, per transition:\n");
	for (int i = 0; i < CM_NINPUTS; i++) {
		const struct cm_cost *k = &c->c[i];

		if (k->known)
			fprintf(f, "    %-12s %10.6g ns  %s\n", cm_input_name[i], k->ns, k->source);
		else
			fprintf(f, "    %-12s %13s  %s\n", cm_input_name[i], "unknown",
				k->source + (strncmp(k->source, "unknown: ", 9) ? 0 : 9));
	}
	fprintf(f, "  base: median of the same benchmark in mode off, run %s (%s), in %s\n",
		b->run_id, b->file, b->time_unit);
	fprintf(f, "  %s\n  %s\n", mapping_text, unmodelled_text);
	if (why)
		fprintf(f, "  CAUTION: %s\n", why);
}

/* @mixed: the inputs are another machine's, so measured - model means nothing. */
static void print_row(FILE *f, const struct cm_proj *p, bool mixed)
{
	char meas[24] = "-", mratio[16] = "-", proj[24], pratio[16] = "-", note[200] = "";
	char miss[120];

	if (p->has_measured) {
		snprintf(meas, sizeof(meas), "%.0f", p->measured);
		if (p->base > 0)
			snprintf(mratio, sizeof(mratio), "%.2f", p->measured / p->base);
	}
	missing_list(p, miss, sizeof(miss));
	if (p->unavailable) {
		snprintf(proj, sizeof(proj), "n/a");
		snprintf(note, sizeof(note), "%s", p->unavailable);
	} else if (p->complete || !principal_missing(p)) {
		const char *ge = p->complete ? "" : ">= ";

		snprintf(proj, sizeof(proj), "%s%.0f", ge, p->lower);
		if (p->base > 0)
			snprintf(pratio, sizeof(pratio), "%s%.2f", ge, p->lower / p->base);
		if (!p->complete)
			snprintf(note, sizeof(note), "lacks %s", miss);
		if (p->has_measured && !mixed)
			snprintf(note + strlen(note), sizeof(note) - strlen(note),
				 "%smeasured - model %s%+.0f", *note ? "; " : "",
				 p->complete ? "" : "<= ", p->measured - p->lower);
	} else {
		snprintf(proj, sizeof(proj), "unknown");
		snprintf(note, sizeof(note), "needs %s", miss);
	}
	fprintf(f, "  %-20s %-14s %12s %6s %14s %8s  %s\n", p->bench, p->mode, meas, mratio,
		proj, pratio, note);
}

void cm_print(FILE *f, const struct cm_bench *b, const struct cm_costs *c,
	      const struct cm_proj *p, int n)
{
	fprintf(f, "%s: projected cost per operation = base + sum over transitions of (count per operation above off) x (cost per transition)\n",
		CM_BANNER);
	print_inputs(f, b, c);
	fprintf(f, "  %-20s %-14s %12s %6s %14s %8s  %s\n", "benchmark", "mode", "measured",
		"x off", "MODEL", "x off", "note");
	for (int i = 0; i < n; i++)
		print_row(f, &p[i], mixed_machines(b, c));
	fprintf(f, "  %s: \"MODEL\" figures are projections from the inputs above; \">=\" a lower bound; times in %s\n",
		CM_BANNER, b->time_unit);
}

static void json_num_or_null(struct jw *w, const char *key, bool have, double v)
{
	if (have)
		jw_num(w, key, v);
	else
		jw_null(w, key);
}

/* A time: past 1e5 a whole ns is all the precision a model has. */
static void json_time(struct jw *w, const char *key, bool have, double v)
{
	if (have && fabs(v) >= 1e5)
		jw_int(w, key, llround(v));
	else
		json_num_or_null(w, key, have, v);
}

static void json_inputs(struct jw *w, const struct cm_bench *b, const struct cm_costs *c)
{
	jw_obj(w, "inputs");
	for (int i = 0; i < CM_NINPUTS; i++) {
		jw_obj(w, cm_input_name[i]);
		json_time(w, "ns", c->c[i].known, c->c[i].ns);
		jw_bool(w, "known", c->c[i].known);
		jw_str(w, "source", c->c[i].source);
		jw_end(w);
	}
	jw_end(w);
	jw_obj(w, "base");
	jw_str(w, "source", "median of the same benchmark in mode off of the run");
	jw_str(w, "time_unit", b->time_unit);
	jw_end(w);
}

static void json_row(struct jw *w, const struct cm_proj *p)
{
	bool ok = !p->unavailable;

	jw_obj(w, NULL);
	jw_str(w, "benchmark", p->bench);
	jw_str(w, "mode", p->mode);
	jw_str(w, "counts_from", p->counts_from);
	jw_str(w, "unavailable", p->unavailable);
	json_time(w, "base", true, p->base);
	json_time(w, "measured", p->has_measured, p->measured);
	json_num_or_null(w, "measured_vs_off", p->has_measured && p->base > 0,
			 p->measured / p->base);
	json_time(w, "projected", ok && p->complete, p->lower);
	json_num_or_null(w, "projected_vs_off", ok && p->complete && p->base > 0,
			 p->lower / p->base);
	json_time(w, "lower_bound", ok, p->lower);
	jw_bool(w, "complete", ok && p->complete);
	jw_obj(w, "events_per_op");
	for (int i = 0; i < CM_NINPUTS; i++)
		json_num_or_null(w, cm_input_name[i], ok && p->event_known[i], p->events[i]);
	jw_end(w);
	jw_arr(w, "missing_costs");
	for (int i = 0; i < CM_NINPUTS; i++)
		if (p->missing_costs & BIT(i))
			jw_str(w, NULL, cm_input_name[i]);
	jw_end(w);
	jw_arr(w, "missing_counts");
	for (int i = 0; i < CM_NINPUTS; i++)
		if (p->missing_counts & BIT(i))
			jw_str(w, NULL, cm_input_name[i]);
	jw_end(w);
	json_num_or_null(w, "other_exits_per_op", ok && p->has_other_exits, p->other_exits);
	json_time(w, "measured_minus_model", ok && p->has_measured, p->measured - p->lower);
	jw_end(w);
}

void cm_write_json(FILE *f, const struct cm_bench *b, const struct cm_costs *c,
		   const char *costs_file, const struct cm_proj *p, int n)
{
	struct jw w;

	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_str(&w, "schema", "heki-costmodel");
	jw_int(&w, "schema_version", CM_SCHEMA_VERSION);
	jw_bool(&w, "model", true);
	jw_str(&w, "banner", CM_BANNER ": projected from per-transition costs, not timed");
	jw_obj(&w, "bench");
	jw_str(&w, "file", b->file);
	jw_str(&w, "run_id", b->run_id);
	jw_str(&w, "l0_accel", b->l0_accel);
	jw_bool(&w, "icount", b->icount);
	jw_str(&w, "time_unit", b->time_unit);
	jw_end(&w);
	jw_str(&w, "costs_file", costs_file);
	json_inputs(&w, b, c);
	jw_str(&w, "formula", "projected = base + sum over inputs of events_per_op x inputs.<name>.ns; events_per_op counts what the mode adds over off");
	jw_str(&w, "mapping", mapping_text);
	jw_str(&w, "not_modelled", unmodelled_text);
	jw_str(&w, "caution", caution(b, c));
	jw_arr(&w, "rows");
	for (int i = 0; i < n; i++)
		json_row(&w, &p[i]);
	jw_end(&w);
	jw_end(&w);
}

/* ---------------------------------------------------------------- main */

static int usage(FILE *err)
{
	fprintf(err, "usage: heki-costmodel BENCH_JSON [--costs COSTS_FILE] [--json OUT.json]\n"
		"  projects each mode's cost per operation from per-transition costs\n"
		"  (bench/README.md); prints a table, and with --json writes it as JSON\n");
	return 2;
}

static int write_json_file(const char *path, const struct cm_bench *b,
			   const struct cm_costs *c, const char *costs_file,
			   const struct cm_proj *p, int n, FILE *err)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(err, "%s: cannot write: %s\n", path, strerror(errno));
		return 2;
	}
	cm_write_json(f, b, c, costs_file, p, n);
	if (fclose(f)) {
		fprintf(err, "%s: cannot write: %s\n", path, strerror(errno));
		return 2;
	}
	return 0;
}

int cm_main(int argc, char **argv, FILE *out, FILE *err)
{
	const char *bench = NULL, *costs_file = NULL, *json = NULL;
	char msg[4096];
	struct cm_bench b;
	struct cm_costs c;
	struct cm_proj *p;
	int n, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--costs") && i + 1 < argc)
			costs_file = argv[++i];
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (argv[i][0] != '-' && !bench)
			bench = argv[i];
		else
			return usage(err);
	}
	if (!bench)
		return usage(err);
	if (cm_bench_load(bench, &b, msg, sizeof(msg))) {
		fprintf(err, "heki-costmodel: %s\n", msg);
		cm_bench_free(&b);
		return 2;
	}
	cm_costs_from_bench(&b, &c);
	if (costs_file && cm_costs_load(costs_file, &c, msg, sizeof(msg))) {
		fprintf(err, "%sheki-costmodel: %s: invalid costs file, nothing projected\n",
			msg, costs_file);
		cm_bench_free(&b);
		return 2;
	}
	n = cm_project(&b, &c, &p);
	if (n < 0) {
		fprintf(err, "heki-costmodel: out of memory\n");
		cm_bench_free(&b);
		return 2;
	}
	cm_print(out, &b, &c, p, n);
	ret = json ? write_json_file(json, &b, &c, costs_file, p, n, err) : 0;
	free(p);
	cm_bench_free(&b);
	return ret;
}
