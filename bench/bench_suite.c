// SPDX-License-Identifier: GPL-2.0
/*
 * The bench suite (heki-suite bench, in L2): every benchmark in every mode
 * in one run.  Kernel-side rows are the table of guest-kmod/heki_bench.c,
 * driven through debugfs heki/bench; whole-system rows (module load+unload,
 * fork+exec, a one-byte read(2)) are timed here.  Modes are
 * rig/heki_modes.h's; a mode whose transport the host lacks (vmfunc, where
 * the host has no EPTP switching) is recorded as unsupported with the
 * host's reason.  Modes run before lockdown (lockdown=0), so the
 * authenticated poke's own cost is its row, patch_call.
 *
 * Each row x mode becomes one record "bench.<mode>.<row>" of k=v fields
 * (stats over the samples, host counters per operation, the overhead ratio
 * to "off"), which rigrun turns into bench.json, bench.csv and a table.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <sys/ioctl.h>
#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>

#include "suite.h"
#include "heki_modes.h"

#define BENCH_FILE DEBUGFS_HEKI "bench"
#define MAX_ROWS 32

#define NMODES HEKI_NR_MODES	/* rig/heki_modes.h, each loaded with lockdown=0 */

/* Rows timed in userland. */
static const char *const user_rows[] = { "module_load_unload", "fork_exec", "read_syscall" };
#define NUSER (int)(sizeof(user_rows) / sizeof(user_rows[0]))
/* Why the mode cannot run here (vmfunc), per run; NULL: it ran. */
static const char *mode_unsupported[NMODES];

struct stats {
	int n;
	double min, median, p90, p99, max, mean, stddev;
};

static int cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles; sample standard deviation. */
static struct stats compute(unsigned long long *v, int n)
{
	struct stats s = { .n = n };
	double sum = 0, sq = 0;

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_u64);
	for (int i = 0; i < n; i++)
		sum += v[i];
	s.mean = sum / n;
	for (int i = 0; i < n; i++)
		sq += (v[i] - s.mean) * (v[i] - s.mean);
	s.stddev = n > 1 ? sqrt(sq / (n - 1)) : 0;
	s.min = v[0];
	s.max = v[n - 1];
	s.median = v[(n - 1) / 2];
	s.p90 = v[(int)ceil(0.90 * n) - 1];
	s.p99 = v[(int)ceil(0.99 * n) - 1];
	return s;
}

struct row_result {
	char row[48];
	int measured;
	struct stats st;
	double exits, zaps, flushes, windows, hypercalls;	/* per op; < 0: n/a */
	double view_switches;					/* per op */
	double cycles, instructions;		/* per op from perf events; < 0: n/a */
	char unsupported[160];			/* the row's reason, when it has none here */
	char failed[200];			/* why it did not complete, if it failed */
};

/*
 * Cycles and instructions from the CPU's PMU, events named through
 * libpfm4, counted for this process in user and kernel mode (the kernel
 * rows run in this process's read()/write() of debugfs).  Under L0 TCG
 * (and on KVM hosts without a virtual PMU) L2 has none: perf_event_open()
 * says so, and bench.json records the reason.
 */
static const char *const pmu_events[2] = { "cycles", "instructions" };
static int pmu_fd[2] = { -1, -1 };
static char pmu_why[256];

static int pmu_open(void)
{
	int ret = pfm_initialize();

	if (ret != PFM_SUCCESS) {
		snprintf(pmu_why, sizeof(pmu_why), "libpfm4 did not initialise: %s",
			 pfm_strerror(ret));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		struct perf_event_attr attr = { 0 };
		pfm_perf_encode_arg_t arg = { .attr = &attr, .size = sizeof(arg) };

		ret = pfm_get_os_event_encoding(pmu_events[i], PFM_PLM0 | PFM_PLM3,
						PFM_OS_PERF_EVENT, &arg);
		if (ret != PFM_SUCCESS) {
			snprintf(pmu_why, sizeof(pmu_why), "libpfm4 cannot name event %s: %s",
				 pmu_events[i], pfm_strerror(ret));
			return -1;
		}
		attr.disabled = 1;
		attr.exclude_hv = 1;
		pmu_fd[i] = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
		if (pmu_fd[i] < 0) {
			snprintf(pmu_why, sizeof(pmu_why),
				 "perf_event_open(%s) failed: %s (no CPU PMU in L2: KVM on this host does not virtualise one)",
				 pmu_events[i], strerror(errno));
			if (i)
				close(pmu_fd[0]);
			pmu_fd[0] = pmu_fd[1] = -1;
			return -1;
		}
	}
	return 0;
}

