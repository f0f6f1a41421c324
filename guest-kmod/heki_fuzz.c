// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile-guest fuzz of the Heki hypercalls: fuzz_calls (default 100,000)
 * calls with random and boundary-value arguments, then checks that the host
 * is healthy: it still answers, every answer was 0 or a documented HEKI_E*
 * code, a page protected before the fuzz is still protected, no write
 * window is left open and the fuzz's own protections can be released.
 * Whether the host warned is judged outside, from L1's kernel log.
 *
 * The fuzz must not damage the guest running it, because a guest crash
 * would hide what happened to the host.  So every GPA that lands in guest
 * RAM is redirected into memory the fuzz owns: ranges the host could
 * protect into a "target" block, buffers the host could write into an
 * "arg" page.  GPAs beyond RAM (holes, ROM, the APIC page, 2^52 and up) are
 * sent as drawn.  HEKI_HC_LOCKDOWN is never sent: it is one-way and has its
 * own check; nor are VIEW_SWITCH, SITES, PATCH and VMFUNC, whose valid
 * forms change the guest itself (their malformed forms are in abi_check,
 * their refusals in the auth check).
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/io.h>

#include "heki_guest.h"

static unsigned long fuzz_calls = 100000;
module_param(fuzz_calls, ulong, 0644);
MODULE_PARM_DESC(fuzz_calls, "hypercalls the fuzz self-check sends (default 100000)");
static unsigned long long fuzz_seed = 0x6865b1f022ull;
module_param(fuzz_seed, ullong, 0644);
MODULE_PARM_DESC(fuzz_seed, "seed of the fuzz self-check (same seed, same calls)");

#define TARGET_ORDER	4			/* 16 pages the fuzz may protect */
#define TARGET_PAGES	(1u << TARGET_ORDER)

struct fuzz {
	u64 rng;
	phys_addr_t target, arg, ram_end;
	struct heki_range *arg_va;		/* the arg page */
	/* Windows the fuzz holds (any frame the host accepted), to close. */
	struct { u64 gpa; long count; } held[2 * HEKI_WINDOW_MAX_FRAMES];
	unsigned int nheld;
	/* Ranges beyond RAM (ROM, holes) the host accepted, to release. */
	struct { u64 gpa, npages; } beyond[256];
	unsigned int nbeyond, beyond_lost;
};

static void note_beyond(struct fuzz *f, u64 gpa, u64 npages)
{
	if (gpa < f->ram_end)
		return;
	if (f->nbeyond == ARRAY_SIZE(f->beyond)) {
		f->beyond_lost++;
		return;
	}
	f->beyond[f->nbeyond].gpa = gpa;
	f->beyond[f->nbeyond++].npages = npages;
}

/* Counts a window the host opened (+1) or closed (-1) on one frame. */
static void hold(struct fuzz *f, u64 gpa, int delta)
{
	unsigned int i;

	for (i = 0; i < f->nheld; i++)
		if (f->held[i].gpa == gpa)
			break;
	if (i == f->nheld) {
		if (f->nheld == ARRAY_SIZE(f->held))
			return;	/* cannot happen: the host caps open frames */
		f->held[f->nheld].gpa = gpa;
		f->held[f->nheld++].count = 0;
	}
	f->held[i].count += delta;
}

/* xorshift64*: fast, and a seed replays the same calls. */
static u64 rnd(struct fuzz *f)
{
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dull;
}

static const u64 boundary[] = {
	0, 1, 7, 8, 4095, 4096, 4097, 0x100000, 0xa0000, 0xfee00000,
	0xfffff000, 0x100000000ull, (1ull << 28), (1ull << 28) + 1,
	(1ull << 40) - 1, 1ull << 40, (1ull << 52) - 4096, 1ull << 52,
	1ull << 63, ~0ull, ~0ull - 4095, 0x7fffffffffffffffull,
	HEKI_BATCH_MAX, HEKI_BATCH_MAX + 1, HEKI_WINDOW_MAX_PAGES,
	HEKI_WINDOW_MAX_PAGES + 1, sizeof(struct heki_info),
	sizeof(struct heki_stats), HEKI_ATTR_ALL, HEKI_ATTR_ALL + 1,
};

enum role { PAGE_GPA, BUF_GPA, COUNT, ATTRS, OTHER };

