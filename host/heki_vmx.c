// SPDX-License-Identifier: GPL-2.0
/*
 * Heki's CR pinning on Intel VMX (kvm-intel.ko).
 *
 * kvm_set_cr0() checks pins (heki_cr_write_denied()), but with EPT KVM
 * lets the guest own CR0.WP (KVM_POSSIBLE_CR0_GUEST_BITS,
 * vmx_l1_guest_owned_cr0_bits()): a mov to CR0 that clears it never
 * exits, and the pin would be void.  So before every entry into the VM
 * itself, a pinned CR0 bit the guest owns is taken back: its current
 * value cached first, then removed from the guest-owned bits and the
 * CR0 guest/host mask, with the read shadow carrying the value.  KVM gives
 * the bit back on reset and on every nested VM exit (nested.c); the next
 * entry takes it again, before the VM runs an instruction.
 *
 * The CR4 bits Heki pins (SMEP, SMAP, UMIP) are never guest-owned.  A
 * nested VM exit loads the VM's CR0/CR4 from the host-state area of its
 * vmcs12 without a CR write: heki_vmx_host_cr_denied() refuses a vmcs12
 * whose host CR0/CR4 drop a pinned bit at VM entry.
 */
#include <linux/kvm_host.h>

#include "x86.h"
#include "kvm_cache_regs.h"
#include "vmx/vmx.h"
#include "heki_host.h"
#include "heki_vmfunc.h"
#include "heki_vmx.h"

void heki_vmx_pre_entry(struct kvm_vcpu *vcpu)
{
	unsigned long take;

	heki_vmfunc_pre_entry(vcpu);
	/* A nested guest's CR0 is its own (and vmcs02's mask L1's choice). */
	if (is_guest_mode(vcpu))
		return;
	/* Cheap test first: only a pinnable bit the guest owns needs the VM's pins. */
	if (likely(!(vcpu->arch.cr0_guest_owned_bits & HEKI_CR0_PINNABLE)))
		return;
	take = heki_cr_pinned(vcpu, 0) & vcpu->arch.cr0_guest_owned_bits;
	if (!take)
		return;
	kvm_read_cr0(vcpu);	/* the guest-owned bits' current values */
	vcpu->arch.cr0_guest_owned_bits &= ~take;
	vmcs_writel(CR0_GUEST_HOST_MASK, ~vcpu->arch.cr0_guest_owned_bits);
	vmcs_writel(CR0_READ_SHADOW, vcpu->arch.cr0);
}

bool heki_vmx_host_cr_denied(struct kvm_vcpu *vcpu, unsigned long cr0,
			     unsigned long cr4)
{
	return heki_nested_host_cr_denied(vcpu, cr0, cr4);
}
