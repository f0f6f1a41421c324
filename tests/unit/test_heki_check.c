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
	long codes[] = { HEKI_ENOSYS, HEKI_EFAULT, HEKI_EALIGN, HEKI_ESIZE, HEKI_EINVAL };
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

TEST_HARNESS_MAIN
