// SPDX-License-Identifier: GPL-2.0
/*
 * The attacks suite (heki-suite attacks, in L2): every attack of
 * inject/attacks.h in every mode, each carried out by heki_attack.ko in a
 * task of its own, so that an attack which kills its task costs that one
 * result only.  Modes are rig/heki_modes.h's, each loaded locked down, as
 * deployed (lockdown cannot be undone: a mode after it is reached by its
 * run-time switches); "vmfunc" does not exist on this rig and is n/a with
 * the host's reason.
 *
 * L2's command line narrows the run: heki.attacks=ID[+ID...] and
 * heki.attack_modes=MODE[+MODE...] (rigrun --attack/--attack-mode, which
 * inject/run uses, sets them).
 *
 * Each attack x mode becomes one record "attack.<mode>.<id>" (status,
 * expected, observed, the attacker's raw result) and one check that fails
 * when observed differs from expected; rigrun turns the records into
 * inject.json with the host's matching violation records as evidence.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "suite.h"
#include "inject_verdict.h"

#define ATTACK_KO "/lib/modules/heki_attack.ko"
#define RUN_FILE "/sys/kernel/debug/heki_attack/run"
#define NOBODY 65534
#define ATTACK_TIMEOUT_MS 60000


/* Is mode @m in heki.attack_modes= (or is the parameter absent)? */
static int mode_selected(int m)
{
	char val[1024], bad[64];
	unsigned int set;

	if (cmdline_param("heki.attack_modes", val, sizeof(val)))
		return 1;
	/* rigrun checked the names: a list it would refuse selects nothing. */
	return !heki_mode_list(val, &set, bad, sizeof(bad)) && (set & (1u << m));
}

/*
 * Is @word in the '+'-separated heki.<param>= of L2's command line (or is
 * the parameter absent)?  Not ',': the rig carries spaces as commas.
 */
static int selected(const char *param, const char *word)
{
	char val[1024];

	if (cmdline_param(param, val, sizeof(val)))
		return 1;
	for (char *save = NULL, *t = strtok_r(val, "+", &save); t; t = strtok_r(NULL, "+", &save))
		if (!strcmp(t, word))
			return 1;
	return 0;
}

/* In the attacking task: become nobody, provably (cred attacks start there). */
static int drop_privileges(char *why, size_t len)
{
	char host[64] = "";

	gethostname(host, sizeof(host) - 1);
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY)) {
		snprintf(why, len, "cannot drop privileges: %s", strerror(errno));
		return -1;
	}
	if (getuid() != NOBODY || !sethostname(host, strlen(host))) {
		snprintf(why, len, "still privileged after dropping to uid %d", NOBODY);
		return -1;
	}
	return 0;
}

/* The task's own view after a cred attack: root, and allowed an admin-only call. */
static void user_view(char *out, size_t len)
{
	char host[64] = "";
	int admin;

	gethostname(host, sizeof(host) - 1);
	admin = !sethostname(host, strlen(host));
	snprintf(out, len, " user_uid=%d user_euid=%d user_sethostname=%d",
		 (int)getuid(), (int)geteuid(), admin);
}

/*
 * heki.fault=attack-kills-guest (rigrun --fault): the first attack panics
 * the guest instead, so that the harness's own test can prove a dead guest
 * costs one cell, not the run.
 */
static bool kill_guest_first;

/* The attacking task: writes the id, reads the result, sends it up @out. */
static void attacker(const struct heki_attack_row *row, int out)
{
	char res[768] = "", why[160], extra[96] = "", *detail;
	bool cred = !strcmp(row->family, "cred");
	int fd = open(RUN_FILE, O_RDWR);
	ssize_t n;

	if (fd < 0) {
		dprintf(out, "error cannot open " RUN_FILE ": %s\n", strerror(errno));
		_exit(1);
	}
	if (cred && drop_privileges(why, sizeof(why))) {
		dprintf(out, "error %s\n", why);
		_exit(1);
	}
	if (kill_guest_first && write(fd, "crash_guest", 11) < 0)
		dprintf(out, "error the attacker module would not crash the guest\n");
	if (write(fd, row->id, strlen(row->id)) < 0) {
		dprintf(out, "error the attacker module refused %s: %s\n", row->id, strerror(errno));
		_exit(1);
	}
	n = pread(fd, res, sizeof(res) - 1, 0);
	if (n <= 0) {
		dprintf(out, "error no result from the attacker module\n");
		_exit(1);
	}
	res[n] = '\0';
	res[strcspn(res, "\n")] = '\0';
	if (cred)
		user_view(extra, sizeof(extra));
	/* The task's view goes before detail=, with the other fields. */
	detail = strstr(res, " detail=");
	if (!detail)
		detail = res + strlen(res);
	dprintf(out, "result %.*s%s%s\n", (int)(detail - res), res, extra, detail);
	_exit(0);
}

