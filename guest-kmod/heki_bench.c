// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-side benchmark loops, one row of heki_benches[] each, driven from
 * userland through debugfs heki/bench:
 *
 *   echo "text_poke_5 200 20" > bench   # row, samples, warm-up iterations
 *   cat bench                           # the last run's figures
 *
 * The measured code path is the real kernel one (text_poke, static keys,
 * vmap, set_memory_*, a hypercall), under whatever protection heki.ko was
 * loaded with (protect=0 is the "off" mode).  Each sample is one operation
 * timed with an ordered TSC read; the host's per-VM counters (HEKI_HC_STATS)
 * are read around the sample loop, which runs on one CPU so the vCPU exit
 * count is the loop's own.
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/jump_label.h>
#include <linux/mutex.h>
#include <linux/sort.h>
#include <linux/swap.h>
#include <asm/tsc.h>
#include <asm/msr.h>

#include "heki_guest.h"

#define BENCH_MAX_SAMPLES 5000

/* heki_asm.S: a page of 256 patchable 5-byte NOP sites, 16 bytes apart. */
extern u8 heki_bench_sites[];

static const u8 nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

static DEFINE_STATIC_KEY_FALSE(heki_bench_key);

/* The key's one use site: flipping it patches this function's branch. */
noinline int heki_bench_key_user(void)
{
	return static_branch_unlikely(&heki_bench_key) ? 1 : 0;
}

struct bench_ctx {
	unsigned int param;
	void *buf;
	struct page **pages;
	unsigned long npages;	/* pages[] in use, when not param */
	struct page *block;
	/* TSC cycles of the part the op timed itself; 0: the whole op. */
	u64 lap;
	char why[128];		/* why the row failed, when it can say */
};

/* Not exported: resolved through kallsyms when the bench first runs. */
static void *(*k_text_poke)(void *addr, const void *opcode, size_t len);
static void (*k_text_poke_queue)(void *addr, const void *opcode, size_t len,
				 const void *emulate);
static void (*k_text_poke_finish)(void);
static struct mutex *k_text_mutex;
static int (*k_set_memory_ro)(unsigned long addr, int numpages);
static int (*k_set_memory_rw)(unsigned long addr, int numpages);

static int resolve(void)
{
	k_text_poke = (void *)heki_lookup("text_poke");
	k_text_poke_queue = (void *)heki_lookup("text_poke_queue");
	k_text_poke_finish = (void *)heki_lookup("text_poke_finish");
	k_text_mutex = (void *)heki_lookup("text_mutex");
	k_set_memory_ro = (void *)heki_lookup("set_memory_ro");
	k_set_memory_rw = (void *)heki_lookup("set_memory_rw");
	return k_text_poke && k_text_poke_queue && k_text_poke_finish &&
	       k_text_mutex && k_set_memory_ro && k_set_memory_rw ? 0 : -ENOENT;
}

static int op_text_poke(struct bench_ctx *c)
{
	mutex_lock(k_text_mutex);
	k_text_poke(heki_bench_sites, nop5, c->param);
	mutex_unlock(k_text_mutex);
	return 0;
}

/* N sites through the kernel's batching path (text_poke_bp_batch). */
static int op_text_poke_batch(struct bench_ctx *c)
{
	unsigned int i;

	mutex_lock(k_text_mutex);
	for (i = 0; i < c->param; i++)
		k_text_poke_queue(heki_bench_sites + 16 * i, nop5, 5, NULL);
	k_text_poke_finish();
	mutex_unlock(k_text_mutex);
	return 0;
}

static int op_static_key(struct bench_ctx *c)
{
	static_branch_enable(&heki_bench_key);
	static_branch_disable(&heki_bench_key);
	return 0;
}

static int setup_pages(struct bench_ctx *c)
{
	unsigned int i;

	c->pages = kcalloc(c->param, sizeof(*c->pages), GFP_KERNEL);
	if (!c->pages)
		return -ENOMEM;
	for (i = 0; i < c->param; i++) {
		c->pages[i] = alloc_page(GFP_KERNEL);
		if (!c->pages[i])
			return -ENOMEM;
	}
	return 0;
}

static void teardown_pages(struct bench_ctx *c)
{
	unsigned int i;

	for (i = 0; c->pages && i < c->param; i++)
		if (c->pages[i])
			__free_page(c->pages[i]);
	kfree(c->pages);
	c->pages = NULL;
}

