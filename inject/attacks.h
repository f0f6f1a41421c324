/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The attack catalogue: one row per simulated data-only attack, shared by
 * the attacker module (guest-kmod/heki_attack.c, which implements each row
 * as heki_atk_<id>()), the L2 suite that runs them (inject/inject_suite.c)
 * and the report (inject/inject_report.c).  Like LKDTM's crash types, a
 * new attack is a new row plus its function.
 *
 * The attacker has arbitrary kernel read/write, page tables included, and
 * cannot run new code (DESIGN: threat model).  Where the guest's own page
 * tables forbid an access, the attack rewrites the PTE or builds an alias
 * first, as such an attacker would; a control-register attack stands for a
 * code-reuse gadget and executes the mov itself.  So under "off" every
 * attack must take effect: one that does not is a broken attack.
 *
 * Columns: id, family, primitive (what the attacker uses), judged_by (the
 * effect read back), expected outcome in modes off / hypercall /
 * hypercall+ext (hypercall with the extensions beyond the RFC: f_op and
 * cred validation) / view / vmfunc, description, and why an expected
 * miss is a miss (NULL when none is expected beyond "off").
 */
#ifndef HEKI_ATTACKS_H
#define HEKI_ATTACKS_H

enum heki_outcome {
	OUT_PREVENTED,	/* no effect, the host logged it */
	OUT_DETECTED,	/* effect, and the host logged it */
	OUT_MISSED,	/* effect, nothing logged */
	OUT_NA,		/* the mode does not exist on this rig */
};

#define HEKI_OUTCOME_NAMES "prevented", "detected", "missed", "n/a"

#define ATK_P OUT_PREVENTED
#define ATK_D OUT_DETECTED
#define ATK_M OUT_MISSED

#define WHY_PT "the guest's page tables are not host-protected: a remap writes no protected frame"
#define WHY_SLAB "the pointer lives in writable slab memory, which page permissions cannot watch"
#define WHY_NX "NPT has no kernel-only execute bit (MBEC is Intel-only), and heap and stack frames are not registered with the host"
#define WHY_WINDOW "without authentication (auth=0, the Heki RFC v2 behaviour) any ring-0 caller may open a write window on kernel text"
#define WHY_WINDOW_VM "the RFC's write window is VM-wide: for as long as text_poke holds it, every vCPU may write the frame (views are per vCPU, and authenticated patching grants no window on kernel text)"
#define WHY_MODTEXT "module text is not immutable (modules load and unload after lockdown): windows and the patch view on it are granted to any ring-0 caller, authenticated or not"
#define WHY_VMFUNC "any guest code can execute VMFUNC: the switch to the patch view has no exit, so the host can neither refuse nor log it, and module text is writable there"

