// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM permission store (host/heki_store.c), the same code kvm.ko runs:
 * range edges, splitting, merging, the exact "changed" interval the host
 * zaps, every validation error, atomicity on the range cap and on allocation
 * failure, in-place updates, and a randomized check of every query against
 * a plain per-frame array.  The fault-path queries are bounded in steps
 * (heki_store_steps): O(log n) on a store at its 65,536-range cap.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "heki_store.h"

#define RO	HEKI_ATTR_RO
#define RW	(HEKI_ATTR_WRITE)
#define RX	(HEKI_ATTR_EXEC)
#define RXI	(RX | HEKI_ATTR_IMMUTABLE)
#define MAX_GFN	HEKI_STORE_MAX_GFN
#define MAX_NR	HEKI_STORE_MAX_RANGES

/* What attrs_at() answers for an unprotected frame. */
#define NONE	0xffffffffu

static __u32 attrs_at(const struct heki_store *s, __u64 gfn)
{
	__u32 attrs = 0xdeadbeef;

	return heki_store_lookup(s, gfn, &attrs) ? attrs : NONE;
}

struct walk {
	const char *err;
	size_t n;
	__u64 pages, prev_end;
	__u32 prev_attrs;
};

static int check_range(__u64 start, __u64 end, __u32 attrs, void *ctx)
{
	struct walk *w = ctx;

	if (start >= end)
		w->err = "empty range";
	else if (end > MAX_GFN)
		w->err = "range past HEKI_STORE_MAX_GFN";
	else if (attrs & ~HEKI_ATTR_ALL)
		w->err = "attrs outside HEKI_ATTR_ALL";
	else if (w->n && start < w->prev_end)
		w->err = "ranges unsorted or overlapping";
	else if (w->n && start == w->prev_end && attrs == w->prev_attrs)
		w->err = "touching ranges with equal attrs not merged";
	w->n++;
	w->pages += end - start;
	w->prev_end = end;
	w->prev_attrs = attrs;
	return w->err ? 1 : 0;
}

/* NULL if the store's invariants hold, else what is wrong. */
static const char *invariant_error(const struct heki_store *s)
{
	struct walk w = { 0 };

	if (heki_store_for_each(s, check_range, &w))
		return w.err;
	if (w.n != heki_store_nranges(s))
		return "nranges differs from the walk";
	if (w.pages != heki_store_pages(s))
		return "pages differs from the walk";
	if (s->nr > s->cap || (s->cap && !s->ranges))
		return "array bookkeeping broken";
	/* Every range's summary leaf: what the interval queries see of it. */
	for (size_t i = 0; i < s->nr; i++) {
		const struct heki_store_range *r = &s->ranges[i];

		for (__u32 bit = 1; bit <= HEKI_ATTR_IMMUTABLE; bit <<= 1) {
			if (heki_store_any(s, r->start, 1, bit) !=
			    !!(r->attrs & bit))
				return "summary: any() wrong for a range";
			if (heki_store_any_lacking(s, r->end - 1, 1, bit) !=
			    !(r->attrs & bit))
				return "summary: any_lacking() wrong for a range";
		}
	}
	return NULL;
}

#define ASSERT_INVARIANTS(s) do {					\
	const char *_err = invariant_error(s);				\
	ASSERT_TRUE(_err == NULL) TH_LOG("%s", _err);			\
} while (0)

#define ASSERT_CHANGE(lo, hi, c) do {					\
	ASSERT_EQ((__u64)(lo), (c).first);				\
	ASSERT_EQ((__u64)(hi), (c).last_excl);				\
} while (0)

#define ASSERT_NO_CHANGE(c) do {					\
	ASSERT_TRUE(heki_store_change_empty(&(c)));			\
	ASSERT_CHANGE(0, 0, c);						\
} while (0)

/* A copy of the array, to prove a failed call left the store alone. */
struct snap {
	struct heki_store_range *r;
	size_t nr;
	__u64 pages;
};

static void snap_take(struct snap *sn, const struct heki_store *s)
{
	sn->nr = s->nr;
	sn->pages = s->pages;
	sn->r = malloc((s->nr + 1) * sizeof(*sn->r));
	if (sn->r && s->nr)
		memcpy(sn->r, s->ranges, s->nr * sizeof(*sn->r));
}

static bool snap_same(const struct snap *sn, const struct heki_store *s)
{
	size_t i;

	if (!sn->r || sn->nr != s->nr || sn->pages != s->pages)
		return false;
	for (i = 0; i < sn->nr; i++) {
		if (sn->r[i].start != s->ranges[i].start ||
		    sn->r[i].end != s->ranges[i].end ||
		    sn->r[i].attrs != s->ranges[i].attrs)
			return false;
	}
	return true;
}

static void snap_free(struct snap *sn)
{
	free(sn->r);
	sn->r = NULL;
}

/* ---------------------------------------------------------------------- */

FIXTURE(store) {
	struct heki_store s;
	struct heki_store_change c;
};

FIXTURE_SETUP(store)
{
	heki_store_init(&self->s);
	heki_store_fail_nth_alloc = 0;
}

FIXTURE_TEARDOWN(store)
{
	heki_store_destroy(&self->s);
}

TEST_F(store, empty)
{
	__u32 attrs = 0x55;

	ASSERT_FALSE(heki_store_lookup(&self->s, 0, &attrs));
	ASSERT_EQ(0x55, attrs);		/* untouched when not found */
	ASSERT_FALSE(heki_store_lookup(&self->s, MAX_GFN - 1, NULL));
	ASSERT_EQ(0, heki_store_pages(&self->s));
	ASSERT_EQ(0, heki_store_nranges(&self->s));
	ASSERT_FALSE(heki_store_any(&self->s, 0, MAX_GFN, HEKI_ATTR_ALL));
	ASSERT_INVARIANTS(&self->s);
}

TEST_F(store, set_and_lookup_at_edges)
{
	__u32 attrs = 0;

	ASSERT_EQ(0, heki_store_set(&self->s, 10, 10, RX, &self->c));
	ASSERT_CHANGE(10, 20, self->c);
	ASSERT_FALSE(heki_store_lookup(&self->s, 9, &attrs));
	ASSERT_TRUE(heki_store_lookup(&self->s, 10, &attrs));
	ASSERT_EQ(RX, attrs);
	ASSERT_TRUE(heki_store_lookup(&self->s, 19, NULL));
	ASSERT_EQ(RX, attrs_at(&self->s, 19));
	ASSERT_EQ(NONE, attrs_at(&self->s, 20));
	ASSERT_EQ(NONE, attrs_at(&self->s, 0));
	ASSERT_EQ(10, heki_store_pages(&self->s));
	ASSERT_EQ(1, heki_store_nranges(&self->s));
	ASSERT_INVARIANTS(&self->s);

	/* A single frame, and frame 0. */
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 1, RO, &self->c));
	ASSERT_CHANGE(0, 1, self->c);
	ASSERT_EQ(RO, attrs_at(&self->s, 0));
	ASSERT_EQ(NONE, attrs_at(&self->s, 1));
	ASSERT_EQ(2, heki_store_nranges(&self->s));
	ASSERT_EQ(11, heki_store_pages(&self->s));
	ASSERT_INVARIANTS(&self->s);
}

