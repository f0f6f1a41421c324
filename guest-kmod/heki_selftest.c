// SPDX-License-Identifier: GPL-2.0
/*
 * Self-checks of the host's enforcement, one debugfs file each (table at
 * the end).  Each prints "<name> ok|FAIL|skip <details>" lines; the rig's
 * suite judges them and the rig test matches their addresses against the
 * host's own violation log, so a check cannot pass on the guest's word
 * alone.
 *
 * Every page a check protects is released before it goes back to the
 * allocator; a page the host refuses to release is leaked on purpose (and
 * reported), never freed while protected.
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/io.h>
#include <linux/ktime.h>
#include <linux/delay.h>
#include <linux/smp.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <asm/asm.h>
#include <asm/special_insns.h>

#include "heki_guest.h"

#define OK(cond) ((cond) ? "ok" : "FAIL")
#define RWX (HEKI_ATTR_WRITE | HEKI_ATTR_EXEC)
#define PATTERN 0xaaaaaaaaaaaaaaaaull

static void fill(void *p, size_t bytes)
{
	u64 *q = p;
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		q[i] = PATTERN;
}

/*
 * A fresh HEKI_HC_STATS into *st (which may be on the stack: the host
 * writes a kmalloc'd copy, since stacks are not in the direct map), zeroed
 * on failure so deltas stay meaningful.
 */
static void stats_now(struct heki_stats *st)
{
	struct heki_stats *buf = kzalloc(sizeof(*buf), GFP_KERNEL);

	memset(st, 0, sizeof(*st));
	if (buf && !heki_stats(buf))
		*st = *buf;
	kfree(buf);
}

/* Frees pages the host released; keeps (leaks) them otherwise. */
static void release_and_free(struct seq_file *m, const char *what,
			     unsigned long addr, unsigned int order)
{
	long rel = heki_release(__pa(addr), 1ul << order);

	if (rel) {
		seq_printf(m, "%s_released FAIL ret=%ld leaked_protected_pages=%u\n",
			   what, rel, 1u << order);
		return;
	}
	free_pages(addr, order);
}

/*
 * Malformed requests, each with the refusal the ABI promises.  A host that
 * accepted any of them, or refused with another code, is not ours.
 */
#define EXPECT_NO_FEATURE 1	/* no call answers 1 */

