// SPDX-License-Identifier: GPL-2.0
/*
 * heki-suite: runs a suite inside L2 and sends its results as framed records
 * to $HEKI_RESULTS.  Suites are rows of one table; later suites (bench,
 * attacks) are new rows.  Human-readable TAP goes to stdout (the L2
 * console); the records are what the harness trusts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heki_abi.h"
#include "record.h"

#define DEBUGFS_HEKI "/sys/kernel/debug/heki/"

struct suite_ctx {
	struct record_out out;
	int tests, failed;
};

static void check(struct suite_ctx *c, int ok, const char *name, const char *why)
{
	c->tests++;
	if (!ok)
		c->failed++;
	printf("%s %d %s%s%s\n", ok ? "ok" : "not ok", c->tests, name,
	       why && !ok ? " # " : "", why && !ok ? why : "");
	record_kv(&c->out, "check", "%s %s", name, ok ? "pass" : "fail");
}

/*
 * Forwards each "key rest" line of a debugfs file as kv "<prefix><key>=rest";
 * calls line_cb for each so the suite can judge it.  Returns lines read or -1.
 */
static int forward_file(struct suite_ctx *c, const char *path, const char *prefix,
			void (*line_cb)(struct suite_ctx *, const char *, const char *))
{
	char line[512], key[600];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sp;

		line[strcspn(line, "\n")] = '\0';
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		snprintf(key, sizeof(key), "%s%s", prefix, line);
		record_kv(&c->out, key, "%s", sp);
		if (line_cb)
			line_cb(c, line, sp);
		n++;
	}
	fclose(f);
	return n;
}

static void judge_host(struct suite_ctx *c, const char *key, const char *val)
{
	if (!strcmp(key, "query_ret"))
		check(c, !strcmp(val, "0"), "heki_query_returns_0", val);
}

static void judge_abi_check(struct suite_ctx *c, const char *name, const char *val)
{
	char test[160];

	snprintf(test, sizeof(test), "abi_refuses_%s", name);
	check(c, !strncmp(val, "ok ", 3), test, val);
}

/*
 * "<name> ok|FAIL|skip|info <details>" lines of the guest module's
 * self-checks; info lines are figures, forwarded but not judged.
 */
static void judge_self_check(struct suite_ctx *c, const char *name, const char *val)
{
	if (!strncmp(val, "info", 4))
		return;
	if (!strncmp(val, "skip", 4)) {
		c->tests++;
		printf("ok %d %s # SKIP %s\n", c->tests, name, val + 4);
		record_kv(&c->out, "check", "%s skip", name);
		return;
	}
	check(c, !strncmp(val, "ok ", 3), name, val);
}

/*
 * A Heki hypercall from guest user mode, with the vendor's instruction: the
 * host must refuse it with HEKI_EPERM (and touch nothing).
 */
static long user_mode_hypercall(const char *insn, unsigned long nr)
{
	unsigned long ret = nr;

	if (!strcmp(insn, "vmmcall"))
		asm volatile("vmmcall" : "+a"(ret) : "b"(0), "c"(0), "d"(0), "S"(0) : "memory");
	else
		asm volatile("vmcall" : "+a"(ret) : "b"(0), "c"(0), "d"(0), "S"(0) : "memory");
	return (long)ret;
}

static void check_user_mode_call(struct suite_ctx *c)
{
	char insn[32] = "", line[128], why[128];
	FILE *f = fopen(DEBUGFS_HEKI "vendor", "r");
	long ret;

	if (f) {
		if (fgets(line, sizeof(line), f))
			sscanf(line, "hypercall_insn %31s", insn);
		fclose(f);
	}
	if (!insn[0]) {
		check(c, 0, "user_mode_call_refused", "cannot read " DEBUGFS_HEKI "vendor");
		return;
	}
	ret = user_mode_hypercall(insn, HEKI_HC_QUERY);
	snprintf(why, sizeof(why), "%s from CPL 3 got %ld, want %d", insn, ret,
		 -HEKI_EPERM);
	record_kv(&c->out, "user_mode_call.query", "%s ret=%ld", insn, ret);
	check(c, ret == -HEKI_EPERM, "user_mode_call_refused", why);
}

/*
 * The smoke suite: guest module self-check files, forwarded and judged, or
 * checks the suite makes itself (run), in order.  Lockdown is one-way, so
 * it comes last.
 */
static const struct self_check {
	const char *file;
	const char *prefix;	/* of the forwarded records */
	void (*judge)(struct suite_ctx *, const char *, const char *);
	void (*run)(struct suite_ctx *);
} smoke_checks[] = {
	{ "host", "heki.", judge_host, NULL },
	{ "abi_check", "abi_check.", judge_abi_check, NULL },
	{ "cr_pin", "cr_pin.", judge_self_check, NULL },
	{ "protect", "protect.", judge_self_check, NULL },
	{ "exec", "exec.", judge_self_check, NULL },
	{ "batch", "batch.", judge_self_check, NULL },
	{ "window", "window.", judge_self_check, NULL },
	{ "emulated_write", "emulated_write.", judge_self_check, NULL },
	{ "user_mode_call", NULL, NULL, check_user_mode_call },
	{ "fuzz", "fuzz.", judge_self_check, NULL },
	{ "stats", "stats.", NULL, NULL },
	{ "lockdown", "lockdown.", judge_self_check, NULL },
	{ "stats", "stats_locked.", NULL, NULL },
	{ "counters", "counters.", NULL, NULL },
};

static void suite_smoke(struct suite_ctx *c)
{
	for (size_t i = 0; i < sizeof(smoke_checks) / sizeof(smoke_checks[0]); i++) {
		const struct self_check *sc = &smoke_checks[i];
		char path[256], name[128];
		int n;

		if (sc->run) {
			sc->run(c);
			continue;
		}
		snprintf(path, sizeof(path), DEBUGFS_HEKI "%s", sc->file);
		snprintf(name, sizeof(name), "guest_module_runs_%s", sc->file);
		n = forward_file(c, path, sc->prefix, sc->judge);
		check(c, n > 0, name, "cannot read the file");
	}
}

static const struct suite {
	const char *name;
	void (*run)(struct suite_ctx *c);
} suites[] = {
	{ "smoke", suite_smoke },
};

int main(int argc, char **argv)
{
	const char *out = getenv("HEKI_RESULTS");
	const char *seq = getenv("HEKI_SEQ");
	struct suite_ctx c = { 0 };
	const struct suite *s = NULL;

	if (argc != 2 || !out) {
		fprintf(stderr, "usage: HEKI_RESULTS=DEV heki-suite SUITE\n");
		return 2;
	}
	if (record_open(&c.out, out, "l2", seq ? seq : "/tmp/heki-emit.seq")) {
		perror(out);
		return 1;
	}
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (!strcmp(suites[i].name, argv[1]))
			s = &suites[i];
	if (!s) {
		record_emit(&c.out, "fail", "suite unknown suite");
		fprintf(stderr, "heki-suite: unknown suite '%s'\n", argv[1]);
		return 2;
	}

	record_emit(&c.out, "stage", "suite");
	printf("TAP version 13\n# suite %s\n", s->name);
	s->run(&c);
	printf("1..%d\n# %d passed, %d failed\n", c.tests, c.tests - c.failed, c.failed);
	record_kv(&c.out, "suite.name", "%s", s->name);
	record_kv(&c.out, "suite.tests", "%d", c.tests);
	record_kv(&c.out, "suite.failed", "%d", c.failed);
	record_emit(&c.out, "stage", "suite-done");
	record_close(&c.out);
	return c.failed ? 1 : 0;
}
