// SPDX-License-Identifier: GPL-2.0
/*
 * Heki host side: hypercall dispatch and the L1-visible status file.
 *
 * Built into our kvm.ko (see host/kvm.mk); reached from
 * kvm_emulate_hypercall() through the hook in patches/.  Everything a guest
 * passes is checked before use (heki_check.h) and every refusal has its own
 * HEKI_E* code.
 */
#include <linux/kvm_host.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/random.h>
#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/spinlock.h>

#include "x86.h"
#include "kvm_cache_regs.h"
#include "heki_host.h"
#include "heki_check.h"

static u64 heki_host_nonce;
static struct dentry *heki_debugfs_dir;

static atomic64_t heki_calls_total;
static atomic64_t heki_calls_query;
static atomic64_t heki_calls_pin_cr;
static atomic64_t heki_calls_refused;
static atomic64_t heki_violations;

/*
 * Per-VM state lives beside struct kvm, keyed by its address, rather than
 * in it: struct kvm comes from the kernel headers our kvm.ko is built
 * against, and must keep their layout.  Created by the VM's first Heki
 * request, freed from kvm_arch_destroy_vm() (hook patch) so that a new VM
 * at the same address never inherits it.
 */
struct heki_vm {
	struct hlist_node node;
	struct kvm *kvm;
	unsigned long cr_pinned[5];	/* indexed by CR number; 0 and 4 used */
};

static DEFINE_HASHTABLE(heki_vms, 6);
static DEFINE_SPINLOCK(heki_vms_lock);

/* Caller holds heki_vms_lock. */
static struct heki_vm *heki_vm_find(struct kvm *kvm)
{
	struct heki_vm *vm;

	hash_for_each_possible(heki_vms, vm, node, (unsigned long)kvm)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

void heki_vm_destroy(struct kvm *kvm)
{
	struct heki_vm *vm;

	spin_lock(&heki_vms_lock);
	vm = heki_vm_find(kvm);
	if (vm)
		hash_del(&vm->node);
	spin_unlock(&heki_vms_lock);
	kfree(vm);
}

/*
 * Violation log: the last HEKI_LOG_SIZE refused guest actions, host-wide,
 * readable at /sys/kernel/debug/heki/violations while guests run.
 */
#define HEKI_LOG_SIZE 256

struct heki_violation {
	u64 seq;
	pid_t vm_pid;		/* the VMM process (kvm->userspace_pid) */
	int vcpu;
	const char *kind;	/* "cr0", "cr4" */
	u64 rip;
	u64 old_value, new_value, pinned;
};

static struct heki_violation heki_log[HEKI_LOG_SIZE];
static u64 heki_log_next;
static DEFINE_SPINLOCK(heki_log_lock);

static void heki_log_violation(struct kvm_vcpu *vcpu, const char *kind,
			       u64 old_value, u64 new_value, u64 pinned)
{
	struct heki_violation *v;

	spin_lock(&heki_log_lock);
	v = &heki_log[heki_log_next % HEKI_LOG_SIZE];
	*v = (struct heki_violation){
		.seq = heki_log_next++,
		.vm_pid = vcpu->kvm->userspace_pid,
		.vcpu = vcpu->vcpu_id,
		.kind = kind,
		.rip = kvm_rip_read(vcpu),
		.old_value = old_value,
		.new_value = new_value,
		.pinned = pinned,
	};
	spin_unlock(&heki_log_lock);
	atomic64_inc(&heki_violations);
}

static u32 heki_vendor(void)
{
	if (!kvm_x86_ops.name)
		return HEKI_VENDOR_UNKNOWN;
	if (!strcmp(kvm_x86_ops.name, "kvm_amd"))
		return HEKI_VENDOR_AMD_SVM;
	if (!strcmp(kvm_x86_ops.name, "kvm_intel"))
		return HEKI_VENDOR_INTEL_VMX;
	return HEKI_VENDOR_UNKNOWN;
}

static long heki_query(struct kvm_vcpu *vcpu, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_info info = {};
	long ret;

	ret = heki_check_query(a0, a1, a2, a3);
	if (ret)
		return ret;

	info.abi_version = HEKI_ABI_VERSION;
	info.vendor = heki_vendor();
	info.features = HEKI_HOST_FEATURES;
	info.host_nonce = heki_host_nonce;
	info.calls = atomic64_read(&heki_calls_total);

	if (kvm_vcpu_write_guest(vcpu, a0, &info, sizeof(info)))
		return -HEKI_EFAULT;
	atomic64_inc(&heki_calls_query);
	return 0;
}

static long heki_pin_cr(struct kvm_vcpu *vcpu, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_vm *vm, *fresh;
	u64 cur;
	long ret;

	cur = a0 == 0 ? kvm_read_cr0(vcpu) : a0 == 4 ? kvm_read_cr4(vcpu) : 0;
	ret = heki_check_pin_cr(a0, a1, a2, a3, cur);
	if (ret)
		return ret;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	spin_lock(&heki_vms_lock);
	vm = heki_vm_find(vcpu->kvm);
	if (!vm && fresh) {
		vm = fresh;
		fresh = NULL;
		vm->kvm = vcpu->kvm;
		hash_add(heki_vms, &vm->node, (unsigned long)vcpu->kvm);
	}
	if (vm)
		WRITE_ONCE(vm->cr_pinned[a0], vm->cr_pinned[a0] | a1);
	spin_unlock(&heki_vms_lock);
	kfree(fresh);
	if (!vm)
		return -HEKI_ENOMEM;
	atomic64_inc(&heki_calls_pin_cr);
	return 0;
}

/*
 * Called by kvm_set_cr0()/kvm_set_cr4() for writes the guest makes (or
 * KVM emulates for it).  Returning true makes KVM refuse the write with
 * #GP, as for an invalid value.
 */
bool heki_cr_write_denied(struct kvm_vcpu *vcpu, int cr, unsigned long old,
			  unsigned long new)
{
	unsigned long pinned = 0;
	struct heki_vm *vm;

	/* Writes by a nested guest are L1's business, not ours. */
	if (is_guest_mode(vcpu))
		return false;
	spin_lock(&heki_vms_lock);
	vm = heki_vm_find(vcpu->kvm);
	if (vm)
		pinned = READ_ONCE(vm->cr_pinned[cr]);
	spin_unlock(&heki_vms_lock);
	if (!heki_cr_clears_pinned(old, new, pinned))
		return false;
	heki_log_violation(vcpu, cr ? "cr4" : "cr0", old, new, pinned);
	return true;
}

unsigned long heki_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
			     unsigned long a0, unsigned long a1,
			     unsigned long a2, unsigned long a3)
{
	long ret;

	atomic64_inc(&heki_calls_total);

	switch (nr) {
	case HEKI_HC_QUERY:
		ret = heki_query(vcpu, a0, a1, a2, a3);
		break;
	case HEKI_HC_PIN_CR:
		ret = heki_pin_cr(vcpu, a0, a1, a2, a3);
		break;
	default:
		ret = -HEKI_ENOSYS;
		break;
	}

	if (ret < 0)
		atomic64_inc(&heki_calls_refused);
	return ret;
}

