// SPDX-License-Identifier: GPL-2.0
/*
 * heki-suite: runs a suite inside L2 and sends its results as framed records
 * to $HEKI_RESULTS.  Suites are rows of one table; later suites (bench,
 * attacks) are new rows.  Human-readable TAP goes to stdout (the L2
 * console); the records are what the harness trusts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#include "heki_abi.h"
#include "record.h"
#include "suite.h"

void check(struct suite_ctx *c, int ok, const char *name, const char *why)
{
	c->tests++;
	if (!ok)
		c->failed++;
	printf("%s %d %s%s%s\n", ok ? "ok" : "not ok", c->tests, name,
	       why && !ok ? " # " : "", why && !ok ? why : "");
	/* The reason travels too: CI formats (junit.xml) show it. */
	record_kv(&c->out, "check", "%s %s%s%s", name, ok ? "pass" : "fail",
		  why && !ok ? " " : "", why && !ok ? why : "");
}

void skip(struct suite_ctx *c, const char *name, const char *why)
{
	c->tests++;
	printf("ok %d %s # SKIP %s\n", c->tests, name, why);
	record_kv(&c->out, "check", "%s skip %s", name, why);
}

/*
 * Forwards each "key rest" line of a debugfs file as kv "<prefix><key>=rest";
 * calls line_cb for each so the suite can judge it.  Returns lines read or -1.
 */
static int forward_file(struct suite_ctx *c, const char *path, const char *prefix,
			void (*line_cb)(struct suite_ctx *, const char *, const char *))
{
	char line[512], key[600];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sp;

		line[strcspn(line, "\n")] = '\0';
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		snprintf(key, sizeof(key), "%s%s", prefix, line);
		record_kv(&c->out, key, "%s", sp);
		if (line_cb)
			line_cb(c, line, sp);
		n++;
	}
	fclose(f);
	return n;
}

static void judge_host(struct suite_ctx *c, const char *key, const char *val)
{
	if (!strcmp(key, "query_ret"))
		check(c, !strcmp(val, "0"), "heki_query_returns_0", val);
}

static void judge_abi_check(struct suite_ctx *c, const char *name, const char *val)
{
	char test[160];

	snprintf(test, sizeof(test), "abi_refuses_%s", name);
	check(c, !strncmp(val, "ok ", 3), test, val);
}

/*
 * "<name> ok|FAIL|skip|info <details>" lines of the guest module's
 * self-checks; info lines are figures, forwarded but not judged.
 */
static void judge_self_check(struct suite_ctx *c, const char *name, const char *val)
{
	if (!strncmp(val, "info", 4))
		return;
	if (!strncmp(val, "skip", 4)) {
		skip(c, name, val + 4);
		return;
	}
	check(c, !strncmp(val, "ok ", 3), name, val);
}

/*
 * A Heki hypercall from guest user mode, with the vendor's instruction: the
 * host must refuse it with HEKI_EPERM (and touch nothing).
 */
static long user_mode_hypercall(const char *insn, unsigned long nr)
{
	unsigned long ret = nr;

	if (!strcmp(insn, "vmmcall"))
		asm volatile("vmmcall" : "+a"(ret) : "b"(0), "c"(0), "d"(0), "S"(0) : "memory");
	else
		asm volatile("vmcall" : "+a"(ret) : "b"(0), "c"(0), "d"(0), "S"(0) : "memory");
	return (long)ret;
}

static void check_user_mode_call(struct suite_ctx *c)
{
	char insn[32] = "", line[128], why[128];
	FILE *f = fopen(DEBUGFS_HEKI "vendor", "r");
	long ret;

	if (f) {
		if (fgets(line, sizeof(line), f))
			sscanf(line, "hypercall_insn %31s", insn);
		fclose(f);
	}
	if (!insn[0]) {
		check(c, 0, "user_mode_call_refused", "cannot read " DEBUGFS_HEKI "vendor");
		return;
	}
	ret = user_mode_hypercall(insn, HEKI_HC_QUERY);
	snprintf(why, sizeof(why), "%s from CPL 3 got %ld, want %d", insn, ret,
		 -HEKI_EPERM);
	record_kv(&c->out, "user_mode_call.query", "%s ret=%ld", insn, ret);
	check(c, ret == -HEKI_EPERM, "user_mode_call_refused", why);
}

/*
 * Why mode vmfunc cannot run on this host (heki.ko's own words, debugfs
 * heki/counters "vmfunc"), or NULL when it can.  Read while heki.ko is
 * loaded.
 */
