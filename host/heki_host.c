// SPDX-License-Identifier: GPL-2.0
/*
 * Heki host side: hypercall dispatch and the L1-visible status file.
 *
 * Built into our kvm.ko (see host/kvm.mk); reached from
 * kvm_emulate_hypercall() through the hook in patches/.  Everything a guest
 * passes is checked before use (heki_check.h) and every refusal has its own
 * HEKI_E* code.
 */
#include <linux/kvm_host.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/random.h>
#include <linux/atomic.h>

#include "x86.h"
#include "heki_host.h"
#include "heki_check.h"

static u64 heki_host_nonce;
static struct dentry *heki_debugfs_dir;

static atomic64_t heki_calls_total;
static atomic64_t heki_calls_query;
static atomic64_t heki_calls_refused;

static u32 heki_vendor(void)
{
	if (!kvm_x86_ops.name)
		return HEKI_VENDOR_UNKNOWN;
	if (!strcmp(kvm_x86_ops.name, "kvm_amd"))
		return HEKI_VENDOR_AMD_SVM;
	if (!strcmp(kvm_x86_ops.name, "kvm_intel"))
		return HEKI_VENDOR_INTEL_VMX;
	return HEKI_VENDOR_UNKNOWN;
}

static long heki_query(struct kvm_vcpu *vcpu, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct heki_info info = {};
	long ret;

	ret = heki_check_query(a0, a1, a2, a3);
	if (ret)
		return ret;

	info.abi_version = HEKI_ABI_VERSION;
	info.vendor = heki_vendor();
	info.features = HEKI_FEAT_QUERY;
	info.host_nonce = heki_host_nonce;
	info.calls = atomic64_read(&heki_calls_total);

	if (kvm_vcpu_write_guest(vcpu, a0, &info, sizeof(info)))
		return -HEKI_EFAULT;
	atomic64_inc(&heki_calls_query);
	return 0;
}

unsigned long heki_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
			     unsigned long a0, unsigned long a1,
			     unsigned long a2, unsigned long a3)
{
	long ret;

	atomic64_inc(&heki_calls_total);

	switch (nr) {
	case HEKI_HC_QUERY:
		ret = heki_query(vcpu, a0, a1, a2, a3);
		break;
	default:
		ret = -HEKI_ENOSYS;
		break;
	}

	if (ret < 0)
		atomic64_inc(&heki_calls_refused);
	return ret;
}

/* One "key value" per line: the rig's L1 script forwards them verbatim. */
static int heki_status_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "abi_version %u.%u\n", HEKI_ABI_VERSION_MAJOR,
		   HEKI_ABI_VERSION_MINOR);
	seq_printf(m, "vendor %u\n", heki_vendor());
	seq_printf(m, "features 0x%llx\n", (unsigned long long)HEKI_FEAT_QUERY);
	seq_printf(m, "host_nonce 0x%016llx\n", heki_host_nonce);
	seq_printf(m, "calls_total %lld\n", atomic64_read(&heki_calls_total));
	seq_printf(m, "calls_query %lld\n", atomic64_read(&heki_calls_query));
	seq_printf(m, "calls_refused %lld\n",
		   atomic64_read(&heki_calls_refused));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_status);

void heki_host_init(void)
{
	heki_host_nonce = get_random_u64();
	heki_debugfs_dir = debugfs_create_dir("heki", NULL);
	debugfs_create_file("status", 0444, heki_debugfs_dir, NULL,
			    &heki_status_fops);
	pr_info("heki: host ABI %u.%u ready\n", HEKI_ABI_VERSION_MAJOR,
		HEKI_ABI_VERSION_MINOR);
}

void heki_host_exit(void)
{
	debugfs_remove_recursive(heki_debugfs_dir);
}