/* One "key value" per line: the rig's L1 script forwards them verbatim. */
static int heki_status_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "abi_version %u.%u\n", HEKI_ABI_VERSION_MAJOR,
		   HEKI_ABI_VERSION_MINOR);
	seq_printf(m, "vendor %u\n", heki_vendor());
	seq_printf(m, "features 0x%llx\n", (unsigned long long)HEKI_HOST_FEATURES);
	seq_printf(m, "host_nonce 0x%016llx\n", heki_host_nonce);
	seq_printf(m, "calls_total %lld\n", atomic64_read(&heki_calls_total));
	seq_printf(m, "calls_query %lld\n", atomic64_read(&heki_calls_query));
	seq_printf(m, "calls_pin_cr %lld\n", atomic64_read(&heki_calls_pin_cr));
	seq_printf(m, "calls_refused %lld\n",
		   atomic64_read(&heki_calls_refused));
	seq_printf(m, "violations %lld\n", atomic64_read(&heki_violations));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_status);

/* One violation per line, oldest first: "seq=N vm_pid=P vcpu=V kind=K ...". */
static int heki_violations_show(struct seq_file *m, void *unused)
{
	u64 first, i;

	spin_lock(&heki_log_lock);
	first = heki_log_next > HEKI_LOG_SIZE ? heki_log_next - HEKI_LOG_SIZE : 0;
	for (i = first; i < heki_log_next; i++) {
		struct heki_violation *v = &heki_log[i % HEKI_LOG_SIZE];

		seq_printf(m, "seq=%llu vm_pid=%d vcpu=%d kind=%s rip=0x%llx old=0x%llx new=0x%llx pinned=0x%llx action=refused\n",
			   v->seq, v->vm_pid, v->vcpu, v->kind, v->rip,
			   v->old_value, v->new_value, v->pinned);
	}
	spin_unlock(&heki_log_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_violations);

void heki_host_init(void)
{
	heki_host_nonce = get_random_u64();
	heki_debugfs_dir = debugfs_create_dir("heki", NULL);
	debugfs_create_file("status", 0444, heki_debugfs_dir, NULL,
			    &heki_status_fops);
	debugfs_create_file("violations", 0444, heki_debugfs_dir, NULL,
			    &heki_violations_fops);
	pr_info("heki: host ABI %u.%u ready\n", HEKI_ABI_VERSION_MAJOR,
		HEKI_ABI_VERSION_MINOR);
}

void heki_host_exit(void)
{
	debugfs_remove_recursive(heki_debugfs_dir);
}
