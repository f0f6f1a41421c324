// SPDX-License-Identifier: GPL-2.0
/*
 * rigrun: boots the nested rig (L0 QEMU -> L1 host with our KVM -> L2 guest),
 * follows it stage by stage with a timeout per stage, collects the framed
 * result records of every level into results/runs/<run-id>/, and writes
 * summary.json.  `make run` calls it with the Makefile's knobs.
 *
 * Each level writes its records to a serial port of its own, which L0's
 * QEMU appends to a file in the run directory; rigrun reads those files as
 * they grow.  The files and the console logs stay in the run directory
 * whatever happens, so nothing that reached L0 is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "bench_report.h"
#include "ci_report.h"
#include "inject_report.h"
#include "inject_verdict.h"
#include "suite.h"
#include "heki_modes.h"
#include "heki_violation.h"
#include "json.h"
#include "bochs.h"
#include "forensics.h"
#include "../host/heki_abi.h"

/* ------------------------------------------------------------ options */

struct opts {
	const char *suite, *l0, *modes, *kernel, *l1_image, *l2_image;
	const char *kmod_dir, *guest_kernel, *git_rev, *results, *fault;
	const char *qemu, *rig_dir, *l2_cpu, *l2_append;
	const char *bochs_iso;	/* L0=bochs: L1's GRUB CD */
	int bochs_cpus;		/* L0=bochs: emulated CPUs (L1's vCPUs) */
	long bochs_ips;		/* L0=bochs: instructions per guest second */
	int continuation;	/* this run continues one whose guest died (depth) */
	int icount, timeout, smp, l1_mem, l2_mem;
	int icount_seed;	/* -seed under icount (default 1) */
	int stage_timeout[16];	/* per-stage overrides (--stage-timeout), 0 = none */
};

/* ------------------------------------------------------------- stages */

/*
 * The run is a sequence of stages; each ends when the level doing it sends
 * the stage record named in `until`.  Timeouts are for the 2-vCPU TCG rig;
 * ICOUNT=1 (single-threaded, instruction-counted) gets three times as long,
 * L0=bochs (an interpreter, through a BIOS) BOCHS_TIMEOUT_SCALE times.
 */
enum stage { ST_L0_BOOT, ST_KVM_LOAD, ST_L2_BOOT, ST_GUEST_MODULE, ST_SUITE,
	     ST_COLLECT, ST_NR };

static const struct stage_def {
	const char *name;	/* as reported to the user */
	const char *doing;	/* what a hang in it means */
	const char *until_src, *until;	/* record that ends it */
	const char *milestone;	/* printed when it ends */
	int timeout;		/* seconds */
} stages[ST_NR] = {
	[ST_L0_BOOT] = { "l0-boot", "L0 booting the L1 host kernel", "l1", "l1-up", "L1 up", 180 },
	[ST_KVM_LOAD] = { "kvm-load", "L1 loading our KVM modules", "l1", "kvm-loaded", "KVM loaded", 90 },
	[ST_L2_BOOT] = { "l2-boot", "L1 starting the L2 guest", "l2", "l2-up", "L2 up", 150 },
	[ST_GUEST_MODULE] = { "guest-module", "L2 loading the Heki guest module", "l2", "suite", "suite started", 90 },
	[ST_SUITE] = { "suite", "L2 running the suite", "l2", "suite-done", "suite done", 600 },
	[ST_COLLECT] = { "collect", "L2 and L1 reporting and powering off", "l1", "l1-done", "collected", 120 },
};

/* Bochs' L0 boot (BIOS, GRUB, ~70 MB through int13) alone takes 2-9 min on a busy machine. */
#define BOCHS_TIMEOUT_SCALE 6

/* --------------------------------------------------------- run state */

struct kv {
	char *key, *val;
	struct kv *next;
};

struct source {
	const char *name;	/* "l1", "l2" */
	const char *file;	/* results file in the run directory */
	int fd;
	struct frame_reader reader;
	long next_seq;
	int lost, rejected;
	struct kv *kvs, **tail;
};

static struct run {
	struct opts o;
	char dir[PATH_MAX], id[128];
	const char *l0_accel;
	struct source src[2];
	enum stage stage;
	bool seen[ST_NR];	/* stage-ending records received, in any order */
	double stage_start[ST_NR + 1], t0;
	bool failed, interrupted, level_reported;
	char fail_stage[32], error[FRAME_PAYLOAD_MAX + 64];
	/* How it failed, for the forensic record: timeout, l0-exited, reported, judged. */
	const char *fail_how;
	char monitor[108];	/* L0 QEMU's monitor socket ("" if none) */
	pid_t child;
	int child_status;
	bool child_exited;
	FILE *records;
	int nrecords;
	time_t started;
} R;

static volatile sig_atomic_t got_signal;

static bool l0_is(const char *accel)
{
	return !strcmp(R.l0_accel, accel);
}

/* Stage timeouts are for the TCG rig; slower L0s get a multiple. */
static int timeout_scale(void)
{
	return R.o.icount ? 3 : l0_is("bochs") ? BOCHS_TIMEOUT_SCALE : 1;
}

/* L1's vCPUs: one under icount (see launch_qemu), Bochs' CPUs under Bochs. */
static int l1_vcpus(void)
{
	return R.o.icount ? 1 : l0_is("bochs") ? R.o.bochs_cpus : R.o.smp;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(const char *fmt, ...)
{
	va_list ap;

	printf("[%6.1fs] ", now() - R.t0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void fail(const char *stage, const char *fmt, ...)
{
	va_list ap;

	if (R.failed)
		return;
	R.failed = true;
	if (!R.fail_how)
		R.fail_how = "judged";
	snprintf(R.fail_stage, sizeof(R.fail_stage), "%s", stage);
	va_start(ap, fmt);
	vsnprintf(R.error, sizeof(R.error), fmt, ap);
	va_end(ap);
	progress("FAILED in stage %s: %s", R.fail_stage, R.error);
}

static const char *kv_get(const struct source *s, const char *key)
{
	const char *val = NULL;

	/* Last one wins: a level may report a value again, updated. */
	for (const struct kv *k = s->kvs; k; k = k->next)
		if (!strcmp(k->key, key))
			val = k->val;
	return val;
}

/* ------------------------------------------------------- record input */

/*
 * Records from different levels race through different serial ports, so a
 * stage ends when its record has been seen, whatever arrived in between.
 */
static void advance(void)
{
	double t = now();

	while (R.stage < ST_NR && R.seen[R.stage]) {
		R.stage_start[R.stage + 1] = t;
		progress("%s (stage %s took %.1fs)", stages[R.stage].milestone,
			 stages[R.stage].name, t - R.stage_start[R.stage]);
		R.stage++;
	}
}

static void handle_record(struct source *s, const struct frame_record *rec)
{
	fprintf(R.records, "%s %lu %s %s\n", rec->src, rec->seq, rec->type,
		rec->payload);
	fflush(R.records);
	R.nrecords++;

	if (strcmp(rec->src, s->name)) {
		s->rejected++;	/* a record on the wrong channel is not trusted */
		return;
	}
	if ((long)rec->seq != s->next_seq)
		s->lost += rec->seq > (unsigned long)s->next_seq ?
			   (int)(rec->seq - (unsigned long)s->next_seq) : 0;
	s->next_seq = (long)rec->seq + 1;

	if (!strcmp(rec->type, "kv")) {
		const char *eq = strchr(rec->payload, '=');
		struct kv *k;

		if (!eq)
			return;
		k = calloc(1, sizeof(*k));
		k->key = strndup(rec->payload, (size_t)(eq - rec->payload));
		k->val = strdup(eq + 1);
		*s->tail = k;
		s->tail = &k->next;
	} else if (!strcmp(rec->type, "stage")) {
		for (int st = 0; st < ST_NR; st++)
			if (!strcmp(stages[st].until, rec->payload) &&
			    !strcmp(stages[st].until_src, s->name))
				R.seen[st] = true;
		advance();
	} else if (!strcmp(rec->type, "fail")) {
		char stage[32] = "";
		const char *msg = rec->payload;

		sscanf(rec->payload, "%31s", stage);
		msg += strlen(stage);
		while (*msg == ' ')
			msg++;
		R.level_reported = true;
		R.fail_how = "reported";
		fail(stage[0] ? stage : stages[R.stage].name, "%s reports: %s",
		     s->name == R.src[0].name ? "L1" : "L2", msg);
	}
}

static void on_line(const char *line, void *ctx)
{
	struct source *s = ctx;
	struct frame_record rec;

	switch (frame_parse(line, &rec)) {
	case FRAME_OK:
		handle_record(s, &rec);
		break;
	case FRAME_NONE:
		break;
	case FRAME_MALFORMED:
	case FRAME_BADCRC:
		s->rejected++;
		break;
	}
}

static void poll_sources(void)
{
	char buf[4096];

	for (int i = 0; i < 2; i++) {
		struct source *s = &R.src[i];
		ssize_t n;

		if (s->fd < 0) {
			char path[PATH_MAX + 32];

			snprintf(path, sizeof(path), "%s/%s", R.dir, s->file);
			s->fd = open(path, O_RDONLY | O_CLOEXEC);
			if (s->fd < 0)
				continue;
		}
		while ((n = read(s->fd, buf, sizeof(buf))) > 0)
			frame_reader_feed(&s->reader, buf, (size_t)n, on_line, s);
	}
}

/* ---------------------------------------------------------- launching */

static bool cpu_has_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) &&
		    (strstr(line, " vmx") || strstr(line, " svm")))
			found = true;
	fclose(f);
	return found;
}

