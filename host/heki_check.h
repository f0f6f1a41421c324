/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Argument checks for Heki hypercalls.  Pure C with no kernel dependency so
 * the same code runs in kvm.ko and in the native unit tests (tests/unit/).
 * Each check returns 0 or a negative HEKI_E* code: the first problem found,
 * in a fixed order, so a guest always gets the same answer for the same call.
 */
#ifndef HEKI_CHECK_H
#define HEKI_CHECK_H

#include "heki_abi.h"

#define HEKI_PAGE_SIZE 4096ull

/* A guest buffer the host reads or writes: aligned, whole, inside one page. */
static inline long heki_check_buffer(__u64 gpa, __u64 size, __u64 want_size,
				     __u64 align)
{
	if (size != want_size)
		return -HEKI_ESIZE;
	if (gpa & (align - 1))
		return -HEKI_EALIGN;
	/* (gpa + size - 1) cannot wrap: size is a small ABI constant. */
	if ((gpa & ~(HEKI_PAGE_SIZE - 1)) !=
	    ((gpa + size - 1) & ~(HEKI_PAGE_SIZE - 1)))
		return -HEKI_EALIGN;
	return 0;
}

/* HEKI_HC_QUERY(info_gpa, sizeof(struct heki_info), 0, 0) */
static inline long heki_check_query(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (a2 || a3)
		return -HEKI_EINVAL;
	return heki_check_buffer(a0, a1, sizeof(struct heki_info), 8);
}

/*
 * HEKI_HC_PROTECT(gpa, npages, attrs, 0).  Whether the range is backed by
 * guest memory is the host's check (it needs the memslots).
 */
#define HEKI_PROTECT_MAX_PAGES (1ull << 28)	/* 1 TiB: bounds the host's work */
#define HEKI_MAX_GFN (1ull << 40)	/* 52-bit physical addresses: ranges end by here */

static inline long heki_check_protect(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (a3)
		return -HEKI_EINVAL;
	if (a0 & (HEKI_PAGE_SIZE - 1))
		return -HEKI_EALIGN;
	if (!a1 || a1 > HEKI_PROTECT_MAX_PAGES ||
	    (a0 >> 12) + a1 < (a0 >> 12) || (a0 >> 12) + a1 > HEKI_MAX_GFN)
		return -HEKI_ERANGE;
	if (a2 & ~(__u64)HEKI_ATTR_ALL)
		return -HEKI_EATTR;
	return 0;
}

/* Attributes that release a range instead of restricting it. */
static inline int heki_attrs_release(__u64 attrs)
{
	return attrs == (HEKI_ATTR_WRITE | HEKI_ATTR_EXEC);
}

/* HEKI_HC_PROTECT_BATCH(array_gpa, count, 0, 0): the array itself. */
static inline long heki_check_batch(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (a2 || a3)
		return -HEKI_EINVAL;
	if (!a1 || a1 > HEKI_BATCH_MAX)
		return -HEKI_EBATCH;
	return heki_check_buffer(a0, a1 * sizeof(struct heki_range),
				 a1 * sizeof(struct heki_range), 8);
}

/* One entry of a batch, read from guest memory. */
static inline long heki_check_range(const struct heki_range *r)
{
	if (r->reserved)
		return -HEKI_EINVAL;
	return heki_check_protect(r->gpa, r->npages, r->attrs, 0);
}

/* HEKI_HC_WINDOW_OPEN/CLOSE(gpa, npages, 0, 0) */
static inline long heki_check_window(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (a2 || a3)
		return -HEKI_EINVAL;
	if (a0 & (HEKI_PAGE_SIZE - 1))
		return -HEKI_EALIGN;
	if (!a1 || a1 > HEKI_WINDOW_MAX_PAGES)
		return -HEKI_ERANGE;
	return 0;
}

/* HEKI_HC_LOCKDOWN(flags, 0, 0, 0) */
static inline long heki_check_lockdown(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	return (a0 & ~(__u64)HEKI_LOCK_FLAGS) || a1 || a2 || a3 ? -HEKI_EINVAL : 0;
}

