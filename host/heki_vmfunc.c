// SPDX-License-Identifier: GPL-2.0
/*
 * Heki views switched by the guest itself: VMFUNC leaf 0 (EPTP switching),
 * Intel VMX only.  Built into kvm-intel.ko (host/prepare-tree.sh), reached
 * through the hooks of patches/0003-vmx-heki-vmfunc.patch, and offered to
 * guests by kvm.ko's heki_host.c (HEKI_HC_VMFUNC) once registered.
 *
 * A vCPU that enables it gets a zeroed 4 KiB EPTP list (512 entries) whose
 * entry HEKI_VIEW_NORMAL / HEKI_VIEW_PATCH is the EPTP of that view's TDP
 * root, i.e. the root KVM itself would load for the vCPU in that view (same
 * role, role.quadrant = view; see the hook in kvm_calc_tdp_mmu_root_page_role).
 * Every other entry is 0, which is not a valid EPTP (page-walk length 1),
 * so VMFUNC to it exits instead of switching.
 *
 * What is kept true, always on the vCPU's own thread:
 *  - every non-zero entry is the EPTP of st->root[v], on which we hold a
 *    TDP MMU reference: a root the guest can switch to is never freed;
 *  - no entry names an invalidated root at VM entry: KVM invalidates all
 *    TDP roots at once and makes every vCPU drop and reload its current
 *    root before it enters again, and that reload rewrites the list
 *    (heki_vmfunc_load_pgd()); heki_vmfunc_pre_entry() checks once more.
 *    This matters because zapping invalidated roots does not flush TLBs;
 *  - before KVM handles an exit, the root KVM has loaded (and the view it
 *    thinks the vCPU is in) is the one the CPU ran on
 *    (heki_vmfunc_handle_exit()), so a fault is handled in the right view.
 * A view whose root does not exist (not used yet, or all roots invalidated
 * since) has entry 0: the guest's VMFUNC to it exits once and is emulated,
 * and KVM creates the root as for HEKI_HC_VIEW_SWITCH.
 *
 * Only the L1-level guest (vmcs01) uses the list.  While L2 runs, vmcs02
 * has VMFUNC controls of its own (KVM emulates L1's, nested.c) and nothing
 * here touches it.
 */
#include <linux/kvm_host.h>
#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <asm/mshyperv.h>
#include <asm/vmx.h>

#include "x86.h"
#include "kvm_cache_regs.h"
#include "mmu.h"
#include "mmu/mmu_internal.h"
#include "mmu/tdp_mmu.h"
#include "vmx/vmx.h"
#include "vmx/evmcs.h"
#include "heki_host.h"
#include "heki_vmfunc.h"

#ifndef CONFIG_X86_64
#error "Heki VMFUNC needs the TDP MMU, which only x86_64 has"
#endif

struct heki_vmfunc_vcpu {
	struct hlist_node node;
	struct kvm_vcpu *vcpu;
	u64 *list;				/* the EPTP list page */
	struct kvm_mmu_page *root[HEKI_VIEWS];	/* listed roots, referenced */
	bool stale;			/* an entry was cleared at VM entry */
	struct rcu_head rcu;
};

/*
 * Per-vCPU state beside struct vcpu_vmx, keyed by the vCPU's address, so
 * the structure keeps its layout.  Only the vCPU's own thread (and its
 * destruction) adds, changes or frees its entry, so an entry found stays
 * valid for that thread without further locking; other vCPUs' lookups walk
 * the buckets under RCU.
 */
static DEFINE_HASHTABLE(heki_vmfunc_vcpus, 6);
static DEFINE_SPINLOCK(heki_vmfunc_lock);
/* vCPUs with EPTP switching on, host-wide: 0 keeps the hooks to a test. */
static atomic_t heki_vmfunc_count;
static bool heki_vmfunc_ok;

static struct heki_vmfunc_vcpu *heki_vmfunc_find(struct kvm_vcpu *vcpu)
{
	struct heki_vmfunc_vcpu *st;

	if (likely(!atomic_read(&heki_vmfunc_count)))
		return NULL;
	rcu_read_lock();
	hash_for_each_possible_rcu(heki_vmfunc_vcpus, st, node,
				   (unsigned long)vcpu)
		if (st->vcpu == vcpu)
			break;
	rcu_read_unlock();
	return st;
}

/* KVM's current root for the L1-level guest, if it is a Heki TDP root. */
static struct kvm_mmu_page *heki_vmfunc_cur_root(struct kvm_vcpu *vcpu)
{
	hpa_t hpa = vcpu->arch.root_mmu.root.hpa;
	struct kvm_mmu_page *sp;