static void cpu_model(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(out, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(out, len, "%s", c + 2);
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

static void command_output(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");

	snprintf(out, len, "unknown");
	if (!p)
		return;
	if (fgets(out, (int)len, p))
		out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

#define MAX_ARGS 64

static pid_t spawn(char *const argv[], const char *log)
{
	char path[PATH_MAX + 32];
	pid_t parent = getpid(), pid;

	snprintf(path, sizeof(path), "%s/%s", R.dir, log);
	pid = fork();
	if (pid == 0) {
		int fd;

		/*
		 * rigrun killed outright (SIGKILL: no handler runs) must not
		 * leave L0 running: an emulator left behind holds a core for
		 * hours.  It survives exec and unshare -rn (tested).
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(126);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* Nothing reads the terminal (Bochs' debugger would). */
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		/* Own process group, so a kill reaches QEMU and its children. */
		setpgid(0, 0);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/*
 * Without icount a guest's clock follows the host's, so a vCPU thread the
 * host does not run for 20 s (seen at load 15 on 2 cores: an L2 "soft
 * lockup" of 26 s in a loop that yields every batch, an RCU kthread
 * "starved" for 66 s) trips the kernel's 20-s lockup and 21-s RCU stall
 * detectors.  Both at their maximum, 60 s: a real hang still reports,
 * and the stage timeouts and stall dumps catch longer ones.
 */
#define GUEST_WATCHDOGS "watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=60"

/* The four serial ports of L1, in order: where L0 writes each. */
static const char *const port_files[4] = { "console-l1.log", "console-l2.log",
					   "results-l2.raw", "results-l1.raw" };

/* L1's kernel command line: @base, then the run's heki.* words. */
static void l1_cmdline(char *kappend, size_t len, const char *base)
{
	char l2_append[512] = "";

	/* One kernel-command-line word: spaces travel as commas. */
	for (size_t i = 0; R.o.l2_append && R.o.l2_append[i] && i < sizeof(l2_append) - 1; i++)
		l2_append[i] = R.o.l2_append[i] == ' ' ? ',' : R.o.l2_append[i];

	snprintf(kappend, len,
		 "%s heki.suite=%s heki.modes=%s "
		 "heki.smp=%d heki.mem=%d heki.icount=%d%s%s%s%s%s%s",
		 base, R.o.suite, R.o.modes, R.o.smp, R.o.l2_mem, R.o.icount,
		 R.o.fault ? " heki.fault=" : "", R.o.fault ?: "",
		 R.o.l2_cpu ? " heki.l2cpu=" : "", R.o.l2_cpu ?: "",
		 R.o.l2_append ? " heki.l2append=" : "", l2_append);
}

/* The exact L0 command, kept with the run for reproducing by hand. */
static void save_command(const char *name, const char *const argv[])
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", R.dir, name);
	f = fopen(path, "w");
	if (!f)
		return;
	for (int i = 0; argv[i]; i++)
		fprintf(f, "'%s'%s", argv[i], argv[i + 1] ? " " : "\n");
	fclose(f);
}

static pid_t launch_qemu(void)
{
	static char kappend[2048], mem[16], smp[16], seed[16], ser[4][PATH_MAX + 16];
	const char *argv[MAX_ARGS];
	int n = 0;
	bool kvm = !strcmp(R.l0_accel, "kvm");

	/* sysrq: a stall's dump asks L1 for its backtraces (stall_dump()). */
	l1_cmdline(kappend, sizeof(kappend),
		   "console=ttyS0 panic=-1 8250.nr_uarts=4 sysrq_always_enabled " GUEST_WATCHDOGS);
	snprintf(mem, sizeof(mem), "%d", R.o.l1_mem);
	/*
	 * QEMU 7.2 with -icount never brings up a second vCPU (the kernel
	 * hangs in "Booting SMP configuration"), so an icount L1 has one vCPU;
	 * L2 keeps --smp vCPUs, scheduled by L1.
	 */
	snprintf(smp, sizeof(smp), "%d", l1_vcpus());
	snprintf(seed, sizeof(seed), "%d", R.o.icount_seed);

	argv[n++] = R.o.qemu;
	argv[n++] = "-M";
	argv[n++] = "pc";
	if (kvm) {
		argv[n++] = "-accel";
		argv[n++] = "kvm";
		argv[n++] = "-cpu";
		argv[n++] = "host";
	} else {
		argv[n++] = "-accel";
		/* QEMU refuses MTTCG with icount. */
		argv[n++] = R.o.icount ? "tcg" : "tcg,thread=multi";
		argv[n++] = "-cpu";
		argv[n++] = "max";	/* emulated AMD SVM with nested paging */
	}
	if (R.o.icount) {
		argv[n++] = "-icount";
		argv[n++] = "shift=0,sleep=off";
		/*
		 * A fixed date, and RDRAND/RDSEED from a fixed seed: with the
		 * real date and random numbers, KASLR, text_poke's random
		 * poking address and hash seeds differ per run, and so do the
		 * instruction counts (by ~0.5% on text_poke).
		 */
		argv[n++] = "-rtc";
		argv[n++] = "base=2026-01-01T00:00:00,clock=vm";
		argv[n++] = "-seed";
		argv[n++] = seed;
	}
	argv[n++] = "-smp";
	argv[n++] = smp;
	argv[n++] = "-m";
	argv[n++] = mem;
	argv[n++] = "-nodefaults";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-no-reboot";
	argv[n++] = "-kernel";
	argv[n++] = R.o.kernel;
	argv[n++] = "-initrd";
	argv[n++] = R.o.l1_image;
	argv[n++] = "-append";
	argv[n++] = kappend;
	for (int i = 0; i < 4; i++) {
		snprintf(ser[i], sizeof(ser[i]), "file:%s/%s", R.dir, port_files[i]);
		argv[n++] = "-serial";
		argv[n++] = ser[i];
	}
	/* The monitor, for a stall's dump (a socket path holds 107 bytes). */
	if (strlen(R.dir) + sizeof("/qemu-l0.mon") <= sizeof(R.monitor)) {
		static char mon[sizeof(R.monitor) + 48];

		snprintf(R.monitor, sizeof(R.monitor), "%s/qemu-l0.mon", R.dir);
		snprintf(mon, sizeof(mon), "unix:%s,server=on,wait=off", R.monitor);
		argv[n++] = "-monitor";
		argv[n++] = mon;
	}
	argv[n] = NULL;
	save_command("qemu-l0.cmd", argv);
	return spawn((char *const *)argv, "qemu-l0.log");
}

/*
 * L0=bochs: L1 boots through Bochs' BIOS and GRUB from a CD, its command
 * line on a floppy.  Bochs' UARTs take real (guest) time per byte, so every
 * port runs at 115200 baud; its TSC ticks at ips while CPUID says 3.5 GHz,
 * hence tsc_early_khz.
 */
static pid_t launch_bochs(void)
{
	static char kappend[2048], base[256], err[1024], l2_append[1024];
	const char *argv[12];
	struct bochs_cfg c = {
		.dir = R.dir, .iso = R.o.bochs_iso, .cmdline = kappend,
		.cpus = R.o.bochs_cpus, .ips = R.o.bochs_ips, .mem_mb = R.o.l1_mem,
	};

	for (int i = 0; i < 4; i++)
		c.ports[i] = port_files[i];
	snprintf(base, sizeof(base), "console=ttyS0,115200 panic=-1 8250.nr_uarts=4 "
		 "tsc_early_khz=%ld", R.o.bochs_ips / 1000);
	/*
	 * On this model L2's kernel prints "RETBleed: WARNING: Spectre v2
	 * mitigation leaves CPU vulnerable" at boot (retpolines, no IBRS): not
	 * a kernel WARN, but L2's warning count would take it for one.  With
	 * retpolines RETBleed is unmitigated either way.
	 */
	snprintf(l2_append, sizeof(l2_append), "retbleed=off%s%s",
		 R.o.l2_append ? " " : "", R.o.l2_append ?: "");
	R.o.l2_append = l2_append;
	l1_cmdline(kappend, sizeof(kappend), base);
	if (bochs_prepare(&c, argv, err, sizeof(err))) {
		fail("l0-boot", "%s", err);
		return -1;
	}
	save_command("bochs-l0.cmd", argv);
	/* Bochs' own log is bochs-l0.log (bochsrc); this is its stdout. */
	return spawn((char *const *)argv, "bochs-l0.out");
}

/* L0=none: this machine is the host; run L1's job directly. */
static pid_t launch_bare_metal(void)
{
	static char env[8][PATH_MAX + 64], bindir[PATH_MAX];
	static char script[PATH_MAX + 16];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *argv[] = { "sh", script, NULL };

	if (n < 0) {
		fail("l0-boot", "cannot find rigrun's own path");
		return -1;
	}
	self[n] = '\0';
	snprintf(bindir, sizeof(bindir), "%s", self);
	*strrchr(bindir, '/') = '\0';
	snprintf(script, sizeof(script), "%s/l1-run.sh", R.o.rig_dir);

	snprintf(env[0], sizeof(env[0]), "HEKI_RESULTS=%s/results-l1.raw", R.dir);
	snprintf(env[1], sizeof(env[1]), "L2_CONSOLE=file:%s/console-l2.log", R.dir);
	snprintf(env[2], sizeof(env[2]), "L2_RESULTS=file:%s/results-l2.raw", R.dir);
	snprintf(env[3], sizeof(env[3]), "KMOD_DIR=%s", R.o.kmod_dir);
	snprintf(env[4], sizeof(env[4]), "L2_KERNEL=%s", R.o.kernel);
	snprintf(env[5], sizeof(env[5]), "L2_INITRD=%s", R.o.l2_image);
	snprintf(env[6], sizeof(env[6]), "HEKI_SEQ=%s/.l1.seq", R.dir);
	snprintf(env[7], sizeof(env[7]), "PATH=%s:%s", bindir, getenv("PATH") ?: "/usr/bin:/bin");
	for (int i = 0; i < 8; i++)
		putenv(env[i]);
	setenv("QEMU", R.o.qemu, 1);
	setenv("HEKI_SUITE", R.o.suite, 1);
	setenv("HEKI_MODES", R.o.modes, 1);
	setenv("HEKI_REPLACE_KVM", "1", 1);
	if (R.o.l2_cpu)
		setenv("HEKI_L2CPU", R.o.l2_cpu, 1);
	if (R.o.l2_append)
		setenv("HEKI_L2APPEND", R.o.l2_append, 1);
	if (R.o.fault)
		setenv("HEKI_FAULT", R.o.fault, 1);
	{
		char v[16];

		snprintf(v, sizeof(v), "%d", R.o.smp);
		setenv("HEKI_SMP", v, 1);
		snprintf(v, sizeof(v), "%d", R.o.l2_mem);
		setenv("HEKI_MEM", v, 1);
	}
	/* The console of "L1" is this machine's; keep the script's output. */
	return spawn(argv, "console-l1.log");
}

static void kill_child(void)
{
	if (R.child <= 0 || R.child_exited)
		return;
	kill(-R.child, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(R.child, &R.child_status, WNOHANG) == R.child) {
			R.child_exited = true;
			return;
		}
		usleep(100000);
	}
	kill(-R.child, SIGKILL);
	waitpid(R.child, &R.child_status, 0);
	R.child_exited = true;
}

/* --------------------------------------------------- stall forensics */

/*
 * Reads L0 QEMU's monitor up to its next prompt (10 s at most), into @out
 * without the first line: the monitor echoes the command, redrawn per key.
 */
static void monitor_read(int fd, FILE *out)
{
	char buf[4096], tail[8] = "";
	struct pollfd p = { .fd = fd, .events = POLLIN };
	bool echo = true;

	while (poll(&p, 1, 10000) > 0) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			return;
		for (ssize_t i = 0; i < n; i++) {
			if (out && !echo && buf[i] != '\r')
				fputc(buf[i], out);
			echo &= buf[i] != '\n';
			memmove(tail, tail + 1, 6);
			tail[6] = buf[i];
		}
		if (!strcmp(tail, "(qemu) "))
			return;
	}
}

/* Runs @cmds (NULL-terminated) on L0 QEMU's monitor; their answers go to @out. */
static int monitor_session(const char *const cmds[], FILE *out)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (!R.monitor[0])
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", R.monitor);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	monitor_read(fd, NULL);	/* the banner */
	for (int i = 0; cmds[i]; i++) {
		if (out)
			fprintf(out, "\n### %s\n", cmds[i]);
		if (write(fd, cmds[i], strlen(cmds[i])) < 0 || write(fd, "\n", 1) < 0)
			break;
		monitor_read(fd, out);
	}
	close(fd);
	return 0;
}

static long file_size_in_run(const char *name)
{
	char path[PATH_MAX + 32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", R.dir, name);
	return stat(path, &st) ? -1 : (long)st.st_size;
}

/* Whether file @path holds @needle after byte @from. */
static bool file_has(const char *path, long from, const char *needle)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (!fseek(f, from, SEEK_SET))
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/*
 * A level stalled: before the kill, what it was doing.  L0 QEMU's monitor
 * gives L1's vCPU registers (stall-l1-registers.txt); sysrq keys on L1's
 * keyboard make L1 print every CPU's backtrace (l), its blocked tasks (w)
 * and every task (t, L2's QEMU vCPU threads among them) on its console,
 * copied to stall-l1-sysrq.txt.  L2's own registers would need L1's QEMU
 * monitor: not yet.
 */
static void stall_dump(void)
{
	static const char *const regs[] = { "info registers -a", "info cpus", NULL };
	static const char *const keys[] = { "sendkey alt-sysrq-l", "sendkey alt-sysrq-w",
					    "sendkey alt-sysrq-t", NULL };
	char path[PATH_MAX + 32];
	long from, size, last = -1;
	FILE *out;

	if (!R.monitor[0] || R.child_exited || l0_is("none") || l0_is("bochs"))
		return;
	progress("stalled: L1's registers from L0's QEMU, L1's backtraces by sysrq");
	snprintf(path, sizeof(path), "%s/stall-l1-registers.txt", R.dir);
	out = fopen(path, "w");
	if (!out || monitor_session(regs, out))
		progress("cannot reach L0 QEMU's monitor %s", R.monitor);
	if (out)
		fclose(out);
	from = file_size_in_run("console-l1.log");
	if (from < 0 || monitor_session(keys, NULL))
		return;
	/*
	 * Until the last key's answer has begun and L1's console has been
	 * quiet for 3 s since (40 s at most: a loaded L1 takes its time).
	 */
	snprintf(path, sizeof(path), "%s/console-l1.log", R.dir);
	for (int i = 0, quiet = 0; i < 400 && (quiet < 30 || !file_has(path, from, "sysrq: Show State")); i++) {
		usleep(100000);
		size = file_size_in_run("console-l1.log");
		quiet = size == last ? quiet + 1 : 0;
		last = size;
	}
	{
		FILE *in = fopen(path, "r");
		char buf[8192];
		size_t n;

		snprintf(path, sizeof(path), "%s/stall-l1-sysrq.txt", R.dir);
		out = in ? fopen(path, "w") : NULL;
		if (in && out && !fseek(in, from, SEEK_SET))
			while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
				fwrite(buf, 1, n, out);
		if (out)
			fclose(out);
		if (in)
			fclose(in);
	}
}

/* ------------------------------------------------------ failure record */

static void jw_value(struct jw *w, const char *key, const char *val);

static void jw_oops(struct jw *w, const char *key, const char *file)
{
	char path[PATH_MAX + 32];
	static struct oops o;

	snprintf(path, sizeof(path), "%s/%s", R.dir, file);
	if (!forensics_oops(path, &o)) {
		jw_null(w, key);
		return;
	}
	jw_obj(w, key);
	jw_str(w, "file", file);
	jw_int(w, "line", o.line);
	jw_str(w, "headline", o.headline);
	jw_str(w, "function", o.function[0] ? o.function : NULL);
	jw_str(w, "text", o.text);
	jw_end(w);
}

static void jw_field(const char *key, const char *val, void *w)
{
	jw_str(w, key, val);
}

/*
 * The host's record of an L2 vCPU's triple fault: from the log stream
 * (heki-logfwd's "shutdown.<vm>"), else from L1's console (the host logs
 * it there too, for VMs without Heki state).  Into @line; false if none.
 */
static bool l2_shutdown(char *line, size_t len, const char **source)
{
	const struct source *l1 = &R.src[0];
	const char *rec = NULL, *p;
	char path[PATH_MAX + 32], cons[1024];

	for (const struct kv *k = l1->kvs; k; k = k->next)
		if (!strncmp(k->key, "shutdown.", 9))
			rec = k->val;
	if (rec) {
		*source = "host log stream";
		snprintf(line, len, "%s", rec);
		return true;
	}
	snprintf(path, sizeof(path), "%s/console-l1.log", R.dir);
	if (!forensics_find_line(path, "shut down (triple fault): ", cons, sizeof(cons)))
		return false;
	p = strstr(cons, "shut down (triple fault): ");
	*source = "L1 console";
	snprintf(line, len, "%s", p + strlen("shut down (triple fault): "));
	return true;
}

/*
 * summary.json "failure": what a failed run's levels left behind, for
 * people and for the retry table (rig/flakes.c): how the run failed, each
 * level's first oops with its function, RCU stalls, L2's QEMU exit, the
 * host's record of an L2 triple fault, the stall dumps.
 */
static void write_failure(struct jw *w)
{
	char line[FRAME_PAYLOAD_MAX + 1], path[PATH_MAX + 32];
	const char *source;

	if (!R.failed) {
		jw_null(w, "failure");
		return;
	}
	jw_obj(w, "failure");
	jw_str(w, "how", R.fail_how);
	jw_str(w, "stage", R.fail_stage);
	jw_value(w, "l2_qemu_exit", kv_get(&R.src[0], "l1.qemu_exit"));
	jw_oops(w, "l1_oops", "console-l1.log");
	jw_oops(w, "l2_oops", "console-l2.log");
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/console-l%d.log", R.dir, i + 1);
		jw_str(w, i ? "l2_rcu_stall" : "l1_rcu_stall",
		       forensics_find_line(path, "rcu: INFO: ", line, sizeof(line)) ? line : NULL);
	}
	if (l2_shutdown(line, sizeof(line), &source)) {
		jw_obj(w, "l2_shutdown");
		jw_str(w, "source", source);
		forensics_fields(line, jw_field, w);
		jw_end(w);
	} else {
		jw_null(w, "l2_shutdown");
	}
	jw_arr(w, "stall_dumps");
	if (file_size_in_run("stall-l1-registers.txt") > 0)
		jw_str(w, NULL, "stall-l1-registers.txt");
	if (file_size_in_run("stall-l1-sysrq.txt") > 0)
		jw_str(w, NULL, "stall-l1-sysrq.txt");
	jw_end(w);
	jw_end(w);
}

/* ------------------------------------------------------------ summary */

static const struct { __u64 bit; const char *name; } feature_names[] = {
	{ HEKI_FEAT_QUERY, "query" },
	{ HEKI_FEAT_CR_PIN, "cr_pin" },
	{ HEKI_FEAT_PROTECT, "protect" },
	{ HEKI_FEAT_BATCH, "batch" },
	{ HEKI_FEAT_WINDOW, "window" },
	{ HEKI_FEAT_LOCKDOWN, "lockdown" },
	{ HEKI_FEAT_STATS, "stats" },
	{ HEKI_FEAT_REPORT, "report" },
	{ HEKI_FEAT_VIEW, "view" },
	{ HEKI_FEAT_AUTH, "auth" },
	{ HEKI_FEAT_VMFUNC, "vmfunc" },
};

static const char *vendor_name(const char *v)
{
	if (!v)
		return NULL;
	switch (atoi(v)) {
	case HEKI_VENDOR_AMD_SVM: return "amd-svm";
	case HEKI_VENDOR_INTEL_VMX: return "intel-vmx";
	default: return "unknown";
	}
}

/* Decimal integers become JSON numbers; everything else stays a string. */
static void jw_value(struct jw *w, const char *key, const char *val)
{
	char *end;
	long long v;

	if (!val) {
		jw_null(w, key);
		return;
	}
	v = strtoll(val, &end, 10);
	if (*val && !*end && (val[0] != '0' || !val[1]) && strlen(val) < 19)
		jw_int(w, key, v);
	else
		jw_str(w, key, val);
}

static void write_kvs(struct jw *w, const char *key, const struct source *s,
		      const char *prefix)
{
	size_t plen = strlen(prefix);

	jw_obj(w, key);
	for (const struct kv *k = s->kvs; k; k = k->next)
		if (!strncmp(k->key, prefix, plen) && kv_get(s, k->key) == k->val)
			jw_value(w, k->key + plen, k->val);
	jw_end(w);
}

/* Violation records of VM @id ("vm_id=<id>") that reached L0. */
static long long vm_records(const struct source *l1, const char *id)
{
	long long count = 0;

	for (const struct kv *v = l1->kvs; v; v = v->next)
		if (!strncmp(v->key, "violation.", 10) &&
		    heki_viol_is(v->val, HEKI_VKEY(vm_id), id))
			count++;
	return count;
}

/*
 * Whether the host's log is fully accounted for: the forwarder ended
 * well, saw every VM end, and for each VM the records that reached L0
 * plus those the host dropped are its violation count.  A run without a
 * forwarder (a level that failed earlier) is judged by its other failures.
 */
static bool vm_logs_add_up(const struct source *l1, char *why, size_t len)
{
	const char *fwd = kv_get(l1, "l1.logfwd_exit");

	if (!fwd)
		return true;
	if (strcmp(fwd, "0") || strcmp(kv_get(l1, "logfwd.vms_open") ?: "", "0")) {
		snprintf(why, len, "heki-logfwd exited %s with %s VM(s) not ended", fwd,
			 kv_get(l1, "logfwd.vms_open") ?: "?");
		return false;
	}
	for (const struct kv *k = l1->kvs; k; k = k->next) {
		long long delivered, dropped, violations;

		if (strncmp(k->key, "vmlog.", 6))
			continue;
		delivered = vm_records(l1, k->key + 6);
		dropped = heki_viol_num(k->val, HEKI_VKEY(dropped), -1);
		violations = heki_viol_num(k->val, HEKI_VKEY(violations), -1);
		if (delivered + dropped != violations) {
			snprintf(why, len, "VM %s: %lld records reached L0 + %lld dropped != %lld violations",
				 k->key + 6, delivered, dropped, violations);
			return false;
		}
	}
	return true;
}

/*
 * heki.log: each VM's final accounting as the host's stream ended it
 * ("vmlog.<id>" from heki-logfwd), with the records of that VM that
 * reached L0: delivered + dropped must equal the VM's violation count.
 * heki.log_forwarder: what the forwarder itself says.
 */
static void write_vm_logs(struct jw *w, const struct source *l1)
{
	jw_arr(w, "log");
	for (const struct kv *k = l1->kvs; k; k = k->next) {
		char line[FRAME_PAYLOAD_MAX + 1], *tok, *save = NULL;
		long long delivered = 0;
		const char *id;

		if (strncmp(k->key, "vmlog.", 6))
			continue;
		id = k->key + 6;
		delivered = vm_records(l1, id);
		snprintf(line, sizeof(line), "%s", k->val);
		jw_obj(w, NULL);
		jw_int(w, "delivered", delivered);
		jw_obj(w, "kinds");
		/* Per kind "offered/logged/dropped"; the totals go after. */
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(tok, '='), *sl;

			if (!eq || !(sl = strchr(eq, '/')))
				continue;
			*eq = '\0';
			jw_obj(w, tok);
			jw_int(w, "offered", strtoll(eq + 1, NULL, 10));
			jw_int(w, "logged", strtoll(sl + 1, NULL, 10));
			jw_int(w, "dropped", strtoll(strchr(sl + 1, '/') ? strchr(sl + 1, '/') + 1 : "0", NULL, 10));
			jw_end(w);
		}
		jw_end(w);
		snprintf(line, sizeof(line), "%s", k->val);
		save = NULL;
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(tok, '=');

			if (!eq || strchr(eq, '/'))
				continue;
			*eq = '\0';
			jw_int(w, tok, strtoll(eq + 1, NULL, 10));
		}
		jw_end(w);
	}
	jw_end(w);
	jw_obj(w, "log_forwarder");
	jw_value(w, "records", kv_get(l1, "logfwd.records"));
	jw_value(w, "vms_open", kv_get(l1, "logfwd.vms_open"));
	jw_value(w, "exit", kv_get(l1, "l1.logfwd_exit"));
	jw_str(w, "minivm", kv_get(l1, "l1.minivm"));
	jw_end(w);
	/*
	 * The host as a VMM meets it: heki-minivm's checks, views with
	 * kvm.tdp_mmu=0, L2's migration (--fault migrate-locked).
	 */
	jw_obj(w, "vmm");
	/* vm_pid of L2's records; heki-minivm's VMs have others. */
	jw_value(w, "l2_qemu_pid", kv_get(l1, "l1.l2_qemu_pid"));
	jw_str(w, "host_checks", kv_get(l1, "l1.host_checks"));
	jw_str(w, "views_tdp_mmu_off", kv_get(l1, "l1.views_tdp_mmu_off"));
	jw_str(w, "migrate", kv_get(l1, "l1.migrate"));
	jw_end(w);
}