#define HEKI_ATTACKS(X)							\
	X(text_pte_write, "pte", "PTE rewrite + kernel write",		\
	  "text bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "set RW in the kernel-text mapping of sysrq_handle_crash, write 8 bytes of text through it", NULL) \
	X(text_alias_write, "pte", "new alias PTE + kernel write",	\
	  "text bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "map the frame of sysrq_handle_crash again, writable (vmap PAGE_KERNEL), and write through the alias", NULL) \
	X(rodata_alias_write, "pte", "new alias PTE + kernel write",	\
	  "rodata bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "map the rodata frame of linux_proc_banner writable through a new alias and write through it", NULL) \
	X(nx_clear_exec, "pte", "PTE rewrite + call",			\
	  "the planted code ran", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "plant code in a data page (the attacker module's bss), map its frame executable by rewriting a PTE, and call it", NULL) \
	X(fops_pte_remap, "pte", "PTE rewrite (remap)",		\
	  "the forged read handler ran", ATK_M, ATK_M, ATK_M, ATK_M, ATK_M,			\
	  "retarget the PTE of the rodata page holding a const file_operations table to a forged copy, then read() the file", WHY_PT) \
	X(fops_ptr_write, "f_op", "new alias PTE + kernel write",	\
	  "the forged read handler ran", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,			\
	  "overwrite .read inside a const file_operations table through a writable alias, then read() the file", NULL) \
	X(fop_swap, "f_op", "kernel write",				\
	  "the forged read handler ran", ATK_M, ATK_M, ATK_D, ATK_M, ATK_M,			\
	  "point an open file's f_op at a forged table in kmalloc memory, then read() it", WHY_SLAB) \
	X(cred_uid_root, "cred", "kernel write",			\
	  "getuid() and a CAP_SYS_ADMIN check in the task", ATK_M, ATK_M, ATK_D, ATK_M, ATK_M,	\
	  "set uid/gid and the capability sets of the current (unprivileged) task's cred to root values", WHY_SLAB) \
	X(cred_init_cred, "cred", "kernel write",			\
	  "getuid() and a CAP_SYS_ADMIN check in the task", ATK_M, ATK_M, ATK_D, ATK_M, ATK_M,	\
	  "point the current (unprivileged) task's cred and real_cred at init_cred", WHY_SLAB) \
	X(cr4_smep_clear, "cr", "code-reuse gadget: mov to CR4",	\
	  "CR4.SMEP read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "clear CR4.SMEP with a mov to CR4", NULL)			\
	X(cr4_smap_clear, "cr", "code-reuse gadget: mov to CR4",	\
	  "CR4.SMAP read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "clear CR4.SMAP with a mov to CR4", NULL)			\
	X(cr0_wp_clear, "cr", "code-reuse gadget: mov to CR0",	\
	  "CR0.WP read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "clear CR0.WP with a mov to CR0", NULL)			\
	X(patch_window_abuse, "view", "code-reuse gadget: window/view call + kernel write", \
	  "text bytes read back", ATK_M, ATK_M, ATK_P, ATK_P, ATK_P,				\
	  "from outside text_poke, open the host's write window (hypercall) or switch to the patch view (view, vmfunc) on a kernel-text frame and write it through a writable alias", WHY_WINDOW) \
	X(window_race_other_vcpu, "view", "another vCPU's write during a legitimate window", \
	  "text bytes read back", ATK_M, ATK_M, ATK_P, ATK_P, ATK_P,				\
	  "while one vCPU holds a write window (or the patch view) on a kernel-text frame, as text_poke does, another vCPU writes another word of that frame through an alias", WHY_WINDOW_VM) \
	X(window_rodata_write, "view", "code-reuse gadget: window call + kernel write", \
	  "rodata bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "after lockdown, open the host's write window on the rodata frame of linux_proc_banner (immutable, not executable: text_poke never writes there) and write it through a writable alias", NULL) \
	X(patch_module_text, "view", "code-reuse gadget: window/view call + kernel write", \
	  "module text read back", ATK_M, ATK_M, ATK_M, ATK_M, ATK_M,				\
	  "from outside text_poke, open a write window on a frame of module text and enter the patch view for its address, then write it through a writable alias", WHY_MODTEXT) \
	X(vmfunc_module_text, "view", "code-reuse gadget: VMFUNC + kernel write", \
	  "module text read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_M,				\
	  "execute VMFUNC to the patch view (no hypercall, no exit), then write a frame of module text through a writable alias", WHY_VMFUNC) \
	X(patch_call_retarget, "patch", "code-reuse gadget: the host's patch call", \
	  "the site's bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "rewrite kstrdup()'s ftrace site from NOP5 into a CALL of another kernel function (ftrace_stub) through HEKI_HC_PATCH; an ftrace site may only call ftrace's own entries", NULL) \
	X(patch_ftrace_return0, "patch", "code-reuse gadget: the host's patch call", \
	  "the site's bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "rewrite cap_capable()'s ftrace site into \"jmp __static_call_return0\" through HEKI_HC_PATCH (every capability check passes); ftrace only writes NOP5 or a CALL of its own entry there", NULL) \
	X(patch_tramp_gadget, "patch", "code-reuse gadget: the host's patch call", \
	  "the site's bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "send the static-call trampoline __SCT__x86_pmu_drain_pebs into the middle of cap_capable() (a gadget, not a function entry) through HEKI_HC_PATCH", NULL) \
	X(patch_int3_mid_insn, "patch", "code-reuse gadget: the host's patch call", \
	  "the byte read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "write an INT3 (a kprobe's byte) into the middle of an instruction of sysrq_handle_crash() through HEKI_HC_PATCH: an immediate or branch displacement changes and never traps; the host places INT3s only at instruction boundaries it decodes", NULL) \
	X(kvm_wall_clock, "kvm", "PV MSR: KVM writes the wall clock", \
	  "the slot's bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "point MSR_KVM_WALL_CLOCK_NEW at a frame of module rodata: KVM writes the wall clock there with kvm_write_guest()", NULL) \
	X(kvm_pvclock, "kvm", "PV MSR: KVM writes kvmclock", \
	  "the slot's bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "point MSR_KVM_SYSTEM_TIME_NEW at a frame of module rodata: KVM writes this vCPU's pvclock there through its gfn-to-pfn cache", NULL) \
	X(kvm_steal_time, "kvm", "PV MSR: KVM writes steal time", \
	  "the slot's bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "point MSR_KVM_STEAL_TIME at a frame of module rodata: KVM writes steal time there through its gfn-to-hva cache", NULL) \
	X(kvm_vmsave, "kvm", "VMSAVE: the host writes nested state", \
	  "the page's bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "set EFER.SVME and VMSAVE to a frame of module rodata: KVM maps the frame (kvm_vcpu_map) and writes FS/GS/TR/LDTR and the syscall MSRs into it", NULL) \
	X(kvm_vmclear, "kvm", "VMCLEAR: the host writes nested state", \
	  "the frame's bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "VMXON, then VMCLEAR a frame of module rodata: KVM writes that VMCS's launch state into it (kvm_vcpu_write_guest())", NULL) \
	X(huge_map_race, "race", "a fault on another vCPU racing a PROTECT", \
	  "the restricted page read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "while the kernel makes one frame of a 2 MiB region read-only (HEKI_HC_PROTECT, as set_memory_ro does), another vCPU faults on a neighbour frame; a host that decides the fault's mapping level before the PROTECT's store swap and zap and maps after them installs one writable 2 MiB entry over the read-only frame; then write that frame", NULL) \
	X(lkdtm_write_kern, "lkdtm", "PTE rewrite + kernel write",	\
	  "text bytes read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "WRITE_KERN: set RW in the PTE of a function of the attacker module and overwrite it", NULL) \
	X(lkdtm_write_ro, "lkdtm", "PTE rewrite + kernel write",	\
	  "the constant read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "WRITE_RO: set RW in the PTE of a const of the attacker module and overwrite it", NULL) \
	X(lkdtm_write_ro_after_init, "lkdtm", "PTE rewrite + kernel write", \
	  "the variable read back", ATK_M, ATK_P, ATK_P, ATK_P, ATK_P,				\
	  "WRITE_RO_AFTER_INIT: set RW in the PTE of an __ro_after_init variable of the attacker module and overwrite it", NULL) \
	X(lkdtm_exec_stack, "lkdtm", "PTE rewrite + call",		\
	  "the planted code ran", ATK_M, ATK_M, ATK_M, ATK_M, ATK_M,				\
	  "EXEC_STACK: plant code in a kernel stack buffer, clear NX in its PTE and call it", WHY_NX) \
	X(lkdtm_exec_vmalloc, "lkdtm", "PTE rewrite + call",		\
	  "the planted code ran", ATK_M, ATK_M, ATK_M, ATK_M, ATK_M,				\
	  "EXEC_VMALLOC: plant code in a vmalloc() buffer, clear NX in its PTE and call it", WHY_NX)

#endif /* HEKI_ATTACKS_H */
