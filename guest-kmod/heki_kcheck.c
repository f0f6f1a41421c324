// SPDX-License-Identifier: GPL-2.0
/*
 * Checks of the protection of the running kernel (heki_kernel.c), one
 * debugfs file each, in the self-check format of heki_selftest.c.
 *
 *   kernel_write   writes to kernel text, rodata and ro_after_init data
 *                  through a fresh writable alias: the host must refuse
 *   keeps_working  static keys, kprobes and set_memory_*() under
 *                  protection, with the hook counters each must move
 *   module_check   text and rodata of heki_testmod (loaded by the suite)
 *                  must be write-protected
 *
 * Writes go through a vmap() alias mapped PAGE_KERNEL, as a data-only
 * attacker who rewrote a PTE would make them: the guest's own page tables
 * allow the write, only the host can stop it.  Each write flips bits and
 * the original address is read back; a write that landed (a broken host)
 * is undone at once through the same alias.
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/kprobes.h>
#include <linux/jump_label.h>
#include <linux/io.h>

#include "heki_guest.h"

#define OK(cond) ((cond) ? "ok" : "FAIL")

static struct page *heki_addr_to_page(unsigned long addr)
{
	if (is_vmalloc_addr((void *)addr) ||
	    (addr >= MODULES_VADDR && addr < MODULES_END))
		return vmalloc_to_page((void *)addr);
	return virt_to_page((void *)addr);
}

/*
 * Writes a different u64 over the one at @addr through a writable alias.
 * Returns 1 if the host refused (the write faulted and @addr still holds
 * its old value), 0 if it went through (then undone), -1 if no alias could
 * be made; *gfn is the frame.
 */
int heki_alias_write(unsigned long addr, unsigned long *gfn)
{
	struct page *page = heki_addr_to_page(addr);
	unsigned long off = addr & ~PAGE_MASK & ~7ul;
	u64 *p, *orig = (u64 *)(addr & ~7ul), old;
	void *alias;
	int faulted;

	*gfn = page ? page_to_pfn(page) : 0;
	if (!page)
		return -1;
	alias = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!alias)
		return -1;
	p = alias + off;
	old = READ_ONCE(*p);
	faulted = heki_write_nofault(p, old ^ 0xa5a5a5a5a5a5a5a5ull);
	if (READ_ONCE(*orig) != old) {
		heki_write_nofault(p, old);
		faulted = 0;
	}
	vunmap(alias);
	return faulted;
}

static void report_write(struct seq_file *m, const char *name, unsigned long addr)
{
	unsigned long gfn;
	int r;

	if (!addr) {
		seq_printf(m, "%s FAIL symbol_not_found\n", name);
		return;
	}
	r = heki_alias_write(addr, &gfn);
	seq_printf(m, "%s %s refused=%d addr=0x%lx gfn=0x%lx\n", name, OK(r == 1),
		   r, addr, gfn);
}

int heki_kernel_write_show(struct seq_file *m, void *unused)
{
	if (!heki_kernel_is_protected()) {
		seq_puts(m, "kernel_text_write_refused skip module_loaded_with_protect=0\n");
		return 0;
	}
	/* A function in the middle of core text, a const table, a __ro_after_init. */
	report_write(m, "kernel_text_write_refused", heki_lookup("memcmp") + 8);
	report_write(m, "kernel_rodata_write_refused", heki_lookup("linux_proc_banner"));
	report_write(m, "kernel_ro_after_init_write_refused",
		     heki_lookup("__start_ro_after_init"));
	return 0;
}

/* ---------------------------------------------------------------- working */

static DEFINE_STATIC_KEY_FALSE(heki_test_key);

static noinline int heki_key_user(void)
{
	if (static_branch_unlikely(&heki_test_key))
		return 1;
	return 0;
}

static noinline int heki_kprobe_target(int x)
{
	return x + 1;
}

static atomic_t heki_kprobe_hits;

static int heki_kprobe_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&heki_kprobe_hits);
	return 0;
}

/* Deltas of the hook counters and the host's stats around one check. */
struct span {
	struct heki_guest_counters g0, g1;
	struct heki_stats *h0, *h1;
};

