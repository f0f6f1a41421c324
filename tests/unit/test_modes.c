// SPDX-License-Identifier: GPL-2.0
/*
 * The protection modes (rig/heki_modes.h): one meaning in every suite, and
 * every mode name usable in every knob: MODES= (rigrun --modes),
 * --attack-mode, inject/run --mode, and the heki.attack_modes= that reaches
 * the attacks suite in L2, parsed there by the same heki_mode_list().
 * rigrun runs with --dry-run 1 (options checked, nothing booted); it sits
 * beside this test's directory (build/bin/rigrun).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "heki_modes.h"

static unsigned int parse(const char *s, int *ret)
{
	unsigned int set = ~0u;
	char bad[64];

	*ret = heki_mode_list(s, &set, bad, sizeof(bad));
	return set;
}

/* Is "k=v" one of the space-separated words of @list? */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p; p += strcspn(p, " "), p += *p == ' ')
		if (!strncmp(p, word, n) && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

/* Does @list set parameter @key (any value)? */
static int sets_key(const char *list, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = list; p && *p; p += strcspn(p, " "), p += *p == ' ')
		if (!strncmp(p, key, n) && p[n] == '=')
			return 1;
	return 0;
}

TEST(names_are_unique_and_parse_one_way)
{
	for (int m = 0; m < HEKI_NR_MODES; m++) {
		const char *name = heki_modes[m].name;
		int ret;

		EXPECT_EQ(m, heki_mode_find(name)) TH_LOG("%s named twice", name);
		EXPECT_EQ(strlen(name), strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789+"))
			TH_LOG("%s: a name travels on kernel command lines", name);
		/* A name cut at any '+' must not read as a list of other modes. */
		for (const char *p = strchr(name, '+'); p; p = strchr(p + 1, '+')) {
			char left[64];
			unsigned int l, r;
			int rl, rr;

			snprintf(left, sizeof(left), "%.*s", (int)(p - name), name);
			l = parse(left, &rl);
			r = parse(p + 1, &rr);
			EXPECT_FALSE(!rl && !rr && l && r)
				TH_LOG("%s is also the list %s + %s", name, left, p + 1);
		}
		EXPECT_EQ(1u << m, parse(name, &ret)) TH_LOG("%s", name);
		EXPECT_EQ(0, ret);
	}
}

TEST(lists_with_either_separator)
{
	char all_comma[512], all_plus[512], two[160];
	unsigned int all = (1u << HEKI_NR_MODES) - 1;
	int ret;

	heki_mode_list_join(all, ',', all_comma, sizeof(all_comma));
	heki_mode_list_join(all, '+', all_plus, sizeof(all_plus));
	EXPECT_EQ(all, parse(all_comma, &ret)) TH_LOG("%s", all_comma);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(all, parse(all_plus, &ret)) TH_LOG("%s", all_plus);
	EXPECT_EQ(0, ret);
	/* Every pair, both orders, both separators. */
	for (int a = 0; a < HEKI_NR_MODES; a++)
		for (int b = 0; b < HEKI_NR_MODES; b++)
			for (int s = 0; s < 2; s++) {
				snprintf(two, sizeof(two), "%s%c%s", heki_modes[a].name,
					 s ? '+' : ',', heki_modes[b].name);
				EXPECT_EQ((1u << a) | (1u << b), parse(two, &ret)) TH_LOG("%s", two);
				EXPECT_EQ(0, ret);
			}
}

TEST(unknown_names_refused)
{
	static const char *const bad[] = {
		"ext", "hypercall+", "hypercall,", "+hypercall", ",off", "hyper", "HYPERCALL",
		"hypercall+ext+", "hypercall ext", "off,,view", "hypercall+extra",
	};
	unsigned int set;
	char what[64];
	int ret;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(bad[i], &ret);
		EXPECT_EQ(-1, ret) TH_LOG("'%s' accepted", bad[i]);
	}
	ASSERT_EQ(-1, heki_mode_list("hypercall+ext+nope", &set, what, sizeof(what)));
	EXPECT_STREQ("nope", what);
	/* Empty is no error here: rigrun refuses an empty set itself. */
	EXPECT_EQ(0u, parse("", &ret));
	EXPECT_EQ(0, ret);
}

/*
 * One meaning: the bench (lockdown=0) and the attacks (lockdown=1) load a
 * mode with the same parameters but lockdown; the RFC's "hypercall" is
 * unauthenticated in both, the checkers belong to "+ext" alone.
 */
