// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM Heki permission store: a sorted array of disjoint gfn ranges.
 * See heki_store.h for the model and the locking rules.
 *
 * Every change replaces a small window of the array (the ranges it overlaps
 * plus one neighbour on each side, so they can be merged) by at most five
 * new ranges.  All the work that can fail (the range cap, the allocation)
 * happens before the array is touched, which makes set and clear atomic.
 *
 * Behind the ranges, in the same allocation, is a summary tree: an
 * implicit binary tree over the array's slots (leaves cap .. 2 * cap - 1,
 * node i the OR of nodes 2i and 2i + 1) whose leaves hold what matters to
 * the questions heki_store_any(), _any_lacking() and _weakens() ask of a
 * range (heki_store_features()).  A question about a gfn interval is then
 * two binary searches for the slots it overlaps and one walk up the tree:
 * O(log n) whatever the number of ranges overlapped.  Changes keep the
 * leaves of the slots they move, and their ancestors, up to date.
 */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/slab.h>
#include <linux/string.h>
#else
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#endif

#include "heki_store.h"

/* Smallest allocation; below it shrinking is not worth a copy. */
#define HEKI_STORE_MIN_CAP	16

/* Bytes one slot costs: the range and its two tree nodes. */
#define HEKI_STORE_SLOT_BYTES	(sizeof(struct heki_store_range) + 2 * sizeof(__u16))

#ifdef __KERNEL__
#define HEKI_STORE_STEP()	do { } while (0)
#else
unsigned long heki_store_steps;
#define HEKI_STORE_STEP()	(heki_store_steps++)
#endif

#ifdef __KERNEL__
static struct heki_store_range *heki_store_alloc(size_t n)
{
	/*
	 * kvmalloc: a full store is ~1.5 MiB, too big to ask for contiguous
	 * pages.  _ACCOUNT: the guest causes the allocation, so charge it to
	 * the VM's memory cgroup.
	 */
	return kvmalloc_array(n, HEKI_STORE_SLOT_BYTES, GFP_KERNEL_ACCOUNT);
}

static void heki_store_free(struct heki_store_range *p)
{
	kvfree(p);
}
#else
unsigned int heki_store_fail_nth_alloc;

static struct heki_store_range *heki_store_alloc(size_t n)
{
	if (heki_store_fail_nth_alloc && --heki_store_fail_nth_alloc == 0)
		return NULL;
	if (n > (size_t)-1 / HEKI_STORE_SLOT_BYTES)
		return NULL;
	return malloc(n * HEKI_STORE_SLOT_BYTES);
}

static void heki_store_free(struct heki_store_range *p)
{
	free(p);
}
#endif

static inline __u64 heki_max_u64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

static inline __u64 heki_min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/*
 * The summary tree, right after the cap ranges: 2 * cap nodes, node 0
 * unused.
 */
static inline __u16 *heki_store_tree(const struct heki_store *s)
{
	return (__u16 *)(s->ranges + s->cap);
}

#define HEKI_PERMS	(HEKI_ATTR_WRITE | HEKI_ATTR_EXEC)

/*
 * What a range contributes to the tree: its attrs (bits 0-3), the attrs
 * it lacks (bits 4-7), IMMUTABLE (bit 8) and, when immutable, the
 * permissions it lacks (bits 9-11).  ORed over slots, each bit says
 * whether some range there has that property.
 */
#define HEKI_F_LACKS_SHIFT	4
#define HEKI_F_IMMUTABLE	(1u << 8)
#define HEKI_F_IMM_LACKS_SHIFT	9

static inline __u16 heki_store_features(__u32 a)
{
	__u16 f = (a & HEKI_ATTR_ALL) | (~a & HEKI_ATTR_ALL) << HEKI_F_LACKS_SHIFT;

	if (a & HEKI_ATTR_IMMUTABLE)
		f |= HEKI_F_IMMUTABLE | (~a & HEKI_PERMS) << HEKI_F_IMM_LACKS_SHIFT;
	return f;
}

