// SPDX-License-Identifier: GPL-2.0
/*
 * heki-results (results/results_lib.c): the checker's messages on broken
 * files, compare's verdicts and exit codes, history.jsonl and last-good.
 * Fixtures are trimmed records of real runs (tests/fixtures/results/);
 * each test doctors copies of them in a temporary directory.  Run from the
 * top of the tree (make unit-test), or set HEKI_RESULTS_FIXTURES.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "json.h"
#include "results_lib.h"

static const char *fixtures(void)
{
	const char *d = getenv("HEKI_RESULTS_FIXTURES");

	return d ? d : "tests/fixtures/results";
}

/* ------------------------------------------------------------- helpers */

/*
 * Runs the command line (NULL-terminated after @out) through hr_main();
 * its stdout and stderr both land in *out, which the caller frees.
 */
static int hr(char **out, ...)
{
	char *argv[16] = { "heki-results" };
	int argc = 1, rc;
	size_t len;
	va_list ap;
	FILE *f = open_memstream(out, &len);

	va_start(ap, out);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	rc = hr_main(argc, argv, f, f);
	fclose(f);
	return rc;
}

static char *slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf)
		len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	if (buf)
		buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

static int spit(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	fwrite(text, 1, len, f);
	return fclose(f);
}

static struct json *load(const char *path)
{
	char err[256], *text = slurp(path, NULL);
	struct json *j = text ? json_parse(text, err, sizeof(err)) : NULL;

	free(text);
	return j;
}

/* Writes a tree back with the project's writer (integers stay exact). */
static void put_tree(struct jw *w, const struct json *j)
{
	const char *k = j->key;

	switch (j->type) {
	case JSON_NULL: jw_null(w, k); break;
	case JSON_BOOL: jw_bool(w, k, j->boolean); break;
	case JSON_STR: jw_str(w, k, j->str); break;
	case JSON_NUM:
		if (j->num == (double)(long long)j->num)
			jw_int(w, k, (long long)j->num);
		else
			jw_num(w, k, j->num);
		break;
	case JSON_ARR:
	case JSON_OBJ:
		if (j->type == JSON_ARR)
			jw_arr(w, k);
		else
			jw_obj(w, k);
		for (const struct json *c = j->child; c; c = c->next)
			put_tree(w, c);
		jw_end(w);
		break;
	}
}

static int save(const char *path, struct json *root)
{
	FILE *f = fopen(path, "w");
	struct jw w;

	if (!f)
		return -1;
	jw_init(&w, f);
	put_tree(&w, root);
	json_free(root);
	return fclose(f);
}

static struct json *get(struct json *j, const char *path)
{
	return (struct json *)json_get(j, path);
}

/* The @i-th element of an array. */
static struct json *nth(struct json *arr, int i)
{
	struct json *c = arr ? arr->child : NULL;

	while (c && i--)
		c = c->next;
	return c;
}

/* The element of @arr whose @k1 is @v1 (and @k2 is @v2, if given). */
static struct json *find(struct json *arr, const char *k1, const char *v1,
			 const char *k2, const char *v2)
{
	for (struct json *c = arr ? arr->child : NULL; c; c = c->next) {
		const struct json *a = json_get(c, k1), *b = k2 ? json_get(c, k2) : NULL;

		if (a && a->str && !strcmp(a->str, v1) && (!k2 || (b && b->str && !strcmp(b->str, v2))))
			return c;
	}
	return NULL;
}

static void set_str(struct json *j, const char *s)
{
	free(j->str);
	j->type = JSON_STR;
	j->str = strdup(s);
}

/* Sets member @key of @obj to string @s, adding the member if need be. */
static void set_member_str(struct json *obj, const char *key, const char *s)
{
	struct json *m = get(obj, key);

	if (!m) {
		m = calloc(1, sizeof(*m));
		m->key = strdup(key);
		m->next = obj->child;
		obj->child = m;
	}
	set_str(m, s);
}

/* Unlinks member @key of @obj. */
static void drop(struct json *obj, const char *key)
{
	for (struct json **p = &obj->child; *p; p = &(*p)->next)
		if (!strcmp((*p)->key, key)) {
			struct json *m = *p;

			*p = m->next;
			m->next = NULL;
			json_free(m);
			return;
		}
}

/* A measured row slowed down (or sped up) by @f as a whole. */
static void scale_row(struct json *row, double f)
{
	static const char *const keys[] = {
		"min", "median", "p90", "p99", "max", "mean", "stddev",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		get(row, keys[i])->num = (double)(long long)(get(row, keys[i])->num * f);
}

/* Whether some line of @text starts with @prefix. */
static bool has_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, n))
			return true;
	return false;
}

static int count_lines(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	int count = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		count += !strncmp(p, prefix, n);
	return count;
}

/* The verdict printed on the table line of @a x @b, or NULL. */
static char *verdict_of(const char *text, const char *a, const char *b)
{
	static char v[32];

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char t1[64], t2[64];
		const char *eol = strchrnul(p, '\n'), *last = eol;

		if (sscanf(p, "  %63s %63s", t1, t2) != 2 || strcmp(t1, a) || strcmp(t2, b))
			continue;
		while (last > p && last[-1] != ' ')
			last--;
		snprintf(v, sizeof(v), "%.*s", (int)(eol - last), last);
		return v;
	}
	return NULL;
}

static bool is_verdict(const char *v)
{
	for (int i = 0; i < V_NR; i++)
		if (v && !strcmp(v, hr_verdict_name(i)))
			return true;
	return false;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Copies the fixture run @name (its three files, if present) to @dir. */
static int copy_run(const char *name, const char *dir)
{
	static const char *const files[] = { "summary.json", "bench.json", "inject.json" };
	char src[PATH_MAX], dst[PATH_MAX];

	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		char *text;

		snprintf(src, sizeof(src), "%s/%s/%s", fixtures(), name, files[i]);
		text = slurp(src, &len);
		if (!text)
			continue;
		snprintf(dst, sizeof(dst), "%s/%s", dir, files[i]);
		if (spit(dst, text, len))
			return -1;
		free(text);
	}
	return 0;
}

