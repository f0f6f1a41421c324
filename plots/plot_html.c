// SPDX-License-Identifier: GPL-2.0
/*
 * RUN_DIR/index.html: one static page per run (no script, no network, so
 * it opens from a file:// URL or any static server as it is), showing the
 * environment the figures came from before the figures themselves.  Every
 * path in it is relative to the run directory, so the page works through
 * the results/latest symlink and when a run directory is copied elsewhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heki_plot.h"

void html_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char style[] =
	"body{font-family:sans-serif;margin:1.5em auto;max-width:1320px;color:#222}"
	"table{border-collapse:collapse;margin:.5em 0}"
	"td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}"
	"th{background:#f2f2f2}"
	"img{max-width:100%;height:auto;border:1px solid #ddd}"
	".warn{background:#fff3cd;border:1px solid #e0b000;padding:.5em .8em}"
	".skipped{color:#666;font-style:italic}"
	".bad{color:#b00020;font-weight:bold}"
	".sw{display:inline-block;width:1em;height:1em;vertical-align:middle;"
	"margin:0 .3em 0 1em;border:1px solid #888}"
	"code{background:#f6f6f6;padding:0 .2em}";

/* ------------------------------------------------------------ values */

/* summary.json first; bench.json and inject.json carry part of rig too. */
static const struct json *env_value(const struct run *r, const char *path)
{
	const struct json *src[] = { r->summary, r->bench, r->inject };

	for (size_t i = 0; i < 3; i++) {
		const struct json *v = src[i] ? json_get(src[i], path) : NULL;

		if (v)
			return v;
	}
	return NULL;
}

static void html_value(FILE *f, const struct json *v)
{
	if (!v || v->type == JSON_NULL) {
		fputs("<span class=\"skipped\">not recorded</span>", f);
		return;
	}
	switch (v->type) {
	case JSON_STR: html_esc(f, v->str); break;
	case JSON_NUM: fprintf(f, "%g", v->num); break;
	case JSON_BOOL: fputs(v->boolean ? "yes" : "no", f); break;
	default: fputs("(structured)", f); break;
	}
}

static void row_start(FILE *f, const char *label)
{
	fputs("<tr><th>", f);
	html_esc(f, label);
	fputs("</th><td>", f);
}

static void env_row(FILE *f, const struct run *r, const char *label,
		    const char *path)
{
	row_start(f, label);
	html_value(f, env_value(r, path));
	fputs("</td></tr>\n", f);
}

/* ------------------------------------------------------------ sections */

static void html_head(FILE *f, const struct run *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<title>Heki run ", f);
	html_esc(f, r->run_id);
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Heki run <code>",
		style);
	html_esc(f, r->run_id);
	fputs("</code></h1>\n", f);
}

static void html_about(FILE *f, const struct run *r)
{
	const char *tb = jstr(r->summary, "rig.time_base");

	if (r->tcg)
		fputs("<p class=\"warn\"><strong>TCG: not hardware figures.</strong> "
		      "L0 ran this rig under QEMU's TCG emulator: the times below "
		      "measure an emulated machine and say nothing about the cost "
		      "of Heki on real hardware; exit, hypercall and attack counts "
		      "are still exact.</p>\n", f);
	fputs("<h2>What these figures are</h2>\n<p>Charts of the run records in "
	      "this directory: <code>bench.json</code> (<code>make run "
	      "SUITE=bench</code>: every benchmark in every protection mode), "
	      "<code>inject.json</code> (<code>SUITE=attacks</code>: every "
	      "simulated attack in every mode) and, for the trends, the results' "
	      "history file.  Schemas: <code>results/README.md</code>; how each "
	      "chart is drawn: <code>plots/README.md</code>.  Each chart is "
	      "shown as PNG and linked as SVG, beside the gnuplot data it was "
	      "drawn from.", f);
	if (r->time_unit) {
		fputs("  Times are in <strong>", f);
		html_esc(f, r->time_unit);
		fputs("</strong>", f);
		if (tb) {
			fputs("; time base: ", f);
			html_esc(f, tb);
		}
		fputc('.', f);
	}
	fputs("</p>\n", f);
}

