// SPDX-License-Identifier: GPL-2.0
/*
 * heki-plot RUN_DIR [--history FILE]: charts of one run and a static
 * RUN_DIR/index.html that shows them beside the run's environment.
 * heki-plot --dashboard RESULTS_DIR: the same for RESULTS_DIR/latest, with
 * RESULTS_DIR/history.jsonl as the history when it exists.
 *
 * The C side only reads the run records (rig/json.c) and writes plain
 * gnuplot data files; every drawing decision lives in plots/<name>.gp, run
 * once per chart with its inputs as -e variables.  A missing input skips
 * its charts with a note; a broken one (bad JSON, gnuplot failing) is an
 * error, but the page is still written with whatever could be drawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heki_plot.h"

#ifndef HEKI_PLOT_GP_DIR
#define HEKI_PLOT_GP_DIR "plots"
#endif

static const struct plot plot_defs[PLOT_COUNT] = {
	[PLOT_LATENCY] = { "latency", "Latency per operation", "Median time of one "
		"operation per benchmark and protection mode, on a log scale; the "
		"bar on each point spans the fastest sample (min) to the 90th "
		"percentile (p90).", 1280, 720 },
	[PLOT_OVERHEAD] = { "overhead", "Overhead against protection off",
		"Each row's median divided by the same benchmark's median in mode "
		"off of the same run (bench.json's overhead_vs_off); 1 (dashed "
		"line) is no cost.  Log scale.", 1280, 720 },
	[PLOT_EXITS] = { "exits", "VM exits per operation", "Host VM exits "
		"per operation of the benchmark's vCPU, from HEKI_HC_STATS around "
		"the sample loop (interrupts and IPIs count too); rows timed from "
		"user space have no exit count.  Log scale, zero drawn as a label "
		"on the axis.", 1280, 720 },
	[PLOT_ATTACKS] = { "attacks", "Attack matrix", "Observed outcome of "
		"each simulated attack in each mode.  Green: prevented (no effect, "
		"host logged it); amber: detected (effect, host logged it); red: "
		"missed (effect, nothing logged); grey: n/a (the mode does not "
		"exist on this rig); purple: observed differs from the catalogue's "
		"expectation, or the attack crashed, erred or did not run (the "
		"cell names the expected outcome).", 1000, 0 },
	[PLOT_TRENDS] = { "trends", "Trends over runs", "Median of a few "
		"headline benchmark rows in each run of the history file, oldest "
		"first; each run is labelled with its L0 accelerator.  Runs with "
		"different time bases (TCG, icount, hardware) are not comparable "
		"with each other: only runs of this run's rig are drawn.", 1280, 720 },
};

/* ------------------------------------------------------------ helpers */

static void vnote(char *buf, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(buf, len, fmt, ap);
}

void run_note(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nnotes >= MAX_NOTES)
		return;
	va_start(ap, fmt);
	vnote(r->notes[r->nnotes++], sizeof(r->notes[0]), fmt, ap);
	va_end(ap);
}

void plot_skip(struct run *r, struct plot *p, const char *fmt, ...)
{
	va_list ap;

	(void)r;
	va_start(ap, fmt);
	vnote(p->note, sizeof(p->note), fmt, ap);
	va_end(ap);
	p->state = PLOT_SKIPPED;
}

void plot_fail(struct run *r, struct plot *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(p->note, sizeof(p->note), fmt, ap);
	va_end(ap);
	p->state = PLOT_FAILED;
	r->errors++;
}

char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int saved;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *t = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!t)
				goto fail;
			buf = t;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
fail:
	saved = errno ? errno : EIO;
	fclose(f);
	free(buf);
	errno = saved;
	return NULL;
}

const char *jstr(const struct json *j, const char *path)
{
	const struct json *v = j ? json_get(j, path) : NULL;

	return v && v->type == JSON_STR ? v->str : NULL;
}

double jnum(const struct json *j, const char *path)
{
	const struct json *v = j ? json_get(j, path) : NULL;

	return v && v->type == JSON_NUM ? v->num : NAN;
}

static int jbool(const struct json *j, const char *path)
{
	const struct json *v = j ? json_get(j, path) : NULL;

	return v && v->type == JSON_BOOL ? v->boolean : -1;
}

/* Data files: NaN is what gnuplot skips as an undefined point. */
void fmt_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, " %.9g", v);
	else
		fputs(" NaN", f);
}

