/* SPDX-License-Identifier: GPL-2.0 */
/* Entry points the hook patches call from KVM's own code. */
#ifndef HEKI_HOST_H
#define HEKI_HOST_H

#include "heki_abi.h"

struct kvm;
struct kvm_vcpu;

void heki_host_init(void);
void heki_host_exit(void);
void heki_vm_destroy(struct kvm *kvm);
/*
 * The VMM sets a vCPU's special registers (KVM_SET_SREGS/SREGS2,
 * sync_regs): vCPU 0 put back into real mode is a system reset.
 */
void heki_vcpu_sregs_set(struct kvm_vcpu *vcpu, unsigned long cr0);
/*
 * The VMM turns dirty logging on (or keeps it on) for a memslot of
 * @npages frames from @base: refused (and logged) while a frame there is
 * protected, since nothing would carry the protection to a migration's
 * destination.
 */
bool heki_dirty_log_denied(struct kvm *kvm, unsigned long long base,
			   unsigned long npages);
/*
 * A vCPU shut down (triple fault), before KVM resets it: logs its state.
 * @event, @event_err: the event being delivered (SVM EXITINTINFO / VMX
 * IDT-vectoring layout; bit 31 clear: none).
 */
void heki_vcpu_shutdown(struct kvm_vcpu *vcpu, const char *via, unsigned int event,
			unsigned int event_err);
bool heki_cr_write_denied(struct kvm_vcpu *vcpu, int cr, unsigned long old,
			  unsigned long new);
unsigned int heki_spte_access(struct kvm *kvm, unsigned long long gfn,
			      unsigned int access, unsigned int view);
/* The view the vCPU's second-stage root is for (kept in its role's quadrant). */
unsigned int heki_root_view(struct kvm_vcpu *vcpu);
bool heki_page_fault_denied(struct kvm_vcpu *vcpu, unsigned long long gpa,
			    bool write, bool exec);
/*
 * The largest mapping level (<= @max_level) at which a second-stage entry
 * for @gfn covers no restricted frame.  Called by
 * kvm_mmu_max_mapping_level(), which every fault path (TDP, shadow,
 * nested) and huge-page recovery ask under mmu_lock.
 */
int heki_max_mapping_level(struct kvm *kvm, unsigned long long gfn,
			   int max_level);

/*
 * The places where KVM turns a gfn into a writable mapping to write guest
 * memory on the guest's behalf, bypassing the second stage.  Each asks
 * heki_kvm_write_denied() first; a refusal is logged with its source.
 */
enum heki_kvm_via {
	HEKI_KVM_WRITE,		/* kvm_write_guest*(), kvm_vcpu_write_guest*() */
	HEKI_KVM_HVA_CACHE,	/* gfn-to-hva caches: steal time, PV EOI, async PF */
	HEKI_KVM_PFN_CACHE,	/* gfn-to-pfn caches: kvmclock, Xen */
	HEKI_KVM_MAP,		/* kvm_vcpu_map(): nested SVM/VMX state, APIC pages */
	HEKI_KVM_VIA_NR
};
bool heki_kvm_write_denied(struct kvm *kvm, unsigned long long gfn, int offset,
			   unsigned long len, int via);
/*
 * The same decision without a log record, for callers in scheduler
 * context (steal time's preempted flag, written at vcpu_put with the
 * runqueue locked), where waking the log's reader could deadlock.
 */
bool heki_kvm_write_forbidden(struct kvm *kvm, unsigned long long gfn,
			      int offset, unsigned long len);
/* The bits of CR @cr (0 or 4) the VM pinned (kvm-intel.ko keeps them intercepted). */
unsigned long heki_cr_pinned(struct kvm_vcpu *vcpu, int cr);
/*
 * Whether the CR0/CR4 a nested VM exit would load into the VM (VMX: the
 * vmcs12 host-state area, chosen by the VM) drop a pinned bit; logged.
 */
bool heki_nested_host_cr_denied(struct kvm_vcpu *vcpu, unsigned long cr0,
				unsigned long cr4);
struct x86_exception;
bool heki_emulated_write_denied(struct kvm_vcpu *vcpu, unsigned long gva,
				unsigned long long gpa,
				struct x86_exception *exception);
unsigned long heki_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
			     unsigned long a0, unsigned long a1,
			     unsigned long a2, unsigned long a3);

/*
 * EPTP switching (HEKI_HC_VMFUNC) lives in kvm-intel.ko (heki_vmfunc.c),
 * which registers these with kvm.ko when it loads and unregisters (NULL)
 * when it unloads.  kvm.ko checks the call's arguments and the VM's
 * lockdown state before calling enable().
 */
struct heki_vmfunc_ops {
	/* EPT, the TDP MMU and VMFUNC with EPTP switching are all usable. */
	bool (*supported)(void);
	/* Enable (on) or disable EPTP switching on @vcpu: 0 or -HEKI_E*. */
	long (*enable)(struct kvm_vcpu *vcpu, bool on);
};
void heki_vmfunc_register(const struct heki_vmfunc_ops *ops);
/*
 * The view the CPU switched @vcpu to by itself (VMFUNC, no exit), seen on
 * a later exit: the vCPU's view becomes @view, so the root KVM looks up for
 * it (heki_root_view()) is the one the hardware uses.  Resetting the MMU
 * context is the caller's job.
 */
void heki_vcpu_view_seen(struct kvm_vcpu *vcpu, unsigned int view);

#endif /* HEKI_HOST_H */
