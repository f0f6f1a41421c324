// SPDX-License-Identifier: GPL-2.0
/*
 * heki-costmodel (bench/costmodel_lib.c): the projection's arithmetic on a
 * hand-made run (tests/fixtures/costmodel/, round figures worked out in
 * the comments), the costs file's errors with their line numbers, missing
 * inputs reported as unknown and never as zero, and the MODEL banner.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "costmodel_lib.h"
#include "json.h"

static const char *fixture(const char *name)
{
	static char path[512];
	const char *d = getenv("HEKI_COSTMODEL_FIXTURES");

	snprintf(path, sizeof(path), "%s/%s", d ? d : "tests/fixtures/costmodel", name);
	return path;
}

static const struct cm_proj *find(const struct cm_proj *p, int n, const char *bench,
				  const char *mode)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(p[i].bench, bench) && !strcmp(p[i].mode, mode))
			return &p[i];
	return NULL;
}

static char *print_to_string(const struct cm_bench *b, const struct cm_costs *c,
			     const struct cm_proj *p, int n, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (json)
		cm_write_json(f, b, c, "costs.txt", p, n);
	else
		cm_print(f, b, c, p, n);
	fclose(f);
	return buf;
}

/* The line of @text that starts (after spaces) with "@bench @mode ". */
static char *table_line(const char *text, const char *bench, const char *mode)
{
	static char line[512];
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, "\n");
		char b[64] = "", m[32] = "";

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (sscanf(line, "%63s %31s", b, m) == 2 && !strcmp(b, bench) &&
		    !strcmp(m, mode))
			return line;
		p += len + (p[len] == '\n');
	}
	return NULL;
}

FIXTURE(run) {
	struct cm_bench b;
	struct cm_costs c;
	struct cm_proj *p;
	int n;
};

FIXTURE_SETUP(run)
{
	char err[1024];

	ASSERT_EQ(0, cm_bench_load(fixture("bench.json"), &self->b, err, sizeof(err)))
		TH_LOG("%s", err);
	cm_costs_from_bench(&self->b, &self->c);
	self->p = NULL;
	self->n = 0;
}

FIXTURE_TEARDOWN(run)
{
	free(self->p);
	cm_bench_free(&self->b);
}

#define EXPECT_NEAR(want, got) EXPECT_GT(1e-9, fabs((double)(want) - (got))) \
	TH_LOG("expected %g, got %g", (double)(want), (double)(got))

TEST_F(run, projection_arithmetic_with_a_costs_file)
{
	char err[1024];
	const struct cm_proj *q;

	ASSERT_EQ(0, cm_costs_load(fixture("costs.txt"), &self->c, err, sizeof(err)))
		TH_LOG("%s", err);
	self->n = cm_project(&self->b, &self->c, &self->p);
	/* 4 benchmarks measured in off x (hypercall, hypercall+ext, view, vmfunc). */
	ASSERT_EQ(16, self->n);

	/* 1000 + 2 hypercalls x 100 + 1 zap x 20 + 0.5 flush x 40 */
	q = find(self->p, self->n, "text_poke_1", "hypercall");
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(q->complete);
	EXPECT_NEAR(1240, q->lower);
	EXPECT_TRUE(q->has_measured);
	EXPECT_NEAR(5000, q->measured);
	/* A mode of its own counts, whatever its name. */
	q = find(self->p, self->n, "text_poke_1", "hypercall+ext");
	ASSERT_NE(NULL, q);
	EXPECT_NEAR(1240, q->lower);
	/* view: the window's 2 hypercalls -> 2 view switches x 150, its zap and flush gone. */
	q = find(self->p, self->n, "text_poke_1", "view");
	ASSERT_NE(NULL, q);
	EXPECT_STREQ("hypercall", q->counts_from);
	EXPECT_TRUE(q->complete);
	EXPECT_NEAR(0, q->events[CM_HYPERCALL]);
	EXPECT_NEAR(2, q->events[CM_VIEW_SWITCH]);
	EXPECT_NEAR(0, q->events[CM_ZAP]);
	EXPECT_NEAR(0, q->events[CM_TLB_FLUSH]);
	EXPECT_NEAR(1300, q->lower);
	EXPECT_FALSE(q->has_measured);	/* unsupported in the run */
	/* vmfunc: 2 VMFUNCs x 10, no exit. */
	q = find(self->p, self->n, "text_poke_1", "vmfunc");
	ASSERT_NE(NULL, q);
	EXPECT_NEAR(2, q->events[CM_VMFUNC]);
	EXPECT_NEAR(1020, q->lower);
	/* No window: views change nothing; 500 + 2 x 100 + 2 x 20. */
	q = find(self->p, self->n, "vmap_1", "view");
	ASSERT_NE(NULL, q);
	EXPECT_NEAR(740, q->lower);
	EXPECT_NEAR(2, q->events[CM_HYPERCALL]);
	/* Off's own hypercall is already in off's median: nothing added. */
	q = find(self->p, self->n, "hypercall_noop", "hypercall");
	ASSERT_NE(NULL, q);
	EXPECT_NEAR(0, q->events[CM_HYPERCALL]);
	EXPECT_NEAR(200, q->lower);
	/* No flush count, but no zap either: 9000 + 3 x 100, complete. */
	q = find(self->p, self->n, "module_load_unload", "hypercall");
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(q->complete);
	EXPECT_NEAR(9300, q->lower);
	/* A row a measured mode lacks is said to be so, not projected. */
	q = find(self->p, self->n, "vmap_1", "hypercall+ext");
	ASSERT_NE(NULL, q);
	EXPECT_NE(NULL, q->unavailable);
}

