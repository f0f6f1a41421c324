// SPDX-License-Identifier: GPL-2.0
/*
 * Protecting the running kernel: discovery at load, and keeping the host's
 * permissions in step with the kernel's own changes afterwards.
 *
 * At load: the kernel image's text (R_X), rodata including ro_after_init
 * (R__), both IMMUTABLE, and its data and bss (RW_, no execute); the text,
 * read-only data and data of every loaded module (not immutable: modules
 * unload); then CR0/CR4 pins, then (parameter lockdown, default on)
 * HEKI_HC_LOCKDOWN.  The host enforces per frame, so the direct-map
 * aliases of all those frames get the same permissions.
 *
 * Before lockdown the kernel's patch sites are registered with the host
 * (heki_sites.c); with auth (default on) the lockdown is authenticated:
 * from then on kernel text changes only through HEKI_HC_PATCH.
 *
 * At run time, from a module (no kernel patch), each site hooked with the
 * mechanism that fits it:
 *  - __text_poke() (or, where the compiler inlined it, its four callers):
 *    a kretprobe, because the window must open before the write and close
 *    after it, on every return path; entry and exit share per-call data.
 *    Under authentication a write to kernel text is made by the host
 *    instead (HEKI_HC_PATCH from the entry handler), and the kernel's own
 *    copy is emptied (its length argument set to 0).
 *  - set_memory_ro/rw/x/nx(): kretprobes too: the permissions to mirror
 *    are the ones the kernel's own page tables hold once the call returned
 *    successfully, read back with lookup_address().
 *  - vmap(): a kretprobe: a mapping made read-only from the start (no
 *    set_memory_*() call follows) is mirrored once it exists; a writable
 *    one restricts nothing and costs no hypercall.
 *  - remove_vm_area(): a kprobe at entry, the one point every vfree() and
 *    vunmap() passes while the pages are still mapped, so frames we
 *    protected are released before they return to the page allocator.
 * Module load needs no hook of its own: the loader makes module text and
 * rodata read-only through set_memory_ro/x, which we mirror.
 *
 * Transports are rows of heki_transports[]; hooks only call through it.
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/ktime.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <linux/seq_file.h>
#include <linux/cpuhotplug.h>
#include <asm/pgtable.h>
#include <asm/special_insns.h>
#include <asm/processor-flags.h>
#include <asm/vdso.h>

#include "heki_guest.h"

static bool protect = true;
module_param(protect, bool, 0444);
MODULE_PARM_DESC(protect, "protect the kernel at load and keep it in step (default on)");
static bool lockdown = true;
module_param(lockdown, bool, 0444);
MODULE_PARM_DESC(lockdown, "lock down right after protecting (default on; irreversible)");
static char mode[16] = "hypercall";
static int mode_set(const char *val, const struct kernel_param *kp);
static const struct kernel_param_ops mode_ops = {
	.set = mode_set,
	.get = param_get_string,
};
static struct kparam_string mode_str = { .maxlen = sizeof(mode), .string = mode };
module_param_cb(mode, &mode_ops, &mode_str, 0644);
MODULE_PARM_DESC(mode, "transport: hypercall, view or vmfunc (Intel VMX with EPTP switching); writable at run time, lockdown included");
static bool auth = true;
static int auth_set(const char *val, const struct kernel_param *kp);
static const struct kernel_param_ops auth_ops = {
	.set = auth_set,
	.get = param_get_bool,
};
module_param_cb(auth, &auth_ops, &auth, 0644);
MODULE_PARM_DESC(auth, "authenticated patching after lockdown (default on; 0 is the Heki RFC v2 behaviour); can be turned on at run time, never off once taken");

#define RWX (HEKI_ATTR_WRITE | HEKI_ATTR_EXEC)

/* ------------------------------------------------------------ transports */

/* One page per CPU for batches: the hooks run with preemption disabled. */
static DEFINE_PER_CPU(struct heki_range *, heki_batch_buf);

static long hc_protect(const struct heki_range *r, unsigned int n)
{
	struct heki_range *buf = *this_cpu_ptr(&heki_batch_buf);

	memcpy(buf, r, n * sizeof(*r));
	return heki_call(HEKI_HC_PROTECT_BATCH, __pa(buf), n, 0, 0);
}

static long hc_window(bool open, u64 pfn, unsigned int n, unsigned long addr)
{
	return heki_call(open ? HEKI_HC_WINDOW_OPEN : HEKI_HC_WINDOW_CLOSE,
			 PFN_PHYS(pfn), n, 0, 0);
}

/*
 * Views: this vCPU enters the host's patch view (every executable frame
 * writable; after an authenticated lockdown every one that is not kernel
 * text) and leaves it; the host rewrites no second-stage entries.  Enters
 * nest, as windows do, and name the address poked (authenticated lockdown).
 */
static long view_window(bool open, u64 pfn, unsigned int n, unsigned long addr)
{
	return heki_call(HEKI_HC_VIEW_SWITCH, open ? HEKI_VIEW_PATCH : HEKI_VIEW_NORMAL,
			 open ? addr : 0, 0, 0);
}

/* EPTP switching is on for this CPU (the host drops it when the CPU gets INIT). */
static DEFINE_PER_CPU(bool, vmfunc_here);

/*
 * VMFUNC leaf 0 (EPTP switching): the CPU moves this vCPU to the host's
 * view ECX without an exit.  Enabled per vCPU (HEKI_HC_VMFUNC) when the
 * mode is chosen; the host learns the view on its next exit.  Nothing is
 * authenticated: the address is not even sent.
 */
static atomic64_t vmfunc_switches, vmfunc_fallbacks;

static long vmfunc_window(bool open, u64 pfn, unsigned int n, unsigned long addr)
{
	/* A CPU not (yet) enabled switches the same views by hypercall. */
	if (!this_cpu_read(vmfunc_here)) {
		atomic64_inc(&vmfunc_fallbacks);
		return view_window(open, pfn, n, addr);
	}
	atomic64_inc(&vmfunc_switches);
	asm volatile(".byte 0x0f, 0x01, 0xd4"	/* vmfunc */
		     : : "a" (0), "c" (open ? HEKI_VIEW_PATCH : HEKI_VIEW_NORMAL)
		     : "memory");
	return 0;
}