/*
 * After a failure: the first sign of a crashed kernel in a console log, so
 * the error says "L1 panicked" instead of only "QEMU exited".
 */
/* First crash sign in a console log, as "file:line: text"; false if none. */
static bool console_crash(const char *file, char *out, size_t len)
{
	static const char *const signs[] = { "Kernel panic", "BUG:", "Oops:",
					     "general protection fault" };
	char path[PATH_MAX + 32], line[512];
	int lineno = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", R.dir, file);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]); i++) {
			char *hit = strstr(line, signs[i]);

			if (!hit)
				continue;
			hit[strcspn(hit, "\r\n")] = '\0';
			snprintf(out, len, "%s:%d: %s", file, lineno, hit);
			fclose(f);
			return true;
		}
		/* Any other die() ("Bad pagetable: 000b [#1]", ...). */
		if (forensics_crash_line(line)) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(out, len, "%s:%d: %s", file, lineno, line);
			fclose(f);
			return true;
		}
	}
	fclose(f);
	return false;
}

static void console_diagnosis(const char *file, const char *level)
{
	size_t len = strlen(R.error);
	char where[600];

	if (console_crash(file, where, sizeof(where)))
		snprintf(R.error + len, sizeof(R.error) - len,
			 "; the %s kernel crashed (%s)", level, where);
}

