// SPDX-License-Identifier: GPL-2.0
/*
 * The per-VM violation log (host/heki_log.c), the code kvm.ko runs on
 * every refusal: rate limit per kind, unread share per kind, exact drop
 * accounting, in-order reading, and two VMs' logs side by side.
 */
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "heki_log.h"
#include "heki_violation.h"

#define SEC 1000000000ull

/* A record of @kind with the VM's next violation number. */
static enum heki_log_verdict offer(struct heki_log *log, __u64 *vm_seq,
				   const char *kind, __u64 a, __u64 now)
{
	struct heki_log_rec r = {
		.vm_seq = ++*vm_seq, .kind = kind, .via = "npt", .mode = "long64",
		.a = a, .b = ~0ull, .c = 1, .rip = 0xffffffff81000000ull,
	};

	return heki_log_add(log, &r, now);
}

/* Reads every unread record; returns how many, their vm_seq in @seqs. */
static int drain(struct heki_log *log, __u64 *seqs, int max)
{
	const struct heki_log_rec *r;
	int n = 0;

	while ((r = heki_log_peek(log))) {
		if (n < max)
			seqs[n] = r->vm_seq;
		n++;
		heki_log_consume(log);
	}
	return n;
}

/* offered == logged + dropped, per kind and in total. */
static bool accounted(const struct heki_log *log)
{
	for (int k = 0; k < HEKI_LOG_NKINDS; k++) {
		const struct heki_log_kind_stats *s = &log->st[k];

		if (s->offered != s->logged + s->dropped_rate + s->dropped_backlog)
			return false;
	}
	return true;
}

FIXTURE(log) {
	struct heki_log log;
	__u64 vm_seq;
};

FIXTURE_VARIANT(log) {
	struct heki_log_limits lim;
};

/* Small numbers, so every edge is reached in a few records. */
FIXTURE_VARIANT_ADD(log, small) {
	.lim = { .slots = 64, .burst = 4, .interval_ns = SEC / 10 },
};

/* What kvm.ko uses. */
FIXTURE_VARIANT_ADD(log, kvm_defaults) {
	.lim = { .slots = HEKI_LOG_SLOTS, .burst = HEKI_LOG_BURST,
		 .interval_ns = HEKI_LOG_INTERVAL_NS },
};

FIXTURE_SETUP(log)
{
	ASSERT_EQ(0, heki_log_init(&self->log, &variant->lim));
	self->vm_seq = 0;
}

FIXTURE_TEARDOWN(log)
{
	heki_log_destroy(&self->log);
}

TEST(limits_that_could_overwrite_unread_records_are_refused)
{
	struct heki_log log;
	struct heki_log_limits lim = { .slots = 16, .burst = 1, .quota = 3 };

	/* 8 kinds x 3 unread > 16 slots. */
	ASSERT_EQ(-1, heki_log_init(&log, &lim));
	lim.quota = 2;
	ASSERT_EQ(0, heki_log_init(&log, &lim));
	heki_log_destroy(&log);
	lim = (struct heki_log_limits){ .slots = 4, .burst = 1 };	/* quota 0 */
	ASSERT_EQ(-1, heki_log_init(&log, &lim));
	ASSERT_EQ(0, heki_log_init(&log, NULL));
	ASSERT_EQ(HEKI_LOG_SLOTS, log.lim.slots);
	ASSERT_EQ(HEKI_LOG_SLOTS / HEKI_LOG_NKINDS, log.lim.quota);
	heki_log_destroy(&log);
}

TEST(kind_names_round_trip)
{
	for (int k = 0; k < HEKI_LOG_NKINDS; k++)
		ASSERT_EQ(k, heki_log_kind(heki_log_kind_name(k)));
	ASSERT_EQ(HEKI_LK_OTHER, heki_log_kind("something-new"));
	ASSERT_EQ(HEKI_LK_WRITE, heki_log_kind("write"));
}