/* A string column: quoted, with nothing that could end the quotes. */
void data_str(FILE *f, const char *s)
{
	fputs(" \"", f);
	for (; *s; s++)
		fputc(*s == '"' || *s == '\\' || *s == '\n' ? '\'' : *s, f);
	fputc('"', f);
}

/* ------------------------------------------------------------ gnuplot */

/*
 * Values go in single quotes: gnuplot runs `command` substitution inside
 * double-quoted strings, and bench.json's text must never become a shell
 * command.  A single quote is written twice, which is gnuplot's escape.
 */
void gp_str(struct gpvars *v, const char *name, const char *val)
{
	size_t len = strlen(name) + 2 * strlen(val) + 8;
	char *s = malloc(len), *o;

	if (!s || v->n >= GP_MAX_ARGS)
		goto drop;
	o = s + sprintf(s, "%s='", name);
	for (; *val; val++) {
		if (*val == '\'')
			*o++ = '\'';
		*o++ = *val == '\n' ? ' ' : *val;
	}
	strcpy(o, "'");
	v->argv[v->n++] = s;
	return;
drop:
	free(s);
	fprintf(stderr, "heki-plot: too many gnuplot variables, dropped %s\n", name);
}

/*
 * A long text as up to three lines, name1..name3, broken at spaces: an
 * axis label as long as an icount time unit does not fit along one axis.
 * The scripts join them (common.gp).
 */
void gp_lines(struct gpvars *v, const char *name, const char *text, size_t width)
{
	char var[64], line[512];

	for (int i = 1; i <= 3; i++) {
		size_t n = strlen(text);

		if (n > width && i < 3) {
			n = width;
			while (n && text[n] != ' ')
				n--;
			if (!n)
				n = strcspn(text, " ");
		}
		snprintf(line, sizeof(line), "%.*s", (int)n, text);
		snprintf(var, sizeof(var), "%s%d", name, i);
		gp_str(v, var, line);
		text += n;
		text += strspn(text, " ");
	}
}

void gp_num(struct gpvars *v, const char *name, double val)
{
	char *s;

	if (v->n >= GP_MAX_ARGS || asprintf(&s, "%s=%.9g", name, val) < 0)
		return;
	v->argv[v->n++] = s;
}

static void gp_free(struct gpvars *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->argv[i]);
	v->n = 0;
}

static void out_path(char *buf, size_t len, const struct run *r,
		     const struct plot *p, const char *ext)
{
	snprintf(buf, len, "%s/%s.%s", r->plots_dir, p->name, ext);
}

/* The second line of every title: which run, and what its times are. */
static void subtitle(const struct run *r, char *buf, size_t len)
{
	snprintf(buf, len, "run %s  |  L0 %s%s%s", r->run_id,
		 r->accel ? r->accel : "unknown", r->icount == 1 ? ", icount" : "",
		 r->tcg ? "  |  TCG: not hardware figures" : "");
}

static pid_t gp_spawn(char **argv, const char *log)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* A chart exists when both files are there and look like what they are. */
static int check_outputs(struct run *r, struct plot *p)
{
	static const char png_magic[8] = "\x89PNG\r\n\x1a\n";
	char path[PATH_MAX + 64];
	size_t len;
	char *b;
	int ok;

	out_path(path, sizeof(path), r, p, "png");
	b = slurp(path, &len);
	ok = b && len > sizeof(png_magic) && !memcmp(b, png_magic, 8);
	free(b);
	if (!ok)
		return -1;
	out_path(path, sizeof(path), r, p, "svg");
	b = slurp(path, &len);
	ok = b && strstr(b, "<svg") && strstr(b, "</svg>");
	free(b);
	return ok ? 0 : -1;
}

static void show_log(const char *log)
{
	char *b = slurp(log, NULL);

	if (b && *b)
		fprintf(stderr, "%s", b);
	free(b);
}

static void remove_empty(const char *path)
{
	struct stat st;

	if (!stat(path, &st) && st.st_size == 0)
		unlink(path);
}

