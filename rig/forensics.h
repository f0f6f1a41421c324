/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a dead or stalled level left behind, read from its console log and
 * the host's records: the first oops (text and faulting function), an RCU
 * stall report, the host's record of an L2 vCPU's triple fault.  rigrun
 * puts them in summary.json's "failure"; rig/flakes.c matches them against
 * the emulator signatures a retry may forgive.  Pure C, unit-tested.
 */
#ifndef HEKI_FORENSICS_H
#define HEKI_FORENSICS_H

#include <stdbool.h>
#include <stddef.h>

#define OOPS_TEXT_MAX 6144

struct oops {
	int line;		/* in the console log, 1-based */
	char headline[256];	/* "BUG: soft lockup - CPU#0 stuck for 26s! [...]" */
	/*
	 * The function it happened in: the first "RIP: <seg>:<fn>+0x.."
	 * of the report, else the first call-trace entry that is not the
	 * reporting machinery (dump_stack, panic, ...).  "" if none.
	 */
	char function[128];
	/* The report, timestamps stripped, up to its end or OOPS_TEXT_MAX. */
	char text[OOPS_TEXT_MAX];
};

/*
 * The first crash report in console log @path (lines carrying "Kernel
 * panic", "BUG:", "Oops:", "general protection fault", "WARNING:"...).
 * Returns false if there is none (or no file).
 */
bool forensics_oops(const char *path, struct oops *o);
/* Whether a console line starts a kernel crash report (panic, BUG, any die()). */
bool forensics_crash_line(const char *line);

/* The first line of @path containing @needle (stripped of its timestamp). */
bool forensics_find_line(const char *path, const char *needle, char *out, size_t len);

/*
 * The host's "shutdown ..." record (host/ABI.md) as key/value pairs: calls
 * @fn(key, value, ctx) for each "key=value" word of @line.
 */
void forensics_fields(const char *line, void (*fn)(const char *key, const char *val, void *ctx),
		      void *ctx);

#endif