static u64 draw(struct fuzz *f, enum role role)
{
	u64 r = rnd(f);

	switch (r % 8) {
	case 0:
		return 0;
	case 1:
		return rnd(f) % 5;
	case 2:
		return boundary[rnd(f) % ARRAY_SIZE(boundary)];
	case 3:
		return rnd(f);
	case 4:		/* a target page, sometimes misaligned */
		return f->target + (rnd(f) % TARGET_PAGES) * PAGE_SIZE +
		       ((r >> 8) % 8 ? 0 : rnd(f) % PAGE_SIZE);
	case 5:		/* somewhere in the arg page */
		return f->arg + ((r >> 8) % 4 ? rnd(f) % PAGE_SIZE & ~7ull :
				 rnd(f) % PAGE_SIZE);
	case 6:
		return rnd(f) % 32;
	default:	/* a value of the right kind */
		switch (role) {
		case PAGE_GPA:
			return f->target + (rnd(f) % TARGET_PAGES) * PAGE_SIZE;
		case BUF_GPA:
			return f->arg + (rnd(f) % 64) * 8;
		case COUNT:
			return 1 + rnd(f) % (HEKI_BATCH_MAX + 2);
		case ATTRS:
			return rnd(f) % (HEKI_ATTR_ALL + 1);
		default:
			return rnd(f);
		}
	}
}

/* A drawn range that touches guest RAM is moved inside the target block. */
static void confine_range(struct fuzz *f, u64 *gpa, u64 *npages)
{
	u64 first, last;

	if (*gpa >= f->ram_end)
		return;
	if (*gpa < f->target || *gpa >= f->target + TARGET_PAGES * PAGE_SIZE)
		*gpa = f->target + (*gpa & (PAGE_SIZE - 1)) +
		       (*gpa >> PAGE_SHIFT) % TARGET_PAGES * PAGE_SIZE;
	/* Too long for the host to accept anyway: keep the boundary value. */
	if (!*npages || *npages > (1ull << 28))
		return;
	first = (*gpa - f->target) >> PAGE_SHIFT;
	last = first + *npages - 1;
	if (last >= TARGET_PAGES)
		*npages = TARGET_PAGES - first;
}

/* A buffer the host would write into guest RAM is moved into the arg page. */
static void confine_buffer(struct fuzz *f, u64 *gpa)
{
	if (*gpa < f->ram_end && (*gpa < f->arg || *gpa >= f->arg + PAGE_SIZE))
		*gpa = f->arg + (*gpa & (PAGE_SIZE - 1));
}

/* Fills the batch array the call will read (the part inside the arg page). */
static void fill_batch(struct fuzz *f, u64 gpa, u64 count)
{
	u64 off = gpa - f->arg, i;

	if (gpa < f->arg || off >= PAGE_SIZE || (off & 7))
		return;
	for (i = 0; i < count && off + (i + 1) * sizeof(struct heki_range) <= PAGE_SIZE; i++) {
		struct heki_range *e = (void *)f->arg_va + off +
				       i * sizeof(struct heki_range);
		u64 g = draw(f, PAGE_GPA), n = draw(f, COUNT);

		confine_range(f, &g, &n);
		e->gpa = g;
		e->npages = n;
		e->attrs = draw(f, ATTRS);
		e->reserved = rnd(f) % 8 ? 0 : draw(f, OTHER);
	}
}

static const unsigned int fuzz_nrs[] = {
	HEKI_HC_QUERY, HEKI_HC_PIN_CR, HEKI_HC_PROTECT, HEKI_HC_PROTECT_BATCH,
	HEKI_HC_WINDOW_OPEN, HEKI_HC_WINDOW_CLOSE, HEKI_HC_STATS,
};

#define NCODES 32	/* answers 0 and -(HEKI_EBASE + 1 .. + NCODES - 1) */