static const struct heki_transport {
	const char *name;
	u64 needs;			/* HEKI_FEAT_* the host must offer */
	long (*protect)(const struct heki_range *r, unsigned int n);
	long (*window)(bool open, u64 pfn, unsigned int n, unsigned long addr);
	/*
	 * One window per poke for the whole of it, on this vCPU: the poking
	 * task must not migrate before the write (views are per vCPU).
	 */
	bool per_vcpu;
	bool vmfunc;			/* HEKI_HC_VMFUNC on every CPU while chosen */
} heki_transports[] = {
	{ "hypercall", HEKI_FEAT_PROTECT | HEKI_FEAT_WINDOW, hc_protect, hc_window, false },
	{ "view", HEKI_FEAT_PROTECT | HEKI_FEAT_VIEW, hc_protect, view_window, true },
	{ "vmfunc", HEKI_FEAT_PROTECT | HEKI_FEAT_VMFUNC, hc_protect, vmfunc_window, true, true },
};

/* Why @t cannot run on this host, or NULL. */
static const char *transport_unsupported(const struct heki_transport *t)
{
	if ((heki_host_features & t->needs) == t->needs)
		return NULL;
	if (t->vmfunc && heki_host_vendor != HEKI_VENDOR_INTEL_VMX)
		return "VMFUNC needs Intel VMX";
	if (t->vmfunc)
		return "the host offers no EPTP switching (HEKI_FEAT_VMFUNC: needs EPT, the TDP MMU and VMFUNC)";
	return "the host lacks a feature it needs";
}

static atomic_t vmfunc_errors;

static void vmfunc_enable_here(void *on)
{
	if (heki_call(HEKI_HC_VMFUNC, on ? 1 : 0, 0, 0, 0))
		atomic_inc(&vmfunc_errors);
	else
		this_cpu_write(vmfunc_here, !!on);
}

static bool vmfunc_on;

/* EPTP switching on (or off) on every online CPU: 0 or -EIO. */
static int vmfunc_enable_all(bool on)
{
	atomic_set(&vmfunc_errors, 0);
	on_each_cpu(vmfunc_enable_here, on ? (void *)1 : NULL, 1);
	WRITE_ONCE(vmfunc_on, on && !atomic_read(&vmfunc_errors));
	return atomic_read(&vmfunc_errors) ? -EIO : 0;
}

bool heki_kernel_vmfunc_on(void)
{
	return READ_ONCE(vmfunc_on);
}

/*
 * CPU hotplug: a CPU coming online went through INIT, which ends EPTP
 * switching on its vCPU; enable it again if the mode wants it.  Until this
 * runs (and on a CPU the host refuses) pokes there use the hypercall.
 */
static int vmfunc_cpu_online(unsigned int cpu)
{
	if (READ_ONCE(vmfunc_on))
		vmfunc_enable_here((void *)1);
	return 0;
}

static int vmfunc_cpu_offline(unsigned int cpu)
{
	this_cpu_write(vmfunc_here, false);
	return 0;
}

static int vmfunc_cpuhp_state;

static const struct heki_transport *tr;
static struct mutex *heki_text_mutex;	/* the kernel's text_mutex (kallsyms) */

static const struct heki_transport *transport_named(const char *name)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(heki_transports); i++)
		if (sysfs_streq(name, heki_transports[i].name))
			return &heki_transports[i];
	return NULL;
}

static atomic_t windows_open_now;
static bool auth_active;	/* the host took HEKI_LOCK_AUTH */
static bool sites_registered;
static bool locked_down;

/*
 * Before init the name is only kept.  Afterwards the transport changes
 * under text_mutex, which every text_poke() holds: no poke is between
 * opening its window and closing it, so none closes with another
 * transport than it opened with.  Protections are the same hypercalls in
 * every mode; only the windows differ.
 */
static int mode_set(const char *val, const struct kernel_param *kp)
{
	const struct heki_transport *t = transport_named(val);
	const char *why;
	int ret = 0;

	if (!t)
		return -EINVAL;
	if (!tr) {
		strscpy(mode, t->name, sizeof(mode));
		return 0;
	}
	why = transport_unsupported(t);
	if (why) {
		pr_warn("mode=%s unsupported: %s\n", t->name, why);
		return -EOPNOTSUPP;
	}
	mutex_lock(heki_text_mutex);
	if (atomic_read(&windows_open_now)) {
		ret = -EBUSY;
	} else if (t != tr) {
		/* The new transport's switching on before any poke uses it. */
		if (t->vmfunc)
			ret = vmfunc_enable_all(true);
		if (!ret && tr->vmfunc)
			vmfunc_enable_all(false);
		if (!ret)
			tr = t;
	}
	mutex_unlock(heki_text_mutex);
	if (!ret) {
		strscpy(mode, t->name, sizeof(mode));
		pr_info("mode %s\n", t->name);
	}
	return ret;
}

/* -------------------------------------------------------------- counters */

static const char *const hook_names[HOOK_NR] = {
	"load", "text_poke", "set_memory", "vmap", "vm_free",
};
static atomic64_t hook_calls[HOOK_NR], hook_hypercalls[HOOK_NR], hook_errors[HOOK_NR];
static atomic64_t pages_protected, pages_released;
static atomic64_t patches_made, patches_refused, pokes_by_host;
static bool kernel_protected;

/*
 * Sends @n ranges in batches.  Preemption must be off (the per-CPU batch
 * page); returns 0 or the first error.
 */
static long send_ranges(enum heki_hook h, const struct heki_range *r,
			unsigned int n)
{
	long ret = 0, err;
	unsigned int i, chunk;

	for (i = 0; i < n; i += chunk) {
		chunk = min_t(unsigned int, n - i, HEKI_BATCH_MAX);
		err = tr->protect(r + i, chunk);
		atomic64_inc(&hook_hypercalls[h]);
		if (err) {
			atomic64_inc(&hook_errors[h]);
			if (!ret)
				ret = err;
		}
	}
	return ret;
}

/* ------------------------------------------------------------- page walk */

static bool heki_is_vmalloc_or_module(unsigned long addr)
{
	return is_vmalloc_addr((void *)addr) ||
	       (addr >= MODULES_VADDR && addr < MODULES_END);
}

