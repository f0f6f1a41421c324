/* SPDX-License-Identifier: GPL-2.0 */
/* Entry points the hook patches call from KVM's own code. */
#ifndef HEKI_HOST_H
#define HEKI_HOST_H

#include "heki_abi.h"

struct kvm;
struct kvm_vcpu;

/* What this host implements (heki_info.features). */
#define HEKI_HOST_FEATURES (HEKI_FEAT_QUERY | HEKI_FEAT_CR_PIN)

void heki_host_init(void);
void heki_host_exit(void);
void heki_vm_destroy(struct kvm *kvm);
bool heki_cr_write_denied(struct kvm_vcpu *vcpu, int cr, unsigned long old,
			  unsigned long new);
unsigned long heki_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
			     unsigned long a0, unsigned long a1,
			     unsigned long a2, unsigned long a3);

#endif /* HEKI_HOST_H */
