// SPDX-License-Identifier: GPL-2.0
/*
 * Authenticated patching (host/heki_patch.h): what kvm.ko accepts in
 * HEKI_HC_SITES and HEKI_HC_PATCH.  The byte sequences are the ones
 * Linux 6.1's x86 jump labels, static calls, ftrace and kprobes write,
 * including text_poke_bp()'s intermediate INT3 states; each kind of site
 * refuses what the kernel never writes there (arch/x86/kernel/static_call.c,
 * ftrace.c), and every CALL/JMP must name a registered function entry.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "heki_patch.h"

#define TEXT	0xffffffff81000000ull
#define TEXT_PA	0x1000000ull
#define MODS	0xffffffffa0000000ull

static struct heki_site site_buf[64];
static struct heki_func func_buf[16];
static struct heki_int3 int3_buf[HEKI_INT3_MAX];

#define FN		(TEXT + 0x5000)		/* a function entry */
#define FTRACE_CALLER	(TEXT + 0x6000)		/* ftrace_caller */
#define FTRACE_REGS	(TEXT + 0x6100)		/* ftrace_regs_caller */
#define FTRACE_SITE	(TEXT + 0x300)
#define CALL_SITE	(TEXT + 0x310)
#define TAIL_SITE	(TEXT + 0x320)

FIXTURE(sites) {
	struct heki_sites s;
};

static const struct heki_site base[] = {
	{ TEXT, TEXT_PA, 0x800000, HEKI_SITE_TEXT, 0 },
	{ MODS, 0, 0x40000000, HEKI_SITE_TARGETS, 0 },
	{ TEXT + 0x100, 0, 5, HEKI_SITE_JUMP, TEXT + 0x200 },	/* jump label, 5 */
	{ TEXT + 0x110, 0, 2, HEKI_SITE_JUMP, TEXT + 0x120 },	/* jump label, 2 */
	{ FTRACE_SITE, 0, 5, HEKI_SITE_FTRACE, 0 },
	{ CALL_SITE, 0, 5, HEKI_SITE_CALL, 0 },			/* static call site */
	{ TAIL_SITE, 0, 5, HEKI_SITE_TAIL, 0 },			/* trampoline */
	{ FN, 0, 0x100, HEKI_SITE_FUNC, 0 },
	{ FTRACE_CALLER, 0, 0x100, HEKI_SITE_FUNC, HEKI_FUNC_FTRACE },
	{ FTRACE_REGS, 0, 0x100, HEKI_SITE_FUNC, HEKI_FUNC_FTRACE },
};
#define NBASE (sizeof(base) / sizeof(base[0]))

FIXTURE_SETUP(sites)
{
	memset(&self->s, 0, sizeof(self->s));
	self->s.site = site_buf;
	self->s.cap = 64;
	self->s.func = func_buf;
	self->s.fcap = 16;
	self->s.int3 = int3_buf;
	ASSERT_EQ(0, heki_sites_add(&self->s, base, NBASE));
}

FIXTURE_TEARDOWN(sites) {}

/* Builds a rel32 instruction at @at reaching @dest. */
static void rel32(__u8 *b, __u8 op, __u64 at, __u64 dest)
{
	__s32 rel = (__s32)(dest - (at + 5));

	b[0] = op;
	memcpy(b + 1, &rel, 4);
}

/* Runs a request through locate + decide against @cur; the reason. */
static int request(struct heki_sites *s, __u64 gva, const __u8 *new,
		   unsigned int len, const __u8 *cur)
{
	struct heki_patch_plan p;
	int r = heki_patch_locate(s, gva, len, &p);

	if (r)
		return r;
	r = heki_patch_decide(s, &p, gva, new, len, cur);
	if (!r)
		heki_patch_commit(s, &p, gva, cur[0]);
	return r;
}

TEST_F(sites, registered_in_order)
{
	EXPECT_EQ(5, self->s.n);
	EXPECT_EQ(3, self->s.nfunc);
	EXPECT_EQ(3, heki_sites_count_funcs(base, NBASE));
	EXPECT_EQ(2, self->s.nranges);
	EXPECT_EQ(2, heki_sites_find(&self->s, TEXT + 0x300));
	EXPECT_EQ(0, heki_func_find(&self->s, FN));
	EXPECT_EQ(2, heki_func_find(&self->s, FTRACE_REGS));
	EXPECT_EQ(-1, heki_func_find(&self->s, FN + 1));
	EXPECT_EQ(1, heki_sites_find(&self->s, TEXT + 0x111));
	EXPECT_EQ(-1, heki_sites_find(&self->s, TEXT + 0xff));
}