static unsigned long heki_virt_to_pfn(unsigned long addr)
{
	return heki_is_vmalloc_or_module(addr) ? vmalloc_to_pfn((void *)addr) :
						 PHYS_PFN(__pa(addr));
}

/* The permissions the kernel's own page tables give @addr now. */
static u32 heki_pte_attrs(unsigned long addr)
{
	unsigned int level;
	pte_t *pte = lookup_address(addr, &level);
	u32 attrs = HEKI_ATTR_RO;

	if (!pte || !pte_present(*pte))
		return RWX;	/* nothing to mirror */
	if (pte_write(*pte))
		attrs |= HEKI_ATTR_WRITE;
	if (pte_exec(*pte))
		attrs |= HEKI_ATTR_EXEC;
	return attrs;
}

/*
 * Builds ranges for the pages of [addr, addr + npages pages) into r[] (at
 * most max), merging neighbours whose frames are contiguous and whose
 * attributes are equal; attrs < 0 means "read each page's own".
 */
static unsigned int pages_to_ranges(unsigned long addr, unsigned long npages,
				    long attrs, struct heki_range *r,
				    unsigned int max)
{
	unsigned int n = 0;
	unsigned long i;

	for (i = 0; i < npages; i++) {
		unsigned long va = addr + i * PAGE_SIZE;
		u64 pa = PFN_PHYS(heki_virt_to_pfn(va));
		u64 a = attrs >= 0 ? attrs : heki_pte_attrs(va);

		if (!pa)
			continue;
		if (n && r[n - 1].gpa + r[n - 1].npages * PAGE_SIZE == pa &&
		    r[n - 1].attrs == a) {
			r[n - 1].npages++;
			continue;
		}
		if (n == max)
			break;
		r[n++] = (struct heki_range){ pa, 1, a, 0 };
	}
	return n;
}

/* ------------------------------------------------ vmalloc regions we hold */

/*
 * vmalloc/module ranges whose frames we restricted.  Few (one per module,
 * BPF pack, ftrace trampoline, kprobe slot page): a list will do.
 */
struct heki_region {
	struct list_head node;
	unsigned long start, end;
};
static LIST_HEAD(heki_regions);
static DEFINE_SPINLOCK(heki_regions_lock);

static void region_note(unsigned long start, unsigned long end)
{
	struct heki_region *r;
	unsigned long flags;

	spin_lock_irqsave(&heki_regions_lock, flags);
	list_for_each_entry(r, &heki_regions, node)
		if (start <= r->end && end >= r->start) {	/* touching merges */
			r->start = min(r->start, start);
			r->end = max(r->end, end);
			goto out;
		}
	r = kmalloc(sizeof(*r), GFP_ATOMIC);
	if (r) {
		r->start = start;
		r->end = end;
		list_add(&r->node, &heki_regions);
	}
out:
	spin_unlock_irqrestore(&heki_regions_lock, flags);
}

/* Releases the frames of every held region inside [start, end). */
static void regions_release(enum heki_hook h, unsigned long start,
			    unsigned long end)
{
	static struct heki_range ranges[HEKI_BATCH_MAX];	/* under the lock */
	struct heki_region *reg, *tmp;
	unsigned long flags, a, np;
	unsigned int n;

	spin_lock_irqsave(&heki_regions_lock, flags);
	list_for_each_entry_safe(reg, tmp, &heki_regions, node) {
		if (reg->start < start || reg->start >= end)
			continue;
		for (a = reg->start; a < reg->end; a += np << PAGE_SHIFT) {
			np = min((reg->end - a) >> PAGE_SHIFT,
				 (unsigned long)HEKI_BATCH_MAX);
			n = pages_to_ranges(a, np, RWX, ranges, HEKI_BATCH_MAX);
			if (n && !send_ranges(h, ranges, n))
				atomic64_add(np, &pages_released);
		}
		list_del(&reg->node);
		kfree(reg);
	}
	spin_unlock_irqrestore(&heki_regions_lock, flags);
}

/* ----------------------------------------------------- kretprobe plumbing */

struct heki_probe {
	struct kretprobe krp;
	int addr_arg, len_arg;		/* argument positions (0-based) */
	/*
	 * Where the bytes come from: src_arg points at them, or (memset) is
	 * the byte itself; func_arg >= 0: __text_poke()'s copy function says
	 * which of the two.
	 */
	int src_arg, func_arg;
	bool memset;
	bool registered;
};

static unsigned long arg_of(struct pt_regs *regs, int i)
{
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	default: return regs->cx;
	}
}

static void set_arg(struct pt_regs *regs, int i, unsigned long v)
{
	switch (i) {
	case 0: regs->di = v; break;
	case 1: regs->si = v; break;
	case 2: regs->dx = v; break;
	default: regs->cx = v; break;
	}
}

static struct heki_probe *probe_of(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct heki_probe, krp);
}

/* ---------------------------------------------------- text_poke windows */

#define POKE_MAX_FRAMES 32	/* text_poke_copy() of a large BPF program */

struct poke_data {
	unsigned int n;
	bool pinned;		/* migrate_disable()d for a per-vCPU window */
	u64 pfn[POKE_MAX_FRAMES];
};

static void poke_close(struct poke_data *d)
{
	unsigned int i;

	for (i = 0; i < d->n; i++) {
		if (tr->window(false, d->pfn[i], 1, 0))
			atomic64_inc(&hook_errors[HOOK_TEXT_POKE]);
		atomic64_inc(&hook_hypercalls[HOOK_TEXT_POKE]);
		atomic_dec(&windows_open_now);
	}
	d->n = 0;
	if (d->pinned)
		migrate_enable();
	d->pinned = false;
}

static unsigned long text_poke_memset_fn;	/* __text_poke()'s memset variant */

/*
 * Authenticated: the host writes kernel text (HEKI_HC_PATCH, at most 16
 * bytes a call), then the kernel's own copy is emptied by setting its
 * length to 0: __text_poke() then copies nothing and its check compares
 * nothing.  A refused request leaves the text as it was; the kernel's
 * write would have faulted on the host's protection anyway.
 */