/*
 * Recompute the leaves of slots [a, b) (empty slots: 0) and every node
 * above them.  O(b - a + log cap).
 */
static void heki_store_index(struct heki_store *s, size_t a, size_t b)
{
	__u16 *t = heki_store_tree(s);
	size_t n = s->cap, i;

	if (b > n)
		b = n;
	if (a >= b)
		return;
	for (i = a; i < b; i++)
		t[n + i] = i < s->nr ? heki_store_features(s->ranges[i].attrs) : 0;
	/* Inclusive node bounds, one level up at a time. */
	a += n;
	b += n - 1;
	while (a > 1) {
		a >>= 1;
		b >>= 1;
		for (i = a; i <= b; i++)
			t[i] = t[2 * i] | t[2 * i + 1];
	}
}

/* OR of the leaves of slots [l, r).  O(log cap). */
static __u16 heki_store_summary(const struct heki_store *s, size_t l, size_t r)
{
	const __u16 *t = heki_store_tree(s);
	__u16 f = 0;

	l += s->cap;
	r += s->cap;
	while (l < r) {
		HEKI_STORE_STEP();
		if (l & 1)
			f |= t[l++];
		if (r & 1)
			f |= t[--r];
		l >>= 1;
		r >>= 1;
	}
	return f;
}

void heki_store_init(struct heki_store *s)
{
	s->ranges = NULL;
	s->nr = 0;
	s->cap = 0;
	s->pages = 0;
}

void heki_store_destroy(struct heki_store *s)
{
	heki_store_free(s->ranges);
	heki_store_init(s);
}