TEST_F(run, default_inputs_come_from_the_run_and_say_so)
{
	const struct cm_cost *h = &self->c.c[CM_HYPERCALL];

	EXPECT_TRUE(h->known);
	EXPECT_NEAR(250, h->ns);	/* hypercall_noop in mode hypercall */
	EXPECT_NE(NULL, strstr(h->source, "hypercall_noop")) TH_LOG("%s", h->source);
	EXPECT_NE(NULL, strstr(h->source, "20260101-000000-bench")) TH_LOG("%s", h->source);
	EXPECT_NE(NULL, strstr(h->source, "not hardware")) TH_LOG("%s", h->source);
	for (int i = CM_VIEW_SWITCH; i < CM_NINPUTS; i++) {
		EXPECT_FALSE(self->c.c[i].known) TH_LOG("%s", cm_input_name[i]);
		EXPECT_EQ(0, strncmp(self->c.c[i].source, "unknown: ", 9))
			TH_LOG("%s: %s", cm_input_name[i], self->c.c[i].source);
	}
}

TEST_F(run, missing_inputs_are_unknown_not_zero)
{
	const struct cm_proj *q;
	char *text, *line;
	struct json *j;
	const struct json *r;
	char err[256];

	self->n = cm_project(&self->b, &self->c, &self->p);
	ASSERT_LT(0, self->n);
	/* No view_switch cost: no number, and the missing input named. */
	q = find(self->p, self->n, "text_poke_1", "view");
	ASSERT_NE(NULL, q);
	EXPECT_FALSE(q->complete);
	EXPECT_TRUE(q->missing_costs & (1u << CM_VIEW_SWITCH));
	/* No zap or flush cost: 1000 + 2 x 250 is only a lower bound. */
	q = find(self->p, self->n, "text_poke_1", "hypercall");
	ASSERT_NE(NULL, q);
	EXPECT_FALSE(q->complete);
	EXPECT_EQ((1u << CM_ZAP) | (1u << CM_TLB_FLUSH), q->missing_costs);
	EXPECT_NEAR(1500, q->lower);

	text = print_to_string(&self->b, &self->c, self->p, self->n, false);
	line = table_line(text, "text_poke_1", "view");
	ASSERT_NE(NULL, line) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(line, "unknown")) TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "needs view_switch cost")) TH_LOG("%s", line);
	line = table_line(text, "text_poke_1", "hypercall");
	ASSERT_NE(NULL, line);
	EXPECT_NE(NULL, strstr(line, ">= 1500")) TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "zap cost")) TH_LOG("%s", line);
	free(text);

	text = print_to_string(&self->b, &self->c, self->p, self->n, true);
	j = json_parse(text, err, sizeof(err));
	ASSERT_NE(NULL, j) TH_LOG("%s", err);
	EXPECT_EQ(JSON_NULL, json_get(j, "inputs.view_switch.ns")->type);
	EXPECT_FALSE(json_get(j, "inputs.view_switch.known")->boolean);
	for (r = json_get(j, "rows")->child; r; r = r->next)
		if (!strcmp(json_get(r, "benchmark")->str, "text_poke_1") &&
		    !strcmp(json_get(r, "mode")->str, "view"))
			break;
	ASSERT_NE(NULL, r);
	EXPECT_EQ(JSON_NULL, json_get(r, "projected")->type);
	EXPECT_FALSE(json_get(r, "complete")->boolean);
	ASSERT_NE(NULL, json_get(r, "missing_costs")->child);
	EXPECT_STREQ("view_switch", json_get(r, "missing_costs")->child->str);
	json_free(j);
	free(text);
}