static int heki_abi_check_show(struct seq_file *m, void *unused)
{
	/* Two pages so that a buffer placed across the boundary stays in RAM. */
	u8 *buf = (u8 *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, 1);
	struct heki_range *r = (struct heki_range *)buf;
	phys_addr_t pa;
	static const struct {
		const char *name;
		unsigned int nr;
		unsigned long a0, a1, a2, a3;
		long expect;		/* EXPECT_NO_FEATURE: see below */
	} *c, cases[] = {
		{ "query_bad_size", HEKI_HC_QUERY, 0, sizeof(struct heki_info) + 8, 0, 0, -HEKI_ESIZE },
		{ "query_misaligned", HEKI_HC_QUERY, 4, sizeof(struct heki_info), 0, 0, -HEKI_EALIGN },
		{ "query_across_pages", HEKI_HC_QUERY, 4096 - 16, sizeof(struct heki_info), 0, 0, -HEKI_EALIGN },
		{ "query_reserved_arg", HEKI_HC_QUERY, 0, sizeof(struct heki_info), 1, 0, -HEKI_EINVAL },
		{ "unknown_call", HEKI_HC_LAST, ~0ul, 0, 0, 0, -HEKI_ENOSYS },
		{ "pin_cr3", HEKI_HC_PIN_CR, 3, 1, 0, 0, -HEKI_ECRNUM },
		{ "pin_cr4_unpinnable_bit", HEKI_HC_PIN_CR, 4, X86_CR4_PAE, 0, 0, -HEKI_EBITS },
		{ "pin_no_bits", HEKI_HC_PIN_CR, 0, 0, 0, 0, -HEKI_EBITS },
		{ "pin_reserved_arg", HEKI_HC_PIN_CR, 4, X86_CR4_SMEP, 1, 0, -HEKI_EINVAL },
		{ "protect_misaligned", HEKI_HC_PROTECT, 4096 + 1, 1, HEKI_ATTR_RO, 0, -HEKI_EALIGN },
		{ "protect_no_pages", HEKI_HC_PROTECT, 4096, 0, HEKI_ATTR_RO, 0, -HEKI_ERANGE },
		{ "protect_too_long", HEKI_HC_PROTECT, 4096, (1ul << 28) + 1, HEKI_ATTR_RO, 0, -HEKI_ERANGE },
		{ "protect_past_max_frame", HEKI_HC_PROTECT, (1ul << 52) - 4096, 2, HEKI_ATTR_RO, 0, -HEKI_ERANGE },
		{ "protect_wraps", HEKI_HC_PROTECT, ~0xffful, 2, HEKI_ATTR_RO, 0, -HEKI_ERANGE },
		{ "protect_unknown_attr", HEKI_HC_PROTECT, 4096, 1, 1 << 4, 0, -HEKI_EATTR },
		/* Bit 0 was READ up to ABI 0.6 (never enforced): refused since 0.7. */
		{ "protect_former_read_bit", HEKI_HC_PROTECT, 4096, 1, 1, 0, -HEKI_EATTR },
		{ "protect_reserved_arg", HEKI_HC_PROTECT, 4096, 1, HEKI_ATTR_RO, 1, -HEKI_EINVAL },
		{ "protect_outside_ram", HEKI_HC_PROTECT, 1ul << 45, 1, HEKI_ATTR_RO, 0, -HEKI_EFAULT },
		{ "batch_empty", HEKI_HC_PROTECT_BATCH, 0, 0, 0, 0, -HEKI_EBATCH },
		{ "batch_too_long", HEKI_HC_PROTECT_BATCH, 0, HEKI_BATCH_MAX + 1, 0, 0, -HEKI_EBATCH },
		{ "batch_across_pages", HEKI_HC_PROTECT_BATCH, 4096 - 32, 2, 0, 0, -HEKI_EALIGN },
		{ "batch_entry_reserved", HEKI_HC_PROTECT_BATCH, 0, 1, 0, 0, -HEKI_EINVAL },
		{ "batch_entry_attr", HEKI_HC_PROTECT_BATCH, 32, 1, 0, 0, -HEKI_EATTR },
		{ "batch_entry_outside_ram", HEKI_HC_PROTECT_BATCH, 64, 1, 0, 0, -HEKI_EFAULT },
		{ "batch_second_entry_bad", HEKI_HC_PROTECT_BATCH, 96, 2, 0, 0, -HEKI_ERANGE },
		{ "window_misaligned", HEKI_HC_WINDOW_OPEN, 4096 + 8, 1, 0, 0, -HEKI_EALIGN },
		{ "window_too_many_pages", HEKI_HC_WINDOW_OPEN, 4096, HEKI_WINDOW_MAX_PAGES + 1, 0, 0, -HEKI_ERANGE },
		{ "window_outside_ram", HEKI_HC_WINDOW_OPEN, 1ul << 45, 1, 0, 0, -HEKI_EFAULT },
		{ "window_close_not_open", HEKI_HC_WINDOW_CLOSE, 4096, 1, 0, 0, -HEKI_ENOTOPEN },
		{ "lockdown_unknown_flag", HEKI_HC_LOCKDOWN, 2, 0, 0, 0, -HEKI_EINVAL },
		{ "lockdown_reserved_arg", HEKI_HC_LOCKDOWN, 0, 1, 0, 0, -HEKI_EINVAL },
		{ "stats_bad_size", HEKI_HC_STATS, 0, sizeof(struct heki_stats) - 8, 0, 0, -HEKI_ESIZE },
		{ "view_switch_unknown_view", HEKI_HC_VIEW_SWITCH, 2, 0, 0, 0, -HEKI_EINVAL },
		{ "view_switch_reserved_arg", HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH, 0, 1, 0, -HEKI_EINVAL },
		{ "report_unknown_kind", HEKI_HC_REPORT, HEKI_REPORT_LAST + 1, 0, 0, 0, -HEKI_EINVAL },
		{ "report_reserved_arg", HEKI_HC_REPORT, HEKI_REPORT_FOP, 0, 0, 1, -HEKI_EINVAL },
		{ "view_switch_leave_with_address", HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 1, 0, 0, -HEKI_EINVAL },
		{ "sites_empty_without_reset", HEKI_HC_SITES, 0, 0, 0, 0, -HEKI_EBATCH },
		{ "sites_too_many", HEKI_HC_SITES, 0, HEKI_SITES_BATCH_MAX + 1, 0, 0, -HEKI_EBATCH },
		{ "sites_unknown_flag", HEKI_HC_SITES, 0, 1, 2, 0, -HEKI_EINVAL },
		{ "sites_across_pages", HEKI_HC_SITES, 4096 - 32, 2, 0, 0, -HEKI_EALIGN },
		{ "sites_entry_unknown_kind", HEKI_HC_SITES, 0, 1, 0, 0, -HEKI_EINVAL },
		{ "patch_no_bytes", HEKI_HC_PATCH, 0, 0, 0, 0, -HEKI_ERANGE },
		{ "patch_too_long", HEKI_HC_PATCH, 0, HEKI_PATCH_MAX_LEN + 1, 0, 0, -HEKI_ERANGE },
		{ "patch_bytes_past_len", HEKI_HC_PATCH, 0, 1, 0x1cc, 0, -HEKI_EINVAL },
		/* -HEKI_EINVAL where the host offers VMFUNC, -HEKI_ENOSYS elsewhere. */
		{ "vmfunc_bad_arg", HEKI_HC_VMFUNC, 2, 0, 0, 0, EXPECT_NO_FEATURE },
	};

	if (!buf)
		return -ENOMEM;
	pa = __pa(buf);
	/* Batch entries the batch_* cases point at (a0 is an offset in buf). */
	r[0] = (struct heki_range){ pa + 4096, 1, HEKI_ATTR_RO, 1 };
	r[1] = (struct heki_range){ pa + 4096, 1, 1 << 4, 0 };
	r[2] = (struct heki_range){ 1ull << 45, 1, HEKI_ATTR_RO, 0 };
	r[3] = (struct heki_range){ pa, 1, RWX, 0 };	/* valid: a release */
	r[4] = (struct heki_range){ pa, 0, HEKI_ATTR_RO, 0 };

	for (c = cases; c < cases + ARRAY_SIZE(cases); c++) {
		unsigned long a0 = c->a0;
		long got, expect = c->expect;

		if (expect == EXPECT_NO_FEATURE)
			expect = heki_host_features & HEKI_FEAT_VMFUNC ?
				 -HEKI_EINVAL : -HEKI_ENOSYS;

		/* Small first arguments of buffer calls are offsets into buf. */
		if (c->nr != HEKI_HC_PIN_CR && c->nr != HEKI_HC_LOCKDOWN &&
		    a0 < 2 * 4096)
			a0 += pa;
		got = heki_call(c->nr, a0, c->a1, c->a2, c->a3);
		seq_printf(m, "%s %s expect=%ld got=%ld\n", c->name,
			   OK(got == expect), expect, got);
	}
	free_pages((unsigned long)buf, 1);
	return 0;
}

