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

/* One HEKI_HC_REPORT from CODE_GPA; the call's return value, or -1. */
static long report(int vcpu, struct kvm_run *run, unsigned long object)
{
	struct kvm_regs regs = {
		.rip = CODE_GPA, .rflags = 2,
		.rax = HEKI_HC_REPORT, .rbx = HEKI_REPORT_FOP, .rcx = 1,
		.rdx = object, .rsi = 0,
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
		fprintf(stderr, "usage: heki-minivm OBJECT\n");
		return 2;
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