/* Runs one attack in a task of its own; fills r and line. */
static void run_attack(const struct heki_attack_row *row, struct heki_attack_result *r,
		       char *line, size_t len)
{
	int pfd[2], status = 0;
	struct pollfd p;
	ssize_t n = 0;
	pid_t pid;

	*r = (struct heki_attack_result){ .violations = -1 };
	snprintf(line, len, "no result");
	if (pipe(pfd))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		attacker(row, pfd[1]);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return;
	}
	p = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
	if (poll(&p, 1, ATTACK_TIMEOUT_MS) == 1)
		n = read(pfd[0], line, len - 1);
	close(pfd[0]);
	if (n <= 0) {
		kill(pid, SIGKILL);
		snprintf(line, len, "the attacking task died or hung (no result)");
		n = 0;
	}
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status)) {
		r->crashed = true;
		snprintf(line + strlen(line), len - strlen(line),
			 " (task killed by signal %d: see console-l2.log)", WTERMSIG(status));
		return;
	}
	if (strncmp(line, "result ", 7)) {
		r->ran = !strncmp(line, "error ", 6);
		r->effect = -1;
		return;
	}
	memmove(line, line + 7, strlen(line + 7) + 1);
	/* The report parses the same line the same way (inject_verdict.h). */
	heki_result_parse(line, r);
}

/*
 * heki.ko reloaded with the mode's parameters; once locked down it has
 * pinned itself, and a mode that adds a run-time switch sets that instead.
 */
static int enter_mode(int mi)
{
	const struct heki_mode_row *m = &heki_modes[mi];
	char sw[256], path[160], params[256], *save = NULL;

	heki_mode_params(mi, 1, params, sizeof(params));
	if (!syscall(SYS_delete_module, "heki", O_NONBLOCK) || errno == ENOENT)
		return load_module(HEKI_KO, params) ? -1 : 0;
	if (!m->switches)
		return -1;
	snprintf(sw, sizeof(sw), "%s", m->switches);
	for (char *t = strtok_r(sw, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');

		if (!eq)
			return -1;
		*eq = '\0';
		snprintf(path, sizeof(path), "/sys/module/heki/parameters/%s", t);
		if (write_file(path, eq + 1))
			return -1;
	}
	return 0;
}

/* Whether this CPU's /proc/cpuinfo flags hold the word @flag. */
static bool cpu_has_flag(const char *flag)
{
	char line[4096], *save, *t;
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (t = strtok_r(strchr(line, ':') ?: line, " :\n", &save); t && !found;
		     t = strtok_r(NULL, " :\n", &save))
			found = !strcmp(t, flag);
		break;
	}
	if (f)
		fclose(f);
	return found;
}