static void poke_by_host(struct heki_probe *p, struct pt_regs *regs,
			 unsigned long addr, unsigned long len)
{
	unsigned long src = arg_of(regs, p->src_arg), off, n;
	bool fill = p->memset ||
		    (p->func_arg >= 0 && arg_of(regs, p->func_arg) == text_poke_memset_fn);
	u8 bytes[HEKI_PATCH_MAX_LEN];
	u64 lo, hi;
	long ret;

	atomic64_inc(&pokes_by_host);
	for (off = 0; off < len; off += n) {
		n = min(len - off, (unsigned long)HEKI_PATCH_MAX_LEN);
		memset(bytes, 0, sizeof(bytes));
		if (fill)
			memset(bytes, p->memset ? (u8)src : *(const u8 *)src, n);
		else
			memcpy(bytes, (u8 *)src + off, n);
		memcpy(&lo, bytes, 8);
		memcpy(&hi, bytes + 8, 8);
		ret = heki_call(HEKI_HC_PATCH, addr + off, n, lo, hi);
		atomic64_inc(&hook_hypercalls[HOOK_TEXT_POKE]);
		if (ret) {
			atomic64_inc(&hook_errors[HOOK_TEXT_POKE]);
			atomic64_inc(&patches_refused);
			pr_warn_ratelimited("host refused to patch %pS (%lu bytes): %ld\n",
					    (void *)(addr + off), n, ret);
		} else {
			atomic64_inc(&patches_made);
		}
	}
	set_arg(regs, p->len_arg, 0);
}

/*
 * Before the write: one window per frame the poke touches.  If the host
 * refuses one, the windows already open are closed again and the write
 * will fault: better a loud oops than a silent gap.
 */
static int poke_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct heki_probe *p = probe_of(ri);
	struct poke_data *d = (struct poke_data *)ri->data;
	unsigned long addr = arg_of(regs, p->addr_arg);
	unsigned long len = arg_of(regs, p->len_arg), va;

	d->n = 0;
	d->pinned = false;
	atomic64_inc(&hook_calls[HOOK_TEXT_POKE]);
	if (!len)
		return 0;
	if (READ_ONCE(auth_active) && heki_in_kernel_text(addr, len)) {
		poke_by_host(p, regs, addr, len);
		return 1;	/* nothing to close afterwards */
	}
	if (tr->per_vcpu) {
		/* The write must happen on the vCPU whose view changed. */
		migrate_disable();
		d->pinned = true;
		atomic64_inc(&hook_hypercalls[HOOK_TEXT_POKE]);
		if (tr->window(true, 0, 0, addr)) {
			atomic64_inc(&hook_errors[HOOK_TEXT_POKE]);
			poke_close(d);
			return 0;
		}
		atomic_inc(&windows_open_now);
		d->pfn[d->n++] = 0;
		return 0;
	}
	for (va = addr & PAGE_MASK; va < addr + len; va += PAGE_SIZE) {
		u64 pfn = heki_virt_to_pfn(va);

		if (d->n == POKE_MAX_FRAMES || !pfn) {
			atomic64_inc(&hook_errors[HOOK_TEXT_POKE]);
			break;
		}
		atomic64_inc(&hook_hypercalls[HOOK_TEXT_POKE]);
		if (tr->window(true, pfn, 1, addr)) {
			atomic64_inc(&hook_errors[HOOK_TEXT_POKE]);
			poke_close(d);
			return 0;
		}
		atomic_inc(&windows_open_now);
		d->pfn[d->n++] = pfn;
	}
	return 0;
}

/* After the write, on every return: close what the entry opened. */
static int poke_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	poke_close((struct poke_data *)ri->data);
	return 0;
}

/*
 * __text_poke(func, addr, src, len) is where every run-time text write
 * goes; if the compiler inlined it, hook each of its callers instead
 * (addr, src_or_byte, len).
 */
static struct heki_probe poke_inner = {
	.krp = { .kp.symbol_name = "__text_poke" }, .addr_arg = 1, .len_arg = 3,
	.src_arg = 2, .func_arg = 0,
};
static struct heki_probe poke_outer[] = {
	{ .krp = { .kp.symbol_name = "text_poke" }, .addr_arg = 0, .len_arg = 2,
	  .src_arg = 1, .func_arg = -1 },
	{ .krp = { .kp.symbol_name = "text_poke_kgdb" }, .addr_arg = 0, .len_arg = 2,
	  .src_arg = 1, .func_arg = -1 },
	{ .krp = { .kp.symbol_name = "text_poke_copy" }, .addr_arg = 0, .len_arg = 2,
	  .src_arg = 1, .func_arg = -1 },
	{ .krp = { .kp.symbol_name = "text_poke_set" }, .addr_arg = 0, .len_arg = 2,
	  .src_arg = 1, .func_arg = -1, .memset = true },
};

/* ------------------------------------------------------ set_memory_*() */

struct setmem_data {
	unsigned long addr;
	int numpages;
};

static int setmem_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct setmem_data *d = (struct setmem_data *)ri->data;

	d->addr = regs->di;
	d->numpages = (int)regs->si;
	atomic64_inc(&hook_calls[HOOK_SET_MEMORY]);
	return 0;
}

/* Mirrors what the kernel's page tables now say, page by page. */
static int setmem_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct setmem_data *d = (struct setmem_data *)ri->data;
	static struct heki_range ranges[HEKI_BATCH_MAX];
	static DEFINE_SPINLOCK(lock);
	unsigned long a, np, flags, end;
	unsigned int n;

	if (regs_return_value(regs) || d->numpages <= 0)
		return 0;
	end = d->addr + ((unsigned long)d->numpages << PAGE_SHIFT);
	spin_lock_irqsave(&lock, flags);
	for (a = d->addr & PAGE_MASK; a < end; a += np << PAGE_SHIFT) {
		np = min((end - a) >> PAGE_SHIFT, (unsigned long)HEKI_BATCH_MAX);
		n = pages_to_ranges(a, np, -1, ranges, HEKI_BATCH_MAX);
		if (n && !send_ranges(HOOK_SET_MEMORY, ranges, n))
			atomic64_add(np, &pages_protected);
	}
	spin_unlock_irqrestore(&lock, flags);
	if (heki_is_vmalloc_or_module(d->addr))
		region_note(d->addr & PAGE_MASK, end);
	return 0;
}

/*
 * Registered in this order, and before the other hooks: registering a
 * probe can allocate an executable trampoline (set_memory_ro(), then
 * set_memory_x()).  Once ro is mirrored (as R__), x must be too, or the
 * trampoline stays non-executable at the host; with ro hooked last, a
 * trampoline made while hooks are being set up is either left alone or
 * mirrored as R_X.
 */