static void judge(void)
{
	struct source *l1 = &R.src[0], *l2 = &R.src[1];
	const char *n1, *n2, *failed;

	if (R.failed)
		return;
	failed = kv_get(l2, "suite.failed");
	if (!failed) {
		fail("suite", "L2 sent no suite result");
		return;
	}
	if (strcmp(failed, "0")) {
		fail("suite", "%s of %s suite checks failed (see records.txt, console-l2.log)",
		     failed, kv_get(l2, "suite.tests") ?: "?");
		return;
	}
	/* The proof of the chain: the guest learnt the host's secret by hypercall. */
	n1 = kv_get(l1, "host.host_nonce");
	n2 = kv_get(l2, "heki.host_nonce");
	if (!n1 || !n2 || strcmp(n1, n2)) {
		fail("suite", "the guest's hypercall answer (nonce %s) does not match our host's (%s)",
		     n2 ?: "none", n1 ?: "none");
		return;
	}
	for (int i = 0; i < 2; i++) {
		const char *wn = kv_get(&R.src[i], i ? "l2.kernel_warnings" : "l1.kernel_warnings");

		if (!wn || strcmp(wn, "0")) {
			fail("collect", "%s kernel logged %s warning/BUG/Oops line(s) (see console-%s.log)",
			     i ? "the L2 guest" : "the L1 host", wn ?: "an unknown number of",
			     R.src[i].name);
			return;
		}
	}
	if (l1->lost || l2->lost) {
		fail("collect", "%d result records were lost in transit",
		     l1->lost + l2->lost);
		return;
	}
	{
		char why[256];

		if (!vm_logs_add_up(l1, why, sizeof(why))) {
			fail("collect", "the host's violation log: %s", why);
			return;
		}
	}
	/* A kernel that dies after reporting (at poweroff, say) is a failure too. */
	for (int i = 0; i < 2; i++) {
		char where[600];

		if (console_crash(i ? "console-l2.log" : "console-l1.log", where,
				  sizeof(where))) {
			fail("collect", "the %s kernel crashed after its results were sent (%s)",
			     i ? "L2" : "L1", where);
			return;
		}
	}
}