/* The burst passes at once, then one record per interval. */
TEST_F(log, rate_limit_is_a_burst_then_one_per_interval)
{
	unsigned int burst = self->log.lim.burst;
	__u64 iv = self->log.lim.interval_ns, t = 5 * SEC;

	for (unsigned int i = 0; i < burst; i++)
		ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "write", i, t));
	ASSERT_EQ(HEKI_LOG_DROPPED_RATE, offer(&self->log, &self->vm_seq, "write", 0, t));
	ASSERT_EQ(HEKI_LOG_DROPPED_RATE, offer(&self->log, &self->vm_seq, "write", 0, t + iv - 1));
	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "write", 0, t + iv));
	ASSERT_EQ(HEKI_LOG_DROPPED_RATE, offer(&self->log, &self->vm_seq, "write", 0, t + iv));
	/* Quiet for long enough, the whole burst is back (and no more). */
	drain(&self->log, NULL, 0);
	t += 1000 * SEC;
	for (unsigned int i = 0; i < burst; i++)
		ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "write", i, t));
	ASSERT_EQ(HEKI_LOG_DROPPED_RATE, offer(&self->log, &self->vm_seq, "write", 0, t));
	ASSERT_EQ(4, self->log.st[HEKI_LK_WRITE].dropped_rate);
	ASSERT_TRUE(accounted(&self->log));
}

/* Kinds have separate budgets: a write flood leaves a CR record its rate. */
TEST_F(log, a_flood_of_one_kind_does_not_limit_another)
{
	__u64 t = SEC;

	for (int i = 0; i < 100000; i++)
		offer(&self->log, &self->vm_seq, "write", i, t + i);
	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "cr4", 0, t + 100000));
	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "report", 0, t + 100000));
	ASSERT_EQ(100000, self->log.st[HEKI_LK_WRITE].offered);
	ASSERT_EQ(self->log.lim.burst, self->log.st[HEKI_LK_WRITE].logged);
	ASSERT_TRUE(accounted(&self->log));
}

/*
 * No reader at all: a kind fills its unread share and is dropped from then
 * on; records already in the log, of that kind and of others, stay, and
 * other kinds still get their share.
 */
TEST_F(log, nothing_is_overwritten_before_it_is_read)
{
	unsigned int quota = self->log.lim.quota;
	__u64 seqs[HEKI_LOG_SLOTS], t = SEC, first_cr, first_write;
	int n;

	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "cr0", 0, t));
	first_cr = self->vm_seq;
	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "write", 0xaaa000, t));
	first_write = self->vm_seq;
	/* Writes spaced one interval apart: never over the rate, only the share. */
	for (int i = 1; i < 10 * (int)quota; i++)
		offer(&self->log, &self->vm_seq, "write", i,
		      t + (__u64)i * self->log.lim.interval_ns);
	t += 10ull * quota * self->log.lim.interval_ns;
	ASSERT_EQ(quota, self->log.unread[HEKI_LK_WRITE]);
	ASSERT_EQ(10 * quota - quota, self->log.st[HEKI_LK_WRITE].dropped_backlog);
	ASSERT_EQ(0, self->log.st[HEKI_LK_WRITE].dropped_rate);
	/* Another kind still has all of its share. */
	for (unsigned int i = 0; i < quota; i++)
		ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "exec", i,
						 t + (__u64)i * self->log.lim.interval_ns));

	n = drain(&self->log, seqs, HEKI_LOG_SLOTS);
	ASSERT_EQ(1 + quota + quota, n);
	ASSERT_EQ(first_cr, seqs[0]);
	ASSERT_EQ(first_write, seqs[1]);
	/* Read in the order logged, vm_seq rising. */
	for (int i = 1; i < n; i++)
		ASSERT_LT(seqs[i - 1], seqs[i]);
	/* Read, the share is free again. */
	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "write", 1, t + 1000 * SEC));
	ASSERT_TRUE(accounted(&self->log));
}

/*
 * The accounting the rig checks: records delivered + dropped == the VM's
 * violation count, and the dropped vm_seq are exactly the ones missing.
 */
