/* SPDX-License-Identifier: GPL-2.0 */
/* bench.json, bench.csv and the terminal table, from the bench suite's records. */
#ifndef HEKI_BENCH_REPORT_H
#define HEKI_BENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "run_env.h"

#define BENCH_SCHEMA_VERSION 1

struct bench_kv {
	const char *key, *val;		/* "bench.<mode>.<row>", "k=v k=v ..." */
};

struct bench_env {
	struct run_env run;
	const char *iterations, *counters;	/* from the suite's records */
};

/*
 * Writes DIR/bench.json and DIR/bench.csv from the "bench.*" records and
 * prints a one-screen table to @table.  Returns the number of rows, or -1
 * if a file could not be written.
 */
int bench_report(const char *dir, const struct bench_env *env,
		 const struct bench_kv *kvs, int n, FILE *table);

#endif /* HEKI_BENCH_REPORT_H */
