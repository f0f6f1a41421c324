// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile-guest fuzz of the Heki hypercalls, before and after lockdown.
 *
 * One read of debugfs heki/fuzz runs one phase: "fuzz_" lines when the VM
 * is not locked down yet, "fuzz_locked_" lines after (the smoke suite reads
 * it on both sides of its lockdown check).  A phase sends fuzz_calls calls
 * (default 100,000) from one kthread per online CPU (fuzz_threads caps it),
 * each call a number of the Heki block (all 256, the unassigned ones too,
 * and the two numbers just outside it) with arguments drawn from random
 * values, boundary values and plausible ones: the fuzz's own pages, the
 * sentinel pages, kernel text addresses, the fuzz's own patch sites.
 *
 * The seed is get_random_u64() unless fuzz_seed= is given, and is printed
 * with the results; thread i draws from seed + i.  With one thread
 * (fuzz_threads=1) a seed replays the same calls exactly; with several the
 * draws replay and the interleaving does not.
 *
 * While the threads run, the controlling task drives the host to its
 * limits, each reached and reported: the window table full (64 frames),
 * the INT3 table full (1,024), the patch-view nesting full (255), the site
 * ranges full (8, before lockdown); after them, the permission store full
 * (65,536 ranges: -HEKI_E2BIG; fuzz_store_limit says in which phases).
 *
 * Passing means: every answer is 0 or an error the ABI documents for that
 * call, and the exact one wherever the fuzz built the state (the
 * "expectations" below); every page the host patched holds exactly what
 * was asked, and nothing else changed; a set of sentinel pages, one per
 * attribute class, kept its contents and its permissions; the VM's
 * counters (HEKI_HC_STATS, heki_info.calls) add up to the calls made; the
 * host still answers and every window and range the fuzz made is gone.
 * L1 kernel warnings fail the run in rigrun; the host-wide counters of
 * heki/status are checked by the rig test.
 *
 * What the fuzz must never do is break its own guest, or a crash would
 * hide what happened to the host.  Every call whose arguments pass the
 * host's checks (heki_check.h decides it, as the host does) is constrained:
 *
 *  - ranges (PROTECT, batch entries, windows) in guest RAM go to the fuzz's
 *    own pages: a 16-page target block, the sentinels (only in ways that
 *    cannot change them: windows that are closed again, weakenings the host
 *    must refuse after lockdown) and, for the limits, pages allocated for
 *    them.  After lockdown no IMMUTABLE is set on the target block and it
 *    keeps EXEC, so it can be released and no window on it is refused.
 *    Ranges beyond RAM are sent as drawn and released if accepted;
 *  - buffers the host writes (QUERY, STATS) go to the thread's arg page,
 *    or to a read-only sentinel (the host must refuse: -HEKI_EWRPROT);
 *  - LOCKDOWN is one-way: before lockdown only forms the host must refuse
 *    for their arguments; after it, only forms that must get -HEKI_ELOCKED
 *    (never HEKI_LOCK_AUTH on a VM locked without it: heki.ko's pokes
 *    would then be refused);
 *  - SITES: a well-formed call with HEKI_SITES_RESET would forget the
 *    kernel's sites (the reset happens even when the entries are then
 *    refused), so RESET goes only with arguments the host refuses first.
 *    Entries are random and plausible (real kernel sites and text), always
 *    with one entry of an unknown kind, so the host adds nothing.  The
 *    fuzz's own sites are registered once, before the first lockdown:
 *    a TEXT range named at a gva past the end of kernel text (a name
 *    only: the host never uses it as an address) whose gpa is a block of
 *    fuzz pages kept for the VM's life, with jump, call, tail, ftrace sites
 *    and function entries in it: the "sandbox";
 *  - PATCH on kernel text only ever writes the bytes that are there (read
 *    under text_mutex, so no poke of the kernel's own is under way): a
 *    legitimate encoding at the wrong time would change what the kernel
 *    does, and a 5-byte write racing a vCPU that executes it can tear an
 *    instruction, so nothing else is sent that the host could accept
 *    there; other kernel-text requests are at least 7 bytes long (no site
 *    is longer than 6: always refused).  A lone 0xCC is never sent to
 *    kernel text: an INT3 no kprobe owns kills the kernel when executed,
 *    and over a byte that already is 0xCC it would hold one of the 1,024
 *    INT3 slots for good (its "original" byte 0xCC can never be written
 *    back: a 0xCC request always arms).  Everything else, plausible
 *    encodings, random bytes, INT3 and their undo, goes to the sandbox,
 *    where the host's answer is predicted with its own rules (heki_patch.h)
 *    and the page checked after every call;
 *  - VIEW_SWITCH: a vCPU's view nesting is shared by every task on it, and
 *    a leave the fuzz did not enter would take the patch view from a
 *    text_poke() preempted on that vCPU.  Enters and leaves come in pairs
 *    with preemption off in between; a lone leave is sent only with
 *    text_mutex held (no poke anywhere) and must get -HEKI_ENOTOPEN;
 *  - VMFUNC (Intel only): enabling twice is harmless, disabling would end
 *    heki.ko's own switching, so only "enable" and only in mode=vmfunc;
 *  - the window table and the INT3 table are filled with text_mutex held,
 *    so no text_poke() of the kernel's meets a full table;
 *  - until the host's violation log keeps each VM's records apart, the
 *    calls that make the host log a record are capped per phase
 *    (fuzz_log_budget, default 64; 0: no cap): the log is 256 records
 *    host-wide and the rig test matches the other checks' records in it.
 *    A call over the cap is sent with an argument the host refuses first.
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/random.h>
#include <linux/mutex.h>
#include <linux/sort.h>
#include <linux/io.h>
#include <linux/sizes.h>

#include "heki_guest.h"
#include "heki_check.h"
#include "heki_patch.h"

static unsigned long fuzz_calls = 50000;
module_param(fuzz_calls, ulong, 0644);
MODULE_PARM_DESC(fuzz_calls, "hypercalls each fuzz phase sends, all threads together (default 50000: 100,000 before and after lockdown)");
static unsigned long long fuzz_seed;
module_param(fuzz_seed, ullong, 0644);
MODULE_PARM_DESC(fuzz_seed, "seed of the fuzz (0: a random one, printed with the results)");
static unsigned int fuzz_threads;
module_param(fuzz_threads, uint, 0644);
MODULE_PARM_DESC(fuzz_threads, "fuzz threads (0: one per online CPU, at most 8; 1 replays a seed exactly)");
static unsigned int fuzz_log_budget = 64;
module_param(fuzz_log_budget, uint, 0644);
MODULE_PARM_DESC(fuzz_log_budget, "calls per phase that may make the host log a record (0: no cap)");
/*
 * Off by default: filling the store takes 20-45 s of a smoke run under TCG
 * today, most of it the host copying its whole store (1.5 MiB near the
 * limit) for every PROTECT (issue 13, item 10).  make nightly sets 3.
 */
static unsigned int fuzz_store_limit;
module_param(fuzz_store_limit, uint, 0644);
MODULE_PARM_DESC(fuzz_store_limit, "fill the permission store to -HEKI_E2BIG: bit 0 before lockdown, bit 1 after (default 0)");

#define RWX		(HEKI_ATTR_WRITE | HEKI_ATTR_EXEC)
#define IMM		HEKI_ATTR_IMMUTABLE
#define PATTERN		0x5a5a5a5a5a5a5a5aull
#define MAX_THREADS	8			/* sandbox pages: 7 threads and the controller */
#define TARGET_ORDER	4			/* 16 pages the fuzz may protect */
#define TARGET_PAGES	(1u << TARGET_ORDER)
#define EXP_ANY		1			/* no call answers 1 */
#define KVM_ENOSYS_RET	(-1000L)		/* KVM's answer outside the block */
#define NCODES		32			/* 0 and -(HEKI_EBASE + 1 .. + 31) */
#define NNRS		258			/* the block, and the two numbers beside it */

/* ----------------------------------------------------------- sentinels */

/*
 * One page per attribute class, twice: the first set may get windows (and
 * weakening requests after lockdown), the second is where the host is
 * asked to write results (it must refuse the read-only ones).  After the
 * fuzz each must hold its pattern and refuse or take a write as its
 * attributes say.  After lockdown the immutable ones stay protected for
 * the VM's life (kept allocated on purpose).
 */
static const struct { const char *name; int attrs; } classes[] = {
	{ "unprotected", -1 }, { "r", HEKI_ATTR_RO },
	{ "rx", HEKI_ATTR_EXEC },
	{ "rw", HEKI_ATTR_WRITE }, { "none", 0 },
	{ "r_immutable", IMM },
	{ "rx_immutable", HEKI_ATTR_EXEC | IMM },
	{ "rw_immutable", HEKI_ATTR_WRITE | IMM },
};
#define NCLASSES	ARRAY_SIZE(classes)
#define NSENT		(2 * NCLASSES)

struct sentinel {
	u64 *va;
	phys_addr_t pa;
	int attrs;		/* -1: not protected */
	bool window;		/* first set: windows; second: result buffers */
};

/* ------------------------------------------------------------- sandbox */

/*
 * The sandbox: fuzz pages the host knows as kernel text at a made-up gva
 * (never mapped, never executed), one page per thread and one for the
 * INT3 table.  Each thread page holds SB_GROUPS groups of six sites and
 * three function entries; the bytes between are lone bytes.
 */
#define SB_PAGES	(MAX_THREADS + 1)
#define SB_ORDER	4
#define SB_GROUPS	16
#define SB_STRIDE	64
#define SB_FUNC_OFF	0x800
#define SB_INT3_PAGE	MAX_THREADS
#define SB_SPAN		SZ_1M	/* of gvas: the sandbox and the aliases of limit_ranges() */

static const struct { u32 off, len, kind; } sb_layout[] = {
	{ 0, 2, HEKI_SITE_JUMP }, { 4, 5, HEKI_SITE_JUMP },
	{ 12, 5, HEKI_SITE_CALL }, { 20, 5, HEKI_SITE_TAIL },
	{ 28, 6, HEKI_SITE_TAIL }, { 36, 5, HEKI_SITE_FTRACE },
};
#define SB_PER_PAGE	(SB_GROUPS * ARRAY_SIZE(sb_layout))
#define SB_FUNCS	3	/* per page: plain, ftrace entry, plain */

static struct {
	bool registered;	/* with the host, before the first lockdown */
	long register_ret;
	u64 gva;		/* of page 0 */
	u8 *va;
	phys_addr_t pa;
	struct heki_sites rules;	/* the host's rules, for predictions */
	struct heki_site site[SB_PAGES * SB_PER_PAGE];
	struct heki_func func[16 + SB_PAGES * SB_FUNCS];
	unsigned int nknown;	/* kernel entries at the start of func[] */
	bool ranges_full_done;
	long ranges_full_ret;
	unsigned int ranges_added;
} sb;

static unsigned long stext, etext;
static int (*lookup_size_offset)(unsigned long addr, unsigned long *size,
				 unsigned long *off);

static u64 sb_page_gva(unsigned int p)
{
	return sb.gva + (u64)p * PAGE_SIZE;
}

/* ---------------------------------------------------------------- state */

struct fz;

struct thr {
	struct fz *f;
	unsigned int idx;
	struct task_struct *task;
	struct completion done;
	u64 rng;
	unsigned long ncalls;
	u64 *arg;			/* the thread's arg page */
	phys_addr_t arg_pa;
	bool atomic;			/* inside a view episode: no sleeping */
	/* Windows held, per frame the thread may use (its share). */
	struct { u64 gpa; long count; } held[64];
	unsigned int nheld;
	/* Ranges beyond RAM the host accepted, to release. */
	struct { u64 gpa, npages; } beyond[64];
	unsigned int nbeyond, beyond_lost;
	/* Results. */
	unsigned long sent[NNRS], answers[NCODES], sent_total, refused;
	unsigned long unexpected, mismatched, patched, patch_pred, patch_unsure, patch_ok;
	unsigned long bytes_wrong, view_episodes, budget_cut, text_unchanged_checks;
	char first_bad[160];
};

struct fz {
	bool locked, auth;
	u64 features;
	phys_addr_t ram_end, target;
	struct page *target_pages;
	struct sentinel sent[NSENT];
	unsigned int nthreads, nparts;	/* window frames: nthreads + 1 shares */
	atomic_t budget;
	bool unlimited;
	struct mutex *text_mutex;
	unsigned long module_addr;	/* in heki.ko's text: the module area */
	/* Kernel patch sites to read back and write unchanged. */
	unsigned long *jl;
	unsigned int njl;
	struct thr ctl;			/* the controlling task's own calls */
	struct thr *t[MAX_THREADS];
};

/* xorshift64*: fast, and a seed replays the same draws. */
static u64 rnd(struct thr *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dull;
}

static u64 splitmix(u64 x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return (x ^ (x >> 31)) ?: 1;
}

/* ---------------------------------------------------------- answers */

#define B(e)	(1u << ((e) - HEKI_EBASE))
#define OK0	1u
static u32 allowed_mask(unsigned int nr)
{
	const u32 nomem = B(HEKI_ENOMEM);

	switch (nr) {
	case HEKI_HC_QUERY:
	case HEKI_HC_STATS:
		return OK0 | B(HEKI_EFAULT) | B(HEKI_EALIGN) | B(HEKI_ESIZE) |
		       B(HEKI_EINVAL) | B(HEKI_EWRPROT) | nomem;
	case HEKI_HC_PIN_CR:
		return OK0 | B(HEKI_EINVAL) | B(HEKI_ECRNUM) | B(HEKI_EBITS) |
		       B(HEKI_ENOTSET) | nomem;
	case HEKI_HC_PROTECT:
	case HEKI_HC_PROTECT_BATCH:
		return OK0 | B(HEKI_EINVAL) | B(HEKI_EALIGN) | B(HEKI_ERANGE) |
		       B(HEKI_EATTR) | B(HEKI_EFAULT) | B(HEKI_E2BIG) |
		       B(HEKI_ELOCKED) | B(HEKI_EBATCH) | nomem;
	case HEKI_HC_WINDOW_OPEN:
		return OK0 | B(HEKI_EINVAL) | B(HEKI_EALIGN) | B(HEKI_ERANGE) |
		       B(HEKI_EFAULT) | B(HEKI_EBUSY) | B(HEKI_ESITE) | nomem;
	case HEKI_HC_WINDOW_CLOSE:
		return OK0 | B(HEKI_EINVAL) | B(HEKI_EALIGN) | B(HEKI_ERANGE) |
		       B(HEKI_EFAULT) | B(HEKI_ENOTOPEN) | nomem;
	case HEKI_HC_LOCKDOWN:	/* never 0: the fuzz must not lock down */
		return B(HEKI_EINVAL) | B(HEKI_ELOCKED) | B(HEKI_EBUSY) | nomem;
	case HEKI_HC_REPORT:
		return OK0 | B(HEKI_EINVAL) | nomem;
	case HEKI_HC_VIEW_SWITCH:
		return OK0 | B(HEKI_EINVAL) | B(HEKI_EBUSY) | B(HEKI_ENOTOPEN) |
		       B(HEKI_ESITE) | nomem;
	case HEKI_HC_SITES:
		return OK0 | B(HEKI_EINVAL) | B(HEKI_EBATCH) | B(HEKI_EALIGN) |
		       B(HEKI_EFAULT) | B(HEKI_E2BIG) | B(HEKI_ELOCKED) | nomem;
	case HEKI_HC_PATCH:
		return OK0 | B(HEKI_ERANGE) | B(HEKI_EINVAL) | B(HEKI_ESITE) |
		       B(HEKI_EPATCH) | B(HEKI_EBUSY) | B(HEKI_EFAULT) | nomem;
	case HEKI_HC_VMFUNC:
		return OK0 | B(HEKI_EINVAL) | B(HEKI_EBUSY) | nomem;
	default:
		return 0;
	}
}

static u64 feature_of(unsigned int nr)
{
	static const u64 feat[] = {
		HEKI_FEAT_QUERY, HEKI_FEAT_CR_PIN, HEKI_FEAT_PROTECT,
		HEKI_FEAT_BATCH, HEKI_FEAT_WINDOW, HEKI_FEAT_WINDOW,
		HEKI_FEAT_LOCKDOWN, HEKI_FEAT_STATS, HEKI_FEAT_REPORT,
		HEKI_FEAT_VIEW, HEKI_FEAT_AUTH, HEKI_FEAT_AUTH, HEKI_FEAT_VMFUNC,
	};
	unsigned int i = nr - HEKI_HC_BASE;

	return i < ARRAY_SIZE(feat) ? feat[i] : 0;
}

static const char *const nr_names[] = {
	"query", "pin_cr", "protect", "protect_batch", "window_open",
	"window_close", "lockdown", "stats", "report", "view_switch", "sites",
	"patch", "vmfunc",
};

/* Slot of @nr in thr.sent[]: the block, then base - 1, then last + 1. */
static unsigned int nr_slot(unsigned int nr)
{
	if (HEKI_HC_IS_HEKI(nr))
		return nr - HEKI_HC_BASE;
	return nr < HEKI_HC_BASE ? 256 : 257;
}

/*
 * Every fuzz hypercall goes through here: counted, judged against what
 * the ABI documents for the number (and the host's features), and against
 * @expect when the fuzz built the state (EXP_ANY: no exact expectation).
 */
static long fz_call(struct thr *t, unsigned int nr, u64 a0, u64 a1, u64 a2,
		    u64 a3, long expect)
{
	long ret = heki_call(nr, a0, a1, a2, a3);
	u32 mask;
	bool ok;

	t->sent[nr_slot(nr)]++;
	if (HEKI_HC_IS_HEKI(nr)) {	/* what the host counts */
		t->sent_total++;
		t->refused += ret != 0;
	}
	if (nr == HEKI_HC_PATCH && !ret)
		t->patch_ok++;
	if (ret == 0)
		t->answers[0]++;
	else if (ret <= -(HEKI_EBASE + 1) && ret > -(HEKI_EBASE + NCODES))
		t->answers[-ret - HEKI_EBASE]++;

	if (!HEKI_HC_IS_HEKI(nr)) {
		ok = ret == KVM_ENOSYS_RET;
	} else if (!feature_of(nr) || !(t->f->features & feature_of(nr))) {
		ok = ret == -HEKI_ENOSYS;
	} else {
		mask = allowed_mask(nr);
		ok = ret == 0 ? mask & OK0 :
		     ret <= -(HEKI_EBASE + 1) && ret > -(HEKI_EBASE + NCODES) &&
		     (mask & (1u << (-ret - HEKI_EBASE)));
		if (ok && expect != EXP_ANY && ret != expect) {
			ok = false;
			t->mismatched++;
		}
	}
	if (!ok && !t->unexpected++)
		snprintf(t->first_bad, sizeof(t->first_bad),
			 "nr=0x%x a0=0x%llx a1=0x%llx a2=0x%llx a3=0x%llx ret=%ld expect=%ld",
			 nr, a0, a1, a2, a3, ret, expect == EXP_ANY ? 0 : expect);
	return ret;
}

/* A call that may make the host log a record: within the budget? */
static bool budget_take(struct thr *t)
{
	if (t->f->unlimited || atomic_dec_if_positive(&t->f->budget) >= 0)
		return true;
	t->budget_cut++;
	return false;
}

/* ------------------------------------------------------------ drawing */

static const u64 boundary[] = {
	0, 1, 2, 4, 7, 8, 15, 16, 17, 31, 127, 128, 129, 255, 256, 4095,
	4096, 4097, 0x100000, 0xa0000, 0xfee00000, 0xfffff000, 0x100000000ull,
	(1ull << 28), (1ull << 28) + 1, (1ull << 40) - 1, 1ull << 40,
	(1ull << 52) - 4096, 1ull << 52, 1ull << 63, ~0ull, ~0ull - 4095,
	0x7fffffffffffffffull, HEKI_WINDOW_MAX_PAGES + 1,
	sizeof(struct heki_info), sizeof(struct heki_stats), HEKI_ATTR_ALL,
	HEKI_ATTR_ALL + 1, HEKI_CR0_WP, HEKI_CR4_SMEP | HEKI_CR4_SMAP,
	HEKI_CR4_UMIP, HEKI_LOCK_AUTH, HEKI_SITES_RESET, 0xffffffff80000000ull,
	0xffff888000000000ull,
};

enum role { PAGE_GPA, BUF_GPA, COUNT, ATTRS, OTHER };

static u64 draw(struct thr *t, enum role role)
{
	struct fz *f = t->f;
	u64 r = rnd(t);

	switch (r % 8) {
	case 0:
		return 0;
	case 1:
		return rnd(t) % 5;
	case 2:
		return boundary[rnd(t) % ARRAY_SIZE(boundary)];
	case 3:
		return rnd(t);
	case 4:		/* a target page, sometimes misaligned */
		return f->target + (rnd(t) % TARGET_PAGES) * PAGE_SIZE +
		       ((r >> 8) % 8 ? 0 : rnd(t) % PAGE_SIZE);
	case 5:		/* a sentinel page */
		return f->sent[rnd(t) % NSENT].pa +
		       ((r >> 8) % 8 ? 0 : rnd(t) % PAGE_SIZE);
	case 6:		/* somewhere in the arg page */
		return t->arg_pa + ((r >> 8) % 4 ? rnd(t) % PAGE_SIZE & ~7ull :
				    rnd(t) % PAGE_SIZE);
	default:	/* a value of the right kind */
		switch (role) {
		case PAGE_GPA:
			return f->target + (rnd(t) % TARGET_PAGES) * PAGE_SIZE;
		case BUF_GPA:
			return t->arg_pa + (rnd(t) % 64) * 8;
		case COUNT:
			return 1 + rnd(t) % (HEKI_BATCH_MAX + 2);
		case ATTRS:
			return rnd(t) % (HEKI_ATTR_ALL + 1);
		default:
			return rnd(t);
		}
	}
}

static struct sentinel *sentinel_at(struct fz *f, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < NSENT; i++)
		if ((gpa & PAGE_MASK) == f->sent[i].pa)
			return &f->sent[i];
	return NULL;
}