/*
 * A raw control-register write, as a code-reuse gadget would make it: not
 * through native_write_cr*(), whose own pinning would hide the host's.
 * Returns 1 if the write faulted (the extable entry skips the clear of
 * *faulted), 0 if it took effect; *ip is the mov's address, which the host
 * logs as the violation's RIP.
 */
#define HEKI_RAW_CR_WRITE(cr, val, ip)					\
({									\
	int __faulted = 1;						\
	asm volatile("lea 1f(%%rip), %[rip]\n"				\
		     "1: mov %[v], %%" cr "\n"				\
		     "movl $0, %[f]\n"					\
		     "2:\n"						\
		     _ASM_EXTABLE(1b, 2b)				\
		     : [f] "+r" (__faulted), [rip] "=&r" (ip)		\
		     : [v] "r" (val) : "memory");			\
	__faulted;							\
})

/*
 * Pins a bit with HEKI_HC_PIN_CR, then tries to clear it with a raw write:
 * the host must refuse with #GP and the bit must still be set.  If the
 * write went through the original value is put back at once.
 */
static void heki_pin_and_attack(struct seq_file *m, int cr, unsigned long bit,
				const char *name)
{
	unsigned long before, after, ip = 0, flags;
	long ret;
	int faulted;

	before = cr ? __read_cr4() : read_cr0();
	if (!(before & bit)) {
		seq_printf(m, "pin_%s skip not_set_on_this_cpu\n", name);
		return;
	}
	ret = heki_call(HEKI_HC_PIN_CR, cr, bit, 0, 0);
	seq_printf(m, "pin_%s %s ret=%ld\n", name, OK(!ret), ret);

	local_irq_save(flags);
	if (cr)
		faulted = HEKI_RAW_CR_WRITE("cr4", before & ~bit, ip);
	else
		faulted = HEKI_RAW_CR_WRITE("cr0", before & ~bit, ip);
	after = cr ? __read_cr4() : read_cr0();
	if (!faulted) {
		if (cr)
			HEKI_RAW_CR_WRITE("cr4", before, ip);
		else
			HEKI_RAW_CR_WRITE("cr0", before, ip);
	}
	local_irq_restore(flags);
	seq_printf(m, "clear_%s_refused %s faulted=%d still_set=%d rip=0x%lx\n",
		   name, OK(faulted && (after & bit)), faulted,
		   !!(after & bit), ip);
}

static int heki_cr_pin_show(struct seq_file *m, void *unused)
{
	heki_pin_and_attack(m, 4, X86_CR4_SMEP, "cr4_smep");
	heki_pin_and_attack(m, 0, X86_CR0_WP, "cr0_wp");
	return 0;
}

/*
 * Protects a page read-only at the host and writes it through a
 * fault-tolerant accessor (the write must fault and the page stay
 * unchanged); asks the host to write a query result into it (refused:
 * a hypercall must not be a way around the protection); releases it and
 * writes again (that write must land).
 */
