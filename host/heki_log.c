// SPDX-License-Identifier: GPL-2.0
/*
 * One VM's violation log: bounded, rate-limited per kind, every drop
 * counted.  See heki_log.h for the model.
 */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/kernel.h>
#else
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#endif

#include "heki_abi.h"
#include "heki_patch.h"
#include "heki_log.h"

#ifdef __KERNEL__
static void *heki_log_alloc(size_t n, size_t size)
{
	/* The guest causes the allocation: charge it to the VM's cgroup. */
	return kvcalloc(n, size, GFP_KERNEL_ACCOUNT);
}

static void heki_log_free(void *p)
{
	kvfree(p);
}
#else
static void *heki_log_alloc(size_t n, size_t size)
{
	return calloc(n, size);
}

static void heki_log_free(void *p)
{
	free(p);
}
#endif

static const char *const heki_log_kind_names[HEKI_LOG_NKINDS] = {
#define HEKI_LOG_KIND_NAME(id, name) [HEKI_LK_##id] = name,
	HEKI_LOG_KINDS(HEKI_LOG_KIND_NAME)
#undef HEKI_LOG_KIND_NAME
};

int heki_log_init(struct heki_log *log, const struct heki_log_limits *lim)
{
	static const struct heki_log_limits defaults = {
		.slots = HEKI_LOG_SLOTS,
		.burst = HEKI_LOG_BURST,
		.interval_ns = HEKI_LOG_INTERVAL_NS,
	};

	memset(log, 0, sizeof(*log));
	log->lim = lim ? *lim : defaults;
	if (!log->lim.slots || !log->lim.burst)
		return -1;
	if (!log->lim.quota)
		log->lim.quota = log->lim.slots / HEKI_LOG_NKINDS;
	/* The shares together never exceed the slots: nothing is overwritten unread. */
	if (!log->lim.quota || (__u64)log->lim.quota * HEKI_LOG_NKINDS > log->lim.slots)
		return -1;
	log->rec = heki_log_alloc(log->lim.slots, sizeof(*log->rec));
	log->kind_of = heki_log_alloc(log->lim.slots, sizeof(*log->kind_of));
	if (!log->rec || !log->kind_of) {
		heki_log_destroy(log);
		return -1;
	}
	return 0;
}

void heki_log_destroy(struct heki_log *log)
{
	heki_log_free(log->rec);
	heki_log_free(log->kind_of);
	log->rec = NULL;
	log->kind_of = NULL;
}

enum heki_log_kind heki_log_kind(const char *name)
{
	for (int k = 0; k < HEKI_LOG_NKINDS - 1; k++)
		if (!strcmp(name, heki_log_kind_names[k]))
			return (enum heki_log_kind)k;
	return HEKI_LK_OTHER;
}

const char *heki_log_kind_name(enum heki_log_kind k)
{
	return (unsigned int)k < HEKI_LOG_NKINDS ? heki_log_kind_names[k] : "other";
}

/*
 * GCRA: a record conforms unless it arrives more than (burst - 1)
 * intervals ahead of its kind's theoretical arrival time.  Integer only,
 * no division: exact, and the same in kvm.ko and natively.
 */
static bool heki_log_conforms(struct heki_log *log, int k, __u64 now)
{
	__u64 interval = log->lim.interval_ns;
	__u64 tau = (__u64)(log->lim.burst - 1) * interval;
	__u64 tat = log->tat[k];

	if (!interval)
		return true;
	if (tat > now && tat - now > tau)
		return false;
	log->tat[k] = (tat > now ? tat : now) + interval;
	return true;
}

enum heki_log_verdict heki_log_add(struct heki_log *log,
				   const struct heki_log_rec *r, __u64 now_ns)
{
	int k = heki_log_kind(r->kind);
	struct heki_log_kind_stats *st = &log->st[k];
	struct heki_log_rec *slot;

	st->offered++;
	if (r->vm_seq > log->vm_seq_max)
		log->vm_seq_max = r->vm_seq;
	/* A full share drops before the rate is charged: nothing to wait for. */
	if (log->unread[k] >= log->lim.quota) {
		st->dropped_backlog++;
		return HEKI_LOG_DROPPED_BACKLOG;
	}
	if (!heki_log_conforms(log, k, now_ns)) {
		st->dropped_rate++;
		return HEKI_LOG_DROPPED_RATE;
	}
	slot = &log->rec[log->head % log->lim.slots];
	*slot = *r;
	slot->seq = log->head;
	log->kind_of[log->head % log->lim.slots] = (__u8)k;
	log->head++;
	log->unread[k]++;
	st->logged++;
	return HEKI_LOG_LOGGED;
}

const struct heki_log_rec *heki_log_peek(const struct heki_log *log)
{
	return log->tail < log->head ? &log->rec[log->tail % log->lim.slots] : NULL;
}