/* Frames this thread may hold windows on: its share of target and sentinels. */
static bool window_frame_mine(struct thr *t, u64 gpa)
{
	struct fz *f = t->f;
	struct sentinel *s = sentinel_at(f, gpa);

	if (s)
		return s->window && (s - f->sent) % f->nparts == t->idx;
	if (gpa >= f->target && gpa < f->target + TARGET_PAGES * PAGE_SIZE)
		return ((gpa - f->target) >> PAGE_SHIFT) % f->nparts == t->idx;
	return false;
}

/* The thread's window frames, as a list to draw from. */
static u64 window_frame(struct thr *t)
{
	struct fz *f = t->f;
	u64 cand[TARGET_PAGES + NSENT];
	unsigned int n = 0, i;

	for (i = 0; i < TARGET_PAGES; i++)
		if (i % f->nparts == t->idx)
			cand[n++] = f->target + i * PAGE_SIZE;
	for (i = 0; i < NSENT; i++)
		if (f->sent[i].window && i % f->nparts == t->idx)
			cand[n++] = f->sent[i].pa;
	return cand[rnd(t) % n];
}

static long *held_slot(struct thr *t, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < t->nheld; i++)
		if (t->held[i].gpa == gpa)
			return &t->held[i].count;
	if (t->nheld == ARRAY_SIZE(t->held))
		return NULL;
	t->held[t->nheld].gpa = gpa;
	t->held[t->nheld].count = 0;
	return &t->held[t->nheld++].count;
}