static int heki_protect_show(struct seq_file *m, void *unused)
{
	u64 *page = (u64 *)__get_free_page(GFP_KERNEL);
	u64 val = 0x6865b1deadbeefull;
	int faulted, unchanged;
	long ret, rel;

	if (!page)
		return -ENOMEM;
	fill(page, PAGE_SIZE);

	ret = heki_call(HEKI_HC_PROTECT, __pa(page), 1, HEKI_ATTR_RO, 0);
	seq_printf(m, "protect_read_only %s ret=%ld\n", OK(!ret), ret);

	faulted = heki_write_nofault(&page[8], val);
	unchanged = page[8] == PATTERN;
	seq_printf(m, "write_refused %s faulted=%d unchanged=%d gva=0x%lx gfn=0x%lx\n",
		   OK(!ret && faulted && unchanged), faulted, unchanged,
		   (unsigned long)&page[8], __pa(page) >> PAGE_SHIFT);

	ret = heki_call(HEKI_HC_QUERY, __pa(page), sizeof(struct heki_info), 0, 0);
	seq_printf(m, "host_result_not_written_into_protected_page %s ret=%ld unchanged=%d\n",
		   OK(ret == -HEKI_EWRPROT && page[0] == PATTERN), ret,
		   page[0] == PATTERN);

	rel = heki_release(__pa(page), 1);
	seq_printf(m, "release %s ret=%ld\n", OK(!rel), rel);
	if (!rel) {
		faulted = heki_write_nofault(&page[8], val);
		seq_printf(m, "write_after_release %s faulted=%d landed=%d\n",
			   OK(!faulted && page[8] == val), faulted,
			   page[8] == val);
		free_page((unsigned long)page);
	} else {
		seq_puts(m, "leaked_protected_page 1\n");
	}
	return 0;
}

/*
 * Takes execute permission from the frame of heki_nx_target (a page of
 * this module's text holding nothing else) and calls it: the host must
 * refuse the fetch, so the function does not run.  Released, it runs.
 */
static int heki_exec_show(struct seq_file *m, void *unused)
{
	unsigned long pfn = vmalloc_to_pfn(heki_nx_target);
	phys_addr_t pa = PFN_PHYS(pfn);
	int before, during, after;
	long ret, rel;

	before = heki_nx_call();
	seq_printf(m, "runs_before %s got=0x%x\n", OK(before == HEKI_NX_RAN),
		   before);
	ret = heki_call(HEKI_HC_PROTECT, pa, 1, HEKI_ATTR_RO, 0);
	seq_printf(m, "protect_no_exec %s ret=%ld\n", OK(!ret), ret);
	during = heki_nx_call();
	seq_printf(m, "exec_refused %s faulted=%d rip=0x%lx gfn=0x%lx\n",
		   OK(!ret && during == HEKI_NX_FAULTED),
		   during == HEKI_NX_FAULTED, (unsigned long)heki_nx_target, pfn);
	/*
	 * Module text must get its execute permission back, whatever
	 * happened: R_X when the kernel is under protection, else released.
	 */
	rel = heki_kernel_is_protected() ?
	      heki_call(HEKI_HC_PROTECT, pa, 1, HEKI_ATTR_EXEC, 0) :
	      heki_release(pa, 1);
	after = heki_nx_call();
	seq_printf(m, "runs_after_release %s ret=%ld got=0x%x\n",
		   OK(!rel && after == HEKI_NX_RAN), rel, after);
	return 0;
}

/*
 * Three ranges in one request (read-only, read+exec, and a pair granting
 * nothing) must all take effect; a request whose second entry is bad
 * must take no effect at all; one request then releases everything.
 */
static int heki_batch_show(struct seq_file *m, void *unused)
{
	struct heki_range *r = kcalloc(3, sizeof(*r), GFP_KERNEL);
	u64 *p = (u64 *)__get_free_pages(GFP_KERNEL, 2);
	struct heki_stats s0, s1;
	int i, refused = 0;
	phys_addr_t pa;
	long ret;

	if (!r || !p) {
		kfree(r);
		if (p)
			free_pages((unsigned long)p, 2);
		return -ENOMEM;
	}
	pa = __pa(p);
	fill(p, 4 * PAGE_SIZE);
	stats_now(&s0);
	r[0] = (struct heki_range){ pa, 1, HEKI_ATTR_RO, 0 };
	r[1] = (struct heki_range){ pa + PAGE_SIZE, 1,
				    HEKI_ATTR_EXEC, 0 };
	r[2] = (struct heki_range){ pa + 2 * PAGE_SIZE, 2, 0, 0 };	/* no access */
	ret = heki_call(HEKI_HC_PROTECT_BATCH, __pa(r), 3, 0, 0);
	stats_now(&s1);
	seq_printf(m, "batch_of_3 %s ret=%ld ranges_applied=+%llu protected_frames=+%llu\n",
		   OK(!ret && s1.ranges_applied - s0.ranges_applied == 3 &&
		      s1.protected_frames - s0.protected_frames == 4),
		   ret, s1.ranges_applied - s0.ranges_applied,
		   s1.protected_frames - s0.protected_frames);
	for (i = 0; i < 4; i++)
		refused += heki_write_nofault(&p[i * PAGE_SIZE / 8], 1) &&
			   p[i * PAGE_SIZE / 8] == PATTERN;
	seq_printf(m, "batch_pages_write_protected %s refused=%d/4\n",
		   OK(refused == 4), refused);

	/* All or nothing: a release followed by a bad entry changes nothing. */
	r[0] = (struct heki_range){ pa, 1, RWX, 0 };
	r[1] = (struct heki_range){ pa, 1, 1 << 4, 0 };
	ret = heki_call(HEKI_HC_PROTECT_BATCH, __pa(r), 2, 0, 0);
	seq_printf(m, "bad_batch_takes_no_effect %s ret=%ld still_protected=%d\n",
		   OK(ret == -HEKI_EATTR && heki_write_nofault(&p[1], 1)), ret,
		   p[1] == PATTERN);

	r[0] = (struct heki_range){ pa, 4, RWX, 0 };
	ret = heki_call(HEKI_HC_PROTECT_BATCH, __pa(r), 1, 0, 0);
	i = !heki_write_nofault(&p[0], 2) && !heki_write_nofault(&p[3 * PAGE_SIZE / 8], 2);
	seq_printf(m, "batch_release %s ret=%ld writes_land=%d\n", OK(!ret && i),
		   ret, i);
	if (!ret)
		free_pages((unsigned long)p, 2);
	else
		seq_puts(m, "leaked_protected_pages 4\n");
	kfree(r);
	return 0;
}