const char *vmfunc_unsupported(void)
{
	static char why[200];
	char line[256];
	FILE *f = fopen(DEBUGFS_HEKI "counters", "r");

	snprintf(why, sizeof(why), "cannot read " DEBUGFS_HEKI "counters");
	if (!f)
		return why;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "vmfunc ", 7)) {
			line[strcspn(line, "\n")] = '\0';
			fclose(f);
			if (!strcmp(line + 7, "supported"))
				return NULL;
			snprintf(why, sizeof(why), "%s", line + 7 +
				 (strncmp(line + 7, "unsupported: ", 13) ? 0 : 13));
			return why;
		}
	fclose(f);
	return why;
}

/* Why heki.ko's mode=@transport cannot run here, or NULL (heki_modes.h). */
const char *transport_unsupported(const char *transport)
{
	return !strcmp(transport, "vmfunc") ? vmfunc_unsupported() : NULL;
}

/* The number after "key " in a "key value" file, or -1. */
long long read_key(const char *path, const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ')
			v = strtoll(line + len + 1, NULL, 0);
	fclose(f);
	return v;
}

int cmdline_param(const char *name, char *val, size_t len)
{
	char cmd[4096] = "", *p;
	size_t nlen = strlen(name), n;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f)
		return -1;
	if (!fgets(cmd, sizeof(cmd), f))
		cmd[0] = '\0';
	fclose(f);
	for (p = cmd; (p = strstr(p, name)); p += nlen) {
		if ((p != cmd && p[-1] != ' ') || p[nlen] != '=')
			continue;
		p += nlen + 1;
		n = strcspn(p, " \n");
		if (n >= len)
			n = len - 1;
		memcpy(val, p, n);
		val[n] = '\0';
		return 0;
	}
	return -1;
}

int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}


long load_module(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long ret = fd < 0 ? -1 : syscall(SYS_finit_module, fd, params, 0);

	if (fd >= 0)
		close(fd);
	return ret;
}


/* Under protection and lockdown, a module loads (protected) and unloads. */
static void check_module_load(struct suite_ctx *c)
{
	long ret = load_module(TESTMOD, "");
	char why[128];

	snprintf(why, sizeof(why), "finit_module(" TESTMOD ") = %ld", ret);
	check(c, ret == 0, "module_loads_under_lockdown", why);
}

static void check_module_unload(struct suite_ctx *c)
{
	long long before = read_key(DEBUGFS_HEKI "stats", "protected_frames"), after;
	long ret = syscall(SYS_delete_module, "heki_testmod", O_NONBLOCK);
	char why[160];

	after = read_key(DEBUGFS_HEKI "stats", "protected_frames");
	snprintf(why, sizeof(why), "delete_module = %ld, protected frames %lld -> %lld",
		 ret, before, after);
	record_kv(&c->out, "module_unload.frames", "before=%lld after=%lld", before, after);
	check(c, ret == 0, "module_unloads_under_lockdown", why);
	if (read_key(DEBUGFS_HEKI "counters", "kernel_protected") != 1)
		skip(c, "module_frames_released_on_unload", "heki.ko loaded with protect=0");
	else
		check(c, ret == 0 && after >= 0 && after < before,
		      "module_frames_released_on_unload", why);
}

#define TRACING "/sys/kernel/debug/tracing/"
#define TRACE_FN "heki_trace_target"	/* in heki.ko, whose text is protected */

/* Whether a file holds @what (reads at most 64 KiB). */
static int file_has(const char *path, const char *what)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n, len = 0;

	if (fd < 0)
		return 0;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return strstr(buf, what) != NULL;
}

/*
 * The function tracer on one function and off again, under lockdown.  The
 * filter is read back before the tracer starts: an empty filter would
 * trace (and patch) every function in the kernel.
 */
static void check_ftrace(struct suite_ctx *c)
{
	int filtered, on, seen;

	if (read_key(DEBUGFS_HEKI "counters", "kernel_protected") != 1) {
		skip(c, "ftrace_function_tracer_on", "heki.ko loaded with protect=0");
		return;
	}
	filtered = !write_file(TRACING "set_ftrace_filter", TRACE_FN) &&
		   file_has(TRACING "set_ftrace_filter", TRACE_FN);
	if (!filtered) {
		check(c, 0, "ftrace_function_tracer_on", "cannot set the filter to " TRACE_FN);
		return;
	}
	on = !write_file(TRACING "trace", "") &&
	     !write_file(TRACING "current_tracer", "function") &&
	     !write_file(TRACING "tracing_on", "1");
	file_has(DEBUGFS_HEKI "trace_target", "called");
	seen = file_has(TRACING "trace", TRACE_FN);
	check(c, on && seen, "ftrace_function_tracer_on",
	      on ? TRACE_FN " not in the trace" : "cannot enable the function tracer");
	check(c, !write_file(TRACING "current_tracer", "nop") &&
	      !write_file(TRACING "set_ftrace_filter", " "),
	      "ftrace_function_tracer_off", "cannot turn the tracer off");
}

