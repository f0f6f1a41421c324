// SPDX-License-Identifier: GPL-2.0
/*
 * heki-results' logic: see results_lib.h, and results/README.md for the
 * schemas it checks, the noise model of `compare` and history.jsonl.
 *
 * Files come from runs that may have died half-way, so nothing here trusts
 * them: every member is looked up and type-checked before it is used, and
 * a problem is reported as "FILE: field.path: what was expected".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results_lib.h"

/* A run record is tens of kilobytes; anything this big is not one. */
#define HR_MAX_FILE	(64u << 20)
/* Past this many problems in one file the rest is only noise. */
#define HR_MAX_PROBLEMS	20
/* Two-sided 95% normal quantile. */
#define Z95		1.959964
/* sqrt(pi/2): the median's standard error over the mean's, normal data. */
#define MEDIAN_SE	1.2533141

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define T(t)		(1u << (t))

/* ----------------------------------------------------------- reporting */

struct vctx {
	const char *name;	/* the file as the user named it */
	FILE *err;		/* NULL: count problems silently */
	int problems;
};

/* Prints file-supplied text without letting it drive the terminal. */
static void put_safe(FILE *f, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
	if (s[i])
		fputs("...", f);
}

static void __attribute__((format(printf, 3, 4)))
problem(struct vctx *v, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (++v->problems > HR_MAX_PROBLEMS || !v->err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	put_safe(v->err, v->name, PATH_MAX);
	fputs(": ", v->err);
	if (where && *where) {
		put_safe(v->err, where, 200);
		fputs(": ", v->err);
	}
	put_safe(v->err, msg, sizeof(msg));
	fputc('\n', v->err);
}

/* "a number", "a string or null": what a type mask allows. */
static void describe(char *buf, size_t len, unsigned types)
{
	static const char *const what[] = {
		[JSON_NULL] = "null", [JSON_BOOL] = "a boolean",
		[JSON_NUM] = "a number", [JSON_STR] = "a string",
		[JSON_ARR] = "an array", [JSON_OBJ] = "an object",
	};
	size_t n = 0;

	buf[0] = '\0';
	/* null last: "a string or null" reads better */
	for (int t = JSON_BOOL; t <= JSON_OBJ + 1 && n < len; t++) {
		int ty = t > JSON_OBJ ? JSON_NULL : t;

		if (types & T(ty))
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      n ? " or " : "", what[ty]);
	}
}

/* ----------------------------------------------------------- tree access */

