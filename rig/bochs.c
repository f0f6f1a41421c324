// SPDX-License-Identifier: GPL-2.0
/*
 * L0=bochs for rigrun: the config Bochs runs with, the per-run floppy that
 * carries L1's kernel command line to GRUB, and Bochs' command line.
 *
 * The settings are the measured ones of the Intel-rig issue: a Skylake-X
 * model (VMX with EPT and VMFUNC), time a pure function of the instruction
 * count (clock sync=none, a fixed date), headless through the rfb display
 * with no wait for a viewer, the built-in debugger told to continue, and
 * unknown-MSR noise of every VM entry kept out of the log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bochs.h"

#define BOCHS_BIOS "/usr/share/bochs/BIOS-bochs-latest"
#define BOCHS_VGABIOS "/usr/share/vgabios/vgabios.bin"
#define FLOPPY "boot-args.img"

static int in_path(const char *prog)
{
	const char *path = getenv("PATH") ?: "/usr/bin:/bin";
	char dir[4096];

	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, p, prog);
		if (n && !access(dir, X_OK))
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

const char *bochs_missing(void)
{
	static char msg[256];
	static const char *const progs[] = { BOCHS_BIN, "mformat", "mcopy" };
	static const char *const files[] = { BOCHS_BIOS, BOCHS_VGABIOS };

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if (!in_path(progs[i])) {
			snprintf(msg, sizeof(msg), "%s is not installed", progs[i]);
			return msg;
		}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (access(files[i], R_OK)) {
			snprintf(msg, sizeof(msg), "%s is missing", files[i]);
			return msg;
		}
	return NULL;
}

int bochs_config(const struct bochs_cfg *c, char *buf, size_t len)
{
	size_t n = 0;
	int r;

#define put(...) do { \
	r = snprintf(buf + n, len - n, __VA_ARGS__); \
	if (r < 0 || (size_t)r >= len - n) \
		return -1; \
	n += (size_t)r; \
} while (0)
	put("# written by rigrun for this run (L0=bochs)\n");
	put("memory: guest=%d, host=%d\n", c->mem_mb, c->mem_mb);
	put("cpu: model=%s, count=%d, ips=%ld, reset_on_triple_fault=0, ignore_bad_msrs=1\n",
	    BOCHS_CPU_MODEL, c->cpus, c->ips);
	put("clock: sync=none, time0=%ld\n", BOCHS_TIME0);
	put("romimage: file=%s\n", BOCHS_BIOS);
	put("vgaromimage: file=%s\n", BOCHS_VGABIOS);
	/* Debian's Bochs has no nogui display; rfb without waiting for a viewer. */
	put("display_library: rfb, options=\"timeout=0\"\n");
	put("pci: enabled=1, chipset=i440fx\n");
	/* Without these Debian's 2.7 aborts at start-up on a machine with no sound card. */
	put("sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy\n");
	put("speaker: enabled=0\n");
	put("ata0-master: type=cdrom, path=%s, status=inserted\n", c->iso);
	put("floppya: 1_44=%s/%s, status=inserted\n", c->dir, FLOPPY);
	put("boot: cdrom\n");
	for (int i = 0; i < 4; i++)
		put("com%d: enabled=1, mode=file, dev=%s/%s\n", i + 1, c->dir, c->ports[i]);
	put("log: %s/bochs-l0.log\n", c->dir);
	put("panic: action=fatal\n");
	/* cpuN: every VM entry would log an unknown MSR. */
	put("error: action=report");
	for (int i = 0; i < c->cpus; i++)
		put(", cpu%d=ignore", i);
	put("\n");
	put("info: action=report\n");
	put("debug: action=ignore\n");
#undef put
	return (int)n;
}

int bochs_grub_cfg(const char *cmdline, char *buf, size_t len)
{
	int r;

	/* Single quotes: GRUB expands nothing inside them. */
	if (strpbrk(cmdline, "'\n\r"))
		return -1;
	r = snprintf(buf, len, "set heki_cmdline='%s'\n", cmdline);
	return r < 0 || (size_t)r >= len ? -1 : r;
}