/* HEKI_HC_SITES(array_gpa, count, flags, 0): the array itself. */
static inline long heki_check_sites(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (a3 || (a2 & ~(__u64)HEKI_SITES_RESET))
		return -HEKI_EINVAL;
	if (a1 > HEKI_SITES_BATCH_MAX || (!a1 && !(a2 & HEKI_SITES_RESET)))
		return -HEKI_EBATCH;
	if (!a1)
		return 0;
	return heki_check_buffer(a0, a1 * sizeof(struct heki_site),
				 a1 * sizeof(struct heki_site), 8);
}

/*
 * HEKI_HC_PATCH(gva, len, bytes 0-7, bytes 8-15): the bytes beyond len
 * must be zero, so a request means one thing only.
 */
static inline long heki_check_patch(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (!a1 || a1 > HEKI_PATCH_MAX_LEN || a0 + a1 < a0)
		return -HEKI_ERANGE;
	if (a1 < 8 && (a2 >> (8 * a1)))
		return -HEKI_EINVAL;
	if (a1 <= 8 ? a3 != 0 : a1 < 16 && (a3 >> (8 * (a1 - 8))))
		return -HEKI_EINVAL;
	return 0;
}

/* HEKI_HC_VMFUNC(on, 0, 0, 0) */
static inline long heki_check_vmfunc(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	return a0 > 1 || a1 || a2 || a3 ? -HEKI_EINVAL : 0;
}

/* HEKI_HC_STATS(stats_gpa, sizeof(struct heki_stats), 0, 0) */
static inline long heki_check_stats(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (a2 || a3)
		return -HEKI_EINVAL;
	return heki_check_buffer(a0, a1, sizeof(struct heki_stats), 8);
}

/* HEKI_HC_VIEW_SWITCH(view, gva when entering the patch view, 0, 0) */
static inline long heki_check_view_switch(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (a2 || a3 || (a0 != HEKI_VIEW_NORMAL && a0 != HEKI_VIEW_PATCH))
		return -HEKI_EINVAL;
	if (a0 == HEKI_VIEW_NORMAL && a1)
		return -HEKI_EINVAL;
	return 0;
}

/* HEKI_HC_REPORT(kind, value, object, 0) */
static inline long heki_check_report(__u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (a3 || !a0 || a0 > HEKI_REPORT_LAST)
		return -HEKI_EINVAL;
	return 0;
}

/* HEKI_HC_PIN_CR(cr, bits, 0, 0); cur is the register's current value. */
static inline long heki_check_pin_cr(__u64 a0, __u64 a1, __u64 a2, __u64 a3,
				     __u64 cur)
{
	__u64 pinnable;

	if (a2 || a3)
		return -HEKI_EINVAL;
	if (a0 == 0)
		pinnable = HEKI_CR0_PINNABLE;
	else if (a0 == 4)
		pinnable = HEKI_CR4_PINNABLE;
	else
		return -HEKI_ECRNUM;
	if (!a1 || (a1 & ~pinnable))
		return -HEKI_EBITS;
	if ((cur & a1) != a1)
		return -HEKI_ENOTSET;
	return 0;
}

/*
 * Whether writing new over old clears a pinned bit.  Only bits set now
 * count: after a vCPU reset (INIT, reboot) the registers start from zero
 * and firmware and kernel must be able to boot with the bits off.
 */
static inline int heki_cr_clears_pinned(__u64 old, __u64 new, __u64 pinned)
{
	return (old & ~new & pinned) != 0;
}

#define HEKI_CR0_PG	(1ull << 31)

/*
 * Whether a CR0 write turns on (or keeps) paging without every pinned
 * bit: after INIT the vCPU restarts with paging off and CR0.WP clear, and
 * its way back into paging must bring WP along (Linux's trampoline does).
 */
static inline int heki_cr0_paging_without_pinned(__u64 new, __u64 pinned)
{
	return (new & HEKI_CR0_PG) && (new & pinned) != pinned;
}

#endif /* HEKI_CHECK_H */