static void html_status(FILE *f, const struct run *r)
{
	const char *st = jstr(r->summary, "status");

	row_start(f, "status");
	if (!st) {
		html_value(f, NULL);
	} else {
		fprintf(f, "<span class=\"%s\">", strcmp(st, "ok") ? "bad" : "ok");
		html_esc(f, st);
		fputs("</span>", f);
	}
	if (jstr(r->summary, "failed_stage")) {
		fputs(" in stage ", f);
		html_esc(f, jstr(r->summary, "failed_stage"));
	}
	if (jstr(r->summary, "error")) {
		fputs(": ", f);
		html_esc(f, jstr(r->summary, "error"));
	}
	fputs("</td></tr>\n", f);
}

static const char *const env_rows[][2] = {
	{ "suite", "suite" }, { "modes (MODES)", "modes" },
	{ "started (UTC)", "started" }, { "duration (s, wall on L0)", "duration_s" },
	{ "L0 accelerator", "rig.l0_accel" }, { "icount", "rig.icount" },
	{ "time base", "rig.time_base" }, { "L0 CPU", "rig.l0_cpu" },
	{ "L0 kernel", "rig.l0_kernel" }, { "L0 QEMU", "rig.l0_qemu" },
	{ "L1 host kernel", "rig.host_kernel" }, { "L1 CPU", "rig.host_cpu" },
	{ "L1 virtualization", "rig.host_virt" }, { "L2 guest kernel", "rig.guest_kernel" },
	{ "modules built for", "rig.guest_kernel_built_for" },
	{ "vCPUs L1", "rig.l1_vcpus" }, { "vCPUs L2", "rig.l2_vcpus" },
	{ "git revision", "rig.git_rev" },
	{ "Heki ABI (from the host)", "heki.abi_version" },
	{ "answered by our host (nonces match)", "heki.answered_by_our_host" },
};

static const char *const bench_rows_env[][2] = {
	{ "bench: time unit", "time_unit" }, { "bench: samples per row", "iterations" },
	{ "bench: statistics", "statistics" }, { "bench: host counters", "host_counters" },
	{ "bench: CPU counters", "counters" },
};

