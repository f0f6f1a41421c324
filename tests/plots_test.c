// SPDX-License-Identifier: GPL-2.0
/*
 * plots_test: runs heki-plot on the fixture runs in tests/fixtures/plots
 * (each test on its own copy in a temporary directory) and checks what it
 * leaves behind: every chart as PNG and SVG, the page referencing each of
 * them, skipped charts noted rather than failing, broken input failing.
 * Then the page goes through headless Chromium: a screenshot, and a check
 * page that loads every chart the page shows and reports which loaded.
 * Without Chromium those two tests skip, saying so.
 *
 * $HEKI_PLOT: the heki-plot binary (default: beside this one).
 * $HEKI_PLOT_FIXTURES: the fixtures (default: tests/fixtures/plots).
 * $HEKI_PLOT_KEEP=1 keeps the temporary directories.
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

/* Paths: the temporary directory is short, fixtures live under it. */
#define P 1024

static const char *const all_plots[] = { "latency", "overhead", "exits", "attacks", "trends" };
#define NPLOTS (sizeof(all_plots) / sizeof(all_plots[0]))

/* ------------------------------------------------------------ helpers */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	if (len)
		*len = buf ? (size_t)n : 0;
	return buf;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

/* Runs a shell command; its output (stdout and stderr) in out. */
static int sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[8192];
	size_t n = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	}
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *heki_plot(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n;

	if (getenv("HEKI_PLOT"))
		return getenv("HEKI_PLOT");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "%s/heki-plot", dirname(self));
	return path;
}

static const char *fixtures(void)
{
	return getenv("HEKI_PLOT_FIXTURES") ?: "tests/fixtures/plots";
}

/* Chromium's binary, or NULL: Debian calls it chromium. */
static const char *chromium(void)
{
	static char path[PATH_MAX];
	char out[PATH_MAX];

	if (sh(out, sizeof(out), "command -v chromium || command -v chromium-browser"))
		return NULL;
	out[strcspn(out, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s", out);
	return path;
}

static bool is_png(const char *path)
{
	size_t len;
	char *b = slurp(path, &len);
	bool ok = b && len > 1000 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8);

	free(b);
	return ok;
}

/* Width (at 16) or height (at 20) from a PNG's IHDR, big-endian. */
static long png_dim(const char *path, size_t at)
{
	size_t len;
	unsigned char *b = (unsigned char *)slurp(path, &len);
	long v = -1;

	if (b && len >= 24)
		v = (long)b[at] << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3];
	free(b);
	return v;
}

static bool has(const char *path, const char *needle)
{
	char *b = slurp(path, NULL);
	bool ok = b && strstr(b, needle);

	free(b);
	return ok;
}

/* ------------------------------------------------------------ fixture */

FIXTURE(plot) {
	char dir[256];		/* the temporary copy of the fixtures */
	char run[300];		/* dir/run-a, the default run */
	char out[16384];	/* heki-plot's output */
	int status;
};

FIXTURE_SETUP(plot)
{
	char err[4096];

	snprintf(self->dir, sizeof(self->dir), "/tmp/heki-plots-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, sh(err, sizeof(err), "cp -r '%s'/. '%s'/", fixtures(), self->dir))
		TH_LOG("copying fixtures from %s (run from the repository root?): %s",
		       fixtures(), err);
	snprintf(self->run, sizeof(self->run), "%s/run-a", self->dir);
	ASSERT_EQ(0, access(heki_plot(), X_OK)) TH_LOG("no %s", heki_plot());
}

FIXTURE_TEARDOWN(plot)
{
	if (!getenv("HEKI_PLOT_KEEP") && self->dir[0])
		sh(NULL, 0, "rm -rf '%s'", self->dir);
	else
		fprintf(stderr, "# kept %s\n", self->dir);
}

/* heki-plot ARGS with the output kept in self->out. */
#define PLOT(...) do { \
	char _args[4 * P]; \
	snprintf(_args, sizeof(_args), __VA_ARGS__); \
	self->status = sh(self->out, sizeof(self->out), "'%s' %s", heki_plot(), _args); \
} while (0)

static void path_of(char *buf, size_t len, const char *run, const char *plot,
		    const char *ext)
{
	snprintf(buf, len, "%s/plots/%s.%s", run, plot, ext);
}