static void note_beyond(struct thr *t, u64 gpa, u64 npages)
{
	if (gpa < t->f->ram_end)
		return;
	if (t->nbeyond == ARRAY_SIZE(t->beyond)) {
		t->beyond_lost++;
		return;
	}
	t->beyond[t->nbeyond].gpa = gpa;
	t->beyond[t->nbeyond++].npages = npages;
}

/*
 * After lockdown: whether giving immutable attrs @have the attrs @want
 * weakens them (what the host refuses with -HEKI_ELOCKED).
 */
static bool weakens(u32 have, u64 want)
{
	if (heki_attrs_release(want) || !(want & IMM))
		return true;
	return (want & RWX) & ~(have & RWX);
}

/*
 * A range that passed the host's checks and touches guest RAM: moved
 * where it can do no harm.  Returns true when it was made a weakening of
 * an immutable sentinel after lockdown (the host must refuse it).
 */
static bool confine_range(struct thr *t, u64 *gpa, u64 *npages, u64 *attrs)
{
	struct fz *f = t->f;
	struct sentinel *s = sentinel_at(f, *gpa);
	u64 first, last;

	if (*gpa >= f->ram_end)
		return false;
	if (s && f->locked && s->attrs >= 0 && (s->attrs & IMM) && s->window) {
		*npages = 1;
		if (!weakens(s->attrs, *attrs))
			*attrs &= ~(u64)IMM;	/* dropping IMMUTABLE always weakens */
		return true;
	}
	if (*gpa < f->target || *gpa >= f->target + TARGET_PAGES * PAGE_SIZE)
		*gpa = f->target + (*gpa >> PAGE_SHIFT) % TARGET_PAGES * PAGE_SIZE;
	first = (*gpa - f->target) >> PAGE_SHIFT;
	last = first + *npages - 1;
	if (last >= TARGET_PAGES)
		*npages = TARGET_PAGES - first;
	/* After lockdown the block stays releasable and open to windows. */
	if (f->locked && !heki_attrs_release(*attrs))
		*attrs = (*attrs & ~(u64)IMM) | HEKI_ATTR_EXEC;
	return false;
}

/*
 * A buffer the host reads, whose arguments passed its checks: below 4 GiB
 * (where RAM, ROM and firmware live in the rig) it goes to the thread's
 * arg page, which the fuzz fills, so the host never parses bytes the
 * fuzz did not choose; above, there is no memory and the host must say
 * -HEKI_EFAULT.
 */
static void confine_read_buffer(struct thr *t, u64 *gpa)
{
	if (*gpa < (1ull << 32) && (*gpa < t->arg_pa || *gpa >= t->arg_pa + PAGE_SIZE))
		*gpa = t->arg_pa + (*gpa & (PAGE_SIZE - 1));
}

static bool in_arg(struct thr *t, u64 gpa)
{
	return gpa >= t->arg_pa && gpa < t->arg_pa + PAGE_SIZE;
}

/* ------------------------------------------------------ the call kinds */

static void do_buffer_call(struct thr *t, unsigned int nr)
{
	struct fz *f = t->f;
	u64 a0 = draw(t, BUF_GPA), a1, a2 = rnd(t) % 4 ? 0 : draw(t, OTHER);
	u64 a3 = rnd(t) % 8 ? 0 : draw(t, OTHER), size;
	struct sentinel *s;
	long expect = EXP_ANY, chk;

	size = nr == HEKI_HC_QUERY ? sizeof(struct heki_info) : sizeof(struct heki_stats);
	a1 = rnd(t) % 4 ? size : draw(t, COUNT);
	chk = nr == HEKI_HC_QUERY ? heki_check_query(a0, a1, a2, a3) :
	      heki_check_stats(a0, a1, a2, a3);
	if (!chk && a0 < f->ram_end) {
		s = sentinel_at(f, a0);
		if (s && !s->window && s->attrs >= 0 && !(s->attrs & HEKI_ATTR_WRITE))
			expect = -HEKI_EWRPROT;	/* must not write into it */
		else if (a0 < t->arg_pa || a0 >= t->arg_pa + PAGE_SIZE)
			a0 = t->arg_pa + (a0 & (PAGE_SIZE - 1));
		if (expect == EXP_ANY)
			expect = 0;
	}
	if (chk)
		expect = chk;
	fz_call(t, nr, a0, a1, a2, a3, expect);
}

static void do_pin(struct thr *t)
{
	u64 a0 = rnd(t) % 2 ? (rnd(t) % 2 ? 0 : 4) : draw(t, OTHER);

	fz_call(t, HEKI_HC_PIN_CR, a0, draw(t, OTHER), rnd(t) % 4 ? 0 : draw(t, OTHER),
		rnd(t) % 8 ? 0 : draw(t, OTHER), EXP_ANY);
}

static void do_protect(struct thr *t)
{
	u64 a0 = draw(t, PAGE_GPA), a1 = draw(t, COUNT), a2 = draw(t, ATTRS);
	u64 a3 = rnd(t) % 8 ? 0 : draw(t, OTHER);
	long chk = heki_check_protect(a0, a1, a2, a3), expect = EXP_ANY, ret;
	bool weak = false;

	if (!chk) {
		weak = confine_range(t, &a0, &a1, &a2);
		if (weak && !budget_take(t))
			a3 = 1;		/* refused before it could be logged */
		else if (weak)
			expect = -HEKI_ELOCKED;
	} else {
		expect = chk;
	}
	if (a3)
		expect = -HEKI_EINVAL;
	ret = fz_call(t, HEKI_HC_PROTECT, a0, a1, a2, a3, expect);
	if (!ret)
		note_beyond(t, a0, a1);
}

static void do_batch(struct thr *t)
{
	u64 a0 = draw(t, BUF_GPA), a1 = draw(t, COUNT);
	u64 a2 = rnd(t) % 8 ? 0 : draw(t, OTHER), a3 = rnd(t) % 8 ? 0 : draw(t, OTHER);
	long chk = heki_check_batch(a0, a1, a2, a3), ret;
	struct heki_range *e;
	bool weak = false;
	u64 i;

	if (!chk)
		confine_read_buffer(t, &a0);
	if (!chk && in_arg(t, a0)) {
		e = (void *)t->arg + (a0 - t->arg_pa);
		for (i = 0; i < a1; i++) {
			e[i].gpa = draw(t, PAGE_GPA);
			e[i].npages = rnd(t) % 4 ? 1 + rnd(t) % 4 : draw(t, COUNT);
			e[i].attrs = draw(t, ATTRS);
			e[i].reserved = rnd(t) % 16 ? 0 : draw(t, OTHER);
			if (!heki_check_range(&e[i]))
				weak |= confine_range(t, &e[i].gpa, &e[i].npages,
						      &e[i].attrs);
		}
		if (weak && !budget_take(t))
			a2 = 1;
	}
	ret = fz_call(t, HEKI_HC_PROTECT_BATCH, a0, a1, a2, a3, EXP_ANY);
	if (!ret && !chk && !a2 && in_arg(t, a0)) {
		e = (void *)t->arg + (a0 - t->arg_pa);
		for (i = 0; i < a1; i++)
			note_beyond(t, e[i].gpa, e[i].npages);
	}
}

/*
 * Whether the host refuses a window on sentinel @s (heki_window_forbidden:
 * after lockdown, immutable data; after an authenticated one, any
 * immutable frame and any restricted one without EXEC).
 */
static bool window_forbidden(struct fz *f, const struct sentinel *s)
{
	if (!f->locked || s->attrs < 0)
		return false;
	if ((s->attrs & IMM) && !(s->attrs & HEKI_ATTR_EXEC))
		return true;
	return f->auth && ((s->attrs & IMM) || !(s->attrs & HEKI_ATTR_EXEC));
}

static void do_window(struct thr *t, bool open)
{
	struct fz *f = t->f;
	unsigned int nr = open ? HEKI_HC_WINDOW_OPEN : HEKI_HC_WINDOW_CLOSE;
	u64 a0 = rnd(t) % 2 ? window_frame(t) : draw(t, PAGE_GPA);
	u64 a1 = rnd(t) % 4 ? 1 : draw(t, COUNT);
	u64 a2 = rnd(t) % 8 ? 0 : draw(t, OTHER), a3 = rnd(t) % 16 ? 0 : draw(t, OTHER);
	long chk = heki_check_window(a0, a1, a2, a3), expect = EXP_ANY, ret;
	bool forbidden = false, all_open = true;
	struct sentinel *s;
	long *c;
	u64 i;

	if (!chk && a0 < f->ram_end) {
		if (!window_frame_mine(t, a0) ||
		    (a1 == 2 && !window_frame_mine(t, a0 + PAGE_SIZE)))
			a0 = window_frame(t);
		if (a1 == 2 && !window_frame_mine(t, a0 + PAGE_SIZE))
			a1 = 1;
		for (i = 0; i < a1; i++) {
			s = sentinel_at(f, a0 + i * PAGE_SIZE);
			forbidden |= s && window_forbidden(f, s);
			c = held_slot(t, a0 + i * PAGE_SIZE);
			all_open &= c && *c > 0;
		}
		if (open && forbidden && !budget_take(t))
			a2 = 1;
		else if (open && forbidden)
			expect = -HEKI_ESITE;
		else if (!open)
			expect = all_open ? 0 : -HEKI_ENOTOPEN;
	} else if (!chk) {
		/*
		 * Beyond RAM (ROM is a memslot too): one page, and only on
		 * the thread's own share of frames, so its count is exact.
		 */
		u64 d = ((t->idx + f->nparts - (a0 >> PAGE_SHIFT) % f->nparts) %
			 f->nparts) << PAGE_SHIFT;

		a1 = 1;
		if (a0 + d < a0)
			a2 = 1;		/* would wrap into RAM: refused instead */
		else
			a0 += d;
		c = held_slot(t, a0);
		if (!open && c && *c > 0)
			expect = 0;
	} else {
		expect = chk;
	}
	if (a2 || a3)
		expect = -HEKI_EINVAL;
	ret = fz_call(t, nr, a0, a1, a2, a3, expect);
	if (ret)
		return;
	for (i = 0; i < a1; i++) {
		c = held_slot(t, a0 + i * PAGE_SIZE);
		if (c)
			*c += open ? 1 : -1;
	}
}

static void do_lockdown(struct thr *t)
{
	struct fz *f = t->f;
	u64 a0 = rnd(t) % 2 ? rnd(t) % 4 : draw(t, OTHER), a1 = rnd(t) % 2 ? 0 : draw(t, OTHER);
	u64 a2 = rnd(t) % 4 ? 0 : draw(t, OTHER), a3 = rnd(t) % 4 ? 0 : draw(t, OTHER);
	long expect;

	if (!heki_check_lockdown(a0, a1, a2, a3)) {
		if (!f->locked)
			a1 = 1 + rnd(t) % 0xffff;	/* one-way: refused first */
		else if (!f->auth)
			a0 = 0;	/* adding AUTH behind heki.ko's back breaks its pokes */
	}
	expect = heki_check_lockdown(a0, a1, a2, a3) ?: -HEKI_ELOCKED;
	fz_call(t, HEKI_HC_LOCKDOWN, a0, a1, a2, a3, expect);
}