TEST_F(run, banner_says_model_in_table_and_json)
{
	char *text, err[256];
	struct json *j;

	self->n = cm_project(&self->b, &self->c, &self->p);
	text = print_to_string(&self->b, &self->c, self->p, self->n, false);
	EXPECT_EQ(0, strncmp(text, "MODEL, not a measurement", 24)) TH_LOG("%.200s", text);
	/* Every input and its source in the banner. */
	for (int i = 0; i < CM_NINPUTS; i++)
		EXPECT_NE(NULL, strstr(text, cm_input_name[i]));
	EXPECT_NE(NULL, strstr(text, "hypercall_noop in mode hypercall"));
	EXPECT_NE(NULL, strstr(text, "view_switch cost"));
	free(text);

	text = print_to_string(&self->b, &self->c, self->p, self->n, true);
	j = json_parse(text, err, sizeof(err));
	ASSERT_NE(NULL, j) TH_LOG("%s", err);
	EXPECT_STREQ("heki-costmodel", json_get(j, "schema")->str);
	EXPECT_EQ(1, json_get(j, "schema_version")->num);
	EXPECT_EQ(JSON_BOOL, json_get(j, "model")->type);
	EXPECT_TRUE(json_get(j, "model")->boolean);
	EXPECT_EQ(0, strncmp(json_get(j, "banner")->str, "MODEL", 5));
	EXPECT_NE(NULL, strstr(json_get(j, "inputs.hypercall.source")->str, "hypercall_noop"));
	json_free(j);
	free(text);
}

/* A run that timed the views: their inputs come from it. */
TEST(view_inputs_measured_in_the_run)
{
	static const char text[] =
		"{\"schema\":\"heki-bench\",\"schema_version\":1,\"run_id\":\"r\","
		"\"rig\":{\"l0_accel\":\"none\",\"icount\":false},\"time_unit\":\"ns\",\"rows\":["
		"{\"benchmark\":\"text_poke_1\",\"mode\":\"off\",\"status\":\"measured\",\"median\":1000,"
		"\"hypercalls_per_op\":0,\"zaps_per_op\":0,\"windows_per_op\":0,\"tlb_flushes_per_op\":0},"
		"{\"benchmark\":\"text_poke_1\",\"mode\":\"hypercall\",\"status\":\"measured\",\"median\":5000,"
		"\"hypercalls_per_op\":2,\"zaps_per_op\":1,\"windows_per_op\":1,\"tlb_flushes_per_op\":1},"
		"{\"benchmark\":\"view_switch\",\"mode\":\"view\",\"status\":\"measured\",\"median\":400},"
		"{\"benchmark\":\"vmfunc_roundtrip\",\"mode\":\"vmfunc\",\"status\":\"measured\",\"median\":60}]}";
	struct cm_bench b;
	struct cm_costs c;
	struct cm_proj *p;
	const struct cm_proj *q;
	char err[256];
	int n;

	ASSERT_EQ(0, cm_bench_parse("inline", text, &b, err, sizeof(err))) TH_LOG("%s", err);
	cm_costs_from_bench(&b, &c);
	EXPECT_FALSE(c.c[CM_HYPERCALL].known);	/* no hypercall_noop row */
	EXPECT_TRUE(c.c[CM_VIEW_SWITCH].known);
	EXPECT_NEAR(400, c.c[CM_VIEW_SWITCH].ns);
	EXPECT_TRUE(c.c[CM_VMFUNC].known);
	EXPECT_NEAR(30, c.c[CM_VMFUNC].ns);	/* there and back: two VMFUNCs */
	EXPECT_NE(NULL, strstr(c.c[CM_VIEW_SWITCH].source, "bare metal"));
	n = cm_project(&b, &c, &p);
	/* 1000 + 2 x 400: the window's zap and its flush gone, complete. */
	q = find(p, n, "text_poke_1", "view");
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(q->complete);
	EXPECT_NEAR(1800, q->lower);
	q = find(p, n, "text_poke_1", "vmfunc");
	ASSERT_NE(NULL, q);
	EXPECT_NEAR(1060, q->lower);
	/* And the hypercall mode, without a hypercall cost, has no number. */
	q = find(p, n, "text_poke_1", "hypercall");
	ASSERT_NE(NULL, q);
	EXPECT_FALSE(q->complete);
	EXPECT_TRUE(q->missing_costs & (1u << CM_HYPERCALL));
	free(p);
	cm_bench_free(&b);
}