int heki_fuzz_show(struct seq_file *m, void *unused)
{
	struct fuzz *f = kzalloc(sizeof(*f), GFP_KERNEL);
	struct page *target = alloc_pages(GFP_KERNEL, TARGET_ORDER);
	u64 *arg = (u64 *)get_zeroed_page(GFP_KERNEL);
	u64 *sentinel = (u64 *)get_zeroed_page(GFP_KERNEL);
	struct heki_stats *s0 = kzalloc(sizeof(*s0), GFP_KERNEL);
	struct heki_stats *s1 = kzalloc(sizeof(*s1), GFP_KERNEL);
	struct heki_info *info = kzalloc(sizeof(*info), GFP_KERNEL);
	unsigned long counts[NCODES] = {}, unexpected = 0, i, left = 0;
	long ret, rel, leaks = 0;
	struct heki_guest_counters g0, g1;
	s64 hook_calls = 0;
	u64 first_unexpected = 0;
	ktime_t t0;
	int j;

	if (!f || !target || !arg || !sentinel || !s0 || !s1 || !info) {
		ret = -ENOMEM;
		goto out_free;
	}
	f->rng = fuzz_seed ?: 1;
	f->target = page_to_phys(target);
	f->arg = __pa(arg);
	f->arg_va = (struct heki_range *)arg;
	/* x86-64 sets high_memory to the end of RAM (max_pfn), exported. */
	f->ram_end = __pa(high_memory - 1) + 1;

	/* The sentinel: protected before, must still be protected after. */
	ret = heki_call(HEKI_HC_PROTECT, __pa(sentinel), 1, HEKI_ATTR_READ, 0);
	if (ret) {
		seq_printf(m, "fuzz_setup FAIL protect_sentinel_ret=%ld\n", ret);
		goto out_free;
	}
	heki_stats(s0);
	heki_counters_snapshot(&g0);

	t0 = ktime_get();
	for (i = 0; i < fuzz_calls; i++) {
		unsigned int nr;
		u64 a[4];

		if (rnd(f) % 8) {
			nr = fuzz_nrs[rnd(f) % ARRAY_SIZE(fuzz_nrs)];
		} else {
			nr = HEKI_HC_BASE + rnd(f) % 256;
			/*
			 * Not these: lockdown is one-way; leaving the patch
			 * view would take it from a text_poke() that another
			 * task has under way on this vCPU; a site reset would
			 * forget the kernel's patch sites; a valid patch (an
			 * INT3 in kernel text) or VMFUNC would change the
			 * guest itself.  The guest would crash itself, which
			 * says nothing about the host.
			 */
			if (nr == HEKI_HC_LOCKDOWN || nr == HEKI_HC_VIEW_SWITCH ||
			    nr == HEKI_HC_SITES || nr == HEKI_HC_PATCH ||
			    nr == HEKI_HC_VMFUNC)
				nr = HEKI_HC_LAST;
		}
		a[0] = draw(f, nr == HEKI_HC_PROTECT || nr == HEKI_HC_WINDOW_OPEN ||
			       nr == HEKI_HC_WINDOW_CLOSE ? PAGE_GPA :
			       nr == HEKI_HC_PIN_CR ? OTHER : BUF_GPA);
		a[1] = draw(f, COUNT);
		a[2] = nr == HEKI_HC_PROTECT ? draw(f, ATTRS) :
		       rnd(f) % 4 ? 0 : draw(f, OTHER);
		a[3] = rnd(f) % 8 ? 0 : draw(f, OTHER);

		switch (nr) {
		case HEKI_HC_PROTECT:
		case HEKI_HC_WINDOW_OPEN:
		case HEKI_HC_WINDOW_CLOSE:
			confine_range(f, &a[0], &a[1]);
			break;
		case HEKI_HC_PIN_CR:
			break;
		default:
			confine_buffer(f, &a[0]);
			if (nr == HEKI_HC_PROTECT_BATCH)
				fill_batch(f, a[0], a[1]);
			break;
		}

		ret = heki_call(nr, a[0], a[1], a[2], a[3]);
		if (ret == 0) {
			counts[0]++;
		} else if (ret <= -(HEKI_EBASE + 1) && ret > -(HEKI_EBASE + NCODES)) {
			counts[-ret - HEKI_EBASE]++;
		} else {
			if (!unexpected++)
				first_unexpected = ret;
		}
		if (!ret && nr == HEKI_HC_PROTECT)
			note_beyond(f, a[0], a[1]);
		if (!ret && nr == HEKI_HC_PROTECT_BATCH)
			for (j = 0; j < a[1]; j++) {
				struct heki_range *e = (void *)f->arg_va +
					(a[0] - f->arg) + j * sizeof(*e);

				note_beyond(f, e->gpa, e->npages);
			}
		/* Track the windows the fuzz holds, to close them afterwards. */
		if (!ret && (nr == HEKI_HC_WINDOW_OPEN || nr == HEKI_HC_WINDOW_CLOSE))
			for (j = 0; j < a[1]; j++)
				hold(f, a[0] + j * PAGE_SIZE,
				     nr == HEKI_HC_WINDOW_OPEN ? 1 : -1);
		if (!(i % 1024))
			cond_resched();
	}
	seq_printf(m, "fuzz_calls ok n=%lu seed=0x%llx ms=%lld\n", fuzz_calls,
		   fuzz_seed, ktime_ms_delta(ktime_get(), t0));

	seq_printf(m, "fuzz_answers_documented %s unexpected=%lu first=%lld\n",
		   unexpected ? "FAIL" : "ok", unexpected, first_unexpected);
	for (j = 0; j < NCODES; j++)
		if (counts[j])
			seq_printf(m, "fuzz_answer_%d info count=%lu\n",
				   j ? -(HEKI_EBASE + j) : 0, counts[j]);
	seq_printf(m, "fuzz_reached_the_handlers %s accepted=%lu\n",
		   counts[0] ? "ok" : "FAIL", counts[0]);

	ret = heki_query(info);
	seq_printf(m, "fuzz_host_still_answers %s ret=%ld\n", ret ? "FAIL" : "ok",
		   ret);
	j = heki_write_nofault(&sentinel[1], 1);
	seq_printf(m, "fuzz_sentinel_still_protected %s faulted=%d unchanged=%d\n",
		   j && !sentinel[1] ? "ok" : "FAIL", j, !sentinel[1]);

	for (j = 0; j < f->nheld; j++)
		for (; f->held[j].count > 0; f->held[j].count--) {
			left++;
			if (heki_call(HEKI_HC_WINDOW_CLOSE, f->held[j].gpa, 1, 0, 0))
				leaks++;
		}
	for (j = 0; j < f->nbeyond; j++)
		if (heki_release(f->beyond[j].gpa, f->beyond[j].npages))
			leaks++;
	seq_printf(m, "fuzz_beyond_ram_accepted info ranges=%u untracked=%u\n",
		   f->nbeyond, f->beyond_lost);
	rel = heki_release(f->target, TARGET_PAGES);
	heki_stats(s1);
	heki_counters_snapshot(&g1);
	/*
	 * The kernel keeps running during the fuzz's ~10 s: a vfree() or
	 * set_memory_*() elsewhere moves protected frames through our hooks.
	 * Only when no hook called the host is the count exact.
	 */
	for (j = 0; j < HOOK_NR; j++)
		hook_calls += g1.hypercalls[j] - g0.hypercalls[j];
	seq_printf(m, "fuzz_windows_all_closed %s closed_after=%lu close_or_release_errors=%ld windows_open=%llu\n",
		   !leaks && s1->windows_open == s0->windows_open ? "ok" : "FAIL",
		   left, leaks, s1->windows_open);
	seq_printf(m, "fuzz_protections_released %s ret=%ld protected_frames=%llu before=%llu hook_hypercalls_meanwhile=%lld\n",
		   !rel && !f->beyond_lost &&
		   (s1->protected_frames == s0->protected_frames || hook_calls) ?
		   "ok" : "FAIL",
		   rel, s1->protected_frames, s0->protected_frames, hook_calls);
	seq_printf(m, "fuzz_host_counted_every_call %s calls=+%llu\n",
		   s1->calls - s0->calls >= fuzz_calls ? "ok" : "FAIL",
		   s1->calls - s0->calls);
	/* Pages the host did not release stay allocated (leaked on purpose). */
	if (rel)
		target = NULL;
	rel = heki_release(__pa(sentinel), 1);
	if (rel) {
		seq_printf(m, "fuzz_sentinel_released FAIL ret=%ld\n", rel);
		sentinel = NULL;
	}
	ret = 0;
out_free:
	if (target)
		__free_pages(target, TARGET_ORDER);
	free_page((unsigned long)sentinel);
	free_page((unsigned long)arg);
	kfree(s0);
	kfree(s1);
	kfree(info);
	kfree(f);
	return ret;
}