static struct heki_probe setmem_probes[] = {
	{ .krp = { .kp.symbol_name = "set_memory_x" } },
	{ .krp = { .kp.symbol_name = "set_memory_nx" } },
	{ .krp = { .kp.symbol_name = "set_memory_rw" } },
	{ .krp = { .kp.symbol_name = "set_memory_ro" } },
};

/* ---------------------------------------------------------------- vmap() */

struct vmap_data {
	unsigned int count;
	bool restricted;	/* the pgprot lacks write (RWX needs no hypercall) */
};

/* vmap(pages, count, flags, prot) */
static int vmap_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vmap_data *d = (struct vmap_data *)ri->data;
	pgprot_t prot = __pgprot(regs->cx);

	d->count = (unsigned int)regs->si;
	d->restricted = !(pgprot_val(prot) & _PAGE_RW);
	atomic64_inc(&hook_calls[HOOK_VMAP]);
	return 0;
}

static int vmap_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vmap_data *d = (struct vmap_data *)ri->data;
	unsigned long addr = regs_return_value(regs), a, np, flags;
	static struct heki_range ranges[HEKI_BATCH_MAX];
	static DEFINE_SPINLOCK(lock);
	unsigned int n;

	if (!addr || !d->restricted || !d->count)
		return 0;
	spin_lock_irqsave(&lock, flags);
	for (a = addr; a < addr + ((unsigned long)d->count << PAGE_SHIFT);
	     a += np << PAGE_SHIFT) {
		np = min((unsigned long)d->count - ((a - addr) >> PAGE_SHIFT),
			 (unsigned long)HEKI_BATCH_MAX);
		n = pages_to_ranges(a, np, -1, ranges, HEKI_BATCH_MAX);
		if (n && !send_ranges(HOOK_VMAP, ranges, n))
			atomic64_add(np, &pages_protected);
	}
	spin_unlock_irqrestore(&lock, flags);
	region_note(addr, addr + ((unsigned long)d->count << PAGE_SHIFT));
	return 0;
}

static struct heki_probe vmap_probe = {
	.krp = { .kp.symbol_name = "vmap" },
};

/* --------------------------------------------------- remove_vm_area() */

/* Not exported; resolved through kallsyms at load. */
static struct vm_struct *(*heki_find_vm_area)(const void *addr);

static int free_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned long addr = regs->di;
	struct vm_struct *area;

	atomic64_inc(&hook_calls[HOOK_FREE]);
	if (list_empty(&heki_regions))
		return 0;
	area = heki_find_vm_area((void *)addr);
	if (area)
		regions_release(HOOK_FREE, addr, addr + get_vm_area_size(area));
	return 0;
}

static struct kprobe free_probe = {
	.symbol_name = "remove_vm_area", .pre_handler = free_pre,
};

/* ------------------------------------------------------------ discovery */

static unsigned long (*heki_kallsyms_lookup_name)(const char *name);

/* kallsyms_lookup_name() is not exported since 5.7; a kprobe resolves it. */
static int find_kallsyms(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int ret = register_kprobe(&kp);

	if (ret)
		return ret;
	heki_kallsyms_lookup_name = (void *)kp.addr;
	unregister_kprobe(&kp);
	return 0;
}

struct kernel_part {
	const char *what, *start, *end;
	u32 attrs;
	/* A hole the kernel frees after boot, if these symbols exist. */
	const char *hole_start, *hole_end;
};

/* The kernel image, as vmlinux.lds lays it out on x86-64. */
static const struct kernel_part kernel_parts[] = {
	{ "text", "_stext", "_etext", HEKI_ATTR_EXEC | HEKI_ATTR_IMMUTABLE },
	/* ro_after_init lies inside rodata on x86-64 */
	{ "rodata", "__start_rodata", "__end_rodata", HEKI_ATTR_IMMUTABLE },
	{ "data", "_sdata", "_edata", HEKI_ATTR_WRITE },
	/*
	 * .bss..decrypted sits inside bss; without SME/SEV its unused part
	 * goes back to the page allocator at boot and may later hold code.
	 */
	{ "bss", "__bss_start", "__bss_stop", HEKI_ATTR_WRITE,
	  "__start_bss_decrypted", "__end_bss_decrypted" },
};

static const char *const vdso_images[] = {
	"vdso_image_64", "vdso_image_32", "vdso_image_x32",
};

struct load_summary {
	unsigned int ranges, modules, hypercalls;
	unsigned long pages;
};

/* The kernel image is physically contiguous: one range per part. */
static long protect_kernel_image(struct load_summary *sum, struct heki_range *r,
				 unsigned int *n)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kernel_parts); i++) {
		const struct kernel_part *p = &kernel_parts[i];
		unsigned long start = heki_kallsyms_lookup_name(p->start);
		unsigned long end = heki_kallsyms_lookup_name(p->end);
		u64 first, last;

		if (!start || !end || end <= start) {
			pr_err("cannot find the kernel's %s (%s..%s)\n", p->what,
			       p->start, p->end);
			return -ENOENT;
		}
		/* The gaps after text and rodata are freed at boot: stop at the page end. */
		first = PHYS_PFN(__pa_symbol(start));
		last = PHYS_PFN(__pa_symbol(end - 1));
		if (p->hole_start) {
			unsigned long hs = heki_kallsyms_lookup_name(p->hole_start);
			unsigned long he = heki_kallsyms_lookup_name(p->hole_end);

			if (hs > start && he > hs && he <= end) {
				u64 hfirst = PHYS_PFN(__pa_symbol(hs));
				u64 hlast = PHYS_PFN(__pa_symbol(he - 1));

				if (hfirst > first) {
					r[(*n)++] = (struct heki_range){ PFN_PHYS(first),
						hfirst - first, p->attrs, 0 };
					sum->pages += hfirst - first;
				}
				first = hlast + 1;
				pr_info("%-6s hole %s..%s frames %#llx-%#llx left alone\n",
					p->what, p->hole_start, p->hole_end, hfirst, hlast);
			}
		}
		if (first > last)
			continue;
		r[(*n)++] = (struct heki_range){ PFN_PHYS(first), last - first + 1,
						 p->attrs, 0 };
		sum->pages += last - first + 1;
		pr_info("%-6s %#lx-%#lx frames %#llx-%#llx attrs %#x\n", p->what,
			start, end, first, last, p->attrs);
	}
	/*
	 * The vDSO images sit in the kernel's read-only data but user space
	 * executes them: their frames keep EXEC (a later batch entry wins).
	 */
	for (i = 0; i < ARRAY_SIZE(vdso_images); i++) {
		const struct vdso_image *img =
			(void *)heki_kallsyms_lookup_name(vdso_images[i]);
		u64 first, last;

		if (!img)
			continue;
		first = PHYS_PFN(__pa(img->data));
		last = PHYS_PFN(__pa(img->data + img->size - 1));
		r[(*n)++] = (struct heki_range){ PFN_PHYS(first), last - first + 1,
			HEKI_ATTR_EXEC | HEKI_ATTR_IMMUTABLE, 0 };
		pr_info("vdso   %s frames %#llx-%#llx executable\n", vdso_images[i],
			first, last);
	}
	return 0;
}

