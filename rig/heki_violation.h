/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's violation log as read: the one parser of the lines
 * host/heki_log.c writes, used by heki-logfwd (in L1), rigrun
 * (summary.json's heki.violations and heki.log) and inject_report.c (the
 * evidence of each attack); rig_test reads the objects rigrun made.
 *
 * A record (heki_log_format): "seq=N vm_id=I vm_pid=P vm_seq=S vcpu=V
 * cpl=C mode=M kind=K via=W rip=0x.. <the kind's own keys> action=A".
 * A VM's summary (heki_log_format_summary, without its leading "log "):
 * "vm_id=I vm_pid=P ended=E violations=N ... cr0=o/l/d ...".
 *
 * The keys are listed once here; HEKI_VKEY(k) names one, and a key not in
 * the lists does not compile.  tests/unit/test_heki_log.c checks that the
 * writer writes exactly these keys, in this order.
 */
#ifndef HEKI_VIOLATION_H
#define HEKI_VIOLATION_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A record's keys, in the order written; each kind has some of the middle ones. */
#define HEKI_VIOLATION_KEYS(X)						\
	X(seq) X(vm_id) X(vm_pid) X(vm_seq) X(vcpu) X(cpl) X(mode)	\
	X(kind) X(via) X(rip)						\
	X(old) X(new) X(pinned)			/* cr0, cr4 */		\
	X(what) X(value) X(object)		/* report */		\
	X(gfn) X(gpa) X(gva) X(len) X(why)	/* patch */		\
	X(npages) X(attrs)			/* protect, write, exec */ \
	X(action)

/* A summary's keys after vm_id and vm_pid; then one "<kind>=o/l/d" per kind. */
#define HEKI_VMLOG_KEYS(X)						\
	X(ended) X(violations) X(offered) X(logged) X(dropped)		\
	X(dropped_rate) X(dropped_backlog) X(unread)

#define HEKI_VKEY_DEFINE(k) static const char heki_vkey_##k[] __attribute__((unused)) = #k;
HEKI_VIOLATION_KEYS(HEKI_VKEY_DEFINE)
HEKI_VMLOG_KEYS(HEKI_VKEY_DEFINE)
#undef HEKI_VKEY_DEFINE
#define HEKI_VKEY(k) heki_vkey_##k

/* Where the value of @key starts in @line (it ends at a space), or NULL. */
static inline const char *heki_viol_find(const char *line, const char *key)
{
	size_t k = strlen(key);

	for (const char *p = line; (p = strstr(p, key)); p += k)
		if ((p == line || p[-1] == ' ') && p[k] == '=')
			return p + k + 1;
	return NULL;
}

/* A decimal value, or @dflt without the key. */
static inline long long heki_viol_num(const char *line, const char *key, long long dflt)
{
	const char *v = heki_viol_find(line, key);

	return v ? strtoll(v, NULL, 10) : dflt;
}

/* A hexadecimal value ("0x.."), or ~0 without the key. */
static inline unsigned long long heki_viol_hex(const char *line, const char *key)
{
	const char *v = heki_viol_find(line, key);

	return v ? strtoull(v, NULL, 16) : ~0ull;
}

/* Is the value of @key exactly @want? */
static inline bool heki_viol_is(const char *line, const char *key, const char *want)
{
	const char *v = heki_viol_find(line, key);
	size_t n = strlen(want);

	return v && !strncmp(v, want, n) && (v[n] == ' ' || !v[n]);
}

/*
 * The next "key=value" word at *@p: 1 with @key and @val filled (cut to
 * their sizes), 0 at the end.  Words without '=' are skipped.
 */
static inline int heki_viol_next(const char **p, char *key, size_t klen, char *val, size_t vlen)
{
	while (**p) {
		const char *w = *p, *eq;
		size_t n = strcspn(w, " ");

		*p += n;
		while (**p == ' ')
			(*p)++;
		eq = memchr(w, '=', n);
		if (!eq)
			continue;
		snprintf(key, klen, "%.*s", (int)(eq - w), w);
		snprintf(val, vlen, "%.*s", (int)(n - (size_t)(eq - w) - 1), eq + 1);
		return 1;
	}
	return 0;
}

#endif /* HEKI_VIOLATION_H */
