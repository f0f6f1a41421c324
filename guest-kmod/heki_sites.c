// SPDX-License-Identifier: GPL-2.0
/*
 * Patch sites (HEKI_HC_SITES): before lockdown, tell the host every place
 * in the kernel image that text_poke() may legitimately rewrite, so that
 * after an authenticated lockdown (HEKI_LOCK_AUTH) the host can check each
 * HEKI_HC_PATCH against them.
 *
 *   kernel text         one HEKI_SITE_TEXT range (_stext.._etext; gives the
 *                       host gva -> gpa without trusting page tables)
 *   module area         HEKI_SITE_TARGETS: module text, BPF images, ftrace
 *                       trampolines and kprobe slots live there
 *   jump labels         __jump_table entries in kernel text (JUMP, with the
 *                       one target each may jump to)
 *   static calls        .static_call_sites in kernel text: CALL, or TAIL
 *                       for tail calls (with a Jcc's condition byte); the
 *                       trampolines of .static_call.text (TAIL)
 *   ftrace              every dyn_ftrace record in kernel text (FTRACE), the
 *                       ftrace_call / ftrace_regs_call patch points (CALL)
 *                       and ftrace_graph_call (TAIL)
 *   function entries    every kernel-text symbol (FUNC): what a CALL or JMP
 *                       written into a site may name, and where the host
 *                       starts decoding to place a kprobe's INT3;
 *                       ftrace_caller and ftrace_regs_caller flagged as
 *                       ftrace entries
 *   no-probe text       noinstr, entry and .kprobes.text (NOPROBE): no INT3
 *
 * Module code is not registered: modules unload, and their frames are not
 * IMMUTABLE, so their pokes keep using windows or the patch view.  Each
 * site's bytes now are checked with the host's own rules (heki_patch.h):
 * a site that already holds something the host would refuse is counted
 * and reported, since its next poke would be refused.
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/sort.h>
#include <linux/ftrace.h>
#include <linux/seq_file.h>
#include <linux/static_call_types.h>

#include "heki_guest.h"
#include "heki_patch.h"

/* The x86-64 relative layout of a static call site. */
struct heki_static_call_site {
	s32 addr;
	s32 key;
};

/* kernel/trace/ftrace.c's private struct ftrace_page, unchanged since 3.x. */
struct heki_ftrace_page {
	struct heki_ftrace_page *next;
	struct dyn_ftrace *records;
	int index;
	int order;
};

/* The static-call trampoline layout: 5 bytes of code, then "ud1 %esp,%ecx". */
#define SCT_SIZE 8
static const u8 sct_signature[3] = { 0x0f, 0xb9, 0xcc };

static unsigned long stext, etext;
static unsigned int nr_sites, nr_jump, nr_static, nr_tramp, nr_ftrace, nr_funcs;
static unsigned int nr_unexpected, nr_overlaps, nr_skipped;
static int register_status = -ENOENT;	/* 0 once the host took them */

bool heki_in_kernel_text(unsigned long addr, unsigned long len)
{
	return stext && addr >= stext && addr < etext && len <= etext - addr;
}

struct collect {
	struct heki_site *s;
	unsigned int n, max;
};

static void add(struct collect *c, unsigned long gva, unsigned int len,
		u32 kind, unsigned long target)
{
	if (!heki_in_kernel_text(gva, len) || c->n == c->max) {
		nr_skipped++;
		return;
	}
	c->s[c->n++] = (struct heki_site){ gva, 0, len, kind, target };
}

/* Jump labels: 2 or 5 bytes, by what the site holds now (as the kernel decides). */
static void collect_jump_labels(struct collect *c)
{
	struct heki_jump_entry *e = (void *)heki_lookup("__start___jump_table");
	struct heki_jump_entry *end = (void *)heki_lookup("__stop___jump_table");

	for (; e && e < end; e++) {
		unsigned long code = heki_jump_code(e);
		unsigned long target = heki_jump_target(e);
		const u8 *b = (const u8 *)code;
		unsigned int len;

		if (!heki_in_kernel_text(code, 2)) {
			nr_skipped++;
			continue;
		}
		if (b[0] == 0xeb || (b[0] == 0x66 && b[1] == 0x90))
			len = 2;
		else if (b[0] == 0xe9 || b[0] == 0x0f)
			len = 5;
		else
			len = 0;
		if (!len) {
			nr_unexpected++;
			continue;
		}
		add(c, code, len, HEKI_SITE_JUMP, target);
		nr_jump++;
	}
}