/*
 * Text (R_X), rodata + ro_after_init (R__) and data + bss (RW_) of every
 * live module.
 */
static unsigned int protect_modules(struct load_summary *sum,
				    struct heki_range *r, unsigned int n,
				    unsigned int max)
{
	struct list_head *modules = (void *)heki_kallsyms_lookup_name("modules");
	struct module *mod;

	if (!modules)
		return n;
	rcu_read_lock();
	list_for_each_entry_rcu(mod, modules, list) {
		unsigned long base = (unsigned long)mod->core_layout.base;
		unsigned long text = mod->core_layout.text_size >> PAGE_SHIFT;
		/*
		 * ro_after_init becomes read-only when init returns: ours is
		 * still initialising, and the set_memory_ro() hook takes it.
		 */
		unsigned long ro = (mod == THIS_MODULE ? mod->core_layout.ro_size :
				    mod->core_layout.ro_after_init_size) >> PAGE_SHIFT;
		/* Page-aligned under STRICT_MODULE_RWX, as text_size is. */
		unsigned long size = mod->core_layout.size >> PAGE_SHIFT;

		if (mod->state != MODULE_STATE_LIVE && mod != THIS_MODULE)
			continue;
		if (n + 2 * size > max)	/* worst case: no merging */
			break;
		n += pages_to_ranges(base, text, HEKI_ATTR_EXEC,
				     r + n, max - n);
		n += pages_to_ranges(base + (text << PAGE_SHIFT), ro - text,
				     HEKI_ATTR_RO, r + n, max - n);
		/* Data and bss: never executable, whatever a PTE says. */
		n += pages_to_ranges(base + (ro << PAGE_SHIFT), size - ro,
				     HEKI_ATTR_WRITE, r + n, max - n);
		region_note(base, base + (size << PAGE_SHIFT));
		sum->pages += size;
		sum->modules++;
	}
	rcu_read_unlock();
	return n;
}

static void pin_cr(void)
{
	unsigned long cr4 = __read_cr4();

	if (read_cr0() & X86_CR0_WP)
		heki_call(HEKI_HC_PIN_CR, 0, X86_CR0_WP, 0, 0);
	cr4 &= HEKI_CR4_PINNABLE;
	if (cr4)
		heki_call(HEKI_HC_PIN_CR, 4, cr4, 0, 0);
}

static int hook(struct heki_probe *p, kretprobe_handler_t entry,
		kretprobe_handler_t exit, size_t data_size, bool quiet)
{
	int ret;

	p->krp.entry_handler = entry;
	p->krp.handler = exit;
	p->krp.data_size = data_size;
	/* Instances in flight at once: a few per CPU is plenty. */
	p->krp.maxactive = 4 * num_possible_cpus() + 8;
	ret = register_kretprobe(&p->krp);
	if (ret && !quiet)
		pr_err("cannot hook %s: %d\n", p->krp.kp.symbol_name, ret);
	p->registered = !ret;
	return ret;
}

static int register_probes(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(setmem_probes); i++) {
		ret = hook(&setmem_probes[i], setmem_entry, setmem_exit,
			   sizeof(struct setmem_data), false);
		if (ret)
			return ret;
	}
	/* __text_poke() may have been inlined: then hook its callers. */
	if (hook(&poke_inner, poke_entry, poke_exit, sizeof(struct poke_data), true))
		for (i = 0; i < ARRAY_SIZE(poke_outer); i++) {
			ret = hook(&poke_outer[i], poke_entry, poke_exit,
				   sizeof(struct poke_data), false);
			if (ret)
				return ret;
		}
	ret = hook(&vmap_probe, vmap_entry, vmap_exit, sizeof(struct vmap_data),
		   false);
	if (ret)
		return ret;
	ret = register_kprobe(&free_probe);
	if (ret)
		pr_err("cannot hook remove_vm_area: %d\n", ret);
	return ret;
}

/* The hooks that add protections. */
static void unregister_protecting_probes(void)
{
	unsigned int i;

	if (vmap_probe.registered)
		unregister_kretprobe(&vmap_probe.krp);
	vmap_probe.registered = false;
	for (i = 0; i < ARRAY_SIZE(setmem_probes); i++) {
		if (setmem_probes[i].registered)
			unregister_kretprobe(&setmem_probes[i].krp);
		setmem_probes[i].registered = false;
	}
}

static void unregister_probes(void)
{
	unsigned int i;

	unregister_protecting_probes();
	if (free_probe.addr)
		unregister_kprobe(&free_probe);
	free_probe.addr = NULL;
	for (i = 0; i < ARRAY_SIZE(poke_outer); i++)
		if (poke_outer[i].registered)
			unregister_kretprobe(&poke_outer[i].krp);
	if (poke_inner.registered)
		unregister_kretprobe(&poke_inner.krp);
}

#define LOAD_MAX_RANGES 4096

static void free_batch_bufs(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		free_page((unsigned long)per_cpu(heki_batch_buf, cpu));
		per_cpu(heki_batch_buf, cpu) = NULL;
	}
}

/*
 * The VM is locked down (at load, or later through the lockdown
 * self-check): the protections can no longer be taken back, so the hooks
 * that keep them in step must stay.  Pin the module.
 */
