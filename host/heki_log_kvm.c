// SPDX-License-Identifier: GPL-2.0
/*
 * The violation log in kvm.ko: one heki_log (heki_log.c) per VM, the
 * vCPU state a record carries, and two debugfs files:
 *
 * - heki/stream: the records as they are logged, each delivered once, to
 *   one reader at a time (a second open gets -EBUSY); read() blocks until
 *   there is something (or -EAGAIN with O_NONBLOCK), poll() works, and a
 *   read returns whole lines only.  After a VM's last record comes its
 *   "log ... ended=1" line with the VM's final accounting; the log is freed
 *   then.
 * - heki/violations: a snapshot of the last records of every VM, read or
 *   not, for people.
 *
 * Locking: heki_vlogs_lock (the list) may be taken before a vlog's lock,
 * never after; the record path takes only its vlog's lock.  Logs are freed
 * only with heki_vlogs_lock held over their unlinking, and kvfree()d after
 * it is dropped.
 */
#include <linux/kvm_host.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "x86.h"
#include "kvm_cache_regs.h"
#include "heki_log.h"

/*
 * Logs of ended VMs kept for a reader that has not read them out yet.
 * Only the VMM (L1 root) ends VMs, so this bounds what a host without a
 * reader keeps, not what a guest can do.
 */
#define HEKI_LOG_MAX_ENDED	16

struct heki_vlog {
	struct list_head node;		/* on heki_vlogs, oldest VM first */
	spinlock_t lock;		/* log */
	struct heki_log log;
	unsigned int id;
	pid_t pid;			/* the VMM process */
	bool ended;			/* its VM is gone */
	/* The last vCPU shutdown not yet read ("shutdown ..." line), under lock. */
	bool shutdown_pending;
	char shutdown[HEKI_LOG_LINE_MAX];
};

static LIST_HEAD(heki_vlogs);
static DEFINE_SPINLOCK(heki_vlogs_lock);
static unsigned int heki_vlog_next_id = 1;
static unsigned int heki_vlogs_ended;
/* Whether heki/stream was ever opened: only then are ended logs kept. */
static bool heki_stream_used;
static atomic_t heki_stream_open;
static DEFINE_MUTEX(heki_stream_mutex);	/* one read() at a time */
static DECLARE_WAIT_QUEUE_HEAD(heki_log_wait);

/* Records logged but never delivered: freed unread, or a failed copy. */
static atomic64_t heki_log_lost;
/* Ended VMs whose "log ... ended=1" line was never delivered. */
static atomic64_t heki_log_lost_vms;
/* Refusals of VMs without Heki state (no log to count them in). */
static atomic64_t heki_log_unattributed;

static const char *heki_cpu_mode(struct kvm_vcpu *vcpu)
{
	if (is_64_bit_mode(vcpu))
		return "long64";
	if (is_long_mode(vcpu))
		return "compat";
	if (is_protmode(vcpu))
		return "prot32";
	return "real";
}

struct heki_vlog *heki_vlog_create(struct kvm *kvm)
{
	struct heki_vlog *v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);

	if (!v)
		return NULL;
	if (heki_log_init(&v->log, NULL)) {
		kfree(v);
		return NULL;
	}
	spin_lock_init(&v->lock);
	v->pid = kvm->userspace_pid;
	spin_lock(&heki_vlogs_lock);
	v->id = heki_vlog_next_id++;
	list_add_tail(&v->node, &heki_vlogs);
	spin_unlock(&heki_vlogs_lock);
	return v;
}

static void heki_vlog_free(struct heki_vlog *v)
{
	heki_log_destroy(&v->log);
	kfree(v);
}

void heki_vlog_discard(struct heki_vlog *v)
{
	spin_lock(&heki_vlogs_lock);
	list_del(&v->node);
	spin_unlock(&heki_vlogs_lock);
	heki_vlog_free(v);
}

/* Caller holds heki_vlogs_lock; @v is unlinked and counted as lost. */
static void heki_vlog_unlink_lost(struct heki_vlog *v)
{
	atomic64_add(heki_log_unread(&v->log), &heki_log_lost);
	atomic64_inc(&heki_log_lost_vms);
	list_del(&v->node);
	heki_vlogs_ended--;
}

void heki_vlog_release(struct heki_vlog *v)
{
	struct heki_vlog *old = NULL, *it;

	spin_lock(&heki_vlogs_lock);
	spin_lock(&v->lock);
	v->ended = true;
	spin_unlock(&v->lock);
	heki_vlogs_ended++;
	if (!READ_ONCE(heki_stream_used)) {
		/* Nobody reads the stream on this host: nothing to keep it for. */
		heki_vlog_unlink_lost(v);
		old = v;
	} else if (heki_vlogs_ended > HEKI_LOG_MAX_ENDED) {
		list_for_each_entry(it, &heki_vlogs, node) {
			if (it->ended) {
				heki_vlog_unlink_lost(it);
				old = it;
				break;
			}
		}
	}
	spin_unlock(&heki_vlogs_lock);
	if (old)
		heki_vlog_free(old);
	wake_up_interruptible(&heki_log_wait);
}

