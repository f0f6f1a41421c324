// SPDX-License-Identifier: GPL-2.0
/*
 * cred validation (beyond the Heki RFC; parameter cred_check, default off,
 * writable at run time by root, lockdown included).  Creds live in
 * writable slab memory: an attacker who rewrites the uid and capability
 * fields of a task's cred, or points the task at init_cred, becomes root,
 * and page permissions never notice.  The kernel's own rule is that a
 * cred is immutable once installed; this check enforces that rule from
 * heki.ko's protected text:
 *
 *  - every cred the kernel installs is fingerprinted at that moment: at
 *    commit_creds() and override_creds() entry (the new cred is final by
 *    then), and a new task's creds at wake_up_new_task() (copy_creds()
 *    assigns them directly); creds that existed when the check was turned
 *    on are fingerprinted then (kprobes, all);
 *  - __put_cred() forgets a cred that is being freed;
 *  - at security_capable(), the one funnel of capable()/ns_capable() and
 *    friends, the cred being judged must be known with an unchanged
 *    fingerprint, and a user task (one with an mm) must not be running on
 *    init_cred.  A violation is reported to the host (HEKI_HC_REPORT),
 *    which logs it: the attack becomes "detected".
 *
 * The fingerprint covers uid..fsgid, securebits, the five capability sets
 * and user_ns.  Not covered: uses of a cred that ask no capability (plain
 * uid comparisons, e.g. file permission checks), and the checker's own
 * state, which lives in writable memory (an attacker who disarms it first
 * is not simulated).  The table is not host-protected: that, and writes
 * through an authenticated window, are the next step.
 */
#define pr_fmt(fmt) "heki: " fmt

#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/cred.h>
#include <linux/sched/signal.h>
#include <linux/hashtable.h>
#include <linux/slab.h>

#include "heki_guest.h"

struct cred_print {
	struct hlist_node node;
	const struct cred *cred;
	u64 print;
};

static DEFINE_HASHTABLE(cred_table, 10);
static DEFINE_SPINLOCK(cred_table_lock);
static atomic64_t cred_checks, cred_reports, cred_known;
static DEFINE_MUTEX(cred_lock);
static bool cred_ready, cred_check;
static const struct cred *heki_init_cred;