TEST_F(sites, registration_refuses_disorder_and_strays)
{
	struct heki_site overlap = { TEXT + 0x302, 0, 5, HEKI_SITE_CALL, 0 };
	struct heki_site before = { TEXT + 0x10, 0, 5, HEKI_SITE_CALL, 0 };
	struct heki_site outside = { 0xffffffff90000000ull, 0, 5, HEKI_SITE_CALL, 0 };
	struct heki_site badlen = { TEXT + 0x400, 0, 3, HEKI_SITE_JUMP, TEXT };
	struct heki_site notarget = { TEXT + 0x400, 0, 5, HEKI_SITE_JUMP, 0 };
	struct heki_site badkind = { TEXT + 0x400, 0, 5, 9, 0 };
	struct heki_site misaligned = { TEXT + 1, TEXT_PA, 4096, HEKI_SITE_TEXT, 0 };
	struct heki_site pair[2] = {
		{ TEXT + 0x400, 0, 5, HEKI_SITE_CALL, 0 },
		{ TEXT + 0x404, 0, 5, HEKI_SITE_CALL, 0 },	/* overlaps its neighbour */
	};
	struct heki_site call6 = { TEXT + 0x400, 0, 6, HEKI_SITE_CALL, 0 };
	struct heki_site ftrace_target = { TEXT + 0x400, 0, 5, HEKI_SITE_FTRACE, FN };
	struct heki_site tail_target = { TEXT + 0x400, 0, 5, HEKI_SITE_TAIL, 0x85 };
	struct heki_site jcc_nocond = { TEXT + 0x400, 0, 6, HEKI_SITE_TAIL, 0x75 };
	struct heki_site fn_before = { FN - 0x10, 0, 0x10, HEKI_SITE_FUNC, 0 };
	struct heki_site fn_again = { FTRACE_REGS, 0, 0x10, HEKI_SITE_FUNC, 0 };
	struct heki_site fn_outside = { MODS + 0x1000, 0, 0x10, HEKI_SITE_FUNC, 0 };
	struct heki_site fn_flags = { TEXT + 0x7000, 0, 0x10, HEKI_SITE_FUNC, 2 };

	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &overlap, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &before, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &outside, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &badlen, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &notarget, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &badkind, 1));
	EXPECT_EQ(-HEKI_EALIGN, heki_sites_add(&self->s, &misaligned, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, pair, 2));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &call6, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &ftrace_target, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &tail_target, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &jcc_nocond, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &fn_before, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &fn_again, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &fn_outside, 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &fn_flags, 1));
	EXPECT_EQ(5, self->s.n);	/* nothing of a refused batch stays */
	EXPECT_EQ(3, self->s.nfunc);
	EXPECT_EQ(2, self->s.nranges);
}

TEST_F(sites, registration_capacity)
{
	struct heki_site r = { TEXT, TEXT_PA, 4096, HEKI_SITE_TEXT, 0 };
	unsigned int i;

	for (i = self->s.nranges; i < HEKI_SITE_RANGES_MAX; i++)
		ASSERT_EQ(0, heki_sites_add(&self->s, &r, 1));
	EXPECT_EQ(-HEKI_E2BIG, heki_sites_add(&self->s, &r, 1));
	self->s.cap = self->s.n;	/* the caller did not grow the array */
	r = (struct heki_site){ TEXT + 0x1000, 0, 5, HEKI_SITE_CALL, 0 };
	EXPECT_EQ(-HEKI_E2BIG, heki_sites_add(&self->s, &r, 1));
	self->s.fcap = self->s.nfunc;	/* nor the function entries */
	r = (struct heki_site){ TEXT + 0x7000, 0, 5, HEKI_SITE_FUNC, 0 };
	EXPECT_EQ(-HEKI_E2BIG, heki_sites_add(&self->s, &r, 1));
}

