// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs "auth": authenticated patching, checked after an authenticated
 * lockdown, in the self-check format of heki_selftest.c.
 *
 * The legitimate paths must work with no violation logged: a kernel
 * static key flipped (jump-label sites, through text_poke_bp()), a kprobe
 * on kernel text by INT3 and one through ftrace (an ftrace site CALLing a
 * trampoline in the module area).  Everything else must be refused and
 * logged, with the bytes unchanged: a request outside the registered
 * sites, a lone byte that is not an INT3, a jump label sent elsewhere than
 * its target, a call site sent into data, a write window on kernel text or
 * on read-only module data (one on module text is granted), the patch view
 * for a kernel-text address, a kernel-text write while in the patch view,
 * and registering sites after lockdown.
 *
 * Requests the host must refuse carry the bytes already there where the
 * rule is about the address, so a broken host changes nothing; where the
 * rule is about the bytes, a wrongly accepted request is undone at once.
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/kprobes.h>
#include <linux/jump_label.h>
#include <linux/vmalloc.h>

#include "heki_guest.h"
#include "heki_patch.h"

#define OK(cond) ((cond) ? "ok" : "FAIL")

static u64 violations_now(void)
{
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	u64 v = 0;

	if (st && !heki_stats(st))
		v = st->violations;
	kfree(st);
	return v;
}

static long patch(unsigned long addr, const u8 *b, unsigned int len)
{
	u8 buf[HEKI_PATCH_MAX_LEN] = {};
	u64 lo, hi;

	memcpy(buf, b, len);
	memcpy(&lo, buf, 8);
	memcpy(&hi, buf + 8, 8);
	return heki_call(HEKI_HC_PATCH, addr, len, lo, hi);
}

/* The first kernel-text jump entry of @key, or NULL. */
static struct heki_jump_entry *jump_entry_of(struct static_key *key)
{
	struct heki_jump_entry *e = (void *)heki_lookup("__start___jump_table");
	struct heki_jump_entry *end = (void *)heki_lookup("__stop___jump_table");

	for (; e && e < end; e++) {
		unsigned long k = ((unsigned long)&e->key + e->key) & ~3ul;
		unsigned long code = heki_jump_code(e);

		if (k == (unsigned long)key && heki_in_kernel_text(code, 5))
			return e;
	}
	return NULL;
}

/* A kernel static key flipped 20 times: every poke made by the host. */
static void check_static_key(struct seq_file *m, struct static_key *key,
			     struct heki_jump_entry *e)
{
	struct heki_guest_counters c0, c1;
	const u8 *site = (const u8 *)heki_jump_code(e);
	u8 before[5], on[5];
	bool was = static_key_enabled(key), changed = true;
	u64 v0 = violations_now();
	int i;

	memcpy(before, site, 5);
	heki_counters_snapshot(&c0);
	for (i = 0; i < 20; i++) {
		if (was)
			static_key_disable(key);
		else
			static_key_enable(key);
		memcpy(on, site, 5);
		if (was)
			static_key_enable(key);
		else
			static_key_disable(key);
		changed &= memcmp(on, site, 5) != 0;
	}
	heki_counters_snapshot(&c1);
	seq_printf(m, "kernel_static_key_flips %s flips=20 site=%pS changed=%d restored=%d text_pokes=+%lld host_patches=+%lld refused=+%lld violations=+%llu\n",
		   OK(changed && !memcmp(before, site, 5) &&
		      c1.errors[HOOK_TEXT_POKE] == c0.errors[HOOK_TEXT_POKE] &&
		      c1.hypercalls[HOOK_TEXT_POKE] > c0.hypercalls[HOOK_TEXT_POKE] &&
		      violations_now() == v0),
		   site, changed, !memcmp(before, site, 5),
		   c1.calls[HOOK_TEXT_POKE] - c0.calls[HOOK_TEXT_POKE],
		   c1.hypercalls[HOOK_TEXT_POKE] - c0.hypercalls[HOOK_TEXT_POKE],
		   c1.errors[HOOK_TEXT_POKE] - c0.errors[HOOK_TEXT_POKE],
		   violations_now() - v0);
}

/*
 * The probed function: traceable (it starts with its ftrace site, a NOP5
 * while untraced) and callable from here; the first of these the kernel
 * can trace.  Other tasks may call it too, so a probe counts at least our
 * call.
 */
static int call_memparse(void)
{
	char *end;

	return memparse("41", &end) == 41 ? 0 : -EINVAL;
}

static int call_kstrdup(void)
{
	char *s = kstrdup("41", GFP_KERNEL);
	int ok = s && !strcmp(s, "41");

	kfree(s);
	return ok ? 0 : -EINVAL;
}

static const struct probed {
	const char *name;
	int (*call)(void);
} probed_fns[] = {
	{ "memparse", call_memparse },
	{ "kstrdup", call_kstrdup },
};

