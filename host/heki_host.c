// SPDX-License-Identifier: GPL-2.0
/*
 * Heki host side: hypercalls, CR pinning, second-stage write/exec denial
 * and the L1-visible debugfs files; the violation log is heki_log*.c.
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
#include <linux/delay.h>

#include "x86.h"
#include "kvm_cache_regs.h"
#include "kvm_emulate.h"
#include "mmu.h"
#include "mmu/spte.h"
#include "heki_host.h"
#include "heki_check.h"
#include "heki_store.h"
#include "heki_window.h"
#include "heki_patch.h"
#include "heki_log.h"

#include <asm/unaligned.h>
#include <asm/insn.h>

static u64 heki_host_nonce;
static struct dentry *heki_debugfs_dir;

/* Host-wide counters, shown in debugfs heki/status. */
static atomic64_t heki_calls_total;
static atomic64_t heki_calls_refused;
static atomic64_t heki_calls_user;	/* refused: made from CPL > 0 */
static atomic64_t heki_violations;
static atomic64_t heki_zaps;
static atomic64_t heki_zapped_frames;
static atomic64_t heki_resets;		/* VMs reset by their VMM (heki_vm_reset()) */

/*
 * Test only: 0 by default, and then nothing changes.  The rig sets it so a
 * guest test on two vCPUs lands inside a race window every time, even
 * under an emulator: the host waits this long (at most 1 s) where a race
 * must be lost safely.  A lockdown that takes effect waits between its
 * checks and its state change (heki_lockdown()); a second-stage fault
 * waits right after its huge-page limit is decided
 * (heki_max_mapping_level()), only when the faulting vCPU holds
 * HEKI_TEST_DELAY_TAG in R12: faults are too many to slow them all.
 */
static unsigned int heki_test_delay_us;
module_param(heki_test_delay_us, uint, 0644);
MODULE_PARM_DESC(heki_test_delay_us,
		 "test only: microseconds the host waits inside two race windows (0: none)");

static void heki_test_delay(const char *where, u64 gfn, int level)
{
	unsigned int us = min(READ_ONCE(heki_test_delay_us), 1000000u);

	if (!us)
		return;
	pr_info("heki: test delay %u us in %s gfn 0x%llx level %d\n", us,
		where, gfn, level);
	/*
	 * Asleep where it may: a busy wait would keep the other vCPU's
	 * thread, if L1 put it on this CPU, from ever entering the window.
	 */
	if (preemptible()) {
		fsleep(us);
		return;
	}
	mdelay(us / 1000);
	udelay(us % 1000);
}

/* The running vCPU asked for the fault-path delay (see above). */
static bool heki_test_tagged(void)
{
	struct kvm_vcpu *vcpu;

	if (likely(!READ_ONCE(heki_test_delay_us)))
		return false;
	vcpu = kvm_get_running_vcpu();
	return vcpu && kvm_register_read_raw(vcpu, VCPU_REGS_R12) ==
		       HEKI_TEST_DELAY_TAG;
}

/*
 * Per-VM state lives beside struct kvm, keyed by its address, rather than
 * in it: struct kvm comes from the kernel headers our kvm.ko is built
 * against, and must keep their layout.  Created by the VM's first Heki
 * request, freed from kvm_arch_destroy_vm() (hook patch) so that a new VM
 * at the same address never inherits it.
 */
/* vCPUs (by vcpu_idx) that can have views; others get -HEKI_EINVAL. */
#define HEKI_VIEW_VCPUS 256

struct heki_vm {
	struct hlist_node node;
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
	/* Write windows: changed and read under store_lock only. */
	struct heki_windows windows;
	bool locked;			/* HEKI_HC_LOCKDOWN; set under store_mutex and store_lock */
	/*
	 * HEKI_LOCK_AUTH taken (implies locked).  Set under store_mutex;
	 * read locklessly: once set, sites and ranges never change again.
	 */
	bool auth;
	/* Patch sites (HEKI_HC_SITES, HEKI_HC_PATCH): under store_mutex. */
	struct heki_sites sites;
	atomic64_t kvm_denials;		/* heki_kvm_write_denied() said no */
	/* struct heki_stats, as far as the VM's own counters go. */
	atomic64_t calls, refused, ranges_applied, windows_opened;
	atomic64_t windows_closed, violations, zaps, zapped_frames;
	atomic64_t view_switches, patches, resets;
	atomic64_t dirty_log_refused;	/* heki_dirty_log_denied() said no */
	/* Its violation log (heki_log_kvm.c); vm_seq is violations above. */
	struct heki_vlog *log;
	/*
	 * Patch-view nesting per vCPU (by vcpu_idx); > 0: the vCPU runs on
	 * its patch-view root.  Only the vCPU itself changes its entry.
	 */
	u8 view_depth[HEKI_VIEW_VCPUS];
	/*
	 * For the record of a vCPU's death (heki_vcpu_shutdown()), per vCPU
	 * (by vcpu_idx): its last Heki call (index in heki_calls + 1, 0:
	 * none) with its first argument, and the last address it asked the
	 * host to patch (0: none).  Only the vCPU itself writes its entries.
	 */
	u8 last_hc[HEKI_VIEW_VCPUS];
	u64 last_hc_a0[HEKI_VIEW_VCPUS];
	u64 last_patch[HEKI_VIEW_VCPUS];
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
	fresh->log = heki_vlog_create(kvm);
	if (!fresh->log) {
		kfree(fresh);
		return NULL;
	}
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
	if (fresh)
		heki_vlog_discard(fresh->log);
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
	/*
	 * Wait out every RCU reader (other VMs' lookups walking past this
	 * node, heki/status reading vm->kvm): struct kvm itself is freed
	 * right after this hook, without a grace period of its own.
	 */
	synchronize_rcu();
	heki_vlog_release(vm->log);
	heki_store_destroy(&vm->store);
	kvfree(vm->sites.site);
	kvfree(vm->sites.func);
	kvfree(vm->sites.int3);
	kfree(vm);
}

/*
 * Heki state belongs to one boot of the guest, not to the VM object, which
 * a VMM keeps across a reboot: QEMU's system reset puts every vCPU back
 * into real mode through KVM_SET_SREGS(2) and runs the firmware again in
 * the same VM.  A new boot must start unprotected (its firmware and early
 * kernel write their own text; last boot's immutable frames would crash
 * it), so vCPU 0 set to real mode by the VMM drops the VM's pins, ranges,
 * windows, views, sites and lockdown.  Only the VMM can do this: a guest
 * cannot issue the ioctl, and a guest-initiated reset (INIT, triple fault,
 * reboot) reaches KVM_SET_SREGS only through its VMM.  State is reset in
 * place under the VM's locks (counters and vm_seq go on), since vCPUs of
 * the VM may still hold its pointer; every second-stage entry is zapped.
 */
static void heki_vm_reset(struct kvm *kvm, struct heki_vm *vm)
{
	struct heki_store old;
	int idx;

	heki_store_init(&old);
	mutex_lock(&vm->store_mutex);
	spin_lock(&vm->store_lock);
	swap(vm->store, old);
	memset(&vm->windows, 0, sizeof(vm->windows));
	WRITE_ONCE(vm->locked, false);
	WRITE_ONCE(vm->auth, false);
	spin_unlock(&vm->store_lock);
	heki_sites_reset(&vm->sites);
	memset(vm->view_depth, 0, sizeof(vm->view_depth));
	mutex_unlock(&vm->store_mutex);
	spin_lock(&heki_vms_lock);
	memset(vm->cr_pinned, 0, sizeof(vm->cr_pinned));
	spin_unlock(&heki_vms_lock);
	heki_store_destroy(&old);
	/* An ioctl, not vcpu_run: the memslots need the SRCU read side here. */
	idx = srcu_read_lock(&kvm->srcu);
	kvm_zap_gfn_range(kvm, 0, HEKI_MAX_GFN);
	srcu_read_unlock(&kvm->srcu, idx);
	atomic64_inc(&vm->resets);
	atomic64_inc(&heki_resets);
	pr_info_ratelimited("heki: VM %d reset by its VMM: Heki state dropped, the next boot starts unprotected\n",
			    kvm->userspace_pid);
}

