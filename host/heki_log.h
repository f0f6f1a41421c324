/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The violation log of one VM: every action the host refused (or a
 * guest checker reported) is offered here, and the log decides whether it
 * keeps the record or only counts it.
 *
 * A guest controls how often it is refused, so the log is bounded three
 * ways and every refusal is accounted for:
 *
 * - per VM: each VM has its own log; nothing one VM does touches another's;
 * - per kind (cr0, cr4, write, exec, protect, report, patch, other), a rate
 *   limit (GCRA, the token bucket as a schedule: @burst records at once,
 *   then one per @interval_ns) so a flood of one kind costs the reader a
 *   trickle;
 * - per kind, a share (@quota) of the log's slots for records not yet read:
 *   a kind that has used its share is dropped, never another kind and never
 *   an older record (nothing is overwritten before it is read).
 *
 * Every record offered gets the VM's next violation number (vm_seq, the
 * count HEKI_HC_STATS returns) whether it is kept or not; kept records get
 * the next position in the log (seq, consecutive).  A dropped record is a
 * vm_seq missing from the stream, and it is counted in its kind's
 * dropped_rate or dropped_backlog: for each kind, offered == logged +
 * dropped_rate + dropped_backlog, exactly.
 *
 * Records are read in order (heki_log_peek/heki_log_consume) by one
 * reader; the last @slots records stay readable without consuming them
 * (heki_log_at) for a snapshot.
 *
 * Pure C: linked into kvm.ko (heki_log_kvm.c holds the locks, the clock
 * and the debugfs files) and into the native unit tests
 * (tests/unit/test_heki_log.c).  No locking inside: the caller serialises.
 */
#ifndef HEKI_LOG_H
#define HEKI_LOG_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#endif

/* The kinds of record, in the order of the per-kind counters. */
#define HEKI_LOG_KINDS(X)		\
	X(CR0, "cr0")			\
	X(CR4, "cr4")			\
	X(WRITE, "write")		\
	X(EXEC, "exec")			\
	X(PROTECT, "protect")		\
	X(REPORT, "report")		\
	X(PATCH, "patch")		\
	X(OTHER, "other")

enum heki_log_kind {
#define HEKI_LOG_KIND_ENUM(id, name) HEKI_LK_##id,
	HEKI_LOG_KINDS(HEKI_LOG_KIND_ENUM)
#undef HEKI_LOG_KIND_ENUM
	HEKI_LOG_NKINDS
};

/* Defaults (heki_log_init with NULL limits). */
#define HEKI_LOG_SLOTS		1024	/* records one VM's log holds */
#define HEKI_LOG_BURST		64	/* per kind, at once */
#define HEKI_LOG_INTERVAL_NS	(1000000000ull / 16)	/* then 16 a second */

struct heki_log_limits {
	unsigned int slots;		/* > 0 */
	unsigned int burst;		/* > 0 */
	__u64 interval_ns;		/* 0: no rate limit */
	/* Unread records per kind; 0: slots / HEKI_LOG_NKINDS. */
	unsigned int quota;
};

/* What heki_log_add() did with a record. */
enum heki_log_verdict {
	HEKI_LOG_LOGGED,
	HEKI_LOG_DROPPED_RATE,		/* its kind was over its rate */
	HEKI_LOG_DROPPED_BACKLOG,	/* its kind's unread share was full */
};

struct heki_log_rec {
	__u64 seq;		/* position in this log, set by heki_log_add() */
	__u64 vm_seq;		/* the VM's violation number */
	__u64 rip;
	/*
	 * cr*: old, new, pinned; write/exec: gpa, gva (~0 unknown), attrs;
	 * protect: gpa, npages, attrs requested; report: HEKI_REPORT_*,
	 * value, object; patch: gpa (0 unknown), gva,
	 * len << 8 | enum heki_patch_reason
	 */
	__u64 a, b, c;
	const char *kind;	/* static strings: "cr0", "write", ... */
	const char *via;	/* "npt", "emulator", "hypercall", ... */
	const char *mode;	/* guest CPU mode: "long64", ..., "none" */
	__s32 vcpu, cpl;	/* -1 when KVM acted outside a vCPU */
};

struct heki_log_kind_stats {
	__u64 offered, logged, dropped_rate, dropped_backlog;
};

struct heki_log {
	struct heki_log_rec *rec;	/* [slots] */
	struct heki_log_limits lim;
	__u64 head;			/* records logged: the next seq */
	__u64 tail;			/* records consumed by the reader */
	__u64 vm_seq_max;		/* the highest vm_seq offered */
	struct heki_log_kind_stats st[HEKI_LOG_NKINDS];
	unsigned int unread[HEKI_LOG_NKINDS];
	__u64 tat[HEKI_LOG_NKINDS];	/* GCRA: theoretical arrival, ns */
	__u8 *kind_of;			/* [slots]: kind index of each slot */
};