/* -------------------------------------------------------------- checker */

TEST(valid_fixtures_pass)
{
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], d[PATH_MAX], e[PATH_MAX], *out;

	snprintf(a, sizeof(a), "%s/bench-run/summary.json", fixtures());
	snprintf(b, sizeof(b), "%s/bench-run/bench.json", fixtures());
	snprintf(c, sizeof(c), "%s/attacks-run/summary.json", fixtures());
	snprintf(d, sizeof(d), "%s/attacks-run/inject.json", fixtures());
	snprintf(e, sizeof(e), "%s/smoke-run/summary.json", fixtures());
	ASSERT_EQ(0, access(b, R_OK)) TH_LOG("fixtures not found: run from the top of the tree");
	EXPECT_EQ(HR_OK, hr(&out, "check", a, b, c, d, e, NULL)) TH_LOG("%s", out);
	EXPECT_EQ(5, count_lines(out, fixtures())) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "bench.json: ok"));
	free(out);
}

FIXTURE(tmp) {
	char dir[64];
	char base[96], new[96];
};

FIXTURE_SETUP(tmp)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/test_results.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->base, sizeof(self->base), "%s/base", self->dir);
	snprintf(self->new, sizeof(self->new), "%s/new", self->dir);
}

FIXTURE_TEARDOWN(tmp)
{
	nftw(self->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TEST_F(tmp, truncated_file_names_the_file_and_the_position)
{
	char src[PATH_MAX], path[PATH_MAX], *text, *out;
	size_t len;

	snprintf(src, sizeof(src), "%s/bench-run/bench.json", fixtures());
	text = slurp(src, &len);
	ASSERT_NE(NULL, text);
	ASSERT_LT(3000, len);
	snprintf(path, sizeof(path), "%s/bench.json", self->dir);
	ASSERT_EQ(0, spit(path, text, 3000));
	EXPECT_EQ(HR_FAIL, hr(&out, "check", path, NULL));
	/* "DIR/bench.json: line L, column C (byte 3000 of 3000): ... truncated" */
	EXPECT_TRUE(has_line(out, path)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, ": line ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "(byte 3000 of 3000)")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "truncated")) TH_LOG("%s", out);
	free(out);
	free(text);
}

TEST(every_prefix_of_a_record_is_refused_with_a_position)
{
	char src[PATH_MAX], *text, *msg;
	size_t len, mlen;

	snprintf(src, sizeof(src), "%s/bench-run/bench.json", fixtures());
	text = slurp(src, &len);
	ASSERT_NE(NULL, text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	for (size_t cut = 0; cut < len; cut++) {
		FILE *err = open_memstream(&msg, &mlen);
		struct hr_doc d;
		int n = hr_check_text(&d, "bench.json", text, cut, HR_UNKNOWN, err);

		fclose(err);
		EXPECT_LT(0, n) TH_LOG("a prefix of %zu bytes passed", cut);
		EXPECT_EQ(0, strncmp(msg, "bench.json: ", 12)) TH_LOG("'%s'", msg);
		if (cut)
			EXPECT_NE(NULL, strstr(msg, "(byte ")) TH_LOG("cut %zu: '%s'", cut, msg);
		hr_doc_free(&d);
		free(msg);
	}
	free(text);
}

/* Doctors fixture @file of run @run with @edit, checks it, returns the output. */
static int check_doctored(const char *dir, const char *run, const char *file,
			  void (*edit)(struct json *), char **out)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct json *j;

	snprintf(src, sizeof(src), "%s/%s/%s", fixtures(), run, file);
	snprintf(dst, sizeof(dst), "%s/%s", dir, file);
	j = load(src);
	if (!j)
		return -1;
	edit(j);
	if (save(dst, j))
		return -1;
	return hr(out, "check", dst, NULL);
}

static void median_to_string(struct json *j)
{
	set_str(get(nth(get(j, "rows"), 3), "median"), "fast");
}

TEST_F(tmp, wrong_type_names_the_field)
{
	char *out;

	ASSERT_EQ(HR_FAIL, check_doctored(self->dir, "bench-run", "bench.json",
					  median_to_string, &out));
	EXPECT_NE(NULL, strstr(out, "/bench.json: rows[3].median: expected a number, got string"))
		TH_LOG("%s", out);
	free(out);
}

static void break_bench(struct json *j)
{
	drop(get(j, "rig"), "icount");
	set_str(get(nth(get(j, "rows"), 5), "status"), "skipped");
	get(nth(get(j, "rows"), 0), "p90")->num = 1;
	get(nth(get(j, "rows"), 6), "n")->num = 0;
}

TEST_F(tmp, each_bench_problem_is_named)
{
	char *out;

	ASSERT_EQ(HR_FAIL, check_doctored(self->dir, "bench-run", "bench.json", break_bench, &out));
	EXPECT_NE(NULL, strstr(out, "rig.icount: missing (expected a boolean)")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "rows[5].status: expected one of measured, unsupported, failed, got \"skipped\""))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "rows[0]: median 24209 > p90 1")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "rows[6].n: expected a whole number of samples >= 1, got 0"))
		TH_LOG("%s", out);
	free(out);
}

static void break_summary(struct json *j)
{
	set_str(get(j, "status"), "finished");
	drop(nth(get(j, "stages"), 2), "seconds");
	get(j, "schema_version")->num = 2;
}

