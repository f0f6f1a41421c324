/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heki-results: checks run records (summary.json, bench.json, inject.json)
 * against the schemas in results/README.md, compares two runs for
 * regressions and keeps results/history.jsonl.  The logic is a library so
 * that tests/unit/test_results.c drives it without a process: every entry
 * point writes to the streams it is given.
 */
#ifndef HEKI_RESULTS_LIB_H
#define HEKI_RESULTS_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "json.h"

/* Exit statuses of every subcommand. */
enum hr_exit {
	HR_OK = 0,	/* valid / no regression / done */
	HR_FAIL = 1,	/* invalid file / regression / nothing found */
	HR_USAGE = 2,	/* usage, incomparable runs, invalid input to compare */
};

/* What a results file is; HR_UNKNOWN as an expectation means "any". */
enum hr_kind { HR_UNKNOWN, HR_SUMMARY, HR_BENCH, HR_INJECT };

struct hr_doc {
	enum hr_kind kind;
	struct json *root;	/* the parsed tree, NULL if it did not parse */
	int problems;		/* 0: valid */
};

/*
 * Parses and validates @len bytes of @text (need not be NUL-terminated)
 * as a results file called @name.  Each problem goes to @err (may be NULL)
 * as one line "NAME: where: what".  Returns the number of problems; the
 * tree is kept in @d even when the schema check failed.
 */
int hr_check_text(struct hr_doc *d, const char *name, const char *text,
		  size_t len, enum hr_kind expect, FILE *err);
int hr_check_file(struct hr_doc *d, const char *path, enum hr_kind expect,
		  FILE *err);
void hr_doc_free(struct hr_doc *d);

/* A measured bench.json row, as far as the noise model needs it. */
struct hr_stats {
	double n, min, median, p90, p99, max, mean, stddev;
};

/* A 95% confidence interval of one row's median (see results_lib.c). */
void hr_median_ci(const struct hr_stats *s, double *lo, double *hi);
/* A 95% confidence interval of new median / base median. */
void hr_ratio_ci(const struct hr_stats *base, const struct hr_stats *new,
		 double *lo, double *hi);

enum hr_verdict {
	V_SAME, V_FASTER, V_SLOWER, V_REGRESSION, V_NEW, V_GONE,
	V_UNSUPPORTED, V_FAILED, V_IMPROVED, V_WEAKER, V_CHANGED,
	V_NR
};
const char *hr_verdict_name(enum hr_verdict v);

/*
 * Verdict for two measured rows: @threshold is a fraction (0.10 for 10%);
 * @exact for icount runs, whose figures carry no noise.  @lo and @hi get
 * the ratio's interval (both the ratio itself when exact).
 */
enum hr_verdict hr_bench_verdict(const struct hr_stats *base,
				 const struct hr_stats *new, double threshold,
				 bool exact, double *lo, double *hi);

/* The whole command line, argv[0] included; returns the exit status. */
int hr_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* HEKI_RESULTS_LIB_H */