	if (!VALID_PAGE(hpa))
		return NULL;
	sp = to_shadow_page(hpa);
	if (!sp || !is_tdp_mmu_page(sp) || sp->role.quadrant >= HEKI_VIEWS)
		return NULL;
	return sp;
}

/* The view KVM runs the vCPU in (its root role; heki_vcpu_view() in kvm.ko). */
static unsigned int heki_vmfunc_kvm_view(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.root_mmu.root_role.quadrant;
}

/*
 * A valid root with exactly @role, with a reference taken; NULL if there
 * is none.  Caller holds mmu_lock for read, so no root turns invalid
 * meanwhile (invalidation takes it for write).
 */
static struct kvm_mmu_page *heki_vmfunc_get_root(struct kvm *kvm,
						 union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *sp;

	rcu_read_lock();
	list_for_each_entry_rcu(sp, &kvm->arch.tdp_mmu_roots, link) {
		if (sp->role.word == role.word && kvm_tdp_mmu_get_root(sp)) {
			rcu_read_unlock();
			return sp;
		}
	}
	rcu_read_unlock();
	return NULL;
}

/*
 * Makes the list name, for each view, the valid root with the current
 * root's role in that view, or 0; references follow the entries.  Runs
 * outside guest mode (construct_eptp() and the list are vmcs01's).
 */
static void heki_vmfunc_refresh(struct kvm_vcpu *vcpu,
				struct heki_vmfunc_vcpu *st)
{
	struct kvm_mmu_page *old[HEKI_VIEWS] = {}, *cur, *sp;
	struct kvm *kvm = vcpu->kvm;
	union kvm_mmu_page_role role;
	unsigned int v;

	read_lock(&kvm->mmu_lock);
	cur = heki_vmfunc_cur_root(vcpu);
	if (cur && cur->role.invalid)
		cur = NULL;
	for (v = 0; v < HEKI_VIEWS; v++) {
		sp = NULL;
		if (cur) {
			role = cur->role;
			role.quadrant = v;
			/* role.word includes role.invalid: still valid. */
			if (st->root[v] && st->root[v]->role.word == role.word)
				continue;
			/* The vCPU holds a reference on its current root. */
			if (v == cur->role.quadrant)
				sp = kvm_tdp_mmu_get_root(cur) ? cur : NULL;
			else
				sp = heki_vmfunc_get_root(kvm, role);
		}
		old[v] = st->root[v];
		st->root[v] = sp;
		WRITE_ONCE(st->list[v],
			   sp ? construct_eptp(vcpu, __pa(sp->spt),
					       sp->role.level) : 0);
		/*
		 * KVM flushes a root's EPTP context only when it loads it as
		 * the current root (kvm_mmu_load()) and skips the flush when
		 * it frees one: a page reused for this root may still have
		 * translations cached on this pCPU under the same EPTP.
		 * Moving to another pCPU makes KVM flush all contexts.
		 */
		if (sp)
			ept_sync_context(st->list[v]);
	}
	/* The old entries are gone from the list: the guest is not running. */
	for (v = 0; v < HEKI_VIEWS; v++)
		if (old[v])
			kvm_tdp_mmu_put_root(kvm, old[v], true);
	read_unlock(&kvm->mmu_lock);
	st->stale = false;
}

/* The view whose listed root has @hpa, or -1. */
static int heki_vmfunc_view_of(struct heki_vmfunc_vcpu *st, hpa_t hpa)
{
	unsigned int v;

	for (v = 0; v < HEKI_VIEWS; v++)
		if (st->root[v] && __pa(st->root[v]->spt) == hpa)
			return v;
	return -1;
}

/* Unlists the vCPU, drops the references and frees the list page. */
static void heki_vmfunc_forget(struct kvm *kvm, struct heki_vmfunc_vcpu *st)
{
	unsigned int v;

	spin_lock(&heki_vmfunc_lock);
	hash_del_rcu(&st->node);
	spin_unlock(&heki_vmfunc_lock);
	atomic_dec(&heki_vmfunc_count);

	read_lock(&kvm->mmu_lock);
	for (v = 0; v < HEKI_VIEWS; v++)
		if (st->root[v])
			kvm_tdp_mmu_put_root(kvm, st->root[v], true);
	read_unlock(&kvm->mmu_lock);
	free_page((unsigned long)st->list);
	kfree_rcu(st, rcu);
}

/*
 * Turns EPTP switching off and puts the vCPU back in the normal view, with
 * the root KVM loads for it in EPT_POINTER.  vmcs01 must be the loaded VMCS.
 */
static void heki_vmfunc_disable(struct kvm_vcpu *vcpu,
				struct heki_vmfunc_vcpu *st)
{
	u64 hw;

	/* From the next entry on, VMFUNC exits and KVM answers #UD. */
	vmcs_write64(VM_FUNCTION_CONTROL, 0);
	vmcs_write64(EPTP_LIST_ADDRESS, 0);