/* Every chart drawn as a real PNG and a whole SVG, and on the page. */
static int check_plot(struct __test_metadata *_metadata, const char *run,
		      const char *plot)
{
	char p[P], index[P], ref[128];

	path_of(p, sizeof(p), run, plot, "png");
	EXPECT_TRUE(is_png(p)) TH_LOG("%s is not a PNG (size %ld)", p, file_size(p));
	path_of(p, sizeof(p), run, plot, "svg");
	EXPECT_TRUE(has(p, "<svg") && has(p, "</svg>")) TH_LOG("%s is not a whole SVG", p);
	snprintf(index, sizeof(index), "%s/index.html", run);
	snprintf(ref, sizeof(ref), "<img src=\"plots/%s.png\"", plot);
	EXPECT_TRUE(has(index, ref)) TH_LOG("index.html has no %s", ref);
	snprintf(ref, sizeof(ref), "href=\"plots/%s.svg\"", plot);
	EXPECT_TRUE(has(index, ref)) TH_LOG("index.html has no %s", ref);
	return 0;
}

/* The time_unit string of a bench.json, found without a JSON parser. */
static void time_unit_of(const char *bench, char *buf, size_t len)
{
	char *b = slurp(bench, NULL), *s = b ? strstr(b, "\"time_unit\": \"") : NULL;

	buf[0] = '\0';
	if (s) {
		s += strlen("\"time_unit\": \"");
		snprintf(buf, len, "%.*s", (int)strcspn(s, "\""), s);
	}
	free(b);
}

/* ------------------------------------------------------------ tests */

TEST_F_TIMEOUT(plot, full_run_draws_every_chart, 120)
{
	char index[P];

	PLOT("'%s' --history '%s/history.jsonl'", self->run, self->dir);
	ASSERT_EQ(0, self->status) TH_LOG("heki-plot said:\n%s", self->out);
	for (size_t i = 0; i < NPLOTS; i++)
		check_plot(_metadata, self->run, all_plots[i]);
	snprintf(index, sizeof(index), "%s/index.html", self->run);
	/* Every image has alt text; the environment is on the page. */
	EXPECT_FALSE(has(index, "alt=\"\""));
	EXPECT_TRUE(has(index, "20261123-133856-bench"));
	EXPECT_TRUE(has(index, "Intel(R) Xeon(R) Processor"));
	EXPECT_TRUE(has(index, "6.1.0-56-amd64"));
	EXPECT_TRUE(has(index, "e7b1154f6c7c-dirty"));
	EXPECT_TRUE(has(index, "TCG: not hardware figures"));
	EXPECT_FALSE(has(index, "<script")) TH_LOG("the page must need no JavaScript");
	EXPECT_FALSE(has(index, "http://") || has(index, "https://"))
		TH_LOG("the page must fetch nothing from the network");
	/* The history's torn line is named, not fatal. */
	EXPECT_NE(NULL, strstr(self->out, "1 line skipped")) TH_LOG("%s", self->out);
}

TEST_F_TIMEOUT(plot, tcg_titles_and_time_unit_on_axis, 120)
{
	char p[P], unit[256], bench[P];

	PLOT("'%s' --history '%s/history.jsonl'", self->run, self->dir);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	snprintf(bench, sizeof(bench), "%s/bench.json", self->run);
	time_unit_of(bench, unit, sizeof(unit));
	ASSERT_NE(0, strlen(unit));
	for (size_t i = 0; i < NPLOTS; i++) {
		path_of(p, sizeof(p), self->run, all_plots[i], "svg");
		EXPECT_TRUE(has(p, "TCG: not hardware figures"))
			TH_LOG("%s title does not say TCG", all_plots[i]);
	}
	/*
	 * The axis label is broken into lines of whole words; each line is
	 * an SVG text of its own, so look for the unit's first word run.
	 */
	path_of(p, sizeof(p), self->run, "latency", "svg");
	EXPECT_TRUE(has(p, "time per operation in ns (guest TSC)")) TH_LOG("unit '%s'", unit);
	EXPECT_TRUE(has(p, "not hardware figures"));
}

TEST_F_TIMEOUT(plot, no_bench_json_skips_its_charts_with_a_note, 120)
{
	char run[320], p[P], index[P];

	snprintf(run, sizeof(run), "%s/run-b", self->dir);
	PLOT("'%s'", run);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	check_plot(_metadata, run, "attacks");
	for (size_t i = 0; i < NPLOTS; i++) {
		if (!strcmp(all_plots[i], "attacks"))
			continue;
		path_of(p, sizeof(p), run, all_plots[i], "png");
		EXPECT_EQ(-1, file_size(p)) TH_LOG("%s drawn without its input", p);
	}
	snprintf(index, sizeof(index), "%s/index.html", run);
	EXPECT_TRUE(has(index, "Not drawn: no bench.json in this run"));
	EXPECT_NE(NULL, strstr(self->out, "latency  skipped: no bench.json"));
	/* Hardware L0: no TCG warning anywhere. */
	path_of(p, sizeof(p), run, "attacks", "svg");
	EXPECT_FALSE(has(p, "TCG"));
	EXPECT_FALSE(has(index, "TCG: not hardware figures"));
	/* Each outcome is written in its cell, expectations beside mismatches. */
	EXPECT_TRUE(has(p, ">prevented<") && has(p, ">detected<") && has(p, ">missed<"));
	EXPECT_TRUE(has(p, ">n/a<") && has(p, ">crashed<") && has(p, ">error<"));
	EXPECT_TRUE(has(p, "(expected prevented)"));
	EXPECT_TRUE(has(p, "3 cells not as expected"));
	EXPECT_TRUE(has(index, "could not map the alias: -ENOMEM"));
}