static void do_report(struct thr *t)
{
	u64 a0 = rnd(t) % 2 ? rnd(t) % (HEKI_REPORT_LAST + 2) : draw(t, OTHER);
	u64 a3 = rnd(t) % 8 ? 0 : draw(t, OTHER);
	long chk = heki_check_report(a0, 0, 0, a3);

	if (!chk && !budget_take(t))
		a3 = 1;
	fz_call(t, HEKI_HC_REPORT, a0, draw(t, OTHER), draw(t, OTHER), a3,
		heki_check_report(a0, 0, 0, a3));
}

static void do_vmfunc(struct thr *t)
{
	struct fz *f = t->f;
	u64 a0 = rnd(t) % 2 ? rnd(t) % 3 : draw(t, OTHER), a1 = rnd(t) % 2 ? 0 : draw(t, OTHER);
	long expect = EXP_ANY;

	if (!heki_check_vmfunc(a0, a1, 0, 0) && (f->features & HEKI_FEAT_VMFUNC)) {
		if (heki_kernel_vmfunc_on())
			a0 = 1;		/* enabling twice: 0, and harmless */
		else
			a1 = 1;		/* disabling would end heki.ko's switching */
	}
	if (heki_check_vmfunc(a0, a1, 0, 0))
		expect = -HEKI_EINVAL;
	fz_call(t, HEKI_HC_VMFUNC, a0, a1, 0, 0, expect);
}

/* Fills one random or plausible site entry. */
static void random_site(struct thr *t, struct heki_site *e)
{
	struct fz *f = t->f;
	u64 k = rnd(t) % 10;

	e->gva = rnd(t) % 2 && f->njl ? f->jl[rnd(t) % f->njl] :
		 rnd(t) % 2 ? stext + rnd(t) % (etext - stext) : draw(t, OTHER);
	e->gpa = rnd(t) % 4 ? 0 : draw(t, OTHER);
	e->len = rnd(t) % 2 ? 2 + rnd(t) % 5 : (u32)draw(t, OTHER);
	e->kind = k < 9 ? k : (u32)draw(t, OTHER);
	e->target = rnd(t) % 2 ? 0 : rnd(t) % 2 ? 0x80 + rnd(t) % 18 : draw(t, OTHER);
	if (e->kind == HEKI_SITE_TEXT && rnd(t) % 2) {
		e->gva = stext;
		e->gpa = __pa_symbol(stext);
		e->len = etext - stext;
		e->target = 0;
	}
}

static void do_sites(struct thr *t)
{
	struct fz *f = t->f;
	u64 a0 = draw(t, BUF_GPA), a1 = rnd(t) % 4 ? 1 + rnd(t) % 8 : draw(t, COUNT);
	u64 a2 = rnd(t) % 4 ? 0 : draw(t, OTHER), a3 = rnd(t) % 8 ? 0 : draw(t, OTHER);
	struct heki_site *e;
	long chk = heki_check_sites(a0, a1, a2, a3);
	u64 i;

	if (!chk && !f->locked && (a2 & HEKI_SITES_RESET))
		a3 = 1 + rnd(t) % 8;	/* a reset would happen whatever the entries */
	if (!chk && a1)
		confine_read_buffer(t, &a0);
	chk = heki_check_sites(a0, a1, a2, a3);
	if (chk) {
		fz_call(t, HEKI_HC_SITES, a0, a1, a2, a3, chk);
		return;
	}
	if (f->locked) {	/* refused, and logged; read first */
		if (!budget_take(t))
			a3 = 1;
		fz_call(t, HEKI_HC_SITES, a0, a1, a2, a3, a3 ? -HEKI_EINVAL :
			!a1 || in_arg(t, a0) ? -HEKI_ELOCKED : -HEKI_EFAULT);
		return;
	}
	if (!in_arg(t, a0)) {	/* no memory there */
		fz_call(t, HEKI_HC_SITES, a0, a1, a2, a3, -HEKI_EFAULT);
		return;
	}
	e = (void *)t->arg + (a0 - t->arg_pa);
	for (i = 0; i < a1; i++)
		random_site(t, &e[i]);
	/* One entry of no kind at all: the host must add nothing. */
	e[rnd(t) % a1].kind = rnd(t) % 2 ? 0 : HEKI_SITE_LAST + 1 + rnd(t) % 100;
	fz_call(t, HEKI_HC_SITES, a0, a1, a2, a3, EXP_ANY);
}

/* ------------------------------------------------------------- PATCH */

static void patch_split(const u8 *b, unsigned int len, u64 *lo, u64 *hi)
{
	u8 buf[16] = {};

	memcpy(buf, b, len);
	memcpy(lo, buf, 8);
	memcpy(hi, buf + 8, 8);
}

/*
 * Kernel text, bytes unchanged: what is there now, read with text_mutex
 * held, written back.  Accepted inside a site whose bytes the host allows,
 * refused elsewhere; either way the text must be what it was.
 */
static void patch_kernel_same(struct thr *t)
{
	struct fz *f = t->f;
	unsigned long gva;
	unsigned int len;
	u8 before[16];
	u64 lo, hi;
	long ret;

	if (rnd(t) % 2 && f->njl) {
		gva = f->jl[rnd(t) % f->njl];
		len = *(u8 *)gva == 0xeb || *(u8 *)gva == 0x66 ? 2 : 5;
	} else {
		len = 1 + rnd(t) % HEKI_PATCH_MAX_LEN;
		gva = stext + rnd(t) % (etext - stext - len);
	}
	mutex_lock(f->text_mutex);
	memcpy(before, (void *)gva, len);
	if ((len == 1 && before[0] == 0xcc) || !budget_take(t)) {
		mutex_unlock(f->text_mutex);
		fz_call(t, HEKI_HC_PATCH, gva, 0, 0, 0, -HEKI_ERANGE);
		return;
	}
	patch_split(before, len, &lo, &hi);
	ret = fz_call(t, HEKI_HC_PATCH, gva, len, lo, hi, EXP_ANY);
	if (ret && ret != -HEKI_EPATCH && ret != -HEKI_ESITE && !t->unexpected++)
		snprintf(t->first_bad, sizeof(t->first_bad),
			 "patch of kernel text with its own bytes at %pS len=%u: %ld",
			 (void *)gva, len, ret);
	t->text_unchanged_checks++;
	if (memcmp(before, (void *)gva, len)) {
		t->bytes_wrong++;
		if (!t->unexpected++)
			snprintf(t->first_bad, sizeof(t->first_bad),
				 "kernel text at %pS changed by a same-bytes patch (ret %ld)",
				 (void *)gva, ret);
	}
	mutex_unlock(f->text_mutex);
}

/* Kernel text, at least 7 bytes: longer than any site, always refused. */
static void patch_kernel_long(struct thr *t)
{
	unsigned int len = 7 + rnd(t) % (HEKI_PATCH_MAX_LEN - 6);
	unsigned long gva = stext + rnd(t) % (etext - stext - len);
	u64 lo = rnd(t), hi = len > 8 ? rnd(t) : 0;

	if (len < 8)
		lo &= (1ull << (8 * len)) - 1;
	if (len < 16 && len > 8)
		hi &= (1ull << (8 * (len - 8))) - 1;
	if (!budget_take(t)) {
		fz_call(t, HEKI_HC_PATCH, gva, 0, lo, hi, -HEKI_ERANGE);
		return;
	}
	fz_call(t, HEKI_HC_PATCH, gva, len, lo, hi, -HEKI_ESITE);
}

/* The host's answer for a refusal reason (heki_host.c heki_patch_error()). */
static long patch_error(enum heki_patch_reason why)
{
	switch (why) {
	case HEKI_PR_OK:
		return 0;
	case HEKI_PR_NOT_TEXT:
	case HEKI_PR_NOT_SITE:
		return -HEKI_ESITE;
	case HEKI_PR_INT3_FULL:
		return -HEKI_EBUSY;
	default:
		return -HEKI_EPATCH;
	}
}

/* rel32 from the end of a site of @len at @gva to @dest. */
static void put_rel32(u8 *b, u64 gva, unsigned int len, u64 dest)
{
	s32 rel = (s32)(dest - (gva + len));

	memcpy(b + len - 4, &rel, 4);
}

/* A CALL/JMP destination: registered, in the module area, or anything. */
static u64 sandbox_dest(struct thr *t, unsigned int page)
{
	struct fz *f = t->f;
	unsigned int i = rnd(t) % 8;

	if (i < 3)	/* a function entry of the sandbox */
		return sb_page_gva(page) + SB_FUNC_OFF + 0x40 * (rnd(t) % SB_FUNCS);
	if (i == 3 && sb.nknown)	/* one of the known kernel entries */
		return sb.func[rnd(t) % sb.nknown].gva;
	if (i == 4)
		return f->module_addr + rnd(t) % 64;
	if (i == 5)	/* not an entry: one byte off */
		return sb_page_gva(page) + SB_FUNC_OFF + 1;
	return sb_page_gva(page) + (s32)rnd(t);
}

/* Whether the rel32 of a site's bytes names a kernel symbol start. */
static bool dest_unsure(const struct heki_site *site, const u8 *b)
{
	unsigned long size, off;
	s32 rel;
	u64 dest;

	if (site->len < 5)
		return false;
	memcpy(&rel, b + site->len - 4, 4);
	dest = site->gva + site->len + (s64)rel;
	return dest >= stext && dest < etext && lookup_size_offset &&
	       lookup_size_offset(dest, &size, &off) && !off;
}

/*
 * Plausible or random bytes for the thread's own sandbox page, predicted
 * with the host's rules and checked against the page afterwards.
 */