int gp_run(struct run *r, struct plot *p, struct gpvars *v)
{
	char script[PATH_MAX], log[PATH_MAX + 64], data[PATH_MAX + 64];
	char base[PATH_MAX + 64], sub[512], loadpath[PATH_MAX + 32];
	char *argv[2 * GP_MAX_ARGS + 8];
	int argc = 0, status;
	pid_t pid;

	out_path(data, sizeof(data), r, p, "dat");
	out_path(log, sizeof(log), r, p, "log");
	snprintf(base, sizeof(base), "%s/%s", r->plots_dir, p->name);
	snprintf(script, sizeof(script), "%s/%s.gp", r->gp_dir, p->name);
	snprintf(loadpath, sizeof(loadpath), "set loadpath '%s'", r->gp_dir);
	subtitle(r, sub, sizeof(sub));
	gp_str(v, "datafile", data);
	gp_str(v, "outbase", base);
	gp_str(v, "subtitle", sub);
	gp_num(v, "width", p->width);
	gp_num(v, "height", p->height);

	argv[argc++] = "gnuplot";
	argv[argc++] = "-e";
	argv[argc++] = loadpath;
	for (int i = 0; i < v->n; i++) {
		argv[argc++] = "-e";
		argv[argc++] = v->argv[i];
	}
	argv[argc++] = script;
	argv[argc] = NULL;

	fflush(NULL);
	pid = gp_spawn(argv, log);
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		plot_fail(r, p, "cannot run gnuplot: %s", strerror(errno));
		gp_free(v);
		return -1;
	}
	gp_free(v);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		plot_fail(r, p, "gnuplot not found (make deps installs gnuplot-nox)");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "heki-plot: gnuplot %s failed:\n", script);
		show_log(log);
		plot_fail(r, p, "gnuplot failed on %s.gp (log: plots/%s.log)",
			  p->name, p->name);
		return -1;
	}
	if (check_outputs(r, p)) {
		plot_fail(r, p, "gnuplot wrote no usable %s.png/%s.svg", p->name, p->name);
		return -1;
	}
	/* gnuplot's warnings on success mean a chart may be missing a series. */
	show_log(log);
	remove_empty(log);
	p->state = PLOT_MADE;
	return 0;
}

FILE *plot_data_open(struct run *r, struct plot *p)
{
	char path[PATH_MAX + 64];
	FILE *f;

	out_path(path, sizeof(path), r, p, "dat");
	f = fopen(path, "w");
	if (!f)
		plot_fail(r, p, "cannot write %s: %s", path, strerror(errno));
	return f;
}

int plot_data_close(struct run *r, struct plot *p, FILE *f)
{
	if (ferror(f) | fclose(f)) {
		plot_fail(r, p, "writing plots/%s.dat failed", p->name);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ bench.json */

#define MAX_AXIS 64

struct axis {
	int n;
	const char *v[MAX_AXIS];
};

static int axis_find(const struct axis *a, const char *s)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->v[i], s))
			return i;
	return -1;
}

static void axis_add(struct axis *a, const char *s)
{
	if (axis_find(a, s) < 0 && a->n < MAX_AXIS)
		a->v[a->n++] = s;
}

static const struct json *bench_rows(const struct run *r)
{
	const struct json *rows = json_get(r->bench, "rows");

	return rows && rows->type == JSON_ARR ? rows->child : NULL;
}

/* A row's figure when the row was measured; NaN otherwise. */
static double row_field(const struct json *row, const char *field)
{
	const char *st = jstr(row, "status");

	if (!row || !st || strcmp(st, "measured"))
		return NAN;
	return jnum(row, field);
}

static const struct json *find_row(const struct run *r, const char *bench,
				   const char *mode)
{
	for (const struct json *row = bench_rows(r); row; row = row->next) {
		const char *b = jstr(row, "benchmark"), *m = jstr(row, "mode");

		if (b && m && !strcmp(b, bench) && !strcmp(m, mode))
			return row;
	}
	return NULL;
}

/*
 * The benchmarks and modes that have field measured, in file order (the
 * report writes modes off, hypercall, ...).  skip_mode is left out: "off"
 * for the overhead, which is 1 there by definition.
 */
static void bench_axes(const struct run *r, const char *field,
		       const char *skip_mode, struct axis *benches,
		       struct axis *modes)
{
	memset(benches, 0, sizeof(*benches));
	memset(modes, 0, sizeof(*modes));
	for (const struct json *row = bench_rows(r); row; row = row->next) {
		const char *b = jstr(row, "benchmark"), *m = jstr(row, "mode");

		if (!b || !m || (skip_mode && !strcmp(m, skip_mode)))
			continue;
		if (!isfinite(row_field(row, field)))
			continue;
		axis_add(benches, b);
		axis_add(modes, m);
	}
}