/*
 * Write windows: on a read-only page a window makes writes land, windows
 * nest (two opens need two closes), a window covers every virtual mapping
 * of the frame (the direct map and a vmap alias), the last close makes the
 * page read-only again and zaps exactly that frame, and closing a window
 * that is not open is refused.
 */
static int heki_window_show(struct seq_file *m, void *unused)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 1);
	struct page *pv[1];
	struct heki_stats s0, s1;
	u64 *p, *alias;
	phys_addr_t pa;
	long ret, o1, o2, c1, c2;
	int lands, alias_lands, nested_lands, refused, refused_alias;

	if (!pages)
		return -ENOMEM;
	p = page_address(pages);
	pa = page_to_phys(pages);
	pv[0] = pages;
	alias = vmap(pv, 1, VM_MAP, PAGE_KERNEL);
	if (!alias) {
		__free_pages(pages, 1);
		return -ENOMEM;
	}
	fill(p, 2 * PAGE_SIZE);

	ret = heki_call(HEKI_HC_PROTECT, pa, 2, HEKI_ATTR_RO, 0);
	seq_printf(m, "protect_read_only %s ret=%ld\n", OK(!ret), ret);
	stats_now(&s0);

	o1 = heki_call(HEKI_HC_WINDOW_OPEN, pa, 1, 0, 0);
	lands = !heki_write_nofault(&p[1], 1) && p[1] == 1;
	alias_lands = !heki_write_nofault(&alias[2], 2) && p[2] == 2;
	seq_printf(m, "window_open_write_lands %s ret=%ld direct=%d vmap_alias=%d\n",
		   OK(!o1 && lands && alias_lands), o1, lands, alias_lands);

	o2 = heki_call(HEKI_HC_WINDOW_OPEN, pa, 1, 0, 0);
	c1 = heki_call(HEKI_HC_WINDOW_CLOSE, pa, 1, 0, 0);
	nested_lands = !heki_write_nofault(&p[3], 3) && p[3] == 3;
	seq_printf(m, "nested_window_stays_open %s open=%ld close=%ld lands=%d\n",
		   OK(!o2 && !c1 && nested_lands), o2, c1, nested_lands);

	c2 = heki_call(HEKI_HC_WINDOW_CLOSE, pa, 1, 0, 0);
	refused = heki_write_nofault(&p[4], 4) && p[4] == PATTERN;
	refused_alias = heki_write_nofault(&alias[5], 5) && p[5] == PATTERN;
	stats_now(&s1);
	seq_printf(m, "last_close_restores %s ret=%ld direct_refused=%d vmap_alias_refused=%d zaps=+%llu windows_open=%llu\n",
		   OK(!c2 && refused && refused_alias && s1.zaps - s0.zaps == 1 &&
		      s1.windows_open == 0),
		   c2, refused, refused_alias, s1.zaps - s0.zaps, s1.windows_open);
	seq_printf(m, "window_counts %s opened=+%llu closed=+%llu\n",
		   OK(s1.windows_opened - s0.windows_opened == 2 &&
		      s1.windows_closed - s0.windows_closed == 2),
		   s1.windows_opened - s0.windows_opened,
		   s1.windows_closed - s0.windows_closed);

	ret = heki_call(HEKI_HC_WINDOW_CLOSE, pa, 1, 0, 0);
	seq_printf(m, "close_unopened_refused %s ret=%ld\n",
		   OK(ret == -HEKI_ENOTOPEN), ret);

	/* A two-page window (a poke across a page boundary). */
	o1 = heki_call(HEKI_HC_WINDOW_OPEN, pa, 2, 0, 0);
	lands = !heki_write_nofault(&p[PAGE_SIZE / 8 - 1], 6) &&
		!heki_write_nofault(&p[PAGE_SIZE / 8], 7);
	c1 = heki_call(HEKI_HC_WINDOW_CLOSE, pa, 2, 0, 0);
	refused = heki_write_nofault(&p[PAGE_SIZE / 8 + 1], 8);
	seq_printf(m, "two_page_window %s open=%ld close=%ld lands=%d refused_after=%d\n",
		   OK(!o1 && !c1 && lands && refused), o1, c1, lands, refused);

	vunmap(alias);
	release_and_free(m, "window_pages", (unsigned long)p, 1);
	return 0;
}