TEST_F(store, top_of_gfn_space)
{
	ASSERT_EQ(0, heki_store_set(&self->s, MAX_GFN - 1, 1, RW, &self->c));
	ASSERT_CHANGE(MAX_GFN - 1, MAX_GFN, self->c);
	ASSERT_EQ(RW, attrs_at(&self->s, MAX_GFN - 1));
	ASSERT_EQ(NONE, attrs_at(&self->s, MAX_GFN));
	ASSERT_EQ(NONE, attrs_at(&self->s, ~0ull));
	ASSERT_EQ(NONE, attrs_at(&self->s, MAX_GFN - 2));

	/* The whole space is one range. */
	ASSERT_EQ(0, heki_store_set(&self->s, 0, MAX_GFN, RW, &self->c));
	ASSERT_CHANGE(0, MAX_GFN - 1, self->c);
	ASSERT_EQ(1, heki_store_nranges(&self->s));
	ASSERT_EQ(MAX_GFN, heki_store_pages(&self->s));
	ASSERT_TRUE(heki_store_any(&self->s, MAX_GFN - 1, ~0ull, RW));
	ASSERT_INVARIANTS(&self->s);

	ASSERT_EQ(0, heki_store_clear(&self->s, 0, MAX_GFN, &self->c));
	ASSERT_CHANGE(0, MAX_GFN, self->c);
	ASSERT_EQ(0, heki_store_nranges(&self->s));
	ASSERT_EQ(0, heki_store_pages(&self->s));
}

TEST_F(store, split_in_the_middle)
{
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 100, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 40, 10, RW, &self->c));
	ASSERT_CHANGE(40, 50, self->c);
	ASSERT_EQ(3, heki_store_nranges(&self->s));
	ASSERT_EQ(100, heki_store_pages(&self->s));
	ASSERT_EQ(RO, attrs_at(&self->s, 39));
	ASSERT_EQ(RW, attrs_at(&self->s, 40));
	ASSERT_EQ(RW, attrs_at(&self->s, 49));
	ASSERT_EQ(RO, attrs_at(&self->s, 50));
	ASSERT_EQ(RO, attrs_at(&self->s, 99));
	ASSERT_INVARIANTS(&self->s);

	/* Split at the left and right edges only: two ranges, not three. */
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 1, RX, &self->c));
	ASSERT_CHANGE(0, 1, self->c);
	ASSERT_EQ(0, heki_store_set(&self->s, 99, 1, RX, &self->c));
	ASSERT_CHANGE(99, 100, self->c);
	ASSERT_EQ(5, heki_store_nranges(&self->s));
	ASSERT_EQ(RX, attrs_at(&self->s, 0));
	ASSERT_EQ(RO, attrs_at(&self->s, 1));
	ASSERT_EQ(RO, attrs_at(&self->s, 98));
	ASSERT_EQ(RX, attrs_at(&self->s, 99));
	ASSERT_EQ(100, heki_store_pages(&self->s));
	ASSERT_INVARIANTS(&self->s);
}

TEST_F(store, attrs_zero_is_protected)
{
	/* Tracked with no permission differs from not tracked at all. */
	ASSERT_EQ(0, heki_store_set(&self->s, 5, 5, 0, &self->c));
	ASSERT_CHANGE(5, 10, self->c);
	ASSERT_EQ(0, attrs_at(&self->s, 5));
	ASSERT_EQ(NONE, attrs_at(&self->s, 10));
	ASSERT_EQ(5, heki_store_pages(&self->s));
	ASSERT_FALSE(heki_store_any(&self->s, 0, 100, HEKI_ATTR_ALL));
	ASSERT_EQ(0, heki_store_set(&self->s, 5, 5, 0, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(0, heki_store_clear(&self->s, 5, 5, &self->c));
	ASSERT_CHANGE(5, 10, self->c);
	ASSERT_EQ(0, heki_store_nranges(&self->s));
}

/* Three sets in a row, then the shape of the result. */
FIXTURE(merge) {
	struct heki_store s;
};

FIXTURE_VARIANT(merge) {
	struct { __u64 start, npages; __u32 attrs; } op[3];
	size_t nranges;
	__u64 pages;
};

FIXTURE_SETUP(merge)
{
	heki_store_init(&self->s);
}

FIXTURE_TEARDOWN(merge)
{
	heki_store_destroy(&self->s);
}

FIXTURE_VARIANT_ADD(merge, fill_gap_equal) {
	.op = { { 0, 10, RO }, { 20, 10, RO }, { 10, 10, RO } },
	.nranges = 1, .pages = 30,
};
FIXTURE_VARIANT_ADD(merge, fill_gap_different) {
	.op = { { 0, 10, RO }, { 20, 10, RO }, { 10, 10, RW } },
	.nranges = 3, .pages = 30,
};
FIXTURE_VARIANT_ADD(merge, touch_left_equal) {
	.op = { { 0, 10, RO }, { 10, 10, RO }, { 30, 10, RO } },
	.nranges = 2, .pages = 30,
};
FIXTURE_VARIANT_ADD(merge, touch_right_equal) {
	.op = { { 10, 10, RO }, { 0, 10, RO }, { 30, 10, RW } },
	.nranges = 2, .pages = 30,
};
FIXTURE_VARIANT_ADD(merge, not_touching) {
	.op = { { 0, 10, RO }, { 11, 10, RO }, { 22, 10, RO } },
	.nranges = 3, .pages = 30,
};
FIXTURE_VARIANT_ADD(merge, overlap_equal) {
	.op = { { 0, 10, RO }, { 5, 10, RO }, { 100, 1, RO } },
	.nranges = 2, .pages = 16,
};
FIXTURE_VARIANT_ADD(merge, restore_after_split) {
	.op = { { 0, 100, RO }, { 40, 10, RW }, { 40, 10, RO } },
	.nranges = 1, .pages = 100,
};
FIXTURE_VARIANT_ADD(merge, cover_many) {
	.op = { { 0, 1, RO }, { 2, 1, RW }, { 0, 10, RX } },
	.nranges = 1, .pages = 10,
};
FIXTURE_VARIANT_ADD(merge, swallow_then_touch) {
	.op = { { 5, 2, RW }, { 0, 10, RO }, { 10, 5, RO } },
	.nranges = 1, .pages = 15,
};
FIXTURE_VARIANT_ADD(merge, zero_between_exec) {
	.op = { { 0, 10, HEKI_ATTR_EXEC }, { 20, 10, HEKI_ATTR_EXEC }, { 10, 10, 0 } },
	.nranges = 3, .pages = 30,
};
FIXTURE_VARIANT_ADD(merge, zero_merges_zero) {
	.op = { { 0, 10, 0 }, { 20, 10, 0 }, { 10, 10, 0 } },
	.nranges = 1, .pages = 30,
};

TEST_F(merge, shape)
{
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, heki_store_set(&self->s, variant->op[i].start,
					    variant->op[i].npages,
					    variant->op[i].attrs, NULL));
		ASSERT_INVARIANTS(&self->s);
	}
	ASSERT_EQ(variant->nranges, heki_store_nranges(&self->s));
	ASSERT_EQ(variant->pages, heki_store_pages(&self->s));
	/* The last set wins on every one of its frames. */
	for (__u64 g = variant->op[2].start;
	     g < variant->op[2].start + variant->op[2].npages; g++) {
		ASSERT_EQ(variant->op[2].attrs, attrs_at(&self->s, g));
	}
}

