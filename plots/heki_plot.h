/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heki-plot: charts and a static index.html for one run directory.  The
 * program is split by input: heki_plot.c (options, bench.json, inject.json,
 * gnuplot), plot_history.c (history.jsonl trends), plot_html.c (the page).
 */
#ifndef HEKI_PLOT_H
#define HEKI_PLOT_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "json.h"

enum plot_id {
	PLOT_LATENCY,
	PLOT_OVERHEAD,
	PLOT_EXITS,
	PLOT_ATTACKS,
	PLOT_TRENDS,
	PLOT_COUNT
};

enum plot_state { PLOT_NONE, PLOT_MADE, PLOT_SKIPPED, PLOT_FAILED };

struct plot {
	const char *name;	/* plots/<name>.png, .svg, .dat; <name>.gp */
	const char *heading;	/* section heading and start of alt text */
	const char *explain;	/* what the figure shows, for the page */
	int width, height;	/* pixels of the PNG */
	enum plot_state state;
	char note[512];		/* why skipped or failed */
};

/* One history.jsonl line that parsed: the run it describes. */
struct hist_run {
	struct json *j;
	const char *id, *status, *accel, *git_rev;
	int icount;		/* -1: not recorded */
};

#define MAX_NOTES 16
#define MAX_HIST_RUNS 60

struct run {
	char dir[PATH_MAX];		/* the run directory as given */
	char plots_dir[PATH_MAX + 8];	/* dir/plots */
	const char *gp_dir;		/* where the .gp scripts are */
	const char *history;		/* history.jsonl or NULL */
	struct json *summary, *bench, *inject;
	const char *run_id;
	const char *accel;		/* rig.l0_accel, NULL if unknown */
	bool tcg;
	int icount;			/* rig.icount: 1, 0, -1 unknown */
	const char *time_unit;		/* bench.json's, NULL without it */
	struct plot plots[PLOT_COUNT];
	char notes[MAX_NOTES][512];	/* page-level notes (missing files) */
	int nnotes;
	int errors;			/* anything that makes the exit status 1 */
	struct hist_run hist[MAX_HIST_RUNS];
	int nhist;
	char hist_unit[256];		/* trends' y label */
};

/* heki_plot.c */
void run_note(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void plot_skip(struct run *r, struct plot *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void plot_fail(struct run *r, struct plot *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *slurp(const char *path, size_t *len);
const char *jstr(const struct json *j, const char *path);
double jnum(const struct json *j, const char *path);
void fmt_num(FILE *f, double v);
void data_str(FILE *f, const char *s);

/* gnuplot variables passed with -e, one command each. */
#define GP_MAX_ARGS 48
struct gpvars {
	int n;
	char *argv[GP_MAX_ARGS];
};
void gp_str(struct gpvars *v, const char *name, const char *val);
void gp_num(struct gpvars *v, const char *name, double val);
void gp_lines(struct gpvars *v, const char *name, const char *text, size_t width);
int gp_run(struct run *r, struct plot *p, struct gpvars *v);
FILE *plot_data_open(struct run *r, struct plot *p);
int plot_data_close(struct run *r, struct plot *p, FILE *f);

/* plot_history.c */
void history_plot(struct run *r);
void history_free(struct run *r);

/* plot_html.c */
int html_write(struct run *r);
void html_esc(FILE *f, const char *s);

#endif /* HEKI_PLOT_H */
