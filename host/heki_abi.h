/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Heki guest <-> host ABI.  The one header shared by the host (our kvm.ko),
 * the guest module and the userland tools.  Semantics are documented in
 * host/ABI.md; keep the two in step.
 *
 * Calling convention: KVM's own (VMCALL on Intel, VMMCALL on AMD; nr in RAX,
 * arguments in RBX, RCX, RDX, RSI, result in RAX).  Calls are accepted from
 * guest CPL 0 only: from any other CPL a Heki number gets -HEKI_EPERM.
 */
#ifndef HEKI_ABI_H
#define HEKI_ABI_H

#include <linux/types.h>	/* __u32/__u64 in the kernel and in userspace */

/*
 * Bumped on any incompatible change of numbers, layouts or semantics.
 * The host answers HEKI_HC_QUERY with its version; a guest refuses to run
 * against a different major.
 */
#define HEKI_ABI_VERSION_MAJOR 0
#define HEKI_ABI_VERSION_MINOR 7
#define HEKI_ABI_VERSION ((HEKI_ABI_VERSION_MAJOR << 16) | HEKI_ABI_VERSION_MINOR)

/*
 * Hypercall numbers live in their own block ("HK" in the upper half) so they
 * can never collide with KVM's KVM_HC_* (0..12 in 6.1; the Heki RFC took 13
 * and 14) nor with other paravirt interfaces.  Numbers fit in 32 bits so the
 * call also works from 32-bit guest code, where KVM truncates RAX.
 */
#define HEKI_HC_BASE		0x484b0000u
#define HEKI_HC_LAST		0x484b00ffu
#define HEKI_HC_IS_HEKI(nr)	((nr) >= HEKI_HC_BASE && (nr) <= HEKI_HC_LAST)

/*
 * HEKI_HC_QUERY(a0 = GPA of a struct heki_info, a1 = sizeof(struct heki_info))
 * Fills the structure and returns 0.  The GPA must be 8-byte aligned and the
 * structure must not cross a page boundary.
 */
#define HEKI_HC_QUERY		(HEKI_HC_BASE + 0x00)

/*
 * Permission attributes of a guest-physical range (bits 1-3 as in the Heki
 * RFC v2).  IMMUTABLE ranges can never be made more permissive once the
 * guest has locked down.  Bit 0 was READ up to ABI 0.6: accepted but never
 * enforced (second-stage tables cannot deny reads of a present page), so
 * since 0.7 it is refused (-HEKI_EATTR) like any unknown bit.  Every frame
 * stays readable; HEKI_ATTR_RO (no bit) is a read-only, non-executable one.
 */
#define HEKI_ATTR_RO		0u
#define HEKI_ATTR_WRITE		(1u << 1)
#define HEKI_ATTR_EXEC		(1u << 2)
#define HEKI_ATTR_IMMUTABLE	(1u << 3)
#define HEKI_ATTR_ALL		(HEKI_ATTR_WRITE | HEKI_ATTR_EXEC | HEKI_ATTR_IMMUTABLE)

/*
 * HEKI_HC_PIN_CR(a0 = 0 or 4: the control register, a1 = bits to pin,
 *		  a2 = a3 = 0)
 * From then on a guest write to that register which clears a pinned bit
 * gets #GP, leaves the register unchanged and is logged.  Pins accumulate
 * per VM and cannot be removed.  Only bits in HEKI_CR{0,4}_PINNABLE may be
 * pinned, and only while they are set on the calling vCPU.
 */
#define HEKI_HC_PIN_CR		(HEKI_HC_BASE + 0x01)

#define HEKI_CR0_WP		(1ull << 16)
#define HEKI_CR4_UMIP		(1ull << 11)
#define HEKI_CR4_SMEP		(1ull << 20)
#define HEKI_CR4_SMAP		(1ull << 21)
#define HEKI_CR0_PINNABLE	HEKI_CR0_WP
#define HEKI_CR4_PINNABLE	(HEKI_CR4_UMIP | HEKI_CR4_SMEP | HEKI_CR4_SMAP)

