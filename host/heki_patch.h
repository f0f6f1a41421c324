/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Authenticated patching (HEKI_HC_SITES, HEKI_HC_PATCH): the registered
 * sites of one VM and the rules for the bytes each may hold.
 *
 * Pure C, header only, no allocation: included by kvm.ko (heki_host.c,
 * which owns the memory and the locking) and by the native unit tests
 * (tests/unit/test_heki_patch.c).  Every function is a decision on data
 * the host already holds; reading and writing guest memory is the
 * caller's.
 */
#ifndef HEKI_PATCH_H
#define HEKI_PATCH_H

#ifndef __KERNEL__
#include <linux/types.h>
#include <stdbool.h>
#include <string.h>
#endif
#include "heki_abi.h"

/* TEXT, TARGETS and NOPROBE ranges per VM. */
#define HEKI_SITE_RANGES_MAX	8

struct heki_int3 {
	__u64 gva;
	__u8 orig;		/* the byte the INT3 replaced */
};

/* A registered function entry (HEKI_SITE_FUNC), kept compact. */
struct heki_func {
	__u64 gva;
	__u32 len;
	__u32 flags;		/* HEKI_FUNC_* */
};

struct heki_sites {
	/* JUMP/CALL/TAIL/FTRACE sites, ascending and disjoint; capacity is the caller's. */
	struct heki_site *site;
	unsigned int n, cap;
	/* Function entries, ascending, distinct; capacity is the caller's. */
	struct heki_func *func;
	unsigned int nfunc, fcap;
	struct heki_site range[HEKI_SITE_RANGES_MAX];	/* TEXT, TARGETS, NOPROBE */
	unsigned int nranges;
	/* INT3s the host placed outside sites (kprobes); capacity HEKI_INT3_MAX. */
	struct heki_int3 *int3;
	unsigned int nint3;
};

/* Why a request was refused: logged with it (kind "patch"). */
enum heki_patch_reason {
	HEKI_PR_OK,
	HEKI_PR_NOT_TEXT,	/* not inside a registered text range */
	HEKI_PR_NOT_SITE,	/* crosses or misses the registered sites */
	HEKI_PR_BYTES,		/* not an encoding the site may hold */
	HEKI_PR_INT3,		/* a byte that is neither INT3 nor the one an INT3 replaced */
	HEKI_PR_INT3_FULL,	/* too many INT3s outside sites */
	HEKI_PR_WINDOW,		/* a write window on an immutable frame */
	HEKI_PR_VIEW,		/* the patch view for an address outside the target ranges */
	HEKI_PR_REGISTER,	/* sites registered after lockdown */
	HEKI_PR_INT3_PLACE,	/* an INT3 not at a verified instruction boundary */
	HEKI_PR_LOCK_BUSY,	/* authentication asked while write windows are open */
	HEKI_PR_NR
};

static const char *const heki_patch_reason_names[HEKI_PR_NR] = {
	"ok", "not-text", "not-site", "bytes", "int3", "int3-full", "window",
	"view", "register", "int3-place", "lock-busy",
};

static inline const char *heki_patch_reason_name(unsigned int r)
{
	return r < HEKI_PR_NR ? heki_patch_reason_names[r] : "unknown";
}

/* One entry of a registration, alone: 0 or -HEKI_EINVAL / -HEKI_EALIGN. */
static inline long heki_check_site(const struct heki_site *s)
{
	if (!s->len || s->gva + s->len < s->gva)
		return -HEKI_EINVAL;
	switch (s->kind) {
	case HEKI_SITE_TEXT:
		if ((s->gva ^ s->gpa) & 0xfff)
			return -HEKI_EALIGN;
		return s->target ? -HEKI_EINVAL : 0;
	case HEKI_SITE_TARGETS:
	case HEKI_SITE_NOPROBE:
		return s->gpa || s->target ? -HEKI_EINVAL : 0;
	case HEKI_SITE_JUMP:
		if (s->gpa || !s->target || (s->len != 2 && s->len != 5))
			return -HEKI_EINVAL;
		return 0;
	case HEKI_SITE_CALL:
	case HEKI_SITE_FTRACE:
		return s->gpa || s->target || s->len != 5 ? -HEKI_EINVAL : 0;
	case HEKI_SITE_TAIL:
		if (s->gpa || (s->len != 5 && s->len != 6))
			return -HEKI_EINVAL;
		if (s->len == 5)
			return s->target ? -HEKI_EINVAL : 0;
		return s->target >= 0x80 && s->target <= 0x8f ? 0 : -HEKI_EINVAL;
	case HEKI_SITE_FUNC:
		return s->gpa || (s->target & ~HEKI_FUNC_FTRACE) ? -HEKI_EINVAL : 0;
	default:
		return -HEKI_EINVAL;
	}
}