void heki_log_consume(struct heki_log *log)
{
	if (log->tail == log->head)
		return;
	log->unread[log->kind_of[log->tail % log->lim.slots]]--;
	log->tail++;
}

__u64 heki_log_first(const struct heki_log *log)
{
	return log->head > log->lim.slots ? log->head - log->lim.slots : 0;
}

const struct heki_log_rec *heki_log_at(const struct heki_log *log, __u64 seq)
{
	if (seq < heki_log_first(log) || seq >= log->head)
		return NULL;
	return &log->rec[seq % log->lim.slots];
}

struct heki_log_kind_stats heki_log_total(const struct heki_log *log)
{
	struct heki_log_kind_stats t = { 0 };

	for (int k = 0; k < HEKI_LOG_NKINDS; k++) {
		t.offered += log->st[k].offered;
		t.logged += log->st[k].logged;
		t.dropped_rate += log->st[k].dropped_rate;
		t.dropped_backlog += log->st[k].dropped_backlog;
	}
	return t;
}

/* snprintf onto the end of what is there; keeps counting when cut. */
#define heki_log_put(buf, len, n, ...)					\
	((n) += snprintf((size_t)(n) < (len) ? (buf) + (n) : NULL,	\
			 (size_t)(n) < (len) ? (len) - (size_t)(n) : 0,	\
			 __VA_ARGS__))

int heki_log_format(char *buf, size_t len, const struct heki_log_rec *r,
		    unsigned int vm_id, int vm_pid)
{
	unsigned long long a = r->a, b = r->b, c = r->c;
	int k = heki_log_kind(r->kind), n = 0;

	heki_log_put(buf, len, n,
		     "seq=%llu vm_id=%u vm_pid=%d vm_seq=%llu vcpu=%d cpl=%d mode=%s kind=%s via=%s rip=0x%llx ",
		     (unsigned long long)r->seq, vm_id, vm_pid,
		     (unsigned long long)r->vm_seq, r->vcpu, r->cpl, r->mode,
		     r->kind, r->via, (unsigned long long)r->rip);
	switch (k) {
	case HEKI_LK_CR0:
	case HEKI_LK_CR4:
		heki_log_put(buf, len, n, "old=0x%llx new=0x%llx pinned=0x%llx", a, b, c);
		break;
	case HEKI_LK_REPORT:
		heki_log_put(buf, len, n, "what=%s value=0x%llx object=0x%llx",
			     a == HEKI_REPORT_FOP ? "fop" :
			     a == HEKI_REPORT_CRED ? "cred" : "unknown", b, c);
		break;
	case HEKI_LK_PATCH:
		heki_log_put(buf, len, n, "gfn=0x%llx gpa=0x%llx gva=0x%llx len=%llu why=%s",
			     a >> 12, a, b, c >> 8,
			     heki_patch_reason_name((unsigned int)(c & 0xff)));
		break;
	case HEKI_LK_PROTECT:
		heki_log_put(buf, len, n, "gfn=0x%llx gpa=0x%llx npages=%llu attrs=0x%llx",
			     a >> 12, a, b, c);
		break;
	default:
		heki_log_put(buf, len, n, "gfn=0x%llx gpa=0x%llx gva=0x%llx attrs=0x%llx",
			     a >> 12, a, b, c);
	}
	/* A checker's report describes what happened; the rest was stopped. */
	heki_log_put(buf, len, n, " action=%s\n",
		     k == HEKI_LK_REPORT ? "reported" : "refused");
	return n;
}

int heki_log_format_summary(char *buf, size_t len, const struct heki_log *log,
			    unsigned int vm_id, int vm_pid, bool ended)
{
	struct heki_log_kind_stats t = heki_log_total(log);
	int n = 0;

	heki_log_put(buf, len, n,
		     "log vm_id=%u vm_pid=%d ended=%d violations=%llu offered=%llu logged=%llu dropped=%llu dropped_rate=%llu dropped_backlog=%llu unread=%llu",
		     vm_id, vm_pid, ended, (unsigned long long)log->vm_seq_max,
		     (unsigned long long)t.offered, (unsigned long long)t.logged,
		     (unsigned long long)(t.dropped_rate + t.dropped_backlog),
		     (unsigned long long)t.dropped_rate,
		     (unsigned long long)t.dropped_backlog,
		     (unsigned long long)heki_log_unread(log));
	for (int k = 0; k < HEKI_LOG_NKINDS; k++) {
		const struct heki_log_kind_stats *s = &log->st[k];

		heki_log_put(buf, len, n, " %s=%llu/%llu/%llu", heki_log_kind_names[k],
			     (unsigned long long)s->offered,
			     (unsigned long long)s->logged,
			     (unsigned long long)(s->dropped_rate + s->dropped_backlog));
	}
	heki_log_put(buf, len, n, "\n");
	return n;
}
