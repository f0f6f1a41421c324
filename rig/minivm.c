// SPDX-License-Identifier: GPL-2.0
/*
 * heki-minivm: a second VM for the rig, made straight on /dev/kvm.
 *
 *   heki-minivm OBJECT
 *
 * OBJECT is 32 bits: a real-mode caller passes the low halves.
 *
 * Creates a VM with one real-mode vCPU whose code is "vmmcall; hlt"
 * ("vmcall; hlt" on Intel) and runs it once with HEKI_HC_REPORT(fop,
 * value 1, OBJECT) in its registers: the host logs one record of this VM
 * (kind=report object=OBJECT).  Then it waits with the VM alive until
 * SIGUSR1 or SIGTERM, runs it again with OBJECT + 1 and exits, which ends
 * the VM.  Prints "minivm: report=<ret> <ret>" on stdout; exits non-zero
 * if the VM could not be made or a call did not return 0.
 *
 * In the rig (l1-run.sh) it runs beside L2: its records come before and
 * after L2's flood, in a log of their own.
 *
 *   heki-minivm checks | views
 *
 * "checks" runs every check below, one line each; "views" only the last
 * (l1-run.sh runs it again with kvm.tdp_mmu=0).  Exit 0 when every one
 * went as the host must have it.
 *
 * What a migrating VMM meets (host/ABI.md, "Migration"): for dirty
 * logging by bitmap and then by ring (KVM_CAP_DIRTY_LOG_RING), a VM with
 * two memslots has one frame of the first made read-only by its guest;
 * then the VMM asks for dirty logging on both slots, the guest protects a
 * frame of the slot being logged, and the guest's protection is checked
 * again (HEKI_HC_STATS into the frame: -HEKI_EWRPROT while it holds).
 * One line per way of logging: as expected when the host refused logging
 * on the protected slot, allowed it on the other, refused the protection
 * of a logged frame, and the VM ran on protected as before.
 *
 * kvm-writes: the guest points the PV wall clock (MSR_KVM_WALL_CLOCK_NEW)
 * at its read-only frame 5 times: KVM's write is refused each time, and
 * each refusal is a violation the guest's HEKI_HC_STATS counts.
 *
 * auth-busy: after a lockdown without authentication, the guest holds a
 * write window and asks for authentication: refused with -HEKI_EBUSY
 * (the host logs why=lock-busy), granted once the window is closed.
 *
 * views: whether the host offers views (HEKI_FEAT_VIEW) and what entering
 * and leaving the patch view answer; with kvm.tdp_mmu=0 both must be
 * -HEKI_ENOSYS (a view is a TDP MMU root of its own).
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heki_abi.h"

#define MEM_SIZE 0x10000
#define CODE_GPA 0x1000

static volatile sig_atomic_t go;

static void on_signal(int sig)
{
	(void)sig;
	go = 1;
}

static int die(const char *what)
{
	fprintf(stderr, "minivm: %s: %s\n", what, strerror(errno));
	return 1;
}


static int is_intel(void)
{
	unsigned int a, b, c, d;

	__cpuid(0, a, b, c, d);
	return b == 0x756e6547;	/* "Genu" */
}

/* One Heki call from CODE_GPA; its return value, or -1. */
static long hcall(int vcpu, struct kvm_run *run, unsigned long nr,
		  unsigned long a0, unsigned long a1, unsigned long a2)
{
	struct kvm_regs regs = {
		.rip = CODE_GPA, .rflags = 2,
		.rax = nr, .rbx = a0, .rcx = a1, .rdx = a2, .rsi = 0,
	};

	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return die("KVM_SET_REGS"), -1;
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return die("KVM_RUN"), -1;
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "minivm: exit reason %u, not HLT\n", run->exit_reason);
		return -1;
	}
	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
		return die("KVM_GET_REGS"), -1;
	/* A real-mode caller gets the low 32 bits. */
	return (long)(int)regs.rax;
}

static long report(int vcpu, struct kvm_run *run, unsigned long object)
{
	return hcall(vcpu, run, HEKI_HC_REPORT, HEKI_REPORT_FOP, 1, object);
}

#define WRMSR_GPA	0x1100
#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00

/* A VM of @nslots 64 KiB slots at 0, 64 KiB, ... and one real-mode vCPU. */
struct minivm {
	int vm, vcpu;
	struct kvm_run *run;
	unsigned char *mem;
};

