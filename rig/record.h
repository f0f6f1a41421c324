/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Emitting framed result records (frame.h) from inside a level.  The
 * sequence counter lives in a small state file so that the successive
 * processes of one level (init script, suite runner) share one sequence.
 */
#ifndef HEKI_RECORD_H
#define HEKI_RECORD_H

struct record_out {
	int fd;
	const char *src;
	const char *seq_path;
};

/* out: a tty or file path; seq_path: the shared counter file. */
int record_open(struct record_out *o, const char *out, const char *src,
		const char *seq_path);
int record_emit(struct record_out *o, const char *type, const char *payload);
int record_kv(struct record_out *o, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Waits until a tty has sent what was emitted (before something may crash). */
void record_drain(struct record_out *o);
void record_close(struct record_out *o);

#endif /* HEKI_RECORD_H */