TEST_F(store, changed_nothing_when_same_attrs)
{
	ASSERT_EQ(0, heki_store_set(&self->s, 100, 50, RX, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 200, 50, RO, NULL));
	self->c.first = 7;
	self->c.last_excl = 9;
	ASSERT_EQ(0, heki_store_set(&self->s, 100, 50, RX, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(0, heki_store_set(&self->s, 120, 3, RX, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(0, heki_store_set(&self->s, 149, 1, RX, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(2, heki_store_nranges(&self->s));
	ASSERT_EQ(100, heki_store_pages(&self->s));

	/* Clearing what is not protected changes nothing either. */
	ASSERT_EQ(0, heki_store_clear(&self->s, 150, 50, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(0, heki_store_clear(&self->s, 0, 100, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(0, heki_store_clear(&self->s, 1000, 1, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(2, heki_store_nranges(&self->s));
	ASSERT_INVARIANTS(&self->s);
}

TEST_F(store, changed_only_the_gap)
{
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 10, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 20, 10, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 30, RO, &self->c));
	ASSERT_CHANGE(10, 20, self->c);
	ASSERT_EQ(1, heki_store_nranges(&self->s));
}

TEST_F(store, changed_only_the_differing_part)
{
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 50, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 50, 50, RW, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 100, RW, &self->c));
	ASSERT_CHANGE(0, 50, self->c);
	ASSERT_EQ(1, heki_store_nranges(&self->s));

	/* Overhanging an existing range on the left. */
	ASSERT_EQ(0, heki_store_set(&self->s, 200, 10, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 195, 10, RO, &self->c));
	ASSERT_CHANGE(195, 200, self->c);
	/* ... and on the right. */
	ASSERT_EQ(0, heki_store_set(&self->s, 205, 10, RO, &self->c));
	ASSERT_CHANGE(210, 215, self->c);
	ASSERT_EQ(2, heki_store_nranges(&self->s));
	ASSERT_INVARIANTS(&self->s);
}

TEST_F(store, changed_is_the_smallest_covering_interval)
{
	/* Differences at both ends, none in the middle: cover both. */
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 100, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 10, 10, RW, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 80, 10, RW, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 15, 70, RW, &self->c));
	ASSERT_CHANGE(20, 80, self->c);
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 100, RW, &self->c));
	ASSERT_CHANGE(0, 100, self->c);
	ASSERT_EQ(1, heki_store_nranges(&self->s));
}

TEST_F(store, clear)
{
	ASSERT_EQ(0, heki_store_set(&self->s, 10, 10, RX, NULL));
	ASSERT_EQ(0, heki_store_clear(&self->s, 0, 15, &self->c));
	ASSERT_CHANGE(10, 15, self->c);
	ASSERT_EQ(NONE, attrs_at(&self->s, 14));
	ASSERT_EQ(RX, attrs_at(&self->s, 15));
	ASSERT_EQ(0, heki_store_clear(&self->s, 18, 100, &self->c));
	ASSERT_CHANGE(18, 20, self->c);
	ASSERT_EQ(3, heki_store_pages(&self->s));
	ASSERT_EQ(0, heki_store_clear(&self->s, 16, 1, &self->c));
	ASSERT_CHANGE(16, 17, self->c);
	ASSERT_EQ(2, heki_store_nranges(&self->s));
	ASSERT_EQ(RX, attrs_at(&self->s, 15));
	ASSERT_EQ(NONE, attrs_at(&self->s, 16));
	ASSERT_EQ(RX, attrs_at(&self->s, 17));
	ASSERT_INVARIANTS(&self->s);

	/* Across several ranges and gaps. */
	ASSERT_EQ(0, heki_store_set(&self->s, 100, 10, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 120, 10, RW, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 140, 10, RX, NULL));
	ASSERT_EQ(0, heki_store_clear(&self->s, 105, 40, &self->c));
	ASSERT_CHANGE(105, 145, self->c);
	ASSERT_EQ(4, heki_store_nranges(&self->s));
	ASSERT_EQ(RO, attrs_at(&self->s, 104));
	ASSERT_EQ(NONE, attrs_at(&self->s, 105));
	ASSERT_EQ(NONE, attrs_at(&self->s, 144));
	ASSERT_EQ(RX, attrs_at(&self->s, 145));
	ASSERT_INVARIANTS(&self->s);

	ASSERT_EQ(0, heki_store_clear(&self->s, 0, MAX_GFN, &self->c));
	ASSERT_CHANGE(15, 150, self->c);
	ASSERT_EQ(0, heki_store_nranges(&self->s));
	ASSERT_EQ(0, heki_store_pages(&self->s));
	ASSERT_INVARIANTS(&self->s);
}

TEST_F(store, any)
{
	ASSERT_EQ(0, heki_store_set(&self->s, 100, 10, RX, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 110, 10, RXI, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 200, 10, RW, NULL));

	ASSERT_TRUE(heki_store_any(&self->s, 0, 1000, HEKI_ATTR_IMMUTABLE));
	ASSERT_TRUE(heki_store_any(&self->s, 119, 1, HEKI_ATTR_IMMUTABLE));
	ASSERT_FALSE(heki_store_any(&self->s, 120, 100, HEKI_ATTR_IMMUTABLE));
	ASSERT_FALSE(heki_store_any(&self->s, 0, 110, HEKI_ATTR_IMMUTABLE));
	ASSERT_TRUE(heki_store_any(&self->s, 109, 2, HEKI_ATTR_IMMUTABLE));
	ASSERT_TRUE(heki_store_any(&self->s, 0, 101, HEKI_ATTR_EXEC));
	ASSERT_FALSE(heki_store_any(&self->s, 0, 100, HEKI_ATTR_ALL));
	ASSERT_FALSE(heki_store_any(&self->s, 120, 80, HEKI_ATTR_ALL));
	ASSERT_TRUE(heki_store_any(&self->s, 120, 81, HEKI_ATTR_WRITE));
	ASSERT_FALSE(heki_store_any(&self->s, 0, 200, HEKI_ATTR_WRITE));
	ASSERT_TRUE(heki_store_any(&self->s, 205, ~0ull, HEKI_ATTR_WRITE));
	ASSERT_FALSE(heki_store_any(&self->s, 210, ~0ull, HEKI_ATTR_ALL));
	ASSERT_FALSE(heki_store_any(&self->s, 0, 1000, 0));
	ASSERT_FALSE(heki_store_any(&self->s, 100, 0, HEKI_ATTR_ALL));
}

TEST_F(store, for_each_in_order_and_stops)
{
	struct walk w = { 0 };

	ASSERT_EQ(0, heki_store_set(&self->s, 300, 1, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 100, 1, RW, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 200, 1, RX, NULL));
	ASSERT_EQ(0, heki_store_for_each(&self->s, check_range, &w));
	ASSERT_EQ(3, w.n);
	ASSERT_EQ(301, w.prev_end);

	/* An overlapping "previous range" makes check_range stop at once. */
	w.n = 1;
	w.prev_end = ~0ull;
	ASSERT_EQ(1, heki_store_for_each(&self->s, check_range, &w));
	ASSERT_EQ(2, w.n);
}

TEST(return_codes_are_distinct_and_negative)
{
	int codes[] = { HEKI_STORE_ENOMEM, HEKI_STORE_ENOPAGES,
			HEKI_STORE_ERANGE, HEKI_STORE_EATTR,
			HEKI_STORE_ETOOMANY, HEKI_STORE_EAGAIN };
	int n = sizeof(codes) / sizeof(codes[0]);

	for (int i = 0; i < n; i++) {
		ASSERT_LT(codes[i], 0);
		for (int j = i + 1; j < n; j++) {
			ASSERT_NE(codes[i], codes[j]);
		}
	}
	ASSERT_EQ(1ull << 40, HEKI_STORE_MAX_GFN);
}

/* Every malformed request gets its own code and leaves the store alone. */
FIXTURE(validation) {
	struct heki_store s;
};

FIXTURE_VARIANT(validation) {
	bool clear;
	__u64 start, npages;
	__u32 attrs;
	int expect;
};

FIXTURE_SETUP(validation)
{
	heki_store_init(&self->s);
	ASSERT_EQ(0, heki_store_set(&self->s, 100, 100, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 300, 10, RXI, NULL));
}

FIXTURE_TEARDOWN(validation)
{
	heki_store_destroy(&self->s);
}

#define BAD_ATTR	(1u << 4)

FIXTURE_VARIANT_ADD(validation, set_zero_pages) {
	false, 150, 0, RO, HEKI_STORE_ENOPAGES };
FIXTURE_VARIANT_ADD(validation, set_zero_pages_first) {
	false, ~0ull, 0, BAD_ATTR, HEKI_STORE_ENOPAGES };
FIXTURE_VARIANT_ADD(validation, set_wraps) {
	false, ~0ull, 2, RO, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, set_wraps_to_zero) {
	false, 1, ~0ull, RO, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, set_npages_huge) {
	false, 0, MAX_GFN + 1, RO, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, set_start_at_max) {
	false, MAX_GFN, 1, RO, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, set_end_past_max) {
	false, MAX_GFN - 1, 2, RO, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, set_range_before_attrs) {
	false, MAX_GFN, 1, BAD_ATTR, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, set_attr_bit4) {
	false, 150, 1, BAD_ATTR, HEKI_STORE_EATTR };
FIXTURE_VARIANT_ADD(validation, set_attr_top_bit) {
	false, 150, 1, RO | 0x80000000u, HEKI_STORE_EATTR };
FIXTURE_VARIANT_ADD(validation, set_attr_all_ones) {
	false, 150, 1, ~0u, HEKI_STORE_EATTR };
FIXTURE_VARIANT_ADD(validation, set_all_attrs_ok) {
	false, 150, 1, HEKI_ATTR_ALL, 0 };
FIXTURE_VARIANT_ADD(validation, set_end_at_max_ok) {
	false, MAX_GFN - 1, 1, RO, 0 };
FIXTURE_VARIANT_ADD(validation, clear_zero_pages) {
	true, 150, 0, 0, HEKI_STORE_ENOPAGES };
FIXTURE_VARIANT_ADD(validation, clear_wraps) {
	true, 2, ~0ull - 1, 0, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, clear_past_max) {
	true, 0, MAX_GFN + 1, 0, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, clear_start_at_max) {
	true, MAX_GFN, 1, 0, HEKI_STORE_ERANGE };
FIXTURE_VARIANT_ADD(validation, clear_ok) {
	true, 150, 1, 0, 0 };

TEST_F(validation, checked)
{
	struct heki_store_change c = { 7, 9 };
	struct snap sn;
	int ret;

	snap_take(&sn, &self->s);
	if (variant->clear) {
		ret = heki_store_clear(&self->s, variant->start,
				       variant->npages, &c);
	} else {
		ret = heki_store_set(&self->s, variant->start, variant->npages,
				     variant->attrs, &c);
	}
	ASSERT_EQ(variant->expect, ret);
	if (ret) {
		ASSERT_NO_CHANGE(c);
		ASSERT_TRUE(snap_same(&sn, &self->s));
	} else {
		ASSERT_CHANGE(variant->start, variant->start + 1, c);
	}
	ASSERT_INVARIANTS(&self->s);
	snap_free(&sn);
}

/*
 * Fill the store to HEKI_STORE_MAX_RANGES: single frames at even gfns, all
 * RO, except the last range which is 10 frames wide.
 */
static void fill_to_cap(struct heki_store *s)
{
	for (__u64 i = 0; i < MAX_NR - 1; i++)
		heki_store_set(s, 2 * i, 1, RO, NULL);
	heki_store_set(s, 2 * (MAX_NR - 1), 10, RO, NULL);
}

TEST_F(store, range_cap_is_atomic)
{
	const __u64 wide = 2 * (MAX_NR - 1);
	struct snap sn;

	fill_to_cap(&self->s);
	ASSERT_EQ(MAX_NR, heki_store_nranges(&self->s));
	ASSERT_EQ(MAX_NR - 1 + 10, heki_store_pages(&self->s));
	ASSERT_INVARIANTS(&self->s);
	snap_take(&sn, &self->s);

	/* A new disjoint range. */
	self->c.first = 1;
	ASSERT_EQ(HEKI_STORE_ETOOMANY,
		  heki_store_set(&self->s, wide + 100, 1, RO, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_TRUE(snap_same(&sn, &self->s));
	/* Touching, but with different attrs. */
	ASSERT_EQ(HEKI_STORE_ETOOMANY,
		  heki_store_set(&self->s, 1, 1, RW, &self->c));
	ASSERT_TRUE(snap_same(&sn, &self->s));
	/* Splitting a range in the middle, by set and by clear. */
	ASSERT_EQ(HEKI_STORE_ETOOMANY,
		  heki_store_set(&self->s, wide + 5, 1, RW, &self->c));
	ASSERT_TRUE(snap_same(&sn, &self->s));
	ASSERT_EQ(HEKI_STORE_ETOOMANY,
		  heki_store_clear(&self->s, wide + 5, 1, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_TRUE(snap_same(&sn, &self->s));
	snap_free(&sn);

	/* What does not add a range still works at the cap. */
	ASSERT_EQ(0, heki_store_set(&self->s, wide, 10, RO, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(0, heki_store_set(&self->s, 0, 1, RW, &self->c));
	ASSERT_CHANGE(0, 1, self->c);
	ASSERT_EQ(0, heki_store_clear(&self->s, wide, 1, &self->c));
	ASSERT_CHANGE(wide, wide + 1, self->c);
	ASSERT_EQ(MAX_NR, heki_store_nranges(&self->s));
	/* Merging two frees a slot, which the next request can take. */
	ASSERT_EQ(0, heki_store_set(&self->s, 3, 1, RO, &self->c));
	ASSERT_CHANGE(3, 4, self->c);
	ASSERT_EQ(MAX_NR - 1, heki_store_nranges(&self->s));
	ASSERT_EQ(0, heki_store_set(&self->s, wide + 100, 1, RO, &self->c));
	ASSERT_EQ(MAX_NR, heki_store_nranges(&self->s));
	ASSERT_INVARIANTS(&self->s);

	/* Clearing everything gives the memory back. */
	ASSERT_EQ(0, heki_store_clear(&self->s, 0, MAX_GFN, &self->c));
	ASSERT_EQ(0, heki_store_nranges(&self->s));
	ASSERT_EQ(0, self->s.cap);
}

TEST_F(store, allocation_failure_is_atomic)
{
	struct snap sn;

	/* First allocation. */
	heki_store_fail_nth_alloc = 1;
	self->c.first = 1;
	ASSERT_EQ(HEKI_STORE_ENOMEM,
		  heki_store_set(&self->s, 10, 1, RO, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(0, heki_store_nranges(&self->s));
	ASSERT_EQ(0, heki_store_pages(&self->s));
	ASSERT_EQ(0, heki_store_set(&self->s, 10, 1, RO, &self->c));
	ASSERT_CHANGE(10, 11, self->c);

	/* Growing a full array: by set, and by a clear that splits. */
	for (__u64 g = 20; heki_store_nranges(&self->s) < self->s.cap;
	     g += 2) {
		ASSERT_EQ(0, heki_store_set(&self->s, g, 1, RO, NULL));
	}
	ASSERT_EQ(0, heki_store_set(&self->s, 10, 5, RO, NULL));
	snap_take(&sn, &self->s);
	heki_store_fail_nth_alloc = 1;
	ASSERT_EQ(HEKI_STORE_ENOMEM,
		  heki_store_set(&self->s, 1000, 1, RW, &self->c));
	ASSERT_TRUE(snap_same(&sn, &self->s));
	heki_store_fail_nth_alloc = 1;
	ASSERT_EQ(HEKI_STORE_ENOMEM,
		  heki_store_clear(&self->s, 12, 1, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_TRUE(snap_same(&sn, &self->s));
	snap_free(&sn);

	/* A change that needs no allocation goes through regardless. */
	heki_store_fail_nth_alloc = 1;
	ASSERT_EQ(0, heki_store_set(&self->s, 10, 5, RW, &self->c));
	ASSERT_CHANGE(10, 15, self->c);
	heki_store_fail_nth_alloc = 0;
	ASSERT_EQ(0, heki_store_clear(&self->s, 12, 1, &self->c));
	ASSERT_EQ(RW, attrs_at(&self->s, 11));
	ASSERT_EQ(NONE, attrs_at(&self->s, 12));
	ASSERT_INVARIANTS(&self->s);
}

TEST_F(store, shrinks_best_effort)
{
	/* 64 ranges: the array has grown to 64 slots. */
	for (__u64 i = 0; i < 64; i++) {
		ASSERT_EQ(0, heki_store_set(&self->s, 2 * i, 1, RO, NULL));
	}
	ASSERT_EQ(64, self->s.cap);

	/* Shrinking cannot get memory: not an error, keep the array. */
	heki_store_fail_nth_alloc = 1;
	ASSERT_EQ(0, heki_store_clear(&self->s, 0, 96, &self->c));
	ASSERT_CHANGE(0, 95, self->c);
	ASSERT_EQ(16, heki_store_nranges(&self->s));
	ASSERT_EQ(64, self->s.cap);
	ASSERT_INVARIANTS(&self->s);

	/* Next time it can. */
	ASSERT_EQ(0, heki_store_clear(&self->s, 96, 1, &self->c));
	ASSERT_EQ(15, heki_store_nranges(&self->s));
	ASSERT_EQ(32, self->s.cap);
	ASSERT_EQ(RO, attrs_at(&self->s, 98));
	ASSERT_EQ(RO, attrs_at(&self->s, 126));
	ASSERT_INVARIANTS(&self->s);
}

/* ---------------------------------------------------------------------- */

/*
 * Randomized model check: random set/clear over a small window of gfns,
 * compared after every step with a plain per-frame array.
 */
#define UNIVERSE 512

FIXTURE(model) {
	struct heki_store s;
	__u32 ref[UNIVERSE];	/* attrs per frame, NONE if unprotected */
	__u64 rng;
};

FIXTURE_VARIANT(model) {
	__u64 seed;
	__u64 base;		/* gfn of ref[0] */
	int nattrs;		/* attrs drawn from the first nattrs below */
	int steps;
};

static const __u32 palette[] = { RO, RX, 0, RW, RXI, HEKI_ATTR_ALL };

FIXTURE_VARIANT_ADD(model, few_attrs) {
	.seed = 0x5eed0001, .base = 0, .nattrs = 2, .steps = 6000 };
FIXTURE_VARIANT_ADD(model, many_attrs) {
	.seed = 0x5eed0002, .base = 1000, .nattrs = 6, .steps = 6000 };
FIXTURE_VARIANT_ADD(model, top_of_space) {
	.seed = 0x5eed0003, .base = MAX_GFN - UNIVERSE, .nattrs = 3,
	.steps = 6000 };

FIXTURE_SETUP(model)
{
	heki_store_init(&self->s);
	for (int i = 0; i < UNIVERSE; i++)
		self->ref[i] = NONE;
	self->rng = variant->seed;
}

FIXTURE_TEARDOWN(model)
{
	heki_store_destroy(&self->s);
}

/* xorshift64*: fixed sequence whatever the libc. */
static __u64 rnd(__u64 *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

static size_t ref_nranges(const __u32 *ref)
{
	size_t n = 0;

	for (int i = 0; i < UNIVERSE; i++) {
		if (ref[i] != NONE && (i == 0 || ref[i - 1] != ref[i]))
			n++;
	}
	return n;
}

/* What heki_store_weakens() answers, frame by frame. */
static bool ref_weakens(const __u32 *ref, __u64 start, __u64 npages,
			bool release, __u32 attrs)
{
	const __u32 perms = HEKI_ATTR_WRITE | HEKI_ATTR_EXEC;

	for (__u64 g = start; g < start + npages; g++) {
		if (ref[g] == NONE || !(ref[g] & HEKI_ATTR_IMMUTABLE))
			continue;
		if (release || !(attrs & HEKI_ATTR_IMMUTABLE) ||
		    (attrs & ~ref[g] & perms))
			return true;
	}
	return false;
}

/*
 * Every interval query on a random window, against the per-frame array:
 * any, any_lacking (masks with a bit no range can have too), weakens and
 * changes.  A stale summary leaf or node shows up here.
 */
static void check_queries(struct __test_metadata *_metadata,
			  const struct heki_store *s, const __u32 *ref,
			  __u64 base, __u64 *rng, int step)
{
	__u64 r = rnd(rng);
	__u64 start = r % UNIVERSE;
	/* Mostly short windows (a 2 MiB region's worth), sometimes long. */
	__u64 room = UNIVERSE - start;
	__u64 npages = 1 + (r >> 16) % ((r >> 60) ? (room < 8 ? room : 8) : room);
	__u32 mask = (r >> 32) & 0x1f;
	__u32 attrs = (r >> 40) & HEKI_ATTR_ALL;
	bool release = (r >> 44) & 1, clear = (r >> 45) & 1;
	bool any = false, lacking = false, changes = false;

	for (__u64 g = start; g < start + npages; g++) {
		if (ref[g] != NONE && (ref[g] & mask))
			any = true;
		if (ref[g] != NONE && mask && (ref[g] & mask) != mask)
			lacking = true;
		if (clear ? ref[g] != NONE : ref[g] != attrs)
			changes = true;
	}
	ASSERT_EQ(any, heki_store_any(s, base + start, npages, mask))
		TH_LOG("step %d: any [%llu, +%llu) mask %#x", step, start, npages, mask);
	ASSERT_EQ(lacking, heki_store_any_lacking(s, base + start, npages, mask))
		TH_LOG("step %d: any_lacking [%llu, +%llu) mask %#x", step, start,
		       npages, mask);
	ASSERT_EQ(ref_weakens(ref, start, npages, release, attrs),
		  heki_store_weakens(s, base + start, npages, release, attrs))
		TH_LOG("step %d: weakens [%llu, +%llu)", step, start, npages);
	ASSERT_EQ(changes, heki_store_changes(s, base + start, npages, clear,
					      attrs))
		TH_LOG("step %d: changes [%llu, +%llu) clear %d attrs %#x", step,
		       start, npages, clear, attrs);
}

TEST_F(model, random_ops)
{
	const __u64 base = variant->base;
	__u32 before[UNIVERSE];

	for (int step = 0; step < variant->steps; step++) {
		__u64 r = rnd(&self->rng);
		bool clear = r % 3 == 0;
		/* Every fourth request tries in place first, as the host does. */
		bool inplace = (r >> 4) % 4 == 0;
		__u64 start = (r >> 8) % UNIVERSE;
		__u64 room = UNIVERSE - start;
		/* Mostly short requests, sometimes long ones. */
		__u64 maxlen = (r >> 20) % 4 ? 16 : room;
		__u64 npages = 1 + (r >> 24) % (maxlen < room ? maxlen : room);
		__u32 attrs = palette[(r >> 40) % variant->nattrs];
		__u32 want = clear ? NONE : attrs;
		__u64 first = 0, last = 0, pages = 0;
		size_t nr_before = ref_nranges(self->ref);
		bool any = false;
		struct heki_store_change c;
		int ret;

		memcpy(before, self->ref, sizeof(before));
		for (__u64 g = start; g < start + npages; g++) {
			if (self->ref[g] != want) {
				if (!any)
					first = base + g;
				last = base + g + 1;
				any = true;
			}
			self->ref[g] = want;
		}

		ret = HEKI_STORE_EAGAIN;
		if (inplace) {
			ret = heki_store_update_inplace(&self->s, base + start,
							npages, clear, attrs, &c);
			/* In place exactly when the count of ranges stays. */
			if (any && ref_nranges(self->ref) != nr_before) {
				ASSERT_EQ(HEKI_STORE_EAGAIN, ret)
					TH_LOG("step %d", step);
				ASSERT_NO_CHANGE(c);
				for (int g = 0; g < UNIVERSE; g++) {
					ASSERT_EQ(before[g],
						  attrs_at(&self->s, base + g))
						TH_LOG("step %d: EAGAIN touched gfn %d",
						       step, g);
				}
				ASSERT_EQ(nr_before, heki_store_nranges(&self->s));
			} else {
				ASSERT_EQ(0, ret) TH_LOG("step %d", step);
			}
		}
		if (ret == HEKI_STORE_EAGAIN && clear)
			ret = heki_store_clear(&self->s, base + start, npages,
					       &c);
		else if (ret == HEKI_STORE_EAGAIN)
			ret = heki_store_set(&self->s, base + start, npages,
					     attrs, &c);
		ASSERT_EQ(0, ret) TH_LOG("step %d", step);
		ASSERT_EQ(first, c.first) TH_LOG("step %d", step);
		ASSERT_EQ(last, c.last_excl) TH_LOG("step %d", step);

		for (int g = 0; g < UNIVERSE; g++) {
			ASSERT_EQ(self->ref[g], attrs_at(&self->s, base + g))
				TH_LOG("step %d gfn %d", step, g);
			if (self->ref[g] != NONE)
				pages++;
		}
		if (base) {
			ASSERT_EQ(NONE, attrs_at(&self->s, base - 1));
		}
		ASSERT_EQ(NONE, attrs_at(&self->s, base + UNIVERSE));
		ASSERT_EQ(pages, heki_store_pages(&self->s));
		ASSERT_EQ(ref_nranges(self->ref), heki_store_nranges(&self->s))
			TH_LOG("step %d: not minimal", step);
		ASSERT_INVARIANTS(&self->s);

		for (int q = 0; q < 4; q++)
			check_queries(_metadata, &self->s, self->ref, base,
				      &self->rng, step);
	}
}

/*
 * heki_store_weakens_over() against a per-frame overlay: random base and
 * overlay stores (attrs 0 in the overlay stands for a released frame).
 */
TEST(weakens_over_model)
{
	__u32 base[UNIVERSE], over[UNIVERSE], seen[UNIVERSE];
	const __u32 pal[] = { RX, RXI, HEKI_ATTR_IMMUTABLE,
			      HEKI_ATTR_ALL, 0, RW };
	struct heki_store b, o;
	__u64 rng = 0x5eed0004;

	for (int round = 0; round < 60; round++) {
		heki_store_init(&b);
		heki_store_init(&o);
		for (int g = 0; g < UNIVERSE; g++)
			base[g] = over[g] = NONE;
		for (int i = 0; i < 40; i++) {
			__u64 r = rnd(&rng);
			bool to_over = r & 1;
			__u64 start = (r >> 8) % UNIVERSE;
			__u64 n = 1 + (r >> 20) % (to_over ? 12 : 40);
			__u32 a = pal[(r >> 40) % 6];

			if (start + n > UNIVERSE)
				n = UNIVERSE - start;
			ASSERT_EQ(0, heki_store_set(to_over ? &o : &b, start, n,
						    a, NULL));
			for (__u64 g = start; g < start + n; g++)
				(to_over ? over : base)[g] = a;
		}
		for (int g = 0; g < UNIVERSE; g++)
			seen[g] = over[g] != NONE ? over[g] : base[g];
		for (int q = 0; q < 200; q++) {
			__u64 r = rnd(&rng);
			__u64 start = r % UNIVERSE;
			__u64 n = 1 + (r >> 16) % (UNIVERSE - start);
			__u32 attrs = (r >> 40) & HEKI_ATTR_ALL;
			bool release = (r >> 44) & 1;

			ASSERT_EQ(ref_weakens(seen, start, n, release, attrs),
				  heki_store_weakens_over(&b, &o, start, n,
							  release, attrs))
				TH_LOG("round %d: [%llu, +%llu) release %d attrs %#x",
				       round, start, n, release, attrs);
		}
		/* An empty overlay leaves the base to judge everything. */
		heki_store_destroy(&o);
		ASSERT_EQ(heki_store_weakens(&b, 0, UNIVERSE, false, RW),
			  heki_store_weakens_over(&b, &o, 0, UNIVERSE, false, RW));
		heki_store_destroy(&b);
	}
}

TEST(clone_is_independent)
{
	struct heki_store a, b;
	__u32 attrs;

	heki_store_init(&a);
	ASSERT_EQ(0, heki_store_clone(&b, &a));
	ASSERT_EQ(0, heki_store_nranges(&b));
	heki_store_destroy(&b);
	ASSERT_EQ(0, heki_store_set(&a, 10, 5, HEKI_ATTR_RO, NULL));
	ASSERT_EQ(0, heki_store_set(&a, 100, 1, HEKI_ATTR_EXEC, NULL));
	ASSERT_EQ(0, heki_store_clone(&b, &a));
	ASSERT_EQ(heki_store_nranges(&a), heki_store_nranges(&b));
	ASSERT_EQ(heki_store_pages(&a), heki_store_pages(&b));
	ASSERT_EQ(0, heki_store_clear(&b, 10, 5, NULL));
	ASSERT_TRUE(heki_store_lookup(&a, 12, &attrs));
	ASSERT_EQ(HEKI_ATTR_RO, attrs);
	ASSERT_FALSE(heki_store_lookup(&b, 12, NULL));
	ASSERT_TRUE(heki_store_lookup(&b, 100, NULL));
	/* The clone's interval queries see its own ranges, not a's. */
	ASSERT_FALSE(heki_store_any_lacking(&b, 0, 100, HEKI_ATTR_WRITE));
	ASSERT_TRUE(heki_store_any_lacking(&a, 0, 100, HEKI_ATTR_WRITE));
	ASSERT_TRUE(heki_store_any(&b, 0, 1000, HEKI_ATTR_EXEC));
	ASSERT_INVARIANTS(&a);
	ASSERT_INVARIANTS(&b);
	heki_store_destroy(&a);
	heki_store_destroy(&b);
	/* A clone of a big store keeps every summary (grown several times). */
	heki_store_init(&a);
	for (__u64 g = 0; g < 3000; g += 2) {
		ASSERT_EQ(0, heki_store_set(&a, g, 1, g % 6 ? HEKI_ATTR_ALL : RO,
					    NULL));
	}
	ASSERT_EQ(0, heki_store_clone(&b, &a));
	ASSERT_INVARIANTS(&b);
	ASSERT_TRUE(heki_store_any_lacking(&b, 0, 3000, HEKI_ATTR_WRITE));
	ASSERT_FALSE(heki_store_any_lacking(&b, 1, 5, HEKI_ATTR_WRITE));
	heki_store_destroy(&a);
	heki_store_destroy(&b);
}

TEST(any_lacking_finds_restricted_frames)
{
	struct heki_store s;
	__u32 rwx = HEKI_ATTR_WRITE | HEKI_ATTR_EXEC;

	heki_store_init(&s);
	ASSERT_FALSE(heki_store_any_lacking(&s, 0, 1024, rwx));
	ASSERT_EQ(0, heki_store_set(&s, 600, 1, HEKI_ATTR_RO, NULL));
	ASSERT_EQ(0, heki_store_set(&s, 700, 10, HEKI_ATTR_ALL, NULL));
	/* The 2 MiB region (512 frames) holding 600 has a restricted frame. */
	ASSERT_TRUE(heki_store_any_lacking(&s, 512, 512, rwx));
	ASSERT_FALSE(heki_store_any_lacking(&s, 0, 512, rwx));
	ASSERT_FALSE(heki_store_any_lacking(&s, 601, 200, rwx));	/* 700.. grants all */
	ASSERT_TRUE(heki_store_any_lacking(&s, 600, 1, HEKI_ATTR_WRITE));
	ASSERT_FALSE(heki_store_any_lacking(&s, 600, 1, HEKI_ATTR_RO));
	ASSERT_FALSE(heki_store_any_lacking(&s, 600, 0, rwx));
	ASSERT_FALSE(heki_store_any_lacking(&s, 600, 1, 0));
	/* attrs == 0 lacks everything: still restricted. */
	ASSERT_EQ(0, heki_store_set(&s, 2000, 1, 0, NULL));
	ASSERT_TRUE(heki_store_any_lacking(&s, 1536, 512, rwx));
	heki_store_destroy(&s);
}

/*
 * In place: what keeps the number of ranges is made without moving or
 * allocating anything; everything else is EAGAIN and leaves the store be.
 */
TEST_F(store, update_in_place)
{
	struct snap sn;

	ASSERT_EQ(0, heki_store_set(&self->s, 10, 5, RO, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 20, 5, RX, NULL));
	ASSERT_EQ(0, heki_store_set(&self->s, 25, 5, RO, NULL));

	/* New attrs for a whole isolated range: no allocation needed. */
	heki_store_fail_nth_alloc = 1;
	ASSERT_EQ(0, heki_store_update_inplace(&self->s, 10, 5, false, RXI,
					       &self->c));
	ASSERT_CHANGE(10, 15, self->c);
	ASSERT_EQ(RXI, attrs_at(&self->s, 12));
	ASSERT_EQ(3, heki_store_nranges(&self->s));
	ASSERT_TRUE(heki_store_any(&self->s, 0, 16, HEKI_ATTR_IMMUTABLE));
	/* Grown at an edge, shrunk at an edge (by set and by clear). */
	ASSERT_EQ(0, heki_store_update_inplace(&self->s, 15, 2, false, RXI,
					       &self->c));
	ASSERT_CHANGE(15, 17, self->c);
	ASSERT_EQ(0, heki_store_update_inplace(&self->s, 10, 1, true, 0,
					       &self->c));
	ASSERT_CHANGE(10, 11, self->c);
	ASSERT_EQ(NONE, attrs_at(&self->s, 10));
	/* Moves the border between two touching ranges. */
	ASSERT_EQ(0, heki_store_update_inplace(&self->s, 23, 2, false, RO,
					       &self->c));
	ASSERT_CHANGE(23, 25, self->c);
	ASSERT_EQ(RX, attrs_at(&self->s, 22));
	ASSERT_EQ(RO, attrs_at(&self->s, 23));
	ASSERT_EQ(3, heki_store_nranges(&self->s));
	/* A no-op is done, and changes nothing. */
	ASSERT_EQ(0, heki_store_update_inplace(&self->s, 26, 2, false, RO,
					       &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_INVARIANTS(&self->s);

	/* Splitting, merging, adding, removing: not in place. */
	snap_take(&sn, &self->s);
	ASSERT_EQ(HEKI_STORE_EAGAIN,
		  heki_store_update_inplace(&self->s, 12, 1, false, RO, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_EQ(HEKI_STORE_EAGAIN,
		  heki_store_update_inplace(&self->s, 20, 3, false, RO, &self->c));
	ASSERT_EQ(HEKI_STORE_EAGAIN,
		  heki_store_update_inplace(&self->s, 100, 1, false, RO, &self->c));
	ASSERT_EQ(HEKI_STORE_EAGAIN,
		  heki_store_update_inplace(&self->s, 11, 6, true, 0, &self->c));
	ASSERT_EQ(HEKI_STORE_EAGAIN,
		  heki_store_update_inplace(&self->s, 0, 1000, false, RW, &self->c));
	ASSERT_NO_CHANGE(self->c);
	ASSERT_TRUE(snap_same(&sn, &self->s));
	snap_free(&sn);
	/* Arguments are checked first, as by set and clear. */
	ASSERT_EQ(HEKI_STORE_ENOPAGES,
		  heki_store_update_inplace(&self->s, 12, 0, false, RO, NULL));
	ASSERT_EQ(HEKI_STORE_EATTR,
		  heki_store_update_inplace(&self->s, 12, 1, false, 1u << 4, NULL));
	heki_store_fail_nth_alloc = 0;
}

/* ---------------------------------------------------------------------- */

/*
 * The fault path's cost does not grow with fragmentation: on a store at its
 * 65,536-range cap, every query is O(log n) in steps (binary search probes,
 * summary tree levels; every loop of the query code counts one per turn).
 * The store is the worst case for a scan over the ranges overlapped:
 * single frames with gaps, none lacking anything, all in one 1 GiB region,
 * so "does any frame of this 1 GiB region lack W or X" must look at every
 * range unless the summary answers it.
 */
#define STEP_BOUND(n)	(3 * (ilog2_ceil(n) + 2))

static unsigned int ilog2_ceil(size_t n)
{
	unsigned int l = 0;

	while (((size_t)1 << l) < n)
		l++;
	return l;
}

/* Steps one call of expr takes. */
#define STEPS(expr) ({ heki_store_steps = 0; (void)(expr); heki_store_steps; })

FIXTURE(cap) {
	struct heki_store s, one;
};

FIXTURE_SETUP(cap)
{
	heki_store_init(&self->s);
	heki_store_init(&self->one);
	for (__u64 i = 0; i < MAX_NR; i++)
		ASSERT_EQ(0, heki_store_set(&self->s, 2 * i, 1, HEKI_ATTR_ALL,
					    NULL));
	ASSERT_EQ(MAX_NR, heki_store_nranges(&self->s));
	ASSERT_EQ(0, heki_store_set(&self->one, 1000, 1, HEKI_ATTR_ALL, NULL));
}

FIXTURE_TEARDOWN(cap)
{
	heki_store_destroy(&self->s);
	heki_store_destroy(&self->one);
}

TEST_F(cap, fault_path_queries_are_logarithmic)
{
	const __u32 rwx = HEKI_ATTR_WRITE | HEKI_ATTR_EXEC;
	const unsigned long bound = STEP_BOUND(MAX_NR);
	unsigned long st;
	__u32 a;

	/* The counter counts: a lookup among 65,536 ranges probes ~16. */
	st = STEPS(heki_store_lookup(&self->s, 777, &a));
	ASSERT_GE(st, 16);
	ASSERT_LE(st, bound);
	ASSERT_LE(STEPS(heki_store_lookup(&self->s, 2 * MAX_NR - 2, &a)), bound);
	ASSERT_LE(STEPS(heki_store_lookup(&self->s, 1ull << 39, &a)), bound);

	/* heki_max_mapping_level()'s questions: 2 MiB, then 1 GiB. */
	for (__u64 region = 0; region < 2 * MAX_NR; region += 512) {
		st = STEPS(heki_store_any_lacking(&self->s, region, 512, rwx));
		ASSERT_LE(st, bound) TH_LOG("2M region %llu: %lu steps", region, st);
	}
	ASSERT_FALSE(heki_store_any_lacking(&self->s, 0, 1u << 18, rwx));
	st = STEPS(heki_store_any_lacking(&self->s, 0, 1u << 18, rwx));
	ASSERT_LE(st, bound) TH_LOG("1G region: %lu steps for %d ranges", st, MAX_NR);
	ASSERT_LE(STEPS(heki_store_any_lacking(&self->s, 0, MAX_GFN, rwx)), bound);
	ASSERT_LE(STEPS(heki_store_any(&self->s, 0, MAX_GFN, HEKI_ATTR_IMMUTABLE)),
		  bound);
	/* Lockdown's question and the no-op check of a PROTECT. */
	ASSERT_LE(STEPS(heki_store_weakens(&self->s, 1, MAX_GFN - 1, true, 0)),
		  bound);
	ASSERT_LE(STEPS(heki_store_changes(&self->s, 0, MAX_GFN, false, RO)),
		  bound);
	ASSERT_LE(STEPS(heki_store_changes(&self->s, 0, 1, false, HEKI_ATTR_ALL)),
		  bound);

	/* Within a small constant of the one-range store's steps. */
	st = STEPS(heki_store_any_lacking(&self->one, 0, 1u << 18, rwx));
	ASSERT_LE(STEPS(heki_store_any_lacking(&self->s, 0, 1u << 18, rwx)),
		  st + bound);

	/* A restricted frame in the middle is found, in as few steps. */
	ASSERT_EQ(0, heki_store_update_inplace(&self->s, 2 * 40000, 1, false,
					       RO, NULL));
	ASSERT_TRUE(heki_store_any_lacking(&self->s, 0, 1u << 18, rwx));
	ASSERT_LE(STEPS(heki_store_any_lacking(&self->s, 0, 1u << 18, rwx)), bound);
	ASSERT_FALSE(heki_store_any_lacking(&self->s, 2 * 40000 + 1, 1u << 17, rwx));
	ASSERT_TRUE(heki_store_any_lacking(&self->s, 2 * 40000, 1, rwx));
}

TEST_F(cap, in_place_update_is_logarithmic)
{
	const unsigned long bound = STEP_BOUND(MAX_NR);
	struct heki_store over;
	unsigned long st;

	/* A flip of an isolated frame, at the cap, no allocation. */
	heki_store_fail_nth_alloc = 1;
	st = STEPS(heki_store_update_inplace(&self->s, 2 * 12345, 1, false,
					     RXI, NULL));
	ASSERT_LE(st, 2 * bound);
	ASSERT_EQ(RXI, attrs_at(&self->s, 2 * 12345));
	ASSERT_TRUE(heki_store_any(&self->s, 0, MAX_GFN, HEKI_ATTR_IMMUTABLE));
	/* What cannot be done in place is refused as cheaply. */
	ASSERT_LE(STEPS(heki_store_update_inplace(&self->s, 0, MAX_GFN, false,
						  RO, NULL)), 2 * bound);
	ASSERT_LE(STEPS(heki_store_update_inplace(&self->s, 1, 1, false, RO,
						  NULL)), 2 * bound);
	heki_store_fail_nth_alloc = 0;
	ASSERT_EQ(MAX_NR, heki_store_nranges(&self->s));

	/* A batch's overlay of a few ranges over the full store. */
	heki_store_init(&over);
	for (__u64 g = 100; g < 100 + 2 * 128; g += 2)
		ASSERT_EQ(0, heki_store_set(&over, g, 1, RO, NULL));
	st = STEPS(heki_store_weakens_over(&self->s, &over, 0, MAX_GFN, false,
					   HEKI_ATTR_ALL));
	ASSERT_LE(st, 130 * bound) TH_LOG("%lu steps", st);
	ASSERT_TRUE(heki_store_weakens_over(&self->s, &over, 0, MAX_GFN, false,
					    RW));
	heki_store_destroy(&over);
	ASSERT_INVARIANTS(&self->s);
}

/* What lockdown refuses: any change that gives an immutable frame more. */
TEST(weakening_an_immutable_frame)
{
	const __u32 R = HEKI_ATTR_RO, W = HEKI_ATTR_WRITE, X = HEKI_ATTR_EXEC;
	const __u32 I = HEKI_ATTR_IMMUTABLE;
	struct heki_store s;

	heki_store_init(&s);
	ASSERT_EQ(0, heki_store_set(&s, 100, 10, R | X | I, NULL));	/* text */
	ASSERT_EQ(0, heki_store_set(&s, 200, 10, R | I, NULL));		/* rodata */
	ASSERT_EQ(0, heki_store_set(&s, 300, 10, R, NULL));		/* not immutable */

	/* Unprotecting, adding W or X, dropping IMMUTABLE: weakening. */
	ASSERT_TRUE(heki_store_weakens(&s, 100, 10, true, 0));
	ASSERT_TRUE(heki_store_weakens(&s, 105, 1, false, R | W | X | I));
	ASSERT_TRUE(heki_store_weakens(&s, 100, 1, false, R | X));
	ASSERT_TRUE(heki_store_weakens(&s, 200, 1, false, R | X | I));
	/* Any overlap counts: a range starting before or ending after. */
	ASSERT_TRUE(heki_store_weakens(&s, 0, 101, false, R | W | I));
	ASSERT_TRUE(heki_store_weakens(&s, 209, 50, true, 0));
	/* A wrapping range covers everything above its start. */
	ASSERT_TRUE(heki_store_weakens(&s, 150, ~0ull, true, 0));
	/* Same or fewer rights, IMMUTABLE kept: not weakening. */
	ASSERT_FALSE(heki_store_weakens(&s, 100, 10, false, R | X | I));
	ASSERT_FALSE(heki_store_weakens(&s, 100, 10, false, X | I));
	ASSERT_FALSE(heki_store_weakens(&s, 200, 10, false, I));
	/* Frames that are not immutable, or not protected, are free. */
	ASSERT_FALSE(heki_store_weakens(&s, 300, 10, true, 0));
	ASSERT_FALSE(heki_store_weakens(&s, 300, 10, false, R | W | X));
	ASSERT_FALSE(heki_store_weakens(&s, 110, 90, true, 0));
	ASSERT_FALSE(heki_store_weakens(&s, 100, 0, true, 0));
	heki_store_destroy(&s);
}

TEST_HARNESS_MAIN
