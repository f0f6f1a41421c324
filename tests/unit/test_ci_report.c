// SPDX-License-Identifier: GPL-2.0
/* results.tap and junit.xml (rig/ci_report.c): counts, escaping, one line per TAP case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ci_report.h"

static char *slurp(const char *dir, const char *name)
{
	char path[128], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (fread(buf, 1, n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	unlink(path);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

TEST(cases_in_both_formats)
{
	char dir[] = "/tmp/test_ci_report.XXXXXX";
	const struct ci_case cases[] = {
		{ "rig", "run", "fail", "stage suite: 1 of 3 checks failed" },
		{ "smoke", "abi_checks", "pass", NULL },
		{ "smoke", "ftrace <works> & \"traces\"", "fail", "expected 1,\nobserved 0 # really" },
		{ "smoke", "vmfunc", "skip", "VMFUNC needs Intel VMX" },
	};
	char *tap, *xml;

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, ci_report(dir, "smoke", cases, 4));
	tap = slurp(dir, "results.tap");
	xml = slurp(dir, "junit.xml");
	rmdir(dir);
	ASSERT_NE(NULL, tap);
	ASSERT_NE(NULL, xml);

	EXPECT_EQ(0, strncmp(tap, "TAP version 13\n1..4\n", 20)) TH_LOG("%s", tap);
	EXPECT_NE(NULL, strstr(tap, "not ok 1 - rig.run\n"));
	EXPECT_NE(NULL, strstr(tap, "ok 2 - smoke.abi_checks\n"));
	/* A '#' or newline in a name or message must not break the TAP line. */
	EXPECT_NE(NULL, strstr(tap, "not ok 3 - smoke.ftrace <works> & \"traces\"\n"));
	EXPECT_NE(NULL, strstr(tap, "message: \"expected 1, observed 0 # really\""));
	EXPECT_NE(NULL, strstr(tap, "ok 4 - smoke.vmfunc # SKIP VMFUNC needs Intel VMX\n"));

	EXPECT_NE(NULL, strstr(xml, "tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"1\""));
	EXPECT_EQ(4, count(xml, "<testcase "));
	EXPECT_EQ(2, count(xml, "<failure "));
	EXPECT_EQ(1, count(xml, "<skipped "));
	EXPECT_NE(NULL, strstr(xml, "name=\"ftrace &lt;works&gt; &amp; &quot;traces&quot;\""));
	EXPECT_EQ(NULL, strstr(xml, "<works>")) TH_LOG("unescaped name in the XML");
	free(tap);
	free(xml);
}

TEST(unwritable_directory_is_an_error)
{
	const struct ci_case c = { "rig", "run", "pass", NULL };

	EXPECT_EQ(-1, ci_report("/nonexistent/dir", "smoke", &c, 1));
}

TEST_HARNESS_MAIN
