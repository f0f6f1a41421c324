// SPDX-License-Identifier: GPL-2.0
/*
 * Heki host side: hypercalls, CR pinning, second-stage write/exec denial,
 * the violation log and the L1-visible debugfs files.
 *
 * Built into our kvm.ko (host/prepare-tree.sh); reached from KVM through
 * the hooks in patches/.  Everything a guest passes is checked before use
 * (heki_check.h) and every refusal has its own HEKI_E* code (ABI.md).
 */
#include <linux/kvm_host.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/random.h>
#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>

#include "x86.h"
#include "kvm_cache_regs.h"
#include "kvm_emulate.h"
#include "mmu.h"
#include "mmu/spte.h"
#include "heki_host.h"
#include "heki_check.h"
#include "heki_store.h"

static u64 heki_host_nonce;
static struct dentry *heki_debugfs_dir;

static atomic64_t heki_calls_total;
static atomic64_t heki_calls_query;
static atomic64_t heki_calls_pin_cr;
static atomic64_t heki_calls_protect;
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
	struct rcu_head rcu;
	struct kvm *kvm;
	unsigned long cr_pinned[5];	/* indexed by CR number; 0 and 4 used */
	/*
	 * Frames with restricted permissions.  Readers (make_spte() under
	 * kvm->mmu_lock, the fault hook) take store_lock, a spinlock.  Writers
	 * take store_mutex, change a copy (allocating as they need) and swap
	 * it in under store_lock, so nothing sleeps under the spinlock.
	 */
	struct heki_store store;
	spinlock_t store_lock;
	struct mutex store_mutex;
};

/*
 * Lookups run on every second-stage entry KVM builds and every CR write, so
 * they walk the table under RCU; heki_vms_lock serialises changes only.  An
 * entry a caller gets stays valid: only its own VM's destruction frees it.
 */
static DEFINE_HASHTABLE(heki_vms, 6);
static DEFINE_SPINLOCK(heki_vms_lock);

/* Caller holds rcu_read_lock() or heki_vms_lock. */
static struct heki_vm *heki_vm_find(struct kvm *kvm)
{
	struct heki_vm *vm;

	hash_for_each_possible_rcu(heki_vms, vm, node, (unsigned long)kvm,
				   lockdep_is_held(&heki_vms_lock))
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/* Lookup without creating. */
static struct heki_vm *heki_vm_peek(struct kvm *kvm)
{
	struct heki_vm *vm;

	rcu_read_lock();
	vm = heki_vm_find(kvm);
	rcu_read_unlock();
	return vm;
}

/* The VM's state, created on first use; NULL only when out of memory. */
static struct heki_vm *heki_vm_get(struct kvm *kvm)
{
	struct heki_vm *vm = heki_vm_peek(kvm), *fresh;

	if (vm)
		return vm;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return NULL;
	fresh->kvm = kvm;
	heki_store_init(&fresh->store);
	spin_lock_init(&fresh->store_lock);
	mutex_init(&fresh->store_mutex);

	spin_lock(&heki_vms_lock);
	vm = heki_vm_find(kvm);	/* another vCPU may have won the race */
	if (!vm) {
		hash_add_rcu(heki_vms, &fresh->node, (unsigned long)kvm);
		vm = fresh;
		fresh = NULL;
	}
	spin_unlock(&heki_vms_lock);
	kfree(fresh);
	return vm;
}

void heki_vm_destroy(struct kvm *kvm)
{
	struct heki_vm *vm;

	spin_lock(&heki_vms_lock);
	vm = heki_vm_find(kvm);
	if (vm)
		hash_del_rcu(&vm->node);
	spin_unlock(&heki_vms_lock);
	if (!vm)
		return;
	heki_store_destroy(&vm->store);
	/* Other VMs' lookups may still be walking past this node. */
	kfree_rcu(vm, rcu);
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
	const char *kind;	/* "cr0", "cr4", "write", "exec" */
	u64 rip;
	/* cr*: old, new, pinned; write/exec: gpa, gva (~0 unknown), attrs */
	u64 a, b, c;
};

static struct heki_violation heki_log[HEKI_LOG_SIZE];
static u64 heki_log_next;
static DEFINE_SPINLOCK(heki_log_lock);

static void heki_log_violation(struct kvm_vcpu *vcpu, const char *kind,
			       u64 a, u64 b, u64 c)
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
		.a = a,
		.b = b,
		.c = c,
	};
	spin_unlock(&heki_log_lock);
	atomic64_inc(&heki_violations);
}

/* What this host implements (heki_info.features). */
static u64 heki_host_features(void)
{
	return HEKI_FEAT_QUERY | HEKI_FEAT_CR_PIN |
	       (tdp_enabled ? HEKI_FEAT_PROTECT : 0);
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
	info.features = heki_host_features();
	info.host_nonce = heki_host_nonce;
	info.calls = atomic64_read(&heki_calls_total);

	if (kvm_vcpu_write_guest(vcpu, a0, &info, sizeof(info)))
		return -HEKI_EFAULT;
	atomic64_inc(&heki_calls_query);
	return 0;
}