static const struct probed *probed;
static unsigned long probed_addr;

static bool pick_probed(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(probed_fns); i++) {
		unsigned long a = heki_lookup(probed_fns[i].name);

		if (a && heki_in_kernel_text(a, 16) && !memcmp((void *)a, heki_nop5, 5)) {
			probed = &probed_fns[i];
			probed_addr = a;
			return true;
		}
	}
	return false;
}

static atomic_t kprobe_hits;

static int kprobe_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&kprobe_hits);
	return 0;
}

/*
 * A kprobe on the probed function at @offset: 0 goes through its ftrace
 * site, 5 (the next instruction) is an INT3.  Other callers may hit it too.
 */
static void check_kprobe(struct seq_file *m, const char *name, unsigned int offset)
{
	struct kprobe kp = { .symbol_name = probed->name, .offset = offset,
			     .pre_handler = kprobe_pre };
	u64 v0 = violations_now();
	int ret, hits, r, ftrace;

	atomic_set(&kprobe_hits, 0);
	ret = register_kprobe(&kp);
	ftrace = !ret && kprobe_ftrace(&kp);
	r = probed->call();
	hits = atomic_read(&kprobe_hits);
	if (!ret)
		unregister_kprobe(&kp);
	seq_printf(m, "%s %s fn=%s+%u ret=%d hits=%d result=%d violations=+%llu ftrace=%d\n",
		   name, OK(!ret && hits >= 1 && !r && violations_now() == v0 &&
			    ftrace == !offset),
		   probed->name, offset, ret, hits, r, violations_now() - v0, ftrace);
}

/*
 * A request the host must refuse with @expect: one more violation, and the
 * @len bytes at @addr as they were.  @undo: bytes to put back if a broken
 * host accepted it.
 */
static void refused(struct seq_file *m, const char *name, unsigned long addr,
		    const u8 *b, unsigned int len, long expect, const u8 *undo)
{
	u8 before[HEKI_PATCH_MAX_LEN];
	u64 v0 = violations_now();
	long ret;
	bool same;

	memcpy(before, (void *)addr, len);
	ret = patch(addr, b, len);
	same = !memcmp(before, (void *)addr, len);
	if (!ret && undo)
		patch(addr, undo, len);
	seq_printf(m, "%s %s ret=%ld expect=%ld unchanged=%d violations=+%llu addr=%pS\n",
		   name, OK(ret == expect && same && violations_now() == v0 + 1),
		   ret, expect, same, violations_now() - v0, (void *)addr);
}

static void rel32(u8 *b, u8 op, unsigned long at, unsigned long dest)
{
	s32 rel = (s32)(dest - (at + 5));

	b[0] = op;
	memcpy(b + 1, &rel, 4);
}

static void check_refusals(struct seq_file *m, struct heki_jump_entry *e)
{
	unsigned long fn = probed_addr;
	unsigned long code = heki_jump_code(e);
	unsigned long target = heki_jump_target(e);
	/* Kernel data: within a rel32 of the text, unlike the direct map. */
	unsigned long data = heki_lookup("_sdata");
	u8 cur[8], b[8];

	if (!data) {
		seq_puts(m, "patch_refusals FAIL no_sdata\n");
		return;
	}
	/* Address rules: the bytes sent are the bytes there. */
	memcpy(cur, (void *)fn + 5, 2);
	refused(m, "patch_outside_sites_refused", fn + 5, cur, 2, -HEKI_ESITE, NULL);
	refused(m, "patch_lone_byte_not_int3_refused", fn + 5, cur, 1, -HEKI_EPATCH, NULL);
	memcpy(cur, (void *)fn - 8, 8);
	refused(m, "patch_outside_text_refused", heki_lookup("_etext"), cur, 1,
		-HEKI_ESITE, NULL);

	/* Byte rules: undone at once if a broken host took them. */
	memcpy(cur, (void *)code, 5);
	rel32(b, 0xe9, code, target + 1);
	refused(m, "patch_jump_label_other_target_refused", code, b, 5, -HEKI_EPATCH, cur);
	memcpy(cur, (void *)fn, 5);	/* the probed function's ftrace site */
	rel32(b, 0xe8, fn, data);
	refused(m, "patch_call_into_data_refused", fn, b, 5, -HEKI_EPATCH, cur);
}

/* A window the host must refuse (and log); closed again if it was not. */
static void window_refused(struct seq_file *m, const char *name, phys_addr_t pa)
{
	u64 v0 = violations_now();
	long ret = heki_call(HEKI_HC_WINDOW_OPEN, pa, 1, 0, 0);

	if (!ret)
		heki_call(HEKI_HC_WINDOW_CLOSE, pa, 1, 0, 0);
	seq_printf(m, "%s %s ret=%ld violations=+%llu gfn=0x%llx\n", name,
		   OK(ret == -HEKI_ESITE && violations_now() == v0 + 1), ret,
		   violations_now() - v0, (u64)pa >> PAGE_SHIFT);
}