/* static_branch_enable(): NOP5 -> INT3 + NOP tail -> INT3 + rel32 -> JMP. */
TEST_F(sites, jump_label_enable_through_text_poke_bp)
{
	__u64 at = TEXT + 0x100;
	__u8 cur[5], jmp[5], int3 = 0xcc;

	memcpy(cur, heki_nop5, 5);
	rel32(jmp, 0xe9, at, TEXT + 0x200);
	ASSERT_EQ(0, request(&self->s, at, &int3, 1, cur));
	cur[0] = 0xcc;
	ASSERT_EQ(0, request(&self->s, at + 1, jmp + 1, 4, cur));
	memcpy(cur + 1, jmp + 1, 4);
	ASSERT_EQ(0, request(&self->s, at, jmp, 1, cur));
	/* and back */
	memcpy(cur, jmp, 5);
	ASSERT_EQ(0, request(&self->s, at, heki_nop5, 5, cur));
}

TEST_F(sites, jump_label_other_target_refused)
{
	__u64 at = TEXT + 0x100;
	__u8 cur[5], jmp[5];

	memcpy(cur, heki_nop5, 5);
	rel32(jmp, 0xe9, at, TEXT + 0x204);
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, jmp, 5, cur));
	rel32(jmp, 0xe8, at, TEXT + 0x200);	/* a CALL is not a jump label's */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, jmp, 5, cur));
	/* Nor its tail after an INT3. */
	cur[0] = 0xcc;
	rel32(jmp, 0xe9, at, TEXT + 0x204);
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at + 1, jmp + 1, 4, cur));
}

TEST_F(sites, jump_label_two_bytes)
{
	__u64 at = TEXT + 0x110;
	__u8 cur[2] = { 0x66, 0x90 }, jmp[2] = { 0xeb, 0x0e };	/* to +0x120 */
	__u8 far[2] = { 0xeb, 0x10 };

	EXPECT_EQ(0, request(&self->s, at, jmp, 2, cur));
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, far, 2, cur));
	EXPECT_EQ(0, request(&self->s, at, heki_nop2, 2, jmp));
}

/*
 * An ftrace site holds a NOP5 or a CALL of ftrace's own entry (or of a
 * trampoline in the module area), never a JMP, a RET or another function:
 * "jmp __static_call_return0" at cap_capable()'s site would make every
 * capability check pass.
 */
TEST_F(sites, ftrace_site_rules)
{
	__u64 at = FTRACE_SITE;
	__u8 cur[5], b[5];

	memcpy(cur, heki_nop5, 5);
	rel32(b, 0xe8, at, FTRACE_CALLER);
	EXPECT_EQ(0, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe8, at, FTRACE_REGS);		/* kprobes on ftrace */
	EXPECT_EQ(0, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe8, at, MODS + 0x1234);		/* an ftrace or BPF trampoline */
	EXPECT_EQ(0, request(&self->s, at, b, 5, cur));
	EXPECT_EQ(0, request(&self->s, at, heki_nop5, 5, b));
	rel32(b, 0xe8, at, FN);				/* a function, not ftrace's entry */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe9, at, FN);				/* jmp __static_call_return0 */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe9, at, FTRACE_CALLER);		/* even to ftrace's entry */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, heki_ret_int3, 5, cur));
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, heki_xor5rax, 5, cur));
	rel32(b, 0xe8, at, FTRACE_CALLER + 1);
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	/* Nor as text_poke_bp()'s INT3 + tail. */
	cur[0] = 0xcc;
	rel32(b, 0xe9, at, FN);
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at + 1, b + 1, 4, cur));
}

/* A static call site (not a tail call): NOP5, CALL of a function, xor5rax. */
TEST_F(sites, static_call_site_rules)
{
	__u64 at = CALL_SITE;
	__u8 cur[5], b[5];

	memcpy(cur, heki_nop5, 5);
	rel32(b, 0xe8, at, FN);
	EXPECT_EQ(0, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe8, at, MODS + 0x40);		/* a module's function */
	EXPECT_EQ(0, request(&self->s, at, b, 5, cur));
	EXPECT_EQ(0, request(&self->s, at, heki_xor5rax, 5, cur));
	EXPECT_EQ(0, request(&self->s, at, heki_nop5, 5, b));
	rel32(b, 0xe8, at, FN + 7);			/* into the middle: a gadget */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe8, at, TEXT + 0x1000000);		/* kernel data past the text */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe9, at, FN);				/* a tail call is not this site's */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	/* RET mid-function would return from the caller early. */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, heki_ret_int3, 5, cur));
	b[0] = 0xff;					/* anything else */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
}