	hw = vmcs_read64(EPT_POINTER) & PAGE_MASK;
	if (heki_vmfunc_kvm_view(vcpu) != HEKI_VIEW_NORMAL) {
		heki_vcpu_view_seen(vcpu, HEKI_VIEW_NORMAL);
		kvm_mmu_reset_context(vcpu);
	} else if (hw != vcpu->arch.root_mmu.root.hpa) {
		/* Never expected (exits sync first); reload to be sure. */
		kvm_mmu_reset_context(vcpu);
	}
	/* The reload at the next entry rewrites EPT_POINTER before it runs. */
	heki_vmfunc_forget(vcpu->kvm, st);
}

static bool heki_vmfunc_supported(void)
{
	return heki_vmfunc_ok;
}

/* HEKI_HC_VMFUNC, on the vCPU's thread after heki_host.c's checks. */
static long heki_vmfunc_enable(struct kvm_vcpu *vcpu, bool on)
{
	struct heki_vmfunc_vcpu *st = heki_vmfunc_find(vcpu);
	struct page *page;

	/* Heki VMFUNC is the L1-level guest's; vmcs02 is loaded in L2. */
	if (is_guest_mode(vcpu))
		return -HEKI_EBUSY;
	if (!on) {
		if (st)
			heki_vmfunc_disable(vcpu, st);
		return 0;
	}
	if (st)
		return 0;
	/* Views need TDP MMU roots; the tdp_mmu parameter is per VM. */
	if (!heki_vmfunc_ok || !vcpu->kvm->arch.tdp_mmu_enabled)
		return -HEKI_ENOSYS;

	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!st || !page) {
		kfree(st);
		if (page)
			__free_page(page);
		return -HEKI_ENOMEM;
	}
	st->vcpu = vcpu;
	st->list = page_address(page);

	spin_lock(&heki_vmfunc_lock);
	hash_add_rcu(heki_vmfunc_vcpus, &st->node, (unsigned long)vcpu);
	spin_unlock(&heki_vmfunc_lock);
	atomic_inc(&heki_vmfunc_count);

	heki_vmfunc_refresh(vcpu, st);
	/* KVM keeps "enable VM functions" on in vmcs01 already; be explicit. */
	secondary_exec_controls_setbit(to_vmx(vcpu),
				       SECONDARY_EXEC_ENABLE_VMFUNC);
	/* Page aligned and below MAXPHYADDR, as VM entry checks. */
	vmcs_write64(EPTP_LIST_ADDRESS, page_to_phys(page));
	vmcs_write64(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING);
	return 0;
}

static const struct heki_vmfunc_ops heki_vmfunc_ops = {
	.supported = heki_vmfunc_supported,
	.enable = heki_vmfunc_enable,
};

void heki_vmfunc_load_pgd(struct kvm_vcpu *vcpu)
{
	struct heki_vmfunc_vcpu *st = heki_vmfunc_find(vcpu);

	/* In guest mode the root is L2's and goes to vmcs02. */
	if (st && !is_guest_mode(vcpu))
		heki_vmfunc_refresh(vcpu, st);
}

/*
 * VMFUNC leaf 0 exits when ECX >= 512 or the entry is not a valid EPTP:
 * here, an index that is no view (#UD, as KVM answers a VMFUNC it does not
 * offer), or a view whose root did not exist when the list was written.
 * The latter switches the view as HEKI_HC_VIEW_SWITCH would; the reload
 * before the next entry creates the root and lists it.
 */
static int heki_vmfunc_emulate(struct kvm_vcpu *vcpu)
{
	u32 view = kvm_rcx_read(vcpu);

	if (view >= HEKI_VIEWS) {
		kvm_queue_exception(vcpu, UD_VECTOR);
		return 1;
	}
	if (view != heki_vmfunc_kvm_view(vcpu)) {
		heki_vcpu_view_seen(vcpu, view);
		kvm_mmu_reset_context(vcpu);
	}
	return kvm_skip_emulated_instruction(vcpu);
}