/* FNV-1a over the fields that decide what a task may do. */
static u64 fingerprint(const struct cred *c)
{
	const u8 *p = (const u8 *)&c->uid;
	const u8 *end = (const u8 *)(&c->cap_ambient + 1);
	u64 h = 0xcbf29ce484222325ull;

	for (; p < end; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (h ^ (unsigned long)c->user_ns) * 0x100000001b3ull;
}

static struct cred_print *find(const struct cred *c)
{
	struct cred_print *e;

	hash_for_each_possible(cred_table, e, node, (unsigned long)c)
		if (e->cred == c)
			return e;
	return NULL;
}

/* Probe context: atomic allocation; a failure only weakens the check. */
static void note(const struct cred *c)
{
	struct cred_print *e;
	unsigned long flags;

	if (!c)
		return;
	spin_lock_irqsave(&cred_table_lock, flags);
	e = find(c);
	if (!e) {
		e = kmalloc(sizeof(*e), GFP_ATOMIC);
		if (e) {
			e->cred = c;
			hash_add(cred_table, &e->node, (unsigned long)c);
			atomic64_inc(&cred_known);
		}
	}
	if (e)
		e->print = fingerprint(c);
	spin_unlock_irqrestore(&cred_table_lock, flags);
}

static void forget(const struct cred *c)
{
	struct cred_print *e;
	unsigned long flags;

	spin_lock_irqsave(&cred_table_lock, flags);
	e = find(c);
	if (e) {
		hash_del(&e->node);
		atomic64_dec(&cred_known);
	}
	spin_unlock_irqrestore(&cred_table_lock, flags);
	kfree(e);
}

static int on_install(struct kprobe *p, struct pt_regs *regs)
{
	note((const struct cred *)regs->di);
	return 0;
}

static int on_free(struct kprobe *p, struct pt_regs *regs)
{
	forget((const struct cred *)regs->di);
	return 0;
}

/* wake_up_new_task(p): every new task passes it with its creds set. */
static int on_new_task(struct kprobe *p, struct pt_regs *regs)
{
	struct task_struct *t = (struct task_struct *)regs->di;

	note(t->real_cred);
	note(t->cred);
	return 0;
}

static int on_capable(struct kprobe *p, struct pt_regs *regs)
{
	const struct cred *c = (const struct cred *)regs->di;
	struct cred_print *e;
	unsigned long flags;
	bool bad;

	if (!c)
		return 0;
	atomic64_inc(&cred_checks);
	spin_lock_irqsave(&cred_table_lock, flags);
	e = find(c);
	bad = !e || e->print != fingerprint(c);
	spin_unlock_irqrestore(&cred_table_lock, flags);
	/* init_cred belongs to kernel threads; a user task on it was pointed there. */
	bad |= c == heki_init_cred && c == current->cred && current->mm;
	if (bad) {
		atomic64_inc(&cred_reports);
		heki_call(HEKI_HC_REPORT, HEKI_REPORT_CRED, (unsigned long)c,
			  (unsigned long)current, 0);
	}
	return 0;
}

static struct kprobe install_kps[] = {
	{ .symbol_name = "commit_creds", .pre_handler = on_install },
	{ .symbol_name = "override_creds", .pre_handler = on_install },
	{ .symbol_name = "wake_up_new_task", .pre_handler = on_new_task },
	{ .symbol_name = "__put_cred", .pre_handler = on_free },
};
#define NINSTALL ARRAY_SIZE(install_kps)
static struct kprobe *install_kpp[NINSTALL];
static struct kprobe capable_kp;

static void table_clear(void)
{
	struct cred_print *e;
	struct hlist_node *tmp;
	unsigned long flags;
	int bkt;

	spin_lock_irqsave(&cred_table_lock, flags);
	hash_for_each_safe(cred_table, bkt, tmp, e, node) {
		hash_del(&e->node);
		kfree(e);
	}
	atomic64_set(&cred_known, 0);
	spin_unlock_irqrestore(&cred_table_lock, flags);
}

static void cred_disarm(void)
{
	unregister_kprobe(&capable_kp);
	unregister_kprobes(install_kpp, NINSTALL);
	table_clear();
}

/* Install hooks first, then fingerprint what exists: nothing slips between. */
static int cred_arm(void)
{
	struct task_struct *g, *t;
	int ret;

	for (size_t i = 0; i < NINSTALL; i++) {
		/* A kprobe cannot be registered twice without being reset. */
		install_kps[i] = (struct kprobe){ .symbol_name = install_kps[i].symbol_name,
						  .pre_handler = install_kps[i].pre_handler };
		install_kpp[i] = &install_kps[i];
	}
	capable_kp = (struct kprobe){ .symbol_name = "security_capable", .pre_handler = on_capable };
	ret = register_kprobes(install_kpp, NINSTALL);
	if (ret)
		goto fail;
	rcu_read_lock();
	for_each_process_thread(g, t) {
		note(rcu_dereference(t->real_cred));
		note(rcu_dereference(t->cred));
	}
	rcu_read_unlock();
	note(heki_init_cred);
	ret = register_kprobe(&capable_kp);
	if (ret) {
		unregister_kprobes(install_kpp, NINSTALL);
		table_clear();
		goto fail;
	}
	pr_info("cred_check on: %lld creds fingerprinted\n", atomic64_read(&cred_known));
	return 0;
fail:
	pr_err("cred_check: cannot hook the cred paths: %d\n", ret);
	return ret;
}

static int cred_check_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int ret = kstrtobool(val, &on);

	if (ret)
		return ret;
	mutex_lock(&cred_lock);
	if (cred_ready && on != cred_check) {
		if (on) {
			ret = cred_arm();
		} else {
			cred_disarm();
			pr_info("cred_check off\n");
		}
	}
	if (!ret)
		cred_check = on;
	mutex_unlock(&cred_lock);
	return ret;
}

static const struct kernel_param_ops cred_check_ops = {
	.set = cred_check_set,
	.get = param_get_bool,
};
module_param_cb(cred_check, &cred_check_ops, &cred_check, 0644);
MODULE_PARM_DESC(cred_check, "report creds changed after they were installed to the host (default off; writable at run time)");

int heki_credcheck_init(void)
{
	int ret = 0;

	heki_init_cred = (const struct cred *)heki_lookup("init_cred");
	if (!heki_init_cred) {
		pr_err("cred_check: cannot find init_cred\n");
		return -ENOENT;
	}
	mutex_lock(&cred_lock);
	cred_ready = true;
	if (cred_check)
		ret = cred_arm();
	mutex_unlock(&cred_lock);
	return ret;
}

void heki_credcheck_exit(void)
{
	mutex_lock(&cred_lock);
	if (cred_check)
		cred_disarm();
	cred_ready = false;
	mutex_unlock(&cred_lock);
}

void heki_credcheck_counters(struct seq_file *m)
{
	seq_printf(m, "cred_check %d\ncred_checks %lld\ncred_reports %lld\ncreds_known %lld\n",
		   cred_check, atomic64_read(&cred_checks), atomic64_read(&cred_reports),
		   atomic64_read(&cred_known));
}