TEST_F(plot, nothing_to_draw_still_writes_the_page)
{
	char run[320], index[P];

	snprintf(run, sizeof(run), "%s/run-c", self->dir);
	PLOT("'%s'", run);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	snprintf(index, sizeof(index), "%s/index.html", run);
	EXPECT_TRUE(has(index, "<h1>Heki run <code>20261124-100000-bench</code>"));
	EXPECT_FALSE(has(index, "<img"));
	EXPECT_TRUE(has(index, "stage l2-boot timed out after 150s"));
	EXPECT_TRUE(has(index, "no history file given"));
}

TEST_F_TIMEOUT(plot, broken_bench_json_fails_naming_where, 120)
{
	char p[P], index[P];

	/* Cut the file short, as a full disk or a killed writer would. */
	ASSERT_EQ(0, truncate(strcat(strcpy(p, self->run), "/bench.json"), 3000));
	PLOT("'%s'", self->run);
	EXPECT_EQ(1, self->status) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "bench.json does not parse: line "))
		TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "(file truncated?)"));
	/* What could be drawn still is. */
	check_plot(_metadata, self->run, "attacks");
	snprintf(index, sizeof(index), "%s/index.html", self->run);
	EXPECT_TRUE(has(index, "bench.json does not parse"));
}

TEST_F_TIMEOUT(plot, redraw_removes_charts_it_no_longer_draws, 120)
{
	char p[P], index[P];

	PLOT("'%s'", self->run);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	path_of(p, sizeof(p), self->run, "latency", "png");
	ASSERT_TRUE(is_png(p));
	ASSERT_EQ(0, unlink(strcat(strcpy(p, self->run), "/bench.json")));
	PLOT("'%s'", self->run);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	path_of(p, sizeof(p), self->run, "latency", "png");
	EXPECT_EQ(-1, file_size(p)) TH_LOG("a stale latency.png survived");
	snprintf(index, sizeof(index), "%s/index.html", self->run);
	EXPECT_FALSE(has(index, "plots/latency.png"));
}

TEST_F_TIMEOUT(plot, dashboard_is_the_latest_runs_page_with_history, 120)
{
	char res[320], index[P];

	snprintf(res, sizeof(res), "%s/results", self->dir);
	ASSERT_EQ(0, sh(self->out, sizeof(self->out),
			"mkdir -p '%s/runs' && mv '%s' '%s/runs/20261123-133856-bench' && "
			"ln -s runs/20261123-133856-bench '%s/latest' && "
			"cp '%s/history.jsonl' '%s/'", res, self->run, res, res, self->dir, res))
		TH_LOG("%s", self->out);
	PLOT("--dashboard '%s'", res);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	snprintf(index, sizeof(index), "%s/latest/index.html", res);
	EXPECT_TRUE(has(index, "<img src=\"plots/trends.png\""))
		TH_LOG("the dashboard did not pick up RESULTS_DIR/history.jsonl");
	check_plot(_metadata, strcat(res, "/runs/20261123-133856-bench"), "trends");
}

TEST_F(plot, history_without_medians_skips_trends)
{
	char hist[P];
	FILE *f;

	snprintf(hist, sizeof(hist), "%s/smoke-only.jsonl", self->dir);
	f = fopen(hist, "w");
	ASSERT_NE(NULL, f);
	fputs("{\"run_id\":\"20261123-135319-smoke\",\"suite\":\"smoke\",\"l0_accel\":\"tcg\","
	      "\"icount\":false,\"status\":\"ok\",\"failed_stage\":null}\n", f);
	fclose(f);
	PLOT("'%s/run-c' --history '%s'", self->dir, hist);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "trends   skipped: no run of this rig"))
		TH_LOG("%s", self->out);
}

/* ------------------------------------------------------------ Chromium */

#define CHROMIUM_FLAGS "--headless --no-sandbox --disable-gpu --hide-scrollbars " \
	"--user-data-dir='%s/chromium-profile'"