void heki_kernel_locked(void)
{
	if (locked_down)
		return;
	locked_down = true;
	__module_get(THIS_MODULE);
	pr_info("locked down: heki stays loaded (rmmod is refused from now on)\n");
}

/*
 * An optimized kprobe replaces an INT3 with a JMP to its detour buffer:
 * not an encoding the host accepts at an arbitrary instruction.  Keep new
 * probes on INT3 once patching is authenticated (the same switch as the
 * sysctl debug.kprobes-optimization, which the kernel keeps private).
 */
static void kprobes_no_optimization(void)
{
	bool *allow = (void *)heki_lookup("kprobes_allow_optimization");
	struct mutex *kprobe_mutex = (void *)heki_lookup("kprobe_mutex");

	if (!allow || !kprobe_mutex) {
		pr_warn("cannot turn kprobe optimization off: optimized kprobes on kernel text will be refused\n");
		return;
	}
	mutex_lock(kprobe_mutex);
	WRITE_ONCE(*allow, false);
	mutex_unlock(kprobe_mutex);
}

/* HEKI_LOCK_AUTH when asked for and the host holds our sites. */
static long lockdown_flags(bool with_auth)
{
	return with_auth && sites_registered ? HEKI_LOCK_AUTH : 0;
}

/*
 * Locks the VM down (HEKI_HC_LOCKDOWN), authenticated if auth is on.
 * Under text_mutex: no poke is between its window and its write while
 * the rule for kernel text changes.
 */
long heki_kernel_lockdown(void)
{
	long flags = lockdown_flags(auth), ret;

	mutex_lock(heki_text_mutex);
	ret = heki_call(HEKI_HC_LOCKDOWN, flags, 0, 0, 0);
	if (!ret && flags)
		WRITE_ONCE(auth_active, true);
	mutex_unlock(heki_text_mutex);
	if (ret)
		return ret;
	heki_kernel_locked();
	if (flags)
		kprobes_no_optimization();
	pr_info("lockdown%s\n", flags ? ", patching authenticated" : "");
	return 0;
}

bool heki_kernel_auth_active(void)
{
	return READ_ONCE(auth_active);
}

/*
 * auth=1 at run time on a VM already locked down adds authentication
 * (HEKI_LOCK_AUTH a second time); before lockdown it only decides how the
 * lockdown will be taken.  Once taken it cannot be given back.
 */
static int auth_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	long ret;
	int open;

	if (kstrtobool(val, &on))
		return -EINVAL;
	if (!tr || !locked_down) {
		auth = on;
		return 0;
	}
	if (READ_ONCE(auth_active))
		return on ? 0 : -EPERM;
	if (!on)
		return 0;
	if (!sites_registered)
		return -EOPNOTSUPP;
	mutex_lock(heki_text_mutex);
	open = atomic_read(&windows_open_now);
	ret = open ? -EBUSY : heki_call(HEKI_HC_LOCKDOWN, HEKI_LOCK_AUTH, 0, 0, 0);
	if (!ret)
		WRITE_ONCE(auth_active, true);
	mutex_unlock(heki_text_mutex);
	if (open) {
		/* Not asked: the host would refuse it while our windows are open. */
		pr_warn("authentication not asked: %d write windows of this module are open\n",
			open);
		return -EBUSY;
	}
	if (ret == -HEKI_EBUSY) {
		/* Someone else holds a window: the host refused and logged it. */
		pr_warn("authentication refused: the host holds write windows this module did not open (HEKI_EBUSY)\n");
		return -EBUSY;
	}
	if (ret) {
		pr_warn("authentication refused by the host: %ld\n", ret);
		return -EIO;
	}
	auth = true;
	kprobes_no_optimization();
	pr_info("patching authenticated from now on\n");
	return 0;
}

int heki_kernel_init(void)
{
	struct load_summary sum = {};
	struct heki_range *r;
	unsigned int n = 0;
	ktime_t t0 = ktime_get();
	const struct heki_transport *t = transport_named(mode);
	long ret;
	int cpu;

	if (!t) {
		pr_err("unknown mode=%s (hypercall, view, vmfunc)\n", mode);
		return -EINVAL;
	}
	if (protect && transport_unsupported(t)) {
		pr_err("mode=%s unsupported: %s (host features 0x%llx)\n", mode,
		       transport_unsupported(t), heki_host_features);
		return -EOPNOTSUPP;
	}
	for_each_possible_cpu(cpu) {
		per_cpu(heki_batch_buf, cpu) = (void *)__get_free_page(GFP_KERNEL);
		if (!per_cpu(heki_batch_buf, cpu)) {
			free_batch_bufs();
			return -ENOMEM;
		}
	}
	ret = find_kallsyms();
	if (ret) {
		pr_err("cannot resolve kallsyms_lookup_name: %ld\n", ret);
		free_batch_bufs();
		return ret;
	}
	heki_text_mutex = (void *)heki_kallsyms_lookup_name("text_mutex");
	text_poke_memset_fn = heki_kallsyms_lookup_name("text_poke_memset");
	if (!heki_text_mutex) {
		pr_err("cannot resolve text_mutex\n");
		free_batch_bufs();
		return -ENOENT;
	}
	tr = t;
	if (!protect) {
		pr_info("protect=0: the kernel is left unprotected\n");
		return 0;
	}
	heki_find_vm_area = (void *)heki_kallsyms_lookup_name("find_vm_area");
	r = heki_find_vm_area ? vmalloc(LOAD_MAX_RANGES * sizeof(*r)) : NULL;
	if (!r) {
		pr_err("cannot resolve find_vm_area or allocate: giving up\n");
		free_batch_bufs();
		return -ENOMEM;
	}

	/* Hooks first: nothing may change between discovery and protection. */
	ret = register_probes();
	if (ret)
		goto fail;
	ret = protect_kernel_image(&sum, r, &n);
	if (ret)
		goto fail;
	n = protect_modules(&sum, r, n, LOAD_MAX_RANGES);
	sum.ranges = n;
	atomic64_inc(&hook_calls[HOOK_LOAD]);
	preempt_disable();
	ret = send_ranges(HOOK_LOAD, r, n);
	preempt_enable();
	sum.hypercalls = DIV_ROUND_UP(n, HEKI_BATCH_MAX);
	if (ret) {
		pr_err("host refused the kernel's protections: %ld\n", ret);
		goto fail;
	}
	atomic64_add(sum.pages, &pages_protected);
	kernel_protected = true;
	pin_cr();
	sum.hypercalls += 2;
	/* The sites must reach the host before lockdown, or never. */
	if (heki_host_features & HEKI_FEAT_AUTH) {
		ret = heki_sites_register();
		sites_registered = !ret;
		if (ret)
			pr_warn("host refused the patch sites (%ld): patching cannot be authenticated\n",
				ret);
	}
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "heki/vmfunc:online",
					vmfunc_cpu_online, vmfunc_cpu_offline);
	if (ret < 0)
		goto fail;
	vmfunc_cpuhp_state = ret;
	if (tr->vmfunc) {
		ret = vmfunc_enable_all(true);
		if (ret) {
			pr_err("host refused EPTP switching on a CPU\n");
			goto fail;
		}
	}
	if (lockdown) {
		ret = heki_kernel_lockdown();
		sum.hypercalls++;
		if (ret) {
			pr_err("host refused lockdown: %ld\n", ret);
			goto fail;
		}
	}
	vfree(r);
	pr_info("protected: %u ranges, %lu pages (kernel image and %u modules), %u hypercalls, %lld us, mode %s, %s\n",
		sum.ranges, sum.pages, sum.modules, sum.hypercalls,
		ktime_us_delta(ktime_get(), t0), tr->name,
		!locked_down ? "not locked down" :
		auth_active ? "locked down, patching authenticated" : "locked down");
	return 0;