static void write_summary(void)
{
	struct source *l1 = &R.src[0], *l2 = &R.src[1];
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32], cpu[256], qver[256], ts[64];
	char bochs_time_base[160];
	const char *feat = kv_get(l2, "heki.features");
	const char *n1 = kv_get(l1, "host.host_nonce"), *n2 = kv_get(l2, "heki.host_nonce");
	struct utsname u;
	struct jw w;
	FILE *f;

	snprintf(path, sizeof(path), "%s/summary.json", R.dir);
	snprintf(tmp, sizeof(tmp), "%s/.summary.json.tmp", R.dir);
	f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		return;
	}
	uname(&u);
	cpu_model(cpu, sizeof(cpu));
	if (l0_is("bochs")) {
		bochs_version(qver, sizeof(qver));
	} else {
		char cmd[PATH_MAX + 32];

		snprintf(cmd, sizeof(cmd), "'%s' --version 2>/dev/null", R.o.qemu);
		command_output(cmd, qver, sizeof(qver));
	}
	snprintf(bochs_time_base, sizeof(bochs_time_base),
		 "instructions (Bochs, ips=%ld: 1 guest s = %ld instructions, "
		 "clock sync=none: guest time counts instructions)", R.o.bochs_ips, R.o.bochs_ips);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&R.started));

	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_int(&w, "schema_version", 1);
	jw_str(&w, "run_id", R.id);
	jw_str(&w, "suite", R.o.suite);
	jw_str(&w, "modes", R.o.modes);
	jw_str(&w, "status", R.interrupted ? "interrupted" : R.failed ? "failed" : "ok");
	jw_str(&w, "failed_stage", R.failed ? R.fail_stage : NULL);
	jw_str(&w, "error", R.failed ? R.error : NULL);
	jw_str(&w, "started", ts);
	jw_num(&w, "duration_s", now() - R.t0);
	write_failure(&w);

	jw_arr(&w, "stages");
	for (int st = 0; st < ST_NR; st++) {
		jw_obj(&w, NULL);
		jw_str(&w, "name", stages[st].name);
		if ((enum stage)st < R.stage) {
			jw_str(&w, "status", "done");
			jw_num(&w, "seconds", R.stage_start[st + 1] - R.stage_start[st]);
		} else if ((enum stage)st == R.stage && R.stage < ST_NR) {
			jw_str(&w, "status", R.failed ? "failed" : "done");
			jw_num(&w, "seconds", now() - R.stage_start[st]);
		} else {
			jw_str(&w, "status", "not reached");
		}
		jw_end(&w);
	}
	jw_end(&w);

	jw_obj(&w, "rig");
	jw_str(&w, "shape", l0_is("none") ? "L1 bare metal -> L2" :
	       l0_is("bochs") ? "L0 bochs -> L1 host (our KVM) -> L2 guest" :
	       "L0 qemu -> L1 host (our KVM) -> L2 guest");
	jw_str(&w, "l0_accel", R.l0_accel);
	jw_bool(&w, "icount", R.o.icount);
	if (R.o.icount)
		jw_int(&w, "icount_seed", R.o.icount_seed);
	jw_str(&w, "time_base", R.o.icount ? "instructions (icount shift=0: 1 ns = 1 instruction)" :
	       !strcmp(R.l0_accel, "tcg") ? "wall clock under TCG emulation: not hardware figures" :
	       l0_is("bochs") ? bochs_time_base : "wall clock");
	jw_str(&w, "l0_cpu", cpu);
	jw_str(&w, "l0_kernel", u.release);
	jw_str(&w, "l0_qemu", l0_is("bochs") ? NULL : qver);
	if (l0_is("bochs")) {
		jw_str(&w, "l0_bochs", qver);
		jw_str(&w, "l0_bochs_cpu", BOCHS_CPU_MODEL);
		jw_int(&w, "l0_bochs_ips", R.o.bochs_ips);
	}
	jw_str(&w, "host_kernel", kv_get(l1, "env.kernel"));
	jw_str(&w, "host_cpu", kv_get(l1, "env.cpu"));
	jw_str(&w, "host_virt", kv_get(l1, "env.virt"));
	jw_str(&w, "guest_kernel", kv_get(l2, "env.kernel"));
	/* The bench's ns are TSC cycles scaled by it (not under icount). */
	jw_str(&w, "guest_tsc_khz", kv_get(l2, "env.tsc_khz"));
	jw_str(&w, "guest_kernel_built_for", R.o.guest_kernel);
	jw_int(&w, "l1_vcpus", l1_vcpus());
	jw_int(&w, "l2_vcpus", R.o.smp);
	jw_str(&w, "git_rev", R.o.git_rev);
	jw_end(&w);

	jw_obj(&w, "heki");
	jw_str(&w, "abi_version", kv_get(l2, "heki.abi_version"));
	{
		char guest_abi[32];

		snprintf(guest_abi, sizeof(guest_abi), "%u.%u", HEKI_ABI_VERSION_MAJOR,
			 HEKI_ABI_VERSION_MINOR);
		jw_str(&w, "abi_version_tools", guest_abi);
	}
	if (feat) {
		unsigned long long bits = strtoull(feat, NULL, 0);

		jw_int(&w, "host_features", (long long)bits);
		jw_arr(&w, "host_feature_names");
		for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
			if (bits & feature_names[i].bit)
				jw_str(&w, NULL, feature_names[i].name);
		jw_end(&w);
	} else {
		jw_null(&w, "host_features");
	}
	jw_str(&w, "host_vendor", vendor_name(kv_get(l2, "heki.vendor")));
	jw_str(&w, "host_nonce_from_guest", n2);
	jw_str(&w, "host_nonce_from_host", n1);
	jw_bool(&w, "answered_by_our_host", n1 && n2 && !strcmp(n1, n2));
	write_kvs(&w, "host_counters", l1, "host_after.");
	{
		/* The guest module's self-checks, one object per check file. */
		static const char *const groups[][2] = {
			{ "abi_checks", "abi_check." }, { "cr_pin", "cr_pin." },
			{ "protect", "protect." }, { "exec", "exec." },
			{ "batch", "batch." }, { "window", "window." },
			{ "emulated_write", "emulated_write." },
			{ "user_mode_call", "user_mode_call." },
			{ "fuzz", "fuzz." }, { "fuzz_locked", "fuzz_locked." },
			{ "lockdown", "lockdown." },
			{ "guest_stats", "stats." },
			{ "guest_stats_after_lockdown", "stats_locked." },
			{ "guest_counters", "counters." },
			{ "kernel_write", "kernel_write." },
			{ "keeps_working", "keeps_working." },
			{ "auth", "auth." },
			{ "vmfunc", "vmfunc." },
			{ "module_check", "module_check." },
			{ "module_unload", "module_unload." },
			{ "bpf", "bpf." },
			{ "flood", "flood." },
			{ "reboot", "reboot." },
		};

		for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
			write_kvs(&w, groups[i][0], l2, groups[i][1]);
	}
	/* The host's log, as L1 forwarded it while the VMs ran. */
	jw_arr(&w, "violations");
	for (const struct kv *k = l1->kvs; k; k = k->next) {
		char key[64], val[FRAME_PAYLOAD_MAX + 1];
		const char *p = k->val;

		if (strncmp(k->key, "violation.", 10))
			continue;
		/* "k=v k=v ..." -> { "k": "v", ... } */
		jw_obj(&w, NULL);
		while (heki_viol_next(&p, key, sizeof(key), val, sizeof(val)))
			jw_str(&w, key, val);
		jw_end(&w);
	}
	jw_end(&w);
	write_vm_logs(&w, l1);
	jw_end(&w);

	jw_obj(&w, "suite_result");
	jw_str(&w, "name", kv_get(l2, "suite.name"));
	jw_value(&w, "tests", kv_get(l2, "suite.tests"));
	jw_value(&w, "failed", kv_get(l2, "suite.failed"));
	jw_arr(&w, "checks");
	for (const struct kv *k = l2->kvs; k; k = k->next) {
		char name[256], res[16];

		if (strcmp(k->key, "check") || sscanf(k->val, "%255s %15s", name, res) != 2)
			continue;
		jw_obj(&w, NULL);
		jw_str(&w, "name", name);
		jw_str(&w, "result", res);
		jw_end(&w);
	}
	jw_end(&w);
	jw_end(&w);

	jw_obj(&w, "health");
	jw_value(&w, "l1_kernel_warnings", kv_get(l1, "l1.kernel_warnings"));
	jw_value(&w, "l2_kernel_warnings", kv_get(l2, "l2.kernel_warnings"));
	jw_value(&w, "l2_qemu_exit", kv_get(l1, "l1.qemu_exit"));
	jw_end(&w);

	jw_obj(&w, "transport");
	jw_int(&w, "records", R.nrecords);
	jw_int(&w, "lost_records", l1->lost + l2->lost);
	jw_int(&w, "rejected_lines", l1->rejected + l2->rejected);
	jw_end(&w);

	jw_obj(&w, "files");
	jw_str(&w, "console_l1", "console-l1.log");
	jw_str(&w, "console_l2", "console-l2.log");
	jw_str(&w, "records", "records.txt");
	if (l0_is("bochs")) {
		jw_str(&w, "bochs_l0_log", "bochs-l0.log");
		jw_str(&w, "bochs_l0_config", "bochsrc");
	} else {
		jw_str(&w, "qemu_l0_log", "qemu-l0.log");
	}
	jw_str(&w, "tap", "results.tap");
	jw_str(&w, "junit", "junit.xml");
	jw_end(&w);
	jw_end(&w);

	if (fclose(f) || rename(tmp, path))
		perror(path);
}

/* The environment bench.json and inject.json carry (their "rig"). */
static struct run_env run_env(void)
{
	static char cpu[256];

	cpu_model(cpu, sizeof(cpu));
	return (struct run_env){
		.run_id = R.id, .l0_accel = R.l0_accel, .icount = R.o.icount,
		.l0_cpu = cpu, .git_rev = R.o.git_rev,
		.host_kernel = kv_get(&R.src[0], "env.kernel"),
		.guest_kernel = kv_get(&R.src[1], "env.kernel"),
	};
}

/*
 * The attacks suite across dead guests.  A guest that dies during an
 * attack (panic, hang, reset) costs that cell only: it is recorded as
 * "crashed", and a fresh rig run (rigrun again, with --attack-resume-after)
 * takes the cells after it.  Each attacks run leaves inject.kv, its cells
 * and host log from every part ("kv PART KEY=VAL", "viol PART LINE",
 * "run PART ID"), so a run merges its continuation's parts after its own.
 */
#define MAX_CONTINUATIONS 4

static int g_argc;
static char **g_argv;

struct inject_data {
	struct inject_kv *kvs;
	struct inject_viol *viol;
	int n, nv, cap, vcap;
	const char *part_run[INJECT_MAX_PARTS];
};

static void add_kv(struct inject_data *d, const char *key, const char *val, int part)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 256;
		d->kvs = realloc(d->kvs, d->cap * sizeof(*d->kvs));
	}
	if (d->kvs)
		d->kvs[d->n++] = (struct inject_kv){ key, val, part };
}

