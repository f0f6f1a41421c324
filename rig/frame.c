// SPDX-License-Identifier: GPL-2.0
/* Result framing between the rig's levels: see frame.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

uint32_t frame_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static int valid_token(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

static uint32_t record_crc(const char *src, unsigned long seq,
			   const char *type, const char *payload)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "%s %lu %s ", src, seq, type);
	uint32_t crc = frame_crc32(0, head, (size_t)n);

	return frame_crc32(crc, payload, strlen(payload));
}

int frame_format(char *out, const char *src, unsigned long seq,
		 const char *type, const char *payload)
{
	char clean[FRAME_PAYLOAD_MAX + 1];
	size_t n = 0;

	if (!valid_token(src, FRAME_SRC_MAX) || !valid_token(type, FRAME_TYPE_MAX))
		return -1;
	for (; payload[n] && n < FRAME_PAYLOAD_MAX; n++) {
		unsigned char c = (unsigned char)payload[n];

		clean[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	clean[n] = '\0';
	return snprintf(out, FRAME_LINE_MAX, FRAME_MARKER "%s %lu %s %08x %s\n",
			src, seq, type, record_crc(src, seq, type, clean), clean);
}

/* Copies the next space-terminated field; returns the rest or NULL. */
static const char *take_field(const char *p, char *dst, size_t max)
{
	size_t n = 0;

	while (*p && *p != ' ') {
		if (n == max)
			return NULL;
		dst[n++] = *p++;
	}
	dst[n] = '\0';
	if (*p != ' ' || n == 0)
		return NULL;
	return p + 1;
}

enum frame_status frame_parse(const char *line, struct frame_record *rec)
{
	const char *p = strstr(line, FRAME_MARKER);
	char seq[24], crc[9], *end;
	unsigned long crcv;
	size_t n;

	if (!p)
		return FRAME_NONE;
	p += strlen(FRAME_MARKER);
	p = take_field(p, rec->src, FRAME_SRC_MAX);
	if (p)
		p = take_field(p, seq, sizeof(seq) - 1);
	if (p)
		p = take_field(p, rec->type, FRAME_TYPE_MAX);
	if (p)
		p = take_field(p, crc, 8);
	if (!p || strlen(crc) != 8)
		return FRAME_MALFORMED;

	rec->seq = strtoul(seq, &end, 10);
	if (*end || seq[0] == '-')
		return FRAME_MALFORMED;
	crcv = strtoul(crc, &end, 16);
	if (*end)
		return FRAME_MALFORMED;

	n = strcspn(p, "\r\n");
	if (n > FRAME_PAYLOAD_MAX)
		return FRAME_MALFORMED;
	memcpy(rec->payload, p, n);
	rec->payload[n] = '\0';

	if (record_crc(rec->src, rec->seq, rec->type, rec->payload) != crcv)
		return FRAME_BADCRC;
	return FRAME_OK;
}

void frame_reader_feed(struct frame_reader *r, const char *data, size_t n,
		       void (*cb)(const char *line, void *ctx), void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (c == '\n') {
			r->buf[r->len] = '\0';
			if (!r->overflow)
				cb(r->buf, ctx);
			r->len = 0;
			r->overflow = 0;
			continue;
		}
		if (r->len == FRAME_LINE_MAX) {
			/* Deliver the cut line once; drop the rest of it. */
			if (!r->overflow) {
				r->buf[r->len] = '\0';
				cb(r->buf, ctx);
				r->overflow = 1;
			}
			continue;
		}
		r->buf[r->len++] = c == '\0' ? '?' : c;
	}
}