static void collect_static_calls(struct collect *c)
{
	struct heki_static_call_site *s = (void *)heki_lookup("__start_static_call_sites");
	struct heki_static_call_site *end = (void *)heki_lookup("__stop_static_call_sites");
	unsigned long t = heki_lookup("__static_call_text_start");
	unsigned long tend = heki_lookup("__static_call_text_end");

	for (; s && s < end; s++) {
		unsigned long addr = (unsigned long)&s->addr + s->addr;
		unsigned long key = (unsigned long)&s->key + s->key;
		const u8 *b = (const u8 *)addr;

		/* Init text is gone (unmapped): never read there. */
		if (!heki_in_kernel_text(addr, 6)) {
			nr_skipped++;
			continue;
		}
		if (!(key & STATIC_CALL_SITE_TAIL))
			add(c, addr, 5, HEKI_SITE_CALL, 0);
		else if (b[0] == 0x0f && (b[1] & 0xf0) == 0x80)
			/* A conditional tail call keeps its condition for good. */
			add(c, addr, 6, HEKI_SITE_TAIL, b[1]);
		else
			add(c, addr, 5, HEKI_SITE_TAIL, 0);
		nr_static++;
	}
	/* Trampolines are 4-byte aligned and carry their signature at +5. */
	for (t = ALIGN(t, 4); t && t + SCT_SIZE <= tend; t += 4) {
		if (memcmp((void *)t + 5, sct_signature, 3))
			continue;
		add(c, t, 5, HEKI_SITE_TAIL, 0);
		nr_tramp++;
		t += SCT_SIZE - 4;
	}
}

/* ftrace records of the kernel and of loaded modules, all of them. */
static unsigned long count_ftrace(void)
{
	struct heki_ftrace_page **start = (void *)heki_lookup("ftrace_pages_start");
	struct mutex *lock = (void *)heki_lookup("ftrace_lock");
	struct heki_ftrace_page *pg;
	unsigned long n = 0;

	if (!start || !lock)
		return 0;
	mutex_lock(lock);
	for (pg = *start; pg; pg = pg->next)
		n += pg->index;
	mutex_unlock(lock);
	return n;
}

static void collect_ftrace(struct collect *c)
{
	struct heki_ftrace_page **start = (void *)heki_lookup("ftrace_pages_start");
	struct mutex *lock = (void *)heki_lookup("ftrace_lock");
	/* ftrace's own patch points: the tracer's callback, the graph jump. */
	static const struct { const char *name; u32 kind; } points[] = {
		{ "ftrace_call", HEKI_SITE_CALL },
		{ "ftrace_regs_call", HEKI_SITE_CALL },
		{ "ftrace_graph_call", HEKI_SITE_TAIL },
	};
	struct heki_ftrace_page *pg;
	unsigned int i;

	if (start && lock) {
		mutex_lock(lock);
		for (pg = *start; pg; pg = pg->next)
			for (i = 0; i < pg->index; i++)
				if (heki_in_kernel_text(pg->records[i].ip, 5)) {
					add(c, pg->records[i].ip, 5, HEKI_SITE_FTRACE, 0);
					nr_ftrace++;
				}
		mutex_unlock(lock);
	}
	for (i = 0; i < ARRAY_SIZE(points); i++) {
		unsigned long ip = heki_lookup(points[i].name);

		if (ip)
			add(c, ip, 5, points[i].kind, 0);
	}
}

static int cmp_site(const void *a, const void *b)
{
	const struct heki_site *x = a, *y = b;

	return x->gva < y->gva ? -1 : x->gva > y->gva;
}

/* Sorted, then the later of two overlapping sites dropped (none expected). */
static unsigned int sort_and_dedupe(struct heki_site *s, unsigned int n)
{
	unsigned int i, out = 0;

	sort(s, n, sizeof(*s), cmp_site, NULL);
	for (i = 0; i < n; i++) {
		if (out && s[i].gva < s[out - 1].gva + s[out - 1].len) {
			nr_overlaps++;
			continue;
		}
		s[out++] = s[i];
	}
	return out;
}