/*
 * HEKI_HC_PROTECT(a0 = GPA of the first page, a1 = number of pages,
 *		   a2 = HEKI_ATTR_* the range keeps, a3 = 0)
 * Sets the permissions the host enforces on every frame of the range in its
 * second-stage page tables: a frame without HEKI_ATTR_WRITE cannot be
 * written, one without HEKI_ATTR_EXEC cannot be executed, whatever the
 * guest's own page tables say.  A denied access is not performed, the guest
 * gets a #PF (error code PRESENT|RSVD plus WRITE or INSTR, CR2 the linear
 * address) that the kernel's fault-tolerant accessors recover from, and the
 * host logs it.  Attributes WRITE|EXEC release the range.  A restricting
 * request on memory the VMM logs dirty pages of (a migration under way)
 * gets -HEKI_EDIRTYLOG: nothing would carry it to the destination.
 */
#define HEKI_HC_PROTECT		(HEKI_HC_BASE + 0x02)

/*
 * HEKI_HC_PROTECT_BATCH(a0 = GPA of an array of struct heki_range,
 *			 a1 = number of entries (1 .. HEKI_BATCH_MAX), a2 = a3 = 0)
 * Applies the entries in order, each as HEKI_HC_PROTECT would, all or
 * nothing: if any entry is refused none takes effect and the call returns
 * that entry's error.  The array must be 8-byte aligned and inside one page.
 */
#define HEKI_HC_PROTECT_BATCH	(HEKI_HC_BASE + 0x03)

struct heki_range {
	__u64 gpa;		/* first page, page aligned */
	__u64 npages;
	__u64 attrs;		/* HEKI_ATTR_* */
	__u64 reserved;		/* must be 0 */
};

#define HEKI_BATCH_MAX		(4096 / sizeof(struct heki_range))	/* 128 */

/*
 * HEKI_HC_WINDOW_OPEN(a0 = GPA of the first page, a1 = pages (1 ..
 *		       HEKI_WINDOW_MAX_PAGES), a2 = a3 = 0)
 * HEKI_HC_WINDOW_CLOSE(same arguments)
 * A temporary write window for text_poke: while a frame has a window open
 * it is writable whatever its attributes.  Windows count per frame (as the
 * Heki RFC's per-page counters): two opens need two closes, so nested and
 * concurrent pokes of one page, and a page mapped at several addresses,
 * behave.  Closing the last window on a frame restores its attributes and
 * removes the write permission from the second-stage tables.  All pages of
 * one call open (or close) together or not at all.  Windows are granted
 * after lockdown too and are not authenticated: any kernel code path that
 * can make the call can open one.  After an authenticated lockdown
 * (HEKI_LOCK_AUTH) a window on an IMMUTABLE frame (kernel text changes
 * through HEKI_HC_PATCH only) or on a restricted frame without EXEC (data:
 * text_poke() writes code only) is refused with -HEKI_ESITE and logged.
 */
#define HEKI_HC_WINDOW_OPEN	(HEKI_HC_BASE + 0x04)
#define HEKI_HC_WINDOW_CLOSE	(HEKI_HC_BASE + 0x05)
#define HEKI_WINDOW_MAX_PAGES	2	/* text_poke maps at most two pages */
#define HEKI_WINDOW_MAX_FRAMES	64	/* frames with a window open, per VM */
#define HEKI_WINDOW_MAX_COUNT	65535	/* nested opens of one frame */

/*
 * HEKI_HC_LOCKDOWN(a0 = HEKI_LOCK_* flags, a1 = a2 = a3 = 0)
 * From then on no request may give an IMMUTABLE frame a permission it lacks
 * or take IMMUTABLE away (unprotecting included): such a request is refused
 * with -HEKI_ELOCKED and logged.  Non-immutable frames stay changeable, so
 * vmap, set_memory_* and module unload keep working.  One-way.
 *
 * With HEKI_LOCK_AUTH, patching is authenticated from then on: IMMUTABLE
 * frames get no write window and are not writable in the patch view; the
 * only way to change their bytes is HEKI_HC_PATCH, which the host checks
 * against the sites registered before lockdown (HEKI_HC_SITES) and performs
 * itself.  A VM locked without it may add it later (a second lockdown with
 * HEKI_LOCK_AUTH succeeds once); nothing takes it away.
 */
#define HEKI_HC_LOCKDOWN	(HEKI_HC_BASE + 0x06)

