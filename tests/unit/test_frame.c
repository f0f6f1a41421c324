// SPDX-License-Identifier: GPL-2.0
/* Result framing (rig/frame.c): what survives the serial ports and what not. */
#include <string.h>

#include "kselftest_harness.h"
#include "frame.h"

TEST(crc32_matches_ieee_check_value)
{
	ASSERT_EQ(0xcbf43926u, frame_crc32(0, "123456789", 9));
	ASSERT_EQ(0u, frame_crc32(0, "", 0));
}

TEST(crc32_is_incremental)
{
	uint32_t part = frame_crc32(0, "1234", 4);

	ASSERT_EQ(frame_crc32(0, "123456789", 9), frame_crc32(part, "56789", 5));
}

TEST(format_then_parse_round_trips)
{
	char line[FRAME_LINE_MAX];
	struct frame_record rec;
	int n = frame_format(line, "l2", 42, "kv", "heki.abi_version=0.1");

	ASSERT_LT(0, n);
	ASSERT_EQ('\n', line[n - 1]);
	ASSERT_EQ(FRAME_OK, frame_parse(line, &rec));
	EXPECT_STREQ("l2", rec.src);
	EXPECT_EQ(42ul, rec.seq);
	EXPECT_STREQ("kv", rec.type);
	EXPECT_STREQ("heki.abi_version=0.1", rec.payload);
}

TEST(empty_payload_round_trips)
{
	char line[FRAME_LINE_MAX];
	struct frame_record rec;

	ASSERT_LT(0, frame_format(line, "l1", 0, "end", ""));
	ASSERT_EQ(FRAME_OK, frame_parse(line, &rec));
	EXPECT_STREQ("", rec.payload);
}

TEST(noise_before_marker_and_crlf_are_tolerated)
{
	char line[FRAME_LINE_MAX], noisy[FRAME_LINE_MAX + 64];
	struct frame_record rec;

	frame_format(line, "l1", 3, "stage", "kvm-loaded");
	line[strcspn(line, "\n")] = '\0';
	snprintf(noisy, sizeof(noisy), "[   12.5] printk noise%s\r", line);
	ASSERT_EQ(FRAME_OK, frame_parse(noisy, &rec));
	EXPECT_STREQ("kvm-loaded", rec.payload);
}

TEST(any_changed_byte_is_rejected)
{
	char line[FRAME_LINE_MAX];
	struct frame_record rec;
	int n = frame_format(line, "l2", 7, "kv", "heki.host_nonce=0x1234abcd");
	int start = (int)strlen(FRAME_MARKER);

	/* Flip every byte after the marker in turn: none may parse as OK. */
	for (int i = start; i < n - 1; i++) {
		char saved = line[i];

		line[i] = saved == 'x' ? 'y' : 'x';
		EXPECT_NE(FRAME_OK, frame_parse(line, &rec)) {
			TH_LOG("byte %d changed and the record still parsed", i);
		}
		line[i] = saved;
	}
}

TEST(truncated_line_is_rejected)
{
	char line[FRAME_LINE_MAX];
	struct frame_record rec;
	int n = frame_format(line, "l2", 1, "kv", "suite.failed=0");

	line[n - 3] = '\0';	/* lost the tail on the wire */
	ASSERT_EQ(FRAME_BADCRC, frame_parse(line, &rec));
}

TEST(missing_fields_are_malformed)
{
	struct frame_record rec;

	ASSERT_EQ(FRAME_NONE, frame_parse("plain console text", &rec));
	ASSERT_EQ(FRAME_MALFORMED, frame_parse(FRAME_MARKER "l2 1 kv", &rec));
	ASSERT_EQ(FRAME_MALFORMED, frame_parse(FRAME_MARKER "l2 x kv 00000000 a", &rec));
	ASSERT_EQ(FRAME_MALFORMED, frame_parse(FRAME_MARKER "l2 1 kv 0000zz00 a", &rec));
	ASSERT_EQ(FRAME_MALFORMED, frame_parse(FRAME_MARKER "l2 -1 kv 00000000 a", &rec));
}

TEST(format_refuses_bad_tokens)
{
	char line[FRAME_LINE_MAX];

	ASSERT_EQ(-1, frame_format(line, "", 0, "kv", "a"));
	ASSERT_EQ(-1, frame_format(line, "l 2", 0, "kv", "a"));
	ASSERT_EQ(-1, frame_format(line, "l2", 0, "", "a"));
	ASSERT_EQ(-1, frame_format(line, "waytoolongsourcename", 0, "kv", "a"));
}

TEST(payload_is_sanitised_and_bounded)
{
	char line[FRAME_LINE_MAX], big[FRAME_PAYLOAD_MAX + 100];
	struct frame_record rec;

	frame_format(line, "l2", 0, "kv", "a=b\nc\td\x01");
	ASSERT_EQ(FRAME_OK, frame_parse(line, &rec));
	EXPECT_STREQ("a=b?c?d?", rec.payload);

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	frame_format(line, "l2", 0, "kv", big);
	ASSERT_EQ(FRAME_OK, frame_parse(line, &rec));
	EXPECT_EQ((size_t)FRAME_PAYLOAD_MAX, strlen(rec.payload));
}

struct collected {
	int n;
	char lines[8][FRAME_LINE_MAX + 1];
};

static void collect(const char *line, void *ctx)
{
	struct collected *c = ctx;

	if (c->n < 8)
		snprintf(c->lines[c->n], sizeof(c->lines[0]), "%s", line);
	c->n++;
}

TEST(reader_joins_lines_split_across_reads)
{
	struct frame_reader r = { 0 };
	struct collected c = { 0 };

	frame_reader_feed(&r, "ab", 2, collect, &c);
	ASSERT_EQ(0, c.n);
	frame_reader_feed(&r, "c\nde", 4, collect, &c);
	ASSERT_EQ(1, c.n);
	EXPECT_STREQ("abc", c.lines[0]);
	frame_reader_feed(&r, "f\n", 2, collect, &c);
	ASSERT_EQ(2, c.n);
	EXPECT_STREQ("def", c.lines[1]);
}

TEST(reader_cuts_overlong_lines_once)
{
	struct frame_reader r = { 0 };
	struct collected c = { 0 };
	static char big[FRAME_LINE_MAX * 3];

	memset(big, 'q', sizeof(big));
	frame_reader_feed(&r, big, sizeof(big), collect, &c);
	frame_reader_feed(&r, "\nnext\n", 6, collect, &c);
	ASSERT_EQ(2, c.n);
	EXPECT_EQ((size_t)FRAME_LINE_MAX, strlen(c.lines[0]));
	EXPECT_STREQ("next", c.lines[1]);
}

TEST_HARNESS_MAIN