TEST(costs_file_errors_name_the_line)
{
	static const char text[] =
		"# comment\n"			/* 1 */
		"hypercall = 100 # ok\n"	/* 2 */
		"hypercal = 5\n"		/* 3: unknown key */
		"\n"				/* 4 */
		"zap = fast  # words\n"		/* 5: not a number */
		"tlb_flush = -3\n"		/* 6: negative */
		"vmfunc 50\n"			/* 7: no '=' */
		"hypercall = 200\n"		/* 8: twice */
		"view_switch = 1.5us\n"		/* 9: a unit */
		"vmfunc = nan\n";		/* 10: not finite */
	struct cm_costs c, before;
	char err[2048];

	memset(&c, 0, sizeof(c));
	before = c;
	EXPECT_EQ(7, cm_costs_parse("my-costs.txt", text, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "my-costs.txt:3: unknown key 'hypercal'")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "my-costs.txt:5: zap = 'fast': not a number")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "my-costs.txt:6: tlb_flush = -3: a cost cannot be negative"))
		TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "my-costs.txt:7: expected 'key = value_ns")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "my-costs.txt:8: hypercall given twice (first on line 2)"))
		TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "my-costs.txt:9: view_switch = '1.5us'")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "my-costs.txt:10: vmfunc = 'nan'")) TH_LOG("%s", err);
	/* Nothing of a bad file is taken. */
	EXPECT_EQ(0, memcmp(&before, &c, sizeof(c)));
}

TEST(costs_file_sources_and_unknown)
{
	static const char text[] =
		"hypercall = 1200  # measured with L0=none on box42\r\n"
		"vmfunc = unknown  # AMD: no VMFUNC\n"
		"zap=300\n";
	struct cm_costs c;
	char err[512];

	memset(&c, 0, sizeof(c));
	c.c[CM_VMFUNC].known = true;	/* the file says otherwise */
	c.c[CM_VMFUNC].ns = 40;
	ASSERT_EQ(0, cm_costs_parse("t.txt", text, &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(c.c[CM_HYPERCALL].known);
	EXPECT_NEAR(1200, c.c[CM_HYPERCALL].ns);
	EXPECT_STREQ("t.txt:1: measured with L0=none on box42", c.c[CM_HYPERCALL].source);
	EXPECT_FALSE(c.c[CM_VMFUNC].known);
	EXPECT_STREQ("unknown: t.txt:2: AMD: no VMFUNC", c.c[CM_VMFUNC].source);
	EXPECT_NEAR(300, c.c[CM_ZAP].ns);
	EXPECT_NE(NULL, strstr(c.c[CM_ZAP].source, "no source given"));
}

static void expect_bench_error(struct __test_metadata *_metadata, const char *text,
			       const char *want)
{
	struct cm_bench b;
	char err[512];

	EXPECT_EQ(-1, cm_bench_parse("x/bench.json", text, &b, err, sizeof(err)));
	EXPECT_EQ(0, strncmp(err, "x/bench.json: ", 14)) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, want)) TH_LOG("'%s' lacks '%s'", err, want);
	cm_bench_free(&b);
}