TEST_F(tmp, each_summary_problem_is_named)
{
	char *out;

	ASSERT_EQ(HR_FAIL, check_doctored(self->dir, "bench-run", "summary.json", break_summary, &out));
	EXPECT_NE(NULL, strstr(out, "summary.json: status: expected one of ok, failed, interrupted, got \"finished\""))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "stages[2].seconds: missing (expected a number)")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "schema_version: 2 is not supported")) TH_LOG("%s", out);
	free(out);
}

static void break_inject(struct json *j)
{
	set_str(get(nth(get(nth(get(j, "attacks"), 1), "results"), 0), "observed"), "blocked");
	get(j, "cells")->num = 99;
	set_str(get(nth(get(j, "attacks"), 2), "id"), "fops_ptr_write");
	/* the evidence fields keep their types */
	set_member_str(nth(get(nth(get(j, "attacks"), 3), "results"), 1), "landed", "yes");
}

TEST_F(tmp, each_inject_problem_is_named)
{
	char *out;

	ASSERT_EQ(HR_FAIL, check_doctored(self->dir, "attacks-run", "inject.json", break_inject, &out));
	EXPECT_NE(NULL, strstr(out, "attacks[1].results[0].observed: expected one of prevented, detected, missed, n/a, ineffective, crashed, error, not-run, got \"blocked\""))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "cells: says 99, but attacks[].results[] hold 24 cells"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "attacks[2]: id \"fops_ptr_write\" id \"fops_ptr_write\" appears twice"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "attacks[3].results[1].landed: expected a boolean, got string"))
		TH_LOG("%s", out);
	free(out);
}

/* Checks @text; it must be refused with a message naming the file. */
static void refused(struct __test_metadata *_metadata, const char *text, size_t len)
{
	struct hr_doc d;
	size_t mlen;
	char *msg;
	FILE *err = open_memstream(&msg, &mlen);
	int n = hr_check_text(&d, "junk.json", text, len, HR_UNKNOWN, err);

	fclose(err);
	EXPECT_LT(0, n) TH_LOG("accepted: %.60s", text);
	EXPECT_EQ(0, strncmp(msg, "junk.json: ", 11)) TH_LOG("'%s'", msg);
	/* nothing from the file may reach the terminal raw */
	for (const char *p = msg; *p; p++)
		EXPECT_TRUE(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
	hr_doc_free(&d);
	free(msg);
}

TEST(garbage_is_refused_never_crashes)
{
	static const char *const texts[] = {
		"", " \n", "null", "[]", "42", "\"x\"", "{}", "{\"a\":1}",
		"\xef\xbb\xbf{}", "{\"schema\": 3}", "{\"schema\": \"heki-other\"}",
		"{\"schema\": \"heki-bench\"}", "{\"schema\": \"heki-inject\", \"attacks\": [1, [], {}]}",
		"{\"schema_version\": 1, \"run_id\": \"x\", \"stages\": [null, {\"status\": 7}]}",
		"{\"schema\": \"heki-bench\", \"rows\": {\"a\": 1}}", "[1, 2,]", "{\"a\" 1}",
		"\"unterminated", "\"\\u12", "\"\\", "-", "-inf", "1e999", "nan",
		"{\"schema\": \"heki-bench\", \"schema_version\": -nan}",
		"{\"a\": 1, \"a\": 2}", "\x1b[2J\x1b[31m", "{\"\x01\": \"\x7f\"}",
	};
	char *big;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		refused(_metadata, texts[i], strlen(texts[i]));
	refused(_metadata, "{\"a\":\0}", 7);

	/* deep nesting: refused by depth, not by a blown stack */
	big = malloc(200001);
	ASSERT_NE(NULL, big);
	memset(big, '[', 200000);
	refused(_metadata, big, 200000);
	for (int i = 0; i < 40000; i++)
		memcpy(big + i * 5, "{\"a\":", 5);
	refused(_metadata, big, 200000);
	free(big);

	/* random bytes, with and without NULs */
	srand(8);
	for (int round = 0; round < 300; round++) {
		char buf[512];
		size_t n = (size_t)rand() % sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(round & 1 ? rand() : ' ' + rand() % 95);
		refused(_metadata, buf, n);
	}
}

/* A real record with random bytes changed: anything may be said, no crash. */
TEST(mutated_records_never_crash)
{
	static const char *const runs[] = {
		"bench-run/bench.json", "attacks-run/inject.json", "smoke-run/summary.json",
	};
	static const char pool[] = "{}[]\",:0-9.eE \"null\"true";

	srand(9);
	for (size_t r = 0; r < 3; r++) {
		char path[PATH_MAX], *text;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", fixtures(), runs[r]);
		text = slurp(path, &len);
		ASSERT_NE(NULL, text);
		for (int round = 0; round < 400; round++) {
			char *m = malloc(len + 1);
			struct hr_doc d;

			memcpy(m, text, len + 1);
			for (int k = 0; k < 1 + round % 4; k++)
				m[(size_t)rand() % len] = pool[rand() % (sizeof(pool) - 1)];
			hr_check_text(&d, "m.json", m, len, HR_UNKNOWN, NULL);
			hr_doc_free(&d);
			free(m);
		}
		free(text);
	}
}

TEST_F(tmp, unreadable_inputs_are_reported)
{
	char path[PATH_MAX], *out;

	snprintf(path, sizeof(path), "%s/empty.json", self->dir);
	ASSERT_EQ(0, spit(path, "", 0));
	EXPECT_EQ(HR_FAIL, hr(&out, "check", path, self->dir, "/nonexistent/x.json", NULL));
	EXPECT_NE(NULL, strstr(out, "empty.json: empty file (truncated?)")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, ": cannot read: is a directory")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "x.json: cannot read: No such file")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "3 of 3 files invalid")) TH_LOG("%s", out);
	free(out);
}