static int minivm_make(int kvm, struct minivm *m, int nslots, int ring)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;

	m->vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (m->vm < 0)
		return die("KVM_CREATE_VM");
	if (ring) {
		/* 4,096 entries: above what KVM reserves (PML's 512 included). */
		struct kvm_enable_cap cap = { .cap = KVM_CAP_DIRTY_LOG_RING,
					      .args = { 4096 * sizeof(struct kvm_dirty_gfn) } };

		if (ioctl(m->vm, KVM_ENABLE_CAP, &cap) < 0)
			return die("KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING)");
	}
	m->mem = mmap(NULL, (size_t)nslots * MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->mem == MAP_FAILED)
		return die("mmap");
	/* vmmcall (AMD) or vmcall (Intel); hlt */
	memcpy(m->mem + CODE_GPA, is_intel() ? "\x0f\x01\xc1\xf4" : "\x0f\x01\xd9\xf4", 4);
	/* wrmsr; hlt */
	memcpy(m->mem + WRMSR_GPA, "\x0f\x30\xf4", 3);
	for (int i = 0; i < nslots; i++) {
		region = (struct kvm_userspace_memory_region){
			.slot = i, .guest_phys_addr = (unsigned long)i * MEM_SIZE,
			.memory_size = MEM_SIZE,
			.userspace_addr = (unsigned long)m->mem + (unsigned long)i * MEM_SIZE,
		};
		if (ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return die("KVM_SET_USER_MEMORY_REGION");
	}
	m->vcpu = ioctl(m->vm, KVM_CREATE_VCPU, 0);
	if (m->vcpu < 0)
		return die("KVM_CREATE_VCPU");
	m->run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
		      PROT_READ | PROT_WRITE, MAP_SHARED, m->vcpu, 0);
	if (m->run == MAP_FAILED)
		return die("mmap kvm_run");
	if (ioctl(m->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(m->vcpu, KVM_SET_SREGS, &sregs) < 0)
		return die("KVM_SET_SREGS");
	return 0;
}

/* Dirty logging on or off for @slot, as QEMU's migration turns it: 0 or an errno. */
static int dirty_log(struct minivm *m, int slot, int on)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot, .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = (unsigned long)slot * MEM_SIZE,
		.memory_size = MEM_SIZE,
		.userspace_addr = (unsigned long)m->mem + (unsigned long)slot * MEM_SIZE,
	};

	return ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? errno : 0;
}

#define PROT_GPA	0x2000			/* slot 0, the guest protects it first */
#define LOGGED_GPA	(MEM_SIZE + 0x2000)	/* slot 1, protected while it is logged */

/* One way of logging (bitmap or ring); prints its line, 0 when as expected. */
static int dirty_log_check(int kvm, int ring)
{
	long prot, before, protect_logged, after, healthy;
	int slot_prot, slot_free, off;
	struct minivm m;

	if (ring && ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING) <= 0) {
		printf("ring: skip (KVM_CAP_DIRTY_LOG_RING not offered)\n");
		return 0;
	}
	if (minivm_make(kvm, &m, 2, ring))
		return 1;
	prot = hcall(m.vcpu, m.run, HEKI_HC_PROTECT, PROT_GPA, 1, HEKI_ATTR_RO);
	before = hcall(m.vcpu, m.run, HEKI_HC_STATS, PROT_GPA, sizeof(struct heki_stats), 0);
	/* What QEMU's migration does first: dirty logging on every slot. */
	slot_prot = dirty_log(&m, 0, 1);
	slot_free = dirty_log(&m, 1, 1);
	protect_logged = hcall(m.vcpu, m.run, HEKI_HC_PROTECT, LOGGED_GPA, 1, HEKI_ATTR_RO);
	off = dirty_log(&m, 1, 0);
	if (!slot_prot)
		dirty_log(&m, 0, 0);
	/* The VM runs on, its frame protected as before, the rest of it as before. */
	after = hcall(m.vcpu, m.run, HEKI_HC_STATS, PROT_GPA, sizeof(struct heki_stats), 0);
	healthy = hcall(m.vcpu, m.run, HEKI_HC_STATS, 0x3000, sizeof(struct heki_stats), 0);
	printf("%s: protect=%ld stats_into_frame=%ld log_protected_slot=%s log_other_slot=%s "
	       "protect_logged=%ld log_off=%s stats_into_frame_after=%ld stats_elsewhere=%ld\n",
	       ring ? "ring" : "bitmap", prot, before,
	       slot_prot ? strerror(slot_prot) : "enabled",
	       slot_free ? strerror(slot_free) : "enabled", protect_logged,
	       off ? strerror(off) : "ok", after, healthy);
	close(m.vcpu);
	close(m.vm);
	return prot || before != -HEKI_EWRPROT || slot_prot != EPERM || slot_free ||
	       protect_logged != -HEKI_EDIRTYLOG || off || after != -HEKI_EWRPROT ||
	       healthy;
}

/* One wrmsr from WRMSR_GPA; 0, or -1 if the VM did not reach its hlt. */
static int wrmsr_once(struct minivm *m, unsigned int msr, unsigned long val)
{
	struct kvm_regs regs = {
		.rip = WRMSR_GPA, .rflags = 2,
		.rcx = msr, .rax = val & 0xffffffff, .rdx = val >> 32,
	};

	if (ioctl(m->vcpu, KVM_SET_REGS, &regs) < 0 || ioctl(m->vcpu, KVM_RUN, 0) < 0)
		return die("wrmsr run");
	return m->run->exit_reason == KVM_EXIT_HLT ? 0 : -1;
}

