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
bool heki_cr_write_denied(struct kvm_vcpu *vcpu, int cr, unsigned long old,
			  unsigned long new);
unsigned int heki_spte_access(struct kvm *kvm, unsigned long long gfn,
			      unsigned int access, unsigned int view);
/* The view the vCPU's second-stage root is for (kept in its role's quadrant). */
unsigned int heki_root_view(struct kvm_vcpu *vcpu);
bool heki_page_fault_denied(struct kvm_vcpu *vcpu, unsigned long long gpa,
			    bool write, bool exec, unsigned char *max_level);
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
