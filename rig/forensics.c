// SPDX-License-Identifier: GPL-2.0
/* See forensics.h. */
#include <stdio.h>
#include <string.h>

#include "forensics.h"

/* What starts a crash report (the first wins). */
static const char *const crash_signs[] = { "Kernel panic", "BUG:", "Oops:",
					   "general protection fault" };

/* Call-trace entries that report rather than crash. */
static const char *const machinery[] = { "dump_stack", "dump_stack_lvl", "panic", "__warn",
					 "report_bug", "handle_bug", "exc_invalid_op",
					 "asm_exc_invalid_op", "watchdog_timer_fn", "show_regs",
					 "__die", "die", "oops_end" };

#define OOPS_LINES_MAX 150

/* The line without its "[   12.345678] " timestamp. */
static const char *untimed(const char *line)
{
	const char *p = line;

	if (*p != '[')
		return line;
	p = strchr(p, ']');
	if (!p)
		return line;
	p++;
	return *p == ' ' ? p + 1 : p;
}

/* The "[   12.345678]" timestamp of a console line, or -1. */
static double stamp(const char *line)
{
	double t;

	return line[0] == '[' && sscanf(line + 1, "%lf]", &t) == 1 ? t : -1;
}

bool forensics_crash_line(const char *line)
{
	const char *p;
	unsigned int err, n;
	char close;

	for (size_t i = 0; i < sizeof(crash_signs) / sizeof(crash_signs[0]); i++)
		if (strstr(line, crash_signs[i]))
			return true;
	/*
	 * die()'s own line, whatever the trap: "<what>: <err> [#<n>]", e.g.
	 * "Bad pagetable: 000b [#1]" (a #PF with RSVD set: the host refusing
	 * a kernel write), "invalid opcode: 0000 [#1]".
	 */
	for (p = strstr(line, ": "); p; p = strstr(p + 2, ": "))
		if (sscanf(p + 2, "%x [#%u%c", &err, &n, &close) == 3 && close == ']')
			return true;
	return false;
}

static bool crash_line(const char *line)
{
	return forensics_crash_line(line);
}

/* "name+0x1b/0x20 [mod]" -> "name"; false if @s does not start with one. */
static bool symbol_at(const char *s, char *out, size_t len)
{
	size_t n = strcspn(s, "+ \t\r\n");

	if (!n || s[n] != '+' || strncmp(s + n, "+0x", 3))
		return false;
	snprintf(out, len, "%.*s", (int)n, s);
	return true;
}

static void find_function(const char *l, struct oops *o)
{
	const char *rip = strstr(l, "RIP: 0010:");
	char sym[128];

	if (o->function[0])
		return;
	if (rip) {
		if (symbol_at(rip + 10, sym, sizeof(sym)))
			snprintf(o->function, sizeof(o->function), "%s", sym);
		return;
	}
	/* A call-trace entry: " name+0x../0x.. [mod]"; "? " ones are guesses. */
	if (l[0] != ' ' || l[1] == '?' || !symbol_at(l + 1, sym, sizeof(sym)))
		return;
	for (size_t i = 0; i < sizeof(machinery) / sizeof(machinery[0]); i++)
		if (!strcmp(sym, machinery[i]))
			return;
	snprintf(o->function, sizeof(o->function), "%s", sym);
}

bool forensics_oops(const char *path, struct oops *o)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int lineno = 0, taken = 0;
	size_t used = 0;
	bool in = false, after_task = false;
	double t0 = -1;

	memset(o, 0, sizeof(*o));
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		const char *l;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		l = untimed(line);
		if (!in) {
			if (!crash_line(line))
				continue;
			in = true;
			t0 = stamp(line);
			o->line = lineno;
			snprintf(o->headline, sizeof(o->headline), "%.255s", l);
		} else {
			/*
			 * The report is printed in one go: a line without a
			 * timestamp (user space on the console) or long after
			 * the line before is not part of it.  (A starved vCPU
			 * spreads one report over seconds: 6 s seen at load 14.)
			 */
			if (t0 >= 0 && (stamp(line) < 0 || stamp(line) - t0 > 30))
				break;
			if (t0 >= 0)
				t0 = stamp(line);
			/* The report ends at its end marker, the next report, or its task's frame. */
			if (crash_line(l) && !strstr(l, "Oops:") && taken > 3)
				break;
			if (after_task && l[0] != ' ' && l[0] != '<' && strncmp(l, "RIP:", 4) &&
			    strncmp(l, "Code:", 5) && strncmp(l, "RSP:", 4) && strncmp(l, "R", 1))
				break;
		}
		find_function(l, o);
		if (used + strlen(l) + 2 < sizeof(o->text)) {
			used += snprintf(o->text + used, sizeof(o->text) - used, "%s\n", l);
		}
		if (strstr(l, "---[ end") || ++taken >= OOPS_LINES_MAX)
			break;
		if (strstr(l, "</TASK>"))
			after_task = true;
	}
	fclose(f);
	return in;
}

bool forensics_find_line(const char *path, const char *needle, char *out, size_t len)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!strstr(line, needle))
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		snprintf(out, len, "%s", untimed(line));
		found = true;
	}
	fclose(f);
	return found;
}

void forensics_fields(const char *line, void (*fn)(const char *key, const char *val, void *ctx),
		      void *ctx)
{
	char buf[1024], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		fn(tok, eq + 1, ctx);
	}
}