static void pmu_start(void)
{
	for (int i = 0; pmu_fd[0] >= 0 && i < 2; i++) {
		ioctl(pmu_fd[i], PERF_EVENT_IOC_RESET, 0);
		ioctl(pmu_fd[i], PERF_EVENT_IOC_ENABLE, 0);
	}
}

/* Counts per operation into r (ops: every iteration the counters saw). */
static void pmu_stop(struct row_result *r, unsigned int ops)
{
	unsigned long long v[2] = { 0, 0 };

	r->cycles = r->instructions = -1;
	if (pmu_fd[0] < 0)
		return;
	for (int i = 0; i < 2; i++) {
		ioctl(pmu_fd[i], PERF_EVENT_IOC_DISABLE, 0);
		if (read(pmu_fd[i], &v[i], sizeof(v[i])) != sizeof(v[i]))
			return;
	}
	r->cycles = (double)v[0] / ops;
	r->instructions = (double)v[1] / ops;
}

static struct row_result results[NMODES][MAX_ROWS];
static int nrows;
static char row_names[MAX_ROWS][48];

static char cmdline[1024];

static const char *kernel_arg(const char *key)
{
	FILE *f;
	char *p;

	if (!cmdline[0] && (f = fopen("/proc/cmdline", "r"))) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = '\0';
		fclose(f);
	}
	p = strstr(cmdline, key);
	return p ? p + strlen(key) : NULL;
}

/*
 * Under L0 icount (heki.icount=1) the TSC ticks once per instruction L0
 * executes, so TSC cycles are the exact figure; clock_gettime() and the
 * kernel's tsc_khz would scale them by a calibrated, rounded frequency.
 */
static int under_icount(void)
{
	const char *p = kernel_arg("heki.icount=");

	return p && *p == '1';
}