/* Kernel-text symbols, gathered by kallsyms_on_each_symbol(). */
struct funcs {
	u64 *gva;
	unsigned int n, max;
};

static int collect_one_func(void *data, const char *name, struct module *mod,
			    unsigned long addr)
{
	struct funcs *f = data;

	if (heki_in_kernel_text(addr, 1)) {
		if (f->n == f->max)
			return -ENOSPC;
		f->gva[f->n++] = addr;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	const u64 *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/*
 * Every symbol in kernel text as a HEKI_SITE_FUNC entry, ascending and
 * distinct, each as long as the gap to the next; ftrace_caller and
 * ftrace_regs_caller flagged as the ftrace entries.  Returns how many were
 * appended to @c, or a negative errno.
 */
static int collect_funcs(struct collect *c)
{
	int (*each)(int (*fn)(void *, const char *, struct module *, unsigned long),
		    void *data) = (void *)heki_lookup("kallsyms_on_each_symbol");
	unsigned long fcaller = heki_lookup("ftrace_caller");
	unsigned long fregs = heki_lookup("ftrace_regs_caller");
	struct funcs f = { .max = HEKI_FUNCS_MAX };
	unsigned int i, out = 0;
	int ret;

	if (!each)
		return -ENOENT;
	f.gva = vmalloc(array_size(f.max, sizeof(*f.gva)));
	if (!f.gva)
		return -ENOMEM;
	ret = each(collect_one_func, &f);
	if (ret) {
		vfree(f.gva);
		return ret;
	}
	sort(f.gva, f.n, sizeof(*f.gva), cmp_u64, NULL);
	for (i = 0; i < f.n; i++)
		if (!out || f.gva[i] != f.gva[out - 1])
			f.gva[out++] = f.gva[i];
	for (i = 0; i < out && c->n < c->max; i++) {
		u64 next = i + 1 < out ? f.gva[i + 1] : etext;

		c->s[c->n++] = (struct heki_site){
			f.gva[i], 0, (u32)min_t(u64, next - f.gva[i], U32_MAX),
			HEKI_SITE_FUNC,
			f.gva[i] == fcaller || f.gva[i] == fregs ? HEKI_FUNC_FTRACE : 0 };
	}
	ret = i < out ? -ENOSPC : (int)out;
	vfree(f.gva);
	return ret;
}

/*
 * Checks each site's bytes now with the host's rules, the function
 * entries included: refusals-to-be.
 */
static void check_current_bytes(const struct heki_site *ranges, unsigned int nr,
				const struct heki_site *s, unsigned int n,
				const struct heki_site *fe, unsigned int nf)
{
	struct heki_sites rules = { .nranges = nr };
	unsigned int i;

	memcpy(rules.range, ranges, nr * sizeof(*ranges));
	rules.func = vmalloc(array_size(nf ?: 1, sizeof(*rules.func)));
	if (!rules.func) {
		pr_warn("no memory to check the sites' bytes\n");
		return;
	}
	for (i = 0; i < nf; i++)
		rules.func[i] = (struct heki_func){ fe[i].gva, fe[i].len, (u32)fe[i].target };
	rules.nfunc = rules.fcap = nf;
	for (i = 0; i < n; i++) {
		const u8 *b = (const u8 *)s[i].gva;

		if (heki_site_state_ok(&rules, &s[i], b))
			continue;
		if (nr_unexpected++ < 3)
			pr_warn("site %pS (kind %u) holds %*ph: the host would refuse its next poke\n",
				b, s[i].kind, s[i].len, b);
	}
	vfree(rules.func);
}

/* Sends @n entries in batches of one page; the first forgets older ones. */
static long send_sites(const struct heki_site *s, unsigned int n)
{
	struct heki_site *buf = (void *)__get_free_page(GFP_KERNEL);
	unsigned int i, chunk;
	long ret = 0;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n && !ret; i += chunk) {
		chunk = min_t(unsigned int, n - i, HEKI_SITES_BATCH_MAX);
		memcpy(buf, s + i, chunk * sizeof(*s));
		ret = heki_call(HEKI_HC_SITES, __pa(buf), chunk,
				i ? 0 : HEKI_SITES_RESET, 0);
	}
	free_page((unsigned long)buf);
	return ret;
}

int heki_sites_register(void)
{
	struct heki_jump_entry *js = (void *)heki_lookup("__start___jump_table");
	struct heki_jump_entry *je = (void *)heki_lookup("__stop___jump_table");
	struct heki_static_call_site *ss = (void *)heki_lookup("__start_static_call_sites");
	struct heki_static_call_site *se = (void *)heki_lookup("__stop_static_call_sites");
	/* Text no INT3 may enter: what kprobes themselves refuse to probe. */
	static const char *const noprobe[][2] = {
		{ "__noinstr_text_start", "__noinstr_text_end" },
		{ "__entry_text_start", "__entry_text_end" },
		{ "__kprobes_text_start", "__kprobes_text_end" },
	};
	struct heki_site ranges[2 + ARRAY_SIZE(noprobe)];
	unsigned int nr = 2, i;
	struct collect c = {};
	long ret;

	stext = heki_lookup("_stext");
	etext = heki_lookup("_etext");
	if (!stext || etext <= stext)
		return register_status = -ENOENT;
	ranges[0] = (struct heki_site){ stext, __pa_symbol(stext), etext - stext,
					HEKI_SITE_TEXT, 0 };
	ranges[1] = (struct heki_site){ MODULES_VADDR, 0, MODULES_END - MODULES_VADDR,
					HEKI_SITE_TARGETS, 0 };
	for (i = 0; i < ARRAY_SIZE(noprobe); i++) {
		unsigned long b = heki_lookup(noprobe[i][0]), e = heki_lookup(noprobe[i][1]);

		if (b && e > b)
			ranges[nr++] = (struct heki_site){ b, 0, e - b, HEKI_SITE_NOPROBE, 0 };
	}
	nr_jump = nr_static = nr_tramp = nr_ftrace = nr_funcs = 0;
	nr_unexpected = nr_overlaps = nr_skipped = 0;

	/*
	 * Room for every candidate (add() counts any beyond it as skipped):
	 * ftrace has the most, a record per traceable function; modules
	 * loading meanwhile add a few.
	 */
	c.max = nr + (je > js ? je - js : 0) + (se > ss ? se - ss : 0) +
		(heki_lookup("__static_call_text_end") -
		 heki_lookup("__static_call_text_start")) / 4 +
		count_ftrace() + 1024 + HEKI_FUNCS_MAX;
	c.s = vmalloc(array_size(c.max, sizeof(*c.s)));
	if (!c.s)
		return register_status = -ENOMEM;
	for (i = 0; i < nr; i++)
		c.s[c.n++] = ranges[i];
	collect_jump_labels(&c);
	collect_static_calls(&c);
	collect_ftrace(&c);
	nr_sites = nr + sort_and_dedupe(c.s + nr, c.n - nr);
	c.n = nr_sites;
	ret = collect_funcs(&c);	/* after the sites: their own ascending list */
	if (ret < 0) {
		pr_err("cannot list the kernel's function entries: %ld\n", ret);
		vfree(c.s);
		return register_status = ret;
	}
	nr_funcs = ret;
	check_current_bytes(ranges, nr, c.s + nr, nr_sites - nr, c.s + nr_sites, nr_funcs);
	ret = send_sites(c.s, nr_sites + nr_funcs);
	vfree(c.s);
	pr_info("sites: %u registered (%u jump labels, %u static calls, %u trampolines, %u ftrace) and %u function entries, %u holding unexpected bytes, %u overlapping, %u skipped: %ld\n",
		nr_sites, nr_jump, nr_static, nr_tramp, nr_ftrace, nr_funcs,
		nr_unexpected, nr_overlaps, nr_skipped, ret);
	register_status = ret < 0 && ret > -HEKI_EBASE ? ret : ret ? -EIO : 0;
	return register_status;
}

unsigned int heki_sites_unexpected(void)
{
	return nr_unexpected;
}

void heki_sites_counters(struct seq_file *m)
{
	seq_printf(m, "sites_registered %u\nsites_jump_labels %u\nsites_static_calls %u\n",
		   register_status ? 0 : nr_sites, nr_jump, nr_static);
	seq_printf(m, "sites_trampolines %u\nsites_ftrace %u\nsites_unexpected %u\n",
		   nr_tramp, nr_ftrace, nr_unexpected);
	seq_printf(m, "sites_overlapping %u\nsites_skipped %u\nsites_function_entries %u\n",
		   nr_overlaps, nr_skipped, nr_funcs);
}