/* A trampoline or tail-call site: JMP to a function, or RET + INT3. */
TEST_F(sites, static_call_tail_rules)
{
	__u64 at = TAIL_SITE;
	__u8 cur[5], b[5];

	memcpy(cur, heki_ret_int3, 5);
	rel32(b, 0xe9, at, FN);
	EXPECT_EQ(0, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe9, at, MODS + 0x40);
	EXPECT_EQ(0, request(&self->s, at, b, 5, cur));
	EXPECT_EQ(0, request(&self->s, at, heki_ret_int3, 5, b));
	rel32(b, 0xe9, at, FN + 7);			/* a gadget */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	rel32(b, 0xe8, at, FN);				/* a CALL is not a tail call */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 5, cur));
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, heki_nop5, 5, cur));
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, heki_xor5rax, 5, cur));
}

/* A conditional tail call: Jcc rel32, six bytes, its condition for good. */
TEST_F(sites, jcc_tail_call_site)
{
	struct heki_site jcc = { TEXT + 0x400, 0, 6, HEKI_SITE_TAIL, 0x85 };
	struct heki_site fn2 = { TEXT + 0x7000, 0, 0x10, HEKI_SITE_FUNC, 0 };
	__u64 at = TEXT + 0x400;
	__u8 cur[6], b[6];
	__s32 rel;

	ASSERT_EQ(0, heki_sites_add(&self->s, &jcc, 1));
	ASSERT_EQ(0, heki_sites_add(&self->s, &fn2, 1));
	b[0] = 0x0f;
	b[1] = 0x85;				/* jne */
	rel = (__s32)(FN - (at + 6));
	memcpy(b + 2, &rel, 4);
	memcpy(cur, b, 6);
	rel = (__s32)(TEXT + 0x7000 - (at + 6));
	memcpy(b + 2, &rel, 4);
	EXPECT_EQ(0, request(&self->s, at + 2, b + 2, 4, cur));	/* retarget */
	b[1] = 0x84;				/* je: another condition */
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, b, 6, cur));
	b[1] = 0x85;
	rel = (__s32)(TEXT + 0x7004 - (at + 6));	/* a gadget */
	memcpy(b + 2, &rel, 4);
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at + 2, b + 2, 4, cur));
	rel = (__s32)(0xffff888000000000ull - (at + 6));
	memcpy(b + 2, &rel, 4);
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at + 2, b + 2, 4, cur));
	EXPECT_EQ(HEKI_PR_BYTES, request(&self->s, at, heki_nop5, 5, cur));
}

TEST_F(sites, requests_must_stay_inside_one_site)
{
	__u8 cur[16] = { 0 }, b[16];

	memset(b, 0x90, sizeof(b));
	/* Starts before the site, ends in it. */
	EXPECT_EQ(HEKI_PR_NOT_SITE, request(&self->s, TEXT + 0xfe, b, 4, cur));
	/* Starts in it, runs past its end. */
	EXPECT_EQ(HEKI_PR_NOT_SITE, request(&self->s, TEXT + 0x102, b, 4, cur));
	/* Between sites, more than one byte. */
	EXPECT_EQ(HEKI_PR_NOT_SITE, request(&self->s, TEXT + 0x200, b, 5, cur));
	/* Outside the text. */
	EXPECT_EQ(HEKI_PR_NOT_TEXT, request(&self->s, TEXT - 8, b, 1, cur));
	EXPECT_EQ(HEKI_PR_NOT_TEXT, request(&self->s, MODS, b, 1, cur));
	/* Straddling the end of the text range. */
	EXPECT_EQ(HEKI_PR_NOT_TEXT, request(&self->s, TEXT + 0x7ffffe, b, 4, cur));
}

