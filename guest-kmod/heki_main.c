// SPDX-License-Identifier: GPL-2.0
/*
 * Heki guest module.
 *
 * At load it asks the host for its Heki version and features
 * (HEKI_HC_QUERY) and refuses to load on a host without Heki or with another
 * ABI major.  debugfs (/sys/kernel/debug/heki/):
 *
 *   host     a fresh HEKI_HC_QUERY per read
 *   stats    a fresh HEKI_HC_STATS per read (this VM's host counters)
 *   <check>  one file per self-check of heki_selftest.c and heki_fuzz.c;
 *            each read runs it
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

#include "heki_guest.h"

static struct dentry *heki_dir;

/*
 * kvm_hypercall*() emit VMCALL or VMMCALL by alternatives, as the kernel's
 * own KVM guest code does, so one binary runs on Intel and AMD hosts.  The
 * four-argument form is used throughout: the host refuses non-zero unused
 * arguments, and the shorter forms leave those registers as they were.
 */
u64 heki_host_features;
u32 heki_host_vendor;

long heki_call(unsigned int nr, unsigned long a0, unsigned long a1,
	       unsigned long a2, unsigned long a3)
{
	return kvm_hypercall4(nr, a0, a1, a2, a3);
}

/* Both buffers must be physically contiguous: kmalloc, not the stack. */
long heki_query(struct heki_info *info)
{
	return heki_call(HEKI_HC_QUERY, __pa(info), sizeof(*info), 0, 0);
}

long heki_stats(struct heki_stats *st)
{
	return heki_call(HEKI_HC_STATS, __pa(st), sizeof(*st), 0, 0);
}

/* A write as the kernel's fault-tolerant accessors make it: 1 if it faulted. */
int heki_write_nofault(u64 *dst, u64 val)
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

static int heki_stats_show(struct seq_file *m, void *unused)
{
	struct heki_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	long ret;

	if (!st)
		return -ENOMEM;
	ret = heki_stats(st);
	seq_printf(m, "stats_ret %ld\n", ret);
	if (!ret) {
		/* Every field HEKI_HC_STATS returns, by its name in the ABI. */
#define HEKI_STATS_SHOW(field, what) seq_printf(m, #field " %llu\n", st->field);
		HEKI_STATS_FIELDS(HEKI_STATS_SHOW)
#undef HEKI_STATS_SHOW
	}
	kfree(st);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_stats);
DEFINE_SHOW_ATTRIBUTE(heki_counters);

/* debugfs for DEFINE_SHOW_ATTRIBUTE-style show functions from a table. */
static int heki_selftest_open(struct inode *inode, struct file *file)
{
	const struct heki_selftest *t = inode->i_private;

	return single_open(file, t->show, NULL);
}

static const struct file_operations heki_selftest_fops = {
	.owner = THIS_MODULE,
	.open = heki_selftest_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

static int __init heki_init(void)
{
	struct heki_info *info;
	unsigned int i;
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
	heki_host_features = info->features;
	heki_host_vendor = info->vendor;
	kfree(info);

	ret = heki_kernel_init();
	if (ret)
		return ret;
	ret = heki_fopcheck_init();
	if (!ret) {
		ret = heki_credcheck_init();
		if (ret)
			heki_fopcheck_exit();
	}
	if (ret) {
		heki_kernel_exit();
		return ret;
	}

	heki_dir = debugfs_create_dir("heki", NULL);
	debugfs_create_file("counters", 0400, heki_dir, NULL, &heki_counters_fops);
	heki_bench_init(heki_dir);
	debugfs_create_file("host", 0400, heki_dir, NULL, &heki_host_fops);
	debugfs_create_file("stats", 0400, heki_dir, NULL, &heki_stats_fops);
	for (i = 0; i < heki_nr_selftests; i++)
		debugfs_create_file(heki_selftests[i].name, 0400, heki_dir,
				    (void *)&heki_selftests[i],
				    &heki_selftest_fops);
	return 0;
}

static void __exit heki_exit(void)
{
	debugfs_remove_recursive(heki_dir);
	heki_bench_exit();
	heki_credcheck_exit();
	heki_fopcheck_exit();
	heki_kernel_exit();
}

module_init(heki_init);
module_exit(heki_exit);
MODULE_DESCRIPTION("Heki guest: hypervisor-enforced kernel integrity");
MODULE_LICENSE("GPL");