/* A BPF program is JIT-compiled (into protected memory) and runs. */
static void check_bpf(struct suite_ctx *c)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 42 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	unsigned char pkt[64] = { 0 };
	struct bpf_prog_info info = { 0 };
	union bpf_attr a;
	char why[160];
	int fd;
	long ret;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (unsigned long)prog;
	a.insn_cnt = 2;
	a.license = (unsigned long)"GPL";
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0) {
		check(c, 0, "bpf_program_loads_jitted_and_runs", "BPF_PROG_LOAD failed");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof(info);
	a.info.info = (unsigned long)&info;
	syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = fd;
	a.test.data_in = (unsigned long)pkt;
	a.test.data_size_in = sizeof(pkt);
	a.test.repeat = 1;
	ret = syscall(SYS_bpf, BPF_PROG_TEST_RUN, &a, sizeof(a));
	snprintf(why, sizeof(why), "test_run=%ld retval=%u jited_len=%u", ret,
		 a.test.retval, info.jited_prog_len);
	record_kv(&c->out, "bpf.run", "%s", why);
	check(c, ret == 0 && a.test.retval == 42 && info.jited_prog_len > 0,
	      "bpf_program_loads_jitted_and_runs", why);
	close(fd);
}

/*
 * Before lockdown, unloading heki.ko releases every protection: unload it,
 * load it with protect=0 and ask the host how many frames are still
 * protected (none), then load it again as L2's init did (lockdown=0, the
 * same mode, the same fuzz parameters).
 */
static void check_unload_releases(struct suite_ctx *c)
{
	long long before = read_key(DEBUGFS_HEKI "stats", "protected_frames"), after;
	static const char *const fuzz_params[] = {
		"fuzz_calls", "fuzz_seed", "fuzz_threads", "fuzz_log_budget",
		"fuzz_store_limit",
	};
	char why[160], mode[32] = "", params[320];
	long long flood;
	long un, ld, re;
	FILE *f;

	if (read_key(DEBUGFS_HEKI "counters", "kernel_protected") != 1 ||
	    read_key(DEBUGFS_HEKI "counters", "locked_down_at_load") != 0) {
		skip(c, "unload_before_lockdown_releases_everything",
		     "heki.ko not loaded with protect=1 lockdown=0");
		return;
	}
	/* The transport L2's init chose (heki.kmod=mode=...) comes back too. */
	f = fopen("/sys/module/heki/parameters/mode", "r");
	if (!f || !fgets(mode, sizeof(mode), f))
		snprintf(mode, sizeof(mode), "hypercall");
	if (f)
		fclose(f);
	mode[strcspn(mode, "\n")] = '\0';
	/* And the log flood's size (heki.kmod=flood_writes=...). */
	f = fopen("/sys/module/heki/parameters/flood_writes", "r");
	if (!f || fscanf(f, "%lld", &flood) != 1)
		flood = -1;
	if (f)
		fclose(f);
	snprintf(params, sizeof(params), "lockdown=0 mode=%s flood_writes=%lld", mode,
		 flood > 0 ? flood : 100000);
	/* And the fuzz's parameters L2's init passed (heki.fuzz_*=). */
	for (size_t i = 0; i < sizeof(fuzz_params) / sizeof(fuzz_params[0]); i++) {
		char path[96], val[32] = "";
		size_t len = strlen(params);

		snprintf(path, sizeof(path), "/sys/module/heki/parameters/%s", fuzz_params[i]);
		f = fopen(path, "r");
		if (f && fgets(val, sizeof(val), f)) {
			val[strcspn(val, "\n")] = '\0';
			snprintf(params + len, sizeof(params) - len, " %s=%s",
				 fuzz_params[i], val);
		}
		if (f)
			fclose(f);
	}
	un = syscall(SYS_delete_module, "heki", O_NONBLOCK);
	ld = load_module(HEKI_KO, "protect=0");
	after = read_key(DEBUGFS_HEKI "stats", "protected_frames");
	re = syscall(SYS_delete_module, "heki", O_NONBLOCK);
	re |= load_module(HEKI_KO, params);
	snprintf(why, sizeof(why), "rmmod=%ld protected frames %lld -> %lld, reload=%ld/%ld",
		 un, before, after, ld, re);
	record_kv(&c->out, "unload.before_lockdown", "%s", why);
	check(c, !un && !ld && !re && before > 0 && after == 0,
	      "unload_before_lockdown_releases_everything", why);
}