/* Modes as gnuplot words: one per word(), so no spaces inside a name. */
static void mode_words(const struct axis *modes, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < modes->n && n + 2 < len; i++) {
		n += snprintf(buf + n, len - n, "%s%s", i ? " " : "", modes->v[i]);
		if (n >= len)
			break;
	}
	for (char *c = buf; *c; c++)
		if (*c == '\t')
			*c = '_';
}

/*
 * One line per benchmark: its name, then fields[] of each mode in turn.
 * Returns the smallest positive value written (for a log axis), NaN when
 * there was none.
 */
static double write_matrix(FILE *f, const struct run *r, const struct axis *b,
			   const struct axis *m, const char *const *fields,
			   int nf)
{
	double lo = NAN;

	fputs("# benchmark", f);
	for (int j = 0; j < m->n; j++)
		for (int k = 0; k < nf; k++)
			fprintf(f, " %s:%s", m->v[j], fields[k]);
	fputc('\n', f);
	for (int i = 0; i < b->n; i++) {
		data_str(f, b->v[i]);
		for (int j = 0; j < m->n; j++) {
			const struct json *row = find_row(r, b->v[i], m->v[j]);

			for (int k = 0; k < nf; k++) {
				double v = row_field(row, fields[k]);

				fmt_num(f, v);
				if (v > 0 && !(v >= lo))
					lo = v;
			}
		}
		fputc('\n', f);
	}
	return lo;
}

/* The decade at or below v: where a log axis should start. */
static double decade_below(double v)
{
	return isfinite(v) && v > 0 ? pow(10, floor(log10(v))) : 1;
}

/* latency, overhead and exits differ only in fields and wording. */
struct bench_chart {
	enum plot_id id;
	const char *key_field;		/* decides which rows are drawn */
	const char *skip_mode;
	const char *fields[3];
	int nf;
	const char *ylabel;		/* %s: time unit */
	const char *empty;		/* note when nothing to draw */
};

static const struct bench_chart bench_charts[] = {
	{ PLOT_LATENCY, "median", NULL, { "median", "min", "p90" }, 3,
	  "time per operation in %s", "bench.json has no measured row" },
	{ PLOT_OVERHEAD, "overhead_vs_off", "off", { "overhead_vs_off" }, 1,
	  "median / median with protection off",
	  "no mode other than off was measured: nothing to compare" },
	{ PLOT_EXITS, "exits_per_op", NULL, { "exits_per_op" }, 1,
	  "VM exits per operation",
	  "no measured row has exits_per_op" },
};

static void bench_chart(struct run *r, const struct bench_chart *c)
{
	struct plot *p = &r->plots[c->id];
	struct axis benches, modes;
	struct gpvars v = { 0 };
	char words[512], ylabel[512];
	double lo;
	FILE *f;

	bench_axes(r, c->key_field, c->skip_mode, &benches, &modes);
	if (!benches.n) {
		plot_skip(r, p, "%s", c->empty);
		return;
	}
	f = plot_data_open(r, p);
	if (!f)
		return;
	lo = write_matrix(f, r, &benches, &modes, c->fields, c->nf);
	if (plot_data_close(r, p, f))
		return;
	mode_words(&modes, words, sizeof(words));
	snprintf(ylabel, sizeof(ylabel), c->ylabel, r->time_unit);
	gp_str(&v, "modes", words);
	gp_lines(&v, "ylabel", ylabel, 60);
	gp_num(&v, "ymin", decade_below(lo));
	gp_num(&v, "nrows", benches.n);
	gp_run(r, p, &v);
}

static void bench_plots(struct run *r, const char *missing)
{
	if (missing) {
		for (int i = PLOT_LATENCY; i <= PLOT_EXITS; i++)
			plot_skip(r, &r->plots[i], "%s", missing);
		return;
	}
	for (size_t i = 0; i < sizeof(bench_charts) / sizeof(bench_charts[0]); i++)
		bench_chart(r, &bench_charts[i]);
}

/* ------------------------------------------------------------ inject.json */

