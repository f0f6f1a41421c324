// SPDX-License-Identifier: GPL-2.0
/*
 * heki-logfwd: forwards the host's violation log to L0 as it happens.
 *
 *   heki-logfwd [-w SECONDS] STREAM
 *
 * Reads STREAM (L1's /sys/kernel/debug/heki/stream, host/ABI.md) and sends
 * each line as a framed record on $HEKI_RESULTS (sequence in $HEKI_SEQ,
 * shared with heki-emit):
 *
 *   seq=N vm_id=I ... action=...   ->  kv violation.<n>=<line>   (n = 0, 1, ...)
 *   log vm_id=I ... ended=1 ...    ->  kv vmlog.<I>=<line without "log ">
 *   shutdown vm_id=I ...           ->  kv shutdown.<I>=<line without "shutdown ">
 *
 * On SIGTERM or SIGINT it stops waiting for new VMs and finishes: it reads
 * until every VM it has heard of has sent its final "log" line and the
 * stream is empty, or for at most -w SECONDS (default 10), then sends
 * "kv logfwd.records=<n>" (violation records forwarded), "kv
 * logfwd.vms_open=<VMs without a final line>" and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "record.h"
#include "heki_violation.h"

#define MAX_VMS 256

static volatile sig_atomic_t finishing;

static void on_signal(int sig)
{
	(void)sig;
	finishing = 1;
}

/* VMs heard of, by vm_id, and whether their final line came. */
static struct {
	unsigned long id;
	int ended;
} vms[MAX_VMS];
static int nvms;

static void vm_seen(unsigned long id, int ended)
{
	for (int i = 0; i < nvms; i++) {
		if (vms[i].id == id) {
			vms[i].ended |= ended;
			return;
		}
	}
	if (nvms < MAX_VMS)
		vms[nvms++] = (typeof(vms[0])){ id, ended };
}

static int vms_open(void)
{
	int n = 0;

	for (int i = 0; i < nvms; i++)
		n += !vms[i].ended;
	return n;
}

static long records;

static int forward(struct record_out *o, char *line)
{
	char key[64];

	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "log ", 4)) {
		unsigned long id = heki_viol_num(line + 4, HEKI_VKEY(vm_id), 0);

		vm_seen(id, heki_viol_is(line + 4, HEKI_VKEY(ended), "1"));
		snprintf(key, sizeof(key), "vmlog.%lu", id);
		return record_kv(o, key, "%s", line + 4);
	}
	/* A vCPU's death (triple fault): the host's record of its state. */
	if (!strncmp(line, "shutdown ", 9)) {
		unsigned long id = heki_viol_num(line + 9, HEKI_VKEY(vm_id), 0);

		vm_seen(id, 0);
		snprintf(key, sizeof(key), "shutdown.%lu", id);
		return record_kv(o, key, "%s", line + 9);
	}
	if (!strncmp(line, "seq=", 4)) {
		vm_seen(heki_viol_num(line, HEKI_VKEY(vm_id), 0), 0);
		snprintf(key, sizeof(key), "violation.%ld", records++);
		return record_kv(o, key, "%s", line);
	}
	return line[0] ? record_kv(o, "logfwd.unknown_line", "%s", line) : 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *out = getenv("HEKI_RESULTS"), *seq = getenv("HEKI_SEQ");
	static char buf[16384 + 1];
	double wait_s = 10, deadline = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	struct record_out o;
	int opt, fd, ret = 0;

	while ((opt = getopt(argc, argv, "w:")) != -1) {
		if (opt != 'w')
			goto usage;
		wait_s = atof(optarg);
	}
	if (!out || argc - optind != 1)
		goto usage;
	/* No SA_RESTART: a signal ends a poll() at once. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = open(argv[optind], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[optind]);
		return 1;
	}
	if (record_open(&o, out, "l1", seq ? seq : "/tmp/heki-emit.seq")) {
		perror(out);
		return 1;
	}

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (finishing && !deadline)
			deadline = now_s() + wait_s;
		if (deadline && (now_s() > deadline))
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EAGAIN) {
			/* Everything read: done once every VM has ended. */
			if (finishing && !vms_open())
				break;
			poll(&p, 1, finishing ? 100 : -1);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("heki-logfwd: read");
			ret = 1;
			break;
		}
		buf[n] = '\0';
		/* The host returns whole lines only. */
		for (char *l = buf, *nl; *l; l = nl + 1) {
			nl = strchr(l, '\n');
			if (nl)
				*nl = '\0';
			ret |= forward(&o, l) != 0;
			if (!nl)
				break;
		}
	}
	ret |= record_kv(&o, "logfwd.records", "%ld", records) != 0;
	ret |= record_kv(&o, "logfwd.vms_open", "%d", vms_open()) != 0;
	record_close(&o);
	close(fd);
	if (ret)
		fprintf(stderr, "heki-logfwd: a record could not be sent\n");
	return ret;
usage:
	fprintf(stderr, "usage: HEKI_RESULTS=DEV heki-logfwd [-w SECONDS] STREAM\n");
	return 2;
}