static long heki_pin_cr(struct kvm_vcpu *vcpu, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_vm *vm;
	u64 cur;
	long ret;

	cur = a0 == 0 ? kvm_read_cr0(vcpu) : a0 == 4 ? kvm_read_cr4(vcpu) : 0;
	ret = heki_check_pin_cr(a0, a1, a2, a3, cur);
	if (ret)
		return ret;
	vm = heki_vm_get(vcpu->kvm);
	if (!vm)
		return -HEKI_ENOMEM;
	spin_lock(&heki_vms_lock);
	WRITE_ONCE(vm->cr_pinned[a0], vm->cr_pinned[a0] | a1);
	spin_unlock(&heki_vms_lock);
	atomic64_inc(&heki_calls_pin_cr);
	return 0;
}

static long heki_store_error(int err)
{
	switch (err) {
	case HEKI_STORE_ENOPAGES:
	case HEKI_STORE_ERANGE:
		return -HEKI_ERANGE;
	case HEKI_STORE_EATTR:
		return -HEKI_EATTR;
	case HEKI_STORE_ETOOMANY:
		return -HEKI_E2BIG;
	default:
		return -HEKI_ENOMEM;
	}
}

static long heki_protect(struct kvm_vcpu *vcpu, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_store_change changed;
	struct heki_store next;
	gfn_t first, last;
	struct heki_vm *vm;
	long ret;
	int err;

	/*
	 * Denial happens in direct_page_fault(), which shadow paging does not
	 * use: without TDP (NPT/EPT) the call is unavailable, not unenforced.
	 */
	if (!tdp_enabled)
		return -HEKI_ENOSYS;
	ret = heki_check_protect(a0, a1, a2, a3);
	if (ret)
		return ret;
	first = gpa_to_gfn(a0);
	last = first + a1 - 1;
	/* Both ends in guest RAM; holes in between are harmless to track. */
	if (!kvm_vcpu_gfn_to_memslot(vcpu, first) ||
	    !kvm_vcpu_gfn_to_memslot(vcpu, last))
		return -HEKI_EFAULT;
	vm = heki_vm_get(vcpu->kvm);
	if (!vm)
		return -HEKI_ENOMEM;

	mutex_lock(&vm->store_mutex);
	err = heki_store_clone(&next, &vm->store);
	if (!err) {
		if ((a2 & (HEKI_ATTR_READ | HEKI_ATTR_WRITE | HEKI_ATTR_EXEC)) ==
		    (HEKI_ATTR_READ | HEKI_ATTR_WRITE | HEKI_ATTR_EXEC) &&
		    !(a2 & HEKI_ATTR_IMMUTABLE))
			err = heki_store_clear(&next, first, a1, &changed);
		else
			err = heki_store_set(&next, first, a1, (u32)a2, &changed);
	}
	if (!err) {
		spin_lock(&vm->store_lock);
		swap(vm->store, next);
		spin_unlock(&vm->store_lock);
	}
	heki_store_destroy(&next);	/* the old state, or the failed copy */
	mutex_unlock(&vm->store_mutex);
	if (err)
		return heki_store_error(err);

	/*
	 * Zap what changed, under KVM's invalidation protocol: a fault that
	 * read the old permissions either installed its SPTE before the zap
	 * (and loses it) or retries after it (and sees the new ones).
	 */
	if (!heki_store_change_empty(&changed))
		kvm_zap_gfn_range(vcpu->kvm, changed.first, changed.last_excl);
	atomic64_inc(&heki_calls_protect);
	return 0;
}

#define HEKI_RW_X (HEKI_ATTR_WRITE | HEKI_ATTR_EXEC)

/* The HEKI_ATTR_* of a frame, or -1 if it is not restricted. */
static long heki_frame_attrs(struct kvm *kvm, gfn_t gfn)
{
	struct heki_vm *vm = heki_vm_peek(kvm);
	long attrs = -1;
	u32 a;

	if (!vm)
		return -1;
	spin_lock(&vm->store_lock);
	if (heki_store_lookup(&vm->store, gfn, &a))
		attrs = a;
	spin_unlock(&vm->store_lock);
	return attrs;
}

/*
 * Called by make_spte() for every second-stage entry KVM builds, on every
 * path (TDP MMU, shadow MMU, prefetch): the permissions the guest gave up
 * are removed from the entry, so no later access can use them without a
 * fault that heki_page_fault_denied() sees.
 */
unsigned int heki_spte_access(struct kvm *kvm, gfn_t gfn, unsigned int access)
{
	long attrs;

	if (hash_empty(heki_vms))
		return access;
	attrs = heki_frame_attrs(kvm, gfn);
	if (attrs < 0)
		return access;
	if (!(attrs & HEKI_ATTR_WRITE))
		access &= ~ACC_WRITE_MASK;
	if (!(attrs & HEKI_ATTR_EXEC))
		access &= ~ACC_EXEC_MASK;
	return access;
}

/*
 * The linear address a faulting data access used: decoded from the guest's
 * instruction, because an NPT fault reports only the guest-physical one.
 * Returns ~0 when it cannot be known.
 */
