// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercall argument checks (host/heki_check.h), the same code kvm.ko runs:
 * every malformed HEKI_HC_QUERY gets its own documented error.
 */
#include "kselftest_harness.h"
#include "heki_check.h"

FIXTURE(query) {};
FIXTURE_SETUP(query) {}
FIXTURE_TEARDOWN(query) {}

FIXTURE_VARIANT(query) {
	__u64 a0, a1, a2, a3;
	long expect;
};

#define INFO sizeof(struct heki_info)

FIXTURE_VARIANT_ADD(query, valid) { 0x1000, INFO, 0, 0, 0 };
FIXTURE_VARIANT_ADD(query, valid_at_page_end) { 0x2000 - INFO, INFO, 0, 0, 0 };
FIXTURE_VARIANT_ADD(query, valid_gpa_zero) { 0, INFO, 0, 0, 0 };
FIXTURE_VARIANT_ADD(query, size_too_big) { 0x1000, INFO + 8, 0, 0, -HEKI_ESIZE };
FIXTURE_VARIANT_ADD(query, size_zero) { 0x1000, 0, 0, 0, -HEKI_ESIZE };
FIXTURE_VARIANT_ADD(query, size_huge) { 0x1000, ~0ull, 0, 0, -HEKI_ESIZE };
FIXTURE_VARIANT_ADD(query, misaligned) { 0x1004, INFO, 0, 0, -HEKI_EALIGN };
FIXTURE_VARIANT_ADD(query, crosses_page) { 0x2000 - 8, INFO, 0, 0, -HEKI_EALIGN };
FIXTURE_VARIANT_ADD(query, top_of_address_space) { ~0ull & ~7ull, INFO, 0, 0, -HEKI_EALIGN };
FIXTURE_VARIANT_ADD(query, reserved_a2) { 0x1000, INFO, 1, 0, -HEKI_EINVAL };
FIXTURE_VARIANT_ADD(query, reserved_a3) { 0x1000, INFO, 0, ~0ull, -HEKI_EINVAL };

TEST_F(query, checked)
{
	ASSERT_EQ(variant->expect,
		  heki_check_query(variant->a0, variant->a1, variant->a2, variant->a3));
}

FIXTURE(pin_cr) {};
FIXTURE_SETUP(pin_cr) {}
FIXTURE_TEARDOWN(pin_cr) {}

FIXTURE_VARIANT(pin_cr) {
	__u64 cr, bits, a2, a3, cur;
	long expect;
};

#define CR4_NOW (HEKI_CR4_SMEP | HEKI_CR4_SMAP | HEKI_CR4_UMIP | (1ull << 5))

FIXTURE_VARIANT_ADD(pin_cr, cr4_smep) { 4, HEKI_CR4_SMEP, 0, 0, CR4_NOW, 0 };
FIXTURE_VARIANT_ADD(pin_cr, cr4_all_pinnable) { 4, HEKI_CR4_PINNABLE, 0, 0, CR4_NOW, 0 };
FIXTURE_VARIANT_ADD(pin_cr, cr0_wp) { 0, HEKI_CR0_WP, 0, 0, 0x80050033, 0 };
FIXTURE_VARIANT_ADD(pin_cr, cr3) { 3, 1, 0, 0, 0, -HEKI_ECRNUM };
FIXTURE_VARIANT_ADD(pin_cr, cr8) { 8, 1, 0, 0, 0, -HEKI_ECRNUM };
FIXTURE_VARIANT_ADD(pin_cr, huge_cr_number) { ~0ull, 1, 0, 0, 0, -HEKI_ECRNUM };
FIXTURE_VARIANT_ADD(pin_cr, no_bits) { 4, 0, 0, 0, CR4_NOW, -HEKI_EBITS };
FIXTURE_VARIANT_ADD(pin_cr, cr4_pae_not_pinnable) { 4, 1ull << 5, 0, 0, CR4_NOW, -HEKI_EBITS };
FIXTURE_VARIANT_ADD(pin_cr, cr0_pe_not_pinnable) { 0, 1, 0, 0, 0x80050033, -HEKI_EBITS };
FIXTURE_VARIANT_ADD(pin_cr, all_ones) { 4, ~0ull, 0, 0, ~0ull, -HEKI_EBITS };
FIXTURE_VARIANT_ADD(pin_cr, bit_clear_now) { 4, HEKI_CR4_SMEP, 0, 0, HEKI_CR4_SMAP, -HEKI_ENOTSET };
FIXTURE_VARIANT_ADD(pin_cr, cr0_wp_clear_now) { 0, HEKI_CR0_WP, 0, 0, 0x80040033, -HEKI_ENOTSET };
FIXTURE_VARIANT_ADD(pin_cr, reserved_a2) { 4, HEKI_CR4_SMEP, 1, 0, CR4_NOW, -HEKI_EINVAL };
FIXTURE_VARIANT_ADD(pin_cr, reserved_a3) { 4, HEKI_CR4_SMEP, 0, 1, CR4_NOW, -HEKI_EINVAL };

