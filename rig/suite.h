/* SPDX-License-Identifier: GPL-2.0 */
/* What the suites of heki-suite share (rig/suite.c, bench/bench_suite.c, inject/inject_suite.c). */
#ifndef HEKI_SUITE_H
#define HEKI_SUITE_H

#include <stddef.h>

#include "record.h"

/* The suites heki-suite runs (rigrun accepts these names for SUITE). */
#define HEKI_SUITE_NAMES "smoke", "bench", "attacks"
#define HEKI_SUITE_LIST "smoke, bench, attacks"

#define DEBUGFS_HEKI "/sys/kernel/debug/heki/"
#define HEKI_KO "/lib/modules/heki.ko"
#define TESTMOD "/lib/modules/heki_testmod.ko"

struct suite_ctx {
	struct record_out out;
	int tests, failed;
};

/* One TAP line and one "check" record. */
void check(struct suite_ctx *c, int ok, const char *name, const char *why);
void skip(struct suite_ctx *c, const char *name, const char *why);
/* The number after "key " in a "key value" file, or -1. */
long long read_key(const char *path, const char *key);
const char *vmfunc_unsupported(void);	/* NULL: mode vmfunc can run here */
/* Why heki.ko's mode=@transport cannot run here (heki_modes.h), or NULL. */
const char *transport_unsupported(const char *transport);
int write_file(const char *path, const char *text);
/* finit_module(2) of @path with @params: 0 or -1 (errno). */
long load_module(const char *path, const char *params);
/* The value of "@name=" on L2's kernel command line: 0, or -1 if absent. */
int cmdline_param(const char *name, char *val, size_t len);

void suite_bench(struct suite_ctx *c);
void suite_attacks(struct suite_ctx *c);

#endif /* HEKI_SUITE_H */