TEST_F_TIMEOUT(plot, page_renders_in_chromium, 180)
{
	const char *chrome = chromium();
	char shot[P], out[8192];

	if (!chrome)
		SKIP(return, "chromium is not installed (make deps installs it)");
	PLOT("'%s' --history '%s/history.jsonl'", self->run, self->dir);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	snprintf(shot, sizeof(shot), "%s/shot.png", self->dir);
	ASSERT_EQ(0, sh(out, sizeof(out), "timeout 120 '%s' " CHROMIUM_FLAGS
			" --screenshot='%s' --window-size=1280,4000 'file://%s/index.html'",
			chrome, self->dir, shot, self->run)) TH_LOG("%s", out);
	ASSERT_TRUE(is_png(shot)) TH_LOG("no screenshot:\n%s", out);
	/* The whole window was rendered, and it is not a blank page. */
	EXPECT_EQ(1280, png_dim(shot, 16));
	EXPECT_EQ(4000, png_dim(shot, 20));
	EXPECT_GT(file_size(shot), 100 * 1024) TH_LOG("screenshot is only %ld bytes",
						      file_size(shot));
}

/*
 * A check page beside index.html holds a copy of every <img> of the page
 * and, for every SVG the page links, an <img> of it; a script run at load
 * writes which of them decoded.  Chromium's --dump-dom prints the result.
 */
static int write_check_page(const char *run, char *err, size_t errlen)
{
	char path[P], *page, *s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/index.html", run);
	page = slurp(path, NULL);
	if (!page)
		return snprintf(err, errlen, "no index.html"), -1;
	snprintf(path, sizeof(path), "%s/check.html", run);
	f = fopen(path, "w");
	if (!f) {
		free(page);
		return snprintf(err, errlen, "cannot write check.html"), -1;
	}
	fputs("<!DOCTYPE html><html><body>\n", f);
	for (s = page; (s = strstr(s, "<img ")); s++)
		fprintf(f, "%.*s\n", (int)(strchr(s, '>') - s + 1), s);
	for (s = page; (s = strstr(s, "href=\"plots/")); s++) {
		size_t n = strcspn(s + 6, "\"");

		if (n > 4 && !strncmp(s + 6 + n - 4, ".svg", 4))
			fprintf(f, "<img src=\"%.*s\" alt=\"svg\">\n", (int)n, s + 6);
	}
	fputs("<script>\nwindow.addEventListener('load', function () {\n"
	      "  var im = document.images, ok = 0, bad = [];\n"
	      "  for (var i = 0; i < im.length; i++)\n"
	      "    if (im[i].complete && im[i].naturalWidth > 0) ok++;\n"
	      "    else bad.push(im[i].getAttribute('src'));\n"
	      "  var p = document.createElement('pre');\n"
	      "  p.textContent = 'IMAGES-LOADED ' + ok + ' BROKEN ' + bad.length + ': ' + bad.join(' ');\n"
	      "  document.body.appendChild(p);\n"
	      "});\n</script>\n</body></html>\n", f);
	fclose(f);
	free(page);
	return 0;
}

static int dump_images(const char *chrome, const char *dir, const char *run,
		       int *loaded, int *broken, char *out, size_t outlen)
{
	char *s;

	sh(out, outlen, "timeout 120 '%s' " CHROMIUM_FLAGS
	   " --virtual-time-budget=10000 --dump-dom 'file://%s/check.html'",
	   chrome, dir, run);
	s = strstr(out, "<pre>IMAGES-LOADED ");
	if (!s || sscanf(s, "<pre>IMAGES-LOADED %d BROKEN %d", loaded, broken) != 2)
		return -1;
	return 0;
}

TEST_F_TIMEOUT(plot, every_chart_on_the_page_loads_in_chromium, 180)
{
	const char *chrome = chromium();
	char out[16384], err[256], p[P];
	int loaded = -1, broken = -1;

	if (!chrome)
		SKIP(return, "chromium is not installed (make deps installs it)");
	PLOT("'%s' --history '%s/history.jsonl'", self->run, self->dir);
	ASSERT_EQ(0, self->status) TH_LOG("%s", self->out);
	ASSERT_EQ(0, write_check_page(self->run, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, dump_images(chrome, self->dir, self->run, &loaded, &broken,
				 out, sizeof(out))) TH_LOG("no result in:\n%s", out);
	/* Five charts: five PNGs shown, five SVGs linked. */
	EXPECT_EQ(2 * (int)NPLOTS, loaded) TH_LOG("%s", strstr(out, "<pre>"));
	EXPECT_EQ(0, broken) TH_LOG("%s", strstr(out, "<pre>"));

	/* The check can fail: a chart the page shows, gone, is seen broken. */
	path_of(p, sizeof(p), self->run, "attacks", "png");
	ASSERT_EQ(0, unlink(p));
	ASSERT_EQ(0, dump_images(chrome, self->dir, self->run, &loaded, &broken,
				 out, sizeof(out))) TH_LOG("no result in:\n%s", out);
	EXPECT_EQ(1, broken);
	EXPECT_NE(NULL, strstr(out, "plots/attacks.png"));
}

TEST_HARNESS_MAIN