#define HEKI_LOCK_AUTH		(1ull << 0)
#define HEKI_LOCK_FLAGS		HEKI_LOCK_AUTH

/*
 * HEKI_HC_STATS(a0 = GPA of a struct heki_stats, a1 = sizeof(struct
 *		 heki_stats), a2 = a3 = 0)
 * Fills this VM's counters (same buffer rules as HEKI_HC_QUERY).  Lets a
 * guest benchmark count the host's work per operation without asking L1.
 */
#define HEKI_HC_STATS		(HEKI_HC_BASE + 0x07)

/*
 * HEKI_HC_REPORT(a0 = HEKI_REPORT_*: what the guest's checker found,
 *		  a1 = the offending value (e.g. a pointer), a2 = the object
 *		  holding it (guest virtual address), a3 = 0)
 * A guest-side checker running from protected text reports something it
 * found and did not stop (an f_op pointer outside read-only memory, a cred
 * changed after it was installed): the host logs it as a violation of kind "report" (via "guest-checker") and
 * counts it in heki_stats.violations, so such a finding is "detected" in
 * the attack matrix.  Accepted before and after lockdown; returns 0.
 */
#define HEKI_HC_REPORT		(HEKI_HC_BASE + 0x08)

#define HEKI_REPORT_FOP		1	/* a file's f_op outside read-only memory */
#define HEKI_REPORT_CRED	2	/* a cred changed after it was installed */
#define HEKI_REPORT_LAST	HEKI_REPORT_CRED

/*
 * HEKI_HC_VIEW_SWITCH(a0 = HEKI_VIEW_PATCH to enter the patch view,
 *		       HEKI_VIEW_NORMAL to leave it; a1 = when entering, the
 *		       guest virtual address the poke writes (0 allowed before
 *		       an authenticated lockdown), else 0; a2 = a3 = 0)
 * Views, as Xen's altp2m keeps them: the host holds one complete
 * second-stage root per view and switches the calling vCPU between them,
 * so a switch rewrites no entries and costs the same whatever the amount
 * of protected memory.  In the normal view frames have their attributes;
 * in the patch view, executable frames are writable too (the guest keeps
 * executing kernel text while it pokes it).  Enters nest per vCPU (up to
 * 255): the last leave returns to the normal view.  Every protection
 * applies to both views.  Before an authenticated lockdown any kernel code
 * path that can make the call can enter the patch view; see below for
 * after.  Offered only with two-dimensional paging (HEKI_FEAT_VIEW).
 */
#define HEKI_HC_VIEW_SWITCH	(HEKI_HC_BASE + 0x09)

#define HEKI_VIEW_NORMAL	0
#define HEKI_VIEW_PATCH		1
#define HEKI_VIEWS		2

/*
 * After an authenticated lockdown (HEKI_LOCK_AUTH) entering the patch view
 * needs a1 = the guest virtual address the poke writes, inside a registered
 * HEKI_SITE_TARGETS range (the module area, where module text, BPF images,
 * ftrace trampolines and kprobe slots live); anything else, kernel text
 * included, is refused with -HEKI_ESITE and logged.  The patch view then
 * makes writable only executable frames that are not IMMUTABLE: memory whose
 * permissions the guest may change after lockdown anyway.
 */

/*
 * HEKI_HC_SITES(a0 = GPA of an array of struct heki_site, a1 = entries
 *		 (0 .. HEKI_SITES_BATCH_MAX), a2 = HEKI_SITES_* flags, a3 = 0)
 * Registers the places the guest will patch, before lockdown: what
 * HEKI_HC_PATCH accepts afterwards.  JUMP, CALL, TAIL and FTRACE entries
 * of all calls together must be in ascending gva order, must not overlap
 * and must lie in a TEXT range registered before or with them; FUNC
 * entries, likewise ascending and inside a TEXT range, form a list of
 * their own (-HEKI_EINVAL otherwise, and the call adds nothing); TEXT and
 * TARGETS ranges (at most 8) come in any order.  HEKI_SITES_RESET first
 * forgets every site (a module reloaded before lockdown registers again).
 * At most HEKI_SITES_MAX sites and HEKI_FUNCS_MAX function entries per VM
 * (-HEKI_E2BIG).  After lockdown: -HEKI_ELOCKED, logged.  The array must be
 * 8-byte aligned and inside one page.
 */
