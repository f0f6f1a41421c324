/* SPDX-License-Identifier: GPL-2.0 */
/* A run's checks as TAP and JUnit XML, for any CI system to show. */
#ifndef HEKI_CI_REPORT_H
#define HEKI_CI_REPORT_H

struct ci_case {
	const char *group;	/* JUnit classname: "rig", "smoke", "attacks", ... */
	const char *name;
	const char *result;	/* "pass", "fail" or "skip" */
	const char *message;	/* why it failed or was skipped; may be NULL */
};

/*
 * Writes DIR/results.tap (TAP version 13) and DIR/junit.xml (one
 * <testsuite> named @suite).  Returns 0, or -1 if a file could not be
 * written (errno set).
 */
int ci_report(const char *dir, const char *suite, const struct ci_case *cases, int n);

#endif /* HEKI_CI_REPORT_H */
