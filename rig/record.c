// SPDX-License-Identifier: GPL-2.0
/* Emitting framed result records: see record.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include "frame.h"
#include "record.h"

int record_open(struct record_out *o, const char *out, const char *src,
		const char *seq_path)
{
	struct termios t;

	o->src = src;
	o->seq_path = seq_path;
	o->fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, 0644);
	if (o->fd < 0)
		return -errno;
	/* A serial port: no output translation, so bytes leave as written. */
	if (tcgetattr(o->fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(o->fd, TCSANOW, &t);
	}
	return 0;
}

/*
 * Takes the next sequence number under an exclusive lock of the file and
 * returns the file, still locked: the record must leave before another
 * process of the level takes the number after it, or L0 would see the two
 * out of order and count a loss.  -1 (and number 0) if there is no file.
 */
static int take_seq(const char *path, unsigned long *seq)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	*seq = 0;
	if (fd < 0)
		return -1;
	flock(fd, LOCK_EX);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		*seq = strtoul(buf, NULL, 10);
	}
	n = snprintf(buf, sizeof(buf), "%lu\n", *seq + 1);
	if (pwrite(fd, buf, (size_t)n, 0) != n)
		*seq = 0;
	return fd;
}

int record_emit(struct record_out *o, const char *type, const char *payload)
{
	char line[FRAME_LINE_MAX];
	unsigned long seq;
	int lock = take_seq(o->seq_path, &seq);
	int n = frame_format(line, o->src, seq, type, payload), ret = 0;

	/* One write() per record: tty writes of one call are not interleaved. */
	if (n < 0)
		ret = -EINVAL;
	else if (write(o->fd, line, (size_t)n) != n)
		ret = -EIO;
	if (lock >= 0)
		close(lock);	/* drops the lock */
	return ret;
}

int record_kv(struct record_out *o, const char *key, const char *fmt, ...)
{
	char payload[FRAME_PAYLOAD_MAX + 1];
	va_list ap;
	int n = snprintf(payload, sizeof(payload), "%s=", key);

	va_start(ap, fmt);
	vsnprintf(payload + n, sizeof(payload) - (size_t)n, fmt, ap);
	va_end(ap);
	return record_emit(o, "kv", payload);
}

void record_drain(struct record_out *o)
{
	if (o->fd >= 0 && isatty(o->fd))
		tcdrain(o->fd);
}

void record_close(struct record_out *o)
{
	/*
	 * write() to a serial port returns once the bytes are in the tty
	 * buffer; the guest may power off right after.  Wait until the UART
	 * has sent them.
	 */
	record_drain(o);
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}
