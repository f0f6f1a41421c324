// SPDX-License-Identifier: GPL-2.0
/*
 * results.tap and junit.xml: the same cases in the two formats CI systems
 * read.  Names and messages come from the guest: everything is escaped
 * (XML) or kept on one line (TAP).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ci_report.h"

static void xml_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* XML 1.0 has no way to carry other control characters. */
			if (c < 0x20 && c != '\t' && c != '\n')
				fputc('?', f);
			else
				fputc(c, f);
		}
	}
}

/* TAP descriptions are one line, and '#' would start a directive. */
static void tap_text(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s == '#' ? '_' : *s, f);
}

static int write_tap(const char *path, const struct ci_case *c, int n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "TAP version 13\n1..%d\n", n);
	for (int i = 0; i < n; i++) {
		bool fail = !strcmp(c[i].result, "fail");

		fprintf(f, "%s %d - ", fail ? "not ok" : "ok", i + 1);
		tap_text(f, c[i].group);
		fputc('.', f);
		tap_text(f, c[i].name);
		if (!strcmp(c[i].result, "skip")) {
			fputs(" # SKIP ", f);
			tap_text(f, c[i].message ? c[i].message : "skipped");
		}
		fputc('\n', f);
		if (fail && c[i].message) {
			fputs("  ---\n  message: \"", f);
			for (const char *p = c[i].message; *p; p++)
				fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c",
					*p == '\n' ? ' ' : *p);
			fputs("\"\n  ...\n", f);
		}
	}
	return fclose(f) ? -1 : 0;
}

static int write_junit(const char *path, const char *suite, const struct ci_case *c, int n)
{
	int failures = 0, skipped = 0;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (int i = 0; i < n; i++) {
		failures += !strcmp(c[i].result, "fail");
		skipped += !strcmp(c[i].result, "skip");
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", f);
	fputs("  <testsuite name=\"", f);
	xml_escape(f, suite);
	fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\">\n",
		n, failures, skipped);
	for (int i = 0; i < n; i++) {
		fputs("    <testcase classname=\"", f);
		xml_escape(f, c[i].group);
		fputs("\" name=\"", f);
		xml_escape(f, c[i].name);
		fputs("\"", f);
		if (!strcmp(c[i].result, "pass")) {
			fputs("/>\n", f);
			continue;
		}
		fputs(">\n      <", f);
		fputs(!strcmp(c[i].result, "skip") ? "skipped" : "failure", f);
		fputs(" message=\"", f);
		xml_escape(f, c[i].message ? c[i].message : c[i].result);
		fputs("\"/>\n    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	return fclose(f) ? -1 : 0;
}

int ci_report(const char *dir, const char *suite, const struct ci_case *cases, int n)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/results.tap", dir);
	if (write_tap(path, cases, n))
		return -1;
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	return write_junit(path, suite, cases, n);
}