/*
 * mode=vmfunc at run time: where the host has no EPTP switching heki.ko
 * refuses it (EOPNOTSUPP) and names the reason; where it has, the mode is
 * taken and a static key still flips through it (the module's keeps_working
 * static keys are not re-run here: the mode goes back to what it was).
 */
static void check_vmfunc_mode(struct suite_ctx *c)
{
	const char *param = "/sys/module/heki/parameters/mode";
	const char *why = vmfunc_unsupported();
	char before[32] = "", reason[240];
	FILE *f = fopen(param, "r");
	int ret;

	if (f) {
		if (fgets(before, sizeof(before), f))
			before[strcspn(before, "\n")] = '\0';
		fclose(f);
	}
	ret = write_file(param, "vmfunc");
	if (why) {
		snprintf(reason, sizeof(reason), "write gave %d (errno %d), reason: %s",
			 ret, ret ? errno : 0, why);
		record_kv(&c->out, "vmfunc.mode", "unsupported reason=%s", why);
		check(c, ret && errno == EOPNOTSUPP && strstr(why, "VMFUNC"),
		      "vmfunc_mode_refused_with_reason", reason);
		return;
	}
	record_kv(&c->out, "vmfunc.mode", "supported");
	check(c, !ret, "vmfunc_mode_taken", "the host offers VMFUNC but heki.ko refused the mode");
	if (before[0])
		write_file(param, before);
}

/* After lockdown the module must stay: its hooks keep the protections valid. */
static void check_unload_refused(struct suite_ctx *c)
{
	long ret = syscall(SYS_delete_module, "heki", O_NONBLOCK);
	int err = errno;
	char why[96];

	if (read_key(DEBUGFS_HEKI "counters", "kernel_protected") != 1) {
		skip(c, "unload_refused_after_lockdown", "heki.ko loaded with protect=0");
		return;
	}
	snprintf(why, sizeof(why), "delete_module = %ld (%s)", ret, ret ? strerror(err) : "unloaded");
	/* In use: EWOULDBLOCK with O_NONBLOCK (EBUSY without). */
	check(c, ret == -1 && (err == EWOULDBLOCK || err == EBUSY),
	      "unload_refused_after_lockdown", why);
}

/* After everything: no text_poke window left open, guest- or host-side. */
static void check_no_window_open(struct suite_ctx *c)
{
	long long guest = read_key(DEBUGFS_HEKI "counters", "windows_open");
	long long host = read_key(DEBUGFS_HEKI "stats", "windows_open");
	char why[96];

	snprintf(why, sizeof(why), "guest says %lld open, host says %lld", guest, host);
	check(c, guest == 0 && host == 0, "no_write_window_left_open", why);
}

/*
 * The smoke suite: guest module self-check files, forwarded and judged, or
 * checks the suite makes itself (run), in order.  Lockdown is one-way, so
 * it comes last.
 */
static const struct self_check {
	const char *file;
	const char *prefix;	/* of the forwarded records */
	void (*judge)(struct suite_ctx *, const char *, const char *);
	void (*run)(struct suite_ctx *);
} smoke_checks[] = {
	{ "unload", NULL, NULL, check_unload_releases },
	{ "abi_check", "abi_check.", judge_abi_check, NULL },
	{ "cr_pin", "cr_pin.", judge_self_check, NULL },
	{ "protect", "protect.", judge_self_check, NULL },
	{ "exec", "exec.", judge_self_check, NULL },
	{ "batch", "batch.", judge_self_check, NULL },
	{ "window", "window.", judge_self_check, NULL },
	{ "emulated_write", "emulated_write.", judge_self_check, NULL },
	{ "user_mode_call", NULL, NULL, check_user_mode_call },
	{ "fuzz", "fuzz.", judge_self_check, NULL },
	{ "stats", "stats.", NULL, NULL },
	{ "lockdown", "lockdown.", judge_self_check, NULL },
	/* From here on the kernel runs protected and locked down. */
	{ "fuzz", "fuzz_locked.", judge_self_check, NULL },
	{ "kernel_write", "kernel_write.", judge_self_check, NULL },
	{ "keeps_working", "keeps_working.", judge_self_check, NULL },
	{ "auth", "auth.", judge_self_check, NULL },
	{ "vmfunc", NULL, NULL, check_vmfunc_mode },
	{ "module_load", NULL, NULL, check_module_load },
	{ "module_check", "module_check.", judge_self_check, NULL },
	{ "module_unload", NULL, NULL, check_module_unload },
	{ "ftrace", NULL, NULL, check_ftrace },
	{ "bpf", NULL, NULL, check_bpf },
	/* Last of the refusals: a flood of the host's violation log. */
	{ "flood", "flood.", judge_self_check, NULL },
	{ "windows_closed", NULL, NULL, check_no_window_open },
	{ "unload_refused", NULL, NULL, check_unload_refused },
	{ "stats", "stats_locked.", NULL, NULL },
	{ "counters", "counters.", NULL, NULL },
};