TEST_F(pin_cr, checked)
{
	ASSERT_EQ(variant->expect, heki_check_pin_cr(variant->cr, variant->bits,
						     variant->a2, variant->a3,
						     variant->cur));
}

FIXTURE(protect) {};
FIXTURE_SETUP(protect) {}
FIXTURE_TEARDOWN(protect) {}

FIXTURE_VARIANT(protect) {
	__u64 gpa, npages, attrs, a3;
	long expect;
};

FIXTURE_VARIANT_ADD(protect, read_only_page) { 0x1000, 1, HEKI_ATTR_RO, 0, 0 };
FIXTURE_VARIANT_ADD(protect, text_range) { 0x1000000, 3000, HEKI_ATTR_EXEC | HEKI_ATTR_IMMUTABLE, 0, 0 };
FIXTURE_VARIANT_ADD(protect, no_access) { 0, 1, 0, 0, 0 };
FIXTURE_VARIANT_ADD(protect, max_pages) { 0, HEKI_PROTECT_MAX_PAGES, HEKI_ATTR_RO, 0, 0 };
FIXTURE_VARIANT_ADD(protect, misaligned) { 0x1008, 1, HEKI_ATTR_RO, 0, -HEKI_EALIGN };
FIXTURE_VARIANT_ADD(protect, zero_pages) { 0x1000, 0, HEKI_ATTR_RO, 0, -HEKI_ERANGE };
FIXTURE_VARIANT_ADD(protect, too_many_pages) { 0, HEKI_PROTECT_MAX_PAGES + 1, HEKI_ATTR_RO, 0, -HEKI_ERANGE };
FIXTURE_VARIANT_ADD(protect, huge_count) { 0x1000, ~0ull, HEKI_ATTR_RO, 0, -HEKI_ERANGE };
FIXTURE_VARIANT_ADD(protect, unknown_attr) { 0x1000, 1, 1ull << 4, 0, -HEKI_EATTR };
/* Bit 0 was READ up to ABI 0.6, accepted and never enforced: refused since 0.7. */
FIXTURE_VARIANT_ADD(protect, former_read_bit) { 0x1000, 1, 1, 0, -HEKI_EATTR };
FIXTURE_VARIANT_ADD(protect, former_read_bit_with_exec) { 0x1000, 1, 1 | HEKI_ATTR_EXEC, 0, -HEKI_EATTR };
FIXTURE_VARIANT_ADD(protect, high_attr) { 0x1000, 1, 1ull << 63, 0, -HEKI_EATTR };
FIXTURE_VARIANT_ADD(protect, reserved_a3) { 0x1000, 1, HEKI_ATTR_RO, 7, -HEKI_EINVAL };
FIXTURE_VARIANT_ADD(protect, ends_at_max_frame) { (HEKI_MAX_GFN - 1) << 12, 1, HEKI_ATTR_RO, 0, 0 };
FIXTURE_VARIANT_ADD(protect, past_max_frame) { (HEKI_MAX_GFN - 1) << 12, 2, HEKI_ATTR_RO, 0, -HEKI_ERANGE };
FIXTURE_VARIANT_ADD(protect, wraps) { ~0xfffull, 2, HEKI_ATTR_RO, 0, -HEKI_ERANGE };