/* The time base of every sample: ns, or instructions under icount. */
static unsigned long long now_time(void)
{
	struct timespec t;

	if (under_icount())
		return __rdtsc();
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* A kernel row's sample, in TSC cycles, in the same time base. */
static unsigned long long cycles_to_time(unsigned long long c, unsigned long khz)
{
	return under_icount() || !khz ? c : c * 1000000ull / khz;
}

static unsigned int iterations(void)
{
	const char *p = kernel_arg("heki.bench_iters=");

	return p ? (unsigned int)strtoul(p, NULL, 10) ?: 1 : 200;
}

/*
 * heki.bench_rows=a+b+...: only those rows (all without it).  '+', as in
 * heki.kmod=: the rig passes ',' to L2 as a space.
 */
static int row_selected(const char *row)
{
	const char *p = kernel_arg("heki.bench_rows=");
	size_t n = strlen(row);

	while (p && *p && *p != ' ' && *p != '\n') {
		if (!strncmp(p, row, n) && (p[n] == '+' || p[n] == ' ' ||
					    p[n] == '\n' || !p[n]))
			return 1;
		p += strcspn(p, "+ \n");
		p = *p == '+' ? p + 1 : NULL;
	}
	return !p && !kernel_arg("heki.bench_rows=");
}

static unsigned long long *samples_buf;
/* The guest kernel's calibrated TSC rate: what kernel rows are scaled by. */
static unsigned long guest_tsc_khz;

/* Runs one kernel row; fills r.  Returns 0 or -1. */
static int run_kernel_row(const char *row, unsigned int n, struct row_result *r)
{
	static char buf[5000 * 24 + 4096];
	char cmd[96], *line, *save = NULL;
	unsigned long long ex = 0, zp = 0, fl = 0, wi = 0, hc = 0, vs = 0;
	unsigned long khz = 0;
	int fd, got = 0;
	ssize_t len, m;

	snprintf(cmd, sizeof(cmd), "%.47s %u %u", row, n, n / 10 + 2);
	pmu_start();
	if (write_file(BENCH_FILE, cmd))
		return -1;
	fd = open(BENCH_FILE, O_RDONLY);
	if (fd < 0)
		return -1;
	for (len = 0; len < (ssize_t)sizeof(buf) - 1 &&
	     (m = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0;)
		len += m;
	close(fd);
	/* Warm-up included: the counters cannot tell it from the samples. */
	pmu_stop(r, n + n / 10 + 2);
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "bench ", 6)) {
			char *p;

			if ((p = strstr(line, " exits=")))
				ex = strtoull(p + 7, NULL, 10);
			if ((p = strstr(line, " zaps=")))
				zp = strtoull(p + 6, NULL, 10);
			if ((p = strstr(line, " tlb_flushes=")))
				fl = strtoull(p + 13, NULL, 10);
			if ((p = strstr(line, " windows=")))
				wi = strtoull(p + 9, NULL, 10);
			if ((p = strstr(line, " hypercalls=")))
				hc = strtoull(p + 12, NULL, 10);
			if ((p = strstr(line, " view_switches=")))
				vs = strtoull(p + 15, NULL, 10);
			if ((p = strstr(line, " tsc_khz=")))
				khz = strtoul(p + 9, NULL, 10);
			if (khz)
				guest_tsc_khz = khz;
		} else if (!strncmp(line, "samples", 7)) {
			char *p = line + 7, *end;

			while (got < (int)n) {
				unsigned long long v = strtoull(p, &end, 10);

				if (end == p)
					break;
				samples_buf[got++] = cycles_to_time(v, khz);
				p = end;
			}
		}
	}
	if (got != (int)n)
		return -1;
	r->st = compute(samples_buf, got);
	/* The closing HEKI_HC_STATS is one exit and one call of its own. */
	r->exits = (ex ? ex - 1.0 : 0) / n;
	r->hypercalls = (hc ? hc - 1.0 : 0) / n;
	r->zaps = (double)zp / n;
	r->flushes = (double)fl / n;
	r->windows = (double)wi / n;
	r->view_switches = (double)vs / n;
	r->measured = 1;
	return 0;
}


static int op_module(void)
{
	if (load_module(TESTMOD, ""))
		return -1;
	return syscall(SYS_delete_module, "heki_testmod", O_NONBLOCK) ? -1 : 0;
}

static int op_fork_exec(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       !WEXITSTATUS(status) ? 0 : -1;
}

/* One read(2) of one byte: the VFS path f_op validation watches. */
static int read_fd = -1;

static int op_read(void)
{
	char c;

	if (read_fd < 0)
		read_fd = open("/dev/zero", O_RDONLY);
	return pread(read_fd, &c, 1, 0) == 1 ? 0 : -1;
}

/* Whole-system rows: wall time here; host counters from HEKI_HC_STATS. */
static int run_user_row(const char *row, unsigned int n, struct row_result *r)
{
	int (*op)(void) = !strcmp(row, "fork_exec") ? op_fork_exec :
			  !strcmp(row, "read_syscall") ? op_read : op_module;
	long long z0, w0, c0, z1, w1, c1;
	unsigned int i;

	for (i = 0; i < n / 10 + 2; i++)
		if (op())
			return -1;
	z0 = read_key(DEBUGFS_HEKI "stats", "zaps");
	w0 = read_key(DEBUGFS_HEKI "stats", "windows_opened");
	c0 = read_key(DEBUGFS_HEKI "stats", "calls");
	pmu_start();
	for (i = 0; i < n; i++) {
		unsigned long long t0 = now_time();

		if (op())
			return -1;
		samples_buf[i] = now_time() - t0;
	}
	pmu_stop(r, n);
	z1 = read_key(DEBUGFS_HEKI "stats", "zaps");
	w1 = read_key(DEBUGFS_HEKI "stats", "windows_opened");
	c1 = read_key(DEBUGFS_HEKI "stats", "calls");
	r->st = compute(samples_buf, n);
	r->exits = -1;		/* the process moves between vCPUs: not counted */
	r->flushes = -1;
	r->zaps = (double)(z1 - z0) / n;
	r->windows = (double)(w1 - w0) / n;
	/* The stats reads in between are calls of their own (three). */
	r->hypercalls = (double)(c1 - c0 - 3) / n;
	r->measured = 1;
	return 0;
}

