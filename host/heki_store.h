/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-VM Heki permission store: the attributes a guest asked the host to
 * enforce, per guest frame (gfn = gpa >> 12).
 *
 * Guests protect memory in ranges (all of kernel text is one request), so
 * the store is a sorted array of disjoint half-open gfn ranges [start, end),
 * each carrying one set of HEKI_ATTR_* bits.  Neighbours that touch and have
 * equal attributes are merged after every change, so the array is always the
 * minimal description of the state and a lookup is one binary search.  A
 * summary tree over the array (heki_store.c) answers the questions about a
 * whole gfn interval (heki_store_any(), _any_lacking(), _weakens()) in
 * O(log n) too, however many ranges the interval overlaps: they run on
 * every second-stage fault, and a guest chooses how fragmented its store is.
 *
 * A frame not covered by any range is "unprotected": lookups report it as
 * not found and the host applies no Heki policy to it.  A range with
 * attrs == 0 is a different state: the frame is tracked and grants nothing.
 *
 * Pure C: the same file is linked into kvm.ko and into the native unit tests
 * (tests/unit/test_heki_store.c).
 *
 * Locking: none inside.  The caller serialises every call that modifies a
 * store (set, clear, update_inplace, destroy) with the VM's lock held for
 * writing; lookups, heki_store_any() and walks may run concurrently with
 * each other under a read lock, but never with a modification (the array
 * may be moved).
 *
 * Cost, n ranges: lookup, any, any_lacking, weakens, changes and
 * update_inplace O(log n); set and clear O(log n + ranges replaced) when
 * nothing changes, else O(n) (the array moves); clone O(n).
 */
#ifndef HEKI_STORE_H
#define HEKI_STORE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#endif

#include "heki_abi.h"

/*
 * Frames at or above this gfn cannot be protected: 2^40 frames of 4 KiB is
 * the 52-bit physical address space of x86-64.  A range may end exactly at
 * HEKI_STORE_MAX_GFN.
 */
#define HEKI_STORE_MAX_GFN	(1ull << 40)

/*
 * Upper bound on the number of ranges in one store.  Every request can add
 * at most two ranges, so without a cap a hostile guest alternating attrs
 * frame by frame could make the host allocate memory without bound.  At 28
 * bytes a range (24 for the range, 4 for its summary tree nodes), the cap
 * keeps one VM's store at 1.75 MiB at most.
 */
#define HEKI_STORE_MAX_RANGES	65536

/*
 * Store-local return codes.  They are NOT errno values and not the ABI's
 * HEKI_E* codes: the host maps them to HEKI_E* before answering a guest.
 * Arguments are checked in this order, and the first problem wins:
 * ENOPAGES, ERANGE, EATTR; then ETOOMANY and ENOMEM while applying (EAGAIN
 * only from heki_store_update_inplace()).
 */
#define HEKI_STORE_ENOMEM	(-1)	/* allocation failed */
#define HEKI_STORE_ENOPAGES	(-2)	/* npages == 0 */
#define HEKI_STORE_ERANGE	(-3)	/* start + npages wraps or > MAX_GFN */
#define HEKI_STORE_EATTR	(-4)	/* attrs bits outside HEKI_ATTR_ALL */
#define HEKI_STORE_ETOOMANY	(-5)	/* would exceed HEKI_STORE_MAX_RANGES */
#define HEKI_STORE_EAGAIN	(-6)	/* cannot be done in place */

struct heki_store_range {
	__u64 start;		/* first gfn */
	__u64 end;		/* one past the last gfn (exclusive) */
	__u32 attrs;		/* HEKI_ATTR_* */
};

/* Treat as opaque outside heki_store.c; use the accessors below. */
struct heki_store {
	/* sorted, disjoint, minimal; the summary tree follows the cap slots */
	struct heki_store_range *ranges;
	size_t nr;				/* ranges in use */
	size_t cap;				/* ranges allocated */
	__u64 pages;				/* sum of (end - start) */
};

/*
 * What a set or clear actually changed: the smallest gfn interval
 * [first, last_excl) containing every frame whose state (unprotected, or its
 * attrs) differs from before.  Frames inside it may be unchanged when the
 * differences are not contiguous.  Empty (first == last_excl == 0) when
 * nothing changed or the call failed, so the caller can skip the TLB/SPTE
 * work entirely.
 */
struct heki_store_change {
	__u64 first;
	__u64 last_excl;
};

static inline bool heki_store_change_empty(const struct heki_store_change *c)
{
	return c->first >= c->last_excl;
}

void heki_store_init(struct heki_store *s);
void heki_store_destroy(struct heki_store *s);

/*
 * Give every frame of [start_gfn, start_gfn + npages) exactly @attrs,
 * whatever it had before (protected or not).  Returns 0 or a negative
 * HEKI_STORE_E* code; on error the store is unchanged.  @changed may be NULL.
 */