void heki_vlog_record(struct heki_vlog *v, struct kvm *kvm,
		      struct kvm_vcpu *vcpu, u64 vm_seq, const char *kind,
		      const char *via, u64 a, u64 b, u64 c)
{
	struct heki_log_rec r = {
		.vm_seq = vm_seq,
		.vcpu = vcpu ? vcpu->vcpu_id : -1,
		.cpl = vcpu ? static_call(kvm_x86_get_cpl)(vcpu) : -1,
		.mode = vcpu ? heki_cpu_mode(vcpu) : "none",
		.kind = kind,
		.via = via,
		.rip = vcpu ? kvm_rip_read(vcpu) : 0,
		.a = a,
		.b = b,
		.c = c,
	};
	enum heki_log_verdict verdict;

	if (!v) {
		atomic64_inc(&heki_log_unattributed);
		return;
	}
	spin_lock(&v->lock);
	verdict = heki_log_add(&v->log, &r, ktime_get_ns());
	spin_unlock(&v->lock);
	if (verdict == HEKI_LOG_LOGGED)
		wake_up_interruptible(&heki_log_wait);
}

void heki_vlog_shutdown(struct heki_vlog *v, struct kvm_vcpu *vcpu,
			const char *detail)
{
	char line[HEKI_LOG_LINE_MAX];

	snprintf(line, sizeof(line),
		 "shutdown vm_id=%u vm_pid=%d vcpu=%d cpl=%d mode=%s rip=0x%lx %s\n",
		 v ? v->id : 0, vcpu->kvm->userspace_pid, vcpu->vcpu_id,
		 static_call(kvm_x86_get_cpl)(vcpu), heki_cpu_mode(vcpu),
		 kvm_rip_read(vcpu), detail);
	/* The console has it even when the stream is gone or the VM has no log. */
	pr_warn_ratelimited("heki: VM %d vCPU %d shut down (triple fault): %s",
			    vcpu->kvm->userspace_pid, vcpu->vcpu_id, line + 9);
	if (!v)
		return;
	spin_lock(&v->lock);
	memcpy(v->shutdown, line, sizeof(line));
	v->shutdown_pending = true;
	spin_unlock(&v->lock);
	wake_up_interruptible(&heki_log_wait);
}

void heki_vlog_status(struct seq_file *m, struct heki_vlog *v, int pid)
{
	struct heki_log_kind_stats t;
	u64 unread;

	spin_lock(&v->lock);
	t = heki_log_total(&v->log);
	unread = heki_log_unread(&v->log);
	spin_unlock(&v->lock);
	seq_printf(m, "vm_%d_log_id %u\nvm_%d_log_logged %llu\nvm_%d_log_unread %llu\n",
		   pid, v->id, pid, t.logged, pid, unread);
	seq_printf(m, "vm_%d_log_dropped_rate %llu\nvm_%d_log_dropped_backlog %llu\n",
		   pid, t.dropped_rate, pid, t.dropped_backlog);
}

void heki_log_status(struct seq_file *m)
{
	seq_printf(m, "log_stream_open %d\n", atomic_read(&heki_stream_open));
	seq_printf(m, "log_lost %lld\nlog_lost_vms %lld\nlog_unattributed %lld\n",
		   atomic64_read(&heki_log_lost), atomic64_read(&heki_log_lost_vms),
		   atomic64_read(&heki_log_unattributed));
}

/* Something for the stream reader: a record, or an ended VM's last line. */
static bool heki_log_pending(void)
{
	struct heki_vlog *v;
	bool any = false;

	spin_lock(&heki_vlogs_lock);
	list_for_each_entry(v, &heki_vlogs, node) {
		spin_lock(&v->lock);
		any = heki_log_unread(&v->log) || v->ended || v->shutdown_pending;
		spin_unlock(&v->lock);
		if (any)
			break;
	}
	spin_unlock(&heki_vlogs_lock);
	return any;
}

/*
 * Moves whole lines into @buf (at most @len bytes): every VM's unread
 * records, oldest VM first, then for an ended VM read out its final line,
 * and unlinks it onto @freed.  Returns the bytes written; @nrec counts the
 * records (for the loss count if the copy to the reader fails).
 */