static void patch_sandbox(struct thr *t)
{
	unsigned int page = t->idx, gi = rnd(t) % SB_GROUPS, si = rnd(t) % ARRAY_SIZE(sb_layout);
	const struct heki_site *site = &sb.site[page * SB_PER_PAGE + gi * ARRAY_SIZE(sb_layout) + si];
	u8 *pva = sb.va + page * PAGE_SIZE;
	u8 b[16], before[80], after[16];
	struct heki_patch_plan plan = { .gpa = 0 };
	enum heki_patch_reason why;
	unsigned int len, form = rnd(t) % 16, i;
	u64 gva = site->gva, lo, hi, off;
	long expect, ret;
	bool unsure = false;

	for (i = 0; i < 16; i++)
		b[i] = rnd(t);
	len = site->len;
	switch (form) {
	case 0:		/* NOP of the site's length */
		memcpy(b, len == 2 ? heki_nop2 : heki_nop5, len == 2 ? 2 : 5);
		len = len == 2 ? 2 : 5;
		break;
	case 1:		/* JMP to the registered target, or elsewhere */
		if (len == 2) {
			b[0] = 0xeb;
			b[1] = rnd(t) % 2 ? (u8)(site->target - gva - 2) : b[1];
		} else {
			b[0] = 0xe9;
			put_rel32(b, gva, 5, rnd(t) % 2 && site->target ?
				  site->target : sandbox_dest(t, page));
			len = 5;
		}
		break;
	case 2:		/* CALL somewhere */
		b[0] = 0xe8;
		len = 5;
		put_rel32(b, gva, 5, sandbox_dest(t, page));
		break;
	case 3:
		memcpy(b, heki_ret_int3, 5);
		len = 5;
		break;
	case 4:
		memcpy(b, heki_xor5rax, 5);
		len = 5;
		break;
	case 5:		/* Jcc, the registered condition or another */
		b[0] = 0x0f;
		b[1] = rnd(t) % 2 && site->target ? site->target : 0x80 + rnd(t) % 16;
		len = 6;
		put_rel32(b, gva, 6, sandbox_dest(t, page));
		break;
	case 6:		/* INT3 then the tail of what is there, or of anything */
		memcpy(b, pva + (gva - sb_page_gva(page)), site->len);
		b[0] = 0xcc;
		len = site->len;
		break;
	case 7:		/* part of a site */
		off = rnd(t) % site->len;
		gva += off;
		len = 1 + rnd(t) % (site->len - off);
		break;
	case 8:		/* across the site's end */
		gva += rnd(t) % site->len;
		len = 2 + rnd(t) % 14;
		break;
	case 9:		/* a lone byte between sites, never an INT3 here */
		gva = sb_page_gva(page) + gi * SB_STRIDE + 42 + rnd(t) % 20;
		len = 1;
		if (b[0] == 0xcc)
			b[0] = 0x90;
		break;
	default:	/* random bytes, random length */
		len = 1 + rnd(t) % site->len;
		break;
	}
	/* The site's and its neighbours' bytes before the request. */
	memcpy(before, pva + (site->gva - sb_page_gva(page)), sizeof(before));
	why = heki_patch_locate(&sb.rules, gva, len, &plan);
	if (why == HEKI_PR_OK && plan.site >= 0)
		why = heki_patch_decide(&sb.rules, &plan, gva, b, len,
					pva + (plan.site_gva - sb_page_gva(page)));
	else if (why == HEKI_PR_OK)	/* a lone byte that is not an INT3 */
		why = HEKI_PR_INT3;
	expect = patch_error(why);
	if (why == HEKI_PR_BYTES && plan.site >= 0) {
		memcpy(after, pva + (plan.site_gva - sb_page_gva(page)), plan.site_len);
		memcpy(after + (gva - plan.site_gva), b, len);
		unsure = dest_unsure(&sb.site[plan.site], after);
	}
	if (expect && !budget_take(t)) {
		fz_call(t, HEKI_HC_PATCH, gva, HEKI_PATCH_MAX_LEN + 1, 0, 0, -HEKI_ERANGE);
		return;
	}
	patch_split(b, len, &lo, &hi);
	t->patch_pred++;
	t->patch_unsure += unsure;
	ret = fz_call(t, HEKI_HC_PATCH, gva, len, lo, hi, unsure ? EXP_ANY : expect);
	if (!ret)
		t->patched++;
	/* Exactly the request's bytes if accepted, nothing otherwise. */
	if (ret == 0)
		memcpy(before + (gva - site->gva), b,
		       min_t(u64, len, sizeof(before) - (gva - site->gva)));
	if (memcmp(before, pva + (site->gva - sb_page_gva(page)), sizeof(before))) {
		t->bytes_wrong++;
		if (!t->unexpected++)
			snprintf(t->first_bad, sizeof(t->first_bad),
				 "sandbox page after patch gva=0x%llx len=%u ret=%ld holds other bytes",
				 gva, len, ret);
	}
}

static void do_patch(struct thr *t)
{
	unsigned int form = rnd(t) % 8;
	u64 a0, a1, a2, a3;

	if (form < 3 && sb.registered) {
		patch_sandbox(t);
		return;
	}
	if (form == 3 && !t->atomic) {
		patch_kernel_same(t);
		return;
	}
	if (form == 4) {
		patch_kernel_long(t);
		return;
	}
	/* Random arguments: refused for them, or outside any text. */
	a0 = rnd(t) % 2 ? draw(t, OTHER) : stext + rnd(t) % (etext - stext);
	a1 = rnd(t) % 2 ? rnd(t) % 18 : draw(t, COUNT);
	a2 = rnd(t);
	a3 = rnd(t) % 2 ? 0 : rnd(t);
	if (!heki_check_patch(a0, a1, a2, a3)) {
		/* Only "not text" may pass: anywhere in text could be a site. */
		if ((a0 + a1 > stext && a0 < etext) ||
		    (a0 + a1 > sb.gva - PAGE_SIZE && a0 < sb.gva + SB_SPAN) ||
		    !budget_take(t))
			a1 = 0;
	}
	fz_call(t, HEKI_HC_PATCH, a0, a1, a2, a3,
		heki_check_patch(a0, a1, a2, a3) ?: -HEKI_ESITE);
}

/* ------------------------------------------------------- view episodes */

static void one_call(struct thr *t);

/*
 * Enter the patch view, make a few calls, leave as often as entered; the
 * task stays on its vCPU (preemption off) so the depth it adds is its own.
 */
static void view_episode(struct thr *t)
{
	struct fz *f = t->f;
	unsigned int k = rnd(t) % 4, enters = 1 + rnd(t) % 3, entered = 0, i;
	u64 a1 = 0;
	long ret;

	if (f->auth)	/* the module area, or a refused address */
		a1 = rnd(t) % 4 ? f->module_addr : stext + rnd(t) % (etext - stext);
	else if (rnd(t) % 2)
		a1 = draw(t, OTHER);
	if (f->auth && a1 != f->module_addr && !budget_take(t))
		a1 = f->module_addr;
	t->view_episodes++;
	preempt_disable();
	t->atomic = true;
	for (i = 0; i < enters; i++) {
		ret = fz_call(t, HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH, a1, 0, 0,
			      f->auth && a1 != f->module_addr ? -HEKI_ESITE : EXP_ANY);
		entered += !ret;
	}
	for (i = 0; i < k; i++)
		one_call(t);
	for (i = 0; i < entered; i++)
		fz_call(t, HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0, 0, 0);
	t->atomic = false;
	preempt_enable();
}

/* A leave nobody entered: with text_mutex held no poke is under way. */
static void view_lone_leave(struct thr *t)
{
	mutex_lock(t->f->text_mutex);
	preempt_disable();
	fz_call(t, HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0, 0, -HEKI_ENOTOPEN);
	preempt_enable();
	mutex_unlock(t->f->text_mutex);
}

static void do_view(struct thr *t)
{
	u64 a0 = rnd(t) % 8 ? rnd(t) % 2 : draw(t, OTHER), a1 = rnd(t) % 4 ? 0 : draw(t, OTHER);
	u64 a2 = rnd(t) % 4 ? 0 : draw(t, OTHER), a3 = rnd(t) % 8 ? 0 : draw(t, OTHER);

	if (heki_check_view_switch(a0, a1, a2, a3) ||
	    !(t->f->features & HEKI_FEAT_VIEW)) {
		fz_call(t, HEKI_HC_VIEW_SWITCH, a0, a1, a2, a3, EXP_ANY);
		return;
	}
	if (a0 == HEKI_VIEW_PATCH && !t->atomic)
		view_episode(t);
	else if (!t->atomic && !(rnd(t) % 16))
		view_lone_leave(t);
	else
		fz_call(t, HEKI_HC_VIEW_SWITCH, a0 + 2, a1, a2, a3, -HEKI_EINVAL);
}

/* ----------------------------------------------------------- one call */

static void one_call(struct thr *t)
{
	unsigned int nr;
	u64 r = rnd(t);

	if (r % 16 == 0) {
		/* Any number of the block, or just outside it. */
		r = rnd(t) % 260;
		nr = r < 256 ? HEKI_HC_BASE + r :
		     r < 258 ? HEKI_HC_BASE - 1 : HEKI_HC_LAST + 1;
	} else {
		nr = HEKI_HC_BASE + rnd(t) % ARRAY_SIZE(nr_names);
	}
	switch (nr) {
	case HEKI_HC_QUERY:
	case HEKI_HC_STATS:
		do_buffer_call(t, nr);
		break;
	case HEKI_HC_PIN_CR:
		do_pin(t);
		break;
	case HEKI_HC_PROTECT:
		do_protect(t);
		break;
	case HEKI_HC_PROTECT_BATCH:
		do_batch(t);
		break;
	case HEKI_HC_WINDOW_OPEN:
	case HEKI_HC_WINDOW_CLOSE:
		do_window(t, nr == HEKI_HC_WINDOW_OPEN);
		break;
	case HEKI_HC_LOCKDOWN:
		do_lockdown(t);
		break;
	case HEKI_HC_REPORT:
		do_report(t);
		break;
	case HEKI_HC_VIEW_SWITCH:
		do_view(t);
		break;
	case HEKI_HC_SITES:
		do_sites(t);
		break;
	case HEKI_HC_PATCH:
		do_patch(t);
		break;
	case HEKI_HC_VMFUNC:
		do_vmfunc(t);
		break;
	default:	/* unassigned, or outside the block: -HEKI_ENOSYS / KVM's */
		fz_call(t, nr, draw(t, OTHER), draw(t, OTHER), draw(t, OTHER),
			draw(t, OTHER), EXP_ANY);
	}
}

/* Closes what the thread still holds and releases what it left beyond RAM. */
static void thread_cleanup(struct thr *t)
{
	unsigned int i;

	for (i = 0; i < t->nheld; i++)
		for (; t->held[i].count > 0; t->held[i].count--)
			fz_call(t, HEKI_HC_WINDOW_CLOSE, t->held[i].gpa, 1, 0, 0, 0);
	for (i = 0; i < t->nbeyond; i++)
		fz_call(t, HEKI_HC_PROTECT, t->beyond[i].gpa, t->beyond[i].npages,
			RWX, 0, EXP_ANY);
}

static int fuzz_thread(void *data)
{
	struct thr *t = data;
	unsigned long i;

	for (i = 0; i < t->ncalls; i++) {
		one_call(t);
		if (!(i % 256))
			cond_resched();
	}
	thread_cleanup(t);
	complete(&t->done);
	return 0;
}

/* -------------------------------------------------------------- limits */

/* The window table full: 64 frames, with text_mutex held. */
static void limit_windows(struct seq_file *m, const char *p, struct fz *f)
{
	/* One frame more than the table holds: the last open must be refused. */
	struct page *pg = alloc_pages(GFP_KERNEL, 7);
	struct thr *t = &f->ctl;
	phys_addr_t pa;
	unsigned int opened = 0, i;
	long ret = 0;

	if (!pg) {
		seq_printf(m, "%slimit_window_table_full FAIL no_memory\n", p);
		return;
	}
	pa = page_to_phys(pg);
	mutex_lock(f->text_mutex);
	for (i = 0; i <= HEKI_WINDOW_MAX_FRAMES && i < 128; i++) {
		ret = fz_call(t, HEKI_HC_WINDOW_OPEN, pa + i * PAGE_SIZE, 1, 0, 0,
			      EXP_ANY);
		if (ret)
			break;
		opened++;
	}
	/* Full: a fresh frame is refused, once more for the record. */
	if (ret == -HEKI_EBUSY && i < 127)
		fz_call(t, HEKI_HC_WINDOW_OPEN, pa + (i + 1) * PAGE_SIZE, 1, 0, 0,
			-HEKI_EBUSY);
	for (i = 0; i < opened; i++)
		fz_call(t, HEKI_HC_WINDOW_CLOSE, pa + i * PAGE_SIZE, 1, 0, 0, 0);
	mutex_unlock(f->text_mutex);
	seq_printf(m, "%slimit_window_table_full %s opened=%u then=%ld\n", p,
		   ret == -HEKI_EBUSY ? "ok" : "FAIL", opened, ret);
	__free_pages(pg, 7);
}