/* -------------------------------------------------------------- compare */

/* Edits @file of the run in @dir in place. */
static int edit(const char *dir, const char *file, void (*fn)(struct json *, void *), void *arg)
{
	char path[PATH_MAX];
	struct json *j;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	j = load(path);
	if (!j)
		return -1;
	fn(j, arg);
	return save(path, j);
}

struct scale { const char *bench, *mode; double f; };

static void do_scale(struct json *j, void *arg)
{
	struct scale *s = arg;

	scale_row(find(get(j, "rows"), "benchmark", s->bench, "mode", s->mode), s->f);
}

static void do_rig(struct json *j, void *arg)
{
	const char *what = arg;

	if (!strcmp(what, "kvm"))
		set_str(get(j, "rig.l0_accel"), "kvm");
	else
		get(j, "rig.icount")->boolean = true;
}

TEST_F(tmp, identical_runs_pass_and_print_every_row)
{
	char path[PATH_MAX], *out;
	struct json *b;
	int rows = 0;

	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	snprintf(path, sizeof(path), "%s/bench.json", self->base);
	b = load(path);
	ASSERT_NE(NULL, b);
	for (struct json *r = get(b, "rows")->child; r; r = r->next, rows++) {
		const char *bm = json_get(r, "benchmark")->str, *mode = json_get(r, "mode")->str;
		const char *v = verdict_of(out, bm, mode);

		EXPECT_TRUE(is_verdict(v)) TH_LOG("%s %s: '%s'\n%s", bm, mode, v, out);
		EXPECT_STREQ(strcmp(json_get(r, "status")->str, "measured") ? "unsupported" : "same", v);
	}
	EXPECT_EQ(18, rows);
	EXPECT_FALSE(has_line(out, "REGRESSION"));
	EXPECT_TRUE(has_line(out, "compare: 10 same, 8 unsupported: no regression")) TH_LOG("%s", out);
	json_free(b);
	free(out);
}

TEST_F(tmp, a_slower_median_beyond_threshold_and_noise_is_a_regression)
{
	struct scale s = { "text_poke_batch_256", "hypercall", 1.5 };
	char *out;

	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	ASSERT_EQ(0, edit(self->new, "bench.json", do_scale, &s));
	EXPECT_EQ(HR_FAIL, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_TRUE(has_line(out, "REGRESSION bench text_poke_batch_256 hypercall: median 160242000 -> 240363000 (+50.0%"))
		TH_LOG("%s", out);
	EXPECT_EQ(1, count_lines(out, "REGRESSION")) TH_LOG("%s", out);
	EXPECT_STREQ("REGRESSION", verdict_of(out, "text_poke_batch_256", "hypercall"));
	EXPECT_STREQ("same", verdict_of(out, "text_poke_batch_256", "off"));
	free(out);

	/* the same change under a higher threshold: real, but allowed */
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, "--threshold", "60", NULL))
		TH_LOG("%s", out);
	EXPECT_STREQ("slower", verdict_of(out, "text_poke_batch_256", "hypercall"));
	free(out);
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->new, self->base, NULL)) TH_LOG("%s", out);
	EXPECT_STREQ("faster", verdict_of(out, "text_poke_batch_256", "hypercall"));
	free(out);
}

TEST_F(tmp, a_change_within_the_noise_is_not_a_regression)
{
	/* vmap_1 off: median 3583, p90 9036, max 78133 over 20 samples */
	struct scale s = { "vmap_1", "off", 1.3 };
	char *out;

	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	ASSERT_EQ(0, edit(self->new, "bench.json", do_scale, &s));
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_STREQ("same", verdict_of(out, "vmap_1", "off")) TH_LOG("%s", out);
	free(out);
}

/* A copy of the bench fixture at @dir, as if run under ICOUNT=1. */
static int icount_run(const char *dir)
{
	if (copy_run("bench-run", dir))
		return -1;
	return edit(dir, "bench.json", do_rig, "icount") || edit(dir, "summary.json", do_rig, "icount");
}

TEST_F(tmp, icount_figures_are_exact)
{
	struct scale up11 = { "vmap_1", "off", 1.11 }, up9 = { "vmap_1", "off", 1.09 };
	char *out;

	ASSERT_EQ(0, icount_run(self->base));
	ASSERT_EQ(0, icount_run(self->new));
	ASSERT_EQ(0, edit(self->new, "bench.json", do_scale, &up11));
	/* a noisy row, but under icount 11% is 11% */
	EXPECT_EQ(HR_FAIL, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_TRUE(has_line(out, "REGRESSION bench vmap_1 off: median 3583 -> 3977 (+11.0%; icount: exact"))
		TH_LOG("%s", out);
	free(out);
	ASSERT_EQ(0, icount_run(self->new));
	ASSERT_EQ(0, edit(self->new, "bench.json", do_scale, &up9));
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_STREQ("slower", verdict_of(out, "vmap_1", "off")) TH_LOG("%s", out);
	EXPECT_STREQ("same", verdict_of(out, "vmap_1", "hypercall")) TH_LOG("%s", out);
	free(out);
}

static void fail_row(struct json *j, void *arg)
{
	struct json *row = find(get(j, "rows"), "benchmark", "fork_exec", "mode", "hypercall");

	set_str(get(row, "status"), "failed");
	set_member_str(row, "reason", "the benchmark did not complete");
	(void)arg;
}

static void drop_row(struct json *j, void *arg)
{
	struct json *rows = get(j, "rows"), *first = rows->child;

	/* text_poke_1 off, the first row, is gone */
	rows->child = first->next;
	first->next = NULL;
	json_free(first);
	(void)arg;
}

TEST_F(tmp, a_row_that_fails_or_goes_is_shown)
{
	char *out;

	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	ASSERT_EQ(0, edit(self->new, "bench.json", fail_row, NULL));
	ASSERT_EQ(0, edit(self->new, "bench.json", drop_row, NULL));
	EXPECT_EQ(HR_FAIL, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_TRUE(has_line(out, "REGRESSION bench fork_exec hypercall: measured in BASE, failed in NEW (the benchmark did not complete)"))
		TH_LOG("%s", out);
	EXPECT_STREQ("gone", verdict_of(out, "text_poke_1", "off"));
	free(out);
	/* the other way round: a row that appears, one that now runs */
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->new, self->base, NULL)) TH_LOG("%s", out);
	EXPECT_STREQ("new", verdict_of(out, "text_poke_1", "off"));
	EXPECT_STREQ("new", verdict_of(out, "fork_exec", "hypercall"));
	free(out);
}

