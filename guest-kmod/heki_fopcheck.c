// SPDX-License-Identifier: GPL-2.0
/*
 * f_op validation (beyond the Heki RFC; parameter fop_check, default off,
 * writable at run time by root, lockdown included).  Page permissions
 * cannot see a pointer swap in writable slab memory: an attacker who
 * points an open file's f_op at a forged table in kmalloc memory makes the
 * kernel call its handlers, and the host never notices.  This check, in
 * heki.ko's protected text, looks at file->f_op on the way into the VFS
 * read/write paths and reports a table outside read-only memory to the
 * host (HEKI_HC_REPORT), which logs it: such an attack becomes "detected".
 *
 * Hooked with kprobes at the entry of vfs_read/vfs_write/__kernel_read/
 * __kernel_write: every read(2)/write(2) and in-kernel file I/O passes one
 * of them with the struct file as first argument, and kprobes on function
 * entries ride ftrace (cheap) where the kernel allows.
 *
 * Accepted tables: kernel rodata; module memory outside text (rodata,
 * ro_after_init and data: a few drivers keep non-const tables); and for
 * debugfs files, which get a kmalloc'ed proxy table, the real table behind
 * the proxy.  Not covered: other f_op users (ioctl, mmap, poll...), other
 * operation tables, and the checker's own state, which lives in writable
 * memory (an attacker who disarms it first is not simulated).
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/fs.h>
#include <linux/debugfs.h>
#include <uapi/linux/magic.h>

#include "heki_guest.h"

static const char *const fop_sites[] = {
	"vfs_read", "vfs_write", "__kernel_read", "__kernel_write",
};
static struct kprobe fop_kps[ARRAY_SIZE(fop_sites)];
static bool fop_registered[ARRAY_SIZE(fop_sites)];
static unsigned long rodata_start, rodata_end;
/* Not exported to modules: resolved through kallsyms. */
static struct module *(*fop_module_address)(unsigned long addr);
static atomic64_t fop_checks, fop_reports;
static DEFINE_MUTEX(fop_lock);
static bool fop_ready;		/* init ran: kallsyms resolved */
static bool fop_check;

static bool fop_table_ok(const struct file *f, const void *fop, int depth)
{
	unsigned long a = (unsigned long)fop;
	struct module *mod;
	bool ok = false;

	if (a >= rodata_start && a < rodata_end)
		return true;
	preempt_disable();
	mod = fop_module_address(a);
	if (mod) {
		unsigned long base = (unsigned long)mod->core_layout.base;

		ok = a >= base + mod->core_layout.text_size && a < base + mod->core_layout.size;
	}
	preempt_enable();
	if (ok)
		return true;
	/* debugfs hands out a kmalloc'ed proxy: judge the table behind it. */
	if (!depth && f->f_path.dentry && f->f_path.dentry->d_sb &&
	    f->f_path.dentry->d_sb->s_magic == DEBUGFS_MAGIC)
		return fop_table_ok(f, debugfs_real_fops(f), 1);
	return false;
}

static int fop_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct file *f = (struct file *)regs->di;
	const void *fop;

	if (!f)
		return 0;
	fop = READ_ONCE(f->f_op);
	atomic64_inc(&fop_checks);
	if (!fop_table_ok(f, fop, 0)) {
		atomic64_inc(&fop_reports);
		heki_call(HEKI_HC_REPORT, HEKI_REPORT_FOP, (unsigned long)fop,
			  (unsigned long)f, 0);
	}
	return 0;
}

static void fop_disarm(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(fop_kps); i++)
		if (fop_registered[i]) {
			unregister_kprobe(&fop_kps[i]);
			fop_registered[i] = false;
		}
}

static int fop_arm(void)
{
	int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fop_kps); i++) {
		fop_kps[i] = (struct kprobe){ .symbol_name = fop_sites[i], .pre_handler = fop_pre };
		fop_registered[i] = !register_kprobe(&fop_kps[i]);
		n += fop_registered[i];
	}
	if (!n) {
		pr_err("fop_check: no VFS entry point could be probed\n");
		return -ENOENT;
	}
	pr_info("fop_check on: %d of %zu VFS entry points checked\n", n, ARRAY_SIZE(fop_kps));
	return 0;
}

/* Before init, the value is only kept: init arms the check. */
static int fop_check_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int ret = kstrtobool(val, &on);

	if (ret)
		return ret;
	mutex_lock(&fop_lock);
	if (fop_ready && on != fop_check) {
		if (on)
			ret = fop_arm();
		else
			fop_disarm();
		if (!on)
			pr_info("fop_check off\n");
	}
	if (!ret)
		fop_check = on;
	mutex_unlock(&fop_lock);
	return ret;
}

static const struct kernel_param_ops fop_check_ops = {
	.set = fop_check_set,
	.get = param_get_bool,
};
module_param_cb(fop_check, &fop_check_ops, &fop_check, 0644);
MODULE_PARM_DESC(fop_check, "report file f_op tables outside read-only memory to the host (default off; writable at run time)");

int heki_fopcheck_init(void)
{
	int ret = 0;

	rodata_start = heki_lookup("__start_rodata");
	rodata_end = heki_lookup("__end_rodata");
	fop_module_address = (void *)heki_lookup("__module_address");
	if (!rodata_start || rodata_end <= rodata_start || !fop_module_address) {
		pr_err("fop_check: cannot find the kernel's rodata or __module_address\n");
		return -ENOENT;
	}
	mutex_lock(&fop_lock);
	fop_ready = true;
	if (fop_check)
		ret = fop_arm();
	mutex_unlock(&fop_lock);
	return ret;
}

void heki_fopcheck_exit(void)
{
	mutex_lock(&fop_lock);
	fop_disarm();
	fop_ready = false;
	mutex_unlock(&fop_lock);
}

void heki_fopcheck_counters(struct seq_file *m)
{
	seq_printf(m, "fop_check %d\nfop_checks %lld\nfop_reports %lld\n", fop_check,
		   atomic64_read(&fop_checks), atomic64_read(&fop_reports));
}