TEST_F(log, delivered_plus_dropped_is_every_violation)
{
	static __u64 seqs[200000];
	static unsigned char seen[200001];
	struct heki_log_kind_stats tot;
	__u64 t = SEC, missing = 0;
	int delivered = 0;

	for (int i = 0; i < 200000; i++) {
		static const char *const kinds[] = { "write", "write", "exec", "report", "cr0" };

		offer(&self->log, &self->vm_seq, kinds[i % 5], i, t);
		t += 20000;	/* 50,000 a second */
		if (i % 997 == 0)	/* a reader that looks now and then */
			delivered += drain(&self->log, seqs + delivered, 200000 - delivered);
	}
	delivered += drain(&self->log, seqs + delivered, 200000 - delivered);
	tot = heki_log_total(&self->log);
	ASSERT_EQ(200000, tot.offered);
	ASSERT_EQ(200000, self->log.vm_seq_max);
	ASSERT_EQ(tot.logged, delivered);
	ASSERT_EQ(self->log.vm_seq_max, delivered + tot.dropped_rate + tot.dropped_backlog);
	for (int i = 0; i < delivered; i++) {
		ASSERT_EQ(0, seen[seqs[i]]);	/* each delivered once */
		seen[seqs[i]] = 1;
	}
	for (__u64 s = 1; s <= self->log.vm_seq_max; s++)
		missing += !seen[s];
	ASSERT_EQ(tot.dropped_rate + tot.dropped_backlog, missing);
	ASSERT_TRUE(accounted(&self->log));
}

/* Two VMs, two logs: one floods with nobody reading; the other loses nothing. */
TEST_F(log, one_vm_flooding_does_not_evict_another_vms_records)
{
	struct heki_log other;
	__u64 other_seq = 0, seqs[8];
	const struct heki_log_rec *r;

	ASSERT_EQ(0, heki_log_init(&other, &variant->lim));
	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&other, &other_seq, "write", 0xbbb000, SEC));
	/* The flooding VM's own early record, of the flooding kind. */
	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&self->log, &self->vm_seq, "write", 0xaaa000, SEC));
	for (int i = 0; i < 1000000; i++)
		offer(&self->log, &self->vm_seq, (i & 1) ? "write" : "exec", i, SEC + i * 1000ull);
	ASSERT_EQ(HEKI_LOG_LOGGED, offer(&other, &other_seq, "write", 0xccc000, 3 * SEC));

	ASSERT_EQ(2, drain(&other, seqs, 8));
	ASSERT_EQ(1, seqs[0]);
	ASSERT_EQ(2, seqs[1]);
	ASSERT_EQ(0, heki_log_total(&other).dropped_rate + heki_log_total(&other).dropped_backlog);
	r = heki_log_peek(&self->log);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(1, r->vm_seq);
	ASSERT_EQ(0xaaa000, r->a);
	ASSERT_EQ(1000001, heki_log_total(&self->log).offered);
	ASSERT_TRUE(accounted(&self->log));
	heki_log_destroy(&other);
}

/* The last slots records stay readable for a snapshot, read or not. */
TEST_F(log, snapshot_holds_the_last_slots_records)
{
	unsigned int slots = self->log.lim.slots;
	__u64 t = SEC;

	for (unsigned int i = 0; i < 3 * slots; i++) {
		offer(&self->log, &self->vm_seq, heki_log_kind_name(i % HEKI_LOG_NKINDS), i, t);
		t += 100 * SEC;	/* never over the rate */
		drain(&self->log, NULL, 0);
	}
	ASSERT_EQ(3 * slots, self->log.head);
	ASSERT_EQ(2 * slots, heki_log_first(&self->log));
	ASSERT_EQ(NULL, heki_log_at(&self->log, 2 * slots - 1));
	ASSERT_EQ(NULL, heki_log_at(&self->log, 3 * slots));
	ASSERT_NE(NULL, heki_log_at(&self->log, 2 * slots));
	ASSERT_EQ(2 * slots, heki_log_at(&self->log, 2 * slots)->a);
	ASSERT_EQ(3 * slots - 1, heki_log_at(&self->log, 3 * slots - 1)->seq);
}