int heki_store_set(struct heki_store *s, __u64 start_gfn, __u64 npages,
		   __u32 attrs, struct heki_store_change *changed);

/*
 * Make every frame of [start_gfn, start_gfn + npages) unprotected.  Same
 * return codes (never EATTR) and @changed semantics as heki_store_set().
 * Clearing can split a range in two, so it can fail with ETOOMANY or ENOMEM.
 */
int heki_store_clear(struct heki_store *s, __u64 start_gfn, __u64 npages,
		     struct heki_store_change *changed);

/*
 * heki_store_set() (or, with @clear, heki_store_clear()) when the change
 * keeps the number of ranges, so that nothing moves and nothing is
 * allocated: e.g. new attrs for one whole range whose neighbours differ
 * from both, or a range grown or shrunk at an edge.  O(log n), so the host
 * makes it in place under its spinlock.  HEKI_STORE_EAGAIN, with the store
 * untouched and @changed empty, for any other change (a no-op is not
 * one: it returns 0).  Otherwise as heki_store_set()/_clear().
 */
int heki_store_update_inplace(struct heki_store *s, __u64 start_gfn,
			      __u64 npages, bool clear, __u32 attrs,
			      struct heki_store_change *changed);

/*
 * Whether heki_store_set() (heki_store_clear() with @clear) of these
 * arguments would change anything.  O(log n).  True for arguments the call
 * would refuse, so that a caller skipping no-ops still gets the error.
 */
bool heki_store_changes(const struct heki_store *s, __u64 start_gfn,
			__u64 npages, bool clear, __u32 attrs);

/*
 * True and *@attrs (if not NULL) set when @gfn is protected; false when it
 * is not.  O(log n).
 */
bool heki_store_lookup(const struct heki_store *s, __u64 gfn, __u32 *attrs);

/*
 * True if any protected frame of [start_gfn, start_gfn + npages) has any of
 * the @mask bits.  A range that wraps is treated as ending at 2^64; npages
 * == 0 or mask == 0 gives false.  O(log n), however many ranges overlap.
 */
bool heki_store_any(const struct heki_store *s, __u64 start_gfn, __u64 npages,
		    __u32 mask);

/*
 * Makes dst (uninitialised) an independent copy of src.  The host changes a
 * copy and swaps it in, so that readers under a spinlock never meet an
 * allocation.  Returns 0 or HEKI_STORE_ENOMEM (dst is then empty).
 */
int heki_store_clone(struct heki_store *dst, const struct heki_store *src);

/*
 * True if any protected frame of [start_gfn, start_gfn + npages) lacks any
 * of the @mask bits (the host asks "is anything here not writable or not
 * executable").  Same range rules and cost as heki_store_any().
 */
bool heki_store_any_lacking(const struct heki_store *s, __u64 start_gfn,
			    __u64 npages, __u32 mask);

/*
 * True if giving every frame of [start_gfn, start_gfn + npages) @attrs (or
 * unprotecting them, when @release) would weaken an IMMUTABLE frame: grant
 * it READ, WRITE or EXEC it lacks, or drop IMMUTABLE.  After lockdown the
 * host refuses such requests.  Same range rules and cost as
 * heki_store_any().
 */
bool heki_store_weakens(const struct heki_store *s, __u64 start_gfn,
			__u64 npages, bool release, __u32 attrs);

/*
 * heki_store_weakens() judged against @base overlaid with @over: frames
 * @over covers have @over's attrs (attrs 0 stands for a frame released
 * there: not immutable), the others @base's.  The host judges each entry
 * of a batch this way against the live store overlaid with the entries
 * before it, without copying the store.  O(m log n) for @over's m ranges
 * inside the interval.
 */
bool heki_store_weakens_over(const struct heki_store *base,
			     const struct heki_store *over, __u64 start_gfn,
			     __u64 npages, bool release, __u32 attrs);

/* Number of protected frames. */
__u64 heki_store_pages(const struct heki_store *s);

/* Number of ranges in the (minimal) array. */
size_t heki_store_nranges(const struct heki_store *s);

/*
 * Call @cb on every range in ascending gfn order.  A non-zero return from
 * @cb stops the walk and is returned; otherwise returns 0.  @cb must not
 * modify the store.
 */
typedef int (*heki_store_cb_t)(__u64 start_gfn, __u64 end_gfn, __u32 attrs,
			       void *ctx);
int heki_store_for_each(const struct heki_store *s, heki_store_cb_t cb,
			void *ctx);

#ifndef __KERNEL__
/*
 * Userspace test hook: when non-zero, the allocation made when this counts
 * down to zero fails (1 = the next one).  Lets the unit tests check that an
 * allocation failure leaves the store unchanged.
 */
extern unsigned int heki_store_fail_nth_alloc;

/*
 * Userspace test hook: counts the steps the queries take (binary search
 * probes, summary tree levels, overlay gaps), so tests can bound them.
 */
extern unsigned long heki_store_steps;
#endif

#endif /* HEKI_STORE_H */