/*
 * A store KVM itself performs for the guest: the forced-emulation prefix
 * makes KVM's instruction emulator execute the mov, writing guest RAM
 * through the host's mapping, where no second-stage table is consulted.
 * The host must check it all the same.
 */
static int heki_emulated_write_show(struct seq_file *m, void *unused)
{
	u64 *page = (u64 *)__get_free_page(GFP_KERNEL);
	unsigned long ip = 0;
	long ret;
	int r;

	if (!page)
		return -ENOMEM;
	fill(page, PAGE_SIZE);
	r = heki_fep_write(&page[1], 1, &ip);
	if (r == 2) {
		seq_puts(m, "emulated_write_refused skip host_has_kvm.force_emulation_prefix=0\n");
		free_page((unsigned long)page);
		return 0;
	}
	seq_printf(m, "emulated_write_lands_unprotected %s got=%d\n",
		   OK(r == 0 && page[1] == 1), r);
	ret = heki_call(HEKI_HC_PROTECT, __pa(page), 1, HEKI_ATTR_RO, 0);
	r = heki_fep_write(&page[2], 2, &ip);
	seq_printf(m, "emulated_write_refused %s ret=%ld got=%d unchanged=%d rip=0x%lx gva=0x%lx gfn=0x%lx\n",
		   OK(!ret && r == 1 && page[2] == PATTERN), ret, r,
		   page[2] == PATTERN, ip, (unsigned long)&page[2],
		   __pa(page) >> PAGE_SHIFT);
	release_and_free(m, "emulated_write_page", (unsigned long)page, 0);
	return 0;
}

/*
 * A hypercall from guest user mode: the rig's suite makes it from
 * userspace; this file only tells it which instruction the host wants.
 */
static int heki_vendor_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "hypercall_insn %s\n",
		   boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
		   boot_cpu_data.x86_vendor == X86_VENDOR_HYGON ?
		   "vmmcall" : "vmcall");
	return 0;
}

/* The other vCPU's window call, in its IPI handler. */
struct lock_racer {
	phys_addr_t pa;
	long ret;
	u64 ms;
	atomic_t started, go, done;
};

/* How long the lockdown call has to reach the host (which waits 500 ms there). */
#define LOCK_RACE_LEAD_MS 100
#define LOCK_RACE_TRIES 3

static void lock_racer_open(void *arg)
{
	struct lock_racer *r = arg;
	u64 t0;

	atomic_set(&r->started, 1);
	while (!atomic_read(&r->go))
		cpu_relax();
	mdelay(LOCK_RACE_LEAD_MS);
	t0 = ktime_get_ns();
	r->ret = heki_call(HEKI_HC_WINDOW_OPEN, r->pa, 1, 0, 0);
	r->ms = (ktime_get_ns() - t0) / 1000000;
	atomic_set_release(&r->done, 1);
}

/*
 * Issue 13 item 7: no write window survives a lockdown that forbids it.
 * While this vCPU locks down, another opens a window on @data's frame
 * (immutable, not executable: no window after any lockdown).  The rig's
 * host (kvm.heki_test_delay_us) holds a lockdown between its checks and
 * its state change, and the window call is timed into that gap: a host
 * that checks windows under one lock and the lockdown flag under another
 * grants it and locks down with it open.  Allowed: the window refused
 * (-HEKI_ESITE, logged why=window), or opened before the lockdown looked
 * and the lockdown refused (-HEKI_EBUSY, logged why=lock-busy; the window
 * is closed and the lockdown tried again).  After it a write to @data must
 * fault.  Returns the lockdown's result.
 */
static long lockdown_racing_window(struct seq_file *m, u64 *data)
{
	struct lock_racer r;
	unsigned int tries, busy = 0;
	u64 t0, lock_ms = 0;
	bool survived;
	int other = -1, faulted;
	long ret = -1;

	if (num_online_cpus() < 2) {
		seq_puts(m, "lockdown_window_race skip needs_two_online_cpus\n");
		return heki_kernel_lockdown();
	}
	for (tries = 1; tries <= LOCK_RACE_TRIES; tries++) {
		memset(&r, 0, sizeof(r));
		r.pa = __pa(data);
		migrate_disable();
		other = cpumask_any_but(cpu_online_mask, smp_processor_id());
		smp_call_function_single(other, lock_racer_open, &r, 0);
		while (!atomic_read(&r.started))	/* IPIs arrive late under TCG */
			cpu_relax();
		atomic_set(&r.go, 1);
		t0 = ktime_get_ns();
		ret = heki_kernel_lockdown();	/* authenticated if auth=1 */
		lock_ms = (ktime_get_ns() - t0) / 1000000;
		while (!atomic_read_acquire(&r.done))
			cpu_relax();
		migrate_enable();
		if (ret != -HEKI_EBUSY)
			break;
		busy++;
		if (!r.ret)
			heki_call(HEKI_HC_WINDOW_CLOSE, r.pa, 1, 0, 0);
	}
	survived = !ret && !r.ret;
	faulted = heki_write_nofault(&data[4], ~PATTERN);
	if (!faulted)
		heki_write_nofault(&data[4], PATTERN);
	/* The racer's window, whatever the lockdown said (EBUSY ones closed above). */
	if (!r.ret && ret != -HEKI_EBUSY)
		heki_call(HEKI_HC_WINDOW_CLOSE, r.pa, 1, 0, 0);
	seq_printf(m, "lockdown_window_race %s lockdown=%ld window=%ld tries=%u busy=%u window_refused=%d lock_ms=%llu window_ms=%llu window_cpu=%d write_faulted=%d gfn=0x%llx\n",
		   OK(!ret && !survived && faulted), ret, r.ret, tries, busy,
		   r.ret == -HEKI_ESITE, lock_ms, r.ms, other, faulted,
		   (u64)__pa(data) >> PAGE_SHIFT);
	return ret;
}