/* The line format ABI.md documents, one detail layout per kind. */
TEST(format_matches_abi_md)
{
	char buf[HEKI_LOG_LINE_MAX];
	struct heki_log_rec r = {
		.seq = 3, .vm_seq = 7, .vcpu = 1, .cpl = 0, .mode = "long64",
		.kind = "write", .via = "npt", .rip = 0xffffffffc0001234ull,
		.a = 0x12345678, .b = 0xffff888012345678ull, .c = 1,
	};
	int n;

	n = heki_log_format(buf, sizeof(buf), &r, 2, 153);
	ASSERT_EQ((int)strlen(buf), n);
	ASSERT_STREQ("seq=3 vm_id=2 vm_pid=153 vm_seq=7 vcpu=1 cpl=0 mode=long64 kind=write via=npt "
		     "rip=0xffffffffc0001234 gfn=0x12345 gpa=0x12345678 gva=0xffff888012345678 "
		     "attrs=0x1 action=refused\n", buf);
	r.kind = "report";
	r.via = "guest-checker";
	r.a = 2;
	heki_log_format(buf, sizeof(buf), &r, 2, 153);
	ASSERT_NE(NULL, strstr(buf, "what=cred value=0xffff888012345678 object=0x1 action=reported\n"));
	r.kind = "patch";
	r.a = 0x5000;
	r.c = 5 << 8 | 2;
	heki_log_format(buf, sizeof(buf), &r, 2, 153);
	ASSERT_NE(NULL, strstr(buf, "gfn=0x5 gpa=0x5000 gva=0xffff888012345678 len=5 why=not-site action=refused\n"));
	r.kind = "cr4";
	r.a = 0x300000;
	r.b = 0x200000;
	r.c = 0x100000;
	heki_log_format(buf, sizeof(buf), &r, 2, 153);
	ASSERT_NE(NULL, strstr(buf, "old=0x300000 new=0x200000 pinned=0x100000 action=refused\n"));
	r.kind = "protect";
	r.a = 0x7000;
	r.b = 3;
	r.c = 5;
	heki_log_format(buf, sizeof(buf), &r, 2, 153);
	ASSERT_NE(NULL, strstr(buf, "gfn=0x7 gpa=0x7000 npages=3 attrs=0x5 action=refused\n"));
	/* Cut short, it still says how long it would have been. */
	ASSERT_EQ(n, heki_log_format(buf, 10, &(struct heki_log_rec){ .seq = 3, .vm_seq = 7,
		.vcpu = 1, .mode = "long64", .kind = "write", .via = "npt",
		.rip = 0xffffffffc0001234ull, .a = 0x12345678,
		.b = 0xffff888012345678ull, .c = 1 }, 2, 153));
	ASSERT_EQ(9, strlen(buf));
}

TEST(summary_line_carries_every_count)
{
	struct heki_log_limits lim = { .slots = 64, .burst = 2, .interval_ns = SEC };
	char buf[HEKI_LOG_LINE_MAX];
	struct heki_log log;
	__u64 seq = 0;

	ASSERT_EQ(0, heki_log_init(&log, &lim));
	for (int i = 0; i < 5; i++)
		offer(&log, &seq, "write", i, SEC);
	offer(&log, &seq, "exec", 0, SEC);
	ASSERT_GT(HEKI_LOG_LINE_MAX, heki_log_format_summary(buf, sizeof(buf), &log, 4, 99, true));
	ASSERT_STREQ("log vm_id=4 vm_pid=99 ended=1 violations=6 offered=6 logged=3 dropped=3 "
		     "dropped_rate=3 dropped_backlog=0 unread=3 cr0=0/0/0 cr4=0/0/0 write=5/2/3 "
		     "exec=1/1/0 protect=0/0/0 report=0/0/0 patch=0/0/0 other=0/0/0\n", buf);
	heki_log_destroy(&log);
}

/*
 * The writer (heki_log_format) and the one reader (rig/heki_violation.h)
 * agree: every kind's record has only keys of HEKI_VIOLATION_KEYS, in its
 * order, and the reader gets back every value written.
 */