TEST_F(protect, checked)
{
	ASSERT_EQ(variant->expect, heki_check_protect(variant->gpa, variant->npages,
						      variant->attrs, variant->a3));
}

FIXTURE(batch) {};
FIXTURE_SETUP(batch) {}
FIXTURE_TEARDOWN(batch) {}

FIXTURE_VARIANT(batch) {
	__u64 a0, a1, a2, a3;
	long expect;
};

#define RANGE sizeof(struct heki_range)
FIXTURE_VARIANT_ADD(batch, one) { 0x1000, 1, 0, 0, 0 };
FIXTURE_VARIANT_ADD(batch, full_page) { 0x1000, HEKI_BATCH_MAX, 0, 0, 0 };
FIXTURE_VARIANT_ADD(batch, ends_at_page_end) { 0x2000 - 2 * RANGE, 2, 0, 0, 0 };
FIXTURE_VARIANT_ADD(batch, empty) { 0x1000, 0, 0, 0, -HEKI_EBATCH };
FIXTURE_VARIANT_ADD(batch, too_long) { 0x1000, HEKI_BATCH_MAX + 1, 0, 0, -HEKI_EBATCH };
FIXTURE_VARIANT_ADD(batch, count_overflows_size) { 0x1000, 1ull << 59, 0, 0, -HEKI_EBATCH };
FIXTURE_VARIANT_ADD(batch, misaligned) { 0x1004, 1, 0, 0, -HEKI_EALIGN };
FIXTURE_VARIANT_ADD(batch, crosses_page) { 0x2000 - RANGE, 2, 0, 0, -HEKI_EALIGN };
FIXTURE_VARIANT_ADD(batch, top_of_address_space) { ~0ull & ~7ull, 1, 0, 0, -HEKI_EALIGN };
FIXTURE_VARIANT_ADD(batch, reserved_a2) { 0x1000, 1, 1, 0, -HEKI_EINVAL };
FIXTURE_VARIANT_ADD(batch, reserved_a3) { 0x1000, 1, 0, 1, -HEKI_EINVAL };

TEST_F(batch, checked)
{
	ASSERT_EQ(variant->expect, heki_check_batch(variant->a0, variant->a1,
						    variant->a2, variant->a3));
}

TEST(batch_entries_checked_like_protect)
{
	struct heki_range r = { 0x1000, 1, HEKI_ATTR_RO, 0 };

	ASSERT_EQ(0, heki_check_range(&r));
	r.reserved = 1;
	ASSERT_EQ(-HEKI_EINVAL, heki_check_range(&r));
	r.reserved = 0;
	r.gpa = 0x1001;
	ASSERT_EQ(-HEKI_EALIGN, heki_check_range(&r));
	r.gpa = 0x1000;
	r.npages = 0;
	ASSERT_EQ(-HEKI_ERANGE, heki_check_range(&r));
	r.npages = 1;
	r.attrs = 1ull << 40;
	ASSERT_EQ(-HEKI_EATTR, heki_check_range(&r));
}

FIXTURE(window) {};
FIXTURE_SETUP(window) {}
FIXTURE_TEARDOWN(window) {}

FIXTURE_VARIANT(window) {
	__u64 a0, a1, a2, a3;
	long expect;
};

