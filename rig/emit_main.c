// SPDX-License-Identifier: GPL-2.0
/*
 * heki-emit: send framed result records from the rig's init scripts.
 *
 *   heki-emit SRC TYPE PAYLOAD...     one record (payload words joined by ' ')
 *   heki-emit -p PREFIX SRC kv-lines  one kv record per "key value" stdin line
 *   heki-emit -d TTY...               wait until each serial port has sent
 *                                     what was written to it (before poweroff)
 *
 * Output goes to $HEKI_RESULTS (a serial port or file); the sequence counter
 * to $HEKI_SEQ (default /tmp/heki-emit.seq).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "frame.h"
#include "record.h"

static int usage(void)
{
	fprintf(stderr, "usage: heki-emit [-p PREFIX] SRC TYPE PAYLOAD...\n"
			"       heki-emit -p PREFIX SRC kv-lines < key-value-lines\n"
			"       heki-emit -d TTY...\n"
			"env: HEKI_RESULTS (output, required), HEKI_SEQ (sequence file)\n");
	return 2;
}

/*
 * A process that exits right after writing to a serial port leaves the
 * bytes in the tty's buffer; a poweroff then loses them.  tcdrain() waits
 * for the UART, whoever wrote them.
 */
static int drain(int n, char **ttys)
{
	int ret = 0;

	for (int i = 0; i < n; i++) {
		int fd = open(ttys[i], O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0 || tcdrain(fd)) {
			perror(ttys[i]);
			ret = 1;
		}
		if (fd >= 0)
			close(fd);
	}
	return ret;
}

int main(int argc, char **argv)
{
	const char *out = getenv("HEKI_RESULTS");
	const char *seq = getenv("HEKI_SEQ");
	const char *prefix = "";
	char payload[FRAME_PAYLOAD_MAX + 1] = "";
	struct record_out o;
	int opt, ret = 0;

	if (argc > 1 && !strcmp(argv[1], "-d"))
		return drain(argc - 2, argv + 2);
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