TEST(every_kind_writes_the_readers_keys)
{
	static const char *const keys[] = {
#define HEKI_VKEY_NAME(k) #k,
		HEKI_VIOLATION_KEYS(HEKI_VKEY_NAME)
#undef HEKI_VKEY_NAME
	};
	const size_t nkeys = sizeof(keys) / sizeof(keys[0]);
	char buf[HEKI_LOG_LINE_MAX], key[64], val[256];

	for (int k = 0; k < HEKI_LOG_NKINDS; k++) {
		struct heki_log_rec r = {
			.seq = 11, .vm_seq = 12, .vcpu = 1, .cpl = 3, .mode = "long64",
			.kind = heki_log_kind_name(k), .via = "npt", .rip = 0xffffffff81000000ull,
			.a = 0x5000, .b = 2, .c = 5 << 8 | 1,
		};
		const char *p = buf;
		size_t at = 0, seen = 0;

		heki_log_format(buf, sizeof(buf), &r, 4, 77);
		buf[strcspn(buf, "\n")] = '\0';
		while (heki_viol_next(&p, key, sizeof(key), val, sizeof(val))) {
			while (at < nkeys && strcmp(keys[at], key))
				at++;
			ASSERT_LT(at, nkeys) TH_LOG("kind %s: key %s not in HEKI_VIOLATION_KEYS or out of order: %s",
						    r.kind, key, buf);
			seen++;
		}
		EXPECT_LE(11, seen) TH_LOG("%s", buf);
		EXPECT_EQ(11, heki_viol_num(buf, HEKI_VKEY(seq), -1));
		EXPECT_EQ(4, heki_viol_num(buf, HEKI_VKEY(vm_id), -1));
		EXPECT_EQ(12, heki_viol_num(buf, HEKI_VKEY(vm_seq), -1));
		EXPECT_EQ(0xffffffff81000000ull, heki_viol_hex(buf, HEKI_VKEY(rip)));
		EXPECT_TRUE(heki_viol_is(buf, HEKI_VKEY(kind), r.kind)) TH_LOG("%s", buf);
		EXPECT_TRUE(heki_viol_find(buf, HEKI_VKEY(action)) != NULL);
		/* "id" is no key of its own: vm_id= must not answer for it. */
		EXPECT_EQ(NULL, heki_viol_find(buf, "id"));
	}
}

/* The summary's keys: vm_id, vm_pid, HEKI_VMLOG_KEYS in order, then the kinds. */
TEST(summary_writes_the_readers_keys)
{
	static const char *const keys[] = {
		"vm_id", "vm_pid",
#define HEKI_VKEY_NAME(k) #k,
		HEKI_VMLOG_KEYS(HEKI_VKEY_NAME)
#undef HEKI_VKEY_NAME
	};
	struct heki_log_limits lim = { .slots = 64, .burst = 2, .interval_ns = SEC };
	char buf[HEKI_LOG_LINE_MAX], key[64], val[64];
	struct heki_log log;
	const char *p;
	size_t i = 0;

	ASSERT_EQ(0, heki_log_init(&log, &lim));
	heki_log_format_summary(buf, sizeof(buf), &log, 4, 99, true);
	heki_log_destroy(&log);
	buf[strcspn(buf, "\n")] = '\0';
	ASSERT_EQ(0, strncmp(buf, "log ", 4));
	p = buf + 4;	/* heki-logfwd forwards the line without "log " */
	while (heki_viol_next(&p, key, sizeof(key), val, sizeof(val))) {
		const size_t nk = sizeof(keys) / sizeof(keys[0]);
		const char *want = i < nk ? keys[i] : heki_log_kind_name(i - nk);

		ASSERT_STREQ(want, key) TH_LOG("%s", buf);
		i++;
	}
	EXPECT_EQ(sizeof(keys) / sizeof(keys[0]) + HEKI_LOG_NKINDS, i);
	EXPECT_EQ(1, heki_viol_num(buf + 4, HEKI_VKEY(ended), -1));
	EXPECT_EQ(0, heki_viol_num(buf + 4, HEKI_VKEY(dropped), -1));
}

TEST_HARNESS_MAIN