FIXTURE_VARIANT_ADD(window, one_page) { 0x1000, 1, 0, 0, 0 };
FIXTURE_VARIANT_ADD(window, two_pages) { 0x1000, HEKI_WINDOW_MAX_PAGES, 0, 0, 0 };
FIXTURE_VARIANT_ADD(window, no_pages) { 0x1000, 0, 0, 0, -HEKI_ERANGE };
FIXTURE_VARIANT_ADD(window, too_many_pages) { 0x1000, HEKI_WINDOW_MAX_PAGES + 1, 0, 0, -HEKI_ERANGE };
FIXTURE_VARIANT_ADD(window, huge_count) { 0x1000, ~0ull, 0, 0, -HEKI_ERANGE };
FIXTURE_VARIANT_ADD(window, misaligned) { 0x1800, 1, 0, 0, -HEKI_EALIGN };
FIXTURE_VARIANT_ADD(window, reserved_a2) { 0x1000, 1, 4, 0, -HEKI_EINVAL };
FIXTURE_VARIANT_ADD(window, reserved_a3) { 0x1000, 1, 0, 4, -HEKI_EINVAL };

TEST_F(window, checked)
{
	ASSERT_EQ(variant->expect, heki_check_window(variant->a0, variant->a1,
						     variant->a2, variant->a3));
}