/* A read-only mapping: the kind Heki protects (and releases on vunmap). */
static int op_vmap(struct bench_ctx *c)
{
	void *p = vmap(c->pages, c->param, VM_MAP, PAGE_KERNEL_RO);

	if (!p)
		return -ENOMEM;
	vunmap(p);
	return 0;
}

static int setup_vmalloc(struct bench_ctx *c)
{
	c->buf = vmalloc(PAGE_SIZE);
	return c->buf ? 0 : -ENOMEM;
}

static void teardown_vmalloc(struct bench_ctx *c)
{
	vfree(c->buf);
	c->buf = NULL;
}

static int op_set_memory(struct bench_ctx *c)
{
	return k_set_memory_ro((unsigned long)c->buf, 1) ?:
	       k_set_memory_rw((unsigned long)c->buf, 1);
}

static int setup_info(struct bench_ctx *c)
{
	c->buf = kzalloc(sizeof(struct heki_info), GFP_KERNEL);
	return c->buf ? 0 : -ENOMEM;
}

static void teardown_info(struct bench_ctx *c)
{
	kfree(c->buf);
	c->buf = NULL;
}

/* The transport itself: a call the host answers without changing anything. */
static int op_hypercall(struct bench_ctx *c)
{
	return heki_query(c->buf) ? -EIO : 0;
}

/*
 * A view switch round trip with @param extra frames protected read-only
 * (64 KB chunks, released at teardown): run at two sizes 8x apart, it
 * shows whether a switch's cost depends on the amount of protected memory.
 */
#define PROT_CHUNK_ORDER 4

static int setup_protected(struct bench_ctx *c)
{
	unsigned int i, n = c->param >> PROT_CHUNK_ORDER;

	c->pages = kcalloc(n, sizeof(*c->pages), GFP_KERNEL);
	if (!c->pages)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		c->pages[i] = alloc_pages(GFP_KERNEL, PROT_CHUNK_ORDER);
		if (!c->pages[i])
			return -ENOMEM;
		if (heki_call(HEKI_HC_PROTECT, PFN_PHYS(page_to_pfn(c->pages[i])),
			      1 << PROT_CHUNK_ORDER, HEKI_ATTR_RO, 0))
			return -EIO;
	}
	return 0;
}

static void teardown_protected(struct bench_ctx *c)
{
	unsigned int i, n = c->param >> PROT_CHUNK_ORDER;

	for (i = 0; c->pages && i < n && c->pages[i]; i++) {
		/* A frame the host would not release stays allocated. */
		if (!heki_release(PFN_PHYS(page_to_pfn(c->pages[i])), 1 << PROT_CHUNK_ORDER))
			__free_pages(c->pages[i], PROT_CHUNK_ORDER);
	}
	kfree(c->pages);
	c->pages = NULL;
}

/* A view switch round trip: patch view and back (the host needs views). */
static int op_view_switch(struct bench_ctx *c)
{
	if (!(heki_host_features & HEKI_FEAT_VIEW))
		return -EOPNOTSUPP;
	return heki_call(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH, 0, 0, 0) ||
	       heki_call(HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0, 0) ? -EIO : 0;
}

/*
 * Per-fault cost against the store's fragmentation.  Frame F, the second
 * of a 2 MiB block of its own, is protected W (not executable; W|X would
 * release it since ABI 0.7), so every second-stage fault on F asks the
 * store about F and its 2 MiB region.  Each op
 * flips F to read-only and back (two PROTECTs that keep the number of ranges:
 * the host changes them in place, each zapping F) and times only the read
 * of F that follows: one fault that maps F.  fault_store_1 adds F alone to
 * the mode's own ranges; fault_store_64k first fills the store to its cap
 * with single frames of its own (FAULT_CAP ranges in all).  Under ICOUNT=1
 * the two figures must stay within 2x of each other.
 */
#define FAULT_CAP	65536		/* the host's HEKI_STORE_MAX_RANGES */
#define FAULT_ON	HEKI_ATTR_WRITE
#define FAULT_OFF	HEKI_ATTR_RO
/* Frames beyond the cap's worth, spent on gaps between unrestricted frames. */
#define FAULT_EXTRA	4096
/* Free pages the fill leaves to the rest of the guest. */
#define FAULT_RESERVE	(64ul << (20 - PAGE_SHIFT))
#define RWX		(HEKI_ATTR_WRITE | HEKI_ATTR_EXEC)

static phys_addr_t fault_frame(struct bench_ctx *c)
{
	return PFN_PHYS(page_to_pfn(c->block) + 1);
}