/* This VM's violation count, by HEKI_HC_STATS into @gpa; -1 on failure. */
static long violations(struct minivm *m, unsigned long gpa)
{
	struct heki_stats st;

	if (hcall(m->vcpu, m->run, HEKI_HC_STATS, gpa, sizeof(st), 0))
		return -1;
	memcpy(&st, m->mem + gpa, sizeof(st));
	return (long)st.violations;
}

static int kvm_writes_check(int kvm)
{
	long prot, before, after;
	int runs = 0, i;
	struct minivm m;

	if (minivm_make(kvm, &m, 1, 0))
		return 1;
	prot = hcall(m.vcpu, m.run, HEKI_HC_PROTECT, PROT_GPA, 1, HEKI_ATTR_RO);
	before = violations(&m, 0x3000);
	for (i = 0; i < 5; i++)
		runs += !wrmsr_once(&m, MSR_KVM_WALL_CLOCK_NEW, PROT_GPA);
	after = violations(&m, 0x3000);
	printf("kvm-writes: protect=%ld wall_clock_writes=%d counted=%ld\n", prot, runs,
	       after - before);
	close(m.vcpu);
	close(m.vm);
	return prot || runs != 5 || before < 0 || after - before != 5;
}

#define WINDOW_GPA	0x4000

static int auth_busy_check(int kvm)
{
	long prot, lock, open, busy, close_, auth;
	struct minivm m;

	if (minivm_make(kvm, &m, 1, 0))
		return 1;
	/* Executable, not immutable: a window there outlives any lockdown. */
	prot = hcall(m.vcpu, m.run, HEKI_HC_PROTECT, WINDOW_GPA, 1, HEKI_ATTR_EXEC);
	lock = hcall(m.vcpu, m.run, HEKI_HC_LOCKDOWN, 0, 0, 0);
	open = hcall(m.vcpu, m.run, HEKI_HC_WINDOW_OPEN, WINDOW_GPA, 1, 0);
	busy = hcall(m.vcpu, m.run, HEKI_HC_LOCKDOWN, HEKI_LOCK_AUTH, 0, 0);
	close_ = hcall(m.vcpu, m.run, HEKI_HC_WINDOW_CLOSE, WINDOW_GPA, 1, 0);
	auth = hcall(m.vcpu, m.run, HEKI_HC_LOCKDOWN, HEKI_LOCK_AUTH, 0, 0);
	printf("auth-busy: protect=%ld lock=%ld open=%ld auth_while_open=%ld close=%ld auth=%ld\n",
	       prot, lock, open, busy, close_, auth);
	close(m.vcpu);
	close(m.vm);
	return prot || lock || open || busy != -HEKI_EBUSY || close_ || auth;
}

/* Prints what views answer; 0 when they work as the host offers them. */
static int views_check(int kvm)
{
	struct heki_info info;
	long q, enter, leave;
	int view;
	struct minivm m;

	if (minivm_make(kvm, &m, 1, 0))
		return 1;
	q = hcall(m.vcpu, m.run, HEKI_HC_QUERY, 0x3000, sizeof(info), 0);
	memcpy(&info, m.mem + 0x3000, sizeof(info));
	view = !q && (info.features & HEKI_FEAT_VIEW);
	enter = hcall(m.vcpu, m.run, HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH, 0, 0);
	leave = hcall(m.vcpu, m.run, HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0);
	printf("views: query=%ld feature=%d enter=%ld leave=%ld\n", q, view, enter, leave);
	close(m.vcpu);
	close(m.vm);
	return q || (view ? enter || leave : enter != -HEKI_ENOSYS || leave != -HEKI_ENOSYS);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_run *run;
	unsigned long object;
	unsigned char *mem;
	long r1, r2;
	int kvm, vm, vcpu;
	sigset_t block, old;

	if (argc != 2) {
		fprintf(stderr, "usage: heki-minivm OBJECT | checks | views\n");
		return 2;
	}
	if (!strcmp(argv[1], "checks") || !strcmp(argv[1], "views")) {
		int r = 0;

		kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kvm < 0)
			return die("/dev/kvm");
		if (!strcmp(argv[1], "checks")) {
			r |= dirty_log_check(kvm, 0);
			fflush(stdout);
			r |= dirty_log_check(kvm, 1);
			fflush(stdout);
			r |= kvm_writes_check(kvm);
			fflush(stdout);
			r |= auth_busy_check(kvm);
			fflush(stdout);
		}
		r |= views_check(kvm);
		return r;
	}
	object = strtoul(argv[1], NULL, 0);
	/* Signals wait until the VM is up and waiting for them. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return die("KVM_CREATE_VM");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return die("mmap");
	/* vmmcall (AMD) or vmcall (Intel); hlt */
	memcpy(mem + CODE_GPA, is_intel() ? "\x0f\x01\xc1\xf4" : "\x0f\x01\xd9\xf4", 4);
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return die("KVM_CREATE_VCPU");
	run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
		   PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return die("mmap kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return die("KVM_SET_SREGS");

	r1 = report(vcpu, run, object);
	printf("minivm: report=%ld", r1);
	fflush(stdout);
	while (!go)
		sigsuspend(&old);
	r2 = report(vcpu, run, object + 1);
	printf(" %ld\n", r2);
	return r1 || r2;
}