bool heki_vmfunc_handle_exit(struct kvm_vcpu *vcpu, int *ret)
{
	struct heki_vmfunc_vcpu *st = heki_vmfunc_find(vcpu);
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	hpa_t hw;
	int view, r;

	/* Exits from L2 are vmcs02's; a failed entry ran nothing. */
	if (!st || is_guest_mode(vcpu) || vmx->fail ||
	    vmx->exit_reason.failed_vmentry)
		return false;

	/*
	 * VMFUNC stored the EPTP it switched to in the VMCS.  If it is not
	 * the root KVM loaded, adopt the guest's view and load that view's
	 * root now, before any handler (an EPT violation above all) runs
	 * against the other one.  IRQs are on and the thread may sleep here,
	 * as in any exit handler that resets the MMU.
	 */
	hw = vmcs_read64(EPT_POINTER) & PAGE_MASK;
	if (hw != vcpu->arch.root_mmu.root.hpa) {
		view = heki_vmfunc_view_of(st, hw);
		if (!WARN_ON_ONCE(view < 0))
			heki_vcpu_view_seen(vcpu, view);
		kvm_mmu_reset_context(vcpu);
		/* Writes EPT_POINTER and refreshes the list (load_pgd hook). */
		r = kvm_mmu_load(vcpu);
		if (r) {
			*ret = r;
			return true;
		}
	} else if (st->stale) {
		heki_vmfunc_refresh(vcpu, st);
	}

	if (vmx->exit_reason.basic == EXIT_REASON_VMFUNC &&
	    (u32)kvm_rax_read(vcpu) == 0) {
		*ret = heki_vmfunc_emulate(vcpu);
		return true;
	}
	return false;
}

void heki_vmfunc_flush_current(struct kvm_vcpu *vcpu)
{
	struct heki_vmfunc_vcpu *st = heki_vmfunc_find(vcpu);
	hpa_t cur = vcpu->arch.root_mmu.root.hpa;
	unsigned int v;
	u64 eptp;

	if (!st || is_guest_mode(vcpu))
		return;
	for (v = 0; v < HEKI_VIEWS; v++) {
		eptp = READ_ONCE(st->list[v]);
		if (eptp && (eptp & PAGE_MASK) != cur)
			ept_sync_context(eptp);
	}
}

/*
 * IRQs off, right before VM entry: an entry naming a root invalidated since
 * the list was written is cleared (VMFUNC to it then exits).  The reference
 * stays until the next exit, where mmu_lock may be taken.
 */
void heki_vmfunc_pre_entry(struct kvm_vcpu *vcpu)
{
	struct heki_vmfunc_vcpu *st = heki_vmfunc_find(vcpu);
	union kvm_mmu_page_role role;
	unsigned int v;

	if (!st || is_guest_mode(vcpu))
		return;
	for (v = 0; v < HEKI_VIEWS; v++) {
		if (!st->root[v] || !st->list[v])
			continue;
		role.word = READ_ONCE(st->root[v]->role.word);
		if (role.invalid) {
			WRITE_ONCE(st->list[v], 0);
			st->stale = true;
		}
	}
}

/* RESET and INIT: the vCPU starts over without EPTP switching. */
void heki_vmfunc_vcpu_reset(struct kvm_vcpu *vcpu)
{
	struct heki_vmfunc_vcpu *st = heki_vmfunc_find(vcpu);

	/* INIT is taken in L1 (nested VM exit first), so vmcs01 is loaded. */
	if (st && !WARN_ON_ONCE(is_guest_mode(vcpu)))
		heki_vmfunc_disable(vcpu, st);
}

/* Before KVM frees the vCPU's VMCS and MMU: drop the list and references. */
void heki_vmfunc_vcpu_free(struct kvm_vcpu *vcpu)
{
	struct heki_vmfunc_vcpu *st = heki_vmfunc_find(vcpu);

	if (st)
		heki_vmfunc_forget(vcpu->kvm, st);
}

void heki_vmfunc_init(void)
{
	u64 vmfunc = 0;

	/*
	 * EPTP switching needs EPT, "enable VM functions" allowed in the
	 * secondary controls (vmcs_config) and VM-function control bit 0
	 * allowed by IA32_VMX_VMFUNC.  KVM itself never reads that MSR (it
	 * emulates VMFUNC for L1), hence the read here.  The enlightened VMCS
	 * of Hyper-V has no VM-function fields.
	 */
	heki_vmfunc_ok = enable_ept && cpu_has_vmx_vmfunc() &&
			 !rdmsrl_safe(MSR_IA32_VMX_VMFUNC, &vmfunc) &&
			 (vmfunc & VMX_VMFUNC_EPTP_SWITCHING) &&
			 !static_branch_unlikely(&enable_evmcs);
#if IS_ENABLED(CONFIG_HYPERV)
	/*
	 * On Hyper-V, KVM flushes remote TLBs with a hypercall naming the
	 * roots vCPUs loaded (hv_track_root_tdp()): the other view's root
	 * would keep stale translations.
	 */
	if (ms_hyperv.nested_features & HV_X64_NESTED_GUEST_MAPPING_FLUSH)
		heki_vmfunc_ok = false;
#endif
	heki_vmfunc_register(&heki_vmfunc_ops);
}

void heki_vmfunc_exit(void)
{
	heki_vmfunc_register(NULL);
}