TEST(one_meaning_in_every_suite)
{
	char bench[256], attacks[256], *p;

	for (int m = 0; m < HEKI_NR_MODES; m++) {
		heki_mode_params(m, 0, bench, sizeof(bench));
		heki_mode_params(m, 1, attacks, sizeof(attacks));
		if (!heki_modes[m].protect) {
			EXPECT_STREQ("protect=0", bench);
			EXPECT_STREQ("protect=0", attacks);
			continue;
		}
		p = strstr(bench, "lockdown=0");
		ASSERT_NE(NULL, p) TH_LOG("%s: %s", heki_modes[m].name, bench);
		p[9] = '1';
		EXPECT_STREQ(attacks, bench);
		EXPECT_TRUE(sets_key(attacks, "auth"))
			TH_LOG("%s: auth left to heki.ko's default", heki_modes[m].name);
	}
	heki_mode_params(HEKI_MODE_hypercall, 0, bench, sizeof(bench));
	EXPECT_STREQ("protect=1 lockdown=0 auth=0", bench);
	heki_mode_params(HEKI_MODE_hypercall, 1, attacks, sizeof(attacks));
	EXPECT_STREQ("protect=1 lockdown=1 auth=0", attacks);
	heki_mode_params(HEKI_MODE_hypercall_ext, 1, attacks, sizeof(attacks));
	EXPECT_STREQ("protect=1 lockdown=1 auth=1 fop_check=1 cred_check=1", attacks);
	EXPECT_STREQ("hypercall+ext", heki_modes[HEKI_MODE_hypercall_ext].name);
	EXPECT_STREQ("off", heki_modes[0].name);	/* the baseline of overhead_vs_off */
}

/*
 * After lockdown the attacks reach each later mode by its run-time
 * switches: they set what the mode's parameters set, to the same values,
 * and undo whatever an earlier mode set.  Only the first protecting mode
 * may have none (it is loaded, not switched to).
 */