static void add_viol(struct inject_data *d, const char *line, int part)
{
	if (d->nv == d->vcap) {
		d->vcap = d->vcap ? 2 * d->vcap : 256;
		d->viol = realloc(d->viol, d->vcap * sizeof(*d->viol));
	}
	if (d->viol)
		d->viol[d->nv++] = (struct inject_viol){ line, part };
}

/*
 * A continuation's inject.kv, its parts shifted after ours; returns the
 * cells it brought (0: its guest never got to run an attack).
 */
static int read_continuation(struct inject_data *d, const char *dir, int shift)
{
	char path[PATH_MAX + 16], *line = NULL;
	size_t cap = 0;
	int cells = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/inject.kv", dir);
	f = fopen(path, "r");
	if (!f) {
		progress("the continuation left no %s", path);
		return 0;
	}
	while (getline(&line, &cap, f) > 0) {
		char kind[8], *rest, *eq;
		int part, off = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%7s %d %n", kind, &part, &off) != 2 || !off ||
		    part + shift >= INJECT_MAX_PARTS)
			continue;
		rest = strdup(line + off);	/* lives until rigrun exits */
		if (!rest)
			continue;
		if (!strcmp(kind, "kv") && (eq = strchr(rest, '='))) {
			*eq = '\0';
			add_kv(d, rest, eq + 1, part + shift);
			cells += !strncmp(rest, "attack.", 7);
		} else if (!strcmp(kind, "viol")) {
			add_viol(d, rest, part + shift);
		} else if (!strcmp(kind, "run")) {
			d->part_run[part + shift] = rest;
		}
	}
	free(line);
	fclose(f);
	return cells;
}

/* Runs rigrun again for the cells after @cell; returns its run dir or NULL. */
static const char *continue_after(const char *cell, int depth)
{
	static char dir[PATH_MAX];
	char after[160], dep[16], link[PATH_MAX], target[PATH_MAX - 512];
	char **argv = calloc(g_argc + 8, sizeof(*argv));
	int n = 0, status;
	ssize_t len;
	pid_t pid;

	if (!argv)
		return NULL;
	for (int i = 0; i < g_argc; i++) {
		/* The continuation must not repeat a fault, nor an earlier resume point. */
		if (i + 1 < g_argc && (!strcmp(g_argv[i], "--fault") ||
				       !strcmp(g_argv[i], "--attack-resume-after") ||
				       !strcmp(g_argv[i], "--continuation"))) {
			i++;
			continue;
		}
		argv[n++] = g_argv[i];
	}
	snprintf(after, sizeof(after), "%s", cell);
	snprintf(dep, sizeof(dep), "%d", depth + 1);
	argv[n++] = "--attack-resume-after";
	argv[n++] = after;
	argv[n++] = "--continuation";
	argv[n++] = dep;
	argv[n] = NULL;
	progress("the guest died in attack %s: a fresh rig takes the attacks after it", cell);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	free(argv);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return NULL;
	/* The continuation pointed results/latest at its own run directory. */
	snprintf(link, sizeof(link), "%s/latest", R.o.results);
	len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0)
		return NULL;
	target[len] = '\0';
	snprintf(dir, sizeof(dir), "%.256s/%s", R.o.results, target);
	return strstr(dir, R.id) ? NULL : dir;
}

/*
 * The attacks suite's records as inject.json and a matrix; returns the
 * cells where observed differs from expected (or lacks the host's record).
 */
static int write_inject(void)
{
	struct source *l1 = &R.src[0], *l2 = &R.src[1];
	struct inject_env env = { .run = run_env() };
	const char *running = kv_get(l2, "attack.running");
	struct inject_data d = { 0 };
	char path[PATH_MAX + 16], key[160];
	static char crashed_val[1600];
	int mismatches = 0, running_mode = -1;
	FILE *f;

	for (const struct kv *k = l2->kvs; k; k = k->next)
		if (!strncmp(k->key, "attack.", 7) && strcmp(k->key, "attack.running"))
			add_kv(&d, k->key, k->val, 0);
		else if (!strcmp(k->key, "inject.mode"))
			add_kv(&d, k->key, k->val, 0);
	for (const struct kv *k = l1->kvs; k; k = k->next)
		if (!strncmp(k->key, "violation.", 10))
			add_viol(&d, k->val, 0);

	/*
	 * The cell that was running when the guest died has no result of its
	 * own.  The record comes from the guest: a cell we do not know (no
	 * MODE:ID of the catalogue) continues nothing.
	 */
	snprintf(key, sizeof(key), "attack.%s", running ?: "");
	if (running && strchr(key, ':'))
		*strchr(key, ':') = '.';
	else
		running = NULL;
	if (running && !heki_attack_find(strchr(key + 7, '.') + 1))
		running = NULL;
	if (running) {
		char mode[64];

		snprintf(mode, sizeof(mode), "%.*s", (int)(strchr(running, ':') - running), running);
		running_mode = heki_mode_find(mode);
		if (running_mode < 0)
			running = NULL;
	}
	if (R.failed && !R.interrupted && running && !kv_get(l2, key)) {
		const struct heki_attack_row *row = heki_attack_find(strchr(key + 7, '.') + 1);
		static const char *const outs[] = { HEKI_OUTCOME_NAMES };
		const char *exp = row ? outs[row->expected[running_mode]] : "missed";
		const char *dir;

		snprintf(crashed_val, sizeof(crashed_val),
			 "status=crashed expected=%s observed=crashed the guest died during this attack (%s; see console-l2.log of %s)",
			 exp, R.error, R.id);
		add_kv(&d, strdup(key), crashed_val, 0);
		/* A fresh rig that never got to run an attack (a boot stall) is tried again. */
		for (int tries = 0; tries < 3 && R.o.continuation < MAX_CONTINUATIONS; tries++)
			if ((dir = continue_after(running, R.o.continuation)) &&
			    read_continuation(&d, dir, 1))
				break;
	}
	for (int p = 1; p < INJECT_MAX_PARTS; p++)
		env.part_run[p] = d.part_run[p];

	/* Our view of every part, for the run this one continues (if any). */
	snprintf(path, sizeof(path), "%s/inject.kv", R.dir);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "run 0 %s\n", R.id);
		for (int p = 1; p < INJECT_MAX_PARTS; p++)
			if (d.part_run[p])
				fprintf(f, "run %d %s\n", p, d.part_run[p]);
		for (int i = 0; i < d.n; i++)
			fprintf(f, "kv %d %s=%s\n", d.kvs[i].part, d.kvs[i].key, d.kvs[i].val);
		for (int i = 0; i < d.nv; i++)
			fprintf(f, "viol %d %s\n", d.viol[i].part, d.viol[i].line);
		fclose(f);
	}
	if (d.n && inject_report(R.dir, &env, d.kvs, d.n, d.viol, d.nv, stdout, &mismatches) < 0)
		progress("cannot write inject.json in %s", R.dir);
	free(d.kvs);
	free(d.viol);
	return mismatches;
}

/*
 * results.tap and junit.xml: the run itself (did every stage end?) and each
 * check the suite reported, with its reason when it failed or skipped.
 */
static void write_ci(void)
{
	struct source *l2 = &R.src[1];
	struct ci_case *cases;
	char run_msg[1200];
	int n = 1;

	for (const struct kv *k = l2->kvs; k; k = k->next)
		n += !strcmp(k->key, "check");
	cases = calloc(n, sizeof(*cases));
	if (!cases)
		return;
	snprintf(run_msg, sizeof(run_msg), "stage %s: %s", R.fail_stage, R.error);
	cases[0] = (struct ci_case){ "rig", "run", R.failed ? "fail" : "pass",
				     R.failed ? run_msg : NULL };
	n = 1;
	for (const struct kv *k = l2->kvs; k; k = k->next) {
		char *v, *sp, *res;

		if (strcmp(k->key, "check") || !(v = strdup(k->val)))
			continue;
		sp = strchr(v, ' ');
		if (!sp) {
			free(v);
			continue;
		}
		*sp++ = '\0';
		res = sp;
		sp = strchr(res, ' ');
		if (sp)
			*sp++ = '\0';
		/* The strings live until the end: rigrun exits right after. */
		cases[n++] = (struct ci_case){ R.o.suite, v, res, sp };
	}
	if (ci_report(R.dir, R.o.suite, cases, n))
		progress("cannot write results.tap/junit.xml in %s: %s", R.dir, strerror(errno));
	free(cases);
}

/* The bench suite's records as bench.json, bench.csv and a table. */
static void write_bench(void)
{
	struct source *l2 = &R.src[1];
	struct bench_kv *kvs;
	struct bench_env env = {
		.run = run_env(),
		.iterations = kv_get(l2, "bench.iterations"),
		.counters = kv_get(l2, "bench.counters"),
	};
	int n = 0;

	for (const struct kv *k = l2->kvs; k; k = k->next)
		n++;
	kvs = calloc(n ? n : 1, sizeof(*kvs));
	if (!kvs)
		return;
	n = 0;
	for (const struct kv *k = l2->kvs; k; k = k->next)
		if (!strncmp(k->key, "bench.", 6))
			kvs[n++] = (struct bench_kv){ k->key, k->val };
	if (n && bench_report(R.dir, &env, kvs, n, stdout) < 0)
		progress("cannot write bench.json/bench.csv in %s", R.dir);
	free(kvs);
}

/* --------------------------------------------------------------- main */

