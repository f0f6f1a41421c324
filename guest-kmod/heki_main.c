// SPDX-License-Identifier: GPL-2.0
/*
 * Heki guest module.
 *
 * This revision establishes the guest half of the ABI: at load it asks the
 * host for its Heki version and features (HEKI_HC_QUERY) and refuses to load
 * on a host without Heki or with another ABI major.  debugfs:
 *
 *   /sys/kernel/debug/heki/host       a fresh HEKI_HC_QUERY per read
 *   /sys/kernel/debug/heki/abi_check  malformed calls and the error each got
 *   /sys/kernel/debug/heki/cr_pin     pins CR4.SMEP and CR0.WP, then tries to
 *                                     clear them with raw writes (each read)
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <asm/kvm_para.h>
#include <uapi/linux/kvm_para.h>
#include <asm/hypervisor.h>
#include <asm/asm.h>
#include <asm/special_insns.h>
#include <linux/uaccess.h>

#include "heki_abi.h"

static struct dentry *heki_dir;

/*
 * kvm_hypercall*() emit VMCALL or VMMCALL by alternatives, as the kernel's
 * own KVM guest code does, so one binary runs on Intel and AMD hosts.  The
 * four-argument form is used throughout: the host refuses non-zero unused
 * arguments, and the shorter forms leave those registers as they were.
 */
static long heki_call(unsigned int nr, unsigned long a0, unsigned long a1,
		      unsigned long a2, unsigned long a3)
{
	return kvm_hypercall4(nr, a0, a1, a2, a3);
}

static long heki_query(struct heki_info *info)
{
	return heki_call(HEKI_HC_QUERY, __pa(info), sizeof(*info), 0, 0);
}

static int heki_host_show(struct seq_file *m, void *unused)
{
	struct heki_info *info = kzalloc(sizeof(*info), GFP_KERNEL);
	long ret;

	if (!info)
		return -ENOMEM;
	ret = heki_query(info);
	seq_printf(m, "query_ret %ld\n", ret);
	if (!ret) {
		seq_printf(m, "abi_version %u.%u\n", info->abi_version >> 16,
			   info->abi_version & 0xffff);
		seq_printf(m, "vendor %u\n", info->vendor);
		seq_printf(m, "features 0x%llx\n", info->features);
		seq_printf(m, "host_nonce 0x%016llx\n", info->host_nonce);
		seq_printf(m, "host_calls %llu\n", info->calls);
	}
	kfree(info);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_host);

/*
 * Malformed requests, each with the refusal the ABI promises.  A host that
 * accepted any of them, or refused with another code, is not ours.
 */
static int heki_abi_check_show(struct seq_file *m, void *unused)
{
	/* Two pages so that an info placed across the boundary stays in RAM. */
	u8 *buf = (u8 *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, 1);
	struct {
		const char *name;
		unsigned int nr;
		unsigned long a0, a1, a2;
		long expect;
	} cases[8];
	int i;

	if (!buf)
		return -ENOMEM;
	cases[0] = (typeof(cases[0])){ "query_bad_size", HEKI_HC_QUERY,
		__pa(buf), sizeof(struct heki_info) + 8, 0, -HEKI_ESIZE };
	cases[1] = (typeof(cases[0])){ "query_misaligned", HEKI_HC_QUERY,
		__pa(buf) + 4, sizeof(struct heki_info), 0, -HEKI_EALIGN };
	cases[2] = (typeof(cases[0])){ "query_reserved_arg", HEKI_HC_QUERY,
		__pa(buf), sizeof(struct heki_info), 1, -HEKI_EINVAL };
	cases[3] = (typeof(cases[0])){ "unknown_call", HEKI_HC_LAST,
		0, 0, 0, -HEKI_ENOSYS };
	cases[4] = (typeof(cases[0])){ "pin_cr3", HEKI_HC_PIN_CR,
		3, 1, 0, -HEKI_ECRNUM };
	cases[5] = (typeof(cases[0])){ "pin_cr4_unpinnable_bit", HEKI_HC_PIN_CR,
		4, X86_CR4_PAE, 0, -HEKI_EBITS };
	cases[6] = (typeof(cases[0])){ "pin_no_bits", HEKI_HC_PIN_CR,
		0, 0, 0, -HEKI_EBITS };
	cases[7] = (typeof(cases[0])){ "pin_reserved_arg", HEKI_HC_PIN_CR,
		4, X86_CR4_SMEP, 1, -HEKI_EINVAL };

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		long got = heki_call(cases[i].nr, cases[i].a0, cases[i].a1,
				     cases[i].a2, 0);

		seq_printf(m, "%s %s expect=%ld got=%ld\n", cases[i].name,
			   got == cases[i].expect ? "ok" : "FAIL",
			   cases[i].expect, got);
	}
	free_pages((unsigned long)buf, 1);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_abi_check);