static void html_env(FILE *f, const struct run *r)
{
	fputs("<h2>Environment</h2>\n<table>\n", f);
	row_start(f, "run id");
	html_esc(f, r->run_id);
	fputs("</td></tr>\n", f);
	html_status(f, r);
	for (size_t i = 0; i < sizeof(env_rows) / sizeof(env_rows[0]); i++)
		env_row(f, r, env_rows[i][0], env_rows[i][1]);
	for (size_t i = 0; r->bench && i < sizeof(bench_rows_env) / sizeof(bench_rows_env[0]); i++) {
		row_start(f, bench_rows_env[i][0]);
		html_value(f, json_get(r->bench, bench_rows_env[i][1]));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void html_notes(FILE *f, const struct run *r)
{
	if (!r->nnotes)
		return;
	fputs("<h2>Notes</h2>\n<ul>\n", f);
	for (int i = 0; i < r->nnotes; i++) {
		fputs("<li>", f);
		html_esc(f, r->notes[i]);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

/* ------------------------------------------------------------ figures */

static void html_figure(FILE *f, const struct run *r, const struct plot *p)
{
	fprintf(f, "<figure>\n<img src=\"plots/%s.png\" width=\"%d\" height=\"%d\" alt=\"",
		p->name, p->width, p->height);
	html_esc(f, p->heading);
	fputs(", run ", f);
	html_esc(f, r->run_id);
	if (r->tcg)
		fputs(" (TCG: not hardware figures)", f);
	fputs(". ", f);
	html_esc(f, p->explain);
	fprintf(f, "\">\n<figcaption>SVG: <a href=\"plots/%s.svg\">plots/%s.svg</a>"
		" &middot; data: <a href=\"plots/%s.dat\">plots/%s.dat</a></figcaption>\n"
		"</figure>\n", p->name, p->name, p->name, p->name);
}

static void html_plot(FILE *f, const struct run *r, const struct plot *p)
{
	fprintf(f, "<section id=\"%s\">\n<h2>", p->name);
	html_esc(f, p->heading);
	fputs("</h2>\n<p>", f);
	html_esc(f, p->explain);
	fputs("</p>\n", f);
	if (p->state == PLOT_MADE) {
		html_figure(f, r, p);
	} else {
		fprintf(f, "<p class=\"%s\">Not drawn: ",
			p->state == PLOT_FAILED ? "bad" : "skipped");
		html_esc(f, p->note[0] ? p->note : "nothing to draw");
		fputs(".</p>\n", f);
	}
}

/* Rows that were not measured, one line per mode, status and reason. */
struct unmeasured {
	const char *mode, *status, *reason;
	int count;
	char names[512];
};

static int unmeasured_group(struct unmeasured *g, int n, const struct json *row)
{
	const char *m = jstr(row, "mode") ?: "?", *st = jstr(row, "status") ?: "?";
	const char *why = jstr(row, "reason") ?: "";
	const char *b = jstr(row, "benchmark") ?: "?";
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(g[i].mode, m) && !strcmp(g[i].status, st) &&
		    !strcmp(g[i].reason, why))
			break;
	if (i == n) {
		if (n == 32)
			return n;
		g[n++] = (struct unmeasured){ m, st, why, 0, "" };
	}
	size_t len = strlen(g[i].names);

	snprintf(g[i].names + len, sizeof(g[i].names) - len, "%s%s",
		 g[i].count++ ? ", " : "", b);
	return n;
}

static void html_unmeasured(FILE *f, const struct run *r)
{
	const struct json *rows = json_get(r->bench, "rows");
	static struct unmeasured g[32];
	int n = 0;

	for (rows = rows ? rows->child : NULL; rows; rows = rows->next) {
		const char *st = jstr(rows, "status");

		if (!st || strcmp(st, "measured"))
			n = unmeasured_group(g, n, rows);
	}
	if (!n)
		return;
	fputs("<h3>Rows not measured</h3>\n<table>\n<tr><th>mode</th><th>status</th>"
	      "<th>reason</th><th>benchmarks</th></tr>\n", f);
	for (int i = 0; i < n; i++) {
		fputs("<tr><td>", f);
		html_esc(f, g[i].mode);
		fputs("</td><td>", f);
		html_esc(f, g[i].status);
		fputs("</td><td>", f);
		html_esc(f, g[i].reason);
		fputs("</td><td>", f);
		html_esc(f, g[i].names);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void html_legend(FILE *f)
{
	static const char *const legend[][2] = {
		{ "#2e7d32", "prevented" }, { "#f9a825", "detected" },
		{ "#c62828", "missed" }, { "#bdbdbd", "n/a" },
		{ "#6a1b9a", "not as expected (mismatch, crashed, error, not run)" },
	};

	fputs("<p>", f);
	for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++)
		fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>%s",
			legend[i][0], legend[i][1]);
	fputs("</p>\n", f);
}

static void mismatch_row(FILE *f, const struct json *atk, const struct json *res)
{
	const char *obs = jstr(res, "observed"), *exp = jstr(res, "expected");
	const struct json *m = json_get(res, "match");

	/* The same rule as the grid's purple cells (heki_plot.c). */
	if (m && m->type == JSON_BOOL ? m->boolean : obs && exp && !strcmp(obs, exp))
		return;
	fputs("<tr><td>", f);
	html_esc(f, jstr(atk, "id") ?: "?");
	fputs("</td><td>", f);
	html_esc(f, jstr(res, "mode") ?: "?");
	fputs("</td><td>", f);
	html_esc(f, jstr(res, "expected") ?: "?");
	fputs("</td><td class=\"bad\">", f);
	html_esc(f, jstr(res, "observed") ?: "?");
	fputs("</td><td>", f);
	html_esc(f, jstr(res, "detail") ?: jstr(res, "reason") ?: "");
	fputs("</td></tr>\n", f);
}

static void html_mismatches(FILE *f, const struct run *r)
{
	const struct json *a = json_get(r->inject, "attacks");
	long pos;

	if (!a || a->type != JSON_ARR)
		return;
	fputs("<h3>Cells not as expected</h3>\n<table>\n<tr><th>attack</th><th>mode</th>"
	      "<th>expected</th><th>observed</th><th>detail</th></tr>\n", f);
	pos = ftell(f);
	for (a = a->child; a; a = a->next) {
		const struct json *res = json_get(a, "results");

		for (res = res ? res->child : NULL; res; res = res->next)
			mismatch_row(f, a, res);
	}
	if (ftell(f) == pos)
		fputs("<tr><td colspan=\"5\">none: every cell is what the catalogue "
		      "expects</td></tr>\n", f);
	fputs("</table>\n", f);
}

static void html_history(FILE *f, const struct run *r)
{
	if (!r->nhist)
		return;
	fputs("<h3>Runs in the history (newest first)</h3>\n<table>\n<tr><th>run</th>"
	      "<th>status</th><th>L0</th><th>icount</th><th>git revision</th></tr>\n", f);
	for (int i = r->nhist - 1; i >= 0; i--) {
		const struct hist_run *h = &r->hist[i];

		fputs("<tr><td>", f);
		html_esc(f, h->id);
		fputs("</td><td>", f);
		html_esc(f, h->status ?: "?");
		fputs("</td><td>", f);
		html_esc(f, h->accel ?: "?");
		fprintf(f, "</td><td>%s</td><td>", h->icount < 0 ? "?" : h->icount ? "yes" : "no");
		html_esc(f, h->git_rev ?: "?");
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/*
 * A failed run's forensic record (summary.json "failure", rig/rigrun.c):
 * how it failed, each level's first oops and its function, the host's
 * record of an L2 vCPU's triple fault, the stall dumps.
 */
static void html_failure(FILE *f, const struct run *r)
{
	static const char *const oopses[][2] = { { "failure.l1_oops", "L1 oops" },
						 { "failure.l2_oops", "L2 oops" } };
	const struct json *fail = r->summary ? json_get(r->summary, "failure") : NULL;
	const struct json *sd, *v;

	if (!fail || fail->type != JSON_OBJ)
		return;
	fputs("<h2>Failure</h2>\n<table>\n<tr><th>how</th><td>", f);
	html_esc(f, jstr(fail, "how") ?: "?");
	fputs(" in stage ", f);
	html_esc(f, jstr(fail, "stage") ?: "?");
	fputs("</td></tr>\n<tr><th>error</th><td>", f);
	html_esc(f, jstr(r->summary, "error") ?: "");
	fputs("</td></tr>\n", f);
	for (int i = 0; i < 2; i++) {
		const struct json *o = json_get(r->summary, oopses[i][0]);

		if (!o || o->type != JSON_OBJ)
			continue;
		fprintf(f, "<tr><th>%s</th><td>in <code>", oopses[i][1]);
		html_esc(f, jstr(o, "function") ?: "?");
		fputs("</code>: ", f);
		html_esc(f, jstr(o, "headline") ?: "");
		fputs("<details><summary>report</summary><pre>", f);
		html_esc(f, jstr(o, "text") ?: "");
		fputs("</pre></details></td></tr>\n", f);
	}
	sd = json_get(fail, "l2_shutdown");
	if (sd && sd->type == JSON_OBJ) {
		fputs("<tr><th>L2 triple fault</th><td>", f);
		for (v = sd->child; v; v = v->next) {
			if (v->type != JSON_STR)
				continue;
			html_esc(f, v->key);
			fputs("=<code>", f);
			html_esc(f, v->str);
			fputs("</code> ", f);
		}
		fputs("</td></tr>\n", f);
	}
	v = json_get(fail, "stall_dumps");
	if (v && v->type == JSON_ARR && v->child) {
		fputs("<tr><th>stall dumps</th><td>", f);
		for (v = v->child; v; v = v->next)
			if (v->type == JSON_STR) {
				fputs("<a href=\"", f);
				html_esc(f, v->str);
				fputs("\">", f);
				html_esc(f, v->str);
				fputs("</a> ", f);
			}
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/*
 * Flake rate per rig scenario and L0 over the runs in the history that
 * rig_test made (a "scenario" field): the share of runs a retry forgave,
 * with the signatures that did.
 */
static void html_flakes(FILE *f, const struct run *r)
{
	struct { const char *scenario, *accel; int runs, retried; char sigs[256]; } g[32];
	int ng = 0;

	for (int i = 0; i < r->nhist; i++) {
		const char *sc = jstr(r->hist[i].j, "scenario"), *sig;
		const struct json *rt = json_get(r->hist[i].j, "retried");
		int k;

		if (!sc)
			continue;
		for (k = 0; k < ng; k++)
			if (!strcmp(g[k].scenario, sc) &&
			    !strcmp(g[k].accel, r->hist[i].accel ?: "?"))
				break;
		if (k == ng) {
			if (ng == 32)
				continue;
			g[ng].scenario = sc;
			g[ng].accel = r->hist[i].accel ?: "?";
			g[ng].runs = g[ng].retried = 0;
			g[ng].sigs[0] = '\0';
			ng++;
		}
		g[k].runs++;
		if (!rt || rt->type != JSON_BOOL || !rt->boolean)
			continue;
		g[k].retried++;
		sig = jstr(r->hist[i].j, "retry_signature") ?: "?";
		if (!strstr(g[k].sigs, sig))
			snprintf(g[k].sigs + strlen(g[k].sigs), sizeof(g[k].sigs) - strlen(g[k].sigs),
				 "%s%s", g[k].sigs[0] ? ", " : "", sig);
	}
	if (!ng)
		return;
	fputs("<h3>Flake rate of the rig scenarios (runs in the history; a retry only "
	      "for an emulator signature of rig/flakes.c)</h3>\n<table>\n<tr><th>scenario</th>"
	      "<th>L0</th><th>runs</th><th>retried</th><th>flake rate</th><th>signatures</th></tr>\n", f);
	for (int k = 0; k < ng; k++) {
		fputs("<tr><td>", f);
		html_esc(f, g[k].scenario);
		fputs("</td><td>", f);
		html_esc(f, g[k].accel);
		fprintf(f, "</td><td>%d</td><td>%d</td><td>%.0f%%</td><td>", g[k].runs, g[k].retried,
			100.0 * g[k].retried / g[k].runs);
		html_esc(f, g[k].sigs);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void html_body(FILE *f, const struct run *r)
{
	html_head(f, r);
	html_about(f, r);
	html_env(f, r);
	html_notes(f, r);
	html_failure(f, r);
	for (int i = 0; i < PLOT_COUNT; i++) {
		html_plot(f, r, &r->plots[i]);
		if (i == PLOT_EXITS)
			html_unmeasured(f, r);
		if (i == PLOT_ATTACKS && r->inject) {
			html_legend(f);
			html_mismatches(f, r);
		}
		if (i == PLOT_TRENDS) {
			html_history(f, r);
			html_flakes(f, r);
		}
		fputs("</section>\n", f);
	}
	fputs("<footer><p>Written by <code>heki-plot</code> (plots/README.md). "
	      "A static page: no scripts, nothing fetched from the network.</p></footer>\n"
	      "</body>\n</html>\n", f);
}

/* Written beside and renamed: a reader never sees half a page. */
int html_write(struct run *r)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/index.html", r->dir);
	snprintf(tmp, sizeof(tmp), "%s/.index.html.tmp", r->dir);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "heki-plot: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	html_body(f, r);
	if (ferror(f) | fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "heki-plot: writing %s failed: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