static void flip_cell(struct json *j, void *arg)
{
	struct json *a = find(get(j, "attacks"), "id", "cr4_smep_clear", NULL, NULL);
	struct json *c = find(get(a, "results"), "mode", "hypercall", NULL, NULL);

	set_str(get(c, "observed"), arg);
	get(c, "match")->boolean = false;
	get(j, "mismatches")->num += 1;
}

TEST_F(tmp, an_attack_no_longer_caught_is_a_regression)
{
	char *out;

	ASSERT_EQ(0, copy_run("attacks-run", self->base));
	ASSERT_EQ(0, copy_run("attacks-run", self->new));
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_STREQ("same", verdict_of(out, "cr4_smep_clear", "hypercall")) TH_LOG("%s", out);
	EXPECT_TRUE(has_line(out, "compare: 24 same: no regression")) TH_LOG("%s", out);
	free(out);

	ASSERT_EQ(0, edit(self->new, "inject.json", flip_cell, "missed"));
	/* whatever the threshold */
	EXPECT_EQ(HR_FAIL, hr(&out, "compare", self->base, self->new, "--threshold", "1000", NULL))
		TH_LOG("%s", out);
	EXPECT_TRUE(has_line(out, "REGRESSION inject cr4_smep_clear hypercall: prevented -> missed"))
		TH_LOG("%s", out);
	EXPECT_EQ(1, count_lines(out, "REGRESSION"));
	EXPECT_STREQ("REGRESSION", verdict_of(out, "cr4_smep_clear", "hypercall"));
	EXPECT_STREQ("same", verdict_of(out, "cr4_smep_clear", "off"));
	free(out);

	/* caught again: an improvement, not a failure */
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->new, self->base, NULL)) TH_LOG("%s", out);
	EXPECT_STREQ("improved", verdict_of(out, "cr4_smep_clear", "hypercall"));
	free(out);
}

TEST_F(tmp, runs_from_different_rigs_are_refused_unless_forced)
{
	char *out;

	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	ASSERT_EQ(0, edit(self->new, "summary.json", do_rig, "kvm"));
	ASSERT_EQ(0, edit(self->new, "bench.json", do_rig, "kvm"));
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "runs from different rigs")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "rig.l0_accel differs: BASE tcg, NEW kvm")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "benchmark"));
	free(out);
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, "--force", NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "compared anyway (--force)"));
	EXPECT_STREQ("same", verdict_of(out, "text_poke_1", "off"));
	free(out);

	/* icount against wall time */
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	ASSERT_EQ(0, edit(self->new, "summary.json", do_rig, "icount"));
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "rig.icount differs: BASE false, NEW true")) TH_LOG("%s", out);
	free(out);
}

struct rig_edit { const char *key, *str; double num; };

/* Sets summary.json's rig.<key> to a string, or a number if str is NULL. */
static void do_rig_field(struct json *j, void *arg)
{
	const struct rig_edit *e = arg;
	struct json *rig = get(j, "rig"), *m;

	set_member_str(rig, e->key, e->str ? e->str : "");
	if (!e->str) {
		m = get(rig, e->key);
		free(m->str);
		m->str = NULL;
		m->type = JSON_NUM;
		m->num = e->num;
	}
}

/* Every rig field that makes figures incomparable is named, and refused unless forced. */
TEST_F(tmp, each_rig_field_that_differs_is_named_and_refused)
{
	static const struct {
		struct rig_edit base, new;
		const char *says;
	} cases[] = {
		{ { "icount_seed", NULL, 1 }, { "icount_seed", NULL, 2 }, "rig.icount_seed differs: BASE 1, NEW 2" },
		{ { NULL }, { "l1_vcpus", NULL, 1 }, "rig.l1_vcpus differs: BASE 2, NEW 1" },
		{ { NULL }, { "l2_vcpus", NULL, 1 }, "rig.l2_vcpus differs: BASE 2, NEW 1" },
		{ { NULL }, { "host_kernel", "6.1.0-57-amd64", 0 }, "rig.host_kernel differs: BASE 6.1.0-56-amd64, NEW 6.1.0-57-amd64" },
		{ { NULL }, { "guest_kernel", "6.1.0-57-amd64", 0 }, "rig.guest_kernel differs: BASE 6.1.0-56-amd64, NEW 6.1.0-57-amd64" },
		{ { NULL }, { "l0_qemu", "QEMU emulator version 10.0.2", 0 }, "rig.l0_qemu differs: BASE QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3), NEW QEMU emulator version 10.0.2" },
		{ { NULL }, { "l0_cpu", "AMD EPYC 7763", 0 }, "rig.l0_cpu differs: BASE Intel(R) Xeon(R) Processor, NEW AMD EPYC 7763" },
	};
	char *out;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, copy_run("bench-run", self->base));
		ASSERT_EQ(0, copy_run("bench-run", self->new));
		if (cases[i].base.key)
			ASSERT_EQ(0, edit(self->base, "summary.json", do_rig_field, (void *)&cases[i].base));
		ASSERT_EQ(0, edit(self->new, "summary.json", do_rig_field, (void *)&cases[i].new));
		EXPECT_EQ(HR_USAGE, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
		EXPECT_NE(NULL, strstr(out, cases[i].says)) TH_LOG("case %zu: %s", i, out);
		EXPECT_EQ(1, count_lines(out, "  rig.")) TH_LOG("case %zu: %s", i, out);
		EXPECT_NE(NULL, strstr(out, "(--force compares them anyway)")) TH_LOG("%s", out);
		EXPECT_EQ(NULL, strstr(out, "benchmark")) TH_LOG("case %zu: compared: %s", i, out);
		free(out);
		EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, "--force", NULL))
			TH_LOG("%s", out);
		EXPECT_NE(NULL, strstr(out, "compared anyway (--force)")) TH_LOG("%s", out);
		free(out);
	}

	/* a field one run does not record is not a difference, but it is said */
	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	ASSERT_EQ(0, edit(self->new, "summary.json", do_rig_field, (void *)&cases[0].new));
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "note: rig.icount_seed is not recorded in BASE: not checked"))
		TH_LOG("%s", out);
	free(out);
}