TEST(lockdown_and_stats_checked)
{
	ASSERT_EQ(0, heki_check_lockdown(0, 0, 0, 0));
	ASSERT_EQ(0, heki_check_lockdown(HEKI_LOCK_AUTH, 0, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_lockdown(2, 0, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_lockdown(0, 0, 0, ~0ull));
	ASSERT_EQ(0, heki_check_stats(0x1000, sizeof(struct heki_stats), 0, 0));
	ASSERT_EQ(-HEKI_ESIZE, heki_check_stats(0x1000, sizeof(struct heki_info), 0, 0));
	ASSERT_EQ(-HEKI_EALIGN, heki_check_stats(0x1004, sizeof(struct heki_stats), 0, 0));
	ASSERT_EQ(-HEKI_EALIGN, heki_check_stats(0x2000 - 8, sizeof(struct heki_stats), 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_stats(0x1000, sizeof(struct heki_stats), 1, 0));
}

TEST(release_is_exactly_rwx)
{
	ASSERT_TRUE(heki_attrs_release(HEKI_ATTR_WRITE | HEKI_ATTR_EXEC));
	ASSERT_FALSE(heki_attrs_release(HEKI_ATTR_ALL));
	ASSERT_FALSE(heki_attrs_release(HEKI_ATTR_WRITE));
	ASSERT_FALSE(heki_attrs_release(0));
}

TEST(pinned_bit_may_not_be_cleared)
{
	__u64 pinned = HEKI_CR4_SMEP;

	ASSERT_TRUE(heki_cr_clears_pinned(CR4_NOW, CR4_NOW & ~HEKI_CR4_SMEP, pinned));
	ASSERT_TRUE(heki_cr_clears_pinned(CR4_NOW, 0, pinned));
	/* Other bits come and go freely. */
	ASSERT_FALSE(heki_cr_clears_pinned(CR4_NOW, CR4_NOW & ~HEKI_CR4_SMAP, pinned));
	ASSERT_FALSE(heki_cr_clears_pinned(CR4_NOW, CR4_NOW | (1ull << 7), pinned));
	ASSERT_FALSE(heki_cr_clears_pinned(CR4_NOW, CR4_NOW, pinned));
	/* After a vCPU reset the bit is off: the boot path may write without it. */
	ASSERT_FALSE(heki_cr_clears_pinned(0, 1ull << 5, pinned));
	ASSERT_FALSE(heki_cr_clears_pinned(CR4_NOW, CR4_NOW & ~HEKI_CR4_SMEP, 0));
}

/* After INIT: paging may come back only with every pinned CR0 bit. */
TEST(paging_needs_pinned_cr0_bits)
{
	const __u64 wp = 1ull << 16, pe = 1, reset = 0x60000010;

	ASSERT_FALSE(heki_cr0_paging_without_pinned(reset, wp));	/* paging off */
	ASSERT_FALSE(heki_cr0_paging_without_pinned(reset | pe, wp));
	ASSERT_TRUE(heki_cr0_paging_without_pinned(HEKI_CR0_PG | pe, wp));
	ASSERT_FALSE(heki_cr0_paging_without_pinned(HEKI_CR0_PG | pe | wp, wp));
	ASSERT_FALSE(heki_cr0_paging_without_pinned(HEKI_CR0_PG | pe, 0));
}

TEST(hypercall_block_does_not_touch_kvm_numbers)
{
	/* KVM_HC_* in 6.1 end at 12; the Heki RFC took 13 and 14. */
	for (unsigned long nr = 0; nr < 64; nr++)
		ASSERT_FALSE(HEKI_HC_IS_HEKI(nr));
	ASSERT_TRUE(HEKI_HC_IS_HEKI(HEKI_HC_QUERY));
	ASSERT_TRUE(HEKI_HC_IS_HEKI(HEKI_HC_LAST));
	ASSERT_FALSE(HEKI_HC_IS_HEKI(HEKI_HC_LAST + 1));
	/* Must survive KVM truncating RAX for 32-bit callers. */
	ASSERT_EQ(HEKI_HC_LAST, HEKI_HC_LAST & 0xffffffffu);
}

TEST(error_codes_are_distinct_and_above_kvm)
{
	long codes[] = { HEKI_ENOSYS, HEKI_EFAULT, HEKI_EALIGN, HEKI_ESIZE, HEKI_EINVAL,
			 HEKI_ECRNUM, HEKI_EBITS, HEKI_ENOTSET, HEKI_ENOMEM,
			 HEKI_EATTR, HEKI_ERANGE, HEKI_E2BIG, HEKI_EPERM,
			 HEKI_ELOCKED, HEKI_EBATCH, HEKI_ENOTOPEN, HEKI_EBUSY,
			 HEKI_EWRPROT };
	int n = sizeof(codes) / sizeof(codes[0]);

	for (int i = 0; i < n; i++) {
		ASSERT_GT(codes[i], 1000);	/* KVM_ENOSYS */
		for (int j = i + 1; j < n; j++)
			ASSERT_NE(codes[i], codes[j]);
	}
}

TEST(info_layout_is_stable)
{
	/* Changing it changes the ABI: bump HEKI_ABI_VERSION_MAJOR. */
	ASSERT_EQ(32, sizeof(struct heki_info));
	ASSERT_EQ(0, __builtin_offsetof(struct heki_info, abi_version));
	ASSERT_EQ(8, __builtin_offsetof(struct heki_info, features));
	ASSERT_EQ(16, __builtin_offsetof(struct heki_info, host_nonce));
	ASSERT_EQ(24, __builtin_offsetof(struct heki_info, calls));
}

TEST(sites_checked)
{
	ASSERT_EQ(0, heki_check_sites(0x1000, 1, 0, 0));
	ASSERT_EQ(0, heki_check_sites(0x1000, HEKI_SITES_BATCH_MAX, HEKI_SITES_RESET, 0));
	ASSERT_EQ(0, heki_check_sites(0, 0, HEKI_SITES_RESET, 0));	/* forget only */
	ASSERT_EQ(-HEKI_EBATCH, heki_check_sites(0x1000, 0, 0, 0));
	ASSERT_EQ(-HEKI_EBATCH, heki_check_sites(0x1000, HEKI_SITES_BATCH_MAX + 1, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_sites(0x1000, 1, 2, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_sites(0x1000, 1, 0, 1));
	ASSERT_EQ(-HEKI_EALIGN, heki_check_sites(0x1004, 1, 0, 0));
	ASSERT_EQ(-HEKI_EALIGN, heki_check_sites(0x1fe8, 2, 0, 0));	/* crosses a page */
	ASSERT_EQ(32, sizeof(struct heki_site));
}

TEST(patch_checked)
{
	ASSERT_EQ(0, heki_check_patch(0xffffffff81000000ull, 1, 0xcc, 0));
	ASSERT_EQ(0, heki_check_patch(0xffffffff81000000ull, 5, 0xffffffffffull, 0));
	ASSERT_EQ(0, heki_check_patch(0xffffffff81000000ull, 16, ~0ull, ~0ull));
	ASSERT_EQ(0, heki_check_patch(0xffffffff81000000ull, 12, ~0ull, 0xffffffffull));
	ASSERT_EQ(-HEKI_ERANGE, heki_check_patch(0xffffffff81000000ull, 0, 0, 0));
	ASSERT_EQ(-HEKI_ERANGE, heki_check_patch(0xffffffff81000000ull, 17, 0, 0));
	ASSERT_EQ(-HEKI_ERANGE, heki_check_patch(~0ull, 2, 0, 0));	/* wraps */
	ASSERT_EQ(-HEKI_EINVAL, heki_check_patch(0xffffffff81000000ull, 1, 0x1cc, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_patch(0xffffffff81000000ull, 8, 0, 1));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_patch(0xffffffff81000000ull, 12, 0, 0x100000000ull));
}

TEST(vmfunc_checked)
{
	ASSERT_EQ(0, heki_check_vmfunc(1, 0, 0, 0));
	ASSERT_EQ(0, heki_check_vmfunc(0, 0, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_vmfunc(2, 0, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_vmfunc(1, 0, 0, 1));
}

TEST(view_switch_checked)
{
	ASSERT_EQ(0, heki_check_view_switch(HEKI_VIEW_PATCH, 0, 0, 0));
	ASSERT_EQ(0, heki_check_view_switch(HEKI_VIEW_NORMAL, 0, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_view_switch(2, 0, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_view_switch(~0ull, 0, 0, 0));
	/* The address a poke writes, named when entering the patch view. */
	ASSERT_EQ(0, heki_check_view_switch(HEKI_VIEW_PATCH, 0xffffffffa0001000ull, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_view_switch(HEKI_VIEW_NORMAL, 1, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_view_switch(HEKI_VIEW_PATCH, 0, 1, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_view_switch(HEKI_VIEW_PATCH, 0, 0, 1));
}

TEST(report_checked)
{
	ASSERT_EQ(0, heki_check_report(HEKI_REPORT_FOP, 0xffffffffc0001000ull, 0x1000, 0));
	ASSERT_EQ(0, heki_check_report(HEKI_REPORT_CRED, 0, 0, 0));
	ASSERT_EQ(0, heki_check_report(HEKI_REPORT_LAST, 0, 0, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_report(0, 1, 2, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_report(HEKI_REPORT_LAST + 1, 1, 2, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_report(~0ull, 1, 2, 0));
	ASSERT_EQ(-HEKI_EINVAL, heki_check_report(HEKI_REPORT_FOP, 1, 2, 3));
}

TEST(range_and_stats_layout_are_stable)
{
	ASSERT_EQ(32, sizeof(struct heki_range));
	ASSERT_EQ(128, HEKI_BATCH_MAX);
	ASSERT_EQ(8, __builtin_offsetof(struct heki_range, npages));
	ASSERT_EQ(16, __builtin_offsetof(struct heki_range, attrs));
	ASSERT_EQ(18 * 8, sizeof(struct heki_stats));
	ASSERT_EQ(17 * 8, __builtin_offsetof(struct heki_stats, auth));
	ASSERT_EQ(15 * 8, __builtin_offsetof(struct heki_stats, patches));
	ASSERT_EQ(14 * 8, __builtin_offsetof(struct heki_stats, view_switches));
	ASSERT_EQ(13 * 8, __builtin_offsetof(struct heki_stats, locked));
}

TEST_HARNESS_MAIN