#define HEKI_HC_SITES		(HEKI_HC_BASE + 0x0a)

#define HEKI_SITES_RESET	(1ull << 0)
#define HEKI_SITES_BATCH_MAX	(4096 / sizeof(struct heki_site))	/* 128 */
#define HEKI_SITES_MAX		(1u << 18)
#define HEKI_FUNCS_MAX		(1u << 18)

/*
 * Kinds of site, with what HEKI_HC_PATCH lets each hold: for each, what
 * the kernel's own patching code writes there and nothing else.  A
 * "function entry" is a registered HEKI_SITE_FUNC address or any byte of
 * a HEKI_SITE_TARGETS range (module text, BPF images and ftrace
 * trampolines are not registered one by one); never another byte of
 * kernel text.
 */
#define HEKI_SITE_TEXT		1	/* kernel text: gva -> gpa for len bytes */
#define HEKI_SITE_TARGETS	2	/* gva range CALL/JMP may reach and the patch view
					   may be entered for (gpa 0): the module area */
#define HEKI_SITE_JUMP		3	/* jump label, len 2 or 5: the NOP of that length
					   or a JMP to exactly .target */
#define HEKI_SITE_CALL		4	/* static call site (not a tail call), ftrace's own
					   ftrace_call/ftrace_regs_call points, len 5: NOP5,
					   CALL rel32 to a function entry, or the
					   static-call "xor %eax,%eax" with CS prefixes */
#define HEKI_SITE_TAIL		5	/* static-call tail-call site or trampoline,
					   ftrace_graph_call; len 5: JMP rel32 to a
					   function entry or RET + INT3 padding; len 6
					   (a conditional tail call): Jcc rel32 to a
					   function entry with the condition byte (0x80 ..
					   0x8f) given in .target, which never changes */
#define HEKI_SITE_FTRACE	6	/* ftrace call site of a function, len 5: NOP5 or
					   CALL rel32 to an ftrace entry (a FUNC with
					   HEKI_FUNC_FTRACE: ftrace_caller,
					   ftrace_regs_caller) or into a TARGETS range
					   (ftrace and BPF trampolines) */
#define HEKI_SITE_FUNC		7	/* a function entry in kernel text (gpa 0, len its
					   size, .target HEKI_FUNC_* flags): a CALL/JMP
					   destination the sites above may name */
#define HEKI_SITE_NOPROBE	8	/* a range of kernel text no INT3 may enter (gpa 0):
					   noinstr and entry text, .kprobes.text */
#define HEKI_SITE_LAST		HEKI_SITE_NOPROBE

#define HEKI_FUNC_FTRACE	(1ull << 0)	/* an ftrace entry point */

struct heki_site {
	__u64 gva;		/* first byte */
	__u64 gpa;		/* its guest-physical address (TEXT only; else 0) */
	__u32 len;		/* bytes */
	__u32 kind;		/* HEKI_SITE_* */
	__u64 target;		/* JUMP: the only target; TAIL len 6: the Jcc
				   condition byte; FUNC: HEKI_FUNC_*; else 0 */
};

/*
 * HEKI_HC_PATCH(a0 = gva of the first byte to write, a1 = bytes (1 ..
 *		 HEKI_PATCH_MAX_LEN), a2 = bytes 0-7, a3 = bytes 8-15, little
 *		 endian, unused bytes 0)
 * The host writes the bytes into kernel text itself, if the result is one
 * the place may hold, and refuses (-HEKI_ESITE / -HEKI_EPATCH, logged) and
 * writes nothing otherwise.  Accepted:
 *  - inside one registered site, when the site's bytes afterwards are an
 *    encoding its kind allows, or INT3 followed by the tail of one (the
 *    intermediate states of text_poke_bp());
 *  - one byte anywhere else in a HEKI_SITE_TEXT range: an INT3 (a kprobe
 *    armed; the host remembers the byte it replaced, up to
 *    HEKI_INT3_MAX per VM: -HEKI_EBUSY beyond), or exactly the byte an INT3
 *    the host placed replaced (the kprobe disarmed).
 * The gva must lie in a HEKI_SITE_TEXT range, which also gives the gpa: the
 * guest's page tables are never consulted.  Needs registered sites; works
 * before and after lockdown.
 */
