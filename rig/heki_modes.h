/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protection modes: the one list of them.  Every suite, report, knob
 * and test takes its modes from here; a new mode is a row here plus what
 * implements it (heki.ko's parameters, the host's support) and its
 * expected outcome in each attack row (inject/attacks.h).
 *
 * A mode means the same everywhere: what heki.ko protects and how.  Whether
 * heki.ko then locks down is the suite's, not the mode's: the bench loads
 * each mode with lockdown=0 (it reloads heki.ko between modes, and the
 * authenticated poke has its own row, patch_call), the attacks with
 * lockdown=1, as deployed.  auth only decides how a lockdown is taken, so
 * it changes nothing before one.
 *
 * X(id, name, protect, params, switches, transport, label):
 *  id        C name: enum heki_mode's HEKI_MODE_<id>.
 *  name      what records, JSON, MODES=, --attack-mode and the plots call
 *            it.  Never renamed: results/ compares and loads old runs by it.
 *            Not the '+'-join of other names (heki_mode_list parses by the
 *            longest name; the unit test checks).
 *  protect   heki.ko's protect=; 0 also means no lockdown.
 *  params    heki.ko's other parameters for the mode, lockdown= aside.
 *  switches  run-time writes to /sys/module/heki/parameters that reach the
 *            mode from the one before it once heki.ko is locked down and
 *            cannot be reloaded (the attacks); NULL: none does (auth=0
 *            cannot follow auth=1).
 *  transport heki.ko's mode=: hypercall (write windows), view or vmfunc
 *            (host views).  A mode whose transport the host lacks is
 *            unsupported / n/a with the host's reason; the cost model
 *            projects view transports from the hypercall row.
 *  label     one line on what the mode is, for tables and plots.
 */
#ifndef HEKI_MODES_H
#define HEKI_MODES_H

#define HEKI_MODES(X)							\
	X(off, "off", 0, "", NULL, "hypercall",				\
	  "heki.ko loaded, nothing protected")				\
	X(hypercall, "hypercall", 1, "auth=0", NULL, "hypercall",	\
	  "the Heki RFC v2: write windows, patching not authenticated")	\
	X(hypercall_ext, "hypercall+ext", 1,				\
	  "auth=1 fop_check=1 cred_check=1",				\
	  "auth=1 fop_check=1 cred_check=1", "hypercall",		\
	  "beyond the RFC: authenticated patching, f_op and cred validation") \
	X(view, "view", 1, "auth=1 mode=view",				\
	  "auth=1 mode=view fop_check=0 cred_check=0", "view",		\
	  "text_poke switches host views, authenticated")		\
	X(vmfunc, "vmfunc", 1, "auth=1 mode=vmfunc",			\
	  "auth=1 mode=vmfunc fop_check=0 cred_check=0", "vmfunc",	\
	  "views switched by VMFUNC without an exit (Intel VMX), authenticated")

enum heki_mode {
#define HEKI_MODE_ENUM(id, ...) HEKI_MODE_##id,
	HEKI_MODES(HEKI_MODE_ENUM)
#undef HEKI_MODE_ENUM
	HEKI_NR_MODES
};

#ifndef __KERNEL__
#include <stdio.h>
#include <string.h>

struct heki_mode_row {
	const char *name;
	int protect;
	const char *params, *switches, *transport, *label;
};

static const struct heki_mode_row heki_modes[HEKI_NR_MODES] = {
#define HEKI_MODE_ROW(id, nm, prot, par, sw, tr, lab) \
	[HEKI_MODE_##id] = { nm, prot, par, sw, tr, lab },
	HEKI_MODES(HEKI_MODE_ROW)
#undef HEKI_MODE_ROW
};

/* The mode named @name, or -1. */
static inline int heki_mode_find(const char *name)
{
	for (int i = 0; i < HEKI_NR_MODES; i++)
		if (!strcmp(heki_modes[i].name, name))
			return i;
	return -1;
}

/* "mode=view": does @m send text_poke through host views? */
static inline int heki_mode_uses_views(int m)
{
	return strcmp(heki_modes[m].transport, "hypercall") != 0;
}

/* heki.ko's parameters for mode @m, locked down or not. */
static inline void heki_mode_params(int m, int lockdown, char *buf, size_t len)
{
	const struct heki_mode_row *r = &heki_modes[m];

	if (!r->protect)
		snprintf(buf, len, "protect=0");
	else
		snprintf(buf, len, "protect=1 lockdown=%d%s%s", !!lockdown,
			 r->params[0] ? " " : "", r->params);
}

/*
 * A list of mode names, separated by ',' (MODES=, --attack-mode) or '+'
 * (L2's command line, where ',' stands for a space): a name may contain
 * '+' itself ("hypercall+ext"), so at each place the longest name that
 * ends at a separator or at the end is taken.  Sets bit m of *@set for
 * each mode m; returns 0, or -1 with the unknown part in @bad.
 */
static inline int heki_mode_list(const char *s, unsigned int *set, char *bad, size_t badlen)
{
	*set = 0;
	while (*s) {
		int best = -1;
		size_t best_len = 0;

		for (int i = 0; i < HEKI_NR_MODES; i++) {
			size_t n = strlen(heki_modes[i].name);

			if (n > best_len && !strncmp(s, heki_modes[i].name, n) &&
			    (!s[n] || s[n] == ',' || s[n] == '+')) {
				best = i;
				best_len = n;
			}
		}
		if (best < 0) {
			snprintf(bad, badlen, "%.*s", (int)strcspn(s, ",+"), s);
			return -1;
		}
		*set |= 1u << best;
		s += best_len;
		if (*s && !*++s) {	/* a separator ends the list */
			snprintf(bad, badlen, "%s", "");
			return -1;
		}
	}
	return 0;
}

/* The names of the modes in @set, table order, joined by @sep. */
static inline void heki_mode_list_join(unsigned int set, char sep, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < HEKI_NR_MODES && n < len; i++)
		if (set & (1u << i))
			n += snprintf(buf + n, len - n, "%s%s", n ? (char[]){ sep, 0 } : "",
				      heki_modes[i].name);
}

/* "off, hypercall, ...": for messages. */
static inline void heki_mode_names(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < HEKI_NR_MODES && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "", heki_modes[i].name);
}
#endif /* !__KERNEL__ */

#endif /* HEKI_MODES_H */