/* The INT3 table full, on the sandbox's own page, with text_mutex held. */
static void limit_int3(struct seq_file *m, const char *p, struct fz *f)
{
	struct thr *t = &f->ctl;
	u8 *pva = sb.va + SB_INT3_PAGE * PAGE_SIZE;
	u64 gva0 = sb_page_gva(SB_INT3_PAGE);
	unsigned int armed = 0, i, restored = 0;
	long ret = 0, again, wrong = EXP_ANY;
	u8 *orig = kmalloc(HEKI_INT3_MAX + 1, GFP_KERNEL);

	if (!orig) {
		seq_printf(m, "%slimit_int3_table_full FAIL no_memory\n", p);
		return;
	}
	if (!sb.registered) {
		kfree(orig);
		seq_printf(m, "%slimit_int3_table_full skip no_sandbox_sites ret=%ld\n",
			   p, sb.register_ret);
		return;
	}
	mutex_lock(f->text_mutex);
	for (i = 0; i <= HEKI_INT3_MAX; i++) {
		orig[i] = pva[i];
		ret = fz_call(t, HEKI_HC_PATCH, gva0 + i, 1, 0xcc, 0, EXP_ANY);
		if (ret)
			break;
		armed++;
	}
	/* Armed already: nothing to remember, accepted even when full. */
	again = armed ? fz_call(t, HEKI_HC_PATCH, gva0, 1, 0xcc, 0, 0) : 0;
	if (armed && budget_take(t))	/* not the byte it replaced */
		wrong = fz_call(t, HEKI_HC_PATCH, gva0, 1, (u8)(orig[0] + 1), 0,
				-HEKI_EPATCH);
	for (i = 0; i < armed; i++)
		restored += !fz_call(t, HEKI_HC_PATCH, gva0 + i, 1, orig[i], 0, 0) &&
			    pva[i] == orig[i];
	mutex_unlock(f->text_mutex);
	seq_printf(m, "%slimit_int3_table_full %s armed=%u then=%ld rearm=%ld wrong_undo=%ld restored=%u\n",
		   p, ret == -HEKI_EBUSY && armed <= HEKI_INT3_MAX && !again &&
		   restored == armed ? "ok" : "FAIL", armed, ret, again,
		   wrong == EXP_ANY ? 0 : wrong, restored);
	kfree(orig);
}

/* The patch view's nesting full on this vCPU (255). */
static void limit_view(struct seq_file *m, const char *p, struct fz *f)
{
	struct thr *t = &f->ctl;
	unsigned int entered = 0, i, left = 0;
	u64 a1 = f->auth ? f->module_addr : 0;
	long ret = 0;

	if (!(f->features & HEKI_FEAT_VIEW)) {
		seq_printf(m, "%slimit_view_nesting_full skip host_has_no_views\n", p);
		return;
	}
	preempt_disable();
	for (i = 0; i < 256; i++) {
		ret = fz_call(t, HEKI_HC_VIEW_SWITCH, HEKI_VIEW_PATCH, a1, 0, 0, EXP_ANY);
		if (ret)
			break;
		entered++;
	}
	for (i = 0; i < entered; i++)
		left += !fz_call(t, HEKI_HC_VIEW_SWITCH, HEKI_VIEW_NORMAL, 0, 0, 0, 0);
	preempt_enable();
	seq_printf(m, "%slimit_view_nesting_full %s entered=%u then=%ld left=%u\n", p,
		   ret == -HEKI_EBUSY && left == entered ? "ok" : "FAIL",
		   entered, ret, left);
}

/* The site ranges full (8), before the first lockdown: once per VM. */
static void limit_ranges(struct seq_file *m, const char *p, struct fz *f)
{
	struct thr *t = &f->ctl;
	struct heki_site *e = (void *)t->arg;
	long ret = 0;
	unsigned int i;

	if (!sb.registered || f->locked || sb.ranges_full_done) {
		seq_printf(m, "%slimit_site_ranges_full %s ret=%ld added=%u\n", p,
			   sb.ranges_full_done && sb.ranges_full_ret == -HEKI_E2BIG ?
			   "info done_before" : "skip", sb.ranges_full_ret,
			   sb.ranges_added);
		return;
	}
	/* Aliases of the INT3 page, at gvas of their own above the sandbox. */
	for (i = 0; i < HEKI_SITE_RANGES_MAX; i++) {
		e[0] = (struct heki_site){ sb.gva + (16ull + i) * PAGE_SIZE,
			sb.pa + SB_INT3_PAGE * PAGE_SIZE, PAGE_SIZE, HEKI_SITE_TEXT, 0 };
		ret = fz_call(t, HEKI_HC_SITES, t->arg_pa, 1, 0, 0, EXP_ANY);
		if (ret)
			break;
		sb.ranges_added++;
	}
	sb.ranges_full_done = true;
	sb.ranges_full_ret = ret;
	seq_printf(m, "%slimit_site_ranges_full %s added=%u then=%ld\n", p,
		   ret == -HEKI_E2BIG ? "ok" : "FAIL", sb.ranges_added, ret);
}

/*
 * The permission store full: frames of the fuzz's own, one range each
 * (alternating attributes, so neighbours never merge), until a batch
 * would pass 65,536 ranges; a little room (STORE_ROOM) is left to the
 * kernel's own changes meanwhile.  Then everything released and freed.
 */
#define STORE_MAX	65536	/* the host's HEKI_STORE_MAX_RANGES (heki_store.h) */
#define STORE_ROOM	96
#define STORE_ORDER	9	/* 2 MiB allocations, smaller when memory is short */
#define SPARE_ORDER	9	/* frames for the batches that must not fit */

/* One batch: @n frames from @pa, one range each, attributes alternating. */
static long store_batch(struct thr *t, phys_addr_t pa, unsigned int n,
			u32 odd, u32 even)
{
	struct heki_range *r = (void *)t->arg;
	unsigned int j;

	for (j = 0; j < n; j++)
		r[j] = (struct heki_range){ pa + (u64)j * PAGE_SIZE, 1,
					    j % 2 ? odd : even, 0 };
	return fz_call(t, HEKI_HC_PROTECT_BATCH, t->arg_pa, n, 0, 0, EXP_ANY);
}

/* Every other frame of 2 * @n from @pa: no access. */
static long store_batch_odd(struct thr *t, phys_addr_t pa, unsigned int n)
{
	struct heki_range *r = (void *)t->arg;
	unsigned int j;

	for (j = 0; j < n; j++)
		r[j] = (struct heki_range){ pa + (2ull * j + 1) * PAGE_SIZE, 1, 0, 0 };
	return fz_call(t, HEKI_HC_PROTECT_BATCH, t->arg_pa, n, 0, 0, EXP_ANY);
}

static void limit_store(struct seq_file *m, const char *p, struct fz *f)
{
	struct thr *t = &f->ctl;
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	struct page *spare = alloc_pages(GFP_KERNEL | __GFP_NOWARN, SPARE_ORDER);
	struct page **chunks = NULL;
	unsigned int nchunks = 0, maxchunks, i, n, order = STORE_ORDER, tries = 0;
	u64 frames = 0, ranges = 0, want;
	long ret = 0, e2big = 0, released = 0, spare_rel = 0;
	ktime_t t0 = ktime_get();

	if (!st || !spare || fz_call(t, HEKI_HC_STATS, __pa(st), sizeof(*st), 0, 0, 0)) {
		seq_printf(m, "%slimit_store_full FAIL no_memory_or_stats\n", p);
		goto out;
	}
	want = STORE_MAX - STORE_ROOM;
	maxchunks = STORE_MAX + 1;	/* order 0 at worst */
	chunks = kvcalloc(maxchunks, sizeof(*chunks), GFP_KERNEL);
	while (chunks && st->ranges < want && nchunks < maxchunks && !ret) {
		struct page *pg = alloc_pages(GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY,
					      order);

		if (!pg) {
			if (!order--)
				break;
			continue;
		}
		set_page_private(pg, order);
		chunks[nchunks++] = pg;
		/*
		 * The chunk read-only in one range (one zap, which flushes),
		 * then every other frame to no access: one range each, and
		 * their zaps find nothing mapped (nobody touches these
		 * frames), so they flush nothing.
		 */
		ret = fz_call(t, HEKI_HC_PROTECT, page_to_phys(pg), 1u << order,
			      HEKI_ATTR_RO, 0, EXP_ANY);
		for (i = 0; i < (1u << order) && !ret; i += 2 * n) {
			n = min_t(unsigned int, HEKI_BATCH_MAX, ((1u << order) - i) / 2);
			n = min_t(u64, n, (want - st->ranges + 1) / 2);
			if (!n)
				break;
			ret = store_batch_odd(t, page_to_phys(pg) + (u64)i * PAGE_SIZE, n);
			st->ranges += ret ? 0 : 2 * n;	/* about: neighbours differ */
		}
		frames += 1u << order;
		if (fz_call(t, HEKI_HC_STATS, __pa(st), sizeof(*st), 0, 0, 0))
			break;
		cond_resched();
	}
	ranges = st->ranges;
	/*
	 * Batches of fresh frames, one range each, more than the room left:
	 * the host must refuse them whole.  If the kernel released ranges
	 * meanwhile one may fit; then the next.
	 */
	for (tries = 0; tries < 4 && e2big != -HEKI_E2BIG && !ret && nchunks; tries++) {
		e2big = store_batch(t, page_to_phys(spare) + tries * HEKI_BATCH_MAX *
				    PAGE_SIZE, HEKI_BATCH_MAX, HEKI_ATTR_WRITE, 0);
		if (e2big && e2big != -HEKI_E2BIG)
			break;
	}
	/* Everything, a few rounds, while the store is full. */
	for (i = 0; i < 256; i++) {
		one_call(t);
		cond_resched();
	}
	spare_rel = fz_call(t, HEKI_HC_PROTECT, page_to_phys(spare),
			    1u << SPARE_ORDER, RWX, 0, 0);
	for (i = 0; i < nchunks; i++) {
		unsigned int o = page_private(chunks[i]);

		if (!fz_call(t, HEKI_HC_PROTECT, page_to_phys(chunks[i]), 1u << o,
			     RWX, 0, 0)) {
			set_page_private(chunks[i], 0);
			__free_pages(chunks[i], o);
			released++;
		}
		cond_resched();
	}
	seq_printf(m, "%slimit_store_full %s frames=%llu ranges=%llu then=%ld tries=%u setup=%ld chunks=%u released=%ld ms=%lld\n",
		   p, e2big == -HEKI_E2BIG && released == nchunks && !spare_rel ?
		   "ok" : "FAIL", frames, ranges, e2big, tries, ret, nchunks,
		   released, ktime_ms_delta(ktime_get(), t0));
	if (spare_rel)
		spare = NULL;	/* still protected: kept */
out:
	if (spare)
		__free_pages(spare, SPARE_ORDER);
	kvfree(chunks);
	kfree(st);
}

/* ------------------------------------------------------------- setup */

static int cmp_func(const void *a, const void *b)
{
	const struct heki_func *x = a, *y = b;

	return x->gva < y->gva ? -1 : x->gva > y->gva;
}

/*
 * The sandbox, registered once before the first lockdown: its TEXT range,
 * its sites and function entries, its bytes set to what each site may hold.
 */