TEST(bench_json_errors_name_the_file_and_the_problem)
{
	struct cm_bench b;
	char err[512];

	expect_bench_error(_metadata, "{\"schema\": \"heki-bench\", ", "line 1, column");
	expect_bench_error(_metadata, "[]", "expected a JSON object");
	expect_bench_error(_metadata, "{\"schema_version\": 1}", "schema is missing");
	expect_bench_error(_metadata, "{\"schema\":\"heki-inject\",\"schema_version\":1}",
			   "expected \"heki-bench\"");
	expect_bench_error(_metadata, "{\"schema\":\"heki-bench\",\"schema_version\":2,\"rows\":[]}",
			   "schema_version: this tool reads version 1, got 2");
	expect_bench_error(_metadata, "{\"schema\":\"heki-bench\",\"schema_version\":1}",
			   "rows: expected an array");
	expect_bench_error(_metadata, "{\"schema\":\"heki-bench\",\"schema_version\":1,\"rows\":["
			   "{\"benchmark\":\"a\",\"mode\":\"off\",\"status\":\"measured\",\"median\":\"12\"}]}",
			   "rows[0].median");
	expect_bench_error(_metadata, "{\"schema\":\"heki-bench\",\"schema_version\":1,\"rows\":["
			   "{\"benchmark\":\"a\",\"mode\":\"off\",\"status\":\"measured\",\"median\":1,"
			   "\"zaps_per_op\":-1}]}", "rows[0].zaps_per_op");
	expect_bench_error(_metadata, "{\"schema\":\"heki-bench\",\"schema_version\":1,\"rows\":["
			   "{\"benchmark\":\"a\",\"mode\":\"hypercall\",\"status\":\"measured\",\"median\":1}]}",
			   "no measured row in mode off");
	expect_bench_error(_metadata, "{\"schema\":\"heki-bench\",\"schema_version\":1,\"rows\":["
			   "{\"benchmark\":\"a\",\"mode\":\"off\",\"status\":\"measured\",\"median\":1},"
			   "{\"benchmark\":\"a\",\"mode\":\"off\",\"status\":\"failed\"}]}",
			   "a in mode off appears twice");
	expect_bench_error(_metadata, "{\"schema\":\"heki-bench\",\"schema_version\":1,\"rows\":["
			   "{\"benchmark\":\"a b\",\"mode\":\"off\",\"status\":\"measured\",\"median\":1}]}",
			   "rows[0].benchmark");

	EXPECT_EQ(-1, cm_bench_load("/nonexistent/bench.json", &b, err, sizeof(err)));
	EXPECT_STREQ("/nonexistent/bench.json: cannot read: No such file or directory", err);
	cm_bench_free(&b);
}

/* The command line: exit status, messages, and --json written. */
TEST(main_exit_status_and_json_file)
{
	char out_path[] = "/tmp/test_costmodel_XXXXXX", *obuf = NULL, *ebuf = NULL;
	char bench[512], costs[512], err[256];
	size_t olen = 0, elen = 0;
	FILE *out = open_memstream(&obuf, &olen), *errf = open_memstream(&ebuf, &elen);
	char *good[] = { "heki-costmodel", bench, "--json", out_path, NULL };
	char *bad[] = { "heki-costmodel", bench, "--costs", costs, NULL };
	char *usage[] = { "heki-costmodel", NULL };
	struct json *j;
	char *text;
	int fd = mkstemp(out_path);

	ASSERT_LE(0, fd);
	close(fd);
	snprintf(bench, sizeof(bench), "%s", fixture("bench.json"));
	snprintf(costs, sizeof(costs), "%s", fixture("bench.json"));	/* not a costs file */
	EXPECT_EQ(0, cm_main(4, good, out, errf));
	EXPECT_EQ(2, cm_main(4, bad, out, errf));
	EXPECT_EQ(2, cm_main(1, usage, out, errf));
	fclose(out);
	fclose(errf);
	EXPECT_EQ(0, strncmp(obuf, "MODEL, not a measurement", 24));
	EXPECT_NE(NULL, strstr(ebuf, "bench.json:1: expected 'key = value_ns")) TH_LOG("%s", ebuf);
	EXPECT_NE(NULL, strstr(ebuf, "invalid costs file, nothing projected")) TH_LOG("%s", ebuf);
	EXPECT_NE(NULL, strstr(ebuf, "usage: heki-costmodel")) TH_LOG("%s", ebuf);

	out = fopen(out_path, "r");
	ASSERT_NE(NULL, out);
	text = calloc(1, 1 << 20);
	ASSERT_NE(NULL, text);
	fread(text, 1, (1 << 20) - 1, out);
	fclose(out);
	unlink(out_path);
	j = json_parse(text, err, sizeof(err));
	ASSERT_NE(NULL, j) TH_LOG("%s", err);
	EXPECT_TRUE(json_get(j, "model")->boolean);
	EXPECT_STREQ("20260101-000000-bench", json_get(j, "bench.run_id")->str);
	json_free(j);
	free(text);
	free(obuf);
	free(ebuf);
}

TEST_HARNESS_MAIN