static inline bool heki_range_holds(const struct heki_site *r, __u64 gva,
				    __u64 len)
{
	return gva >= r->gva && gva - r->gva < r->len &&
	       len <= r->len - (gva - r->gva);
}

/* The TEXT range holding [gva, gva + len), or NULL. */
static inline const struct heki_site *
heki_sites_text(const struct heki_sites *s, __u64 gva, __u64 len)
{
	for (unsigned int i = 0; i < s->nranges; i++)
		if (s->range[i].kind == HEKI_SITE_TEXT &&
		    heki_range_holds(&s->range[i], gva, len))
			return &s->range[i];
	return 0;
}

/* The registered function entry at exactly @gva (index), or -1. */
static inline long heki_func_find(const struct heki_sites *s, __u64 gva)
{
	long lo = 0, hi = (long)s->nfunc - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (s->func[mid].gva == gva)
			return mid;
		if (s->func[mid].gva < gva)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Whether @gva lies in a TARGETS range (the module area). */
static inline bool heki_sites_in_targets(const struct heki_sites *s, __u64 gva)
{
	for (unsigned int i = 0; i < s->nranges; i++)
		if (s->range[i].kind == HEKI_SITE_TARGETS &&
		    heki_range_holds(&s->range[i], gva, 1))
			return true;
	return false;
}

/*
 * Whether a CALL/JMP may land on @gva: a registered function entry
 * (with all of @flags), or anywhere in the module area.
 */
static inline bool heki_sites_target_ok(const struct heki_sites *s, __u64 gva,
					__u32 flags)
{
	long f = heki_func_find(s, gva);

	if (f >= 0 && (s->func[f].flags & flags) == flags)
		return true;
	return heki_sites_in_targets(s, gva);
}

/* Whether the patch view may be entered for a poke of @gva. */
static inline bool heki_sites_view_ok(const struct heki_sites *s, __u64 gva)
{
	return heki_sites_in_targets(s, gva);
}

static inline bool heki_site_is_range(__u32 kind)
{
	return kind == HEKI_SITE_TEXT || kind == HEKI_SITE_TARGETS ||
	       kind == HEKI_SITE_NOPROBE;
}

/* How many FUNC entries a batch holds (the caller grows func[] first). */
static inline unsigned int heki_sites_count_funcs(const struct heki_site *e,
						  unsigned int n)
{
	unsigned int i, nf = 0;

	for (i = 0; i < n; i++)
		nf += e[i].kind == HEKI_SITE_FUNC;
	return nf;
}

/*
 * Validates a batch of @n entries against what is registered and appends
 * it, all or nothing: ranges to range[], function entries to func[] and
 * sites to site[] (which must have room: the caller grows them first).
 * Sites and function entries must each continue their ascending order
 * (sites also disjoint) and lie inside a TEXT range registered before them
 * or in this batch.
 */
static inline long heki_sites_add(struct heki_sites *s,
				  const struct heki_site *e, unsigned int n)
{
	unsigned int nr = 0, ns = 0, nf = 0, i;
	__u64 end = s->n ? s->site[s->n - 1].gva + s->site[s->n - 1].len : 0;
	__u64 fnext = s->nfunc ? s->func[s->nfunc - 1].gva + 1 : 0;
	long ret;

	for (i = 0; i < n; i++) {
		ret = heki_check_site(&e[i]);
		if (ret)
			return ret;
		if (heki_site_is_range(e[i].kind)) {
			nr++;
		} else if (e[i].kind == HEKI_SITE_FUNC) {
			if (e[i].gva < fnext)
				return -HEKI_EINVAL;	/* out of order or repeated */
			fnext = e[i].gva + 1;
			nf++;
		} else {
			if (e[i].gva < end)
				return -HEKI_EINVAL;	/* out of order or overlapping */
			end = e[i].gva + e[i].len;
			ns++;
		}
	}
	if (s->nranges + nr > HEKI_SITE_RANGES_MAX ||
	    s->n + ns > HEKI_SITES_MAX || s->n + ns > s->cap ||
	    s->nfunc + nf > HEKI_FUNCS_MAX || s->nfunc + nf > s->fcap)
		return -HEKI_E2BIG;
	/* Ranges first, so entries of this batch may sit in its text ranges. */
	for (i = 0; i < n; i++)
		if (heki_site_is_range(e[i].kind))
			s->range[s->nranges++] = e[i];
	for (i = 0; i < n; i++) {
		if (heki_site_is_range(e[i].kind))
			continue;
		if (!heki_sites_text(s, e[i].gva,
				     e[i].kind == HEKI_SITE_FUNC ? 1 : e[i].len)) {
			s->nranges -= nr;	/* undo: all or nothing */
			return -HEKI_EINVAL;
		}
	}
	for (i = 0; i < n; i++) {
		if (heki_site_is_range(e[i].kind))
			continue;
		if (e[i].kind == HEKI_SITE_FUNC)
			s->func[s->nfunc++] = (struct heki_func){
				e[i].gva, e[i].len, (__u32)e[i].target };
		else
			s->site[s->n++] = e[i];
	}
	return 0;
}

static inline void heki_sites_reset(struct heki_sites *s)
{
	s->n = 0;
	s->nfunc = 0;
	s->nranges = 0;
	s->nint3 = 0;
}

/*
 * The site with the largest gva <= @gva (index), or -1.  Binary search:
 * there may be a quarter of a million.
 */
static inline long heki_sites_find(const struct heki_sites *s, __u64 gva)
{
	long lo = 0, hi = (long)s->n - 1, best = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (s->site[mid].gva <= gva) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

static const __u8 heki_nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
static const __u8 heki_nop2[2] = { 0x66, 0x90 };
static const __u8 heki_ret_int3[5] = { 0xc3, 0xcc, 0xcc, 0xcc, 0xcc };
/* __static_call_return0 inlined: "xor %eax,%eax" with three CS prefixes. */
static const __u8 heki_xor5rax[5] = { 0x2e, 0x2e, 0x2e, 0x31, 0xc0 };

static inline __s32 heki_rel32(const __u8 *b)
{
	return (__s32)((__u32)b[0] | (__u32)b[1] << 8 | (__u32)b[2] << 16 |
		       (__u32)b[3] << 24);
}

/* Whether @b (site->len bytes) is an encoding the site's kind may hold. */
static inline bool heki_site_bytes_ok(const struct heki_sites *s,
				      const struct heki_site *site,
				      const __u8 *b)
{
	__u64 dest;

	if (site->kind == HEKI_SITE_JUMP && site->len == 2) {
		if (!memcmp(b, heki_nop2, 2))
			return true;
		dest = site->gva + 2 + (__s64)(__s8)b[1];
		return b[0] == 0xeb && dest == site->target;
	}
	/* A rel32 ends the instruction (CALL/JMP: 5 bytes, Jcc: 6). */
	dest = site->gva + site->len + (__s64)heki_rel32(b + site->len - 4);
	switch (site->kind) {
	case HEKI_SITE_JUMP:
		return !memcmp(b, heki_nop5, 5) ||
		       (b[0] == 0xe9 && dest == site->target);
	case HEKI_SITE_CALL:
		return !memcmp(b, heki_nop5, 5) || !memcmp(b, heki_xor5rax, 5) ||
		       (b[0] == 0xe8 && heki_sites_target_ok(s, dest, 0));
	case HEKI_SITE_TAIL:
		if (site->len == 6)
			return b[0] == 0x0f && b[1] == site->target &&
			       heki_sites_target_ok(s, dest, 0);
		return !memcmp(b, heki_ret_int3, 5) ||
		       (b[0] == 0xe9 && heki_sites_target_ok(s, dest, 0));
	case HEKI_SITE_FTRACE:
		return !memcmp(b, heki_nop5, 5) ||
		       (b[0] == 0xe8 &&
			heki_sites_target_ok(s, dest, HEKI_FUNC_FTRACE));
	default:
		return false;
	}
}

/*
 * Whether @b may stand at the site: an allowed encoding, or INT3 followed
 * by the tail of one (text_poke_bp() writes INT3, then the tail, then the
 * first byte; each step is a request of its own).
 */
static inline bool heki_site_state_ok(const struct heki_sites *s,
				      const struct heki_site *site,
				      const __u8 *b)
{
	__u8 t[HEKI_PATCH_MAX_LEN];
	unsigned int c;

	if (heki_site_bytes_ok(s, site, b))
		return true;
	if (b[0] != 0xcc)
		return false;
	memcpy(t, b, site->len);
	for (c = 0; c < 256; c++) {
		t[0] = (__u8)c;
		if (heki_site_bytes_ok(s, site, t))
			return true;
	}
	return false;
}

/* The INT3 the host placed at @gva (index), or -1. */
static inline long heki_int3_find(const struct heki_sites *s, __u64 gva)
{
	for (unsigned int i = 0; i < s->nint3; i++)
		if (s->int3[i].gva == gva)
			return i;
	return -1;
}

/*
 * Where a kprobe's INT3 may go: at an instruction boundary of a registered
 * function, outside NOPROBE text.  An INT3 inside an instruction would
 * rewrite an immediate or a branch displacement without ever trapping
 * ("jne +10" into "jne -52").  The host proves the boundary by decoding
 * the function from its entry (heki_int3_on_boundary()), with the
 * kernel's own decoder in kvm.ko and a stand-in in the unit tests.
 */
#define HEKI_INT3_WALK_MAX	65536	/* bytes decoded at most per INT3 */

/* The registered function whose [gva, gva + len) holds @gva (index), or -1. */
static inline long heki_func_holding(const struct heki_sites *s, __u64 gva)
{
	long lo = 0, hi = (long)s->nfunc - 1, best = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (s->func[mid].gva <= gva) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best >= 0 && gva - s->func[best].gva < s->func[best].len ? best : -1;
}

static inline bool heki_sites_noprobe(const struct heki_sites *s, __u64 gva)
{
	for (unsigned int i = 0; i < s->nranges; i++)
		if (s->range[i].kind == HEKI_SITE_NOPROBE &&
		    heki_range_holds(&s->range[i], gva, 1))
			return true;
	return false;
}

/* Puts back the byte under every INT3 the host placed in @buf (@n bytes at @base). */
static inline void heki_int3_undo(const struct heki_sites *s, __u64 base,
				  __u8 *buf, unsigned int n)
{
	for (unsigned int i = 0; i < s->nint3; i++)
		if (s->int3[i].gva - base < n)
			buf[s->int3[i].gva - base] = s->int3[i].orig;
}

/* The length of the instruction at @p (@avail bytes readable), or <= 0. */
typedef int (*heki_insn_len_fn)(const __u8 *p, unsigned int avail);

/*
 * Whether @gva is an instruction boundary of function @f, whose bytes from
 * its entry are @buf (@n of them, INT3s undone): decodes forward from the
 * entry, a registered site counting as one instruction of its length (its
 * bytes may be mid-way through text_poke_bp()), anything else measured
 * by @insn_len.
 */
static inline bool heki_int3_on_boundary(const struct heki_sites *s,
					 const struct heki_func *f, __u64 gva,
					 const __u8 *buf, unsigned int n,
					 heki_insn_len_fn insn_len)
{
	__u64 at = f->gva;

	if (gva - f->gva > HEKI_INT3_WALK_MAX)
		return false;
	while (at < gva) {
		long i = heki_sites_find(s, at);
		int len;

		if (i >= 0 && s->site[i].gva == at)
			len = s->site[i].len;
		else if (at - f->gva >= n)
			return false;
		else
			len = insn_len(buf + (at - f->gva), n - (unsigned int)(at - f->gva));
		if (len <= 0)
			return false;
		at += len;
	}
	return at == gva;
}

/* A HEKI_HC_PATCH request, decided. */
struct heki_patch_plan {
	__u64 gpa;		/* where the bytes go */
	/* For the INT3 table: record (arm) or forget (disarm) gva's entry. */
	enum { HEKI_INT3_NONE, HEKI_INT3_ARM, HEKI_INT3_DISARM } int3;
	/* The site's bytes to read before deciding (site requests). */
	__u64 site_gpa, site_gva;
	unsigned int site_len;
	long site;		/* index, or -1 for a lone byte */
};

/*
 * First half of a request: where it writes and what must be read to
 * decide.  Returns HEKI_PR_OK or the reason to refuse.
 */
static inline enum heki_patch_reason
heki_patch_locate(const struct heki_sites *s, __u64 gva, unsigned int len,
		  struct heki_patch_plan *p)
{
	const struct heki_site *text = heki_sites_text(s, gva, len), *site;
	long i;

	if (!text)
		return HEKI_PR_NOT_TEXT;
	p->gpa = text->gpa + (gva - text->gva);
	p->int3 = HEKI_INT3_NONE;
	i = heki_sites_find(s, gva + len - 1);	/* the last site the bytes reach */
	if (i >= 0 && s->site[i].gva + s->site[i].len > gva) {
		site = &s->site[i];
		/* Wholly inside that one site, or refused. */
		if (gva < site->gva || gva + len > site->gva + site->len)
			return HEKI_PR_NOT_SITE;
		p->site = i;
		p->site_gva = site->gva;
		p->site_len = site->len;
		p->site_gpa = text->gpa + (site->gva - text->gva);
		return HEKI_PR_OK;
	}
	p->site = -1;
	return len == 1 ? HEKI_PR_OK : HEKI_PR_NOT_SITE;
}

/*
 * Second half: @cur holds the site's bytes now (site requests; the one
 * byte at gva otherwise), @new the request's.  Fills p->int3.
 */
static inline enum heki_patch_reason
heki_patch_decide(const struct heki_sites *s, struct heki_patch_plan *p,
		  __u64 gva, const __u8 *new, unsigned int len, const __u8 *cur)
{
	__u8 after[HEKI_PATCH_MAX_LEN];
	long k;

	if (p->site >= 0) {
		memcpy(after, cur, p->site_len);
		memcpy(after + (gva - p->site_gva), new, len);
		return heki_site_state_ok(s, &s->site[p->site], after) ?
		       HEKI_PR_OK : HEKI_PR_BYTES;
	}
	k = heki_int3_find(s, gva);
	if (new[0] == 0xcc) {
		if (k >= 0)
			return HEKI_PR_OK;	/* already armed: nothing to remember */
		if (s->nint3 >= HEKI_INT3_MAX)
			return HEKI_PR_INT3_FULL;
		p->int3 = HEKI_INT3_ARM;
		return HEKI_PR_OK;
	}
	if (k < 0 || s->int3[k].orig != new[0])
		return HEKI_PR_INT3;
	p->int3 = HEKI_INT3_DISARM;
	return HEKI_PR_OK;
}

/* After the write: keep the INT3 table in step (cur = the replaced byte). */
static inline void heki_patch_commit(struct heki_sites *s,
				     const struct heki_patch_plan *p, __u64 gva,
				     __u8 cur)
{
	long k;

	if (p->int3 == HEKI_INT3_ARM) {
		s->int3[s->nint3++] = (struct heki_int3){ gva, cur };
	} else if (p->int3 == HEKI_INT3_DISARM) {
		k = heki_int3_find(s, gva);
		if (k >= 0)
			s->int3[k] = s->int3[--s->nint3];
	}
}

#endif /* HEKI_PATCH_H */