static size_t heki_log_collect(char *buf, size_t len, struct list_head *freed,
			       u64 *nrec)
{
	struct heki_vlog *v, *tmp;
	size_t used = 0;
	bool full = false;

	spin_lock(&heki_vlogs_lock);
	list_for_each_entry_safe(v, tmp, &heki_vlogs, node) {
		const struct heki_log_rec *r;
		int n;

		spin_lock(&v->lock);
		while (!full && (r = heki_log_peek(&v->log))) {
			n = heki_log_format(buf + used, len - used, r, v->id, v->pid);
			if (n < 0 || (size_t)n >= len - used) {
				full = true;
				break;
			}
			used += n;
			(*nrec)++;
			heki_log_consume(&v->log);
		}
		/* After the records that led to it, before the VM's last line. */
		if (!full && v->shutdown_pending) {
			n = strlen(v->shutdown);
			if ((size_t)n >= len - used) {
				full = true;
			} else {
				memcpy(buf + used, v->shutdown, n);
				used += n;
				v->shutdown_pending = false;
			}
		}
		if (!full && v->ended) {
			n = heki_log_format_summary(buf + used, len - used, &v->log,
						    v->id, v->pid, true);
			if (n < 0 || (size_t)n >= len - used) {
				full = true;
			} else {
				used += n;
				list_move_tail(&v->node, freed);
				heki_vlogs_ended--;
			}
		}
		spin_unlock(&v->lock);
		if (full)
			break;
	}
	spin_unlock(&heki_vlogs_lock);
	return used;
}

static ssize_t heki_stream_read(struct file *f, char __user *ubuf, size_t count,
				loff_t *ppos)
{
	size_t len = min_t(size_t, count, 16384), used;
	struct heki_vlog *v, *tmp;
	LIST_HEAD(freed);
	u64 nrec = 0;
	char *buf;
	int ret;

	/* A line must always fit, or a reader could never make progress. */
	if (count < HEKI_LOG_LINE_MAX)
		return -EINVAL;
	buf = kmalloc(len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (!(f->f_flags & O_NONBLOCK)) {
			ret = wait_event_interruptible(heki_log_wait, heki_log_pending());
			if (ret)
				goto out;
		}
		mutex_lock(&heki_stream_mutex);
		used = heki_log_collect(buf, len, &freed, &nrec);
		mutex_unlock(&heki_stream_mutex);
		if (used || (f->f_flags & O_NONBLOCK))
			break;
	}
	list_for_each_entry_safe(v, tmp, &freed, node)
		heki_vlog_free(v);
	if (!used) {
		ret = -EAGAIN;
	} else if (copy_to_user(ubuf, buf, used)) {
		atomic64_add(nrec, &heki_log_lost);
		ret = -EFAULT;
	} else {
		ret = used;
	}
out:
	kfree(buf);
	return ret;
}

static __poll_t heki_stream_poll(struct file *f, poll_table *wait)
{
	poll_wait(f, &heki_log_wait, wait);
	return heki_log_pending() ? EPOLLIN | EPOLLRDNORM : 0;
}

static int heki_stream_open_fn(struct inode *inode, struct file *f)
{
	if (atomic_cmpxchg(&heki_stream_open, 0, 1))
		return -EBUSY;
	WRITE_ONCE(heki_stream_used, true);
	return nonseekable_open(inode, f);
}

static int heki_stream_release(struct inode *inode, struct file *f)
{
	atomic_set(&heki_stream_open, 0);
	return 0;
}

static const struct file_operations heki_stream_fops = {
	.owner = THIS_MODULE,
	.open = heki_stream_open_fn,
	.release = heki_stream_release,
	.read = heki_stream_read,
	.poll = heki_stream_poll,
	.llseek = no_llseek,
};

/* The last records of every VM's log, oldest VM first, read or not. */
static int heki_violations_show(struct seq_file *m, void *unused)
{
	char line[HEKI_LOG_LINE_MAX];
	struct heki_vlog *v;

	spin_lock(&heki_vlogs_lock);
	list_for_each_entry(v, &heki_vlogs, node) {
		u64 seq;

		spin_lock(&v->lock);
		for (seq = heki_log_first(&v->log); seq < v->log.head; seq++) {
			heki_log_format(line, sizeof(line), heki_log_at(&v->log, seq),
					v->id, v->pid);
			seq_puts(m, line);
		}
		spin_unlock(&v->lock);
	}
	spin_unlock(&heki_vlogs_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heki_violations);

void heki_log_debugfs_init(struct dentry *dir)
{
	debugfs_create_file("violations", 0444, dir, NULL, &heki_violations_fops);
	debugfs_create_file("stream", 0400, dir, NULL, &heki_stream_fops);
}

void heki_log_exit(void)
{
	struct heki_vlog *v, *tmp;

	list_for_each_entry_safe(v, tmp, &heki_vlogs, node) {
		list_del(&v->node);
		heki_vlog_free(v);
	}
}