/*
 * What heki/bench says of the last kernel row after @prefix ("unsupported"
 * for the reason it cannot run here, "error" for why it failed), or @dflt.
 */
static const char *kernel_row_says(const char *prefix, const char *dflt)
{
	static char why[160];
	char line[256];
	size_t n = strlen(prefix);
	FILE *f = fopen(BENCH_FILE, "r");

	snprintf(why, sizeof(why), "%s", dflt);
	if (!f)
		return why;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, prefix, n) && line[n] == ' ') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(why, sizeof(why), "%.159s", line + n + 1);
		}
	fclose(f);
	return why;
}

/* Why the last kernel row could not run here (heki/bench "unsupported"). */
static const char *kernel_row_reason(const char *row)
{
	char dflt[96];

	snprintf(dflt, sizeof(dflt), "%.60s is not available in this mode", row);
	return kernel_row_says("unsupported", dflt);
}

/* heki.ko reloaded with mode @mi's parameters, not locked down. */
static int enter_mode(int mi)
{
	char params[256];

	heki_mode_params(mi, 0, params, sizeof(params));
	syscall(SYS_delete_module, "heki", O_NONBLOCK);
	return load_module(HEKI_KO, params) ? -1 : 0;
}

static void list_kernel_rows(void)
{
	char line[1024], *tok, *save = NULL;
	FILE *f = fopen(BENCH_FILE, "r");

	nrows = 0;
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && !strncmp(line, "rows ", 5)) {
		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line + 5, " ", &save); tok && nrows < MAX_ROWS;
		     tok = strtok_r(NULL, " ", &save))
			if (row_selected(tok))
				snprintf(row_names[nrows++], sizeof(row_names[0]), "%s", tok);
	}
	fclose(f);
}

static void emit(struct suite_ctx *c, int mi, int ri)
{
	const struct row_result *r = &results[mi][ri], *off = &results[HEKI_MODE_off][ri];
	char key[128], per[256] = "";
	const struct stats *s = &r->st;

	snprintf(key, sizeof(key), "bench.%s.%s", heki_modes[mi].name, row_names[ri]);
	if (mode_unsupported[mi]) {
		record_kv(&c->out, key, "status=unsupported reason=%s", mode_unsupported[mi]);
		return;
	}
	if (r->unsupported[0]) {
		record_kv(&c->out, key, "status=unsupported reason=%s", r->unsupported);
		return;
	}
	if (!r->measured) {
		record_kv(&c->out, key, "status=failed reason=%s",
			  r->failed[0] ? r->failed : "the benchmark did not complete");
		return;
	}
	if (r->exits >= 0)
		snprintf(per, sizeof(per), " exits_per_op=%.3f tlb_flushes_per_op=%.3f",
			 r->exits, r->flushes);
	if (r->cycles >= 0)
		snprintf(per + strlen(per), sizeof(per) - strlen(per),
			 " cycles_per_op=%.1f instructions_per_op=%.1f", r->cycles, r->instructions);
	/* No overhead without a baseline (a row "off" does not have, e.g. patch_call). */
	if (off->measured && off->st.median > 0)
		snprintf(per + strlen(per), sizeof(per) - strlen(per), " overhead_vs_off=%.3f",
			 s->median / off->st.median);
	record_kv(&c->out, key,
		  "status=measured n=%d min=%.0f median=%.0f p90=%.0f p99=%.0f max=%.0f mean=%.1f stddev=%.1f zaps_per_op=%.3f windows_per_op=%.3f view_switches_per_op=%.3f hypercalls_per_op=%.3f%s",
		  s->n, s->min, s->median, s->p90, s->p99, s->max, s->mean, s->stddev,
		  r->zaps, r->windows, r->view_switches, r->hypercalls, per);
}