static void unsupport_row(struct json *j, void *arg)
{
	struct json *row = find(get(j, "rows"), "benchmark", "fork_exec", "mode", "hypercall");

	set_str(get(row, "status"), "unsupported");
	set_member_str(row, "reason", arg);
}

/* A row that ran before and is now declared unsupported lost its figure: a regression. */
TEST_F(tmp, a_row_measured_then_unsupported_is_a_regression)
{
	char *out;

	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	ASSERT_EQ(0, edit(self->new, "bench.json", unsupport_row, "host refused: -EOPNOTSUPP"));
	EXPECT_EQ(HR_FAIL, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_TRUE(has_line(out, "REGRESSION bench fork_exec hypercall: measured in BASE, unsupported in NEW (host refused: -EOPNOTSUPP)"))
		TH_LOG("%s", out);
	EXPECT_STREQ("REGRESSION", verdict_of(out, "fork_exec", "hypercall"));
	EXPECT_EQ(1, count_lines(out, "REGRESSION bench"));
	free(out);
	/* the other way round, it is a row that now runs */
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->new, self->base, NULL)) TH_LOG("%s", out);
	EXPECT_STREQ("new", verdict_of(out, "fork_exec", "hypercall"));
	free(out);
}

static void do_iterations(struct json *j, void *arg)
{
	get(j, "iterations")->num = *(double *)arg;
}

/* Medians of different sample counts are different statistics. */
TEST_F(tmp, bench_runs_of_different_sample_counts_are_refused_unless_forced)
{
	double base_n = 200, new_n = 5;
	char *out;

	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	ASSERT_EQ(0, edit(self->base, "bench.json", do_iterations, &base_n));
	ASSERT_EQ(0, edit(self->new, "bench.json", do_iterations, &new_n));
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "different sample counts")) TH_LOG("%s", out);
	free(out);
	EXPECT_EQ(HR_OK, hr(&out, "compare", self->base, self->new, "--force", NULL)) TH_LOG("%s", out);
	free(out);
}

TEST_F(tmp, invalid_or_missing_input_exits_2)
{
	char path[PATH_MAX], *out;

	ASSERT_EQ(0, copy_run("bench-run", self->base));
	ASSERT_EQ(0, copy_run("bench-run", self->new));
	snprintf(path, sizeof(path), "%s/bench.json", self->new);
	ASSERT_EQ(0, truncate(path, 1234));
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", self->base, self->new, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "new/bench.json: line ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "invalid input, nothing compared")) TH_LOG("%s", out);
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", self->base, "/nonexistent", NULL));
	EXPECT_NE(NULL, strstr(out, "NEW: /nonexistent: not a run directory")) TH_LOG("%s", out);
	free(out);
	/* a bench run and an attacks run share nothing to compare */
	ASSERT_EQ(0, copy_run("attacks-run", self->dir));
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", self->base, self->dir, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "nothing to compare")) TH_LOG("%s", out);
	free(out);
}

TEST(usage_errors_exit_2)
{
	char *out;

	EXPECT_EQ(HR_USAGE, hr(&out, NULL));
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "frobnicate", NULL));
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "check", NULL));
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", "a", NULL));
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", "a", "b", "--threshold", "ten", NULL));
	EXPECT_NE(NULL, strstr(out, "--threshold wants a percentage"));
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", "a", "b", "--thresh", "5", NULL));
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "compare", "a", "b", "--threshold", NULL));
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "check", "--force", "x", NULL));
	free(out);
	EXPECT_EQ(HR_USAGE, hr(&out, "last-good", NULL));
	free(out);
	EXPECT_EQ(HR_OK, hr(&out, "--help", NULL));
	EXPECT_NE(NULL, strstr(out, "usage: heki-results check FILE..."));
	free(out);
}

/* ------------------------------------------------------ history, last-good */

static void do_id(struct json *j, void *arg)
{
	set_str(get(j, "run_id"), arg);
}

static void do_status(struct json *j, void *arg)
{
	set_str(get(j, "status"), arg);
	set_str(get(j, "failed_stage"), "suite");
}

/* RESULTS/runs/ID, a copy of fixture @run under its own id. */
static int make_run(const char *results, const char *run, const char *id, char *dir, size_t len)
{
	snprintf(dir, len, "%s/runs", results);
	mkdir(results, 0755);
	mkdir(dir, 0755);
	snprintf(dir, len, "%s/runs/%s", results, id);
	if (copy_run(run, dir))
		return -1;
	edit(dir, "summary.json", do_id, (void *)id);
	edit(dir, !strcmp(run, "bench-run") ? "bench.json" : "inject.json", do_id, (void *)id);
	return 0;
}