static u64 heki_fault_gva(struct kvm_vcpu *vcpu)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	struct kvm_segment seg;

	if (x86_decode_emulated_instruction(vcpu, 0, NULL, 0) != EMULATION_OK)
		return ~0ull;
	if (ctxt->dst.type != OP_MEM)
		return ~0ull;
	if (ctxt->dst.addr.mem.seg == VCPU_SREG_FS ||
	    ctxt->dst.addr.mem.seg == VCPU_SREG_GS) {
		kvm_get_segment(vcpu, &seg, ctxt->dst.addr.mem.seg);
		return seg.base + ctxt->dst.addr.mem.ea;
	}
	return ctxt->dst.addr.mem.ea;
}

/*
 * Called first thing on a second-stage fault (direct_page_fault()).  A
 * write or fetch the guest gave up is not performed: the guest gets a #PF
 * with PRESENT|RSVD so its kernel neither retries it as a spurious fault
 * nor blames its own page tables, and its exception-table fixups (the
 * *_nofault accessors) recover.  Returns true when the fault was denied.
 */
bool heki_page_fault_denied(struct kvm_vcpu *vcpu, gpa_t gpa, bool write,
			    bool exec, u8 *max_level)
{
	struct x86_exception fault = {};
	gfn_t gfn = gpa_to_gfn(gpa);
	struct heki_vm *vm;
	long attrs = -1;
	u32 a;
	u64 gva;

	if (hash_empty(heki_vms) || is_guest_mode(vcpu))
		return false;
	vm = heki_vm_peek(vcpu->kvm);
	if (!vm)
		return false;

	/*
	 * A huge second-stage mapping would give the whole region one set of
	 * permissions: map at the largest level whose region holds no
	 * restricted frame.
	 */
	spin_lock(&vm->store_lock);
	if (heki_store_any_lacking(&vm->store,
				   gfn & ~(KVM_PAGES_PER_HPAGE(PG_LEVEL_2M) - 1),
				   KVM_PAGES_PER_HPAGE(PG_LEVEL_2M), HEKI_RW_X))
		*max_level = PG_LEVEL_4K;
	else if (*max_level > PG_LEVEL_2M &&
		 heki_store_any_lacking(&vm->store,
					gfn & ~(KVM_PAGES_PER_HPAGE(PG_LEVEL_1G) - 1),
					KVM_PAGES_PER_HPAGE(PG_LEVEL_1G), HEKI_RW_X))
		*max_level = PG_LEVEL_2M;
	if (heki_store_lookup(&vm->store, gfn, &a))
		attrs = a;
	spin_unlock(&vm->store_lock);

	if (!write && !exec)
		return false;
	if (attrs < 0 || (write && (attrs & HEKI_ATTR_WRITE)) ||
	    (exec && (attrs & HEKI_ATTR_EXEC)))
		return false;

	gva = exec ? kvm_rip_read(vcpu) : heki_fault_gva(vcpu);
	heki_log_violation(vcpu, exec ? "exec" : "write", gpa, gva, attrs);
	if (gva == ~0ull) {
		/* Nothing to report in CR2: stop the access with #GP instead. */
		kvm_inject_gp(vcpu, 0);
		return true;
	}
	fault.vector = PF_VECTOR;
	fault.error_code_valid = true;
	fault.error_code = PFERR_PRESENT_MASK | PFERR_RSVD_MASK |
			   (exec ? PFERR_FETCH_MASK : PFERR_WRITE_MASK);
	fault.address = gva;
	kvm_inject_page_fault(vcpu, &fault);
	return true;
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
	vm = heki_vm_peek(vcpu->kvm);
	if (vm)
		pinned = READ_ONCE(vm->cr_pinned[cr]);
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
	case HEKI_HC_PROTECT:
		ret = heki_protect(vcpu, a0, a1, a2, a3);
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
	seq_printf(m, "features 0x%llx\n", heki_host_features());
	seq_printf(m, "host_nonce 0x%016llx\n", heki_host_nonce);
	seq_printf(m, "calls_total %lld\n", atomic64_read(&heki_calls_total));
	seq_printf(m, "calls_query %lld\n", atomic64_read(&heki_calls_query));
	seq_printf(m, "calls_pin_cr %lld\n", atomic64_read(&heki_calls_pin_cr));
	seq_printf(m, "calls_protect %lld\n", atomic64_read(&heki_calls_protect));
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

		seq_printf(m, "seq=%llu vm_pid=%d vcpu=%d kind=%s rip=0x%llx ",
			   v->seq, v->vm_pid, v->vcpu, v->kind, v->rip);
		if (v->kind[0] == 'c')
			seq_printf(m, "old=0x%llx new=0x%llx pinned=0x%llx",
				   v->a, v->b, v->c);
		else
			seq_printf(m, "gfn=0x%llx gpa=0x%llx gva=0x%llx attrs=0x%llx",
				   v->a >> PAGE_SHIFT, v->a, v->b, v->c);
		seq_puts(m, " action=refused\n");
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
