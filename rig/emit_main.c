// SPDX-License-Identifier: GPL-2.0
/*
 * heki-emit: send framed result records from the rig's init scripts.
 *
 *   heki-emit SRC TYPE PAYLOAD...     one record (payload words joined by ' ')
 *   heki-emit -p PREFIX SRC kv-lines  one kv record per "key value" stdin line
 *
 * Output goes to $HEKI_RESULTS (a serial port or file); the sequence counter
 * to $HEKI_SEQ (default /tmp/heki-emit.seq).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "record.h"

static int usage(void)
{
	fprintf(stderr, "usage: heki-emit [-p PREFIX] SRC TYPE PAYLOAD...\n"
			"       heki-emit -p PREFIX SRC kv-lines < key-value-lines\n"
			"env: HEKI_RESULTS (output, required), HEKI_SEQ (sequence file)\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *out = getenv("HEKI_RESULTS");
	const char *seq = getenv("HEKI_SEQ");
	const char *prefix = "";
	char payload[FRAME_PAYLOAD_MAX + 1] = "";
	struct record_out o;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt != 'p')
			return usage();
		prefix = optarg;
	}
	if (!out || argc - optind < 2)
		return usage();
	if (record_open(&o, out, argv[optind], seq ? seq : "/tmp/heki-emit.seq")) {
		perror(out);
		return 1;
	}

	if (!strcmp(argv[optind + 1], "kv-lines")) {
		char line[FRAME_PAYLOAD_MAX];

		while (fgets(line, sizeof(line), stdin)) {
			char *sp;

			line[strcspn(line, "\r\n")] = '\0';
			sp = strchr(line, ' ');
			if (!sp)
				continue;
			*sp = '\0';
			snprintf(payload, sizeof(payload), "%s%s=%s", prefix, line, sp + 1);
			ret |= record_emit(&o, "kv", payload);
		}
	} else {
		size_t n = 0;

		for (int i = optind + 2; i < argc && n < FRAME_PAYLOAD_MAX; i++)
			n += (size_t)snprintf(payload + n, sizeof(payload) - n, "%s%s",
					      i > optind + 2 ? " " : "", argv[i]);
		ret = record_emit(&o, argv[optind + 1], payload);
	}
	record_close(&o);
	if (ret)
		fprintf(stderr, "heki-emit: write to %s failed\n", out);
	return ret ? 1 : 0;
}