static int cmp_pfn(const void *a, const void *b)
{
	unsigned long x = page_to_pfn(*(struct page *const *)a);
	unsigned long y = page_to_pfn(*(struct page *const *)b);

	return x < y ? -1 : x > y;
}

/*
 * Sends the batch; 1 when the store is full (-HEKI_E2BIG: the entries that
 * still fit, one by one, are in), 0 when all went in, else the error.
 */
static long fault_flush(struct heki_range *batch, unsigned int *n)
{
	unsigned int i;
	long ret = 0;

	if (*n)
		ret = heki_call(HEKI_HC_PROTECT_BATCH, __pa(batch), *n, 0, 0);
	for (i = 0; ret == -HEKI_E2BIG && i < *n; i++)
		if (heki_call(HEKI_HC_PROTECT, batch[i].gpa, batch[i].npages,
			      batch[i].attrs, 0) == -HEKI_E2BIG)
			break;
	*n = 0;
	return ret == -HEKI_E2BIG ? 1 : ret;
}

/*
 * Fills the store to its cap.  Pages come from wherever the allocator has
 * them; in ascending pfn order, the first ones are protected every other
 * frame (odd frames left as gaps: unrestricted ranges a scan of the 1 GiB
 * region would have to walk), the rest alternate W|X and READ by pfn, so
 * that no two touching frames merge.  Stops at -HEKI_E2BIG.
 */
static int fault_fill(struct bench_ctx *c)
{
	/* Both handed to the host by physical address: not on the stack. */
	struct heki_range *batch = (void *)__get_free_page(GFP_KERNEL);
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	unsigned long room, max, low = 0, i;
	unsigned int nb = 0;
	long ret = -ENOMEM;

	if (!batch || !st)
		goto out;
	ret = heki_stats(st);
	if (ret) {
		snprintf(c->why, sizeof(c->why), "setup: HEKI_HC_STATS failed: %ld", ret);
		ret = -EIO;
		goto out;
	}
	room = st->ranges < FAULT_CAP ? FAULT_CAP - st->ranges : 0;
	max = room + FAULT_EXTRA;
	c->pages = kvcalloc(max, sizeof(*c->pages), GFP_KERNEL);
	ret = -ENOMEM;
	if (!c->pages)
		goto out;
	ret = 0;
	/*
	 * Free pages only: reclaim or compaction for 270 MiB takes minutes
	 * under TCG, and the guest must keep running.
	 */
	while (c->npages < max && nr_free_pages() > FAULT_RESERVE) {
		struct page *p = alloc_page((GFP_KERNEL & ~__GFP_DIRECT_RECLAIM) |
					    __GFP_NOWARN);

		if (!p)
			break;
		c->pages[c->npages++] = p;
		if (!(c->npages % 1024))
			cond_resched();
	}
	sort(c->pages, c->npages, sizeof(*c->pages), cmp_pfn, NULL);
	/* Gaps cost a frame a range: keep ~512 ranges to spare. */
	if (c->npages > room + 512)
		low = 2 * (c->npages - room - 512);
	for (i = 0; ret == 0 && i < c->npages; i++) {
		unsigned long pfn = page_to_pfn(c->pages[i]);

		if (i < low && (pfn & 1))
			continue;
		batch[nb++] = (struct heki_range){ .gpa = PFN_PHYS(pfn), .npages = 1,
						   .attrs = pfn & 1 ? FAULT_OFF : FAULT_ON };
		/* A batch costs the host a store update and a zap: yield after each. */
		if (nb == HEKI_BATCH_MAX) {
			ret = fault_flush(batch, &nb);
			cond_resched();
		}
	}
	if (!ret)
		ret = fault_flush(batch, &nb);
	if (ret < 0) {
		snprintf(c->why, sizeof(c->why), "setup: the host refused a batch: %ld", ret);
		ret = -EIO;
		goto out;
	}
	ret = heki_stats(st);
	pr_info("bench fault_store_64k: %llu ranges, %lu pages of its own (%lu gapped)\n",
		st->ranges, c->npages, low);
	if (!ret && st->ranges < FAULT_CAP) {
		snprintf(c->why, sizeof(c->why),
			 "setup: the store reached %llu ranges of %u (%lu pages could be had)",
			 st->ranges, FAULT_CAP, c->npages);
		ret = -ENOMEM;
	} else if (ret) {
		snprintf(c->why, sizeof(c->why), "setup: HEKI_HC_STATS failed: %ld", ret);
		ret = -EIO;
	}
out:
	kfree(st);
	free_page((unsigned long)batch);
	return ret;
}

