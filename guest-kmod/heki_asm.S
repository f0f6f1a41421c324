/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Instructions the self-checks need exactly as written, with exception
 * fixups at places C cannot put them: the first byte of a page the host
 * makes non-executable, and an instruction behind KVM's forced-emulation
 * prefix.  objtool is told to skip this file (Kbuild): the fixups enter
 * with a different stack than the fall-through path, by design.
 */
#include <linux/linkage.h>
#include <asm/asm.h>

/*
 * A page of its own: the host can take execute permission from its frame
 * without touching any other code of the module.
 */
	.pushsection .text.heki_nx, "ax"
	.balign 4096
SYM_CODE_START(heki_nx_target)
	mov	$0x4e58, %eax		/* HEKI_NX_RAN */
	RET
	.balign 4096, 0xcc
SYM_CODE_END(heki_nx_target)
	.popsection

	.text
/*
 * int heki_nx_call(void): calls into the page.  If the host refuses the
 * fetch, the guest's #PF has RIP = heki_nx_target; the fixup drops the
 * return address the call pushed and reports the fault.
 */
SYM_FUNC_START(heki_nx_call)
	call	heki_nx_target
	RET
.Lnx_faulted:
	add	$8, %rsp
	mov	$-1, %eax		/* HEKI_NX_FAULTED */
	RET
	_ASM_EXTABLE(heki_nx_target, .Lnx_faulted)
SYM_FUNC_END(heki_nx_call)

/* int heki_fep_write(u64 *dst, u64 val, unsigned long *ip) */
SYM_FUNC_START(heki_fep_write)
	lea	.Lfep_store(%rip), %rax
	mov	%rax, (%rdx)
	xor	%eax, %eax
.Lfep_prefix:
	ud2
	.ascii	"kvm"
.Lfep_store:
	mov	%rsi, (%rdi)
	RET
.Lfep_faulted:
	mov	$1, %eax
	RET
.Lfep_unsupported:
	mov	$2, %eax
	RET
	_ASM_EXTABLE(.Lfep_prefix, .Lfep_unsupported)
	_ASM_EXTABLE(.Lfep_store, .Lfep_faulted)
SYM_FUNC_END(heki_fep_write)

/*
 * Benchmark targets for text_poke (heki_bench.c): 256 sites of 16 bytes,
 * each a 5-byte NOP and int3 padding, alone in a page.  Nothing executes
 * them; the benchmarks poke the same NOP back.
 */
	.pushsection .text.heki_bench, "ax"
	.balign 4096
SYM_CODE_START(heki_bench_sites)
	.rept 256
	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00
	.fill	11, 1, 0xcc
	.endr
SYM_CODE_END(heki_bench_sites)
	.popsection
