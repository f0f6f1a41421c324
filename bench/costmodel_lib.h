/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heki-costmodel's logic (bench/costmodel.c is only main()): reads a run's
 * bench.json and per-transition costs, and projects each mode's cost per
 * operation.  It is a model, and says so in everything it prints: the
 * table's first line and the JSON's "model": true.  Usage, the costs file
 * and the model itself: bench/README.md; the JSON: results/README.md.
 */
#ifndef HEKI_COSTMODEL_LIB_H
#define HEKI_COSTMODEL_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CM_SCHEMA_VERSION	1
#define CM_BANNER		"MODEL, not a measurement"

/* The transitions a cost is given for, in ns; the costs file's keys. */
enum cm_input {
	CM_HYPERCALL,		/* one hypercall round trip guest -> host -> guest */
	CM_VIEW_SWITCH,		/* one view-switch hypercall round trip */
	CM_VMFUNC,		/* one VMFUNC(0) (no exit) */
	CM_ZAP,			/* one second-stage zap (kvm_zap_gfn_range), flush excluded */
	CM_TLB_FLUSH,		/* one remote TLB flush of the VM */
	CM_NINPUTS
};

extern const char *const cm_input_name[CM_NINPUTS];

struct cm_cost {
	bool known;
	double ns;
	char source[400];	/* where the figure came from, or why it is unknown */
};

struct cm_costs {
	struct cm_cost c[CM_NINPUTS];
};

/* Per-operation host counters of a row; has_* false when bench.json lacks one. */
enum cm_count { CM_N_HYPERCALLS, CM_N_ZAPS, CM_N_TLB, CM_N_WINDOWS, CM_N_EXITS, CM_NCOUNTS };

extern const char *const cm_count_field[CM_NCOUNTS];

struct cm_row {
	char bench[64], mode[32], status[16];
	double median;			/* measured rows only */
	double n[CM_NCOUNTS];
	bool has[CM_NCOUNTS];
};

struct cm_bench {
	char file[256], run_id[128], l0_accel[16], time_unit[200];
	bool icount;
	struct cm_row *rows;
	int nrows;
};

/* One projected benchmark x mode. */
struct cm_proj {
	char bench[64], mode[32];
	char counts_from[32];		/* the mode whose counts were used */
	const char *unavailable;	/* no projection at all, and why; else NULL */
	double base;			/* median of the row in mode off */
	bool has_measured;
	double measured;
	double events[CM_NINPUTS];	/* per operation, above off's */
	bool event_known[CM_NINPUTS];	/* false: the count itself is missing */
	unsigned missing_costs;		/* bits of enum cm_input: count > 0, cost unknown */
	unsigned missing_counts;	/* bits of enum cm_input: count unknown */
	bool complete;			/* every term known: lower is the projection */
	double lower;			/* base + the known terms */
	bool has_other_exits;
	double other_exits;		/* exits above off's that are not hypercalls */
};

/* The inputs every projection of a mode rests on; decides "unknown" vs ">=". */
enum cm_input cm_principal(const char *mode);

/*
 * bench.json from text (@name for messages) or from a file.  0, or -1 with
 * "NAME: what" in @err.  cm_bench_free() after either.
 */
int cm_bench_parse(const char *name, const char *text, struct cm_bench *b,
		   char *err, size_t errlen);
int cm_bench_load(const char *path, struct cm_bench *b, char *err, size_t errlen);
void cm_bench_free(struct cm_bench *b);

/* The default inputs: measured in the same run where the rows allow it. */
void cm_costs_from_bench(const struct cm_bench *b, struct cm_costs *c);

/*
 * A costs file ("key = value_ns  # source") over @c: each key it gives
 * replaces that input.  Returns the number of problems, each a line
 * "NAME:LINE: what" in @err; on any problem @c is left unchanged.
 */
int cm_costs_parse(const char *name, const char *text, struct cm_costs *c,
		   char *err, size_t errlen);
int cm_costs_load(const char *path, struct cm_costs *c, char *err, size_t errlen);

/* Every projection; *out is malloc'ed.  Returns the count, -1 out of memory. */
int cm_project(const struct cm_bench *b, const struct cm_costs *c,
	       struct cm_proj **out);

/* The banner, inputs, mapping and one line per projection. */
void cm_print(FILE *f, const struct cm_bench *b, const struct cm_costs *c,
	      const struct cm_proj *p, int n);
/* The same as JSON (schema heki-costmodel, results/README.md). */
void cm_write_json(FILE *f, const struct cm_bench *b, const struct cm_costs *c,
		   const char *costs_file, const struct cm_proj *p, int n);

/* heki-costmodel BENCH_JSON [--costs FILE] [--json OUT]: 0 ok, 2 bad input. */
int cm_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* HEKI_COSTMODEL_LIB_H */