static int setup_fault(struct bench_ctx *c)
{
	long ret;

	if (!(heki_host_features & HEKI_FEAT_PROTECT) ||
	    (c->param > 1 && !(heki_host_features & HEKI_FEAT_BATCH)))
		return -EOPNOTSUPP;
	c->block = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 9);
	if (!c->block) {
		snprintf(c->why, sizeof(c->why), "setup: no 2 MiB block for the faulting frame");
		return -ENOMEM;
	}
	/* F first: the fill must leave it its range. */
	ret = heki_call(HEKI_HC_PROTECT, fault_frame(c), 1, FAULT_ON, 0);
	if (ret) {
		snprintf(c->why, sizeof(c->why), "setup: the host refused to protect F: %ld", ret);
		__free_pages(c->block, 9);
		c->block = NULL;
		return -EIO;
	}
	return c->param > 1 ? fault_fill(c) : 0;
}

/*
 * Releases the fill's frames, a batch entry per run of consecutive ones,
 * and frees them.  A batch the host refuses (a run that split a range of
 * a full store) is left for the @one_by_one pass, which releases each run
 * alone; a frame the host still keeps then stays allocated.
 */
static void fault_release(struct bench_ctx *c, struct heki_range *batch,
			  bool one_by_one)
{
	unsigned int per = one_by_one ? 1 : HEKI_BATCH_MAX, nb, k;
	unsigned int first[HEKI_BATCH_MAX];
	unsigned long i = 0, j, pfn;
	long ret;

	while (i < c->npages) {
		for (nb = 0; nb < per && i < c->npages;) {
			if (!c->pages[i]) {
				i++;
				continue;
			}
			pfn = page_to_pfn(c->pages[i]);
			for (j = i + 1; j < c->npages && c->pages[j] &&
			     page_to_pfn(c->pages[j]) == pfn + (j - i); j++)
				;
			first[nb] = i;
			batch[nb++] = (struct heki_range){ .gpa = PFN_PHYS(pfn),
							   .npages = j - i, .attrs = RWX };
			i = j;
		}
		if (!nb)
			break;
		ret = nb == 1 ? heki_release(batch[0].gpa, batch[0].npages) :
		      heki_call(HEKI_HC_PROTECT_BATCH, __pa(batch), nb, 0, 0);
		for (k = 0; k < nb; k++)
			for (j = first[k]; j < first[k] + batch[k].npages; j++) {
				if (!ret)
					__free_page(c->pages[j]);
				if (!ret || one_by_one)
					c->pages[j] = NULL;
			}
		cond_resched();
	}
}

static void teardown_fault(struct bench_ctx *c)
{
	struct heki_range *batch = (void *)__get_free_page(GFP_KERNEL);

	if (c->pages && batch) {
		fault_release(c, batch, false);
		fault_release(c, batch, true);
	}
	/* Without a batch page nothing was released: nothing is freed. */
	free_page((unsigned long)batch);
	kvfree(c->pages);
	c->pages = NULL;
	c->npages = 0;
	if (c->block && !heki_release(fault_frame(c), 1))
		__free_pages(c->block, 9);
	c->block = NULL;
}

static int op_fault(struct bench_ctx *c)
{
	u64 *f = page_address(c->block + 1), t0;
	long ret;

	ret = heki_call(HEKI_HC_PROTECT, fault_frame(c), 1, FAULT_OFF, 0) ?:
	      heki_call(HEKI_HC_PROTECT, fault_frame(c), 1, FAULT_ON, 0);
	if (ret) {
		snprintf(c->why, sizeof(c->why), "the host refused to flip F: %ld", ret);
		return -EIO;
	}
	t0 = rdtsc_ordered();
	READ_ONCE(*f);
	c->lap = rdtsc_ordered() - t0;
	return 0;
}

/*
 * One authenticated poke made by the host (HEKI_HC_PATCH): kstrdup()'s
 * ftrace site rewritten with the bytes it holds, so nothing changes while
 * the host does all its work (find the site among ~49,000, read it, check
 * the encoding, write).
 *
 * Unsupported is declared, not inferred: the row needs the kernel
 * protected (protect=1 registers the sites; mode off does not) and a host
 * with HEKI_FEAT_AUTH.  Where both hold, a refusal is a failure with the
 * host's error (a HEKI_E* code), never a skip.
 */
