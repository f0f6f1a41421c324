// SPDX-License-Identifier: GPL-2.0
/*
 * bench.json / bench.csv / terminal table from the bench suite's records
 * (schema in results/README.md).  A record is
 *   bench.<mode>.<row> = "status=measured n=.. min=.. ... overhead_vs_off=.."
 * or "status=unsupported reason=<text to the end>".
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"
#include "json.h"

/* Fields of a measured row, in CSV column order. */
static const char *const num_fields[] = {
	"n", "min", "median", "p90", "p99", "max", "mean", "stddev",
	"exits_per_op", "tlb_flushes_per_op", "zaps_per_op", "windows_per_op", "view_switches_per_op",
	"hypercalls_per_op", "overhead_vs_off", "cycles_per_op", "instructions_per_op",
};
#define NFIELDS (sizeof(num_fields) / sizeof(num_fields[0]))

struct row {
	char mode[32], bench[64], status[16], reason[256];
	char val[NFIELDS][32];		/* "" when absent */
};

static void parse(const char *key, const char *val, struct row *r)
{
	const char *dot = strchr(key + 6, '.'), *p;
	char tok[64];

	memset(r, 0, sizeof(*r));
	snprintf(r->mode, sizeof(r->mode), "%.*s", dot ? (int)(dot - key - 6) : 0, key + 6);
	snprintf(r->bench, sizeof(r->bench), "%s", dot ? dot + 1 : "");
	for (p = val; *p; ) {
		size_t len = strcspn(p, " ");
		char *eq;

		if (!strncmp(p, "reason=", 7)) {	/* free text to the end */
			snprintf(r->reason, sizeof(r->reason), "%s", p + 7);
			break;
		}
		snprintf(tok, sizeof(tok), "%.*s", (int)len, p);
		eq = strchr(tok, '=');
		if (eq) {
			*eq++ = '\0';
			if (!strcmp(tok, "status"))
				snprintf(r->status, sizeof(r->status), "%s", eq);
			for (size_t i = 0; i < NFIELDS; i++)
				if (!strcmp(tok, num_fields[i]))
					snprintf(r->val[i], sizeof(r->val[i]), "%s", eq);
		}
		p += len;
		while (*p == ' ')
			p++;
	}
}

static const char *field(const struct row *r, const char *name)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (!strcmp(num_fields[i], name))
			return r->val[i];
	return "";
}

int bench_report(const char *dir, const struct bench_env *env,
		 const struct bench_kv *kvs, int n, FILE *table)
{
	char path[PATH_MAX];
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	int nrows = 0;
	struct jw w;
	FILE *f;

	if (!rows)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *k = kvs[i].key;

		if (strncmp(k, "bench.", 6) || !strcmp(k, "bench.iterations") ||
		    !strcmp(k, "bench.counters"))
			continue;
		parse(k, kvs[i].val, &rows[nrows++]);
	}

	snprintf(path, sizeof(path), "%s/bench.json", dir);
	f = fopen(path, "w");
	if (!f)
		goto fail;
	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_str(&w, "schema", "heki-bench");
	jw_int(&w, "schema_version", BENCH_SCHEMA_VERSION);
	jw_run_env(&w, &env->run);
	jw_str(&w, "time_unit", env->run.icount ?
	       "instructions: guest TSC cycles under icount shift=0, one per instruction L0 executes (L1's and L2's)" :
	       strcmp(env->run.l0_accel, "tcg") ? "ns (guest TSC)" :
	       "ns (guest TSC) of a TCG-emulated machine: not hardware figures");
	jw_str(&w, "statistics", "per-operation samples after warm-up; nearest-rank percentiles; sample standard deviation; overhead_vs_off = median / median of the same row in mode off");
	jw_str(&w, "host_counters", "per operation, from HEKI_HC_STATS around the sample loop (the loop pinned to one vCPU); exits and TLB flushes only for kernel-side rows");
	if (env->iterations)
		jw_int(&w, "iterations", atoll(env->iterations));
	jw_str(&w, "counters", env->counters ? env->counters : "unavailable: not reported");
	jw_arr(&w, "rows");
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		jw_obj(&w, NULL);
		jw_str(&w, "benchmark", r->bench);
		jw_str(&w, "mode", r->mode);
		jw_str(&w, "status", r->status[0] ? r->status : "unknown");
		if (r->reason[0])
			jw_str(&w, "reason", r->reason);
		for (size_t j = 0; j < NFIELDS; j++)
			if (r->val[j][0])
				jw_num(&w, num_fields[j], strtod(r->val[j], NULL));
		jw_end(&w);
	}
	jw_end(&w);
	jw_end(&w);
	fputc('\n', f);
	if (fclose(f))
		goto fail;

	snprintf(path, sizeof(path), "%s/bench.csv", dir);
	f = fopen(path, "w");
	if (!f)
		goto fail;
	fprintf(f, "benchmark,mode,status");
	for (size_t j = 0; j < NFIELDS; j++)
		fprintf(f, ",%s", num_fields[j]);
	fprintf(f, ",reason\n");
	for (int i = 0; i < nrows; i++) {
		fprintf(f, "%s,%s,%s", rows[i].bench, rows[i].mode, rows[i].status);
		for (size_t j = 0; j < NFIELDS; j++)
			fprintf(f, ",%s", rows[i].val[j]);
		fprintf(f, ",\"%s\"\n", rows[i].reason);
	}
	if (fclose(f))
		goto fail;

	if (table) {
		fprintf(table, "  %-22s %-13s %12s %12s %9s %7s %8s\n", "benchmark", "mode",
			"median", "p90", "exits/op", "hc/op", "vs off");
		for (int i = 0; i < nrows; i++) {
			const struct row *r = &rows[i];
			bool mode_measured = false;

			for (int j = 0; j < nrows; j++)
				mode_measured |= !strcmp(rows[j].mode, r->mode) &&
						 !strcmp(rows[j].status, "measured");
			if (strcmp(r->status, "measured")) {
				/* A mode with nothing measured gets one line. */
				if (!mode_measured && i > 0 && !strcmp(rows[i - 1].mode, r->mode))
					continue;
				fprintf(table, "  %-22s %-13s %s: %s\n",
					mode_measured ? r->bench : "(every row)", r->mode,
					r->status, r->reason);
				continue;
			}
			fprintf(table, "  %-22s %-13s %12s %12s %9s %7s %8s\n", r->bench, r->mode,
				field(r, "median"), field(r, "p90"),
				field(r, "exits_per_op")[0] ? field(r, "exits_per_op") : "-",
				field(r, "hypercalls_per_op"), field(r, "overhead_vs_off"));
		}
		fprintf(table, "  times in %s\n", env->run.icount ? "instructions (icount)" :
			strcmp(env->run.l0_accel, "tcg") ? "ns" : "ns of a TCG-emulated machine (not hardware figures)");
	}
	free(rows);
	return nrows;
fail:
	perror(path);
	free(rows);
	return -1;
}