#define HEKI_HC_PATCH		(HEKI_HC_BASE + 0x0b)
#define HEKI_PATCH_MAX_LEN	16
#define HEKI_INT3_MAX		1024

/*
 * HEKI_HC_VMFUNC(a0 = 1 to enable EPTP switching on the calling vCPU, 0 to
 *		  disable it, a1 = a2 = a3 = 0)
 * Intel VMX only (HEKI_FEAT_VMFUNC): the host gives the vCPU an EPTP list
 * whose entry HEKI_VIEW_NORMAL / HEKI_VIEW_PATCH is that view's root, and
 * enables VM function 0, so the guest switches views with VMFUNC (EAX = 0,
 * ECX = the view) and no VM exit.  The host learns the view the vCPU runs
 * in on its next exit.  Not authenticated, and it cannot be: any code of
 * the guest can execute VMFUNC (the instruction has no CPL check), so with
 * it enabled the union of the views is one security domain.  After an
 * authenticated lockdown the patch view makes no IMMUTABLE frame writable,
 * so kernel text stays out of that domain; module text, BPF images and
 * trampolines do not.  vCPUs with vcpu_idx >= 256 get -HEKI_EINVAL.
 */
#define HEKI_HC_VMFUNC		(HEKI_HC_BASE + 0x0c)

/*
 * HEKI_HC_STATS's answer, one X(field, what) per __u64 in ABI order: the
 * struct, the guest's debugfs heki/stats and whatever prints it are made
 * from this list (append only: the order is the ABI).
 */
#define HEKI_STATS_FIELDS(X)						\
	X(calls,	"Heki hypercalls of this VM, this one included") \
	X(refused,	"of which answered with an error")		\
	X(ranges_applied, "PROTECT and batch entries that took effect")	\
	X(windows_opened, "WINDOW_OPEN calls that succeeded")		\
	X(windows_closed, "WINDOW_CLOSE calls that succeeded")		\
	X(violations,	"denied accesses, CR writes and weakenings")	\
	X(zaps,		"second-stage zaps of changed frames")		\
	X(zapped_frames, "frames those zaps covered")			\
	X(tlb_flushes,	"remote TLB flushes KVM made for this VM")	\
	X(vcpu_exits,	"VM exits of the calling vCPU")			\
	X(windows_open,	"frames with a window open now")		\
	X(protected_frames, "frames with restricted attributes now")	\
	X(ranges,	"ranges describing them")			\
	X(locked,	"1 after HEKI_HC_LOCKDOWN")			\
	X(view_switches, "VIEW_SWITCH calls that changed the vCPU's view") \
	X(patches,	"HEKI_HC_PATCH calls that wrote")		\
	X(sites,	"registered sites, ranges and function entries included") \
	X(auth,		"1 after an authenticated lockdown")

struct heki_stats {
#define HEKI_STATS_MEMBER(field, what) __u64 field;
	HEKI_STATS_FIELDS(HEKI_STATS_MEMBER)
#undef HEKI_STATS_MEMBER
};

/* Host feature bits (heki_info.features). */
#define HEKI_FEAT_QUERY		(1ull << 0)	/* HEKI_HC_QUERY */
#define HEKI_FEAT_CR_PIN	(1ull << 1)	/* HEKI_HC_PIN_CR */
#define HEKI_FEAT_PROTECT	(1ull << 2)	/* HEKI_HC_PROTECT, write and exec */
#define HEKI_FEAT_BATCH		(1ull << 3)	/* HEKI_HC_PROTECT_BATCH */
#define HEKI_FEAT_WINDOW	(1ull << 4)	/* HEKI_HC_WINDOW_OPEN/CLOSE */
#define HEKI_FEAT_LOCKDOWN	(1ull << 5)	/* HEKI_HC_LOCKDOWN */
#define HEKI_FEAT_STATS		(1ull << 6)	/* HEKI_HC_STATS */
#define HEKI_FEAT_REPORT	(1ull << 7)	/* HEKI_HC_REPORT */
#define HEKI_FEAT_VIEW		(1ull << 8)	/* HEKI_HC_VIEW_SWITCH */
#define HEKI_FEAT_AUTH		(1ull << 9)	/* HEKI_HC_SITES, HEKI_HC_PATCH, HEKI_LOCK_AUTH */
#define HEKI_FEAT_VMFUNC	(1ull << 10)	/* HEKI_HC_VMFUNC (Intel VMX with EPTP switching) */

