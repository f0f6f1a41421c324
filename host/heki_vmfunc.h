/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Heki views switched by the guest itself with VMFUNC (EPTP switching):
 * heki_vmfunc.c, built into kvm-intel.ko.  These are the hooks
 * patches/0003-vmx-heki-vmfunc.patch adds to vmx/vmx.c.
 */
#ifndef HEKI_VMFUNC_H
#define HEKI_VMFUNC_H

#include <linux/types.h>

struct kvm_vcpu;

/* vmx_init() after kvm_init() succeeded / vmx_exit() before kvm_exit(). */
void heki_vmfunc_init(void);
void heki_vmfunc_exit(void);

/* vmx_load_mmu_pgd(): KVM just wrote EPT_POINTER for a (new) root. */
void heki_vmfunc_load_pgd(struct kvm_vcpu *vcpu);

/*
 * vmx_handle_exit(), before KVM handles the exit: returns true when the
 * exit was Heki's (a VMFUNC it emulates, or an error), with *ret what
 * vmx_handle_exit() must return.
 */
bool heki_vmfunc_handle_exit(struct kvm_vcpu *vcpu, int *ret);

/*
 * vmx_flush_tlb_current(), after KVM flushed its current root: the other
 * listed root's EPTP context too, since the guest can switch to it without
 * an exit (a flush KVM emulates for the guest must reach both views).
 */
void heki_vmfunc_flush_current(struct kvm_vcpu *vcpu);

/* vmx_vcpu_run(), IRQs off, right before VM entry. */
void heki_vmfunc_pre_entry(struct kvm_vcpu *vcpu);

/* vmx_vcpu_reset() (INIT; RESET only happens at creation) and vmx_vcpu_free(). */
void heki_vmfunc_vcpu_reset(struct kvm_vcpu *vcpu);
void heki_vmfunc_vcpu_free(struct kvm_vcpu *vcpu);

#endif /* HEKI_VMFUNC_H */
