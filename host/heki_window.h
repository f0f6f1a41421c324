/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-VM write windows (HEKI_HC_WINDOW_OPEN/CLOSE): how many windows are
 * open on each frame.  At most HEKI_WINDOW_MAX_FRAMES frames have one at a
 * time (text_poke holds one or two pages for microseconds), so a small
 * fixed table searched linearly beats any allocation: the fault path reads
 * it under a spinlock.
 *
 * Pure C, header only: included by kvm.ko and by the native unit tests
 * (tests/unit/test_heki_window.c).  Locking is the caller's.
 */
#ifndef HEKI_WINDOW_H
#define HEKI_WINDOW_H

#ifndef __KERNEL__
#include <linux/types.h>
#endif
#include "heki_abi.h"

struct heki_window_slot {
	__u64 gfn;
	__u32 count;		/* 0: slot free */
};

struct heki_windows {
	struct heki_window_slot slot[HEKI_WINDOW_MAX_FRAMES];
	unsigned int frames;	/* slots in use */
};

static inline struct heki_window_slot *
heki_windows_find(const struct heki_windows *w, __u64 gfn)
{
	unsigned int i;

	for (i = 0; i < HEKI_WINDOW_MAX_FRAMES; i++)
		if (w->slot[i].count && w->slot[i].gfn == gfn)
			return (struct heki_window_slot *)&w->slot[i];
	return 0;
}

/* Windows open on @gfn (0: none). */
static inline unsigned int heki_windows_count(const struct heki_windows *w,
					       __u64 gfn)
{
	const struct heki_window_slot *s;

	if (!w->frames)
		return 0;
	s = heki_windows_find(w, gfn);
	return s ? s->count : 0;
}

/*
 * Opens one window on each frame of [gfn, gfn + n), n <= 32, all or
 * nothing.  Bit i of *opened is set when frame gfn + i had none before (its
 * second-stage entries must be rebuilt writable).  Returns 0 or -HEKI_EBUSY
 * (table full, or a frame's count saturated).
 */
static inline long heki_windows_open(struct heki_windows *w, __u64 gfn,
				     unsigned int n, __u32 *opened)
{
	unsigned int i, j, fresh = 0;
	struct heki_window_slot *s;

	*opened = 0;
	for (i = 0; i < n; i++) {
		s = heki_windows_find(w, gfn + i);
		if (!s)
			fresh++;
		else if (s->count >= HEKI_WINDOW_MAX_COUNT)
			return -HEKI_EBUSY;
	}
	if (w->frames + fresh > HEKI_WINDOW_MAX_FRAMES)
		return -HEKI_EBUSY;
	for (i = 0; i < n; i++) {
		s = heki_windows_find(w, gfn + i);
		if (s) {
			s->count++;
			continue;
		}
		for (j = 0; w->slot[j].count; j++)
			;
		w->slot[j].gfn = gfn + i;
		w->slot[j].count = 1;
		w->frames++;
		*opened |= 1u << i;
	}
	return 0;
}

/*
 * Closes one window on each frame of [gfn, gfn + n), all or nothing.  Bit i
 * of *closed is set when frame gfn + i has none left (its attributes apply
 * again).  Returns 0 or -HEKI_ENOTOPEN if a frame has no window open.
 */
static inline long heki_windows_close(struct heki_windows *w, __u64 gfn,
				      unsigned int n, __u32 *closed)
{
	struct heki_window_slot *s;
	unsigned int i;

	*closed = 0;
	for (i = 0; i < n; i++)
		if (!heki_windows_find(w, gfn + i))
			return -HEKI_ENOTOPEN;
	for (i = 0; i < n; i++) {
		s = heki_windows_find(w, gfn + i);
		if (--s->count == 0) {
			w->frames--;
			*closed |= 1u << i;
		}
	}
	return 0;
}

#endif /* HEKI_WINDOW_H */
