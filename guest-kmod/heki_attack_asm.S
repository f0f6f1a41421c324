/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The attacker's instructions whose addresses the evidence needs (the host
 * logs the RIP of every refused access) and whose faults must be survived:
 * a store, a mov to CR0/CR4, and a call into a page of this module's data.
 * objtool skips this file (Kbuild): the fixups enter with a different
 * stack than the fall-through path, by design.
 */
#include <linux/linkage.h>
#include <asm/asm.h>

/*
 * A page of data of its own, where nx_clear_exec plants its code, and a
 * page of text whose PTE the attack points at that data frame: the fault
 * of a refused fetch then has a fixed RIP, which an exception-table entry
 * can name (modpost refuses entries that point into data).
 */
	.pushsection .bss, "aw", @nobits
	.balign 4096
SYM_DATA_START(heki_atk_gadget)
	.skip 4096
SYM_DATA_END(heki_atk_gadget)
	.popsection

	.pushsection .text.heki_atk_window, "ax"
	.balign 4096
SYM_CODE_START(heki_atk_exec_window)
	.fill	4096, 1, 0xcc
SYM_CODE_END(heki_atk_exec_window)
	.popsection

	.text
/* int heki_atk_store8(u64 *dst, u64 val, unsigned long *ip): 0 stored, 1 faulted */
SYM_FUNC_START(heki_atk_store8)
	lea	.Lstore(%rip), %rax
	mov	%rax, (%rdx)
	xor	%eax, %eax
.Lstore:
	mov	%rsi, (%rdi)
	RET
.Lstore_faulted:
	mov	$1, %eax
	RET
	_ASM_EXTABLE(.Lstore, .Lstore_faulted)
SYM_FUNC_END(heki_atk_store8)

/*
 * int heki_atk_store8_tagged(u64 *dst, u64 val, unsigned long *ip, u64 tag):
 * heki_atk_store8 with @tag in R12 during the store (HEKI_TEST_DELAY_TAG:
 * a host with its test delay set waits inside the fault this store takes).
 */
SYM_FUNC_START(heki_atk_store8_tagged)
	push	%r12
	mov	%rcx, %r12
	lea	.Lstore_tagged(%rip), %rax
	mov	%rax, (%rdx)
	xor	%eax, %eax
.Lstore_tagged:
	mov	%rsi, (%rdi)
	pop	%r12
	RET
.Lstore_tagged_faulted:
	mov	$1, %eax
	pop	%r12
	RET
	_ASM_EXTABLE(.Lstore_tagged, .Lstore_tagged_faulted)
SYM_FUNC_END(heki_atk_store8_tagged)

/* int heki_atk_write_cr4(unsigned long val, unsigned long *ip): 0 written, 1 faulted */
SYM_FUNC_START(heki_atk_write_cr4)
	lea	.Lcr4(%rip), %rax
	mov	%rax, (%rsi)
	xor	%eax, %eax
.Lcr4:
	mov	%rdi, %cr4
	RET
.Lcr4_faulted:
	mov	$1, %eax
	RET
	_ASM_EXTABLE(.Lcr4, .Lcr4_faulted)
SYM_FUNC_END(heki_atk_write_cr4)

/*
 * int heki_atk_vmfunc(unsigned long view): VMFUNC leaf 0 to @view, as any
 * guest code may execute it; 0 switched, 1 faulted (#UD where the host
 * has not enabled EPTP switching for this vCPU).
 */
SYM_FUNC_START(heki_atk_vmfunc)
	mov	%rdi, %rcx
	xor	%eax, %eax
.Lvmfunc:
	.byte	0x0f, 0x01, 0xd4	/* vmfunc */
	xor	%eax, %eax
	RET
.Lvmfunc_faulted:
	mov	$1, %eax
	RET
	_ASM_EXTABLE(.Lvmfunc, .Lvmfunc_faulted)
SYM_FUNC_END(heki_atk_vmfunc)

/*
 * int heki_atk_vmsave(unsigned long pa): VMSAVE to the page at @pa, as
 * KVM then emulates it for the guest (nested SVM state written into that
 * frame by the host); 0 executed, 1 faulted (#UD without EFER.SVME, #GP).
 */
SYM_FUNC_START(heki_atk_vmsave)
	mov	%rdi, %rax
.Lvmsave:
	.byte	0x0f, 0x01, 0xdb	/* vmsave */
	xor	%eax, %eax
	RET
.Lvmsave_faulted:
	mov	$1, %eax
	RET
	_ASM_EXTABLE(.Lvmsave, .Lvmsave_faulted)
SYM_FUNC_END(heki_atk_vmsave)

/*
 * int heki_atk_vmxon_vmclear(u64 *pas): VMXON with the region at pas[0],
 * VMCLEAR of the frame at pas[1], VMXOFF, as KVM emulates them for a
 * guest with nested VMX (the host writes the VMCS launch state into the
 * frame VMCLEAR names).  0 done; 1 faulted (#UD, #GP); 2 VMXON failed
 * (VMfail); 3 VMCLEAR failed.  CR4.VMXE is the caller's.
 */
SYM_FUNC_START(heki_atk_vmxon_vmclear)
.Lvmxon:
	vmxon	(%rdi)
	jbe	.Lvmxon_failed
.Lvmclear:
	vmclear	8(%rdi)
	jbe	.Lvmclear_failed
	vmxoff
	xor	%eax, %eax
	RET
.Lvmclear_failed:
	vmxoff
	mov	$3, %eax
	RET
.Lvmxon_failed:
	mov	$2, %eax
	RET
.Lvmx_faulted:
	mov	$1, %eax
	RET
	_ASM_EXTABLE(.Lvmxon, .Lvmx_faulted)
	_ASM_EXTABLE(.Lvmclear, .Lvmx_faulted)
SYM_FUNC_END(heki_atk_vmxon_vmclear)

/* int heki_atk_write_cr0(unsigned long val, unsigned long *ip): 0 written, 1 faulted */
SYM_FUNC_START(heki_atk_write_cr0)
	lea	.Lcr0(%rip), %rax
	mov	%rax, (%rsi)
	xor	%eax, %eax
.Lcr0:
	mov	%rdi, %cr0
	RET
.Lcr0_faulted:
	mov	$1, %eax
	RET
	_ASM_EXTABLE(.Lcr0, .Lcr0_faulted)
SYM_FUNC_END(heki_atk_write_cr0)

/*
 * int heki_atk_call_window(void): calls heki_atk_exec_window.  A refused
 * fetch faults with RIP = heki_atk_exec_window; the fixup drops the return
 * address the call pushed and returns -1.
 */
SYM_FUNC_START(heki_atk_call_window)
	call	heki_atk_exec_window
	RET
.Lwindow_faulted:
	add	$8, %rsp
	mov	$-1, %eax
	RET
	_ASM_EXTABLE(heki_atk_exec_window, .Lwindow_faulted)
SYM_FUNC_END(heki_atk_call_window)

/*
 * int heki_atk_call(void *code): calls planted code anywhere.  No fixup
 * can name a dynamic address: a refused fetch here oopses, and the suite
 * reports the attack as having killed its guest.
 */
SYM_FUNC_START(heki_atk_call)
	call	*%rdi
	RET
SYM_FUNC_END(heki_atk_call)