/*
 * Lockdown.  Irreversible for the VM, so the suite runs it last.  Before
 * it: one page of kernel text R_X|IMMUTABLE, one data page R|IMMUTABLE.
 * After it: every way of weakening them is refused with HEKI_ELOCKED (and
 * logged by the host), strengthening still works, non-immutable memory
 * stays changeable (vmap and module unload depend on it), and a batch with
 * one weakening entry takes no effect at all.
 */
static int heki_lockdown_show(struct seq_file *m, void *unused)
{
	/* A kernel text page: memcmp() is core text, not patched at run time. */
	phys_addr_t text = __pa_symbol(&memcmp) & PAGE_MASK;
	u64 *data = (u64 *)__get_free_page(GFP_KERNEL);
	u64 *free = (u64 *)__get_free_page(GFP_KERNEL);
	struct heki_range *r = kcalloc(2, sizeof(*r), GFP_KERNEL);
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	const u64 imm = HEKI_ATTR_IMMUTABLE;
	struct {
		const char *name;
		phys_addr_t pa;
		u64 attrs;
	} *w, weaken[] = {
		{ "unprotect_kernel_text", text, RWX },
		{ "make_kernel_text_writable", text, HEKI_ATTR_WRITE | HEKI_ATTR_EXEC | imm },
		{ "drop_immutable_from_text", text, HEKI_ATTR_EXEC },
		{ "make_data_writable", 0, HEKI_ATTR_WRITE | imm },
		{ "make_data_executable", 0, HEKI_ATTR_EXEC | imm },
		{ "unprotect_data", 0, RWX },
	};
	phys_addr_t dpa;
	long ret;

	if (!data || !free || !r || !st) {
		free_page((unsigned long)data);
		free_page((unsigned long)free);
		kfree(r);
		kfree(st);
		return -ENOMEM;
	}
	dpa = __pa(data);
	fill(data, PAGE_SIZE);

	ret = heki_call(HEKI_HC_PROTECT, text, 1,
			HEKI_ATTR_EXEC | imm, 0);
	seq_printf(m, "protect_text_immutable %s ret=%ld gfn=0x%llx\n", OK(!ret),
		   ret, (u64)text >> PAGE_SHIFT);
	ret = heki_call(HEKI_HC_PROTECT, dpa, 1, imm, 0);
	seq_printf(m, "protect_data_immutable %s ret=%ld gfn=0x%llx\n", OK(!ret),
		   ret, (u64)dpa >> PAGE_SHIFT);

	stats_now(st);
	if (st->locked) {
		seq_puts(m, "lockdown ok locked_when_the_module_loaded=1\n");
	} else {
		ret = lockdown_racing_window(m, data);
		stats_now(st);
		seq_printf(m, "lockdown %s ret=%ld locked=%llu\n",
			   OK(!ret && st->locked), ret, st->locked);
	}
	ret = heki_call(HEKI_HC_LOCKDOWN, 0, 0, 0, 0);
	seq_printf(m, "second_lockdown_refused %s ret=%ld\n",
		   OK(ret == -HEKI_ELOCKED), ret);

	for (w = weaken; w < weaken + ARRAY_SIZE(weaken); w++) {
		ret = heki_call(HEKI_HC_PROTECT, w->pa ?: dpa, 1, w->attrs, 0);
		seq_printf(m, "%s_refused %s ret=%ld gfn=0x%llx\n", w->name,
			   OK(ret == -HEKI_ELOCKED), ret,
			   (u64)(w->pa ?: dpa) >> PAGE_SHIFT);
	}
	ret = heki_write_nofault(&data[3], 3);
	seq_printf(m, "data_still_write_protected %s faulted=%d unchanged=%d\n",
		   OK(ret && data[3] == PATTERN), (int)ret, data[3] == PATTERN);

	/* Strengthening an immutable frame is allowed after lockdown. */
	ret = heki_call(HEKI_HC_PROTECT, dpa, 1, imm, 0);
	seq_printf(m, "strengthen_immutable_allowed %s ret=%ld\n", OK(!ret), ret);

	/* Non-immutable memory stays changeable. */
	ret = heki_call(HEKI_HC_PROTECT, __pa(free), 1, HEKI_ATTR_RO, 0);
	seq_printf(m, "protect_after_lockdown %s ret=%ld\n", OK(!ret), ret);
	r[0] = (struct heki_range){ __pa(free), 1, RWX, 0 };
	r[1] = (struct heki_range){ text, 1, RWX, 0 };
	ret = heki_call(HEKI_HC_PROTECT_BATCH, __pa(r), 2, 0, 0);
	seq_printf(m, "batch_with_weakening_refused_whole %s ret=%ld first_entry_applied=%d\n",
		   OK(ret == -HEKI_ELOCKED && heki_write_nofault(free, 1)), ret,
		   free[0] == 1);
	ret = heki_release(__pa(free), 1);
	seq_printf(m, "release_non_immutable_after_lockdown %s ret=%ld\n",
		   OK(!ret && !heki_write_nofault(free, 1)), ret);
	if (!ret)
		free_page((unsigned long)free);

	/* The data page stays protected for the VM's life: never freed. */
	seq_puts(m, "immutable_data_page_kept info leaked_on_purpose=1\n");
	kfree(r);
	kfree(st);
	return 0;
}