void heki_vcpu_sregs_set(struct kvm_vcpu *vcpu, unsigned long cr0)
{
	struct heki_vm *vm;

	if (vcpu->vcpu_idx || (cr0 & X86_CR0_PE) || hash_empty(heki_vms))
		return;
	vm = heki_vm_peek(vcpu->kvm);
	if (vm)
		heki_vm_reset(vcpu->kvm, vm);
}

/*
 * One refusal, numbered with the VM's violation count and offered to its
 * log (heki_log_kvm.c).  @vcpu is the vCPU the refusal happened on, or
 * NULL when KVM acted outside a vCPU (then vcpu=-1 cpl=-1 mode=none rip=0).
 */
static void heki_log_record(struct kvm *kvm, struct kvm_vcpu *vcpu,
			    const char *kind, const char *via, u64 a, u64 b,
			    u64 c)
{
	struct heki_vm *vm = heki_vm_peek(kvm);

	heki_vlog_record(vm ? vm->log : NULL, kvm, vcpu,
			 vm ? atomic64_inc_return(&vm->violations) : 0,
			 kind, via, a, b, c);
	atomic64_inc(&heki_violations);
}

static void heki_log_violation(struct kvm_vcpu *vcpu, const char *kind,
			       const char *via, u64 a, u64 b, u64 c)
{
	heki_log_record(vcpu->kvm, vcpu, kind, via, a, b, c);
}

/* kvm-intel.ko's EPTP switching, when it is loaded (heki_vmfunc.c). */
static const struct heki_vmfunc_ops *heki_vmfunc_ops;
static DEFINE_MUTEX(heki_vmfunc_lock);	/* register/unregister vs. calls */
/*
 * Its supported(), asked once at registration: feature queries (debugfs
 * included) never call into a module that may be unloading.
 */
static bool heki_vmfunc_supported;

void heki_vmfunc_register(const struct heki_vmfunc_ops *ops)
{
	mutex_lock(&heki_vmfunc_lock);
	WRITE_ONCE(heki_vmfunc_supported, false);
	WRITE_ONCE(heki_vmfunc_ops, ops);
	if (ops)
		WRITE_ONCE(heki_vmfunc_supported, ops->supported());
	mutex_unlock(&heki_vmfunc_lock);
}
EXPORT_SYMBOL_GPL(heki_vmfunc_register);

