/* SPDX-License-Identifier: GPL-2.0 */
/* inject.json and the terminal matrix, from the attacks suite's records. */
#ifndef HEKI_INJECT_REPORT_H
#define HEKI_INJECT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "run_env.h"

#define INJECT_SCHEMA_VERSION 1

/*
 * A run whose guest died is continued in a fresh guest (rigrun): its
 * records and its host's log are "part" 1, 2, ...; part 0 is the run
 * itself.  A cell is matched with the log of its own part.
 */
#define INJECT_MAX_PARTS 8

struct inject_kv {
	const char *key, *val;	/* "attack.<mode>.<id>" or "inject.mode", and its value */
	int part;
};

struct inject_viol {
	const char *line;	/* "seq=.. vm_seq=.. kind=.. rip=.. gfn=.. ..." */
	int part;
};

struct inject_env {
	struct run_env run;
	const char *part_run[INJECT_MAX_PARTS];	/* run ids of parts 1.. (NULL: none) */
};

/*
 * Writes DIR/inject.json from the records and the hosts' violation logs,
 * prints the attack x mode matrix to @table, and sets *mismatches to the
 * cells whose observed outcome differs from the expected one or whose
 * "prevented" / "detected" has no matching host record.  Returns the
 * number of cells, or -1 if the file could not be written.
 */
int inject_report(const char *dir, const struct inject_env *env,
		  const struct inject_kv *kvs, int n,
		  const struct inject_viol *violations, int nviolations,
		  FILE *table, int *mismatches);

#endif /* HEKI_INJECT_REPORT_H */