static const struct json *child(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (const struct json *c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

static const char *str_of(const struct json *obj, const char *key)
{
	const struct json *c = child(obj, key);

	return c && c->type == JSON_STR ? c->str : NULL;
}

static double num_of(const struct json *obj, const char *key, double dflt)
{
	const struct json *c = child(obj, key);

	return c && c->type == JSON_NUM ? c->num : dflt;
}

static void join(char *buf, size_t len, const char *path, const char *key)
{
	snprintf(buf, len, "%s%s%s", path, *path ? "." : "", key);
}

/*
 * @key of @obj (at @path), checked against the type mask @types: NULL, and
 * a problem, when it is missing (if @required) or of another type.
 */
static const struct json *member(struct vctx *v, const struct json *obj,
				 const char *path, const char *key,
				 unsigned types, bool required)
{
	const struct json *m = child(obj, key);
	char where[256], want[96];

	join(where, sizeof(where), path, key);
	describe(want, sizeof(want), types);
	if (!m) {
		if (required)
			problem(v, where, "missing (expected %s)", want);
		return NULL;
	}
	if (!(types & T(m->type))) {
		problem(v, where, "expected %s, got %s", want, json_type_name(m->type));
		return NULL;
	}
	/* The parser takes strtod's word for "-inf" or "-nan"; JSON does not. */
	if (m->type == JSON_NUM && !isfinite(m->num)) {
		problem(v, where, "expected a finite number, got %g", m->num);
		return NULL;
	}
	return m;
}

static bool member_num(struct vctx *v, const struct json *obj, const char *path,
		       const char *key, bool required, double *out)
{
	const struct json *m = member(v, obj, path, key, T(JSON_NUM), required);

	if (m && out)
		*out = m->num;
	return m;
}

/* A string member that must be one of @vals (NULL-terminated). */
static const char *member_enum(struct vctx *v, const struct json *obj,
			       const char *path, const char *key,
			       const char *const *vals, bool required)
{
	const struct json *m = member(v, obj, path, key, T(JSON_STR), required);
	char where[256], list[256];
	size_t n = 0;

	if (!m)
		return NULL;
	for (int i = 0; vals[i]; i++)
		if (!strcmp(m->str, vals[i]))
			return m->str;
	list[0] = '\0';
	for (int i = 0; vals[i] && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", vals[i]);
	join(where, sizeof(where), path, key);
	problem(v, where, "expected one of %s, got \"%.60s\"", list, m->str);
	return NULL;
}

/*
 * A name other files and the compare table are keyed on (benchmark, mode,
 * attack id, run id): printable ASCII, no spaces or quotes.
 */
static const char *member_name(struct vctx *v, const struct json *obj,
			       const char *path, const char *key)
{
	const struct json *m = member(v, obj, path, key, T(JSON_STR), true);
	char where[256];

	if (!m)
		return NULL;
	for (const char *p = m->str; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			goto bad;
	if (m->str[0] && strlen(m->str) < 128)
		return m->str;
bad:
	join(where, sizeof(where), path, key);
	problem(v, where, "expected a name (1-127 printable characters, no spaces or quotes), got \"%.60s\"",
		m->str);
	return NULL;
}

/* ------------------------------------------------------ generic checks */

static int cmp_keys(const void *a, const void *b)
{
	return strcmp((*(const struct json *const *)a)->key,
		      (*(const struct json *const *)b)->key);
}

/* json_get() would silently take the first of two equal member names. */
static void check_dup_keys(struct vctx *v, const struct json *j, const char *path)
{
	const struct json **keys;
	char sub[256];
	size_t n = 0, i = 0;

	for (const struct json *c = j->child; c; c = c->next)
		n++;
	if (j->type == JSON_OBJ && n > 1) {
		keys = malloc(n * sizeof(*keys));
		if (keys) {
			for (const struct json *c = j->child; c; c = c->next)
				keys[i++] = c;
			qsort(keys, n, sizeof(*keys), cmp_keys);
			for (i = 1; i < n; i++)
				if (!strcmp(keys[i]->key, keys[i - 1]->key)) {
					join(sub, sizeof(sub), path, keys[i]->key);
					problem(v, sub, "duplicate member");
				}
			free(keys);
		}
	}
	i = 0;
	/* Depth is bounded by the parser (64 levels). */
	for (const struct json *c = j->child; c; c = c->next, i++) {
		if (c->type != JSON_OBJ && c->type != JSON_ARR)
			continue;
		if (j->type == JSON_OBJ)
			join(sub, sizeof(sub), path, c->key);
		else
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		check_dup_keys(v, c, sub);
	}
}

/* Iterates an array member's object elements, reporting the others. */
#define for_each_obj(v, arr, path, el, idx, where)				\
	for (el = (arr) ? (arr)->child : NULL, idx = 0; el; el = el->next, idx++) \
		if (snprintf(where, sizeof(where), "%s[%d]", path, idx),	\
		    el->type != JSON_OBJ) {					\
			problem(v, where, "expected an object, got %s",	\
				json_type_name(el->type));			\
		} else

static void check_schema_version(struct vctx *v, const struct json *root)
{
	double ver;

	if (member_num(v, root, "", "schema_version", true, &ver) && ver != 1)
		problem(v, "schema_version", "%g is not supported (this tool reads version 1)", ver);
}

static const char *const l0_accels[] = { "tcg", "kvm", "bochs", "none", NULL };

/* The "rig" object bench.json and inject.json share. */
static void check_rig(struct vctx *v, const struct json *root)
{
	static const char *const strs[] = {
		"l0_cpu", "host_kernel", "guest_kernel", "git_rev",
	};
	const struct json *rig = member(v, root, "", "rig", T(JSON_OBJ), true);

	if (!rig)
		return;
	member_enum(v, rig, "rig", "l0_accel", l0_accels, true);
	member(v, rig, "rig", "icount", T(JSON_BOOL), true);
	/* null: the level never reported it (a run that died early) */
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		member(v, rig, "rig", strs[i], T(JSON_STR) | T(JSON_NULL), false);
}

/* -------------------------------------------------------- summary.json */

static void check_started(struct vctx *v, const struct json *root)
{
	const struct json *s = member(v, root, "", "started", T(JSON_STR), true);
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";

	if (!s)
		return;
	for (size_t i = 0; i < sizeof(pat); i++) {
		char c = s->str[i];

		if (pat[i] == 'd' ? (c < '0' || c > '9') : c != pat[i]) {
			problem(v, "started", "expected a UTC time like 2026-11-23T13:38:56Z, got \"%.40s\"",
				s->str);
			return;
		}
	}
}

static void check_stages(struct vctx *v, const struct json *root)
{
	static const char *const st[] = { "done", "failed", "not reached", NULL };
	const struct json *arr = member(v, root, "", "stages", T(JSON_ARR), true), *el;
	char where[64];
	int i;

	for_each_obj(v, arr, "stages", el, i, where) {
		const char *status;

		member(v, el, where, "name", T(JSON_STR), true);
		status = member_enum(v, el, where, "status", st, true);
		/* a stage never reached has no time */
		member_num(v, el, where, "seconds",
			   status && strcmp(status, "not reached"), NULL);
	}
}

static void check_summary_rig(struct vctx *v, const struct json *root)
{
	static const char *const strs[] = {
		"shape", "time_base", "l0_cpu", "l0_kernel", "l0_qemu",
		"host_kernel", "host_cpu", "host_virt", "guest_kernel",
		"guest_kernel_built_for", "git_rev",
	};
	const struct json *rig = member(v, root, "", "rig", T(JSON_OBJ), true);

	if (!rig)
		return;
	member_enum(v, rig, "rig", "l0_accel", l0_accels, true);
	member(v, rig, "rig", "icount", T(JSON_BOOL), true);
	member_num(v, rig, "rig", "l1_vcpus", true, NULL);
	member_num(v, rig, "rig", "l2_vcpus", true, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		member(v, rig, "rig", strs[i], T(JSON_STR) | T(JSON_NULL), true);
}

static void check_suite_result(struct vctx *v, const struct json *root)
{
	const struct json *sr = member(v, root, "", "suite_result", T(JSON_OBJ), true);
	const struct json *arr, *el;
	char where[64];
	int i;

	if (!sr)
		return;
	/* null: the suite never reported (the run failed before it) */
	member(v, sr, "suite_result", "name", T(JSON_STR) | T(JSON_NULL), true);
	member(v, sr, "suite_result", "tests", T(JSON_NUM) | T(JSON_NULL), true);
	member(v, sr, "suite_result", "failed", T(JSON_NUM) | T(JSON_NULL), true);
	arr = member(v, sr, "suite_result", "checks", T(JSON_ARR), true);
	for_each_obj(v, arr, "suite_result.checks", el, i, where) {
		member(v, el, where, "name", T(JSON_STR), true);
		member(v, el, where, "result", T(JSON_STR), true);
	}
}

static void check_summary(struct vctx *v, const struct json *root)
{
	static const char *const statuses[] = { "ok", "failed", "interrupted", NULL };
	static const char *const counts[] = { "records", "lost_records", "rejected_lines" };
	const struct json *fs, *tr;
	const char *status;

	check_schema_version(v, root);
	member_name(v, root, "", "run_id");
	member(v, root, "", "suite", T(JSON_STR), true);
	member(v, root, "", "modes", T(JSON_STR), true);
	status = member_enum(v, root, "", "status", statuses, true);
	fs = member(v, root, "", "failed_stage", T(JSON_STR) | T(JSON_NULL), true);
	if (status && fs && !strcmp(status, "ok") && fs->type != JSON_NULL)
		problem(v, "failed_stage", "expected null for a run with status ok");
	member(v, root, "", "error", T(JSON_STR) | T(JSON_NULL), true);
	check_started(v, root);
	member_num(v, root, "", "duration_s", true, NULL);
	check_stages(v, root);
	check_summary_rig(v, root);
	if (member(v, root, "", "heki", T(JSON_OBJ), true))
		member(v, child(root, "heki"), "heki", "answered_by_our_host",
		       T(JSON_BOOL), false);
	check_suite_result(v, root);
	member(v, root, "", "health", T(JSON_OBJ), true);
	tr = member(v, root, "", "transport", T(JSON_OBJ), true);
	for (size_t i = 0; tr && i < ARRAY_SIZE(counts); i++)
		member_num(v, tr, "transport", counts[i], true, NULL);
	member(v, root, "", "files", T(JSON_OBJ), true);
}

/* ---------------------------------------------------------- bench.json */

static const char *const stat_keys[] = {
	"n", "min", "median", "p90", "p99", "max", "mean", "stddev",
};
/* kernel-side rows only, or absent when mode off failed: optional */
static const char *const per_op_keys[] = {
	"exits_per_op", "tlb_flushes_per_op", "zaps_per_op", "windows_per_op",
	"hypercalls_per_op", "overhead_vs_off",
};

static void stats_from(const struct json *row, struct hr_stats *s)
{
	double *dst[] = {
		&s->n, &s->min, &s->median, &s->p90, &s->p99, &s->max,
		&s->mean, &s->stddev,
	};

	for (size_t i = 0; i < ARRAY_SIZE(stat_keys); i++)
		*dst[i] = num_of(row, stat_keys[i], NAN);
}

/* What the figures of one measured row must satisfy among themselves. */
static void check_measured(struct vctx *v, const struct json *row, const char *where)
{
	static const char *const order[] = { "min", "median", "p90", "p99", "max" };
	struct hr_stats s;
	bool all = true;
	char at[96];

	for (size_t i = 0; i < ARRAY_SIZE(stat_keys); i++)
		all &= member_num(v, row, where, stat_keys[i], true, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(per_op_keys); i++)
		member_num(v, row, where, per_op_keys[i], false, NULL);
	if (!all)
		return;
	stats_from(row, &s);
	if (s.n < 1 || s.n != floor(s.n)) {
		join(at, sizeof(at), where, "n");
		problem(v, at, "expected a whole number of samples >= 1, got %g", s.n);
	}
	if (s.stddev < 0) {
		join(at, sizeof(at), where, "stddev");
		problem(v, at, "expected >= 0, got %g", s.stddev);
	}
	for (size_t i = 1; i < ARRAY_SIZE(order); i++)
		if (num_of(row, order[i - 1], 0) > num_of(row, order[i], 0))
			problem(v, where, "%s %g > %s %g: the percentiles are out of order",
				order[i - 1], num_of(row, order[i - 1], 0),
				order[i], num_of(row, order[i], 0));
	if (s.mean < s.min || s.mean > s.max)
		problem(v, where, "mean %g outside min..max %g..%g", s.mean, s.min, s.max);
}

static void check_bench_row(struct vctx *v, const struct json *row, const char *where)
{
	static const char *const st[] = { "measured", "unsupported", "failed", NULL };
	const char *status;

	member_name(v, row, where, "benchmark");
	member_name(v, row, where, "mode");
	status = member_enum(v, row, where, "status", st, true);
	if (status && !strcmp(status, "measured"))
		check_measured(v, row, where);
	else if (status)
		member(v, row, where, "reason", T(JSON_STR), true);
}

/* Two rows with one benchmark x mode would make compare ambiguous. */
static void check_unique(struct vctx *v, const struct json *arr, const char *path,
			 const char *k1, const char *k2)
{
	int i = 0;

	for (const struct json *a = arr ? arr->child : NULL; a; a = a->next, i++) {
		const char *a1 = str_of(a, k1), *a2 = str_of(a, k2);
		char where[64];

		if (!a1 || !a2)
			continue;
		for (const struct json *b = arr->child; b != a; b = b->next) {
			const char *b1 = str_of(b, k1), *b2 = str_of(b, k2);

			if (b1 && b2 && !strcmp(a1, b1) && !strcmp(a2, b2)) {
				snprintf(where, sizeof(where), "%s[%d]", path, i);
				problem(v, where, "%s \"%s\" %s \"%s\" appears twice", k1, a1, k2, a2);
				break;
			}
		}
	}
}

static void check_bench(struct vctx *v, const struct json *root)
{
	static const char *const strs[] = {
		"time_unit", "statistics", "host_counters", "counters",
	};
	const struct json *rows, *el;
	char where[64];
	int i;

	check_schema_version(v, root);
	member_name(v, root, "", "run_id");
	check_rig(v, root);
	for (size_t k = 0; k < ARRAY_SIZE(strs); k++)
		member(v, root, "", strs[k], T(JSON_STR), true);
	member_num(v, root, "", "iterations", false, NULL);
	rows = member(v, root, "", "rows", T(JSON_ARR), true);
	for_each_obj(v, rows, "rows", el, i, where)
		check_bench_row(v, el, where);
	check_unique(v, rows, "rows", "benchmark", "mode");
}

/* --------------------------------------------------------- inject.json */

static const char *const caught[] = { "prevented", "detected", NULL };
static const char *const outcomes_expected[] = {
	"prevented", "detected", "missed", "n/a", NULL,
};
static const char *const outcomes_observed[] = {
	"prevented", "detected", "missed", "n/a", "ineffective", "crashed",
	"error", "not-run", NULL,
};

static void check_inject_result(struct vctx *v, const struct json *r, const char *where,
				int *mismatches)
{
	static const char *const strs[] = {
		"reason", "gfn", "rip", "detail", "mismatch", "what", "object", "bits",
	};
	static const char *const bools[] = { "effect", "landed", "host_logged" };
	const struct json *m;

	member_name(v, r, where, "mode");
	member_enum(v, r, where, "expected", outcomes_expected, true);
	member_enum(v, r, where, "observed", outcomes_observed, true);
	m = member(v, r, where, "match", T(JSON_BOOL), true);
	if (m && !m->boolean)
		(*mismatches)++;
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		member(v, r, where, strs[i], T(JSON_STR) | T(JSON_NULL), false);
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
		member(v, r, where, bools[i], T(JSON_BOOL), false);
	member_num(v, r, where, "violations", false, NULL);
	member_num(v, r, where, "cr", false, NULL);
	member(v, r, where, "host_records", T(JSON_ARR), false);
}

static void check_attack(struct vctx *v, const struct json *a, const char *where,
			 int *cells, int *mismatches)
{
	static const char *const strs[] = {
		"family", "description", "primitive", "judged_by",
	};
	const struct json *res, *el;
	char path[96], at[128];
	int i;

	member_name(v, a, where, "id");
	for (size_t k = 0; k < ARRAY_SIZE(strs); k++)
		member(v, a, where, strs[k], T(JSON_STR), true);
	join(path, sizeof(path), where, "results");
	res = member(v, a, where, "results", T(JSON_ARR), true);
	for_each_obj(v, res, path, el, i, at) {
		(*cells)++;
		check_inject_result(v, el, at, mismatches);
	}
	if (res)
		for (const struct json *x = res->child; x; x = x->next)
			for (const struct json *y = res->child; y != x; y = y->next)
				if (str_of(x, "mode") && str_of(y, "mode") &&
				    !strcmp(str_of(x, "mode"), str_of(y, "mode"))) {
					problem(v, path, "mode \"%s\" appears twice", str_of(x, "mode"));
					break;
				}
}

static void check_inject(struct vctx *v, const struct json *root)
{
	static const char *const mst[] = { "run", "n/a", "failed", NULL };
	const struct json *arr, *el;
	int i, cells = 0, mismatches = 0;
	double want;
	char where[64];

	check_schema_version(v, root);
	member_name(v, root, "", "run_id");
	check_rig(v, root);
	arr = member(v, root, "", "modes", T(JSON_ARR), true);
	for_each_obj(v, arr, "modes", el, i, where) {
		member_name(v, el, where, "name");
		member_enum(v, el, where, "status", mst, true);
		member(v, el, where, "reason", T(JSON_STR) | T(JSON_NULL), false);
	}
	arr = member(v, root, "", "attacks", T(JSON_ARR), true);
	for_each_obj(v, arr, "attacks", el, i, where)
		check_attack(v, el, where, &cells, &mismatches);
	check_unique(v, arr, "attacks", "id", "id");
	/* the totals must agree with the cells, or one of them is wrong */
	if (member_num(v, root, "", "cells", true, &want) && want != cells)
		problem(v, "cells", "says %g, but attacks[].results[] hold %d cells", want, cells);
	if (member_num(v, root, "", "mismatches", true, &want) && want != mismatches)
		problem(v, "mismatches", "says %g, but %d cells have match false", want, mismatches);
}

/* ------------------------------------------------------------ the checker */

static const char *kind_name(enum hr_kind k)
{
	static const char *const names[] = {
		[HR_UNKNOWN] = "an unknown file", [HR_SUMMARY] = "a summary.json",
		[HR_BENCH] = "a bench.json (heki-bench)",
		[HR_INJECT] = "an inject.json (heki-inject)",
	};
	return names[k];
}

static enum hr_kind detect(struct vctx *v, const struct json *root)
{
	const struct json *s = child(root, "schema");

	if (s) {
		if (s->type == JSON_STR && !strcmp(s->str, "heki-bench"))
			return HR_BENCH;
		if (s->type == JSON_STR && !strcmp(s->str, "heki-inject"))
			return HR_INJECT;
		if (s->type == JSON_STR)
			problem(v, "schema", "unknown schema \"%.60s\" (this tool reads heki-bench, heki-inject)",
				s->str);
		else
			problem(v, "schema", "expected a string, got %s", json_type_name(s->type));
		return HR_UNKNOWN;
	}
	if (child(root, "schema_version") && child(root, "run_id") && child(root, "stages"))
		return HR_SUMMARY;
	problem(v, NULL, "not a Heki results file: no \"schema\" member, and not a summary.json (no schema_version, run_id and stages)");
	return HR_UNKNOWN;
}

/* The parser says "line L, column C: what"; add the byte offset. */
static void parse_problem(struct vctx *v, const char *text, size_t len, const char *perr)
{
	int line, col, n = 0;
	size_t off = 0;

	if (sscanf(perr, "line %d, column %d: %n", &line, &col, &n) < 2 || !n) {
		problem(v, NULL, "%s", perr);
		return;
	}
	for (int l = 1; l < line && off < len; off++)
		if (text[off] == '\n')
			l++;
	off += (size_t)col - 1;
	problem(v, NULL, "line %d, column %d (byte %zu of %zu): %s", line, col, off, len, perr + n);
}

static void validate(struct vctx *v, struct hr_doc *d, enum hr_kind expect)
{
	if (d->root->type != JSON_OBJ) {
		problem(v, NULL, "expected a JSON object at the top level, got %s",
			json_type_name(d->root->type));
		return;
	}
	d->kind = detect(v, d->root);
	if (d->kind == HR_UNKNOWN)
		return;
	if (expect != HR_UNKNOWN && d->kind != expect) {
		problem(v, NULL, "expected %s, got %s", kind_name(expect), kind_name(d->kind));
		return;
	}
	if (d->kind == HR_SUMMARY)
		check_summary(v, d->root);
	else if (d->kind == HR_BENCH)
		check_bench(v, d->root);
	else
		check_inject(v, d->root);
	check_dup_keys(v, d->root, "");
}

int hr_check_text(struct hr_doc *d, const char *name, const char *text,
		  size_t len, enum hr_kind expect, FILE *err)
{
	struct vctx v = { name, err, 0 };
	const char *nul = memchr(text, '\0', len);
	char perr[256], *copy = NULL;

	memset(d, 0, sizeof(*d));
	if (!len) {
		problem(&v, NULL, "empty file (truncated?)");
	} else if (nul) {
		/* The parser would stop there and blame a truncation. */
		problem(&v, NULL, "byte %zu of %zu: NUL byte: binary data, not JSON",
			(size_t)(nul - text), len);
	} else if (!(copy = strndup(text, len))) {
		problem(&v, NULL, "out of memory");
	} else if (!(d->root = json_parse(copy, perr, sizeof(perr)))) {
		parse_problem(&v, copy, len, perr);
	} else {
		validate(&v, d, expect);
	}
	free(copy);
	if (v.problems > HR_MAX_PROBLEMS && err)
		fprintf(err, "%s: ... and %d more problems\n", name,
			v.problems - HR_MAX_PROBLEMS);
	d->problems = v.problems;
	return v.problems;
}

/* Reads all of @fd; NULL with @why set on failure. */
static char *read_fd(int fd, size_t *lenp, const char **why)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *t;

			if (cap > HR_MAX_FILE) {
				*why = "larger than 64 MiB: not a run record";
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			t = realloc(buf, cap + 1);
			if (!t) {
				*why = "out of memory";
				goto fail;
			}
			buf = t;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = strerror(errno);
			goto fail;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	if (!buf && !(buf = malloc(1))) {
		*why = "out of memory";
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	free(buf);
	return NULL;
}

static char *read_path(const char *path, size_t *lenp, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;

	if (fd < 0) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		*why = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
	else
		buf = read_fd(fd, lenp, why);
	close(fd);
	return buf;
}

int hr_check_file(struct hr_doc *d, const char *path, enum hr_kind expect, FILE *err)
{
	const char *why = NULL;
	size_t len = 0;
	char *text = read_path(path, &len, &why);
	int n;

	if (!text) {
		memset(d, 0, sizeof(*d));
		d->problems = 1;
		if (err) {
			put_safe(err, path, PATH_MAX);
			fprintf(err, ": cannot read: %s\n", why);
		}
		return 1;
	}
	n = hr_check_text(d, path, text, len, expect, err);
	free(text);
	return n;
}

void hr_doc_free(struct hr_doc *d)
{
	json_free(d->root);
	memset(d, 0, sizeof(*d));
}

static int cmd_check(int nfiles, char **files, FILE *out, FILE *err)
{
	int bad = 0;

	for (int i = 0; i < nfiles; i++) {
		struct hr_doc d;

		if (hr_check_file(&d, files[i], HR_UNKNOWN, err)) {
			bad++;
		} else {
			put_safe(out, files[i], PATH_MAX);
			fprintf(out, ": ok (%s)\n", kind_name(d.kind));
		}
		hr_doc_free(&d);
	}
	if (bad)
		fprintf(err, "%d of %d files invalid\n", bad, nfiles);
	return bad ? HR_FAIL : HR_OK;
}

/* ------------------------------------------------------------ noise model */

/*
 * The sample quantile at @q, read off the piecewise-linear curve through
 * the order statistics bench.json keeps (min = 0, median, p90, p99,
 * max = 1).  Between min and the median this straight line is coarse; it
 * errs towards quantiles further from the median, i.e. wider intervals.
 */
static double quantile(const struct hr_stats *s, double q)
{
	const double qs[] = { 0, 0.5, 0.9, 0.99, 1 };
	const double vs[] = { s->min, s->median, s->p90, s->p99, s->max };

	for (size_t i = 1; i < ARRAY_SIZE(qs); i++)
		if (q <= qs[i])
			return vs[i - 1] + (vs[i] - vs[i - 1]) * (q - qs[i - 1]) / (qs[i] - qs[i - 1]);
	return s->max;
}

/*
 * 95% interval of a row's median from what bench.json carries, the
 * narrower (on each side) of two estimates that each err wide in their
 * own way:
 *  - normal approximation: median +- 1.96 * 1.2533 * stddev / sqrt(n).
 *    Timing samples have outliers (an interrupt, a TCG translation) that
 *    inflate stddev far more than they move the median;
 *  - distribution-free: the median's interval lies between the sample
 *    quantiles 0.5 -+ 0.98 / sqrt(n) (normal approximation of the binomial
 *    ranks), read off quantile() above, which cannot be fooled by
 *    outliers but interpolates coarsely.
 */
void hr_median_ci(const struct hr_stats *s, double *lo, double *hi)
{
	double n = s->n >= 1 ? s->n : 1;
	double half = Z95 * MEDIAN_SE * s->stddev / sqrt(n);
	double dq = Z95 * 0.5 / sqrt(n);

	*lo = fmax(s->median - half, quantile(s, fmax(0, 0.5 - dq)));
	*hi = fmin(s->median + half, quantile(s, fmin(1, 0.5 + dq)));
}

/*
 * 95% interval of new/base: each median's interval taken to log scale and
 * the two combined by root-sum-square on each side (the MOVER method for a
 * ratio; it reduces to the usual delta-method interval when both are
 * symmetric).  An interval reaching 0 makes the bound 0: no evidence.
 */
void hr_ratio_ci(const struct hr_stats *b, const struct hr_stats *nw, double *lo, double *hi)
{
	double bl, bh, nl, nh, l = log(nw->median / b->median);

	hr_median_ci(b, &bl, &bh);
	hr_median_ci(nw, &nl, &nh);
	*lo = exp(l - hypot(nl > 0 ? log(nw->median / nl) : INFINITY, log(bh / b->median)));
	*hi = exp(l + hypot(log(nh / nw->median), bl > 0 ? log(b->median / bl) : INFINITY));
}

/*
 * Wall time: a change counts only when the ratio's interval excludes 1
 * (it is not noise); it is a regression when, in addition, the median
 * grew by more than the threshold.  Icount: the figures are exact, so any
 * change is real and one beyond the threshold is a regression.
 */
enum hr_verdict hr_bench_verdict(const struct hr_stats *b, const struct hr_stats *nw,
				 double threshold, bool exact, double *lo, double *hi)
{
	double r;

	if (!(b->median > 0) || !(nw->median > 0)) {
		/* no ratio of a zero time; say which way it went, no more */
		*lo = *hi = NAN;
		return nw->median == b->median ? V_SAME :
		       nw->median > b->median ? V_SLOWER : V_FASTER;
	}
	r = nw->median / b->median;
	if (exact)
		*lo = *hi = r;
	else
		hr_ratio_ci(b, nw, lo, hi);
	if (*lo > 1)
		return r - 1 > threshold ? V_REGRESSION : V_SLOWER;
	if (*hi < 1)
		return V_FASTER;
	return V_SAME;
}

const char *hr_verdict_name(enum hr_verdict v)
{
	static const char *const names[V_NR] = {
		[V_SAME] = "same", [V_FASTER] = "faster", [V_SLOWER] = "slower",
		[V_REGRESSION] = "REGRESSION", [V_NEW] = "new", [V_GONE] = "gone",
		[V_UNSUPPORTED] = "unsupported", [V_FAILED] = "failed",
		[V_IMPROVED] = "improved", [V_WEAKER] = "weaker",
		[V_CHANGED] = "changed",
	};
	return v < V_NR ? names[v] : "?";
}

/* ------------------------------------------------------------------ runs */

enum { F_SUMMARY, F_BENCH, F_INJECT, F_NR };
static const char *const run_files[F_NR] = { "summary.json", "bench.json", "inject.json" };
static const enum hr_kind run_kinds[F_NR] = { HR_SUMMARY, HR_BENCH, HR_INJECT };

struct run {
	const char *dir;
	struct hr_doc doc[F_NR];
	bool has[F_NR];
	const struct json *rig;		/* the first file's that has one */
};

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

/* Loads and validates what @dir holds; 0 if it is a usable run. */
static int load_run(struct run *r, const char *dir, const char *role, FILE *err)
{
	char path[PATH_MAX];
	int bad = 0;

	memset(r, 0, sizeof(*r));
	r->dir = dir;
	if (!is_dir(dir)) {
		fprintf(err, "%s: ", role);
		put_safe(err, dir, PATH_MAX);
		fprintf(err, ": not a run directory\n");
		return -1;
	}
	for (int f = 0; f < F_NR; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, run_files[f]);
		if (!exists(path))
			continue;
		r->has[f] = true;
		bad += hr_check_file(&r->doc[f], path, run_kinds[f], err) > 0;
		if (!r->rig && r->doc[f].root)
			r->rig = child(r->doc[f].root, "rig");
	}
	if (!r->has[F_SUMMARY] && !r->has[F_BENCH] && !r->has[F_INJECT]) {
		fprintf(err, "%s: ", role);
		put_safe(err, dir, PATH_MAX);
		fprintf(err, ": no summary.json, bench.json or inject.json\n");
		return -1;
	}
	return bad ? -1 : 0;
}

static void free_run(struct run *r)
{
	for (int f = 0; f < F_NR; f++)
		hr_doc_free(&r->doc[f]);
}

static const char *run_id(const struct run *r)
{
	for (int f = 0; f < F_NR; f++) {
		const char *id = str_of(r->doc[f].root, "run_id");

		if (id)
			return id;
	}
	return "?";
}

static const char *rig_str(const struct run *r, const char *key)
{
	const char *s = str_of(r->rig, key);

	return s ? s : "?";
}

static bool rig_icount(const struct run *r)
{
	const struct json *ic = child(r->rig, "icount");

	return ic && ic->type == JSON_BOOL && ic->boolean;
}

/*
 * The rig fields two runs must share for their figures to compare
 * (summary.json's "rig"; bench.json's and inject.json's carry some), in
 * history.jsonl too: the accelerator, icount and its seed, the vCPU
 * counts, both kernels, L0's emulator and CPU.
 */
static const char *const rig_keys[] = {
	"l0_accel", "icount", "icount_seed", "l1_vcpus", "l2_vcpus",
	"host_kernel", "guest_kernel", "l0_qemu", "l0_cpu",
};
#define NRIG_KEYS ARRAY_SIZE(rig_keys)

/* A rig value as text (strings as they are), or NULL if absent. */
static char *rig_text(const struct json *v)
{
	char buf[JSON_NUM_MAX];

	if (!v)
		return NULL;
	switch (v->type) {
	case JSON_STR:
		return strdup(v->str);
	case JSON_BOOL:
		return strdup(v->boolean ? "true" : "false");
	case JSON_NUM:
		return strdup(json_num_str(buf, sizeof(buf), v->num));
	default:
		return strdup("null");
	}
}

/* Field @key of the run's rig, from the first of its files that has it. */
static char *run_rig_text(const struct run *r, const char *key)
{
	for (int f = 0; f < F_NR; f++) {
		const struct json *v = child(child(r->doc[f].root, "rig"), key);

		if (v)
			return rig_text(v);
	}
	return NULL;
}

/* ---------------------------------------------------------------- compare */

struct cmp {
	double threshold;	/* fraction */
	bool exact;		/* both runs icount */
	FILE *out;
	FILE *regs;		/* the REGRESSION lines, printed at the end */
	int count[V_NR];
};

static const struct json *find_row(const struct json *rows, const char *k1,
				   const char *v1, const char *k2, const char *v2)
{
	for (const struct json *r = rows ? rows->child : NULL; r; r = r->next) {
		const char *a = str_of(r, k1), *b = str_of(r, k2);

		if (a && b && !strcmp(a, v1) && !strcmp(b, v2))
			return r;
	}
	return NULL;
}

static void fmt_num(char *buf, size_t len, double v)
{
	if (fabs(v) < 1e15 && v == floor(v))
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.6g", v);
}

/* The median column: the figure, or why there is none. */
static void fmt_median(char *buf, size_t len, const struct json *row)
{
	const char *status = row ? str_of(row, "status") : NULL;

	if (!row)
		snprintf(buf, len, "-");
	else if (strcmp(status, "measured"))
		snprintf(buf, len, "%s", status);
	else
		fmt_num(buf, len, num_of(row, "median", NAN));
}

/* A row pair where at least one side is not measured. */
static enum hr_verdict unmeasured_verdict(const struct json *b, const struct json *n)
{
	const char *bs = b ? str_of(b, "status") : NULL;
	const char *ns = n ? str_of(n, "status") : NULL;
	bool bm = bs && !strcmp(bs, "measured"), nm = ns && !strcmp(ns, "measured");

	if (!n)
		return V_GONE;
	/* It used to run: failing, or now said unsupported, is a loss. */
	if (bm && (!strcmp(ns, "failed") || !strcmp(ns, "unsupported")))
		return V_REGRESSION;
	if (nm)
		return V_NEW;		/* nothing to compare it with */
	if (!strcmp(ns, "unsupported") || (bs && !strcmp(bs, "unsupported")))
		return V_UNSUPPORTED;
	return b ? V_FAILED : V_NEW;
}

static void bench_pair(struct cmp *c, const char *bm, const char *mode,
		       const struct json *b, const struct json *n)
{
	char bmed[24], nmed[24], chg[16] = "", band[32] = "";
	bool both = b && n && !strcmp(str_of(b, "status"), "measured") &&
		    !strcmp(str_of(n, "status"), "measured");
	enum hr_verdict v;

	fmt_median(bmed, sizeof(bmed), b);
	fmt_median(nmed, sizeof(nmed), n);
	if (both) {
		struct hr_stats sb, sn;
		double lo, hi;

		stats_from(b, &sb);
		stats_from(n, &sn);
		v = hr_bench_verdict(&sb, &sn, c->threshold, c->exact, &lo, &hi);
		if (sb.median > 0 && sn.median > 0) {
			snprintf(chg, sizeof(chg), "%+.1f%%", (sn.median / sb.median - 1) * 100);
			if (c->exact)
				snprintf(band, sizeof(band), "exact");
			else
				snprintf(band, sizeof(band), "%+.1f%%..%+.1f%%",
					 (lo - 1) * 100, isfinite(hi) ? (hi - 1) * 100 : INFINITY);
		}
		if (v == V_REGRESSION)
			fprintf(c->regs, "REGRESSION bench %s %s: median %s -> %s (%s; %s %s; threshold %g%%)\n",
				bm, mode, bmed, nmed, chg, c->exact ? "icount:" : "95% interval",
				band, c->threshold * 100);
	} else {
		v = unmeasured_verdict(b, n);
		if (v == V_REGRESSION)
			fprintf(c->regs, "REGRESSION bench %s %s: measured in BASE, %s in NEW (%s)\n",
				bm, mode, str_of(n, "status"),
				str_of(n, "reason") ? str_of(n, "reason") : "no reason given");
	}
	c->count[v]++;
	fprintf(c->out, "  %-22s %-10s %13s %13s %8s %-17s %s\n", bm, mode, bmed, nmed,
		chg[0] ? chg : "-", band[0] ? band : "-", hr_verdict_name(v));
}

static void compare_bench(struct cmp *c, const struct run *rb, const struct run *rn)
{
	const struct json *brows = child(rb->doc[F_BENCH].root, "rows");
	const struct json *nrows = child(rn->doc[F_BENCH].root, "rows");
	const char *unit = str_of(rn->doc[F_BENCH].root, "time_unit");

	fprintf(c->out, "bench.json: times in %s\n", unit ? unit : "?");
	if (c->exact)
		fprintf(c->out, "  icount: figures are exact; a median more than %g%% higher is a regression\n",
			c->threshold * 100);
	else
		fprintf(c->out, "  wall time: REGRESSION is a median more than %g%% higher whose ratio's 95%% interval (the noise band) lies above +0%%\n",
			c->threshold * 100);
	fprintf(c->out, "  %-22s %-10s %13s %13s %8s %-17s %s\n", "benchmark", "mode",
		"base median", "new median", "change", c->exact ? "noise" : "95% interval",
		"verdict");
	for (const struct json *r = brows ? brows->child : NULL; r; r = r->next) {
		const char *bm = str_of(r, "benchmark"), *mode = str_of(r, "mode");

		bench_pair(c, bm, mode, r, find_row(nrows, "benchmark", bm, "mode", mode));
	}
	for (const struct json *r = nrows ? nrows->child : NULL; r; r = r->next) {
		const char *bm = str_of(r, "benchmark"), *mode = str_of(r, "mode");

		if (!find_row(brows, "benchmark", bm, "mode", mode))
			bench_pair(c, bm, mode, NULL, r);
	}
}

static bool is_caught(const char *outcome)
{
	for (int i = 0; outcome && caught[i]; i++)
		if (!strcmp(outcome, caught[i]))
			return true;
	return false;
}

/*
 * A cell the host used to catch (prevented or detected) that it no longer
 * catches, whatever the new outcome (missed, crashed, not run, gone), is a
 * detection regression: it fails the comparison whatever the threshold.
 */
static enum hr_verdict inject_verdict(const char *bo, const char *no)
{
	if (!bo)
		return V_NEW;
	if (is_caught(bo) && !is_caught(no))
		return V_REGRESSION;
	if (!no)
		return V_GONE;
	if (!strcmp(bo, no))
		return V_SAME;
	if (!strcmp(bo, "prevented"))
		return V_WEAKER;	/* now detected: took effect, but logged */
	return is_caught(no) ? V_IMPROVED : V_CHANGED;
}

static void inject_cell(struct cmp *c, const char *id, const char *mode,
			const struct json *b, const struct json *n)
{
	const char *bo = b ? str_of(b, "observed") : NULL;
	const char *no = n ? str_of(n, "observed") : NULL;
	enum hr_verdict v = inject_verdict(bo, no);

	c->count[v]++;
	fprintf(c->out, "  %-30s %-10s %-12s %-12s %s\n", id, mode, bo ? bo : "-",
		no ? no : "-", hr_verdict_name(v));
	if (v == V_REGRESSION)
		fprintf(c->regs, "REGRESSION inject %s %s: %s -> %s%s%s\n", id, mode, bo,
			no ? no : "gone from NEW", n && str_of(n, "detail") ? ": " : "",
			n && str_of(n, "detail") ? str_of(n, "detail") : "");
}

static const struct json *find_attack(const struct json *attacks, const char *id)
{
	for (const struct json *a = attacks ? attacks->child : NULL; a; a = a->next)
		if (str_of(a, "id") && !strcmp(str_of(a, "id"), id))
			return a;
	return NULL;
}

/* Every cell of @a, against the same attack in @other (may be NULL). */
static void inject_attack(struct cmp *c, const struct json *a, const struct json *other,
			  bool a_is_base, bool only_missing)
{
	const char *id = str_of(a, "id");
	const struct json *ores = child(other, "results");

	for (const struct json *r = child(a, "results")->child; r; r = r->next) {
		const char *mode = str_of(r, "mode");
		const struct json *o = NULL;

		for (const struct json *x = ores ? ores->child : NULL; x; x = x->next)
			if (!strcmp(str_of(x, "mode"), mode))
				o = x;
		if (only_missing && o)
			continue;
		if (a_is_base)
			inject_cell(c, id, mode, r, o);
		else
			inject_cell(c, id, mode, o, r);
	}
}

static void compare_inject(struct cmp *c, const struct run *rb, const struct run *rn)
{
	const struct json *ba = child(rb->doc[F_INJECT].root, "attacks");
	const struct json *na = child(rn->doc[F_INJECT].root, "attacks");

	fprintf(c->out, "inject.json: a cell prevented or detected in BASE and anything else in NEW is a regression\n");
	fprintf(c->out, "  %-30s %-10s %-12s %-12s %s\n", "attack", "mode", "base", "new", "verdict");
	for (const struct json *a = ba->child; a; a = a->next)
		inject_attack(c, a, find_attack(na, str_of(a, "id")), true, false);
	/* cells NEW has and BASE lacks: new attacks, or new modes of old ones */
	for (const struct json *a = na->child; a; a = a->next)
		inject_attack(c, a, find_attack(ba, str_of(a, "id")), false, true);
}

/* "warning: ... compared anyway" with --force, else the hint; 0 to go on. */
static int refuse_unless(bool force, FILE *err)
{
	if (force) {
		fprintf(err, "warning: compared anyway (--force)\n");
		return 0;
	}
	fprintf(err, "(--force compares them anyway)\n");
	return -1;
}

/*
 * Refuses runs whose figures cannot be compared, naming each rig field
 * that differs; 0 to go on.  A field only one run records is not checked
 * (said on @err).
 */
static int comparable(const struct run *rb, const struct run *rn, bool force, FILE *err)
{
	const struct json *itb = child(rb->doc[F_BENCH].root, "iterations");
	const struct json *itn = child(rn->doc[F_BENCH].root, "iterations");
	int differ = 0;

	for (size_t k = 0; k < NRIG_KEYS; k++) {
		char *b = run_rig_text(rb, rig_keys[k]), *n = run_rig_text(rn, rig_keys[k]);

		if (b && n && strcmp(b, n)) {
			if (!differ++)
				fprintf(err, "%s: runs from different rigs: their figures are not comparable:\n",
					force ? "warning" : "heki-results compare");
			fprintf(err, "  rig.%s differs: BASE %s, NEW %s\n", rig_keys[k], b, n);
		} else if (!b != !n) {
			fprintf(err, "note: rig.%s is not recorded in %s: not checked\n", rig_keys[k],
				b ? "NEW" : "BASE");
		}
		free(b);
		free(n);
	}
	if (differ)
		return refuse_unless(force, err);
	/*
	 * Sample counts differ: medians of 5 and of 200 samples (after
	 * different warm-ups) are different statistics, exact or not.
	 */
	if (itb && itn && itb->type == JSON_NUM && itn->type == JSON_NUM && itb->num != itn->num) {
		fprintf(err, "%s: bench runs with different sample counts: BASE %.0f, NEW %.0f: their figures are not comparable\n",
			force ? "warning" : "heki-results compare", itb->num, itn->num);
		return refuse_unless(force, err);
	}
	return 0;
}

static void print_totals(struct cmp *c, int regressions)
{
	bool first = true;

	fprintf(c->out, "compare:");
	for (int v = 0; v < V_NR; v++)
		if (c->count[v]) {
			fprintf(c->out, "%s %d %s", first ? "" : ",", c->count[v], hr_verdict_name(v));
			first = false;
		}
	fprintf(c->out, "%s: %s\n", first ? " nothing compared" : "",
		regressions ? "REGRESSION" : "no regression");
}

struct opts {
	double threshold;	/* percent */
	bool force;
	const char *before, *suite;
};

/* A NEW run that did not end ok may have partial figures: say so. */
static void note_status(const struct run *r, const char *role, FILE *out)
{
	const char *st = str_of(r->doc[F_SUMMARY].root, "status");

	if (st && strcmp(st, "ok"))
		fprintf(out, "note: %s run %s has status %s%s%s\n", role, run_id(r), st,
			str_of(r->doc[F_SUMMARY].root, "failed_stage") ? " at stage " : "",
			str_of(r->doc[F_SUMMARY].root, "failed_stage") ?
			str_of(r->doc[F_SUMMARY].root, "failed_stage") : "");
}

static int do_compare(struct cmp *c, const struct run *rb, const struct run *rn, FILE *err)
{
	bool bench = rb->has[F_BENCH] && rn->has[F_BENCH];
	bool inject = rb->has[F_INJECT] && rn->has[F_INJECT];

	for (int f = F_BENCH; f <= F_INJECT; f++)
		if (rb->has[f] != rn->has[f])
			fprintf(c->out, "note: only %s has %s: not compared\n",
				rb->has[f] ? "BASE" : "NEW", run_files[f]);
	if (!bench && !inject) {
		fprintf(err, "heki-results compare: no bench.json or inject.json in both runs: nothing to compare\n");
		return HR_USAGE;
	}
	fprintf(c->out, "BASE %s (%s)\nNEW  %s (%s)\nrig  %s%s\n", run_id(rb),
		rig_str(rb, "git_rev"), run_id(rn), rig_str(rn, "git_rev"),
		rig_str(rn, "l0_accel"), rig_icount(rn) ? ", icount" : ", wall time");
	note_status(rb, "BASE", c->out);
	note_status(rn, "NEW", c->out);
	if (bench)
		compare_bench(c, rb, rn);
	if (inject)
		compare_inject(c, rb, rn);
	return HR_OK;
}

static int cmd_compare(const char *base, const char *new, const struct opts *o,
		       FILE *out, FILE *err)
{
	struct run rb, rn;
	struct cmp c = { .threshold = o->threshold / 100, .out = out };
	char *regs = NULL;
	size_t rlen = 0;
	int rc = HR_USAGE, lb, ln;

	lb = load_run(&rb, base, "BASE", err);
	ln = load_run(&rn, new, "NEW", err);
	if (lb || ln) {
		fprintf(err, "heki-results compare: invalid input, nothing compared\n");
		goto out;
	}
	if (comparable(&rb, &rn, o->force, err))
		goto out;
	c.exact = rig_icount(&rb) && rig_icount(&rn);
	c.regs = open_memstream(&regs, &rlen);
	if (!c.regs)
		goto out;
	rc = do_compare(&c, &rb, &rn, err);
	fclose(c.regs);
	if (rc == HR_OK) {
		fputs(regs, out);
		print_totals(&c, c.count[V_REGRESSION]);
		rc = c.count[V_REGRESSION] ? HR_FAIL : HR_OK;
	}
	free(regs);
out:
	free_run(&rb);
	free_run(&rn);
	return rc;
}

/* ----------------------------------------------------------------- history */

/* Writes @s as a JSON string, or null. */
static void jl_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	if (s)
		jw_escape(f, s);
	else
		fputs("null", f);
}

/* "bench": { benchmark: { mode: median } } for the measured rows. */
static void jl_bench(FILE *f, const struct json *rows)
{
	bool first_bm = true;

	fputs(",\"bench\":{", f);
	for (const struct json *r = rows->child; r; r = r->next) {
		const char *bm = str_of(r, "benchmark");
		char num[JSON_NUM_MAX];
		bool first = true;

		/* each benchmark once, at its first row */
		if (find_row(rows, "benchmark", bm, "benchmark", bm) != r)
			continue;
		for (const struct json *s = r; s; s = s->next) {
			if (strcmp(str_of(s, "benchmark"), bm) || strcmp(str_of(s, "status"), "measured"))
				continue;
			if (first) {
				fprintf(f, "%s\"%s\":{", first_bm ? "" : ",", bm);
				first_bm = false;
			}
			fprintf(f, "%s\"%s\":%s", first ? "" : ",", str_of(s, "mode"),
				json_num_str(num, sizeof(num), num_of(s, "median", 0)));
			first = false;
		}
		if (!first)
			fputc('}', f);
	}
	fputc('}', f);
}

/* "inject": { attack: { mode: observed } } */
static void jl_inject(FILE *f, const struct json *attacks)
{
	fputs(",\"inject\":{", f);
	for (const struct json *a = attacks->child; a; a = a->next) {
		fprintf(f, "%s\"%s\":{", a == attacks->child ? "" : ",", str_of(a, "id"));
		for (const struct json *r = child(a, "results")->child; r; r = r->next)
			fprintf(f, "%s\"%s\":\"%s\"", r == child(a, "results")->child ? "" : ",",
				str_of(r, "mode"), str_of(r, "observed"));
		fputc('}', f);
	}
	fputc('}', f);
}

/*
 * A run rig_test made: its scenario, the attempt, and the emulator
 * signature that forgave it (rig/flakes.c; null if none), from the
 * rig_test.json rig_test leaves in the run directory.
 */
static void jl_rig_test(FILE *f, const char *dir)
{
	char path[PATH_MAX], perr[128], *text;
	const char *why;
	const struct json *v;
	struct json *j;
	size_t len;

	snprintf(path, sizeof(path), "%s/rig_test.json", dir);
	text = read_path(path, &len, &why);
	j = text ? json_parse(text, perr, sizeof(perr)) : NULL;
	free(text);
	if (!j)
		return;
	jl_str(f, "scenario", str_of(j, "scenario"));
	v = child(j, "attempt");
	if (v && v->type == JSON_NUM)
		fprintf(f, ",\"attempt\":%.0f", v->num);
	jl_str(f, "retry_signature", str_of(j, "signature"));
	v = child(j, "retried");
	fprintf(f, ",\"retried\":%s", v && v->type == JSON_BOOL && v->boolean ? "true" : "false");
	json_free(j);
}

/* One history.jsonl line (documented in results/README.md). */
static char *history_line(const struct run *r, const char *dir)
{
	const struct json *sum = r->doc[F_SUMMARY].root;
	const char *status = str_of(sum, "status");
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return NULL;
	fputs("{\"run_id\":", f);
	jw_escape(f, run_id(r));
	jl_str(f, "dir", dir);
	jl_str(f, "suite", str_of(sum, "suite"));
	jl_str(f, "started", str_of(sum, "started"));
	jl_str(f, "git_rev", str_of(r->rig, "git_rev"));
	jl_str(f, "l0_accel", str_of(r->rig, "l0_accel"));
	fprintf(f, ",\"icount\":%s", rig_icount(r) ? "true" : "false");
	/* the rest of what compare checks, where the run records it */
	for (size_t k = 2; k < NRIG_KEYS; k++) {
		const struct json *v = NULL;
		char num[JSON_NUM_MAX];

		for (int d = 0; d < F_NR && !v; d++)
			v = child(child(r->doc[d].root, "rig"), rig_keys[k]);
		if (v && v->type == JSON_STR)
			jl_str(f, rig_keys[k], v->str);
		else if (v && v->type == JSON_NUM)
			fprintf(f, ",\"%s\":%s", rig_keys[k], json_num_str(num, sizeof(num), v->num));
	}
	if (r->has[F_BENCH]) {
		const struct json *it = child(r->doc[F_BENCH].root, "iterations");

		jl_str(f, "time_unit", str_of(r->doc[F_BENCH].root, "time_unit"));
		if (it && it->type == JSON_NUM)
			fprintf(f, ",\"iterations\":%.0f", it->num);
	}
	jl_str(f, "status", status ? status : "unknown");
	jl_str(f, "failed_stage", str_of(sum, "failed_stage"));
	jl_rig_test(f, r->dir);
	if (r->has[F_BENCH])
		jl_bench(f, child(r->doc[F_BENCH].root, "rows"));
	if (r->has[F_INJECT])
		jl_inject(f, child(r->doc[F_INJECT].root, "attacks"));
	fputs("}\n", f);
	if (fclose(f)) {
		free(line);
		return NULL;
	}
	return line;
}

/* @rundir relative to @results when it lies inside it, else absolute. */
static void run_dir_rel(const char *results, const char *rundir, char *out, size_t len)
{
	char rres[PATH_MAX], rrun[PATH_MAX];
	size_t n;

	if (!realpath(results, rres) || !realpath(rundir, rrun)) {
		snprintf(out, len, "%s", rundir);
		return;
	}
	n = strlen(rres);
	if (!strncmp(rrun, rres, n) && rrun[n] == '/')
		snprintf(out, len, "%s", rrun + n + 1);
	else
		snprintf(out, len, "%s", rrun);
}

struct hentry {
	char *run_id, *dir, *suite, *status, *l0_accel;
	int icount;		/* -1: unknown */
	int iterations;		/* bench samples per row; -1: unknown or no bench */
	char *rig[NRIG_KEYS];	/* rig_keys[] as text; NULL: not recorded */
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_entry(struct hentry *e)
{
	free(e->run_id);
	free(e->dir);
	free(e->suite);
	free(e->status);
	free(e->l0_accel);
	for (size_t k = 0; k < NRIG_KEYS; k++)
		free(e->rig[k]);
}

static void free_entries(struct hentry *es, int n)
{
	for (int i = 0; i < n; i++)
		free_entry(&es[i]);
	free(es);
}

/*
 * Adds an entry: @line is a history line, or NULL with @sum a run's
 * summary.json and @dir its directory (relative to the results).
 */
static int add_entry(struct hentry **es, int *n, const struct json *line,
		     const struct json *sum, const char *id, const char *dir)
{
	const struct json *src = line ? line : sum;
	const struct json *rig = line ? line : child(sum, "rig");
	const struct json *ic = child(rig, "icount");
	struct hentry *t = realloc(*es, (size_t)(*n + 1) * sizeof(**es)), *e;

	if (!t)
		return -1;
	*es = t;
	e = &t[*n];
	e->run_id = dup_or_null(line ? str_of(line, "run_id") : id);
	e->dir = dup_or_null(line ? str_of(line, "dir") : dir);
	e->suite = dup_or_null(str_of(src, "suite"));
	e->status = dup_or_null(str_of(src, "status"));
	e->l0_accel = dup_or_null(str_of(rig, "l0_accel"));
	e->icount = ic && ic->type == JSON_BOOL ? ic->boolean : -1;
	for (size_t k = 0; k < NRIG_KEYS; k++)
		e->rig[k] = rig_text(child(rig, rig_keys[k]));
	ic = line ? child(line, "iterations") : NULL;
	e->iterations = ic && ic->type == JSON_NUM ? (int)ic->num : -1;
	if (!e->run_id || !e->dir) {
		free_entry(e);
		return -1;
	}
	(*n)++;
	return 0;
}

/*
 * The entries of @text (history.jsonl): one per line that parses and has
 * a run_id; other lines are reported to @err (may be NULL) and skipped,
 * so that one damaged line does not lose the history.
 */
static int parse_history(const char *name, char *text, struct hentry **es, FILE *err)
{
	char perr[256];
	int n = 0, lineno = 0;

	*es = NULL;
	for (char *line = text, *nl; line && *line; line = nl) {
		struct json *j;

		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		lineno++;
		if (!line[strspn(line, " \t\r")])
			continue;
		j = json_parse(line, perr, sizeof(perr));
		if ((!j || add_entry(es, &n, j, NULL, NULL, NULL)) && err)
			fprintf(err, "%s:%d: %s; line skipped\n", name, lineno,
				j ? "no run_id or dir" : perr);
		json_free(j);
	}
	return n;
}

static bool history_has(const struct hentry *es, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(es[i].run_id, id))
			return true;
	return false;
}

/* Appends @line under an exclusive lock unless @id is there already. */
static int append_locked(const char *hpath, const char *id, const char *line,
			 FILE *out, FILE *err)
{
	int fd = open(hpath, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	size_t len = 0, llen = strlen(line);
	struct hentry *es = NULL;
	const char *why = NULL;
	int rc = HR_USAGE, n = 0;
	char *text = NULL;
	bool cut_short;

	/* two runs ending at once must not interleave their lines */
	if (fd < 0 || flock(fd, LOCK_EX)) {
		why = strerror(errno);
		goto out;
	}
	text = read_fd(fd, &len, &why);
	if (!text)
		goto out;
	/* before parse_history(), which cuts the text at its newlines */
	cut_short = len && text[len - 1] != '\n';
	n = parse_history(hpath, text, &es, err);
	if (history_has(es, n, id)) {
		fprintf(out, "%s: %s already recorded\n", hpath, id);
		rc = HR_OK;
		goto out;
	}
	/* a line cut short by a crash must not swallow ours */
	if ((cut_short && write(fd, "\n", 1) != 1) ||
	    write(fd, line, llen) != (ssize_t)llen) {
		why = strerror(errno);
		goto out;
	}
	fprintf(out, "%s: appended %s\n", hpath, id);
	rc = HR_OK;
out:
	if (rc != HR_OK)
		fprintf(err, "%s: %s\n", hpath, why ? why : "cannot append");
	free(text);
	free_entries(es, n);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int cmd_history_append(const char *results, const char *rundir, FILE *out, FILE *err)
{
	char hpath[PATH_MAX], dir[PATH_MAX], *line;
	struct run r;
	int rc = HR_USAGE;

	if (!is_dir(results)) {
		fprintf(err, "%s: not a directory\n", results);
		return HR_USAGE;
	}
	if (load_run(&r, rundir, "RUN", err)) {
		fprintf(err, "heki-results history-append: not recorded\n");
		goto out;
	}
	run_dir_rel(results, rundir, dir, sizeof(dir));
	line = history_line(&r, dir);
	if (!line) {
		fprintf(err, "heki-results history-append: out of memory\n");
		goto out;
	}
	snprintf(hpath, sizeof(hpath), "%s/history.jsonl", results);
	rc = append_locked(hpath, run_id(&r), line, out, err);
	free(line);
out:
	free_run(&r);
	return rc;
}

/* ---------------------------------------------------------------- last-good */

/*
 * What the chosen run must match: status ok, @suite, before @before (run
 * ids start with the time, so they sort in time order), preferably the
 * same rig (l0_accel, icount) as the reference run.
 */
struct want {
	const char *before;	/* run id; NULL: none */
	const char *suite, *l0_accel;
	int icount;
	int iterations;		/* bench samples per row to match; -1: any */
	char *rig[NRIG_KEYS];	/* the reference's rig_keys[] as text (owned) */
};

static int read_history(const char *results, struct hentry **es, FILE *err)
{
	char hpath[PATH_MAX], *text;
	const char *why;
	size_t len;
	int n;

	snprintf(hpath, sizeof(hpath), "%s/history.jsonl", results);
	*es = NULL;
	text = read_path(hpath, &len, &why);
	if (!text)
		return 0;
	n = parse_history(hpath, text, es, err);
	free(text);
	return n;
}

/* Runs not (yet) in the history, as entries made from their summary.json. */
static int scan_runs(const char *results, struct hentry **es)
{
	char path[PATH_MAX], rel[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	*es = NULL;
	snprintf(path, sizeof(path), "%s/runs", results);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct hr_doc doc;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/runs/%s/summary.json", results, de->d_name);
		snprintf(rel, sizeof(rel), "runs/%s", de->d_name);
		if (!hr_check_file(&doc, path, HR_SUMMARY, NULL))
			add_entry(es, &n, NULL, doc.root, de->d_name, rel);
		hr_doc_free(&doc);
	}
	closedir(d);
	return n;
}

/*
 * The same rig as compare sees it: the accelerator and icount, and every
 * other rig_keys[] field that both record (older history lines lack some).
 */
static bool same_rig(const struct hentry *e, const struct want *w)
{
	if (!w->l0_accel)
		return true;
	if (!e->l0_accel || strcmp(e->l0_accel, w->l0_accel) || e->icount != w->icount)
		return false;
	for (size_t k = 0; k < NRIG_KEYS; k++)
		if (e->rig[k] && w->rig[k] && strcmp(e->rig[k], w->rig[k]))
			return false;
	return true;
}

/* The run's bench sample count: the history's, else its bench.json's; -1 if none. */
static int bench_iterations(const struct hentry *e, const char *dir)
{
	char path[PATH_MAX + 16];
	struct hr_doc bench = { 0 };
	const struct json *it;
	int n = -1;

	if (e->iterations >= 0)
		return e->iterations;
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	if (!access(path, R_OK) && !hr_check_file(&bench, path, HR_BENCH, NULL) &&
	    (it = child(bench.root, "iterations")) && it->type == JSON_NUM)
		n = (int)it->num;
	hr_doc_free(&bench);
	return n;
}

static bool eligible(const struct hentry *e, const struct want *w, const char *results)
{
	char path[PATH_MAX];
	int n;

	if (!e->status || strcmp(e->status, "ok"))
		return false;
	if (w->suite && (!e->suite || strcmp(e->suite, w->suite)))
		return false;
	if (w->before && strcmp(e->run_id, w->before) >= 0)
		return false;
	snprintf(path, sizeof(path), "%s%s%s", e->dir[0] == '/' ? "" : results,
		 e->dir[0] == '/' ? "" : "/", e->dir);
	if (!is_dir(path))
		return false;	/* run directories get cleaned up */
	/* compare refuses bench runs of different sample counts */
	if (w->iterations < 0)
		return true;
	n = bench_iterations(e, path);
	return n < 0 || n == w->iterations;
}

/* The newest eligible entry, one of the same rig if there is one. */
static const struct hentry *pick(const struct hentry *es, int n, const struct want *w,
				 const char *results, bool *rig_ok)
{
	const struct hentry *best = NULL, *other = NULL;

	for (int i = 0; i < n; i++) {
		const struct hentry **slot;

		if (!eligible(&es[i], w, results))
			continue;
		slot = same_rig(&es[i], w) ? &best : &other;
		if (!*slot || strcmp(es[i].run_id, (*slot)->run_id) > 0)
			*slot = &es[i];
	}
	*rig_ok = best;
	return best ? best : other;
}

/* "results/runs/X", "results/latest", "X/" -> "X" */
static void id_of(const char *arg, char *out, size_t len)
{
	char real[PATH_MAX], tmp[PATH_MAX];
	const char *p = arg;
	size_t n;

	if (is_dir(arg) && realpath(arg, real))
		p = real;
	snprintf(tmp, sizeof(tmp), "%s", p);
	n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	p = strrchr(tmp, '/');
	snprintf(out, len, "%s", p ? p + 1 : tmp);
}

static const struct hentry *find_entry(const struct hentry *es, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(es[i].run_id, id))
			return &es[i];
	return NULL;
}

/* The newest entry: the reference when no --before is given. */
static const struct hentry *newest(const struct hentry *es, int n)
{
	const struct hentry *e = NULL;

	for (int i = 0; i < n; i++)
		if (!e || strcmp(es[i].run_id, e->run_id) > 0)
			e = &es[i];
	return e;
}

/* Suite and rig to match, from the reference run's own summary.json. */
static void want_from_dir(struct want *w, const char *results, const char *arg,
			  struct hr_doc *doc)
{
	char path[PATH_MAX];
	const struct json *rig;

	if (is_dir(arg))
		snprintf(path, sizeof(path), "%s/summary.json", arg);
	else
		snprintf(path, sizeof(path), "%s/runs/%s/summary.json", results, w->before);
	if (hr_check_file(doc, path, HR_SUMMARY, NULL))
		return;
	rig = child(doc->root, "rig");
	w->suite = str_of(doc->root, "suite");
	w->l0_accel = str_of(rig, "l0_accel");
	w->icount = rig_icount(&(struct run){ .rig = rig });
	for (size_t k = 0; k < NRIG_KEYS; k++)
		w->rig[k] = rig_text(child(rig, rig_keys[k]));
	if (is_dir(arg))
		snprintf(path, sizeof(path), "%s/bench.json", arg);
	else
		snprintf(path, sizeof(path), "%s/runs/%s/bench.json", results, w->before);
	{
		struct hr_doc bench = { 0 };
		const struct json *it;

		if (!access(path, R_OK) && !hr_check_file(&bench, path, HR_BENCH, NULL) &&
		    (it = child(bench.root, "iterations")) && it->type == JSON_NUM)
			w->iterations = (int)it->num;
		hr_doc_free(&bench);
	}
}

static void want_from_entry(struct want *w, const struct hentry *e)
{
	if (!e)
		return;
	w->suite = e->suite;
	w->l0_accel = e->l0_accel;
	w->icount = e->icount;
	w->iterations = e->iterations;
	for (size_t k = 0; k < NRIG_KEYS; k++)
		w->rig[k] = e->rig[k] ? strdup(e->rig[k]) : NULL;
}

static void print_pick(const struct hentry *e, bool rig_ok, const struct want *w,
		       const char *results, const char *how, FILE *out, FILE *err)
{
	if (!rig_ok) {
		fprintf(err, "heki-results last-good: no good run on the same rig (%s%s); taking %s",
			w->l0_accel, w->icount == 1 ? ", icount" : "", e->run_id);
		for (size_t k = 0; k < NRIG_KEYS; k++)
			if (e->rig[k] && w->rig[k] && strcmp(e->rig[k], w->rig[k]))
				fprintf(err, "; rig.%s %s there, %s here", rig_keys[k], e->rig[k],
					w->rig[k]);
		fprintf(err, "\n");
	}
	if (how)
		fprintf(err, "heki-results last-good: %s %s\n", e->run_id, how);
	if (e->dir[0] == '/')
		fprintf(out, "%s\n", e->dir);
	else
		fprintf(out, "%s/%s\n", results, e->dir);
}

static int cmd_last_good(const char *results, const struct opts *o, FILE *out, FILE *err)
{
	struct want w = { .icount = -1, .iterations = -1 };
	struct hentry *es, *scanned = NULL;
	const struct hentry *e;
	struct hr_doc ref = { 0 };
	char before[NAME_MAX + 1];
	int n = read_history(results, &es, err), ns = 0;
	bool rig_ok;

	if (!is_dir(results)) {
		fprintf(err, "%s: not a directory\n", results);
		free_entries(es, n);
		return HR_USAGE;
	}
	if (o->before) {
		id_of(o->before, before, sizeof(before));
		w.before = before;
		if (find_entry(es, n, before))
			want_from_entry(&w, find_entry(es, n, before));
		else
			want_from_dir(&w, results, o->before, &ref);
	} else {
		want_from_entry(&w, newest(es, n));
	}
	if (o->suite)
		w.suite = o->suite;
	e = pick(es, n, &w, results, &rig_ok);
	if (e) {
		print_pick(e, rig_ok, &w, results, NULL, out, err);
	} else {
		/* runs older than the history, or a history lost */
		ns = scan_runs(results, &scanned);
		e = pick(scanned, ns, &w, results, &rig_ok);
		if (e)
			print_pick(e, rig_ok, &w, results, "is not in history.jsonl; found in runs/",
				   out, err);
		else
			fprintf(err, "heki-results last-good: no run with status ok%s%s%s%s in %s\n",
				w.suite ? " of suite " : "", w.suite ? w.suite : "",
				w.before ? " before " : "", w.before ? w.before : "", results);
	}
	free_entries(scanned, ns);
	free_entries(es, n);
	hr_doc_free(&ref);
	for (size_t k = 0; k < NRIG_KEYS; k++)
		free(w.rig[k]);
	return e ? HR_OK : HR_FAIL;
}

/* ------------------------------------------------------------- command line */

static int usage(FILE *err, const char *msg)
{
	if (msg)
		fprintf(err, "heki-results: %s\n", msg);
	fputs("usage: heki-results check FILE...\n"
	      "       heki-results compare BASE_DIR NEW_DIR [--threshold PCT] [--force]\n"
	      "       heki-results history-append RESULTS_DIR RUN_DIR\n"
	      "       heki-results last-good RESULTS_DIR [--before RUN] [--suite SUITE]\n"
	      "exit: 0 ok, 1 invalid file / regression / no run found, 2 usage or unusable input\n"
	      "(results/README.md documents each)\n", err);
	return HR_USAGE;
}

static bool parse_threshold(const char *s, double *pct)
{
	char *end;

	errno = 0;
	*pct = strtod(s, &end);
	if (*end == '%')
		end++;
	return end != s && !*end && !errno && isfinite(*pct) && *pct >= 0 && *pct < 1e6;
}

/* Whether @word is one of the space-separated words of @list. */
static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

/*
 * Splits argv[2..] into positionals and options; an option's value is the
 * next word or follows '='.  @allowed lists the options the command takes.
 */
static int parse_args(int argc, char **argv, const char *allowed, struct opts *o,
		      char **pos, int *npos, FILE *err)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		char name[32];

		if (strncmp(a, "--", 2) || !a[2]) {
			pos[(*npos)++] = argv[i];
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(a, "="), a);
		if (!word_in(allowed, name))
			return usage(err, "unknown option for this command");
		if (strcmp(name, "--force")) {
			val = strchr(a, '=') ? strchr(a, '=') + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!val)
				return usage(err, "option needs a value");
		}
		if (!strcmp(name, "--force"))
			o->force = true;
		else if (!strcmp(name, "--threshold") && !parse_threshold(val, &o->threshold))
			return usage(err, "--threshold wants a percentage >= 0, e.g. 10");
		else if (!strcmp(name, "--before"))
			o->before = val;
		else if (!strcmp(name, "--suite"))
			o->suite = val;
	}
	return 0;
}

static int dispatch(const char *cmd, char **pos, int npos, struct opts *o,
		    FILE *out, FILE *err)
{
	if (!strcmp(cmd, "check"))
		return npos ? cmd_check(npos, pos, out, err) : usage(err, "check needs files");
	if (!strcmp(cmd, "compare"))
		return npos == 2 ? cmd_compare(pos[0], pos[1], o, out, err) :
		       usage(err, "compare needs BASE_DIR and NEW_DIR");
	if (!strcmp(cmd, "history-append"))
		return npos == 2 ? cmd_history_append(pos[0], pos[1], out, err) :
		       usage(err, "history-append needs RESULTS_DIR and RUN_DIR");
	if (!strcmp(cmd, "last-good"))
		return npos == 1 ? cmd_last_good(pos[0], o, out, err) :
		       usage(err, "last-good needs RESULTS_DIR");
	return usage(err, "unknown command");
}

int hr_main(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct { const char *cmd, *opts; } cmds[] = {
		{ "check", "" }, { "compare", "--threshold --force" },
		{ "history-append", "" }, { "last-good", "--before --suite" },
	};
	struct opts o = { .threshold = 10 };
	const char *allowed = NULL;
	char **pos;
	int npos = 0, rc;

	if (argc < 2)
		return usage(err, NULL);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(out, NULL);
		return HR_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].cmd))
			allowed = cmds[i].opts;
	if (!allowed)
		return usage(err, "unknown command");
	pos = calloc((size_t)argc, sizeof(*pos));
	if (!pos)
		return HR_USAGE;
	rc = parse_args(argc, argv, allowed, &o, pos, &npos, err);
	if (!rc)
		rc = dispatch(argv[1], pos, npos, &o, out, err);
	free(pos);
	fflush(out);
	return rc;
}