/* Index of the first range with end > gfn (s->nr if none). */
static size_t heki_store_first_ending_after(const struct heki_store *s,
					    __u64 gfn)
{
	size_t lo = 0, hi = s->nr;

	/* Ranges are sorted and disjoint, so their ends are increasing. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		HEKI_STORE_STEP();
		if (s->ranges[mid].end > gfn)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Index of the first range with start >= gfn (s->nr if none). */
static size_t heki_store_first_starting_from(const struct heki_store *s,
					     __u64 gfn)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		HEKI_STORE_STEP();
		if (s->ranges[mid].start >= gfn)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int heki_store_check_range(__u64 start, __u64 npages)
{
	if (!npages)
		return HEKI_STORE_ENOPAGES;
	/* Written so that start + npages is never computed when it wraps. */
	if (start >= HEKI_STORE_MAX_GFN || npages > HEKI_STORE_MAX_GFN - start)
		return HEKI_STORE_ERANGE;
	return 0;
}

/* Merge touching neighbours with equal attrs in place; returns the count. */
static size_t heki_store_merge(struct heki_store_range *r, size_t n)
{
	size_t i, j = 0;

	if (!n)
		return 0;
	for (i = 1; i < n; i++) {
		if (r[j].end == r[i].start && r[j].attrs == r[i].attrs)
			r[j].end = r[i].end;
		else
			r[++j] = r[i];
	}
	return j + 1;
}

/*
 * Frames of the interval [a, b) change: widen the change to cover them.
 * Called with intervals in ascending order.
 */
static void heki_store_note(struct heki_store_change *c, bool *any,
			    __u64 a, __u64 b)
{
	if (!*any)
		c->first = a;
	c->last_excl = b;
	*any = true;
}

/*
 * Give [start, end) @attrs (@protect) or make it unprotected (!@protect).
 * The range has been validated.  With @inplace, only a change that keeps
 * the number of ranges (so nothing moves and nothing is allocated) is
 * made; any other returns HEKI_STORE_EAGAIN, after O(log n) work and with
 * the store untouched.
 */
static int heki_store_apply(struct heki_store *s, __u64 start, __u64 end,
			    __u32 attrs, bool protect, bool inplace,
			    struct heki_store_change *changed)
{
	/* Left neighbour, left rest, new range, right rest, right neighbour. */
	struct heki_store_range win[5];
	struct heki_store_change c = { 0, 0 };
	struct heki_store_range *r = s->ranges, *dst;
	size_t lo, hi, wlo, whi, k = 0, i, newnr, newcap, ilo, ihi;
	__u64 cur = start, old_pages = 0, new_pages = 0;
	bool any = false;

	/* [lo, hi) are the ranges overlapping [start, end). */
	lo = heki_store_first_ending_after(s, start);
	hi = heki_store_first_starting_from(s, end);

	/*
	 * In place, the window is replaced by as many ranges, at most five
	 * with both neighbours: more than three overlapped cannot be, and
	 * the scan below stays O(1).
	 */
	if (inplace && hi - lo > 3)
		return HEKI_STORE_EAGAIN;

	/*
	 * Work out what changes before touching anything: a no-op request
	 * (common: the guest re-applies its policy) then costs no copying
	 * and cannot fail on the range cap.
	 */
	for (i = lo; i < hi; i++) {
		__u64 a = heki_max_u64(r[i].start, start);
		__u64 b = heki_min_u64(r[i].end, end);

		/* An unprotected gap becomes protected. */
		if (protect && cur < a)
			heki_store_note(&c, &any, cur, a);
		if (!protect || r[i].attrs != attrs)
			heki_store_note(&c, &any, a, b);
		cur = b;
	}
	if (protect && cur < end)
		heki_store_note(&c, &any, cur, end);
	if (!any)
		goto out;

	/* Build the replacement for the window [wlo, whi). */
	wlo = lo;
	whi = hi;
	if (wlo > 0)
		win[k++] = r[--wlo];
	if (lo < hi && r[lo].start < start) {
		win[k] = r[lo];
		win[k++].end = start;
	}
	if (protect) {
		win[k].start = start;
		win[k].end = end;
		win[k++].attrs = attrs;
	}
	if (lo < hi && r[hi - 1].end > end) {
		win[k] = r[hi - 1];
		win[k++].start = end;
	}
	if (whi < s->nr)
		win[k++] = r[whi++];
	k = heki_store_merge(win, k);

	if (inplace && k != whi - wlo)
		return HEKI_STORE_EAGAIN;
	newnr = s->nr - (whi - wlo) + k;
	if (newnr > HEKI_STORE_MAX_RANGES)
		return HEKI_STORE_ETOOMANY;

	for (i = wlo; i < whi; i++)
		old_pages += r[i].end - r[i].start;
	for (i = 0; i < k; i++)
		new_pages += win[i].end - win[i].start;

	if (newnr > s->cap) {
		/* Grow geometrically so a stream of requests is amortised. */
		newcap = s->cap ? s->cap * 2 : HEKI_STORE_MIN_CAP;
		if (newcap > HEKI_STORE_MAX_RANGES)
			newcap = HEKI_STORE_MAX_RANGES;
		dst = heki_store_alloc(newcap);
		if (!dst)
			return HEKI_STORE_ENOMEM;
		/* Copy around the window straight into the new array. */
		if (wlo)
			memcpy(dst, r, wlo * sizeof(*r));
		if (whi < s->nr)
			memcpy(dst + wlo + k, r + whi,
			       (s->nr - whi) * sizeof(*r));
		heki_store_free(r);
		s->ranges = dst;
		s->cap = newcap;
		/* A new tree: every slot's leaf. */
		ilo = 0;
		ihi = newcap;
	} else {
		dst = r;
		if (whi < s->nr && wlo + k != whi)
			memmove(dst + wlo + k, dst + whi,
				(s->nr - whi) * sizeof(*r));
		/*
		 * The window's slots changed; when it changed size, every
		 * slot after it moved too (those past both counts were and
		 * stay empty).
		 */
		ilo = wlo;
		ihi = wlo + k == whi ? whi : heki_max_u64(s->nr, newnr);
	}
	if (k)
		memcpy(dst + wlo, win, k * sizeof(*win));
	s->nr = newnr;
	s->pages = s->pages - old_pages + new_pages;
	heki_store_index(s, ilo, ihi);

	/*
	 * Give memory back when the guest unprotected most of it.  Best
	 * effort: if the smaller array cannot be had, keep the big one.
	 * Shrinking at a quarter and halving leaves room to grow again.
	 */
	if (!s->nr) {
		heki_store_free(s->ranges);
		s->ranges = NULL;
		s->cap = 0;
	} else if (!inplace && s->cap > HEKI_STORE_MIN_CAP &&
		   s->nr <= s->cap / 4) {
		newcap = s->cap / 2;
		dst = heki_store_alloc(newcap);
		if (dst) {
			memcpy(dst, s->ranges, s->nr * sizeof(*dst));
			heki_store_free(s->ranges);
			s->ranges = dst;
			s->cap = newcap;
			heki_store_index(s, 0, newcap);
		}
	}
out:
	if (changed)
		*changed = c;
	return 0;
}

/* Shared front of set and clear: argument checks, then the change. */
static int heki_store_change_range(struct heki_store *s, __u64 start_gfn,
				   __u64 npages, __u32 attrs, bool set,
				   bool inplace,
				   struct heki_store_change *changed)
{
	int ret;

	if (changed)
		changed->first = changed->last_excl = 0;
	ret = heki_store_check_range(start_gfn, npages);
	if (ret)
		return ret;
	if (attrs & ~HEKI_ATTR_ALL)
		return HEKI_STORE_EATTR;
	return heki_store_apply(s, start_gfn, start_gfn + npages, attrs, set,
				inplace, changed);
}

int heki_store_set(struct heki_store *s, __u64 start_gfn, __u64 npages,
		   __u32 attrs, struct heki_store_change *changed)
{
	return heki_store_change_range(s, start_gfn, npages, attrs, true,
				       false, changed);
}

int heki_store_clear(struct heki_store *s, __u64 start_gfn, __u64 npages,
		     struct heki_store_change *changed)
{
	return heki_store_change_range(s, start_gfn, npages, 0, false, false,
				       changed);
}

int heki_store_update_inplace(struct heki_store *s, __u64 start_gfn,
			      __u64 npages, bool clear, __u32 attrs,
			      struct heki_store_change *changed)
{
	return heki_store_change_range(s, start_gfn, npages, clear ? 0 : attrs,
				       !clear, true, changed);
}

bool heki_store_changes(const struct heki_store *s, __u64 start_gfn,
			__u64 npages, bool clear, __u32 attrs)
{
	size_t i;

	if (heki_store_check_range(start_gfn, npages) ||
	    (!clear && (attrs & ~HEKI_ATTR_ALL)))
		return true;
	i = heki_store_first_ending_after(s, start_gfn);
	if (clear)
		return i < s->nr && s->ranges[i].start < start_gfn + npages;
	/*
	 * The array is minimal: if the range holding start_gfn has @attrs
	 * but ends early, the next frame is a gap or has other attrs.
	 */
	return i == s->nr || s->ranges[i].start > start_gfn ||
	       s->ranges[i].attrs != attrs ||
	       s->ranges[i].end < start_gfn + npages;
}

bool heki_store_lookup(const struct heki_store *s, __u64 gfn, __u32 *attrs)
{
	size_t i = heki_store_first_ending_after(s, gfn);

	if (i == s->nr || s->ranges[i].start > gfn)
		return false;
	if (attrs)
		*attrs = s->ranges[i].attrs;
	return true;
}

/*
 * OR of the features (heki_store_features()) of the ranges overlapping
 * [start_gfn, start_gfn + npages), a range that wraps ending at 2^64:
 * two binary searches and one walk up the tree.
 */
static __u16 heki_store_features_in(const struct heki_store *s,
				    __u64 start_gfn, __u64 npages)
{
	__u64 end;
	size_t i, j;

	if (!npages || !s->nr)
		return 0;
	/* Saturate: a wrapping range covers everything from start_gfn up. */
	end = start_gfn + npages < start_gfn ? ~0ull : start_gfn + npages;
	i = heki_store_first_ending_after(s, start_gfn);
	j = heki_store_first_starting_from(s, end);
	return i < j ? heki_store_summary(s, i, j) : 0;
}

bool heki_store_any(const struct heki_store *s, __u64 start_gfn, __u64 npages,
		    __u32 mask)
{
	mask &= HEKI_ATTR_ALL;
	return mask && (heki_store_features_in(s, start_gfn, npages) & mask);
}

bool heki_store_any_lacking(const struct heki_store *s, __u64 start_gfn,
			    __u64 npages, __u32 mask)
{
	__u16 f;

	if (!mask)
		return false;
	f = heki_store_features_in(s, start_gfn, npages);
	/* A bit no range can have is lacking from every protected frame. */
	if (mask & ~HEKI_ATTR_ALL)
		return f != 0;
	return (f >> HEKI_F_LACKS_SHIFT) & mask;
}

bool heki_store_weakens(const struct heki_store *s, __u64 start_gfn,
			__u64 npages, bool release, __u32 attrs)
{
	__u16 f = heki_store_features_in(s, start_gfn, npages);

	if (!(f & HEKI_F_IMMUTABLE))
		return false;
	if (release || !(attrs & HEKI_ATTR_IMMUTABLE))
		return true;
	return (f >> HEKI_F_IMM_LACKS_SHIFT) & attrs & HEKI_PERMS;
}

bool heki_store_weakens_over(const struct heki_store *base,
			     const struct heki_store *over, __u64 start_gfn,
			     __u64 npages, bool release, __u32 attrs)
{
	const struct heki_store_range *r = over->ranges;
	__u64 end, cur = start_gfn;
	size_t i;

	if (!npages)
		return false;
	if (heki_store_weakens(over, start_gfn, npages, release, attrs))
		return true;
	end = start_gfn + npages < start_gfn ? ~0ull : start_gfn + npages;
	/* The gaps of @over inside the range are @base's to judge. */
	for (i = heki_store_first_ending_after(over, start_gfn);
	     i < over->nr && r[i].start < end; i++) {
		HEKI_STORE_STEP();
		if (cur < r[i].start &&
		    heki_store_weakens(base, cur, r[i].start - cur, release,
				       attrs))
			return true;
		cur = r[i].end;
	}
	return cur < end &&
	       heki_store_weakens(base, cur, end - cur, release, attrs);
}

int heki_store_clone(struct heki_store *dst, const struct heki_store *src)
{
	heki_store_init(dst);
	if (!src->nr)
		return 0;
	dst->ranges = heki_store_alloc(src->cap);
	if (!dst->ranges)
		return HEKI_STORE_ENOMEM;
	/* The used ranges and the whole tree. */
	memcpy(dst->ranges, src->ranges, src->nr * sizeof(*src->ranges));
	memcpy((__u16 *)(dst->ranges + src->cap), heki_store_tree(src),
	       2 * src->cap * sizeof(__u16));
	dst->nr = src->nr;
	dst->cap = src->cap;
	dst->pages = src->pages;
	return 0;
}

__u64 heki_store_pages(const struct heki_store *s)
{
	return s->pages;
}

size_t heki_store_nranges(const struct heki_store *s)
{
	return s->nr;
}

int heki_store_for_each(const struct heki_store *s, heki_store_cb_t cb,
			void *ctx)
{
	size_t i;
	int ret;

	for (i = 0; i < s->nr; i++) {
		ret = cb(s->ranges[i].start, s->ranges[i].end,
			 s->ranges[i].attrs, ctx);
		if (ret)
			return ret;
	}
	return 0;
}