static int span_start(struct span *s)
{
	s->h0 = kzalloc(sizeof(*s->h0), GFP_KERNEL);
	s->h1 = kzalloc(sizeof(*s->h1), GFP_KERNEL);
	if (!s->h0 || !s->h1) {
		kfree(s->h0);
		kfree(s->h1);
		return -ENOMEM;
	}
	heki_counters_snapshot(&s->g0);
	heki_stats(s->h0);
	return 0;
}

static void span_end(struct span *s)
{
	heki_stats(s->h1);
	heki_counters_snapshot(&s->g1);
}

static void span_free(struct span *s)
{
	kfree(s->h0);
	kfree(s->h1);
}

#define D(s, field, hook) ((s)->g1.field[hook] - (s)->g0.field[hook])

static void check_static_keys(struct seq_file *m)
{
	struct span s;
	int i, wrong = 0;
	s64 pokes, hcs;

	if (span_start(&s))
		return;
	for (i = 0; i < 1000; i++) {
		static_branch_enable(&heki_test_key);
		wrong += heki_key_user() != 1;
		static_branch_disable(&heki_test_key);
		wrong += heki_key_user() != 0;
	}
	span_end(&s);
	pokes = D(&s, calls, HOOK_TEXT_POKE);
	hcs = D(&s, hypercalls, HOOK_TEXT_POKE);
	seq_printf(m, "static_key_1000_flips %s wrong=%d text_pokes=%lld window_hypercalls=%lld host_windows=+%llu\n",
		   OK(!wrong && pokes >= 1000 && hcs == 2 * pokes),
		   wrong, pokes, hcs, s.h1->windows_opened - s.h0->windows_opened);
	seq_printf(m, "two_window_hypercalls_per_text_poke %s pokes=%lld hypercalls=%lld errors=%lld\n",
		   OK(pokes && hcs == 2 * pokes && !D(&s, errors, HOOK_TEXT_POKE)),
		   pokes, hcs, D(&s, errors, HOOK_TEXT_POKE));
	span_free(&s);
}

static void check_kprobe(struct seq_file *m)
{
	/* The probe goes on this module's own text, protected R_X. */
	struct kprobe kp = { .addr = (kprobe_opcode_t *)heki_kprobe_target,
			     .pre_handler = heki_kprobe_pre };
	/* Called through a pointer the compiler cannot see through. */
	int (*volatile target)(int) = heki_kprobe_target;
	int ret, before, hits, r;

	ret = register_kprobe(&kp);
	before = atomic_read(&heki_kprobe_hits);
	r = target(41);
	hits = atomic_read(&heki_kprobe_hits) - before;
	if (!ret)
		unregister_kprobe(&kp);
	seq_printf(m, "kprobe_registers_and_fires %s ret=%d hits=%d result=%d\n",
		   OK(!ret && hits == 1 && r == 42), ret, hits, r);
}

/*
 * set_memory_ro()/rw() on a vmalloc page are mirrored: a writable alias of
 * its frame is refused while it is read-only and works after rw; vfree()
 * releases the frame.
 */
static void check_set_memory(struct seq_file *m)
{
	int (*set_ro)(unsigned long, int) = (void *)heki_lookup("set_memory_ro");
	int (*set_rw)(unsigned long, int) = (void *)heki_lookup("set_memory_rw");
	u64 *v = vmalloc(PAGE_SIZE);
	unsigned long gfn;
	struct span s;
	int ro_refused, rw_lands, r1, r2;

	if (!set_ro || !set_rw || !v || span_start(&s)) {
		seq_puts(m, "set_memory_mirrored FAIL setup\n");
		vfree(v);
		return;
	}
	v[0] = 1;
	r1 = set_ro((unsigned long)v, 1);
	ro_refused = heki_alias_write((unsigned long)v, &gfn) == 1;
	r2 = set_rw((unsigned long)v, 1);
	rw_lands = heki_alias_write((unsigned long)v, &gfn) == 0;
	vfree(v);
	span_end(&s);
	seq_printf(m, "set_memory_mirrored %s ro=%d rw=%d ro_refused=%d rw_lands=%d calls=+%lld hypercalls=+%lld gfn=0x%lx\n",
		   OK(!r1 && !r2 && ro_refused && rw_lands &&
		      D(&s, calls, HOOK_SET_MEMORY) == 2 &&
		      D(&s, hypercalls, HOOK_SET_MEMORY) == 2),
		   r1, r2, ro_refused, rw_lands, D(&s, calls, HOOK_SET_MEMORY),
		   D(&s, hypercalls, HOOK_SET_MEMORY), gfn);
	seq_printf(m, "vfree_releases %s vm_free_hypercalls=+%lld protected_frames=%llu->%llu\n",
		   OK(D(&s, hypercalls, HOOK_FREE) == 1 &&
		      s.h1->protected_frames == s.h0->protected_frames),
		   D(&s, hypercalls, HOOK_FREE), s.h0->protected_frames,
		   s.h1->protected_frames);
	span_free(&s);
}