static int write_file(const char *dir, const char *name, const char *text,
		      char *err, size_t errlen)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Runs @argv to the end with output to @log; 0 if it exited 0. */
static int run_tool(char *const argv[], const char *log)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
			_exit(126);
		setenv("MTOOLS_SKIP_CHECK", "1", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

int bochs_prepare(const struct bochs_cfg *c, const char **argv, char *err, size_t errlen)
{
	static char rc[4200], cfg[4200], img[4200], src[4200], log[4200], grub[4096];
	static char text[8192];
	const char *missing = bochs_missing();

	if (missing) {
		snprintf(err, errlen, "L0=bochs: %s (packages bochs, bochsbios, vgabios, "
			 "mtools; `make deps` installs them)", missing);
		return -1;
	}
	if (access(c->iso, R_OK)) {
		snprintf(err, errlen, "L0=bochs: no boot image %s (`make run L0=bochs` builds it)",
			 c->iso);
		return -1;
	}
	if (bochs_grub_cfg(c->cmdline, grub, sizeof(grub)) < 0) {
		snprintf(err, errlen, "L0=bochs: the kernel command line must fit GRUB's "
			 "single quotes (no ' and no newline): %s", c->cmdline);
		return -1;
	}
	if (bochs_config(c, text, sizeof(text)) < 0) {
		snprintf(err, errlen, "L0=bochs: the Bochs config does not fit (paths too long)");
		return -1;
	}
	if (write_file(c->dir, "bochsrc", text, err, errlen) ||
	    write_file(c->dir, "bochs.rc", "c\nquit\n", err, errlen) ||
	    write_file(c->dir, "heki.cfg", grub, err, errlen))
		return -1;

	snprintf(img, sizeof(img), "%s/%s", c->dir, FLOPPY);
	snprintf(src, sizeof(src), "%s/heki.cfg", c->dir);
	snprintf(log, sizeof(log), "%s/bochs-setup.log", c->dir);
	{
		char *const fmt[] = { "mformat", "-i", img, "-f", "1440", "-C", "::", NULL };
		char *const cp[] = { "mcopy", "-i", img, src, "::/heki.cfg", NULL };

		if (run_tool(fmt, log) || run_tool(cp, log)) {
			snprintf(err, errlen, "L0=bochs: cannot write the floppy %s (see %s)",
				 img, log);
			return -1;
		}
	}

	snprintf(cfg, sizeof(cfg), "%s/bochsrc", c->dir);
	snprintf(rc, sizeof(rc), "%s/bochs.rc", c->dir);
	{
		/*
		 * The rfb display listens on every interface, with no password:
		 * in a network namespace of its own it is reachable by nobody.
		 */
		char *const probe[] = { "unshare", "-rn", "true", NULL };
		int n = 0;

		if (!run_tool(probe, log)) {
			argv[n++] = "unshare";
			argv[n++] = "-rn";
			argv[n++] = "--";
		}
		argv[n++] = BOCHS_BIN;
		argv[n++] = "-q";	/* no start menu */
		argv[n++] = "-f";
		argv[n++] = cfg;
		argv[n++] = "-rc";	/* the debugger's commands */
		argv[n++] = rc;
		argv[n] = NULL;
	}
	return 0;
}

void bochs_version(char *out, size_t len)
{
	FILE *p = popen(BOCHS_BIN " --help 2>&1 </dev/null", "r");
	char line[256];

	snprintf(out, len, "unknown");
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		char *b = strstr(line, "Bochs x86 Emulator");

		if (b) {
			b[strcspn(b, "\r\n")] = '\0';
			while (b[strlen(b) - 1] == ' ')
				b[strlen(b) - 1] = '\0';
			snprintf(out, len, "%s", b);
			break;
		}
	}
	pclose(p);
}