TEST_F(tmp, history_append_is_idempotent)
{
	char results[128], run[256], hist[256], *out, *text;
	struct json *j;
	char err[256];

	snprintf(results, sizeof(results), "%s/results", self->dir);
	snprintf(hist, sizeof(hist), "%s/history.jsonl", results);
	ASSERT_EQ(0, make_run(results, "bench-run", "20261123-133856-bench", run, sizeof(run)));
	EXPECT_EQ(HR_OK, hr(&out, "history-append", results, run, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "appended 20261123-133856-bench")) TH_LOG("%s", out);
	free(out);
	EXPECT_EQ(HR_OK, hr(&out, "history-append", results, run, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "20261123-133856-bench already recorded")) TH_LOG("%s", out);
	free(out);

	text = slurp(hist, NULL);
	ASSERT_NE(NULL, text);
	ASSERT_EQ(1, count_lines(text, "{"));
	j = json_parse(text, err, sizeof(err));
	ASSERT_NE(NULL, j) TH_LOG("%s: %s", err, text);
	EXPECT_STREQ("20261123-133856-bench", json_get(j, "run_id")->str);
	EXPECT_STREQ("runs/20261123-133856-bench", json_get(j, "dir")->str);
	EXPECT_STREQ("bench", json_get(j, "suite")->str);
	EXPECT_STREQ("2026-11-23T13:38:56Z", json_get(j, "started")->str);
	EXPECT_STREQ("e7b1154f6c7c-dirty", json_get(j, "git_rev")->str);
	EXPECT_STREQ("tcg", json_get(j, "l0_accel")->str);
	EXPECT_FALSE(json_get(j, "icount")->boolean);
	/* what compare checks, so that last-good picks a run compare accepts */
	EXPECT_EQ(2.0, json_get(j, "l1_vcpus")->num);
	EXPECT_EQ(2.0, json_get(j, "l2_vcpus")->num);
	EXPECT_STREQ("6.1.0-56-amd64", json_get(j, "host_kernel")->str);
	EXPECT_STREQ("6.1.0-56-amd64", json_get(j, "guest_kernel")->str);
	EXPECT_STREQ("Intel(R) Xeon(R) Processor", json_get(j, "l0_cpu")->str);
	EXPECT_NE(NULL, strstr(json_get(j, "l0_qemu")->str, "7.2.22"));
	EXPECT_EQ(NULL, json_get(j, "icount_seed"));	/* a wall-time run has none */
	EXPECT_STREQ("ok", json_get(j, "status")->str);
	EXPECT_EQ(24209.0, json_get(j, "bench.text_poke_1.off")->num);
	EXPECT_EQ(160242000.0, json_get(j, "bench.text_poke_batch_256.hypercall")->num);
	/* unsupported rows carry no figure */
	EXPECT_EQ(NULL, json_get(j, "bench.view_switch"));
	EXPECT_EQ(NULL, json_get(j, "bench.text_poke_1.view"));
	json_free(j);
	free(text);

	/* a line cut short by a crash: the next run still gets a line of its own */
	ASSERT_EQ(0, spit(hist, "{\"run_id\": \"cut", 15));
	ASSERT_EQ(0, make_run(results, "attacks-run", "20261123-134710-attacks", run, sizeof(run)));
	EXPECT_EQ(HR_OK, hr(&out, "history-append", results, run, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "history.jsonl:1: ")) TH_LOG("%s", out);
	free(out);
	text = slurp(hist, NULL);
	ASSERT_NE(NULL, text);
	j = json_parse(strchr(text, '\n') + 1, err, sizeof(err));
	ASSERT_NE(NULL, j) TH_LOG("%s: %s", err, text);
	EXPECT_STREQ("prevented", json_get(j, "inject.cr4_smep_clear.hypercall")->str);
	EXPECT_STREQ("missed", json_get(j, "inject.cred_uid_root.hypercall")->str);
	EXPECT_STREQ("attacks", json_get(j, "suite")->str);
	json_free(j);
	free(text);

	/* one line per run, no empty line between them */
	ASSERT_EQ(0, make_run(results, "bench-run", "20261123-140000-bench", run, sizeof(run)));
	EXPECT_EQ(HR_OK, hr(&out, "history-append", results, run, NULL)) TH_LOG("%s", out);
	free(out);
	text = slurp(hist, NULL);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(NULL, strstr(text, "\n\n")) TH_LOG("%s", text);
	free(text);
}

TEST_F(tmp, history_append_refuses_an_invalid_run)
{
	char results[128], run[256], path[PATH_MAX], *out;

	snprintf(results, sizeof(results), "%s/results", self->dir);
	ASSERT_EQ(0, make_run(results, "bench-run", "20261123-133856-bench", run, sizeof(run)));
	snprintf(path, sizeof(path), "%s/bench.json", run);
	ASSERT_EQ(0, truncate(path, 100));
	EXPECT_EQ(HR_USAGE, hr(&out, "history-append", results, run, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "not recorded"));
	free(out);
	snprintf(path, sizeof(path), "%s/history.jsonl", results);
	EXPECT_NE(0, access(path, F_OK));
}