/* Cell colours; plots/README.md and the page's legend say the same. */
#define C_PREVENTED 0x2e7d32
#define C_DETECTED 0xf9a825
#define C_MISSED 0xc62828
#define C_NA 0xbdbdbd
#define C_MISMATCH 0x6a1b9a

static bool cell_mismatch(const struct json *res)
{
	const char *obs = jstr(res, "observed"), *exp = jstr(res, "expected");
	const struct json *m = json_get(res, "match");

	if (!obs)
		return true;
	if (m && m->type == JSON_BOOL)
		return !m->boolean;
	return !exp || strcmp(obs, exp);
}

static unsigned int cell_colour(const struct json *res)
{
	const char *obs = jstr(res, "observed");

	if (cell_mismatch(res))
		return C_MISMATCH;
	if (!strcmp(obs, "prevented"))
		return C_PREVENTED;
	if (!strcmp(obs, "detected"))
		return C_DETECTED;
	if (!strcmp(obs, "missed"))
		return C_MISSED;
	if (!strcmp(obs, "n/a"))
		return C_NA;
	return C_MISMATCH;	/* an outcome this program does not know */
}

static const struct json *attack_result(const struct json *atk, const char *mode)
{
	const struct json *res = json_get(atk, "results");

	for (res = res && res->type == JSON_ARR ? res->child : NULL; res; res = res->next) {
		const char *m = jstr(res, "mode");

		if (m && !strcmp(m, mode))
			return res;
	}
	return NULL;
}

/* The modes in inject.json's modes[] order, then any only results name. */
static void attack_modes(const struct run *r, struct axis *modes)
{
	const struct json *m = json_get(r->inject, "modes");

	memset(modes, 0, sizeof(*modes));
	for (m = m && m->type == JSON_ARR ? m->child : NULL; m; m = m->next)
		if (jstr(m, "name"))
			axis_add(modes, jstr(m, "name"));
	m = json_get(r->inject, "attacks");
	for (m = m && m->type == JSON_ARR ? m->child : NULL; m; m = m->next) {
		const struct json *res = json_get(m, "results");

		for (res = res && res->type == JSON_ARR ? res->child : NULL; res;
		     res = res->next)
			if (jstr(res, "mode"))
				axis_add(modes, jstr(res, "mode"));
	}
}

/* One grid cell: position, fill, text colour, two lines of text. */
static int write_cell(FILE *f, int x, int y, const struct json *res)
{
	const char *obs = res ? jstr(res, "observed") : NULL;
	const char *exp = res ? jstr(res, "expected") : NULL;
	unsigned int fill = res ? cell_colour(res) : C_MISMATCH;
	unsigned int text = fill == C_NA || fill == C_DETECTED ? 0 : 0xffffff;
	char second[96] = "";
	int bad = !res || cell_mismatch(res);

	if (bad && exp && (!obs || strcmp(obs, exp)))
		snprintf(second, sizeof(second), "(expected %s)", exp);
	fprintf(f, "%d %d %u %u", x, y, fill, text);
	data_str(f, obs ? obs : "no result");
	data_str(f, second);
	fputc('\n', f);
	return bad;
}

/*
 * Three data blocks: the cells, the attack labels (y), the mode labels
 * (x).  Labels come from the data, not from an eval'd "set tics" string,
 * so no text of the run is ever parsed as a gnuplot command.
 */
static int write_grid(FILE *f, const struct json *atk0, int natk,
		      const struct axis *modes)
{
	const struct json *a;
	int y, bad = 0;

	fputs("# x(mode) y(attack) fill textcolour observed second-line\n", f);
	for (a = atk0, y = natk - 1; a; a = a->next, y--)
		for (int x = 0; x < modes->n; x++)
			bad += write_cell(f, x, y, attack_result(a, modes->v[x]));
	fputs("\n\n# y attack\n", f);
	for (a = atk0, y = natk - 1; a; a = a->next, y--) {
		char label[160];

		snprintf(label, sizeof(label), "%s (%s)", jstr(a, "id") ?: "?",
			 jstr(a, "family") ?: "?");
		fprintf(f, "%d", y);
		data_str(f, label);
		fputc('\n', f);
	}
	fputs("\n\n# x mode\n", f);
	for (int x = 0; x < modes->n; x++) {
		fprintf(f, "%d", x);
		data_str(f, modes->v[x]);
		fputc('\n', f);
	}
	return bad;
}