/* 0, or -1 when out of memory; @lim NULL: the defaults. */
int heki_log_init(struct heki_log *log, const struct heki_log_limits *lim);
void heki_log_destroy(struct heki_log *log);

/* The kind index of a kind name (HEKI_LK_OTHER if none). */
enum heki_log_kind heki_log_kind(const char *name);
const char *heki_log_kind_name(enum heki_log_kind k);

/*
 * Offers one record at time @now_ns (monotonic).  @r->seq is ignored;
 * a kept record's seq is its position.
 */
enum heki_log_verdict heki_log_add(struct heki_log *log,
				   const struct heki_log_rec *r, __u64 now_ns);

/* The oldest unread record, or NULL; heki_log_consume() marks it read. */
const struct heki_log_rec *heki_log_peek(const struct heki_log *log);
void heki_log_consume(struct heki_log *log);
/* Unread records. */
static inline __u64 heki_log_unread(const struct heki_log *log)
{
	return log->head - log->tail;
}

/* Record @seq if it is still held (the last @slots logged), else NULL. */
const struct heki_log_rec *heki_log_at(const struct heki_log *log, __u64 seq);
/* The first seq heki_log_at() still holds. */
__u64 heki_log_first(const struct heki_log *log);

/* Sums over the kinds. */
struct heki_log_kind_stats heki_log_total(const struct heki_log *log);

/*
 * One record as a line (with its '\n'), the format of ABI.md:
 * "seq=N vm_id=I vm_pid=P vm_seq=S vcpu=V cpl=C mode=M kind=K via=W
 * rip=0x... <details> action=refused|reported".  Returns the length
 * snprintf would have written (>= @len: cut).
 */
int heki_log_format(char *buf, size_t len, const struct heki_log_rec *r,
		    unsigned int vm_id, int vm_pid);
/*
 * The log's accounting as a line: "log vm_id=I vm_pid=P ended=0|1
 * violations=S logged=L dropped=D dropped_rate=.. dropped_backlog=..
 * unread=U" and per kind "<kind>=offered/logged/dropped".
 */
int heki_log_format_summary(char *buf, size_t len, const struct heki_log *log,
			    unsigned int vm_id, int vm_pid, bool ended);

/* Longest line either formatter writes. */
#define HEKI_LOG_LINE_MAX	512

#ifdef __KERNEL__
/*
 * kvm.ko's side (heki_log_kvm.c): one struct heki_vlog per VM with Heki
 * state, kept until the stream reader has read it out after its VM ended,
 * and the debugfs files heki/stream and heki/violations (ABI.md).
 */
struct kvm;
struct kvm_vcpu;
struct dentry;
struct seq_file;
struct heki_vlog;

/* A VM's log; NULL when out of memory.  May sleep. */
struct heki_vlog *heki_vlog_create(struct kvm *kvm);
/* A log that never belonged to a VM (lost a creation race). */
void heki_vlog_discard(struct heki_vlog *vlog);
/* Its VM is gone: the log stays until read out.  May sleep. */
void heki_vlog_release(struct heki_vlog *vlog);
/*
 * One refusal of @kvm, violation number @vm_seq (0: the VM has no Heki
 * state, @vlog NULL).  @vcpu NULL when KVM acted outside a vCPU.
 */
void heki_vlog_record(struct heki_vlog *vlog, struct kvm *kvm,
		      struct kvm_vcpu *vcpu, u64 vm_seq, const char *kind,
		      const char *via, u64 a, u64 b, u64 c);
/*
 * A vCPU of @vcpu's VM shut down: "shutdown vm_id=I vm_pid=P vcpu=V cpl=C
 * mode=M rip=0x... <detail>" goes to the console and, when the VM has a
 * log (@vlog not NULL), to the stream after its records (the last one
 * unread is kept).
 */
void heki_vlog_shutdown(struct heki_vlog *vlog, struct kvm_vcpu *vcpu,
			const char *detail);
/* heki/status lines: per VM ("vm_<pid>_log_*") and host-wide ("log_*"). */
void heki_vlog_status(struct seq_file *m, struct heki_vlog *vlog, int pid);
void heki_log_status(struct seq_file *m);
void heki_log_debugfs_init(struct dentry *dir);
/* kvm.ko unloads: every VM is gone, every log is freed. */
void heki_log_exit(void);
#endif

#endif /* HEKI_LOG_H */