static void suite_smoke(struct suite_ctx *c)
{
	for (size_t i = 0; i < sizeof(smoke_checks) / sizeof(smoke_checks[0]); i++) {
		const struct self_check *sc = &smoke_checks[i];
		char path[256], name[128];
		int n;

		if (sc->run) {
			sc->run(c);
			continue;
		}
		snprintf(path, sizeof(path), DEBUGFS_HEKI "%s", sc->file);
		snprintf(name, sizeof(name), "guest_module_runs_%s", sc->file);
		n = forward_file(c, path, sc->prefix, sc->judge);
		check(c, n > 0, name, "cannot read the file");
	}
}

static const struct suite {
	const char *name;
	void (*run)(struct suite_ctx *c);
} suites[] = {
	{ "smoke", suite_smoke },
	{ "bench", suite_bench },	/* bench/bench_suite.c */
	{ "attacks", suite_attacks },	/* inject/inject_suite.c */
};

/*
 * "heki-suite cmos-get" / "heki-suite cmos-set N": one byte of the RTC's
 * CMOS RAM, which a VM reset keeps: how L2's init tells a reboot's second
 * boot from the first (the reboot-once fault).  The byte is one no
 * firmware of the rig uses.
 */
#define CMOS_REBOOT_BYTE 0x7d

static int cmos(int argc, char **argv)
{
	unsigned char idx = CMOS_REBOOT_BYTE, v;
	int fd = open("/dev/port", O_RDWR), ok;

	if (fd < 0) {
		perror("heki-suite: /dev/port");
		return 1;
	}
	ok = pwrite(fd, &idx, 1, 0x70) == 1;
	if (ok && !strcmp(argv[1], "cmos-get") && argc == 2) {
		ok = pread(fd, &v, 1, 0x71) == 1;
		if (ok)
			printf("%u\n", v);
	} else if (ok && !strcmp(argv[1], "cmos-set") && argc == 3) {
		v = (unsigned char)strtoul(argv[2], NULL, 0);
		ok = pwrite(fd, &v, 1, 0x71) == 1;
	} else if (ok) {
		fprintf(stderr, "usage: heki-suite cmos-get | cmos-set N\n");
		close(fd);
		return 2;
	}
	if (!ok)
		perror("heki-suite: CMOS through /dev/port");
	close(fd);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *out = getenv("HEKI_RESULTS");
	const char *seq = getenv("HEKI_SEQ");
	struct suite_ctx c = { 0 };
	const struct suite *s = NULL;

	if (argc >= 2 && !strncmp(argv[1], "cmos-", 5))
		return cmos(argc, argv);
	if (argc != 2 || !out) {
		fprintf(stderr, "usage: HEKI_RESULTS=DEV heki-suite SUITE\n");
		return 2;
	}
	if (record_open(&c.out, out, "l2", seq ? seq : "/tmp/heki-emit.seq")) {
		perror(out);
		return 1;
	}
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (!strcmp(suites[i].name, argv[1]))
			s = &suites[i];
	if (!s) {
		record_emit(&c.out, "fail", "suite unknown suite");
		fprintf(stderr, "heki-suite: unknown suite '%s'\n", argv[1]);
		return 2;
	}

	record_emit(&c.out, "stage", "suite");
	printf("TAP version 13\n# suite %s\n", s->name);
	/* Every suite first proves which host answers: its nonce goes to L0. */
	check(&c, forward_file(&c, DEBUGFS_HEKI "host", "heki.", judge_host) > 1,
	      "guest_module_reports_host_info", "cannot read " DEBUGFS_HEKI "host");
	s->run(&c);
	printf("1..%d\n# %d passed, %d failed\n", c.tests, c.tests - c.failed, c.failed);
	record_kv(&c.out, "suite.name", "%s", s->name);
	record_kv(&c.out, "suite.tests", "%d", c.tests);
	record_kv(&c.out, "suite.failed", "%d", c.failed);
	record_emit(&c.out, "stage", "suite-done");
	record_close(&c.out);
	return c.failed ? 1 : 0;
}