static int setup_patch(struct bench_ctx *c)
{
	unsigned long site;
	u64 bytes = 0;
	long ret;

	if (!heki_kernel_is_protected() || !(heki_host_features & HEKI_FEAT_AUTH))
		return -EOPNOTSUPP;
	site = heki_lookup("kstrdup");
	if (!site || !heki_in_kernel_text(site, 5)) {
		snprintf(c->why, sizeof(c->why), "setup: kstrdup is not in kernel text");
		return -ENOENT;
	}
	memcpy(&bytes, (void *)site, 5);
	c->buf = (void *)site;
	ret = heki_call(HEKI_HC_PATCH, site, 5, bytes, 0);
	if (ret)
		snprintf(c->why, sizeof(c->why),
			 "setup: the host refused HEKI_HC_PATCH on kstrdup's site: %ld", ret);
	return ret;
}

static int op_patch(struct bench_ctx *c)
{
	u64 bytes = 0;

	memcpy(&bytes, c->buf, 5);
	return heki_call(HEKI_HC_PATCH, (unsigned long)c->buf, 5, bytes, 0) ? -EIO : 0;
}

/* VMFUNC to the patch view and back: no exit (mode vmfunc only). */
static int setup_vmfunc(struct bench_ctx *c)
{
	return heki_kernel_vmfunc_on() ? 0 : -EOPNOTSUPP;
}

static int op_vmfunc(struct bench_ctx *c)
{
	asm volatile(".byte 0x0f, 0x01, 0xd4" : : "a" (0), "c" (HEKI_VIEW_PATCH) : "memory");
	asm volatile(".byte 0x0f, 0x01, 0xd4" : : "a" (0), "c" (HEKI_VIEW_NORMAL) : "memory");
	return 0;
}

static const struct heki_bench {
	const char *name;
	unsigned int param;
	int (*setup)(struct bench_ctx *c);
	int (*op)(struct bench_ctx *c);
	void (*teardown)(struct bench_ctx *c);
	const char *unsupported;	/* why -EOPNOTSUPP, when the row can say it */
} heki_benches[] = {
	{ "text_poke_1", 1, NULL, op_text_poke, NULL },
	{ "text_poke_5", 5, NULL, op_text_poke, NULL },
	{ "text_poke_batch_1", 1, NULL, op_text_poke_batch, NULL },
	{ "text_poke_batch_16", 16, NULL, op_text_poke_batch, NULL },
	{ "text_poke_batch_256", 256, NULL, op_text_poke_batch, NULL },
	{ "static_key_flip", 0, NULL, op_static_key, NULL },
	{ "vmap_1", 1, setup_pages, op_vmap, teardown_pages },
	{ "vmap_16", 16, setup_pages, op_vmap, teardown_pages },
	{ "vmap_256", 256, setup_pages, op_vmap, teardown_pages },
	{ "set_memory_ro_rw", 0, setup_vmalloc, op_set_memory, teardown_vmalloc },
	{ "hypercall_noop", 0, setup_info, op_hypercall, teardown_info },
	{ "view_switch", 0, NULL, op_view_switch, NULL,
	  "the host offers no views (they need NPT or EPT)" },
	{ "view_switch_prot_2k", 2048, setup_protected, op_view_switch, teardown_protected,
	  "the host offers no views (they need NPT or EPT)" },
	{ "view_switch_prot_16k", 16384, setup_protected, op_view_switch, teardown_protected,
	  "the host offers no views (they need NPT or EPT)" },
	{ "fault_store_1", 1, setup_fault, op_fault, teardown_fault,
	  "the host cannot protect memory (needs NPT or EPT)" },
	{ "fault_store_64k", FAULT_CAP, setup_fault, op_fault, teardown_fault,
	  "the host cannot protect memory or take batches (needs NPT or EPT)" },
	{ "patch_call", 0, setup_patch, op_patch, NULL,
	  "needs the kernel protected (protect=1 registers the patch sites) and a host with HEKI_FEAT_AUTH" },
	{ "vmfunc_roundtrip", 0, setup_vmfunc, op_vmfunc, NULL,
	  "needs mode vmfunc: VMFUNC with EPTP switching (Intel VMX)" },
};

/* The last run, shown by reads. */
static struct {
	const struct heki_bench *b;
	unsigned int n;
	u64 *samples;
	struct heki_stats before, after;
	int err;
	char why[128];
} last;
static DEFINE_MUTEX(bench_lock);

