/* SPDX-License-Identifier: GPL-2.0 */
/*
 * L0=bochs: the Intel half of the rig (VMX, EPT, VMFUNC) on any x86-64 box.
 * Bochs boots L1 through its BIOS from a GRUB CD (rig/mkiso.sh) and takes
 * the run's kernel command line from a floppy written per run; its four
 * serial ports go to the same files as L0 QEMU's.
 */
#ifndef HEKI_BOCHS_H
#define HEKI_BOCHS_H

#include <stddef.h>

#define BOCHS_BIN "bochs-bin"
#define BOCHS_CPU_MODEL "corei7_skylake_x"	/* VMX with EPT, VPID, VMFUNC */
#define BOCHS_IPS_DEFAULT 100000000L
/* A fixed date: with clock sync=none nothing in the guest reads the host clock. */
#define BOCHS_TIME0 1767225600L			/* 2026-01-01T00:00:00Z */

struct bochs_cfg {
	const char *dir;	/* the run directory: config, floppy, ports */
	const char *iso;	/* the GRUB CD with L1's kernel and image */
	const char *cmdline;	/* L1's kernel command line (heki.* words) */
	const char *ports[4];	/* COM1..COM4 files, relative to dir */
	int cpus;		/* emulated CPUs (L1's vCPUs) */
	long ips;		/* emulated instructions per guest second */
	int mem_mb;		/* L1's memory */
};

/* What Bochs needs that is missing on this machine, or NULL. */
const char *bochs_missing(void);

/*
 * The Bochs config text for @c (bochsrc), into @buf; the floppy is
 * "boot-args.img" in c->dir.  Returns the length, or -1 if it does not fit.
 */
int bochs_config(const struct bochs_cfg *c, char *buf, size_t len);

/* GRUB's heki.cfg for @cmdline; -1 if @cmdline cannot be quoted for GRUB. */
int bochs_grub_cfg(const char *cmdline, char *buf, size_t len);

/*
 * Writes bochsrc, bochs.rc (the built-in debugger's commands: continue,
 * then quit when the machine powers off) and the floppy boot-args.img in
 * c->dir; fills @argv (at least 12 entries) with Bochs' command line (in a
 * network namespace of its own where unshare(1) can make one).
 * Returns 0, or -1 with the reason in @err.
 */
int bochs_prepare(const struct bochs_cfg *c, const char **argv, char *err, size_t errlen);

/* The first line of `bochs-bin --help` naming the version, e.g. "Bochs x86 Emulator 2.7". */
void bochs_version(char *out, size_t len);

#endif /* HEKI_BOCHS_H */
