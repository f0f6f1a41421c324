/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Result framing between the rig's levels.
 *
 * Results travel as single lines on serial ports dedicated to them:
 *
 *	@@HEKI1 <src> <seq> <type> <crc32> <payload>\n
 *
 * <src> names the level (l1, l2), <seq> counts records per source from 0 so
 * a lost record shows as a gap, <type> is one of stage/kv/fail/end, <crc32>
 * is 8 lower-case hex digits of the IEEE CRC-32 of "<src> <seq> <type>
 * <payload>".  The marker may appear after noise on the same line; anything
 * whose CRC does not match is rejected, so console noise can cost a record
 * (which the seq gap reveals) but can never alter one.
 */
#ifndef HEKI_FRAME_H
#define HEKI_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MARKER "@@HEKI1 "
#define FRAME_SRC_MAX 15
#define FRAME_TYPE_MAX 15
#define FRAME_PAYLOAD_MAX 1024
#define FRAME_LINE_MAX (FRAME_PAYLOAD_MAX + 96)

enum frame_status {
	FRAME_OK = 0,
	FRAME_NONE = 1,		/* no marker on the line */
	FRAME_MALFORMED = 2,	/* marker present, fields missing or invalid */
	FRAME_BADCRC = 3,	/* well formed, CRC mismatch */
};

struct frame_record {
	char src[FRAME_SRC_MAX + 1];
	unsigned long seq;
	char type[FRAME_TYPE_MAX + 1];
	char payload[FRAME_PAYLOAD_MAX + 1];
};

uint32_t frame_crc32(uint32_t crc, const void *buf, size_t len);

/*
 * Formats one record (with the trailing newline) into out[FRAME_LINE_MAX].
 * Bytes of the payload outside printable ASCII become '?', and a payload
 * longer than FRAME_PAYLOAD_MAX is cut; returns the line length, or -1 if
 * src or type are empty, too long or contain spaces.
 */
int frame_format(char *out, const char *src, unsigned long seq,
		 const char *type, const char *payload);

/* Parses one line (without or with its "\n" / "\r\n"). */
enum frame_status frame_parse(const char *line, struct frame_record *rec);

/*
 * Incremental line splitter for a byte stream that grows (a file QEMU
 * appends to).  Feed it what arrived; it calls cb once per complete line.
 * Overlong lines are cut at FRAME_LINE_MAX and reported as they are.
 */
struct frame_reader {
	char buf[FRAME_LINE_MAX + 1];
	size_t len;
	int overflow;
};

void frame_reader_feed(struct frame_reader *r, const char *data, size_t n,
		       void (*cb)(const char *line, void *ctx), void *ctx);

#endif /* HEKI_FRAME_H */