/*
 * A page vmap()ed read-only is protected as such (a writable alias of its
 * frame is refused) and released by vunmap().
 */
static void check_vmap(struct seq_file *m)
{
	struct page *page = alloc_page(GFP_KERNEL);
	unsigned long gfn;
	struct span s;
	void *ro;
	int refused, lands;

	if (!page || span_start(&s)) {
		seq_puts(m, "vmap_read_only_protected FAIL setup\n");
		if (page)
			__free_page(page);
		return;
	}
	ro = vmap(&page, 1, VM_MAP, PAGE_KERNEL_RO);
	refused = ro && heki_alias_write((unsigned long)ro, &gfn) == 1;
	if (ro)
		vunmap(ro);
	lands = heki_alias_write((unsigned long)page_address(page), &gfn) == 0;
	span_end(&s);
	seq_printf(m, "vmap_read_only_protected %s refused=%d vmap_hypercalls=+%lld gfn=0x%lx\n",
		   OK(ro && refused && D(&s, hypercalls, HOOK_VMAP) == 1),
		   refused, D(&s, hypercalls, HOOK_VMAP), gfn);
	seq_printf(m, "vunmap_releases %s writable_after=%d vm_free_hypercalls=+%lld\n",
		   OK(lands && D(&s, hypercalls, HOOK_FREE) == 1), lands,
		   D(&s, hypercalls, HOOK_FREE));
	span_free(&s);
	__free_page(page);
}

int heki_keeps_working_show(struct seq_file *m, void *unused)
{
	struct heki_guest_counters c;

	if (!heki_kernel_is_protected()) {
		seq_puts(m, "static_key_1000_flips skip module_loaded_with_protect=0\n");
		return 0;
	}
	check_static_keys(m);
	check_kprobe(m);
	check_set_memory(m);
	check_vmap(m);
	heki_counters_snapshot(&c);
	seq_printf(m, "no_window_left_open %s windows_open=%d\n",
		   OK(c.windows_open == 0), c.windows_open);
	return 0;
}

/*
 * debugfs "trace_target": calls heki_trace_target(), a function of this
 * (protected) module, so the suite can turn the function tracer on for
 * exactly one function and see it in the trace.
 */
noinline int heki_trace_target(int x)
{
	return x ^ 0x5a;
}

int heki_trace_target_show(struct seq_file *m, void *unused)
{
	int (*volatile fn)(int) = heki_trace_target;

	seq_printf(m, "called info result=%d\n", fn(0));
	return 0;
}

/* ---------------------------------------------------------------- modules */

int heki_module_check_show(struct seq_file *m, void *unused)
{
	struct list_head *modules = (void *)heki_lookup("modules");
	unsigned long text = 0, rodata = 0;
	struct module *mod;

	if (!heki_kernel_is_protected()) {
		seq_puts(m, "module_text_write_refused skip module_loaded_with_protect=0\n");
		return 0;
	}
	if (modules) {
		rcu_read_lock();
		list_for_each_entry_rcu(mod, modules, list)
			if (!strcmp(mod->name, "heki_testmod") &&
			    mod->state == MODULE_STATE_LIVE) {
				text = (unsigned long)mod->core_layout.base;
				rodata = text + mod->core_layout.text_size;
			}
		rcu_read_unlock();
	}
	if (!text) {
		seq_puts(m, "module_text_write_refused FAIL heki_testmod_not_loaded\n");
		return 0;
	}
	report_write(m, "module_text_write_refused", text);
	report_write(m, "module_rodata_write_refused", rodata);
	return 0;
}