/* heki_info.vendor */
#define HEKI_VENDOR_UNKNOWN	0
#define HEKI_VENDOR_AMD_SVM	1
#define HEKI_VENDOR_INTEL_VMX	2

struct heki_info {
	__u32 abi_version;	/* HEKI_ABI_VERSION of the host */
	__u32 vendor;		/* HEKI_VENDOR_* of the host's KVM */
	__u64 features;		/* HEKI_FEAT_* the host implements */
	/*
	 * Random value the host draws when kvm.ko loads.  It is never derived
	 * from anything the guest can see, so a guest that reports it back
	 * proves the call reached this host's Heki code.  Also readable in L1
	 * at /sys/kernel/debug/heki/status.
	 */
	__u64 host_nonce;
	__u64 calls;		/* Heki hypercalls this VM has made, this one included */
};

/*
 * Error codes, returned negated in RAX.  They sit above KVM's own
 * (KVM_ENOSYS = 1000, and errno values below 256) so a guest can tell a Heki
 * refusal from KVM not knowing the call at all.
 */
#define HEKI_EBASE	4000
#define HEKI_ENOSYS	(HEKI_EBASE + 1)	/* unknown call inside the Heki block */
#define HEKI_EFAULT	(HEKI_EBASE + 2)	/* argument GPA not in guest memory */
#define HEKI_EALIGN	(HEKI_EBASE + 3)	/* argument GPA or range misaligned */
#define HEKI_ESIZE	(HEKI_EBASE + 4)	/* argument size differs from the ABI's */
#define HEKI_EINVAL	(HEKI_EBASE + 5)	/* reserved field or argument not zero */
#define HEKI_ECRNUM	(HEKI_EBASE + 6)	/* not a control register Heki pins */
#define HEKI_EBITS	(HEKI_EBASE + 7)	/* bits outside the pinnable set, or none */
#define HEKI_ENOTSET	(HEKI_EBASE + 8)	/* a bit to pin is clear on this vCPU */
#define HEKI_ENOMEM	(HEKI_EBASE + 9)	/* host out of memory for this VM's state */
#define HEKI_EATTR	(HEKI_EBASE + 10)	/* unknown attribute bits */
#define HEKI_ERANGE	(HEKI_EBASE + 11)	/* no pages, or the range wraps or is too long */
#define HEKI_E2BIG	(HEKI_EBASE + 12)	/* the VM's protections are too fragmented */
#define HEKI_EPERM	(HEKI_EBASE + 13)	/* called from guest CPL > 0 */
#define HEKI_ELOCKED	(HEKI_EBASE + 14)	/* refused after lockdown */
#define HEKI_EBATCH	(HEKI_EBASE + 15)	/* batch count 0 or above HEKI_BATCH_MAX */
#define HEKI_ENOTOPEN	(HEKI_EBASE + 16)	/* closing a window that is not open */
#define HEKI_EBUSY	(HEKI_EBASE + 17)	/* window table full or count saturated */
#define HEKI_EWRPROT	(HEKI_EBASE + 18)	/* output buffer in a write-protected frame */
#define HEKI_ESITE	(HEKI_EBASE + 19)	/* not a registered patch site, or not patchable this way */
#define HEKI_EPATCH	(HEKI_EBASE + 20)	/* the bytes are not an encoding the site may hold */
#define HEKI_EDIRTYLOG	(HEKI_EBASE + 21)	/* the VMM logs dirty pages there (a migration) */

/*
 * A test hook, not a call: a vCPU that takes a second-stage fault with this
 * value in R12 makes the host wait inside that fault, and only on a host
 * whose test-only knob kvm.heki_test_delay_us is set (host/README.md).
 * The race attacks of inject/ use it to land in their window every time.
 */
#define HEKI_TEST_DELAY_TAG	0x594c4544494b4548ull	/* "HEKIDELY" */

#endif /* HEKI_ABI_H */