void suite_bench(struct suite_ctx *c)
{
	unsigned int n = iterations();
	char name[128], why[160];
	int total;

	samples_buf = calloc(n > 5000 ? 5000 : n, sizeof(*samples_buf));
	if (n > 5000)
		n = 5000;
	list_kernel_rows();
	check(c, nrows > 0, "bench_lists_its_rows", "cannot read " BENCH_FILE);
	total = nrows;
	for (int i = 0; i < NUSER; i++)
		if (row_selected(user_rows[i]))
			snprintf(row_names[total++], sizeof(row_names[0]), "%s", user_rows[i]);
	record_kv(&c->out, "bench.iterations", "%u", n);
	if (!pmu_open())
		record_kv(&c->out, "bench.counters", "perf events via libpfm4: cycles and instructions per operation (this process, user and kernel mode; kernel rows include their warm-up)");
	else
		record_kv(&c->out, "bench.counters", "unavailable: %s", pmu_why);

	for (int mi = 0; mi < NMODES; mi++) {
		/* The host says whether VMFUNC exists here (heki.ko is loaded). */
		mode_unsupported[mi] = transport_unsupported(heki_modes[mi].transport);
		if (mode_unsupported[mi]) {
			mode_unsupported[mi] = strdup(mode_unsupported[mi]);
			continue;
		}
		snprintf(name, sizeof(name), "bench_mode_%s_loads", heki_modes[mi].name);
		if (enter_mode(mi)) {
			check(c, 0, name, "cannot reload heki.ko for this mode");
			continue;
		}
		check(c, 1, name, NULL);
		printf("# bench: mode %s, %u samples per row\n", heki_modes[mi].name, n);
		fflush(stdout);
		for (int ri = 0; ri < total; ri++) {
			struct row_result *r = &results[mi][ri];
			int err = ri < nrows ? run_kernel_row(row_names[ri], n, r) :
					       run_user_row(row_names[ri], n, r);

			snprintf(name, sizeof(name), "bench_%.47s_%s", row_names[ri], heki_modes[mi].name);
			/* A row the mode does not have says so (EOPNOTSUPP): a skip. */
			if (err && errno == EOPNOTSUPP && ri < nrows) {
				snprintf(r->unsupported, sizeof(r->unsupported), "%s",
					 kernel_row_reason(row_names[ri]));
				skip(c, name, r->unsupported);
				continue;
			}
			/* Any other error is a failure with its errno, and the row's own words. */
			if (err)
				snprintf(r->failed, sizeof(r->failed), "errno %d%s%s", errno,
					 ri < nrows ? ": " : "",
					 ri < nrows ? kernel_row_says("error", strerror(errno)) : "");
			snprintf(why, sizeof(why), "%.47s did not complete (%s)", row_names[ri],
				 r->failed);
			check(c, !err, name, why);
		}
	}
	for (int mi = 0; mi < NMODES; mi++)
		for (int ri = 0; ri < total; ri++)
			emit(c, mi, ri);
	if (guest_tsc_khz)
		record_kv(&c->out, "env.tsc_khz", "%lu", guest_tsc_khz);

	/* The documented cost of a poke under hypercall: one window, two calls. */
	for (int ri = 0; ri < nrows; ri++)
		if (!strcmp(row_names[ri], "text_poke_5")) {
			const struct row_result *r = &results[HEKI_MODE_hypercall][ri];

			snprintf(why, sizeof(why), "windows/op %.3f, hypercalls/op %.3f",
				 r->windows, r->hypercalls);
			/*
			 * Per op exactly; the kernel may add one call of its own
			 * per run (it optimises heki.ko's kprobes a few jiffies
			 * after loading, with text_poke()s of its own).
			 */
			check(c, r->measured && r->windows >= 1.0 && r->hypercalls >= 2.0 &&
			      r->windows * n <= n + 1 && r->hypercalls * n <= 2 * n + 1,
			      "bench_text_poke_costs_two_window_calls", why);
		}
	/* Leave heki.ko as L2's init loaded it for the suites. */
	enter_mode(HEKI_MODE_hypercall);
	free(samples_buf);
}