static void sandbox_setup(struct fz *f)
{
	static const char *const known[] = {
		"memcmp", "memcpy", "__static_call_return0", "schedule",
		"ftrace_caller", "ftrace_regs_caller",
	};
	struct heki_site *buf = (void *)f->ctl.arg;
	unsigned int i, g, k, n = 0, nk = 0, ns = 0, nf = 0;
	struct page *pg;
	long ret = 0;

	if (sb.registered || f->locked || !(f->features & HEKI_FEAT_AUTH))
		return;
	sb.register_ret = -ENODEV;
	/*
	 * Past the end of kernel text, where rodata and data are: a name
	 * only (the host never reads the guest's page tables), above every
	 * kernel site and function entry as the ascending order needs, and
	 * whatever KASLR chose, below the module area.
	 */
	sb.gva = ALIGN((u64)etext, SZ_2M) + SZ_2M;
	if (sb.gva + SB_SPAN > MODULES_VADDR)
		return;
	if (!sb.va) {
		pg = alloc_pages(GFP_KERNEL | __GFP_ZERO, SB_ORDER);
		if (!pg) {
			sb.register_ret = -ENOMEM;
			return;
		}
		sb.va = page_address(pg);
		sb.pa = page_to_phys(pg);
	}
	/* Known kernel entries first (ascending), then the sandbox's. */
	for (i = 0; i < ARRAY_SIZE(known); i++) {
		unsigned long a = heki_lookup(known[i]);

		if (a >= stext && a < etext)
			sb.func[nk++] = (struct heki_func){ a, 1,
				i >= 4 ? HEKI_FUNC_FTRACE : 0 };
	}
	sort(sb.func, nk, sizeof(sb.func[0]), cmp_func, NULL);
	for (i = 1, k = nk ? 1 : 0; i < nk; i++)
		if (sb.func[i].gva != sb.func[k - 1].gva)
			sb.func[k++] = sb.func[i];
	nk = k;
	nf = nk;
	sb.nknown = nk;
	memset(sb.va, 0x90, SB_PAGES * PAGE_SIZE);
	for (i = 0; i < SB_PAGES; i++) {
		u64 pg_gva = sb_page_gva(i);
		u8 *pva = sb.va + i * PAGE_SIZE;

		if (i == SB_INT3_PAGE)
			break;	/* lone bytes only */
		for (g = 0; g < SB_GROUPS; g++)
			for (k = 0; k < ARRAY_SIZE(sb_layout); k++) {
				u64 gva = pg_gva + g * SB_STRIDE + sb_layout[k].off;
				struct heki_site *s = &sb.site[ns++];
				u8 *b = pva + g * SB_STRIDE + sb_layout[k].off;

				*s = (struct heki_site){ gva, 0, sb_layout[k].len,
							 sb_layout[k].kind, 0 };
				if (s->kind == HEKI_SITE_JUMP)
					s->target = s->len == 2 ? gva + 2 + 0x20 :
						    pg_gva + SB_FUNC_OFF;
				if (s->kind == HEKI_SITE_TAIL && s->len == 6)
					s->target = 0x84;
				/* What each may hold: NOP, RET+INT3, Jcc to an entry. */
				if (s->len == 2)
					memcpy(b, heki_nop2, 2);
				else if (s->kind == HEKI_SITE_TAIL && s->len == 5)
					memcpy(b, heki_ret_int3, 5);
				else if (s->len == 6) {
					b[0] = 0x0f;
					b[1] = 0x84;
					put_rel32(b, gva, 6, pg_gva + SB_FUNC_OFF);
				} else {
					memcpy(b, heki_nop5, 5);
				}
			}
		for (k = 0; k < SB_FUNCS; k++)
			sb.func[nf++] = (struct heki_func){
				pg_gva + SB_FUNC_OFF + 0x40 * k, 0x40,
				k == 1 ? HEKI_FUNC_FTRACE : 0 };
	}
	/*
	 * The INT3 page: one function of one-byte NOPs, so every byte starts
	 * an instruction (the host places a kprobe's INT3 only where its
	 * decoder, walking from a registered entry, finds one).
	 */
	sb.func[nf++] = (struct heki_func){ sb_page_gva(SB_INT3_PAGE), PAGE_SIZE, 0 };
	sb.rules.range[0] = (struct heki_site){ stext, __pa_symbol(stext),
		etext - stext, HEKI_SITE_TEXT, 0 };
	sb.rules.range[1] = (struct heki_site){ MODULES_VADDR, 0,
		MODULES_END - MODULES_VADDR, HEKI_SITE_TARGETS, 0 };
	sb.rules.range[2] = (struct heki_site){ sb.gva, sb.pa,
		SB_PAGES * PAGE_SIZE, HEKI_SITE_TEXT, 0 };
	sb.rules.nranges = 3;
	sb.rules.site = sb.site;
	sb.rules.n = sb.rules.cap = ns;
	sb.rules.func = sb.func;
	sb.rules.nfunc = sb.rules.fcap = nf;

	/* Registered: the range, the sites, the sandbox's own entries. */
	buf[n++] = sb.rules.range[2];
	for (i = 0; i < ns + (nf - nk) && !ret; i++) {
		if (i < ns)
			buf[n++] = sb.site[i];
		else
			buf[n++] = (struct heki_site){ sb.func[nk + i - ns].gva, 0,
				sb.func[nk + i - ns].len, HEKI_SITE_FUNC,
				sb.func[nk + i - ns].flags };
		if (n == HEKI_SITES_BATCH_MAX || i + 1 == ns + (nf - nk)) {
			ret = fz_call(&f->ctl, HEKI_HC_SITES, f->ctl.arg_pa, n, 0, 0, 0);
			n = 0;
		}
	}
	sb.register_ret = ret;
	sb.registered = !ret;
	sb.ranges_added = 0;
}