/*
 * A raw control-register write, as a code-reuse gadget would make it: not
 * through native_write_cr*(), whose own pinning would hide the host's.
 * Returns 1 if the write faulted (the extable entry skips the clear of
 * *faulted), 0 if it took effect; *ip is the mov's address, which the host
 * logs as the violation's RIP.
 */
#define HEKI_RAW_CR_WRITE(cr, val, ip)					\
({									\
	int __faulted = 1;						\
	asm volatile("lea 1f(%%rip), %[rip]\n"				\
		     "1: mov %[v], %%" cr "\n"				\
		     "movl $0, %[f]\n"					\
		     "2:\n"						\
		     _ASM_EXTABLE(1b, 2b)				\
		     : [f] "+r" (__faulted), [rip] "=&r" (ip)		\
		     : [v] "r" (val) : "memory");			\
	__faulted;							\
})

/*
 * Pins a bit with HEKI_HC_PIN_CR, then tries to clear it with a raw write:
 * the host must refuse with #GP and the bit must still be set.  If the
 * write went through the original value is put back at once.
 */
static void heki_pin_and_attack(struct seq_file *m, int cr, unsigned long bit,
				const char *name)
{
	unsigned long before, after, ip = 0, flags;
	long ret;
	int faulted;

	before = cr ? __read_cr4() : read_cr0();
	if (!(before & bit)) {
		seq_printf(m, "pin_%s skip not_set_on_this_cpu\n", name);
		return;
	}
	ret = heki_call(HEKI_HC_PIN_CR, cr, bit, 0, 0);
	seq_printf(m, "pin_%s %s ret=%ld\n", name, ret ? "FAIL" : "ok", ret);

	local_irq_save(flags);
	if (cr)
		faulted = HEKI_RAW_CR_WRITE("cr4", before & ~bit, ip);
	else
		faulted = HEKI_RAW_CR_WRITE("cr0", before & ~bit, ip);
	after = cr ? __read_cr4() : read_cr0();
	if (!faulted) {
		if (cr)
			HEKI_RAW_CR_WRITE("cr4", before, ip);
		else
			HEKI_RAW_CR_WRITE("cr0", before, ip);
	}
	local_irq_restore(flags);
	seq_printf(m, "clear_%s_refused %s faulted=%d still_set=%d rip=0x%lx\n",
		   name, faulted && (after & bit) ? "ok" : "FAIL", faulted,
		   !!(after & bit), ip);
}

static int heki_cr_pin_show(struct seq_file *m, void *unused)
{
	heki_pin_and_attack(m, 4, X86_CR4_SMEP, "cr4_smep");
	heki_pin_and_attack(m, 0, X86_CR0_WP, "cr0_wp");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_cr_pin);

/* A write as the kernel's fault-tolerant accessors make it: 1 if it faulted. */
static int heki_write_nofault(u64 *dst, u64 val)
{
	int faulted = 0;

	pagefault_disable();
	__put_kernel_nofault(dst, &val, u64, efault);
	goto out;
efault:
	faulted = 1;
out:
	pagefault_enable();
	return faulted;
}