/* Windows, views and registration after an authenticated lockdown. */
static void check_channels(struct seq_file *m)
{
	unsigned long fn = probed_addr;
	phys_addr_t pa = __pa_symbol(fn) & PAGE_MASK;
	u64 *page = (u64 *)__get_free_page(GFP_KERNEL);
	unsigned long gfn;
	u64 v0;
	long ret, back;
	int w;

	window_refused(m, "window_on_kernel_text_refused", pa);
	/* This module's read-only data (R__, not immutable): no code, no window. */
	window_refused(m, "window_on_module_rodata_refused",
		       (phys_addr_t)vmalloc_to_pfn(heki_selftests) << PAGE_SHIFT);

	/* This module's text (R_X, not immutable): granted, as text_poke needs. */
	pa = (phys_addr_t)vmalloc_to_pfn(check_channels) << PAGE_SHIFT;
	v0 = violations_now();
	ret = heki_call(HEKI_HC_WINDOW_OPEN, pa, 1, 0, 0);
	back = ret ? -1 : heki_call(HEKI_HC_WINDOW_CLOSE, pa, 1, 0, 0);
	seq_printf(m, "window_on_module_text_granted %s ret=%ld close=%ld violations=+%llu\n",
		   OK(!ret && !back && violations_now() == v0), ret, back,
		   violations_now() - v0);

	if (page) {
		v0 = violations_now();
		ret = heki_call(HEKI_HC_SITES, __pa(page), 0, HEKI_SITES_RESET, 0);
		seq_printf(m, "sites_after_lockdown_refused %s ret=%ld violations=+%llu\n",
			   OK(ret == -HEKI_ELOCKED && violations_now() == v0 + 1), ret,
			   violations_now() - v0);
		free_page((unsigned long)page);
	}

	if (!(heki_host_features & HEKI_FEAT_VIEW)) {
		seq_puts(m, "view_for_kernel_text_refused skip host_without_views\n");
		return;
	}
	migrate_disable();	/* views are per vCPU */
	v0 = violations_now();
	ret = heki_call(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH, fn, 0, 0);
	back = ret ? 0 : heki_call(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0, 0);
	seq_printf(m, "view_for_kernel_text_refused %s ret=%ld violations=+%llu\n",
		   OK(ret == -HEKI_ESITE && !back && violations_now() == v0 + 1), ret,
		   violations_now() - v0);

	/* Module text: granted, but the patch view holds kernel text read-only. */
	ret = heki_call(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH,
			(unsigned long)check_channels, 0, 0);
	v0 = violations_now();
	w = ret ? -1 : heki_alias_write(fn, &gfn);
	back = ret ? -1 : heki_call(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0, 0);
	migrate_enable();
	seq_printf(m, "view_for_module_area_granted %s ret=%ld leave=%ld\n",
		   OK(!ret && !back), ret, back);
	seq_printf(m, "kernel_text_write_in_patch_view_refused %s refused=%d violations=+%llu gfn=0x%lx\n",
		   OK(w == 1 && violations_now() == v0 + 1), w, violations_now() - v0,
		   gfn);
}

int heki_auth_show(struct seq_file *m, void *unused)
{
	struct static_key *key = (void *)heki_lookup("sched_schedstats");
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	struct heki_jump_entry *e = key ? jump_entry_of(key) : NULL;

	if (!st)
		return -ENOMEM;
	heki_stats(st);
	if (!heki_kernel_auth_active()) {
		seq_printf(m, "auth_active skip not_authenticated host_auth=%llu feature=%d\n",
			   st->auth, !!(heki_host_features & HEKI_FEAT_AUTH));
		kfree(st);
		return 0;
	}
	seq_printf(m, "auth_active %s host_auth=%llu locked=%llu sites=%llu\n",
		   OK(st->auth == 1 && st->locked == 1 && st->sites > 1000),
		   st->auth, st->locked, st->sites);
	kfree(st);
	seq_printf(m, "sites_hold_allowed_encodings %s unexpected=%u\n",
		   OK(!heki_sites_unexpected()), heki_sites_unexpected());
	if (!pick_probed()) {
		seq_puts(m, "kernel_kprobe_int3_fires FAIL no_traceable_function_to_probe\n");
		return 0;
	}
	if (!e) {
		seq_puts(m, "kernel_static_key_flips FAIL no_jump_entry_of_sched_schedstats\n");
	} else {
		check_static_key(m, key, e);
		check_refusals(m, e);
	}
	check_kprobe(m, "kernel_kprobe_int3_fires", 5);
	check_kprobe(m, "kernel_kprobe_ftrace_fires", 0);
	check_channels(m);
	return 0;
}