fail:
	if (vmfunc_cpuhp_state > 0)
		cpuhp_remove_state_nocalls(vmfunc_cpuhp_state);
	vmfunc_cpuhp_state = 0;
	if (tr->vmfunc)
		vmfunc_enable_all(false);
	unregister_probes();
	vfree(r);
	free_batch_bufs();
	/* Host codes (-400x) are not errnos: report an I/O error to insmod. */
	return ret < 0 && ret > -HEKI_EBASE ? ret : -EIO;
}

/* Only reachable before lockdown (it pins the module): undo everything. */
void heki_kernel_exit(void)
{
	struct heki_range r;
	unsigned int i;
	if (kernel_protected) {
		/*
		 * No new protections, then release them all, and only then
		 * stop opening windows and releasing freed memory.
		 */
		unregister_protecting_probes();
		regions_release(HOOK_FREE, 0, ~0ul);
		for (i = 0; i < ARRAY_SIZE(kernel_parts); i++) {
			unsigned long s = heki_kallsyms_lookup_name(kernel_parts[i].start);
			unsigned long e = heki_kallsyms_lookup_name(kernel_parts[i].end);
			u64 first = PHYS_PFN(__pa_symbol(s)), last = PHYS_PFN(__pa_symbol(e - 1));

			r = (struct heki_range){ PFN_PHYS(first), last - first + 1, RWX, 0 };
			preempt_disable();
			send_ranges(HOOK_LOAD, &r, 1);
			preempt_enable();
		}
		unregister_probes();
		if (vmfunc_cpuhp_state > 0)
			cpuhp_remove_state_nocalls(vmfunc_cpuhp_state);
		if (tr->vmfunc)
			vmfunc_enable_all(false);
		pr_info("unloaded: every protection released\n");
	}
	free_batch_bufs();
}

bool heki_kernel_is_protected(void)
{
	return kernel_protected;
}

unsigned long heki_lookup(const char *name)
{
	return heki_kallsyms_lookup_name ? heki_kallsyms_lookup_name(name) : 0;
}

void heki_counters_snapshot(struct heki_guest_counters *c)
{
	unsigned int i;

	for (i = 0; i < HOOK_NR; i++) {
		c->calls[i] = atomic64_read(&hook_calls[i]);
		c->hypercalls[i] = atomic64_read(&hook_hypercalls[i]);
		c->errors[i] = atomic64_read(&hook_errors[i]);
	}
	c->windows_open = atomic_read(&windows_open_now);
	c->pages_protected = atomic64_read(&pages_protected);
	c->pages_released = atomic64_read(&pages_released);
}

/* debugfs heki/counters: one "key value" per line. */
int heki_counters_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	seq_printf(m, "mode %s\n", tr ? tr->name : "none");
	/* Whether mode=vmfunc can run here, and why not (the suites read it). */
	seq_printf(m, "vmfunc %s%s\n", transport_unsupported(transport_named("vmfunc")) ?
		   "unsupported: " : "supported",
		   transport_unsupported(transport_named("vmfunc")) ?: "");
	seq_printf(m, "kernel_protected %d\n", kernel_protected);
	seq_printf(m, "locked_down_at_load %d\n", locked_down);
	seq_printf(m, "text_poke_hook %s\n", poke_inner.registered ? "__text_poke" :
		   poke_outer[0].registered ? "text_poke+callers" : "none");
	for (i = 0; i < HOOK_NR; i++) {
		seq_printf(m, "%s_calls %lld\n", hook_names[i],
			   atomic64_read(&hook_calls[i]));
		seq_printf(m, "%s_hypercalls %lld\n", hook_names[i],
			   atomic64_read(&hook_hypercalls[i]));
		seq_printf(m, "%s_errors %lld\n", hook_names[i],
			   atomic64_read(&hook_errors[i]));
	}
	/* mode=vmfunc: view switches by VMFUNC, and by hypercall where a CPU had it off. */
	seq_printf(m, "vmfunc_switches %lld\nvmfunc_fallbacks %lld\n",
		   atomic64_read(&vmfunc_switches), atomic64_read(&vmfunc_fallbacks));
	seq_printf(m, "windows_open %d\n", atomic_read(&windows_open_now));
	seq_printf(m, "auth %d\nauth_active %d\n", auth, READ_ONCE(auth_active));
	seq_printf(m, "text_pokes_by_host %lld\npatches_made %lld\npatches_refused %lld\n",
		   atomic64_read(&pokes_by_host), atomic64_read(&patches_made),
		   atomic64_read(&patches_refused));
	heki_sites_counters(m);
	seq_printf(m, "pages_protected %lld\n", atomic64_read(&pages_protected));
	seq_printf(m, "pages_released %lld\n", atomic64_read(&pages_released));
	heki_fopcheck_counters(m);
	heki_credcheck_counters(m);
	return 0;
}