/*
 * Protects a page read-only at the host, writes it through a fault-tolerant
 * accessor (the write must fault and the page stay unchanged), releases it
 * and writes again (that write must land).  The page is released before it
 * goes back to the allocator whatever happened.
 */
static int heki_protect_show(struct seq_file *m, void *unused)
{
	u64 *page = (u64 *)__get_free_page(GFP_KERNEL);
	u64 val = 0x6865b1deadbeefull, pattern = 0xaaaaaaaaaaaaaaaaull;
	int faulted, unchanged, i;
	long ret, rel;

	if (!page)
		return -ENOMEM;
	for (i = 0; i < PAGE_SIZE / 8; i++)
		page[i] = pattern;

	ret = heki_call(HEKI_HC_PROTECT, __pa(page), 1, HEKI_ATTR_READ, 0);
	seq_printf(m, "protect_read_only %s ret=%ld\n", ret ? "FAIL" : "ok", ret);

	faulted = heki_write_nofault(&page[8], val);
	unchanged = page[8] == pattern;
	seq_printf(m, "write_refused %s faulted=%d unchanged=%d gva=0x%lx gfn=0x%lx\n",
		   !ret && faulted && unchanged ? "ok" : "FAIL", faulted,
		   unchanged, (unsigned long)&page[8], __pa(page) >> PAGE_SHIFT);

	rel = heki_call(HEKI_HC_PROTECT, __pa(page), 1,
			HEKI_ATTR_READ | HEKI_ATTR_WRITE | HEKI_ATTR_EXEC, 0);
	seq_printf(m, "release %s ret=%ld\n", rel ? "FAIL" : "ok", rel);
	if (!rel) {
		faulted = heki_write_nofault(&page[8], val);
		seq_printf(m, "write_after_release %s faulted=%d landed=%d\n",
			   !faulted && page[8] == val ? "ok" : "FAIL", faulted,
			   page[8] == val);
		free_page((unsigned long)page);
	} else {
		/* Still protected at the host: never hand it back. */
		seq_puts(m, "leaked_protected_page 1\n");
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_protect);

static int __init heki_init(void)
{
	struct heki_info *info;
	long ret;

	if (!hypervisor_is_type(X86_HYPER_KVM)) {
		pr_err("not running on KVM; Heki needs a KVM host\n");
		return -ENODEV;
	}
	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	ret = heki_query(info);
	if (ret) {
		if (ret == -KVM_ENOSYS)
			pr_err("host has no Heki: it does not know HEKI_HC_QUERY\n");
		else
			pr_err("host refused HEKI_HC_QUERY: %ld\n", ret);
		kfree(info);
		return -ENODEV;
	}
	if (info->abi_version >> 16 != HEKI_ABI_VERSION_MAJOR) {
		pr_err("host ABI %u.%u, this module speaks %u.%u\n",
		       info->abi_version >> 16, info->abi_version & 0xffff,
		       HEKI_ABI_VERSION_MAJOR, HEKI_ABI_VERSION_MINOR);
		kfree(info);
		return -EPROTO;
	}
	pr_info("host ABI %u.%u, features 0x%llx, vendor %u\n",
		info->abi_version >> 16, info->abi_version & 0xffff,
		info->features, info->vendor);
	kfree(info);

	heki_dir = debugfs_create_dir("heki", NULL);
	debugfs_create_file("host", 0400, heki_dir, NULL, &heki_host_fops);
	debugfs_create_file("abi_check", 0400, heki_dir, NULL,
			    &heki_abi_check_fops);
	debugfs_create_file("cr_pin", 0400, heki_dir, NULL, &heki_cr_pin_fops);
	debugfs_create_file("protect", 0400, heki_dir, NULL, &heki_protect_fops);
	return 0;
}

static void __exit heki_exit(void)
{
	debugfs_remove_recursive(heki_dir);
}

module_init(heki_init);
module_exit(heki_exit);
MODULE_DESCRIPTION("Heki guest: hypervisor-enforced kernel integrity");
MODULE_LICENSE("GPL");