/* Refused writes of the flood self-check (make nightly: 1,000,000). */
static unsigned int flood_writes = 100000;
module_param(flood_writes, uint, 0644);
MODULE_PARM_DESC(flood_writes, "refused writes the flood self-check makes");

/* What the checker "reports" after the flood: its record must reach L0. */
#define FLOOD_REPORT_VALUE 0xf100dull

/*
 * A hostile guest floods the host's violation log: flood_writes refused
 * writes to one read-only page, then a record of another kind (a checker
 * report).  The guest sees every write refused and counted (HEKI_HC_STATS
 * violations moved by exactly flood_writes); the rig checks that L0 got
 * the earlier records, the report, and records + drops == the count.
 */
static int heki_flood_show(struct seq_file *m, void *unused)
{
	u64 *page = (u64 *)__get_free_page(GFP_KERNEL);
	struct heki_stats before, after, reported;
	unsigned int i, faulted = 0;
	u64 t0, ns;
	long ret;

	if (!page)
		return -ENOMEM;
	fill(page, PAGE_SIZE);
	ret = heki_call(HEKI_HC_PROTECT, __pa(page), 1, HEKI_ATTR_RO, 0);
	seq_printf(m, "flood_protect %s ret=%ld\n", OK(!ret), ret);
	if (ret) {
		free_page((unsigned long)page);
		return 0;
	}
	stats_now(&before);
	t0 = ktime_get_ns();
	for (i = 0; i < flood_writes; i++) {
		/* page[16]: not the slot the protect check writes (its gva differs). */
		faulted += heki_write_nofault(&page[16], i);
		if (!(i & 1023))
			cond_resched();
	}
	ns = ktime_get_ns() - t0;
	stats_now(&after);
	seq_printf(m, "flood_refused %s writes=%u faulted=%u unchanged=%d vm_seq_first=%llu vm_seq_last=%llu ns=%llu gfn=0x%lx gva=0x%lx\n",
		   OK(faulted == flood_writes && page[16] == PATTERN &&
		      after.violations - before.violations == flood_writes),
		   flood_writes, faulted, page[16] == PATTERN,
		   before.violations + 1, after.violations, ns,
		   __pa(page) >> PAGE_SHIFT, (unsigned long)&page[16]);
	ret = heki_call(HEKI_HC_REPORT, HEKI_REPORT_FOP, FLOOD_REPORT_VALUE,
			__pa(page), 0);
	stats_now(&reported);
	seq_printf(m, "report_after_flood %s ret=%ld vm_seq=%llu value=0x%llx object=0x%lx\n",
		   OK(!ret && reported.violations == after.violations + 1), ret,
		   reported.violations, FLOOD_REPORT_VALUE, (unsigned long)__pa(page));
	release_and_free(m, "flood_page", (unsigned long)page, 0);
	return 0;
}

const struct heki_selftest heki_selftests[] = {
	{ "abi_check", heki_abi_check_show },
	{ "cr_pin", heki_cr_pin_show },
	{ "protect", heki_protect_show },
	{ "exec", heki_exec_show },
	{ "batch", heki_batch_show },
	{ "window", heki_window_show },
	{ "emulated_write", heki_emulated_write_show },
	{ "vendor", heki_vendor_show },
	{ "fuzz", heki_fuzz_show },
	{ "lockdown", heki_lockdown_show },
	{ "kernel_write", heki_kernel_write_show },
	{ "keeps_working", heki_keeps_working_show },
	{ "auth", heki_auth_show },
	{ "module_check", heki_module_check_show },
	{ "flood", heki_flood_show },
	{ "trace_target", heki_trace_target_show },
};
const unsigned int heki_nr_selftests = ARRAY_SIZE(heki_selftests);