static void attacks_plot(struct run *r, const char *missing)
{
	struct plot *p = &r->plots[PLOT_ATTACKS];
	const struct json *atk = json_get(r->inject, "attacks");
	struct gpvars v = { 0 };
	struct axis modes;
	char counts[128];
	int natk = 0, bad;
	FILE *f;

	if (missing) {
		plot_skip(r, p, "%s", missing);
		return;
	}
	atk = atk && atk->type == JSON_ARR ? atk->child : NULL;
	for (const struct json *a = atk; a; a = a->next)
		natk++;
	attack_modes(r, &modes);
	if (!natk || !modes.n) {
		plot_skip(r, p, "inject.json lists no attacks or no modes");
		return;
	}
	f = plot_data_open(r, p);
	if (!f)
		return;
	bad = write_grid(f, atk, natk, &modes);
	if (plot_data_close(r, p, f))
		return;
	snprintf(counts, sizeof(counts), "%d attacks x %d modes, %d cell%s not as expected",
		 natk, modes.n, bad, bad == 1 ? "" : "s");
	p->height = 170 + 34 * natk;
	gp_num(&v, "nattacks", natk);
	gp_num(&v, "nmodes", modes.n);
	gp_str(&v, "counts", counts);
	gp_run(r, p, &v);
}

/* ------------------------------------------------------------ inputs */

/*
 * Loads RUN_DIR/name.  Missing: NULL with why = "no name".  Broken: NULL,
 * an error, and why says where it broke.
 */
static struct json *load_input(struct run *r, const char *name,
			       const char *schema, char *why, size_t len)
{
	char path[PATH_MAX + 64], err[256];
	struct json *j;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	text = slurp(path, NULL);
	if (!text) {
		if (errno != ENOENT)
			r->errors++;
		snprintf(why, len, errno == ENOENT ? "no %s in this run" :
			 "cannot read %s: %s", name, strerror(errno));
		return NULL;
	}
	j = json_parse(text, err, sizeof(err));
	free(text);
	if (!j) {
		snprintf(why, len, "%s does not parse: %s", name, err);
		r->errors++;
		return NULL;
	}
	if (schema && jstr(j, "schema") && strcmp(jstr(j, "schema"), schema)) {
		snprintf(why, len, "%s has schema \"%s\", not \"%s\"", name,
			 jstr(j, "schema"), schema);
		r->errors++;
		json_free(j);
		return NULL;
	}
	if (schema && jnum(j, "schema_version") != 1)
		run_note(r, "%s has schema_version %g; this heki-plot reads 1 "
			 "and draws what it recognises", name, jnum(j, "schema_version"));
	why[0] = '\0';
	return j;
}

/* What every chart and the page say about the run, from any input. */
static void run_identity(struct run *r)
{
	const struct json *src[] = { r->summary, r->bench, r->inject };
	static char base[PATH_MAX];
	char real[PATH_MAX];

	r->icount = -1;
	for (size_t i = 0; i < 3; i++) {
		if (!r->run_id)
			r->run_id = jstr(src[i], "run_id");
		if (!r->accel)
			r->accel = jstr(src[i], "rig.l0_accel");
		if (r->icount < 0)
			r->icount = jbool(src[i], "rig.icount");
	}
	if (!r->run_id) {
		/* results/latest names the run it points at. */
		snprintf(base, sizeof(base), "%s",
			 realpath(r->dir, real) ? real : r->dir);
		r->run_id = basename(base);
	}
	r->tcg = r->accel && !strcmp(r->accel, "tcg");
	r->time_unit = jstr(r->bench, "time_unit");
	if (r->bench && !r->time_unit) {
		r->time_unit = "unit not recorded in bench.json";
		run_note(r, "bench.json has no time_unit: the axes cannot say what the times are");
	}
}

static void load_inputs(struct run *r, char *bench_why, char *inject_why, size_t len)
{
	char why[1024];

	r->summary = load_input(r, "summary.json", NULL, why, sizeof(why));
	if (!r->summary)
		run_note(r, "%s: the environment below comes from bench.json/inject.json", why);
	r->bench = load_input(r, "bench.json", "heki-bench", bench_why, len);
	r->inject = load_input(r, "inject.json", "heki-inject", inject_why, len);
}

