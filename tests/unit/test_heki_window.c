// SPDX-License-Identifier: GPL-2.0
/*
 * Write-window counters (host/heki_window.h), the code kvm.ko runs on
 * HEKI_HC_WINDOW_OPEN/CLOSE and on every fault of a restricted frame.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "heki_window.h"

FIXTURE(win) {
	struct heki_windows w;
};

FIXTURE_SETUP(win)
{
	memset(&self->w, 0, sizeof(self->w));
}

FIXTURE_TEARDOWN(win) {}

TEST_F(win, open_close_one_frame)
{
	__u32 flipped;

	ASSERT_EQ(0, heki_windows_count(&self->w, 10));
	ASSERT_EQ(0, heki_windows_open(&self->w, 10, 1, &flipped));
	ASSERT_EQ(1, flipped);
	ASSERT_EQ(1, heki_windows_count(&self->w, 10));
	ASSERT_EQ(0, heki_windows_count(&self->w, 11));
	ASSERT_EQ(1, self->w.frames);
	ASSERT_EQ(0, heki_windows_close(&self->w, 10, 1, &flipped));
	ASSERT_EQ(1, flipped);
	ASSERT_EQ(0, heki_windows_count(&self->w, 10));
	ASSERT_EQ(0, self->w.frames);
}

/* Nested or concurrent pokes of one page: the last close ends the window. */
TEST_F(win, nested_windows_count)
{
	__u32 flipped;

	ASSERT_EQ(0, heki_windows_open(&self->w, 7, 1, &flipped));
	ASSERT_EQ(0, heki_windows_open(&self->w, 7, 1, &flipped));
	ASSERT_EQ(0, flipped);		/* already open: nothing to rebuild */
	ASSERT_EQ(2, heki_windows_count(&self->w, 7));
	ASSERT_EQ(1, self->w.frames);
	ASSERT_EQ(0, heki_windows_close(&self->w, 7, 1, &flipped));
	ASSERT_EQ(0, flipped);		/* still open */
	ASSERT_EQ(1, heki_windows_count(&self->w, 7));
	ASSERT_EQ(0, heki_windows_close(&self->w, 7, 1, &flipped));
	ASSERT_EQ(1, flipped);
	ASSERT_EQ(-HEKI_ENOTOPEN, heki_windows_close(&self->w, 7, 1, &flipped));
}

/* A two-page poke overlapping a window already open on its second page. */
TEST_F(win, two_pages_overlapping)
{
	__u32 flipped;

	ASSERT_EQ(0, heki_windows_open(&self->w, 21, 1, &flipped));
	ASSERT_EQ(0, heki_windows_open(&self->w, 20, 2, &flipped));
	ASSERT_EQ(1, flipped);		/* only frame 20 was newly opened */
	ASSERT_EQ(2, heki_windows_count(&self->w, 21));
	ASSERT_EQ(0, heki_windows_close(&self->w, 20, 2, &flipped));
	ASSERT_EQ(1, flipped);		/* frame 20 closed, 21 still open */
	ASSERT_EQ(1, heki_windows_count(&self->w, 21));
}

/* Closing frames of which one has no window changes nothing. */
TEST_F(win, close_is_all_or_nothing)
{
	__u32 flipped;

	ASSERT_EQ(0, heki_windows_open(&self->w, 30, 1, &flipped));
	ASSERT_EQ(-HEKI_ENOTOPEN, heki_windows_close(&self->w, 30, 2, &flipped));
	ASSERT_EQ(1, heki_windows_count(&self->w, 30));
	ASSERT_EQ(-HEKI_ENOTOPEN, heki_windows_close(&self->w, 29, 2, &flipped));
	ASSERT_EQ(1, heki_windows_count(&self->w, 30));
}

/* The table is bounded; a full table refuses and changes nothing. */
TEST_F(win, table_full_is_all_or_nothing)
{
	__u32 flipped;
	__u64 g;

	for (g = 0; g < HEKI_WINDOW_MAX_FRAMES - 1; g++)
		ASSERT_EQ(0, heki_windows_open(&self->w, 1000 + 2 * g, 1, &flipped));
	/* One slot left: a two-frame window does not fit. */
	ASSERT_EQ(-HEKI_EBUSY, heki_windows_open(&self->w, 5000, 2, &flipped));
	ASSERT_EQ(0, heki_windows_count(&self->w, 5000));
	ASSERT_EQ(HEKI_WINDOW_MAX_FRAMES - 1, self->w.frames);
	/* But one reusing an open frame and taking the last slot does. */
	ASSERT_EQ(0, heki_windows_open(&self->w, 1000, 2, &flipped));
	ASSERT_EQ(2, flipped);
	ASSERT_EQ(HEKI_WINDOW_MAX_FRAMES, self->w.frames);
	ASSERT_EQ(-HEKI_EBUSY, heki_windows_open(&self->w, 6000, 1, &flipped));
	/* Freed slots are reused. */
	ASSERT_EQ(0, heki_windows_close(&self->w, 1002, 1, &flipped));
	ASSERT_EQ(0, heki_windows_open(&self->w, 6000, 1, &flipped));
	ASSERT_EQ(1, heki_windows_count(&self->w, 6000));
}

TEST_F(win, count_saturates)
{
	__u32 flipped;
	unsigned int i;

	for (i = 0; i < HEKI_WINDOW_MAX_COUNT; i++)
		ASSERT_EQ(0, heki_windows_open(&self->w, 3, 1, &flipped));
	ASSERT_EQ(-HEKI_EBUSY, heki_windows_open(&self->w, 3, 1, &flipped));
	ASSERT_EQ(-HEKI_EBUSY, heki_windows_open(&self->w, 2, 2, &flipped));
	ASSERT_EQ(0, heki_windows_count(&self->w, 2));
	ASSERT_EQ(HEKI_WINDOW_MAX_COUNT, heki_windows_count(&self->w, 3));
}

TEST_HARNESS_MAIN