static int bench_run(const struct heki_bench *b, unsigned int n, unsigned int warm)
{
	struct bench_ctx ctx = { .param = b->param };
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	unsigned int i;
	int err = 0;

	if (!st)
		return -ENOMEM;
	kfree(last.samples);
	last.samples = kcalloc(n, sizeof(u64), GFP_KERNEL);
	last.b = b;
	last.n = 0;
	if (!last.samples) {
		kfree(st);
		return -ENOMEM;
	}
	if (b->setup)
		err = b->setup(&ctx);
	migrate_disable();
	for (i = 0; !err && i < warm; i++)
		err = b->op(&ctx);
	heki_stats(st);
	last.before = *st;
	for (i = 0; !err && i < n; i++) {
		u64 t0 = rdtsc_ordered();

		ctx.lap = 0;
		err = b->op(&ctx);
		last.samples[i] = ctx.lap ?: rdtsc_ordered() - t0;
		if (!(i % 64))
			cond_resched();
	}
	heki_stats(st);
	last.after = *st;
	migrate_enable();
	if (b->teardown)
		b->teardown(&ctx);
	last.n = err ? 0 : n;
	memcpy(last.why, ctx.why, sizeof(last.why));
	kfree(st);
	return err;
}

static ssize_t bench_write(struct file *f, const char __user *ubuf, size_t len,
			   loff_t *off)
{
	char buf[96], name[64];
	unsigned int n, warm, i;
	int err;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%63s %u %u", name, &n, &warm) != 3 || !n ||
	    n > BENCH_MAX_SAMPLES || warm > BENCH_MAX_SAMPLES)
		return -EINVAL;
	if (resolve())
		return -ENOENT;
	for (i = 0; i < ARRAY_SIZE(heki_benches); i++)
		if (!strcmp(name, heki_benches[i].name))
			break;
	if (i == ARRAY_SIZE(heki_benches))
		return -ENOENT;
	mutex_lock(&bench_lock);
	err = bench_run(&heki_benches[i], n, warm);
	last.err = err;
	mutex_unlock(&bench_lock);
	return err ?: len;
}

/*
 * "rows r1 r2 ..." (the table), then for the last run:
 * "bench NAME n=N exits=E zaps=Z tlb_flushes=F windows=W hypercalls=H
 * view_switches=V"
 * (host counter deltas over the sample loop, the closing HEKI_HC_STATS
 * included) and "samples t1 t2 ..." in TSC cycles: userland scales them by
 * tsc_khz, or keeps them under icount, where a TSC cycle is an instruction
 * and the kernel's calibrated tsc_khz would only add its rounding.
 */
static int bench_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	seq_puts(m, "rows");
	for (i = 0; i < ARRAY_SIZE(heki_benches); i++)
		seq_printf(m, " %s", heki_benches[i].name);
	seq_puts(m, "\n");
	mutex_lock(&bench_lock);
	if (last.b) {
		seq_printf(m, "bench %s n=%u err=%d exits=%llu zaps=%llu tlb_flushes=%llu windows=%llu hypercalls=%llu view_switches=%llu tsc_khz=%u\n",
			   last.b->name, last.n, last.err,
			   last.after.vcpu_exits - last.before.vcpu_exits,
			   last.after.zaps - last.before.zaps,
			   last.after.tlb_flushes - last.before.tlb_flushes,
			   last.after.windows_opened - last.before.windows_opened,
			   last.after.calls - last.before.calls,
			   last.after.view_switches - last.before.view_switches, tsc_khz);
		if (last.err == -EOPNOTSUPP && last.b->unsupported)
			seq_printf(m, "unsupported %s\n", last.b->unsupported);
		else if (last.err && last.why[0])
			seq_printf(m, "error %s\n", last.why);
		seq_puts(m, "samples");
		for (i = 0; i < last.n; i++)
			seq_printf(m, " %llu", last.samples[i]);
		seq_puts(m, "\n");
	}
	mutex_unlock(&bench_lock);
	return 0;
}

static int bench_open(struct inode *inode, struct file *file)
{
	return single_open_size(file, bench_show, NULL,
				BENCH_MAX_SAMPLES * 24 + 4096);
}

static const struct file_operations heki_bench_fops = {
	.owner = THIS_MODULE,
	.open = bench_open,
	.read = seq_read,
	.write = bench_write,
	.llseek = seq_lseek,
	.release = single_release,
};

void heki_bench_init(struct dentry *dir)
{
	debugfs_create_file("bench", 0600, dir, NULL, &heki_bench_fops);
}

void heki_bench_exit(void)
{
	kfree(last.samples);
	last.samples = NULL;
}