/* What this host implements (heki_info.features), for @kvm if given. */
static u64 heki_host_features(struct kvm *kvm)
{
	u64 f = HEKI_FEAT_QUERY | HEKI_FEAT_CR_PIN | HEKI_FEAT_LOCKDOWN |
		HEKI_FEAT_STATS | HEKI_FEAT_REPORT;

	/*
	 * Denial happens in direct_page_fault(), which shadow paging does not
	 * use: without TDP (NPT/EPT) memory protection is unavailable, not
	 * unenforced.
	 */
	if (tdp_enabled)
		f |= HEKI_FEAT_PROTECT | HEKI_FEAT_BATCH | HEKI_FEAT_WINDOW |
		     HEKI_FEAT_AUTH;
	/*
	 * A view is a root of its own (its role's quadrant), which only the
	 * TDP MMU keeps apart: with kvm.tdp_mmu=0 both views would share one
	 * root and every write would fault again forever.
	 */
	if (tdp_enabled && (!kvm || is_tdp_mmu_enabled(kvm)))
		f |= HEKI_FEAT_VIEW;
	if ((f & HEKI_FEAT_VIEW) && READ_ONCE(heki_vmfunc_supported))
		f |= HEKI_FEAT_VMFUNC;
	return f;
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

/*
 * The frame's HEKI_ATTR_* in @view, WRITE added while a window is open or,
 * in the patch view, to executable frames (after an authenticated lockdown
 * only to those that are not IMMUTABLE); -1 if the frame is free.
 */
static long heki_view_attrs(struct heki_vm *vm, gfn_t gfn, unsigned int view)
{
	bool auth = READ_ONCE(vm->auth);
	long attrs = -1;
	u32 a;

	spin_lock(&vm->store_lock);
	if (heki_store_lookup(&vm->store, gfn, &a)) {
		attrs = a;
		if (!(a & HEKI_ATTR_WRITE) &&
		    ((view == HEKI_VIEW_PATCH && (a & HEKI_ATTR_EXEC) &&
		      !(auth && (a & HEKI_ATTR_IMMUTABLE))) ||
		     heki_windows_count(&vm->windows, gfn)))
			attrs |= HEKI_ATTR_WRITE;
	}
	spin_unlock(&vm->store_lock);
	return attrs;
}

static long heki_effective_attrs(struct heki_vm *vm, gfn_t gfn)
{
	return heki_view_attrs(vm, gfn, HEKI_VIEW_NORMAL);
}

unsigned int heki_root_view(struct kvm_vcpu *vcpu)
{
	struct heki_vm *vm;

	if (hash_empty(heki_vms) || vcpu->vcpu_idx >= HEKI_VIEW_VCPUS)
		return HEKI_VIEW_NORMAL;
	vm = heki_vm_peek(vcpu->kvm);
	return vm && READ_ONCE(vm->view_depth[vcpu->vcpu_idx]) ? HEKI_VIEW_PATCH :
								 HEKI_VIEW_NORMAL;
}

/* The view of the root the vCPU runs on now (TDP roots only carry one). */
static unsigned int heki_vcpu_view(struct kvm_vcpu *vcpu)
{
	return tdp_enabled && vcpu->arch.mmu->root_role.direct ?
	       vcpu->arch.mmu->root_role.quadrant : HEKI_VIEW_NORMAL;
}

static bool heki_write_protected(struct kvm *kvm, gfn_t gfn)
{
	struct heki_vm *vm = heki_vm_peek(kvm);
	long attrs;

	if (!vm)
		return false;
	attrs = heki_effective_attrs(vm, gfn);
	return attrs >= 0 && !(attrs & HEKI_ATTR_WRITE);
}

/*
 * Results the host writes into guest memory: never into a frame Heki
 * write-protects, or the call would be a way around the protection.
 */
static long heki_write_result(struct kvm_vcpu *vcpu, gpa_t gpa,
			      const void *data, unsigned long len)
{
	if (heki_write_protected(vcpu->kvm, gpa_to_gfn(gpa)))
		return -HEKI_EWRPROT;
	if (kvm_vcpu_write_guest(vcpu, gpa, data, len))
		return -HEKI_EFAULT;
	return 0;
}

static bool heki_in_ram(struct kvm_vcpu *vcpu, gfn_t first, u64 npages)
{
	/* Both ends in guest RAM; holes in between are harmless to track. */
	return kvm_vcpu_gfn_to_memslot(vcpu, first) &&
	       kvm_vcpu_gfn_to_memslot(vcpu, first + npages - 1);
}

/*
 * Whether the VMM logs dirty pages (KVM_MEM_LOG_DIRTY_PAGES, by bitmap or
 * by ring) in a memslot overlapping [gfn, gfn + npages): a migration under
 * way, which would not carry a new protection there to its destination.
 * The caller holds kvm->srcu (a hypercall runs inside vcpu_run).
 */
static bool heki_dirty_logged(struct kvm_vcpu *vcpu, gfn_t gfn, u64 npages)
{
	struct kvm_memslot_iter iter;

	kvm_for_each_memslot_in_gfn_range(&iter, kvm_vcpu_memslots(vcpu), gfn,
					  gfn + npages)
		if (iter.slot->flags & KVM_MEM_LOG_DIRTY_PAGES)
			return true;
	return false;
}

static long heki_query(struct kvm_vcpu *vcpu, struct heki_vm *vm,
		       u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_info info = {};
	long ret;

	ret = heki_check_query(a0, a1, a2, a3);
	if (ret)
		return ret;

	info.abi_version = HEKI_ABI_VERSION;
	info.vendor = heki_vendor();
	info.features = heki_host_features(vcpu->kvm);
	info.host_nonce = heki_host_nonce;
	info.calls = atomic64_read(&vm->calls);	/* this VM's, as documented */
	return heki_write_result(vcpu, a0, &info, sizeof(info));
}

static long heki_pin_cr(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			u64 a0, u64 a1, u64 a2, u64 a3)
{
	u64 cur;
	long ret;

	cur = a0 == 0 ? kvm_read_cr0(vcpu) : a0 == 4 ? kvm_read_cr4(vcpu) : 0;
	ret = heki_check_pin_cr(a0, a1, a2, a3, cur);
	if (ret)
		return ret;
	spin_lock(&heki_vms_lock);
	WRITE_ONCE(vm->cr_pinned[a0], vm->cr_pinned[a0] | a1);
	spin_unlock(&heki_vms_lock);
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

/* Zaps [first, last_excl) so the next access rebuilds it with new rights. */
static void heki_zap(struct kvm *kvm, struct heki_vm *vm, gfn_t first,
		     gfn_t last_excl)
{
	kvm_zap_gfn_range(kvm, first, last_excl);
	atomic64_inc(&vm->zaps);
	atomic64_add(last_excl - first, &vm->zapped_frames);
	atomic64_inc(&heki_zaps);
	atomic64_add(last_excl - first, &heki_zapped_frames);
}

/*
 * Applies @n checked ranges in order, all or nothing.  After lockdown an
 * entry that would weaken an immutable frame (judged against the entries
 * before it) refuses the whole request.
 *
 * A guest chooses how often it calls and how fragmented its store is, so
 * everything is decided on the live store first, in O(log n) per entry:
 * refusals and requests that change nothing never copy it.  The only
 * changing entry of a request that keeps the number of ranges is made in
 * place under store_lock (O(log n) there); anything else is applied to a
 * copy (O(n), allocated outside the spinlock) that is swapped in.
 */
static long heki_apply_ranges(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			      const struct heki_range *r, unsigned int n)
{
	const struct heki_range *bad = NULL;
	struct heki_store_change *changed = NULL;
	struct heki_store next, over;
	unsigned int i, first = n;
	long ret = 0;
	int err = 0;

	for (i = 0; i < n; i++) {
		ret = heki_check_range(&r[i]);
		if (!ret && !heki_in_ram(vcpu, gpa_to_gfn(r[i].gpa), r[i].npages))
			ret = -HEKI_EFAULT;
		if (ret)
			return ret;
		if (!heki_attrs_release(r[i].attrs) &&
		    heki_dirty_logged(vcpu, gpa_to_gfn(r[i].gpa), r[i].npages)) {
			heki_log_violation(vcpu, "migrate", "hypercall", r[i].gpa,
					   ~0ull, r[i].attrs);
			return -HEKI_EDIRTYLOG;
		}
	}

	mutex_lock(&vm->store_mutex);
	/*
	 * On the live store (only store_mutex holders change it).  Until an
	 * entry changes something the live store is what the entries before
	 * saw; after it, @over holds what they set (0: released), for the
	 * weakening checks.
	 */
	heki_store_init(&over);
	for (i = 0; i < n; i++) {
		gfn_t gfn = gpa_to_gfn(r[i].gpa);
		bool release = heki_attrs_release(r[i].attrs);

		if (vm->locked &&
		    heki_store_weakens_over(&vm->store, &over, gfn,
					    r[i].npages, release, r[i].attrs)) {
			bad = &r[i];
			break;
		}
		if (first == n &&
		    heki_store_changes(&vm->store, gfn, r[i].npages, release,
				       (u32)r[i].attrs))
			first = i;
		if (first < n && vm->locked && i + 1 < n) {
			err = heki_store_set(&over, gfn, r[i].npages,
					     release ? 0 : (u32)r[i].attrs, NULL);
			if (err)
				break;
		}
	}
	heki_store_destroy(&over);
	if (err || bad || first == n)
		goto unlock;

	changed = kcalloc(n, sizeof(*changed), GFP_KERNEL_ACCOUNT);
	if (!changed) {
		err = HEKI_STORE_ENOMEM;
		goto unlock;
	}
	if (first == n - 1) {
		spin_lock(&vm->store_lock);
		err = heki_store_update_inplace(&vm->store,
						gpa_to_gfn(r[first].gpa),
						r[first].npages,
						heki_attrs_release(r[first].attrs),
						(u32)r[first].attrs,
						&changed[first]);
		spin_unlock(&vm->store_lock);
		if (err != HEKI_STORE_EAGAIN)
			goto unlock;
	}
	err = heki_store_clone(&next, &vm->store);
	for (i = first; !err && i < n; i++) {
		gfn_t gfn = gpa_to_gfn(r[i].gpa);

		if (heki_attrs_release(r[i].attrs))
			err = heki_store_clear(&next, gfn, r[i].npages,
					       &changed[i]);
		else
			err = heki_store_set(&next, gfn, r[i].npages,
					     (u32)r[i].attrs, &changed[i]);
	}
	if (!err) {
		spin_lock(&vm->store_lock);
		swap(vm->store, next);
		spin_unlock(&vm->store_lock);
	}
	heki_store_destroy(&next);	/* the old state, or the failed copy */
unlock:
	mutex_unlock(&vm->store_mutex);

	if (bad) {
		heki_log_violation(vcpu, "protect", "hypercall", bad->gpa,
				   bad->npages, bad->attrs);
		return -HEKI_ELOCKED;
	}
	if (err) {
		kfree(changed);
		return heki_store_error(err);
	}

	/*
	 * Zap what changed, under KVM's invalidation protocol: a fault that
	 * read the old permissions either installed its SPTE before the zap
	 * (and loses it) or retries after it (and sees the new ones).
	 */
	for (i = first; i < n; i++)
		if (!heki_store_change_empty(&changed[i]))
			heki_zap(vcpu->kvm, vm, changed[i].first,
				 changed[i].last_excl);
	kfree(changed);
	atomic64_add(n, &vm->ranges_applied);
	return 0;
}

static long heki_protect(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			 u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_range r = { .gpa = a0, .npages = a1, .attrs = a2,
				.reserved = a3 };

	return heki_apply_ranges(vcpu, vm, &r, 1);
}

static long heki_protect_batch(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			       u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_range *r;
	long ret;

	ret = heki_check_batch(a0, a1, a2, a3);
	if (ret)
		return ret;
	/* One page at most (heki_check_batch()); read it once, then trust it. */
	r = kmalloc_array(a1, sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -HEKI_ENOMEM;
	if (kvm_vcpu_read_guest(vcpu, a0, r, a1 * sizeof(*r)))
		ret = -HEKI_EFAULT;
	else
		ret = heki_apply_ranges(vcpu, vm, r, a1);
	kfree(r);
	return ret;
}

/* A refused patch request: kind "patch", with why (enum heki_patch_reason). */
static void heki_log_patch(struct kvm_vcpu *vcpu, enum heki_patch_reason why,
			   u64 gpa, u64 gva, u64 len)
{
	heki_log_violation(vcpu, "patch", "hypercall", gpa, gva, len << 8 | why);
}

/*
 * Whether a frame of [gfn, gfn + n) is one a locked-down VM (@auth: with
 * authentication) may not open a window on.  After any lockdown: an IMMUTABLE frame without EXEC (const rodata,
 * ro_after_init: text_poke() writes code only, and lockdown means
 * immutable for data in every mode).  After an authenticated one also any
 * IMMUTABLE frame (kernel text: HEKI_HC_PATCH only) and any restricted
 * frame without EXEC (module rodata).  Caller holds store_lock.
 */
static bool heki_frames_forbidden(struct heki_vm *vm, gfn_t gfn, u64 n,
				  bool auth)
{
	u32 a;

	while (n--) {
		if (!heki_store_lookup(&vm->store, gfn++, &a))
			continue;
		if ((a & HEKI_ATTR_IMMUTABLE) && !(a & HEKI_ATTR_EXEC))
			return true;
		if (auth && ((a & HEKI_ATTR_IMMUTABLE) || !(a & HEKI_ATTR_EXEC)))
			return true;
	}
	return false;
}

/* The same for a locked VM under its own rules; false before lockdown. */
static bool heki_window_forbidden(struct heki_vm *vm, gfn_t gfn, u64 n)
{
	return vm->locked && heki_frames_forbidden(vm, gfn, n, READ_ONCE(vm->auth));
}

/*
 * Whether an open window would outlive the rules of a lockdown (@auth:
 * authenticated): with authentication any window (heki.ko takes it under
 * text_mutex, with no poke in flight), without it one on a frame the
 * lockdown forbids windows on.  Caller holds store_lock.
 */
static bool heki_windows_outlive(struct heki_vm *vm, bool auth)
{
	unsigned int i;

	if (auth)
		return vm->windows.frames;
	for (i = 0; i < HEKI_WINDOW_MAX_FRAMES && vm->windows.frames; i++)
		if (vm->windows.slot[i].count &&
		    heki_frames_forbidden(vm, vm->windows.slot[i].gfn, 1, false))
			return true;
	return false;
}

static long heki_window(struct kvm_vcpu *vcpu, struct heki_vm *vm, bool open,
			u64 a0, u64 a1, u64 a2, u64 a3)
{
	gfn_t gfn = gpa_to_gfn(a0);
	bool refused = false;
	u32 flipped;
	unsigned int i;
	long ret;

	ret = heki_check_window(a0, a1, a2, a3);
	if (ret)
		return ret;
	if (!heki_in_ram(vcpu, gfn, a1))
		return -HEKI_EFAULT;

	spin_lock(&vm->store_lock);
	/* Checked and opened under one lock with lockdown's own check. */
	if (open && heki_window_forbidden(vm, gfn, a1))
		refused = true;
	else if (open)
		ret = heki_windows_open(&vm->windows, gfn, a1, &flipped);
	else
		ret = heki_windows_close(&vm->windows, gfn, a1, &flipped);
	spin_unlock(&vm->store_lock);
	if (refused) {
		heki_log_patch(vcpu, HEKI_PR_WINDOW, a0, ~0ull, a1 << PAGE_SHIFT);
		return -HEKI_ESITE;
	}
	if (ret)
		return ret;

	if (open) {
		/*
		 * Nothing to zap: the first write faults on the read-only
		 * entry, and make_spte() now grants WRITE.
		 */
		atomic64_inc(&vm->windows_opened);
		return 0;
	}
	/* Last window on a frame closed: take WRITE out of its entries. */
	for (i = 0; i < a1; i++)
		if ((flipped & (1u << i)) &&
		    heki_write_protected(vcpu->kvm, gfn + i))
			heki_zap(vcpu->kvm, vm, gfn + i, gfn + i + 1);
	atomic64_inc(&vm->windows_closed);
	return 0;
}

static long heki_window_open(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			     u64 a0, u64 a1, u64 a2, u64 a3)
{
	return heki_window(vcpu, vm, true, a0, a1, a2, a3);
}

static long heki_window_close(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			      u64 a0, u64 a1, u64 a2, u64 a3)
{
	return heki_window(vcpu, vm, false, a0, a1, a2, a3);
}

/*
 * Locks down, or adds authentication to a lockdown taken without it.
 * Taking authentication rebuilds every second-stage entry once, so no
 * patch-view entry keeps WRITE on an immutable frame.
 */
static long heki_lockdown(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			  u64 a0, u64 a1, u64 a2, u64 a3)
{
	long ret = heki_check_lockdown(a0, a1, a2, a3);
	bool auth = a0 & HEKI_LOCK_AUTH, zap = false;

	if (ret)
		return ret;
	mutex_lock(&vm->store_mutex);
	/*
	 * Under store_lock too: heki_window() checks the rules and opens a
	 * window under it, so no window opened under the old rules can
	 * survive a lockdown that forbids it.
	 */
	spin_lock(&vm->store_lock);
	if (vm->locked && (!auth || vm->auth)) {
		ret = -HEKI_ELOCKED;
	} else if (heki_windows_outlive(vm, auth)) {
		/* A window open now would outlive the rule that forbids it. */
		ret = -HEKI_EBUSY;
	} else {
		/* A window call now waits for store_lock, then meets the rules. */
		heki_test_delay("lockdown", 0, 0);
		WRITE_ONCE(vm->locked, true);
		if (auth) {
			WRITE_ONCE(vm->auth, true);
			zap = true;
		}
	}
	spin_unlock(&vm->store_lock);
	mutex_unlock(&vm->store_mutex);
	/* Named in the log: whoever holds the windows is the cause. */
	if (ret == -HEKI_EBUSY)
		heki_log_patch(vcpu, HEKI_PR_LOCK_BUSY, 0, ~0ull, 0);
	if (zap) {
		kvm_zap_gfn_range(vcpu->kvm, 0, HEKI_MAX_GFN);
		atomic64_inc(&vm->zaps);
		atomic64_inc(&heki_zaps);
	}
	return ret;
}

/*
 * Grows a registration array (@elem bytes an entry) by doubling, up to
 * @max, so that @need entries fit.  Caller holds store_mutex.
 */
static int heki_grow(void **arr, unsigned int *cap, unsigned int n,
		     unsigned int need, unsigned int max, size_t elem)
{
	unsigned int ncap;
	void *grown;

	if (need <= *cap || *cap >= max)
		return 0;	/* room, or heki_sites_add() says E2BIG */
	ncap = min_t(unsigned int, max, max_t(unsigned int, 2 * *cap, 4096));
	while (ncap < need && ncap < max)
		ncap = min_t(unsigned int, max, 2 * ncap);
	grown = kvmalloc_array(ncap, elem, GFP_KERNEL_ACCOUNT);
	if (!grown)
		return -HEKI_ENOMEM;
	if (n)
		memcpy(grown, *arr, n * elem);
	kvfree(*arr);
	*arr = grown;
	*cap = ncap;
	return 0;
}

/*
 * Registers patch sites and function entries before lockdown.  The arrays
 * grow by doubling up to HEKI_SITES_MAX / HEKI_FUNCS_MAX (a Debian kernel
 * has ~60,000 sites and about as many text symbols); the INT3 table is
 * allocated with the first batch.
 */
static long heki_sites(struct kvm_vcpu *vcpu, struct heki_vm *vm,
		       u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_sites *s = &vm->sites;
	struct heki_site *buf = NULL;
	unsigned int nf;
	long ret;

	ret = heki_check_sites(a0, a1, a2, a3);
	if (ret)
		return ret;
	if (a1) {
		buf = kmalloc_array(a1, sizeof(*buf), GFP_KERNEL_ACCOUNT);
		if (!buf)
			return -HEKI_ENOMEM;
		if (kvm_vcpu_read_guest(vcpu, a0, buf, a1 * sizeof(*buf))) {
			kfree(buf);
			return -HEKI_EFAULT;
		}
	}
	nf = a1 ? heki_sites_count_funcs(buf, a1) : 0;
	mutex_lock(&vm->store_mutex);
	if (vm->locked) {
		ret = -HEKI_ELOCKED;
		goto out;
	}
	if (!s->int3) {
		s->int3 = kvcalloc(HEKI_INT3_MAX, sizeof(*s->int3),
				   GFP_KERNEL_ACCOUNT);
		if (!s->int3) {
			ret = -HEKI_ENOMEM;
			goto out;
		}
	}
	if (a2 & HEKI_SITES_RESET)
		heki_sites_reset(s);
	ret = heki_grow((void **)&s->site, &s->cap, s->n, s->n + a1 - nf,
			HEKI_SITES_MAX, sizeof(*s->site));
	if (!ret)
		ret = heki_grow((void **)&s->func, &s->fcap, s->nfunc,
				s->nfunc + nf, HEKI_FUNCS_MAX, sizeof(*s->func));
	if (!ret && a1)
		ret = heki_sites_add(s, buf, a1);
out:
	mutex_unlock(&vm->store_mutex);
	kfree(buf);
	if (ret == -HEKI_ELOCKED)
		heki_log_patch(vcpu, HEKI_PR_REGISTER, a0, 0, a1);
	return ret;
}

static long heki_patch_error(enum heki_patch_reason why)
{
	switch (why) {
	case HEKI_PR_NOT_TEXT:
	case HEKI_PR_NOT_SITE:
	case HEKI_PR_INT3_PLACE:
		return -HEKI_ESITE;
	case HEKI_PR_INT3_FULL:
		return -HEKI_EBUSY;
	default:
		return -HEKI_EPATCH;
	}
}

/*
 * The host's own write into guest memory for HEKI_HC_PATCH: the one write
 * into a write-protected frame that is allowed, so it does not go through
 * kvm_vcpu_write_guest(), whose check (heki_kvm_write_denied()) refuses
 * such frames to everyone else.
 */
static int heki_host_write(struct kvm_vcpu *vcpu, gpa_t gpa, const u8 *data,
			   unsigned long len)
{
	while (len) {
		gfn_t gfn = gpa_to_gfn(gpa);
		unsigned long off = offset_in_page(gpa);
		unsigned long n = min_t(unsigned long, len, PAGE_SIZE - off);
		unsigned long hva = kvm_vcpu_gfn_to_hva(vcpu, gfn);

		if (kvm_is_error_hva(hva) ||
		    __copy_to_user((void __user *)hva + off, data, n))
			return -EFAULT;
		kvm_vcpu_mark_page_dirty(vcpu, gfn);
		gpa += n;
		data += n;
		len -= n;
	}
	return 0;
}

/* heki_insn_len_fn with the kernel's own decoder (heki-insn/, our copy). */
static int heki_insn_len(const u8 *p, unsigned int avail)
{
	struct insn insn;

	if (insn_decode(&insn, p, min_t(unsigned int, avail, MAX_INSN_SIZE),
			INSN_MODE_64) < 0)
		return -1;
	return insn.length;
}

/*
 * A new INT3 outside any site (a kprobe): HEKI_PR_OK only at an instruction
 * boundary of a registered function outside NOPROBE text, decoded from the
 * function's entry over its current bytes.  Caller holds store_mutex.
 */
static enum heki_patch_reason heki_int3_place(struct kvm_vcpu *vcpu,
					      struct heki_vm *vm, u64 gva)
{
	const struct heki_sites *s = &vm->sites;
	const struct heki_site *text;
	const struct heki_func *f;
	unsigned int n;
	long fi;
	bool ok;
	u8 *buf;

	fi = heki_func_holding(s, gva);
	if (heki_sites_noprobe(s, gva) || fi < 0 ||
	    gva - s->func[fi].gva > HEKI_INT3_WALK_MAX)
		return HEKI_PR_INT3_PLACE;
	f = &s->func[fi];
	/* Up to the INT3's own instruction, as far as the function goes. */
	n = min_t(u64, f->len, gva - f->gva + MAX_INSN_SIZE);
	text = heki_sites_text(s, f->gva, n);
	if (!text)
		return HEKI_PR_INT3_PLACE;
	buf = kvmalloc(n, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return HEKI_PR_INT3_PLACE;
	ok = !kvm_vcpu_read_guest(vcpu, text->gpa + (f->gva - text->gva), buf, n);
	if (ok) {
		heki_int3_undo(s, f->gva, buf, n);
		ok = heki_int3_on_boundary(s, f, gva, buf, n, heki_insn_len);
	}
	kvfree(buf);
	return ok ? HEKI_PR_OK : HEKI_PR_INT3_PLACE;
}

/*
 * The host pokes kernel text for the guest, if the result is an encoding
 * the place may hold (heki_patch.h).  Reading the site, deciding, writing
 * and recording an INT3 happen under store_mutex, so two vCPUs patching
 * one site are decided one after the other, each on the bytes the other
 * left.  The write goes through the host's mapping of guest RAM: no
 * second-stage permission is ever relaxed.
 */
static long heki_patch(struct kvm_vcpu *vcpu, struct heki_vm *vm,
		       u64 a0, u64 a1, u64 a2, u64 a3)
{
	u8 new[HEKI_PATCH_MAX_LEN], cur[HEKI_PATCH_MAX_LEN];
	struct heki_patch_plan plan = { .gpa = 0 };
	enum heki_patch_reason why;
	long ret = heki_check_patch(a0, a1, a2, a3);

	if (ret)
		return ret;
	put_unaligned_le64(a2, new);
	put_unaligned_le64(a3, new + 8);
	mutex_lock(&vm->store_mutex);
	why = heki_patch_locate(&vm->sites, a0, a1, &plan);
	/* A new lone INT3 (a kprobe): only at an instruction boundary. */
	if (why == HEKI_PR_OK && plan.site < 0 && new[0] == 0xcc &&
	    heki_int3_find(&vm->sites, a0) < 0)
		why = heki_int3_place(vcpu, vm, a0);
	if (why == HEKI_PR_OK) {
		if (kvm_vcpu_read_guest(vcpu, plan.site >= 0 ? plan.site_gpa : plan.gpa,
					cur, plan.site >= 0 ? plan.site_len : 1))
			ret = -HEKI_EFAULT;
		else
			why = heki_patch_decide(&vm->sites, &plan, a0, new, a1, cur);
	}
	if (!ret && why == HEKI_PR_OK) {
		if (heki_host_write(vcpu, plan.gpa, new, a1)) {
			ret = -HEKI_EFAULT;
		} else {
			heki_patch_commit(&vm->sites, &plan, a0, cur[0]);
			atomic64_inc(&vm->patches);
		}
	}
	mutex_unlock(&vm->store_mutex);
	if (!ret && why != HEKI_PR_OK) {
		heki_log_patch(vcpu, why, plan.gpa, a0, a1);
		ret = heki_patch_error(why);
	}
	return ret;
}

/*
 * EPTP switching on the calling vCPU (kvm-intel.ko).  Allowed after an
 * authenticated lockdown too: the patch view it reaches makes no IMMUTABLE
 * frame writable then, so VMFUNC gets no further than the view-switch
 * hypercall, only without the host seeing the switch.
 */
static long heki_vmfunc(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			u64 a0, u64 a1, u64 a2, u64 a3)
{
	const struct heki_vmfunc_ops *ops;
	long ret = heki_check_vmfunc(a0, a1, a2, a3);

	if (ret)
		return ret;
	/* The view seen at an exit is kept per vcpu_idx (heki_vcpu_view_seen()). */
	if (vcpu->vcpu_idx >= HEKI_VIEW_VCPUS)
		return -HEKI_EINVAL;
	mutex_lock(&heki_vmfunc_lock);
	ops = heki_vmfunc_ops;
	ret = ops ? ops->enable(vcpu, a0) : -HEKI_ENOSYS;
	mutex_unlock(&heki_vmfunc_lock);
	return ret;
}

void heki_vcpu_view_seen(struct kvm_vcpu *vcpu, unsigned int view)
{
	struct heki_vm *vm = heki_vm_peek(vcpu->kvm);
	u8 depth = view == HEKI_VIEW_PATCH;

	if (!vm || vcpu->vcpu_idx >= HEKI_VIEW_VCPUS)
		return;
	if (!READ_ONCE(vm->view_depth[vcpu->vcpu_idx]) != !depth)
		atomic64_inc(&vm->view_switches);
	WRITE_ONCE(vm->view_depth[vcpu->vcpu_idx], depth);
}
EXPORT_SYMBOL_GPL(heki_vcpu_view_seen);

/*
 * Switching a vCPU's view changes the role its second-stage root is looked
 * up with (heki_root_view() in kvm_calc_tdp_mmu_root_page_role()): KVM
 * keeps every TDP root until it is invalidated, so after the first use of
 * each view a switch finds the other root populated and rewrites nothing.
 */
static long heki_view_switch(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			     u64 a0, u64 a1, u64 a2, u64 a3)
{
	long ret = heki_check_view_switch(a0, a1, a2, a3);
	u8 *depth, before;

	if (ret)
		return ret;
	if (vcpu->vcpu_idx >= HEKI_VIEW_VCPUS)
		return -HEKI_EINVAL;
	/*
	 * Authenticated: only for a poke of the target ranges (the module
	 * area).  They never change after lockdown: no lock needed.
	 */
	if (a0 == HEKI_VIEW_PATCH && READ_ONCE(vm->auth) &&
	    !heki_sites_view_ok(&vm->sites, a1)) {
		heki_log_patch(vcpu, HEKI_PR_VIEW, 0, a1, 0);
		return -HEKI_ESITE;
	}
	depth = &vm->view_depth[vcpu->vcpu_idx];
	before = *depth;
	if (a0 == HEKI_VIEW_PATCH) {
		if (before == U8_MAX)
			return -HEKI_EBUSY;
		WRITE_ONCE(*depth, before + 1);
	} else {
		if (!before)
			return -HEKI_ENOTOPEN;
		WRITE_ONCE(*depth, before - 1);
	}
	if (!before != !*depth) {
		atomic64_inc(&vm->view_switches);
		kvm_mmu_reset_context(vcpu);
	}
	return 0;
}

static long heki_report(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			u64 a0, u64 a1, u64 a2, u64 a3)
{
	long ret = heki_check_report(a0, a1, a2, a3);

	if (ret)
		return ret;
	heki_log_violation(vcpu, "report", "guest-checker", a0, a1, a2);
	return 0;
}

static long heki_stats(struct kvm_vcpu *vcpu, struct heki_vm *vm,
		       u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_stats st = {};
	long ret;

	ret = heki_check_stats(a0, a1, a2, a3);
	if (ret)
		return ret;
	st.calls = atomic64_read(&vm->calls);
	st.refused = atomic64_read(&vm->refused);
	st.ranges_applied = atomic64_read(&vm->ranges_applied);
	st.windows_opened = atomic64_read(&vm->windows_opened);
	st.windows_closed = atomic64_read(&vm->windows_closed);
	st.violations = atomic64_read(&vm->violations);
	st.zaps = atomic64_read(&vm->zaps);
	st.zapped_frames = atomic64_read(&vm->zapped_frames);
	st.view_switches = atomic64_read(&vm->view_switches);
	st.patches = atomic64_read(&vm->patches);
	st.auth = READ_ONCE(vm->auth);
	st.tlb_flushes = READ_ONCE(vcpu->kvm->stat.generic.remote_tlb_flush);
	st.vcpu_exits = vcpu->stat.exits;
	spin_lock(&vm->store_lock);
	st.windows_open = vm->windows.frames;
	st.protected_frames = heki_store_pages(&vm->store);
	st.ranges = heki_store_nranges(&vm->store);
	spin_unlock(&vm->store_lock);
	st.locked = READ_ONCE(vm->locked);
	/* A count for the record, no lock: registration may be under way. */
	st.sites = READ_ONCE(vm->sites.n) + READ_ONCE(vm->sites.nranges) +
		   READ_ONCE(vm->sites.nfunc);
	return heki_write_result(vcpu, a0, &st, sizeof(st));
}

#define HEKI_RW_X (HEKI_ATTR_WRITE | HEKI_ATTR_EXEC)

/*
 * Called by make_spte() for every second-stage entry KVM builds, on every
 * path (TDP MMU, shadow MMU, prefetch): the permissions the guest gave up
 * are removed from the entry, so no later access can use them without a
 * fault that heki_page_fault_denied() sees.
 */
unsigned int heki_spte_access(struct kvm *kvm, gfn_t gfn, unsigned int access,
			      unsigned int view)
{
	struct heki_vm *vm;
	long attrs;

	if (hash_empty(heki_vms))
		return access;
	vm = heki_vm_peek(kvm);
	if (!vm)
		return access;
	attrs = heki_view_attrs(vm, gfn, view);
	if (attrs < 0)
		return access;
	if (!(attrs & HEKI_ATTR_WRITE))
		access &= ~ACC_WRITE_MASK;
	if (!(attrs & HEKI_ATTR_EXEC))
		access &= ~ACC_EXEC_MASK;
	return access;
}

/*
 * A huge second-stage mapping would give the whole region one set of
 * permissions: map at the largest level whose region holds no restricted
 * frame.  The caller holds mmu_lock and installs its entry under it; a
 * PROTECT swaps the store before its zap takes mmu_lock for writing, so
 * this decision and its entry come wholly before the zap (which removes
 * the entry) or wholly after it (and see the new store).  Deciding it
 * before KVM's mmu_seq snapshot, outside mmu_lock, let a PROTECT and its
 * zap fall in between (attack huge_map_race).
 */
int heki_max_mapping_level(struct kvm *kvm, gfn_t gfn, int max_level)
{
	struct heki_vm *vm;

	if (max_level <= PG_LEVEL_4K || hash_empty(heki_vms))
		return max_level;
	vm = heki_vm_peek(kvm);
	if (!vm)
		return max_level;
	spin_lock(&vm->store_lock);
	if (heki_store_any_lacking(&vm->store,
				   gfn & ~(KVM_PAGES_PER_HPAGE(PG_LEVEL_2M) - 1),
				   KVM_PAGES_PER_HPAGE(PG_LEVEL_2M), HEKI_RW_X))
		max_level = PG_LEVEL_4K;
	else if (max_level > PG_LEVEL_2M &&
		 heki_store_any_lacking(&vm->store,
					gfn & ~(KVM_PAGES_PER_HPAGE(PG_LEVEL_1G) - 1),
					KVM_PAGES_PER_HPAGE(PG_LEVEL_1G), HEKI_RW_X))
		max_level = PG_LEVEL_2M;
	spin_unlock(&vm->store_lock);
	/* Still under mmu_lock: a PROTECT's zap waits for this fault. */
	if (heki_test_tagged())
		heki_test_delay("max-mapping-level", gfn, max_level);
	return max_level;
}

/* A frame of [gfn, gfn + n) the guest restricted or made immutable.  Under store_lock. */
static bool heki_holds_state(struct heki_vm *vm, gfn_t gfn, u64 n)
{
	return heki_store_any_lacking(&vm->store, gfn, n, HEKI_RW_X) ||
	       heki_store_any(&vm->store, gfn, n, HEKI_ATTR_IMMUTABLE);
}

/*
 * Migration: a VMM migrates a VM by logging the pages the VM dirties
 * (KVM_MEM_LOG_DIRTY_PAGES, with a bitmap or a dirty ring: both need the
 * flag) while it copies guest RAM, and nothing carries Heki's state to
 * the destination, whose guest would run on unprotected.  So dirty
 * logging is refused for a memslot holding a frame the guest restricted
 * (logged as kind "migrate" with the slot's first such frame; the VMM
 * gets EPERM).  Slots without one (a VGA frame buffer) log as before.
 * Called from kvm_arch_prepare_memory_region() under slots_lock for every
 * slot change that leaves logging on.
 */
bool heki_dirty_log_denied(struct kvm *kvm, gfn_t base, unsigned long npages)
{
	struct heki_vm *vm;
	u32 attrs = 0;
	bool denied;

	if (hash_empty(heki_vms) || !npages)
		return false;
	vm = heki_vm_peek(kvm);
	if (!vm)
		return false;
	spin_lock(&vm->store_lock);
	denied = heki_holds_state(vm, base, npages);
	/* The slot's first such frame, for the record: O(log^2 n). */
	while (denied && npages > 1) {
		if (heki_holds_state(vm, base, npages / 2)) {
			npages /= 2;
		} else {
			base += npages / 2;
			npages -= npages / 2;
		}
	}
	if (denied)
		heki_store_lookup(&vm->store, base, &attrs);
	spin_unlock(&vm->store_lock);
	if (!denied)
		return false;
	atomic64_inc(&vm->dirty_log_refused);
	heki_log_record(kvm, NULL, "migrate", "dirty-log", gfn_to_gpa(base),
			~0ull, attrs);
	pr_info_ratelimited("heki: VM %d: dirty logging (migration) refused: frame 0x%llx is protected, Heki state cannot migrate\n",
			    kvm->userspace_pid, base);
	return true;
}

static const char *const heki_kvm_via_names[HEKI_KVM_VIA_NR] = {
	[HEKI_KVM_WRITE] = "kvm-write",
	[HEKI_KVM_HVA_CACHE] = "kvm-hva-cache",
	[HEKI_KVM_PFN_CACHE] = "kvm-pfn-cache",
	[HEKI_KVM_MAP] = "kvm-map",
};

/*
 * Called where KVM turns a gfn into a writable mapping of its own (hook
 * patch 0004): a frame the guest made read-only is refused to KVM too, or
 * the PV MSRs, VMSAVE/VMCLEAR, clock pairing and the emulator would write
 * it for the guest.  [offset, offset + len) may run over several frames.
 * A refusal is logged as kind "write" with its source.
 */
/*
 * The first write-protected frame of [offset, offset + len) from @gfn (its
 * attributes in *attrs), or ~0 if none (or no Heki state).  No logging.
 */
static gfn_t heki_kvm_write_blocked(struct kvm *kvm, struct heki_vm **vmp,
				    gfn_t gfn, int offset, unsigned long len,
				    long *attrs)
{
	gfn_t first = gfn + offset / PAGE_SIZE;
	gfn_t last = gfn + ((unsigned long)offset + len - 1) / PAGE_SIZE;
	struct heki_vm *vm;

	if (hash_empty(heki_vms) || !len)
		return ~0ull;
	vm = heki_vm_peek(kvm);
	if (!vm)
		return ~0ull;
	*vmp = vm;
	for (gfn = first; gfn <= last; gfn++) {
		*attrs = heki_effective_attrs(vm, gfn);
		if (*attrs >= 0 && !(*attrs & HEKI_ATTR_WRITE))
			return gfn;
	}
	return ~0ull;
}

bool heki_kvm_write_forbidden(struct kvm *kvm, gfn_t gfn, int offset,
			      unsigned long len)
{
	struct heki_vm *vm;
	long attrs;

	return heki_kvm_write_blocked(kvm, &vm, gfn, offset, len, &attrs) != ~0ull;
}

bool heki_kvm_write_denied(struct kvm *kvm, gfn_t gfn, int offset,
			   unsigned long len, int via)
{
	gfn_t first = gfn + offset / PAGE_SIZE;
	struct heki_vm *vm = NULL;
	long attrs = -1;

	if (via < 0 || via >= HEKI_KVM_VIA_NR)
		return false;
	gfn = heki_kvm_write_blocked(kvm, &vm, gfn, offset, len, &attrs);
	if (gfn == ~0ull)
		return false;

	/*
	 * Every refusal is numbered (vm_seq) and offered to the log, whose
	 * per-kind rate limit drops and counts the repeats of a PV area the
	 * guest pointed at a protected frame (retried on every entry).
	 */
	atomic64_inc(&vm->kvm_denials);
	heki_log_record(kvm, kvm_get_running_vcpu(), "write",
			heki_kvm_via_names[via],
			gfn_to_gpa(gfn) + (gfn == first ? offset % PAGE_SIZE : 0),
			~0ull, attrs);
	return true;
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
			    bool exec)
{
	struct x86_exception fault = {};
	gfn_t gfn = gpa_to_gfn(gpa);
	struct heki_vm *vm;
	long attrs;
	u64 gva;

	if (hash_empty(heki_vms) || is_guest_mode(vcpu))
		return false;
	vm = heki_vm_peek(vcpu->kvm);
	if (!vm)
		return false;

	if (!write && !exec)
		return false;
	attrs = heki_view_attrs(vm, gfn, heki_vcpu_view(vcpu));
	if (attrs < 0 || (write && (attrs & HEKI_ATTR_WRITE)) ||
	    (exec && (attrs & HEKI_ATTR_EXEC)))
		return false;

	gva = exec ? kvm_rip_read(vcpu) : heki_fault_gva(vcpu);
	heki_log_violation(vcpu, exec ? "exec" : "write", "npt", gpa, gva,
			   attrs);
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
 * Called by KVM's instruction emulator before it writes guest memory for
 * the guest (emulated stores, emulated CMPXCHG, descriptor and stack
 * writes, "rep ins", MMIO-to-memory moves, for the VM and for a guest it
 * runs nested): those go through the host's own mapping of guest RAM and
 * never meet the second-stage tables, so they are checked here, before
 * the emulator could fall back to an MMIO exit that the VMM would carry
 * out on RAM.  A denied write
 * is not performed; *exception is the #PF the emulator then injects.
 */
bool heki_emulated_write_denied(struct kvm_vcpu *vcpu, unsigned long gva,
				gpa_t gpa, struct x86_exception *exception)
{
	struct heki_vm *vm;
	long attrs;

	/*
	 * For a nested guest too: @gpa is already translated through both
	 * levels, so it is this VM's own frame.
	 */
	if (hash_empty(heki_vms))
		return false;
	vm = heki_vm_peek(vcpu->kvm);
	if (!vm)
		return false;
	attrs = heki_view_attrs(vm, gpa_to_gfn(gpa), heki_vcpu_view(vcpu));
	if (attrs < 0 || (attrs & HEKI_ATTR_WRITE))
		return false;

	heki_log_violation(vcpu, "write", "emulator", gpa, gva, attrs);
	*exception = (struct x86_exception){
		.vector = PF_VECTOR,
		.error_code_valid = true,
		.error_code = PFERR_PRESENT_MASK | PFERR_RSVD_MASK |
			      PFERR_WRITE_MASK,
		.address = gva,
	};
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
	if (!heki_cr_clears_pinned(old, new, pinned) &&
	    !(cr == 0 && heki_cr0_paging_without_pinned(new, pinned)))
		return false;
	heki_log_violation(vcpu, cr ? "cr4" : "cr0", "cr-write", old, new,
			   pinned);
	return true;
}

unsigned long heki_cr_pinned(struct kvm_vcpu *vcpu, int cr)
{
	struct heki_vm *vm;

	if (hash_empty(heki_vms) || (cr != 0 && cr != 4))
		return 0;
	vm = heki_vm_peek(vcpu->kvm);
	return vm ? READ_ONCE(vm->cr_pinned[cr]) : 0;
}
EXPORT_SYMBOL_GPL(heki_cr_pinned);

bool heki_nested_host_cr_denied(struct kvm_vcpu *vcpu, unsigned long cr0,
				unsigned long cr4)
{
	unsigned long p0 = heki_cr_pinned(vcpu, 0), p4 = heki_cr_pinned(vcpu, 4);

	if ((cr0 & p0) != p0) {
		heki_log_violation(vcpu, "cr0", "nested-host-state",
				   kvm_read_cr0(vcpu), cr0, p0);
		return true;
	}
	if ((cr4 & p4) != p4) {
		heki_log_violation(vcpu, "cr4", "nested-host-state",
				   kvm_read_cr4(vcpu), cr4, p4);
		return true;
	}
	return false;
}
EXPORT_SYMBOL_GPL(heki_nested_host_cr_denied);

typedef long (*heki_call_fn)(struct kvm_vcpu *vcpu, struct heki_vm *vm,
			     u64 a0, u64 a1, u64 a2, u64 a3);

/* The calls, indexed by nr - HEKI_HC_BASE; counted per kind in debugfs. */
static const struct heki_call_desc {
	const char *name;
	heki_call_fn fn;
	u64 feature;			/* offered only with this feature */
} heki_calls[] = {
	{ "query", heki_query, HEKI_FEAT_QUERY },
	{ "pin_cr", heki_pin_cr, HEKI_FEAT_CR_PIN },
	{ "protect", heki_protect, HEKI_FEAT_PROTECT },
	{ "protect_batch", heki_protect_batch, HEKI_FEAT_BATCH },
	{ "window_open", heki_window_open, HEKI_FEAT_WINDOW },
	{ "window_close", heki_window_close, HEKI_FEAT_WINDOW },
	{ "lockdown", heki_lockdown, HEKI_FEAT_LOCKDOWN },
	{ "stats", heki_stats, HEKI_FEAT_STATS },
	{ "report", heki_report, HEKI_FEAT_REPORT },
	{ "view_switch", heki_view_switch, HEKI_FEAT_VIEW },
	{ "sites", heki_sites, HEKI_FEAT_AUTH },
	{ "patch", heki_patch, HEKI_FEAT_AUTH },
	{ "vmfunc", heki_vmfunc, HEKI_FEAT_VMFUNC },
};

/* Calls per kind; the last slot counts unassigned numbers. */
static atomic64_t heki_calls_by_kind[ARRAY_SIZE(heki_calls) + 1];

unsigned long heki_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
			     unsigned long a0, unsigned long a1,
			     unsigned long a2, unsigned long a3)
{
	unsigned long idx = nr - HEKI_HC_BASE;
	struct heki_vm *vm;
	long ret;

	/*
	 * Guest user mode must never reach the host's Heki state: refused
	 * before anything is allocated or counted for the VM.
	 */
	if (static_call(kvm_x86_get_cpl)(vcpu) != 0) {
		atomic64_inc(&heki_calls_user);
		return -HEKI_EPERM;
	}
	atomic64_inc(&heki_calls_total);
	if (idx >= ARRAY_SIZE(heki_calls))
		idx = ARRAY_SIZE(heki_calls);
	atomic64_inc(&heki_calls_by_kind[idx]);

	vm = heki_vm_get(vcpu->kvm);
	if (vm)
		atomic64_inc(&vm->calls);
	if (vm && vcpu->vcpu_idx < HEKI_VIEW_VCPUS) {
		WRITE_ONCE(vm->last_hc[vcpu->vcpu_idx], idx + 1);
		WRITE_ONCE(vm->last_hc_a0[vcpu->vcpu_idx], a0);
		if (idx < ARRAY_SIZE(heki_calls) && heki_calls[idx].fn == heki_patch)
			WRITE_ONCE(vm->last_patch[vcpu->vcpu_idx], a0);
	}

	if (idx == ARRAY_SIZE(heki_calls) ||
		   !(heki_host_features(vcpu->kvm) & heki_calls[idx].feature)) {
		ret = -HEKI_ENOSYS;
	} else if (!vm) {
		ret = -HEKI_ENOMEM;
	} else {
		ret = heki_calls[idx].fn(vcpu, vm, a0, a1, a2, a3);
	}

	if (ret < 0) {
		atomic64_inc(&heki_calls_refused);
		if (vm)
			atomic64_inc(&vm->refused);
	}
	return ret;
}

/*
 * A vCPU shut down (triple fault): the record of its death, on L1's
 * console always and in the VM's log stream when it has Heki state, so
 * the rig can tell a guest Heki killed from one the emulator killed.
 * @event is the event whose delivery led here (SVM EXITINTINFO or VMX
 * IDT-vectoring format: vector 7:0, type 10:8, error code valid 11,
 * valid 31), @event_err its error code.  Called before KVM resets the
 * vCPU, so the registers are still the dead guest's.
 */
void heki_vcpu_shutdown(struct kvm_vcpu *vcpu, const char *via, u32 event,
			u32 event_err)
{
	static const char *const types[8] = { "intr", "1", "nmi", "exception",
					       "soft", "5", "6", "7" };
	struct heki_vm *vm = hash_empty(heki_vms) ? NULL : heki_vm_peek(vcpu->kvm);
	unsigned int i = vcpu->vcpu_idx, hc = 0;
	char detail[320], ev[64] = "none", hcs[80] = "none", patch[24] = "none";

	/* Else the exception KVM has queued (the vendor code requeues EXITINTINFO there). */
	if (!(event & (1u << 31)) &&
	    (vcpu->arch.exception.pending || vcpu->arch.exception.injected)) {
		event = (1u << 31) | (3u << 8) | vcpu->arch.exception.vector |
			(vcpu->arch.exception.has_error_code ? 1u << 11 : 0);
		event_err = vcpu->arch.exception.error_code;
	}
	if ((event & (1u << 31)) && (event & (1u << 11)))
		snprintf(ev, sizeof(ev), "%u event_type=%s event_err=0x%x", event & 0xff,
			 types[(event >> 8) & 7], event_err);
	else if (event & (1u << 31))
		snprintf(ev, sizeof(ev), "%u event_type=%s event_err=none", event & 0xff,
			 types[(event >> 8) & 7]);
	if (vm && i < HEKI_VIEW_VCPUS) {
		hc = READ_ONCE(vm->last_hc[i]);
		if (hc)
			snprintf(hcs, sizeof(hcs), "%s last_hc_a0=0x%llx",
				 hc <= ARRAY_SIZE(heki_calls) ? heki_calls[hc - 1].name :
								"unassigned",
				 READ_ONCE(vm->last_hc_a0[i]));
		if (READ_ONCE(vm->last_patch[i]))
			snprintf(patch, sizeof(patch), "0x%llx",
				 READ_ONCE(vm->last_patch[i]));
	}
	snprintf(detail, sizeof(detail),
		 "via=%s cr0=0x%lx cr2=0x%lx cr3=0x%lx cr4=0x%lx efer=0x%llx event=%s view=%s last_hc=%s last_patch=%s heki_state=%d",
		 via, kvm_read_cr0(vcpu), vcpu->arch.cr2, kvm_read_cr3(vcpu),
		 kvm_read_cr4(vcpu), vcpu->arch.efer, ev,
		 heki_root_view(vcpu) == HEKI_VIEW_PATCH ? "patch" : "normal", hcs,
		 patch, !!vm);
	heki_vlog_shutdown(vm ? vm->log : NULL, vcpu, detail);
}
EXPORT_SYMBOL_GPL(heki_vcpu_shutdown);

/*
 * Per-VM lines of heki/status, one "vm_<pid>_<key> value" each: what each
 * guest has protected and what it cost, TLB flushes included (KVM's own
 * count for the VM, all causes).
 */
static void heki_vms_show(struct seq_file *m)
{
	struct heki_vm *vm;
	unsigned int bkt;

	rcu_read_lock();
	hash_for_each_rcu(heki_vms, bkt, vm, node) {
		pid_t pid = vm->kvm->userspace_pid;

		spin_lock(&vm->store_lock);
		seq_printf(m, "vm_%d_protected_frames %llu\nvm_%d_ranges %zu\n",
			   pid, heki_store_pages(&vm->store), pid,
			   heki_store_nranges(&vm->store));
		seq_printf(m, "vm_%d_windows_open %u\n", pid, vm->windows.frames);
		spin_unlock(&vm->store_lock);
		seq_printf(m, "vm_%d_locked %d\nvm_%d_calls %lld\nvm_%d_violations %lld\n",
			   pid, READ_ONCE(vm->locked), pid, atomic64_read(&vm->calls),
			   pid, atomic64_read(&vm->violations));
		seq_printf(m, "vm_%d_view_switches %lld\nvm_%d_patches %lld\nvm_%d_auth %d\n",
			   pid, atomic64_read(&vm->view_switches), pid,
			   atomic64_read(&vm->patches), pid, READ_ONCE(vm->auth));
		heki_vlog_status(m, vm->log, pid);
		seq_printf(m, "vm_%d_resets %lld\nvm_%d_dirty_log_refused %lld\n", pid,
			   atomic64_read(&vm->resets), pid,
			   atomic64_read(&vm->dirty_log_refused));
		seq_printf(m, "vm_%d_kvm_writes_refused %lld\n", pid,
			   atomic64_read(&vm->kvm_denials));
		seq_printf(m, "vm_%d_zaps %lld\nvm_%d_zapped_frames %lld\nvm_%d_tlb_flushes %llu\n",
			   pid, atomic64_read(&vm->zaps), pid,
			   atomic64_read(&vm->zapped_frames), pid,
			   READ_ONCE(vm->kvm->stat.generic.remote_tlb_flush));
	}
	rcu_read_unlock();
}

/* One "key value" per line: the rig's L1 script forwards them verbatim. */
static int heki_status_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	seq_printf(m, "abi_version %u.%u\n", HEKI_ABI_VERSION_MAJOR,
		   HEKI_ABI_VERSION_MINOR);
	seq_printf(m, "vendor %u\n", heki_vendor());
	seq_printf(m, "features 0x%llx\n", heki_host_features(NULL));
	seq_printf(m, "host_nonce 0x%016llx\n", heki_host_nonce);
	seq_printf(m, "calls_total %lld\n", atomic64_read(&heki_calls_total));
	for (i = 0; i < ARRAY_SIZE(heki_calls); i++)
		seq_printf(m, "calls_%s %lld\n", heki_calls[i].name,
			   atomic64_read(&heki_calls_by_kind[i]));
	seq_printf(m, "calls_unassigned %lld\n",
		   atomic64_read(&heki_calls_by_kind[i]));
	seq_printf(m, "calls_refused %lld\n",
		   atomic64_read(&heki_calls_refused));
	seq_printf(m, "calls_from_user_mode %lld\n",
		   atomic64_read(&heki_calls_user));
	seq_printf(m, "violations %lld\n", atomic64_read(&heki_violations));
	seq_printf(m, "zaps %lld\n", atomic64_read(&heki_zaps));
	seq_printf(m, "zapped_frames %lld\n",
		   atomic64_read(&heki_zapped_frames));
	heki_log_status(m);
	seq_printf(m, "vm_resets %lld\n", atomic64_read(&heki_resets));
	heki_vms_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_status);

void heki_host_init(void)
{
	heki_host_nonce = get_random_u64();
	heki_debugfs_dir = debugfs_create_dir("heki", NULL);
	debugfs_create_file("status", 0444, heki_debugfs_dir, NULL,
			    &heki_status_fops);
	heki_log_debugfs_init(heki_debugfs_dir);
	pr_info("heki: host ABI %u.%u ready\n", HEKI_ABI_VERSION_MAJOR,
		HEKI_ABI_VERSION_MINOR);
}

void heki_host_exit(void)
{
	debugfs_remove_recursive(heki_debugfs_dir);
	heki_log_exit();
}