static void on_signal(int sig)
{
	got_signal = sig;
}

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "rigrun: %s\n", msg);
	fprintf(stderr,
		"usage: rigrun --kernel VMLINUZ --l1-image CPIO --l2-image CPIO.GZ\n"
		"              --kmod-dir DIR --guest-kernel KVER [--suite smoke]\n"
		"              [--l0 auto|tcg|kvm|bochs|none] [--icount 0|1] [--icount-seed N]\n"
		"              [--modes LIST]\n"
		"              [--timeout SECONDS] [--smp N] [--git-rev REV]\n"
		"              [--results DIR] [--fault NAME] [--qemu PATH]\n"
		"              [--rig-dir DIR (where l1-run.sh is, for --l0 none)]\n"
		"              [--stage-timeout STAGE=SECONDS]...\n"
		"              [--l2-cpu QEMU_CPU] [--l2-append 'KERNEL ARGS']\n"
		"              [--bochs-iso ISO] [--bochs-cpus N] [--bochs-ips N] (L0=bochs)\n"
		"              [--attack ID[,ID...]] [--attack-mode MODE[,MODE...]] (suite attacks)\n"
		"              [--attack-resume-after MODE:ID --continuation N] (set by rigrun itself)\n"
		"              [--dry-run 1] (check the options, print L1's heki.* words, exit)\n"
		"       rigrun --list-attacks\n");
	return 2;
}

static int parse_int(const char *s, const char *what, int lo, int hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < lo || v > hi) {
		fprintf(stderr, "rigrun: %s must be an integer in [%d, %d], not '%s'\n",
			what, lo, hi, s);
		exit(2);
	}
	return (int)v;
}

/* The catalogue of the attacks suite, for inject/run --list. */
static void list_attacks(void)
{
	static const char *const names[] = { HEKI_OUTCOME_NAMES };

	int w[HEKI_NR_MODES];

	printf("%-26s %-6s", "attack", "family");
	for (int m = 0; m < HEKI_NR_MODES; m++) {
		w[m] = (int)strlen(heki_modes[m].name) < 10 ? 10 : (int)strlen(heki_modes[m].name) + 1;
		printf(" %-*s", w[m], heki_modes[m].name);
	}
	printf(" %s\n", "description");
	for (size_t i = 0; i < HEKI_NR_ATTACKS; i++) {
		const struct heki_attack_row *r = &heki_attack_rows[i];

		printf("%-26s %-6s", r->id, r->family);
		for (int m = 0; m < HEKI_NR_MODES; m++)
			printf(" %-*s", w[m], names[r->expected[m]]);
		printf(" %s\n", r->description);
	}
	printf("(expected outcomes; vmfunc runs only where the host offers EPTP switching, Intel VMX)\n");
}

/*
 * --attack ID[,ID...] and --attack-mode MODE[,MODE...]: checked against
 * the catalogue and heki_modes.h here, passed to the attacks suite on L2's
 * command line ('+' between items: the rig carries spaces as commas; a
 * mode's own '+', as in hypercall+ext, is told apart by heki_mode_list).
 */
static int add_attack_selection(struct opts *o, const char *ids, const char *modes,
				const char *resume_after)
{
	static char append[1024];
	char list[512], names[256], bad[64], *save = NULL;
	unsigned int set;
	size_t len;

	if (strcmp(o->suite, "attacks")) {
		fprintf(stderr, "rigrun: --attack and --attack-mode need --suite attacks\n");
		return -1;
	}
	len = snprintf(append, sizeof(append), "%s", o->l2_append ?: "");
	if (ids) {
		snprintf(list, sizeof(list), "%s", ids);
		len += snprintf(append + len, sizeof(append) - len, "%sheki.attacks=", len ? " " : "");
		for (char *t = strtok_r(list, ",+", &save), *first = t; t; t = strtok_r(NULL, ",+", &save)) {
			if (!heki_attack_find(t)) {
				fprintf(stderr, "rigrun: unknown attack '%s'; known:", t);
				for (size_t i = 0; i < HEKI_NR_ATTACKS; i++)
					fprintf(stderr, " %s", heki_attack_rows[i].id);
				fprintf(stderr, "\n");
				return -1;
			}
			len += snprintf(append + len, sizeof(append) - len, "%s%s", t == first ? "" : "+", t);
		}
	}
	if (modes) {
		if (heki_mode_list(modes, &set, bad, sizeof(bad)) || !set) {
			heki_mode_names(names, sizeof(names));
			fprintf(stderr, "rigrun: unknown mode '%s'; known: %s\n", bad, names);
			return -1;
		}
		heki_mode_list_join(set, '+', list, sizeof(list));
		len += snprintf(append + len, sizeof(append) - len, "%sheki.attack_modes=%s",
				len ? " " : "", list);
	}
	if (resume_after)
		snprintf(append + len, sizeof(append) - len, "%sheki.attack_resume_after=%s",
			 len ? " " : "", resume_after);
	o->l2_append = append;
	return 0;
}

static int make_run_dir(void)
{
	char runs[PATH_MAX - 256], base[96];
	time_t t = time(NULL);

	snprintf(runs, sizeof(runs), "%s/runs", R.o.results);
	mkdir(R.o.results, 0755);
	if (mkdir(runs, 0755) && errno != EEXIST) {
		perror(runs);
		return -1;
	}
	strftime(base, sizeof(base), "%Y%m%d-%H%M%S", gmtime(&t));
	for (int i = 0; i < 100; i++) {
		snprintf(R.id, sizeof(R.id), i ? "%s-%s-%d" : "%s-%s", base, R.o.suite, i);
		snprintf(R.dir, sizeof(R.dir), "%s/%s", runs, R.id);
		if (!mkdir(R.dir, 0755))
			return 0;
		if (errno != EEXIST)
			break;
	}
	perror(R.dir);
	return -1;
}

static void point_latest(void)
{
	char link[PATH_MAX], tmp[PATH_MAX + 8], target[PATH_MAX];

	snprintf(link, sizeof(link), "%s/latest", R.o.results);
	snprintf(tmp, sizeof(tmp), "%s.tmp", link);
	snprintf(target, sizeof(target), "runs/%s", R.id);
	unlink(tmp);
	if (symlink(target, tmp) || rename(tmp, link))
		perror(link);
}