TEST(switches_reach_each_mode_after_lockdown)
{
	int first = -1;

	for (int m = 0; m < HEKI_NR_MODES; m++) {
		const struct heki_mode_row *r = &heki_modes[m];
		char params[256], *save = NULL;

		if (!r->protect)
			continue;
		if (first < 0) {
			first = m;
			continue;
		}
		ASSERT_NE(NULL, r->switches) TH_LOG("%s cannot be reached after lockdown", r->name);
		snprintf(params, sizeof(params), "%s", r->params);
		for (char *t = strtok_r(params, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			EXPECT_TRUE(has_word(r->switches, t))
				TH_LOG("%s: switches '%s' lack %s", r->name, r->switches, t);
		}
		for (int e = first; e < m; e++) {
			char earlier[512], *s2 = NULL;

			snprintf(earlier, sizeof(earlier), "%s %s", heki_modes[e].params,
				 heki_modes[e].switches ?: "");
			for (char *t = strtok_r(earlier, " ", &s2); t; t = strtok_r(NULL, " ", &s2)) {
				*strchr(t, '=') = '\0';
				EXPECT_TRUE(sets_key(r->switches, t))
					TH_LOG("%s leaves %s as %s set it", r->name, t, heki_modes[e].name);
			}
		}
	}
	EXPECT_LE(0, first);
}

/* ---- the knobs, through rigrun --dry-run 1 and inject/run ---- */

static char rigrun_path[PATH_MAX];

static const char *rigrun(void)
{
	char *slash;

	if (!rigrun_path[0] && readlink("/proc/self/exe", rigrun_path, sizeof(rigrun_path) - 16) > 0) {
		slash = strrchr(rigrun_path, '/');
		*slash = '\0';
		slash = strrchr(rigrun_path, '/');
		strcpy(slash, "/rigrun");	/* build/bin/tests/x -> build/bin/rigrun */
	}
	return rigrun_path;
}

/* rigrun --dry-run 1 with @extra (space-separated); its exit status, its stdout in @out. */
static int dry_run(const char *extra, char *out, size_t len)
{
	char cmd[PATH_MAX + 4096];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' --dry-run 1 --kernel k --l1-image l1 --l2-image l2 "
		 "--kmod-dir d --guest-kernel v --l0 tcg %s 2>&1", rigrun(), extra);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The heki.attack_modes= L2 would get, as the attacks suite parses it. */
static int l2_modes(const char *out, unsigned int *set)
{
	const char *p = strstr(out, "heki.attack_modes=");
	char val[256], bad[64];

	if (!p)
		return -1;
	p += strlen("heki.attack_modes=");
	/* l2append travels as one word: ',' stands for a space. */
	snprintf(val, sizeof(val), "%.*s", (int)strcspn(p, ", \n"), p);
	return heki_mode_list(val, set, bad, sizeof(bad));
}

TEST(every_mode_in_modes_and_attack_mode)
{
	char extra[512], out[4096], word[160];
	unsigned int set;

	ASSERT_EQ(0, access(rigrun(), X_OK)) TH_LOG("%s: build rigrun first", rigrun());
	for (int m = 0; m < HEKI_NR_MODES; m++) {
		const char *name = heki_modes[m].name;

		snprintf(extra, sizeof(extra), "--suite attacks --modes '%s' --attack-mode '%s'",
			 name, name);
		ASSERT_EQ(0, dry_run(extra, out, sizeof(out))) TH_LOG("%s: %s", name, out);
		snprintf(word, sizeof(word), " heki.modes=%s ", name);
		EXPECT_NE(NULL, strstr(out, word)) TH_LOG("%s: %s", name, out);
		ASSERT_EQ(0, l2_modes(out, &set)) TH_LOG("%s: %s", name, out);
		EXPECT_EQ(1u << m, set) TH_LOG("%s: %s", name, out);
		/* MODES= for the other suites too. */
		snprintf(extra, sizeof(extra), "--suite bench --modes '%s'", name);
		EXPECT_EQ(0, dry_run(extra, out, sizeof(out))) TH_LOG("%s: %s", name, out);
	}
	/* All at once, as lists. */
	heki_mode_list_join((1u << HEKI_NR_MODES) - 1, ',', word, sizeof(word));
	snprintf(extra, sizeof(extra), "--suite attacks --modes '%s' --attack-mode '%s'", word, word);
	ASSERT_EQ(0, dry_run(extra, out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(0, l2_modes(out, &set));
	EXPECT_EQ((1u << HEKI_NR_MODES) - 1, set) TH_LOG("%s", out);
	/* The case: '+' read as a separator gave "unknown mode 'ext'". */
	EXPECT_EQ(2, dry_run("--suite attacks --attack-mode ext", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "unknown mode 'ext'")) TH_LOG("%s", out);
	EXPECT_EQ(2, dry_run("--suite bench --modes hypercall+ex", out, sizeof(out)));
	EXPECT_EQ(2, dry_run("--suite bench --modes ''", out, sizeof(out)));
}

/* inject/run --mode M hands make RUN_ARGS that rigrun accepts, selecting M. */
TEST(every_mode_in_inject_run)
{
	char dir[] = "/tmp/test_modes.XXXXXX", fake[128], cmd[2200], out[4096], args[2048];
	unsigned int set;
	FILE *f;

	if (access("inject/run", X_OK))
		SKIP(return, "run from the repository's top (make unit-test does)");
	ASSERT_NE(NULL, mkdtemp(dir));
	/* A make that prints its arguments: inject/run execs make run ... */
	snprintf(fake, sizeof(fake), "%s/make", dir);
	f = fopen(fake, "w");
	ASSERT_NE(NULL, f);
	fputs("#!/bin/sh\nfor a in \"$@\"; do case $a in RUN_ARGS=*) echo \"${a#RUN_ARGS=}\";; esac; done\n", f);
	fclose(f);
	ASSERT_EQ(0, chmod(fake, 0755));
	for (int m = 0; m < HEKI_NR_MODES; m++) {
		const char *name = heki_modes[m].name;
		size_t n;
		FILE *p;

		snprintf(cmd, sizeof(cmd), "PATH='%s':\"$PATH\" RUN_ARGS= inject/run fop_swap --mode '%s'",
			 dir, name);
		p = popen(cmd, "r");
		ASSERT_NE(NULL, p);
		n = fread(args, 1, sizeof(args) - 1, p);
		args[n] = '\0';
		args[strcspn(args, "\n")] = '\0';
		EXPECT_EQ(0, pclose(p));
		ASSERT_NE(NULL, strstr(args, "--attack-mode")) TH_LOG("%s: '%s'", name, args);
		snprintf(cmd, sizeof(cmd), "--suite attacks %s", args);
		ASSERT_EQ(0, dry_run(cmd, out, sizeof(out))) TH_LOG("%s: %s", name, out);
		ASSERT_EQ(0, l2_modes(out, &set)) TH_LOG("%s: %s", name, out);
		EXPECT_EQ(1u << m, set) TH_LOG("%s: %s", name, out);
	}
	unlink(fake);
	rmdir(dir);
}

TEST_HARNESS_MAIN