void suite_attacks(struct suite_ctx *c)
{
	char name[160], why[1200], line[1024], resume[128] = "", fault[64] = "";
	/* heki.attack_resume_after=MODE:ID: a fresh guest goes on after a dead one. */
	bool skipping = !cmdline_param("heki.attack_resume_after", resume, sizeof(resume));
	int ran_modes = 0;

	kill_guest_first = !cmdline_param("heki.fault", fault, sizeof(fault)) &&
			   !strcmp(fault, "attack-kills-guest");

	if (load_module(ATTACK_KO, "") && errno != EEXIST) {
		check(c, 0, "attacker_module_loads", "insmod heki_attack.ko failed");
		return;
	}
	check(c, 1, "attacker_module_loads", NULL);

	for (int mi = 0; mi < HEKI_NR_MODES; mi++) {
		const struct heki_mode_row *m = &heki_modes[mi];
		/* The host says whether the transport exists here (heki.ko is loaded). */
		const char *reason = transport_unsupported(m->transport);
		int na = reason != NULL;

		if (!mode_selected(mi))
			continue;
		/* Modes before the one being resumed were done by the dead guest. */
		if (skipping && (strncmp(resume, m->name, strlen(m->name)) ||
				 resume[strlen(m->name)] != ':'))
			continue;
		if (!na) {
			snprintf(name, sizeof(name), "attack_mode_%s_loads", m->name);
			if (enter_mode(mi)) {
				char params[256];

				heki_mode_params(mi, 1, params, sizeof(params));
				check(c, 0, name, "cannot reload heki.ko for this mode");
				record_kv(&c->out, "inject.mode", "%s status=failed reason=heki.ko did not load with %s",
					  m->name, params);
				continue;
			}
			check(c, 1, name, NULL);
			ran_modes++;
		}
		record_kv(&c->out, "inject.mode", "%s status=%s%s%s", m->name, na ? "n/a" : "run",
			  na ? " reason=" : "", na ? reason : "");
		printf("# attacks: mode %s%s%s\n", m->name, na ? ": n/a, " : "", na ? reason : "");
		for (size_t ai = 0; ai < HEKI_NR_ATTACKS; ai++) {
			const struct heki_attack_row *row = &heki_attack_rows[ai];
			const struct heki_attack_need *need;
			struct heki_attack_result r;
			enum heki_observed obs;
			int exp;
			char key[128];

			if (!selected("heki.attacks", row->id))
				continue;
			snprintf(key, sizeof(key), "attack.%s.%s", m->name, row->id);
			if (skipping) {
				/* Up to and including the cell the dead guest died in. */
				skipping = strcmp(resume + strlen(m->name) + 1, row->id);
				continue;
			}
			if (na) {
				record_kv(&c->out, key, "status=n/a expected=n/a observed=n/a reason=%s",
					  reason);
				continue;
			}
			need = heki_attack_need(row->id);
			if (need && ((need->cpu_flag && !cpu_has_flag(need->cpu_flag)) ||
				     sysconf(_SC_NPROCESSORS_ONLN) < need->min_cpus)) {
				record_kv(&c->out, key, "status=n/a expected=n/a observed=n/a reason=%s",
					  need->reason);
				continue;
			}
			exp = row->expected[mi];
			/* Names the cell if the guest dies in it (rigrun continues after it). */
			record_kv(&c->out, "attack.running", "%s:%s", m->name, row->id);
			record_drain(&c->out);
			run_attack(row, &r, line, sizeof(line));
			kill_guest_first = false;
			obs = heki_observe(&r);
			record_kv(&c->out, key, "status=%s expected=%s observed=%s %s",
				  r.crashed ? "crashed" : r.ran ? "ran" : "not-run",
				  heki_observed_names[exp], heki_observed_names[obs], line);
			snprintf(name, sizeof(name), "attack_%s_%s", row->id, m->name);
			snprintf(why, sizeof(why), "expected %s, observed %s: %s",
				 heki_observed_names[exp], heki_observed_names[obs], line);
			check(c, (int)obs == exp, name, why);
			fflush(stdout);
		}
		/* How this mode's text_poke()s went (vmfunc: VMFUNC or a hypercall fallback). */
		if (!na)
			record_kv(&c->out, "inject.pokes", "%s text_poke_calls=%lld text_poke_window_ops=%lld "
				  "text_pokes_by_host=%lld vmfunc_switches=%lld vmfunc_fallbacks=%lld",
				  m->name, read_key(DEBUGFS_HEKI "counters", "text_poke_calls"),
				  read_key(DEBUGFS_HEKI "counters", "text_poke_hypercalls"),
				  read_key(DEBUGFS_HEKI "counters", "text_pokes_by_host"),
				  read_key(DEBUGFS_HEKI "counters", "vmfunc_switches"),
				  read_key(DEBUGFS_HEKI "counters", "vmfunc_fallbacks"));
	}
	if (!resume[0])
		check(c, ran_modes > 0, "attacks_ran_in_some_mode",
		      "no selected mode exists on this rig");
}
