/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Heki's hooks in kvm-intel.ko beyond EPTP switching (heki_vmx.c): what
 * patches/0003-vmx-heki-vmfunc.patch calls from vmx/vmx.c and
 * vmx/nested.c.
 */
#ifndef HEKI_VMX_H
#define HEKI_VMX_H

#include <linux/types.h>

struct kvm_vcpu;

/*
 * vmx_vcpu_run(), IRQs off, right before VM entry: EPTP-list upkeep
 * (heki_vmfunc_pre_entry()) and pinned CR0 bits taken back from the guest.
 */
void heki_vmx_pre_entry(struct kvm_vcpu *vcpu);

/*
 * nested_vmx_check_host_state(): whether the host CR0/CR4 a vmcs12 asks
 * for (loaded into the VM itself at the nested VM exit, without a CR
 * write KVM could check) drop a pinned bit.  True refuses the VM entry.
 */
bool heki_vmx_host_cr_denied(struct kvm_vcpu *vcpu, unsigned long cr0,
			     unsigned long cr4);

#endif /* HEKI_VMX_H */