TEST_F(tmp, last_good_is_the_newest_ok_run_on_the_same_rig)
{
	static const char *const ids[] = {
		"20261101-000000-bench", "20261102-000000-bench", "20261103-000000-bench",
		"20261104-000000-attacks", "20261105-000000-bench",
	};
	char results[128], run[256], want[PATH_MAX], hist[256], *out;

	snprintf(results, sizeof(results), "%s/results", self->dir);
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(0, make_run(results, i == 3 ? "attacks-run" : "bench-run", ids[i],
				      run, sizeof(run)));
		if (i == 1) {	/* another rig */
			ASSERT_EQ(0, edit(run, "summary.json", do_rig, "icount"));
			ASSERT_EQ(0, edit(run, "bench.json", do_rig, "icount"));
		}
		if (i == 2)
			ASSERT_EQ(0, edit(run, "summary.json", do_status, "failed"));
		EXPECT_EQ(HR_OK, hr(&out, "history-append", results, run, NULL)) TH_LOG("%s", out);
		free(out);
	}
	EXPECT_EQ(HR_OK, hr(&out, "last-good", results, NULL));
	snprintf(want, sizeof(want), "%s/runs/%s\n", results, ids[4]);
	EXPECT_STREQ(want, out);
	free(out);
	/* before the newest: not the failed run, not the icount one, not attacks */
	snprintf(run, sizeof(run), "%s/runs/%s", results, ids[4]);
	EXPECT_EQ(HR_OK, hr(&out, "last-good", results, "--before", run, NULL)) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "%s/runs/%s\n", results, ids[0]);
	EXPECT_STREQ(want, out);
	free(out);
	/* the icount run's own last good: none on its rig, so the older tcg one */
	EXPECT_EQ(HR_OK, hr(&out, "last-good", results, "--before", ids[1], NULL));
	EXPECT_NE(NULL, strstr(out, "no good run on the same rig")) TH_LOG("%s", out);
	free(out);
	EXPECT_EQ(HR_FAIL, hr(&out, "last-good", results, "--before", ids[0], NULL)) TH_LOG("%s", out);
	free(out);
	EXPECT_EQ(HR_OK, hr(&out, "last-good", results, "--suite", "attacks", NULL));
	snprintf(want, sizeof(want), "%s/runs/%s\n", results, ids[3]);
	EXPECT_STREQ(want, out);
	free(out);

	/* no history (yet): the run directories themselves */
	snprintf(hist, sizeof(hist), "%s/history.jsonl", results);
	ASSERT_EQ(0, unlink(hist));
	EXPECT_EQ(HR_OK, hr(&out, "last-good", results, "--before", run, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "found in runs/")) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "%s/runs/%s\n", results, ids[0]);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	free(out);
}

/* last-good picks a run compare accepts: every rig field both runs record agrees. */
TEST_F(tmp, last_good_skips_runs_whose_rig_fields_differ)
{
	static const char *const ids[] = {
		"20261101-000000-bench", "20261102-000000-bench", "20261103-000000-bench",
	};
	static const struct rig_edit one = { "l2_vcpus", NULL, 1 }, three = { "l2_vcpus", NULL, 3 };
	char results[128], run[256], want[PATH_MAX], *out;

	snprintf(results, sizeof(results), "%s/results", self->dir);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, make_run(results, "bench-run", ids[i], run, sizeof(run)));
		if (i == 1)	/* the newer good run had one L2 vCPU */
			ASSERT_EQ(0, edit(run, "summary.json", do_rig_field, (void *)&one));
		EXPECT_EQ(HR_OK, hr(&out, "history-append", results, run, NULL)) TH_LOG("%s", out);
		free(out);
	}
	EXPECT_EQ(HR_OK, hr(&out, "last-good", results, "--before", ids[2], NULL)) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "%s/runs/%s\n", results, ids[0]);
	EXPECT_STREQ(want, out);
	free(out);
	/* a reference with three: none on its rig; the newest taken, with the difference said */
	snprintf(run, sizeof(run), "%s/runs/%s", results, ids[2]);
	ASSERT_EQ(0, edit(run, "summary.json", do_rig_field, (void *)&three));
	ASSERT_EQ(0, unlink(strcat(strcpy(want, results), "/history.jsonl")));
	EXPECT_EQ(HR_OK, hr(&out, "last-good", results, "--before", run, NULL)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "no good run on the same rig")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "rig.l2_vcpus 1 there, 3 here")) TH_LOG("%s", out);
	free(out);
}

/* ---------------------------------------------------------- noise model */

TEST(median_interval_follows_the_spread)
{
	struct hr_stats exact = { 20, 100, 100, 100, 100, 100, 100, 0 };
	/* a tight body with one huge outlier: stddev says far more than the body */
	struct hr_stats outlier = { 20, 95, 100, 104, 5000, 5000, 345, 1095 };
	struct hr_stats slower = outlier;
	double lo, hi;

	hr_median_ci(&exact, &lo, &hi);
	EXPECT_EQ(100.0, lo);
	EXPECT_EQ(100.0, hi);
	hr_median_ci(&outlier, &lo, &hi);
	EXPECT_LT(95.0, lo + 0.001);
	EXPECT_GT(104.0, hi - 0.001);
	EXPECT_GT(100.0, lo);
	EXPECT_LT(100.0, hi);

	hr_ratio_ci(&outlier, &outlier, &lo, &hi);
	EXPECT_GT(1.0, lo);
	EXPECT_LT(1.0, hi);
	/* +20% on a body whose interval is a few percent: significant */
	slower.min *= 1.2;
	slower.median *= 1.2;
	slower.p90 *= 1.2;
	EXPECT_EQ(V_REGRESSION, hr_bench_verdict(&outlier, &slower, 0.10, false, &lo, &hi));
	EXPECT_LT(1.0, lo);
	EXPECT_EQ(V_SLOWER, hr_bench_verdict(&outlier, &slower, 0.25, false, &lo, &hi));
	EXPECT_EQ(V_FASTER, hr_bench_verdict(&slower, &outlier, 0.10, false, &lo, &hi));
	EXPECT_EQ(V_SAME, hr_bench_verdict(&exact, &exact, 0.10, true, &lo, &hi));
	EXPECT_EQ(1.0, lo);
}

TEST_HARNESS_MAIN