/* A kprobe: INT3 anywhere, then exactly the byte it replaced. */
TEST_F(sites, kprobe_arm_and_disarm)
{
	__u64 at = TEXT + 0x5555;
	__u8 orig = 0x48, int3 = 0xcc, other = 0x90;

	EXPECT_EQ(HEKI_PR_INT3, request(&self->s, at, &other, 1, &orig));
	ASSERT_EQ(0, request(&self->s, at, &int3, 1, &orig));
	EXPECT_EQ(1, self->s.nint3);
	EXPECT_EQ(0, request(&self->s, at, &int3, 1, &int3));	/* again: no new entry */
	EXPECT_EQ(1, self->s.nint3);
	EXPECT_EQ(HEKI_PR_INT3, request(&self->s, at, &other, 1, &int3));
	ASSERT_EQ(0, request(&self->s, at, &orig, 1, &int3));
	EXPECT_EQ(0, self->s.nint3);
	/* Disarmed: the old byte is no longer a licence. */
	EXPECT_EQ(HEKI_PR_INT3, request(&self->s, at, &orig, 1, &orig));
}

TEST_F(sites, int3_table_bounded)
{
	__u8 orig = 0x55, int3 = 0xcc;
	unsigned int i;

	for (i = 0; i < HEKI_INT3_MAX; i++)
		ASSERT_EQ(0, request(&self->s, TEXT + 0x10000 + i, &int3, 1, &orig));
	EXPECT_EQ(HEKI_PR_INT3_FULL, request(&self->s, TEXT + 0x20000, &int3, 1, &orig));
}

/* A stand-in decoder: an instruction is as long as its first byte's low nibble. */
static int fake_len(const __u8 *p, unsigned int avail)
{
	int n = p[0] & 0xf;

	return n && (unsigned int)n <= avail ? n : -1;
}

/*
 * A kprobe's INT3 only where an instruction starts: decoded from the
 * function's entry, a registered site as one instruction, the byte under
 * an INT3 already placed put back first.
 */
TEST_F(sites, int3_only_at_an_instruction_boundary)
{
	struct heki_site call = { FN + 0x10, 0, 5, HEKI_SITE_CALL, 0 };
	/* 3-byte, 2-byte, 5-byte, 1, 1, 1 ... then the site at +0x10 */
	__u8 buf[0x20] = { 0x03, 0xaa, 0xbb, 0x02, 0xbb, 0x05, 1, 2, 3, 4,
			   0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
			   0xcc, 0x1f, 0x44, 0x00, 0x00,	/* site mid-text_poke_bp */
			   0x02, 0x00 };
	const struct heki_func *f;
	long fi;

	ASSERT_EQ(0, heki_sites_add(&self->s, &call, 1));
	fi = heki_func_holding(&self->s, FN + 5);
	ASSERT_EQ(0, fi);
	f = &self->s.func[fi];
	EXPECT_TRUE(heki_int3_on_boundary(&self->s, f, FN, buf, sizeof(buf), fake_len));
	EXPECT_TRUE(heki_int3_on_boundary(&self->s, f, FN + 3, buf, sizeof(buf), fake_len));
	EXPECT_TRUE(heki_int3_on_boundary(&self->s, f, FN + 5, buf, sizeof(buf), fake_len));
	EXPECT_TRUE(heki_int3_on_boundary(&self->s, f, FN + 10, buf, sizeof(buf), fake_len));
	EXPECT_TRUE(heki_int3_on_boundary(&self->s, f, FN + 0x15, buf, sizeof(buf), fake_len));
	/* Inside an instruction: an immediate, a displacement, the site's tail. */
	EXPECT_FALSE(heki_int3_on_boundary(&self->s, f, FN + 1, buf, sizeof(buf), fake_len));
	EXPECT_FALSE(heki_int3_on_boundary(&self->s, f, FN + 4, buf, sizeof(buf), fake_len));
	EXPECT_FALSE(heki_int3_on_boundary(&self->s, f, FN + 7, buf, sizeof(buf), fake_len));
	EXPECT_FALSE(heki_int3_on_boundary(&self->s, f, FN + 0x11, buf, sizeof(buf), fake_len));
	/* Past what could be read, or past the walk's bound. */
	EXPECT_FALSE(heki_int3_on_boundary(&self->s, f, FN + 0x17, buf, 0x16, fake_len));
	EXPECT_FALSE(heki_int3_on_boundary(&self->s, f, FN + HEKI_INT3_WALK_MAX + 1, buf,
					   sizeof(buf), fake_len));
	/* An INT3 the host placed reads as the byte it replaced. */
	self->s.int3[self->s.nint3++] = (struct heki_int3){ FN + 5, 0x05 };
	buf[5] = 0xcc;
	EXPECT_FALSE(heki_int3_on_boundary(&self->s, f, FN + 10, buf, sizeof(buf), fake_len));
	heki_int3_undo(&self->s, FN, buf, sizeof(buf));
	EXPECT_EQ(0x05, buf[5]);
	EXPECT_TRUE(heki_int3_on_boundary(&self->s, f, FN + 10, buf, sizeof(buf), fake_len));
}