/* Charts of an earlier invocation that this one does not redraw must go. */
static void remove_stale(struct run *r)
{
	static const char *const ext[] = { "png", "svg", "dat", "log" };
	char path[PATH_MAX + 64];

	for (int i = 0; i < PLOT_COUNT; i++)
		for (size_t e = 0; e < 4; e++) {
			out_path(path, sizeof(path), r, &r->plots[i], ext[e]);
			unlink(path);
		}
}

static void report(const struct run *r)
{
	static const char *const state[] = { "not drawn", "drawn", "skipped", "FAILED" };

	for (int i = 0; i < PLOT_COUNT; i++) {
		const struct plot *p = &r->plots[i];

		printf("heki-plot: %-8s %s%s%s\n", p->name, state[p->state],
		       p->note[0] ? ": " : "", p->note);
	}
	for (int i = 0; i < r->nnotes; i++)
		printf("heki-plot: note: %s\n", r->notes[i]);
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fputs("usage: heki-plot RUN_DIR [--history HISTORY.jsonl] [--gp-dir DIR]\n"
	      "       heki-plot --dashboard RESULTS_DIR [--history FILE] [--gp-dir DIR]\n"
	      "Writes RUN_DIR/plots/*.png|svg and RUN_DIR/index.html.  --dashboard\n"
	      "does it for RESULTS_DIR/latest, with RESULTS_DIR/history.jsonl as the\n"
	      "history when present.  See plots/README.md.\n", f);
}

struct opts {
	const char *run_dir, *history, *gp_dir, *dashboard;
	char latest[PATH_MAX], hist_default[PATH_MAX];
};

/*
 * results/latest is a symlink to the newest run directory, so that run's
 * own index.html already is RESULTS_DIR/latest/index.html: the dashboard
 * is the newest run's page, with the results' history when there is one.
 */
static int dashboard_opts(struct opts *o)
{
	snprintf(o->latest, sizeof(o->latest), "%s/latest", o->dashboard);
	o->run_dir = o->latest;
	if (access(o->latest, F_OK)) {
		fprintf(stderr, "heki-plot: %s: %s (no run yet?)\n", o->latest,
			strerror(errno));
		return -1;
	}
	snprintf(o->hist_default, sizeof(o->hist_default), "%s/history.jsonl",
		 o->dashboard);
	if (!o->history && !access(o->hist_default, R_OK))
		o->history = o->hist_default;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "history", required_argument, NULL, 'H' },
		{ "dashboard", required_argument, NULL, 'd' },
		{ "gp-dir", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	o->gp_dir = getenv("HEKI_PLOT_GP_DIR") ?: HEKI_PLOT_GP_DIR;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'H': o->history = optarg; break;
		case 'd': o->dashboard = optarg; break;
		case 'g': o->gp_dir = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc)
		o->run_dir = argv[optind++];
	if (optind < argc || !o->run_dir == !o->dashboard) {
		usage(stderr);
		return -1;
	}
	if (o->dashboard)
		return dashboard_opts(o);
	return 0;
}

static int run_init(struct run *r, const struct opts *o)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->plots, plot_defs, sizeof(plot_defs));
	snprintf(r->dir, sizeof(r->dir), "%s", o->run_dir);
	snprintf(r->plots_dir, sizeof(r->plots_dir), "%s/plots", r->dir);
	r->gp_dir = o->gp_dir;
	r->history = o->history;
	if (access(r->dir, F_OK)) {
		fprintf(stderr, "heki-plot: %s: %s\n", r->dir, strerror(errno));
		return -1;
	}
	if (mkdir(r->plots_dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "heki-plot: mkdir %s: %s\n", r->plots_dir, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char bench_why[1024], inject_why[1024];
	static struct run r;
	struct opts o = { 0 };

	if (parse_opts(argc, argv, &o) || run_init(&r, &o))
		return 2;
	load_inputs(&r, bench_why, inject_why, sizeof(bench_why));
	run_identity(&r);
	remove_stale(&r);
	bench_plots(&r, r.bench ? NULL : bench_why);
	attacks_plot(&r, r.inject ? NULL : inject_why);
	history_plot(&r);
	if (html_write(&r))
		r.errors++;
	report(&r);
	printf("heki-plot: wrote %s/index.html%s\n", r.dir,
	       r.errors ? " (with errors above)" : "");
	history_free(&r);
	json_free(r.summary);
	json_free(r.bench);
	json_free(r.inject);
	return r.errors ? 1 : 0;
}