int main(int argc, char **argv)
{
	struct opts *o = &R.o;
	bool smp_given = false;
	const char *attack = NULL, *attack_mode = NULL, *resume_after = NULL;
	bool dry_run = false;
	double last_beat;

	g_argc = argc;
	g_argv = argv;

	*o = (struct opts){ .suite = "smoke", .l0 = "auto", .modes = "hypercall",
			    .git_rev = "unknown", .results = "results",
			    .qemu = "qemu-system-x86_64", .rig_dir = "rig", .smp = 2, .l1_mem = 2048,
			    .l2_mem = 512, .icount_seed = 1, .bochs_cpus = 1,
			    .bochs_ips = BOCHS_IPS_DEFAULT };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return usage(NULL);
		if (!strcmp(a, "--list-attacks")) {
			list_attacks();
			return 0;
		}
		if (!v)
			return usage("every option takes a value");
		i++;
		if (!strcmp(a, "--suite")) o->suite = v;
		else if (!strcmp(a, "--l0")) o->l0 = v;
		else if (!strcmp(a, "--icount")) o->icount = parse_int(v, "ICOUNT", 0, 1);
		else if (!strcmp(a, "--icount-seed"))
			o->icount_seed = parse_int(v, "--icount-seed", 1, 1000000);
		else if (!strcmp(a, "--modes")) o->modes = v;
		else if (!strcmp(a, "--timeout")) o->timeout = parse_int(v, "TIMEOUT", 0, 86400);
		else if (!strcmp(a, "--smp")) {
			o->smp = parse_int(v, "--smp", 1, 16);
			smp_given = true;
		}
		else if (!strcmp(a, "--kernel")) o->kernel = v;
		else if (!strcmp(a, "--l1-image")) o->l1_image = v;
		else if (!strcmp(a, "--l2-image")) o->l2_image = v;
		else if (!strcmp(a, "--kmod-dir")) o->kmod_dir = v;
		else if (!strcmp(a, "--guest-kernel")) o->guest_kernel = v;
		else if (!strcmp(a, "--git-rev")) o->git_rev = v;
		else if (!strcmp(a, "--results")) o->results = v;
		else if (!strcmp(a, "--fault")) o->fault = v;
		else if (!strcmp(a, "--qemu")) o->qemu = v;
		else if (!strcmp(a, "--rig-dir")) o->rig_dir = v;
		else if (!strcmp(a, "--l2-cpu")) o->l2_cpu = v;
		else if (!strcmp(a, "--l2-append")) o->l2_append = v;
		else if (!strcmp(a, "--bochs-iso")) o->bochs_iso = v;
		else if (!strcmp(a, "--bochs-cpus")) o->bochs_cpus = parse_int(v, "--bochs-cpus", 1, 8);
		else if (!strcmp(a, "--bochs-ips"))
			o->bochs_ips = parse_int(v, "--bochs-ips", 1000000, 2000000000);
		else if (!strcmp(a, "--attack")) attack = v;
		else if (!strcmp(a, "--attack-resume-after")) resume_after = v;
		else if (!strcmp(a, "--continuation")) o->continuation = parse_int(v, "--continuation", 0, 16);

		else if (!strcmp(a, "--attack-mode")) attack_mode = v;
		else if (!strcmp(a, "--dry-run")) dry_run = parse_int(v, "--dry-run", 0, 1);
		else if (!strcmp(a, "--stage-timeout")) {
			const char *eq = strchr(v, '=');
			int st;

			for (st = 0; eq && st < ST_NR; st++)
				if (strlen(stages[st].name) == (size_t)(eq - v) &&
				    !strncmp(stages[st].name, v, (size_t)(eq - v)))
					break;
			if (!eq || st == ST_NR) {
				fprintf(stderr, "rigrun: --stage-timeout takes STAGE=SECONDS with a "
						"stage of l0-boot, kvm-load, l2-boot, guest-module, "
						"suite, collect; not '%s'\n", v);
				return 2;
			}
			o->stage_timeout[st] = parse_int(eq + 1, "--stage-timeout", 1, 86400);
		}
		else {
			fprintf(stderr, "rigrun: unknown option %s\n", a);
			return usage(NULL);
		}
	}
	if (!o->kernel || !o->l1_image || !o->l2_image || !o->kmod_dir || !o->guest_kernel)
		return usage("--kernel, --l1-image, --l2-image, --kmod-dir and --guest-kernel are required");
	{
		static const char *const known[] = { HEKI_SUITE_NAMES };
		bool found = false;

		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			found |= !strcmp(o->suite, known[i]);
		if (!found) {
			fprintf(stderr, "rigrun: unknown SUITE '%s' (available: %s)\n",
				o->suite, HEKI_SUITE_LIST);
			return 2;
		}
	}
	if ((attack || attack_mode || resume_after) &&
	    add_attack_selection(o, attack, attack_mode, resume_after))
		return 2;
	{
		char names[256], bad[64];
		unsigned int set;

		if (heki_mode_list(o->modes, &set, bad, sizeof(bad)) || !set) {
			heki_mode_names(names, sizeof(names));
			fprintf(stderr, "rigrun: MODES is a comma-separated list of modes (%s); "
					"unknown: '%s' in '%s'\n", names, bad, o->modes);
			return 2;
		}
	}
	if (dry_run) {
		char kappend[2048];

		/* What a run would hand L1 and L2, for the tests of the knobs. */
		l1_cmdline(kappend, sizeof(kappend), "");
		printf("%s\n", kappend);
		return 0;
	}

	if (!strcmp(o->l0, "auto"))
		R.l0_accel = cpu_has_hw_virt() && !access("/dev/kvm", R_OK | W_OK) ? "kvm" : "tcg";
	else if (!strcmp(o->l0, "tcg") || !strcmp(o->l0, "kvm") || !strcmp(o->l0, "none") ||
		 !strcmp(o->l0, "bochs"))
		R.l0_accel = o->l0;
	else {
		fprintf(stderr, "rigrun: L0 must be auto, tcg, kvm, bochs or none, not '%s'\n", o->l0);
		return 2;
	}
	if (l0_is("bochs")) {
		const char *missing = bochs_missing();

		if (missing) {
			fprintf(stderr, "rigrun: L0=bochs: %s (packages bochs, bochsbios, vgabios, "
					"mtools; `make deps` installs them)\n", missing);
			return 2;
		}
		if (!o->bochs_iso || access(o->bochs_iso, R_OK)) {
			fprintf(stderr, "rigrun: L0=bochs needs L1's boot CD (--bochs-iso, "
					"built by `make run L0=bochs`): %s\n",
				o->bochs_iso ? strerror(errno) : "not given");
			return 2;
		}
		/* L2 gets as many vCPUs as L1 has, unless --smp says otherwise. */
		if (!smp_given)
			o->smp = o->bochs_cpus;
	}
	/* The bench suite runs every benchmark in every mode: minutes, not seconds. */
	if (!strcmp(o->suite, "bench") && !o->stage_timeout[ST_SUITE] && !o->timeout)
		o->stage_timeout[ST_SUITE] = 900 * timeout_scale();

	if (!strcmp(R.l0_accel, "kvm") && !cpu_has_hw_virt()) {
		fprintf(stderr, "rigrun: L0=kvm needs a CPU with vmx or svm in /proc/cpuinfo; "
				"this one has neither (use L0=tcg)\n");
		return 2;
	}
	if (!strcmp(R.l0_accel, "none")) {
		struct utsname u;

		uname(&u);
		if (strcmp(u.release, o->guest_kernel)) {
			fprintf(stderr, "rigrun: L0=none needs this machine to run kernel %s "
					"(it runs %s): our KVM modules are built for that kernel\n",
				o->guest_kernel, u.release);
			return 2;
		}
		if (geteuid() != 0) {
			fprintf(stderr, "rigrun: L0=none loads kernel modules and must run as root\n");
			return 2;
		}
	}
	if (o->icount && strcmp(R.l0_accel, "tcg")) {
		fprintf(stderr, "rigrun: ICOUNT=1 needs L0=tcg (icount is a TCG feature)\n");
		return 2;
	}

	/*
	 * Under icount L1 has one vCPU (see launch_qemu), and an L2 with two
	 * vCPUs on it hangs at boot in some runs: deterministic runs use one
	 * L2 vCPU unless --smp says otherwise.
	 */
	if (o->icount && !smp_given)
		o->smp = 1;

	if (make_run_dir())
		return 1;
	R.t0 = now();
	R.started = time(NULL);
	R.src[0] = (struct source){ .name = "l1", .file = "results-l1.raw", .fd = -1 };
	R.src[1] = (struct source){ .name = "l2", .file = "results-l2.raw", .fd = -1 };
	for (int i = 0; i < 2; i++)
		R.src[i].tail = &R.src[i].kvs;
	{
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/records.txt", R.dir);
		R.records = fopen(path, "w");
		if (!R.records) {
			perror(path);
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	progress("run %s: suite %s, L0 %s%s, modes %s -> %s", R.id, o->suite, R.l0_accel,
		 o->icount ? " (icount)" : "", o->modes, R.dir);
	R.stage = ST_L0_BOOT;
	R.stage_start[ST_L0_BOOT] = now();
	R.child = l0_is("none") ? launch_bare_metal() : l0_is("bochs") ? launch_bochs() :
		  launch_qemu();
	if (R.child < 0 && !R.failed)
		fail(stages[R.stage].name, "cannot start: %s", strerror(errno));
	last_beat = now();

	while (!R.failed && R.child > 0) {
		int limit;
		double t;

		usleep(100000);
		poll_sources();
		if (got_signal) {
			R.interrupted = true;
			R.fail_how = "interrupted";
			fail(stages[R.stage].name, "interrupted by signal %d", (int)got_signal);
			break;
		}
		if (!R.child_exited && waitpid(R.child, &R.child_status, WNOHANG) == R.child) {
			R.child_exited = true;
			poll_sources();	/* what it wrote before exiting */
		}
		if (R.stage == ST_NR) {
			if (R.child_exited)
				break;
		} else if (R.child_exited) {
			const char *l2q = kv_get(&R.src[0], "l1.qemu_exit");

			R.fail_how = "l0-exited";
			fail(stages[R.stage].name, "%s exited (%s %d) while %s%s%s%s",
			     l0_is("none") ? "the L1 job" : l0_is("bochs") ? "L0 Bochs" : "L0 QEMU",
			     WIFEXITED(R.child_status) ? "status" : "signal",
			     WIFEXITED(R.child_status) ? WEXITSTATUS(R.child_status) :
			     WTERMSIG(R.child_status), stages[R.stage].doing,
			     l2q ? "; L2's QEMU had exited with status " : "", l2q ?: "",
			     l2q ? ", see console-l2.log" : "");
			break;
		}
		t = now();
		limit = R.stage == ST_NR ? stages[ST_COLLECT].timeout :
			o->stage_timeout[R.stage] ? o->stage_timeout[R.stage] :
			o->timeout ? o->timeout : stages[R.stage].timeout * timeout_scale();
		if (R.stage < ST_NR && t - R.stage_start[R.stage] > limit) {
			/* Which check finished last tells where a suite stalled. */
			const char *last = kv_get(&R.src[1], "check");

			R.fail_how = "timeout";
			fail(stages[R.stage].name, "timed out after %ds while %s%s%s%s", limit,
			     stages[R.stage].doing,
			     R.stage == ST_SUITE ? "; last check reported: " : "",
			     R.stage == ST_SUITE ? (last ?: "none") : "",
			     R.stage == ST_SUITE ? " (see console-l2.log)" : "");
			/* Before the kill: what the stalled levels were doing. */
			stall_dump();
			break;
		}
		if (R.stage == ST_NR && t - R.stage_start[ST_NR] > limit) {
			progress("L0 did not power off %ds after the results were in; stopping it",
				 limit);
			break;
		}
		if (t - last_beat >= 30) {
			progress("... %s (%.0fs in stage %s)",
				 R.stage < ST_NR ? stages[R.stage].doing : "waiting for L0 to exit",
				 t - R.stage_start[R.stage], R.stage < ST_NR ? stages[R.stage].name : "done");
			last_beat = t;
		}
	}
	/* A level that reported its failure is dumping logs and powering off. */
	for (int i = 0; R.level_reported && !R.child_exited && i < 100; i++) {
		usleep(100000);
		if (waitpid(R.child, &R.child_status, WNOHANG) == R.child)
			R.child_exited = true;
	}
	kill_child();
	if (R.monitor[0])
		unlink(R.monitor);
	poll_sources();
	judge();
	if (!strcmp(o->suite, "attacks")) {
		int mismatches = write_inject();

		if (mismatches)
			fail("suite", "%d attack cell%s: expected != observed, or no host record (see inject.json)",
			     mismatches, mismatches == 1 ? "" : "s");
	}
	if (R.failed && !R.interrupted) {
		char line[FRAME_PAYLOAD_MAX + 1];
		const char *source;

		console_diagnosis("console-l1.log", "L1");
		console_diagnosis("console-l2.log", "L2");
		if (l2_shutdown(line, sizeof(line), &source)) {
			size_t len = strlen(R.error);

			snprintf(R.error + len, sizeof(R.error) - len,
				 "; an L2 vCPU died of a triple fault (host: %.300s)", line);
		}
	}
	write_summary();
	write_ci();
	fclose(R.records);
	point_latest();
	if (!strcmp(o->suite, "bench"))
		write_bench();

	progress("%s: %s", R.failed ? "FAILED" : "ok", R.dir);
	if (!R.failed) {
		printf("  heki ABI %s from the host, features %s, vendor %s, nonce matched\n",
		       kv_get(&R.src[1], "heki.abi_version"), kv_get(&R.src[1], "heki.features"),
		       vendor_name(kv_get(&R.src[1], "heki.vendor")));
		printf("  suite %s: %s checks, %s failed\n", o->suite,
		       kv_get(&R.src[1], "suite.tests"), kv_get(&R.src[1], "suite.failed"));
	} else {
		printf("  stage %s: %s\n  logs: %s/console-l1.log, %s/console-l2.log\n",
		       R.fail_stage, R.error, R.dir, R.dir);
	}
	return R.interrupted ? 130 : R.failed ? 1 : 0;
}