/* A sentinel page per class and set, its pattern, its protection. */
static long sentinels_setup(struct fz *f)
{
	unsigned int i;
	long ret;

	for (i = 0; i < NSENT; i++) {
		struct sentinel *s = &f->sent[i];
		unsigned int j;

		s->va = (u64 *)__get_free_page(GFP_KERNEL);
		if (!s->va)
			return -ENOMEM;
		s->pa = __pa(s->va);
		s->attrs = classes[i % NCLASSES].attrs;
		s->window = i < NCLASSES;
		for (j = 0; j < PAGE_SIZE / 8; j++)
			s->va[j] = PATTERN;
		if (s->attrs < 0)
			continue;
		ret = fz_call(&f->ctl, HEKI_HC_PROTECT, s->pa, 1, s->attrs, 0, 0);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Each sentinel: its pattern intact, and a write (of the pattern itself,
 * so the contents cannot change) refused or taken as its class says.
 * Then released, except the immutable ones after lockdown (kept).
 * Returns the frames kept protected.
 */
static unsigned int sentinels_check(struct seq_file *m, const char *p, struct fz *f)
{
	unsigned int i, j, bad = 0, kept = 0;
	long rel;

	for (i = 0; i < NSENT; i++) {
		struct sentinel *s = &f->sent[i];
		bool writable = s->attrs < 0 || (s->attrs & HEKI_ATTR_WRITE);
		bool same = true;
		int faulted;

		if (!s->va)
			continue;
		for (j = 0; j < PAGE_SIZE / 8; j++)
			same &= s->va[j] == PATTERN;
		faulted = heki_write_nofault(&s->va[1], PATTERN);
		if (!same || faulted == writable) {
			bad++;
			seq_printf(m, "%ssentinel_%s_%s FAIL contents_unchanged=%d write_faulted=%d expected_fault=%d\n",
				   p, classes[i % NCLASSES].name,
				   s->window ? "window" : "buffer", same, faulted,
				   !writable);
		}
	}
	seq_printf(m, "%ssentinels_unchanged %s pages=%u classes=%u bad=%u\n",
		   p, bad ? "FAIL" : "ok", (unsigned int)NSENT,
		   (unsigned int)NCLASSES, bad);
	for (i = 0; i < NSENT; i++) {
		struct sentinel *s = &f->sent[i];

		if (!s->va)
			continue;
		if (s->attrs >= 0) {
			if (f->locked && (s->attrs & IMM)) {
				kept++;
				s->va = NULL;	/* protected for good: kept */
				continue;
			}
			rel = fz_call(&f->ctl, HEKI_HC_PROTECT, s->pa, 1, RWX, 0, 0);
			if (rel) {
				s->va = NULL;
				continue;
			}
		}
		free_page((unsigned long)s->va);
		s->va = NULL;
	}
	if (kept)
		seq_printf(m, "%simmutable_sentinels_kept info pages=%u\n", p, kept);
	return kept;
}

/* Jump labels in kernel text: plausible PATCH and SITES addresses. */
static void collect_jump_labels(struct fz *f)
{
	struct heki_jump_entry *e = (void *)heki_lookup("__start___jump_table");
	struct heki_jump_entry *end = (void *)heki_lookup("__stop___jump_table");
	unsigned int max = 512;

	f->jl = kcalloc(max, sizeof(*f->jl), GFP_KERNEL);
	if (!f->jl || !e || end <= e)
		return;
	for (; e < end && f->njl < max; e += 1 + (end - e) / max) {
		unsigned long code = heki_jump_code(e);

		if (heki_in_kernel_text(code, 5))
			f->jl[f->njl++] = code;
	}
}

/* ------------------------------------------------------------ the run */

static void thr_sum(struct thr *sum, const struct thr *t)
{
	unsigned int i;

	for (i = 0; i < NNRS; i++)
		sum->sent[i] += t->sent[i];
	for (i = 0; i < NCODES; i++)
		sum->answers[i] += t->answers[i];
	sum->sent_total += t->sent_total;
	sum->refused += t->refused;
	sum->unexpected += t->unexpected;
	sum->mismatched += t->mismatched;
	sum->patched += t->patched;
	sum->patch_ok += t->patch_ok;
	sum->patch_pred += t->patch_pred;
	sum->patch_unsure += t->patch_unsure;
	sum->bytes_wrong += t->bytes_wrong;
	sum->view_episodes += t->view_episodes;
	sum->budget_cut += t->budget_cut;
	sum->text_unchanged_checks += t->text_unchanged_checks;
	sum->beyond_lost += t->beyond_lost;
	if (!sum->first_bad[0] && t->first_bad[0])
		memcpy(sum->first_bad, t->first_bad, sizeof(sum->first_bad));
}

static struct thr *thr_new(struct fz *f, unsigned int idx, u64 seed)
{
	struct thr *t = kvzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return NULL;
	t->f = f;
	t->idx = idx;
	t->rng = splitmix(seed + idx);
	t->arg = (u64 *)get_zeroed_page(GFP_KERNEL);
	if (!t->arg) {
		kvfree(t);
		return NULL;
	}
	t->arg_pa = __pa(t->arg);
	init_completion(&t->done);
	return t;
}

static void thr_free(struct thr *t)
{
	if (!t)
		return;
	free_page((unsigned long)t->arg);
	kvfree(t);
}

int heki_fuzz_show(struct seq_file *m, void *unused)
{
	struct fz *f = kzalloc(sizeof(*f), GFP_KERNEL);
	struct heki_stats *s0 = kzalloc(sizeof(*s0), GFP_KERNEL);
	struct heki_stats *s1 = kzalloc(sizeof(*s1), GFP_KERNEL);
	struct heki_stats *spre = kzalloc(sizeof(*spre), GFP_KERNEL);
	struct heki_info *info = kzalloc(sizeof(*info), GFP_KERNEL);
	struct heki_guest_counters g0, gq, g1;
	struct thr *sum = kvzalloc(sizeof(*sum), GFP_KERNEL);
	u64 seed = fuzz_seed ?: get_random_u64() ?: 1;
	unsigned int i, cpu, n = 0, kept, ranges_before;
	unsigned long ctl_base, ctl_refused_base, q_mark, un;
	const char *p;
	s64 hook_calls = 0, hook_errors = 0, hook_late = 0;
	long ret, rel;
	ktime_t t0;
	u64 made, made_refused;

	if (!f || !s0 || !s1 || !spre || !info || !sum) {
		ret = -ENOMEM;
		goto out_free;
	}
	f->ctl.f = f;
	f->ctl.rng = splitmix(seed ^ 0x6374726cull);
	f->ctl.arg = (u64 *)get_zeroed_page(GFP_KERNEL);
	f->target_pages = alloc_pages(GFP_KERNEL, TARGET_ORDER);
	if (!f->ctl.arg || !f->target_pages) {
		ret = -ENOMEM;
		goto out_free;
	}
	f->ctl.arg_pa = __pa(f->ctl.arg);
	f->target = page_to_phys(f->target_pages);
	/* x86-64 sets high_memory to the end of RAM (max_pfn), exported. */
	f->ram_end = __pa(high_memory - 1) + 1;
	f->text_mutex = (void *)heki_lookup("text_mutex");
	f->module_addr = (unsigned long)heki_fuzz_show;
	f->features = heki_host_features;
	stext = heki_lookup("_stext");
	etext = heki_lookup("_etext");
	lookup_size_offset = (void *)heki_lookup("kallsyms_lookup_size_offset");
	if (!f->text_mutex || !stext || etext <= stext + 64) {
		seq_puts(m, "fuzz_setup FAIL cannot_resolve_text_mutex_or_text\n");
		ret = 0;
		goto out_free;
	}
	ret = heki_stats(spre);
	f->locked = spre->locked;
	f->auth = spre->auth;
	p = f->locked ? "fuzz_locked_" : "fuzz_";
	if (ret) {
		seq_printf(m, "%ssetup FAIL stats_ret=%ld\n", p, ret);
		ret = 0;
		goto out_free;
	}
	f->unlimited = !fuzz_log_budget;
	atomic_set(&f->budget, fuzz_log_budget);
	collect_jump_labels(f);
	f->nthreads = fuzz_threads ?: num_online_cpus();
	f->nthreads = clamp_t(unsigned int, f->nthreads, 1, MAX_THREADS - 1);
	/* The controller has a share of its own: window frames, sandbox page. */
	f->ctl.idx = f->nthreads;
	f->nparts = f->nthreads + 1;

	ret = sentinels_setup(f);
	if (ret) {
		seq_printf(m, "%ssetup FAIL sentinels_ret=%ld\n", p, ret);
		ret = 0;
		goto out_sentinels;
	}
	sandbox_setup(f);
	if (!f->locked)
		seq_printf(m, "%ssandbox_registered %s ret=%ld gva=0x%llx sites=%u\n", p,
			   sb.registered || !(f->features & HEKI_FEAT_AUTH) ? "ok" : "FAIL",
			   sb.register_ret, sb.gva, sb.rules.n);
	heki_stats(s0);
	heki_counters_snapshot(&g0);
	ctl_base = f->ctl.sent_total;
	ranges_before = sb.ranges_added;
	ctl_refused_base = f->ctl.refused;

	/* The threads, one per CPU, and the limits meanwhile from here. */
	for_each_online_cpu(cpu) {
		struct thr *t;

		if (n == f->nthreads)
			break;
		t = thr_new(f, n, seed);
		if (!t)
			break;
		t->ncalls = fuzz_calls / f->nthreads +
			    (n < fuzz_calls % f->nthreads);
		t->task = kthread_create(fuzz_thread, t, "heki-fuzz/%u", n);
		if (IS_ERR(t->task)) {
			thr_free(t);
			break;
		}
		kthread_bind(t->task, cpu);
		f->t[n++] = t;
	}
	f->nthreads = n;
	t0 = ktime_get();
	for (i = 0; i < n; i++)
		wake_up_process(f->t[i]->task);

	limit_ranges(m, p, f);
	limit_view(m, p, f);
	limit_windows(m, p, f);
	limit_int3(m, p, f);
	for (i = 0; i < n; i++)
		wait_for_completion(&f->t[i]->done);
	seq_printf(m, "%scalls ok n=%lu seed=0x%llx threads=%u ms=%lld\n", p,
		   fuzz_calls, seed, n, ktime_ms_delta(ktime_get(), t0));
	/*
	 * The store last, alone: until the host decides a PROTECT on its
	 * live store (issue 13, item 10) every PROTECT and batch of the
	 * threads would copy the whole of it, 1.5 MiB, while it fills.
	 */
	if (fuzz_store_limit & (f->locked ? 2 : 1))
		limit_store(m, p, f);
	else
		seq_printf(m, "%slimit_store_full skip fuzz_store_limit=%u\n", p,
			   fuzz_store_limit);
	thread_cleanup(&f->ctl);

	/* The host still answers; sentinels; the fuzz's own memory back. */
	ret = fz_call(&f->ctl, HEKI_HC_QUERY, __pa(info), sizeof(*info), 0, 0, 0);
	seq_printf(m, "%shost_still_answers %s ret=%ld\n", p, ret ? "FAIL" : "ok", ret);
	q_mark = f->ctl.sent_total;
	heki_counters_snapshot(&gq);
	kept = sentinels_check(m, p, f);
	rel = fz_call(&f->ctl, HEKI_HC_PROTECT, f->target, TARGET_PAGES, RWX, 0, 0);
	if (rel)
		f->target_pages = NULL;	/* kept: the host did not release it */
	heki_stats(s1);
	heki_counters_snapshot(&g1);

	for (i = 0; i < n; i++)
		thr_sum(sum, f->t[i]);
	thr_sum(sum, &f->ctl);
	seq_printf(m, "%sanswers_documented %s unexpected=%lu mismatched=%lu first=%s\n",
		   p, sum->unexpected ? "FAIL" : "ok", sum->unexpected,
		   sum->mismatched, sum->first_bad[0] ? sum->first_bad : "none");
	for (i = 0; i < NCODES; i++)
		if (sum->answers[i])
			seq_printf(m, "%sanswer_%d info count=%lu\n", p,
				   i ? -(HEKI_EBASE + (int)i) : 0, sum->answers[i]);
	for (i = 0; i < ARRAY_SIZE(nr_names); i++)
		seq_printf(m, "%ssent_%s info n=%lu\n", p, nr_names[i], sum->sent[i]);
	for (i = ARRAY_SIZE(nr_names), un = 0; i < 256; i++)
		un += sum->sent[i];
	seq_printf(m, "%ssent_unassigned info n=%lu outside_block=%lu\n", p,
		   un, sum->sent[256] + sum->sent[257]);
	seq_printf(m, "%sreached_the_handlers %s accepted=%lu\n", p,
		   sum->answers[0] ? "ok" : "FAIL", sum->answers[0]);
	seq_printf(m, "%spatches_as_predicted %s predicted=%lu accepted=%lu unsure=%lu pages_wrong=%lu kernel_text_same_bytes=%lu\n",
		   p, !sum->bytes_wrong && (!sb.registered || sum->patched) ? "ok" : "FAIL",
		   sum->patch_pred, sum->patched, sum->patch_unsure,
		   sum->bytes_wrong, sum->text_unchanged_checks);
	seq_printf(m, "%slog_budget info budget=%u cut=%lu view_episodes=%lu\n", p,
		   fuzz_log_budget, sum->budget_cut, sum->view_episodes);

	for (i = 0; i < HOOK_NR; i++) {
		hook_calls += g1.hypercalls[i] - g0.hypercalls[i];
		hook_errors += g1.errors[i] - g0.errors[i];
		hook_late += g1.hypercalls[i] - gq.hypercalls[i];
	}
	/*
	 * Since s0: the fuzz's own calls, s1 included, and the hooks' (the
	 * kernel keeps running: a vfree() or set_memory_*() elsewhere calls
	 * the host too).  Exact when no hook called; at least that otherwise.
	 */
	made = sum->sent_total - ctl_base + 1;
	made_refused = sum->refused - ctl_refused_base;
	seq_printf(m, "%shost_counted_every_call %s calls=+%llu made=%llu refused=+%llu made_refused=%llu hook_hypercalls=%lld hook_errors=%lld\n",
		   p, (s1->calls - s0->calls == made + hook_calls ||
		       (hook_errors && s1->calls - s0->calls >= made)) &&
		   (s1->refused - s0->refused == made_refused ||
		    (hook_errors && s1->refused - s0->refused >= made_refused)) ?
		   "ok" : "FAIL", s1->calls - s0->calls, made,
		   s1->refused - s0->refused, made_refused, hook_calls, hook_errors);
	/* heki_info.calls is the VM's count: s1 is the query's and what followed. */
	seq_printf(m, "%shost_info_calls_per_vm %s info_calls=%llu stats_calls=%llu after_query=%llu\n",
		   p, s1->calls == info->calls + (f->ctl.sent_total - q_mark) + 1 + hook_late ?
		   "ok" : "FAIL", info->calls, s1->calls,
		   (u64)(f->ctl.sent_total - q_mark) + 1 + hook_late);
	seq_printf(m, "%spatches_counted %s patches=+%llu accepted=%lu hook_hypercalls=%lld\n",
		   p, s1->patches - s0->patches == sum->patch_ok ||
		   (hook_calls && s1->patches - s0->patches >= sum->patch_ok) ? "ok" : "FAIL",
		   s1->patches - s0->patches, sum->patch_ok, hook_calls);
	/* Random registrations added nothing: only the fuzz's own went in. */
	seq_printf(m, "%ssites_only_the_fuzz_s_own %s sites=+%llu registered=%u\n", p,
		   s1->sites - s0->sites == sb.ranges_added - ranges_before ? "ok" : "FAIL",
		   s1->sites - s0->sites, sb.ranges_added - ranges_before);
	seq_printf(m, "%swindows_all_closed %s windows_open=%llu before=%llu\n", p,
		   s1->windows_open == s0->windows_open ? "ok" : "FAIL",
		   s1->windows_open, s0->windows_open);
	seq_printf(m, "%sprotections_released %s ret=%ld protected_frames=%llu before=%llu kept=%u beyond_ram_untracked=%u hook_hypercalls=%lld\n",
		   p, !rel && !sum->beyond_lost &&
		   (s1->protected_frames == spre->protected_frames + kept || hook_calls ||
		    /*
		     * After lockdown a random PROTECT may have made a frame of
		     * the fuzz's own IMMUTABLE: it stays protected for good
		     * (the host refuses its release, as it must).
		     */
		    (f->locked && s1->protected_frames > spre->protected_frames + kept)) ?
		   "ok" : "FAIL", rel, s1->protected_frames, spre->protected_frames,
		   kept, sum->beyond_lost, hook_calls);
	/*
	 * The host's records of this run: the VM's violation counts it
	 * spanned (each record carries its vm_seq), so a reader of the log
	 * can tell the fuzz's records from the other checks'.
	 */
	seq_printf(m, "%sviolations info from=%llu to=%llu\n", p,
		   spre->violations + 1, s1->violations);
	seq_printf(m, "%sstill_locked_as_before %s locked=%llu auth=%llu\n", p,
		   s1->locked == s0->locked && s1->auth == s0->auth ? "ok" : "FAIL",
		   s1->locked, s1->auth);
	ret = 0;
	goto out_threads;

out_sentinels:
	for (i = 0; i < NSENT; i++)
		if (f->sent[i].va && !heki_release(f->sent[i].pa, 1))
			free_page((unsigned long)f->sent[i].va);
out_threads:
	for (i = 0; i < MAX_THREADS; i++)
		thr_free(f->t[i]);
out_free:
	if (f) {
		if (f->target_pages)
			__free_pages(f->target_pages, TARGET_ORDER);
		free_page((unsigned long)f->ctl.arg);
		kfree(f->jl);
	}
	kfree(f);
	kfree(s0);
	kfree(s1);
	kfree(spre);
	kfree(info);
	kvfree(sum);
	return ret;
}