TEST_F(sites, int3_needs_a_function_outside_noprobe_text)
{
	struct heki_site noprobe = { TEXT + 0x8000, 0, 0x1000, HEKI_SITE_NOPROBE, 0 };
	struct heki_site bad = { TEXT + 0x8000, 0, 0x1000, HEKI_SITE_NOPROBE, 1 };

	EXPECT_EQ(-1, heki_func_holding(&self->s, FN - 1));
	EXPECT_EQ(0, heki_func_holding(&self->s, FN + 0xff));
	EXPECT_EQ(-1, heki_func_holding(&self->s, FN + 0x100));	/* past its length */
	EXPECT_EQ(2, heki_func_holding(&self->s, FTRACE_REGS + 1));
	EXPECT_EQ(-HEKI_EINVAL, heki_sites_add(&self->s, &bad, 1));
	EXPECT_FALSE(heki_sites_noprobe(&self->s, TEXT + 0x8000));
	ASSERT_EQ(0, heki_sites_add(&self->s, &noprobe, 1));
	EXPECT_TRUE(heki_sites_noprobe(&self->s, TEXT + 0x8000));
	EXPECT_TRUE(heki_sites_noprobe(&self->s, TEXT + 0x8fff));
	EXPECT_FALSE(heki_sites_noprobe(&self->s, TEXT + 0x9000));
	EXPECT_FALSE(heki_sites_view_ok(&self->s, TEXT + 0x8000));
	EXPECT_FALSE(heki_sites_target_ok(&self->s, TEXT + 0x8000, 0));
}

TEST_F(sites, gpa_follows_the_text_range)
{
	struct heki_patch_plan p;

	ASSERT_EQ(0, heki_patch_locate(&self->s, TEXT + 0x302, 2, &p));
	EXPECT_EQ(TEXT_PA + 0x302, p.gpa);
	EXPECT_EQ(TEXT_PA + 0x300, p.site_gpa);
	EXPECT_EQ(5, p.site_len);
}

TEST_F(sites, view_and_target_ranges)
{
	EXPECT_TRUE(heki_sites_view_ok(&self->s, MODS + 5));
	EXPECT_FALSE(heki_sites_view_ok(&self->s, TEXT + 5));	/* text: HEKI_HC_PATCH only */
	EXPECT_FALSE(heki_sites_view_ok(&self->s, 0));
	EXPECT_TRUE(heki_sites_target_ok(&self->s, FN, 0));
	EXPECT_FALSE(heki_sites_target_ok(&self->s, FN, HEKI_FUNC_FTRACE));
	EXPECT_TRUE(heki_sites_target_ok(&self->s, FTRACE_CALLER, HEKI_FUNC_FTRACE));
	EXPECT_TRUE(heki_sites_target_ok(&self->s, MODS + 3, HEKI_FUNC_FTRACE));
	EXPECT_FALSE(heki_sites_target_ok(&self->s, TEXT, 0));	/* text, not an entry */
	EXPECT_FALSE(heki_sites_target_ok(&self->s, TEXT - 1, 0));
}

TEST_F(sites, reset_forgets_everything)
{
	heki_sites_reset(&self->s);
	EXPECT_EQ(0, self->s.n);
	EXPECT_EQ(0, self->s.nfunc);
	EXPECT_EQ(0, self->s.nranges);
	EXPECT_EQ(0, heki_sites_add(&self->s, base, NBASE));
}

TEST_HARNESS_MAIN
