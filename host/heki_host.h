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

#endif /* HEKI_HOST_H */
