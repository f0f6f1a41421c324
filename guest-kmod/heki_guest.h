/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the files of the Heki guest module. */
#ifndef HEKI_GUEST_H
#define HEKI_GUEST_H

#include <linux/types.h>
#include <linux/seq_file.h>
#include "heki_abi.h"

extern u64 heki_host_features;	/* HEKI_FEAT_* from HEKI_HC_QUERY at load */
extern u32 heki_host_vendor;	/* HEKI_VENDOR_* from HEKI_HC_QUERY at load */
long heki_call(unsigned int nr, unsigned long a0, unsigned long a1,
	       unsigned long a2, unsigned long a3);
long heki_query(struct heki_info *info);
long heki_stats(struct heki_stats *st);
int heki_write_nofault(u64 *dst, u64 val);

/* Release a range (WRITE|EXEC); 0 or the host's error. */
static inline long heki_release(phys_addr_t pa, unsigned long npages)
{
	return heki_call(HEKI_HC_PROTECT, pa, npages,
			 HEKI_ATTR_WRITE | HEKI_ATTR_EXEC, 0);
}

/*
 * A self-check: a debugfs file whose every read runs the check and prints
 * "<name> ok|FAIL|skip <details>" lines the rig's suite judges.
 */
struct heki_selftest {
	const char *name;
	int (*show)(struct seq_file *m, void *unused);
};

extern const struct heki_selftest heki_selftests[];
int heki_fuzz_show(struct seq_file *m, void *unused);	/* heki_fuzz.c */

/* heki_kernel.c: protecting the running kernel. */
enum heki_hook { HOOK_LOAD, HOOK_TEXT_POKE, HOOK_SET_MEMORY, HOOK_VMAP, HOOK_FREE, HOOK_NR };

struct heki_guest_counters {
	s64 calls[HOOK_NR], hypercalls[HOOK_NR], errors[HOOK_NR];
	int windows_open;
	s64 pages_protected, pages_released;
};

int heki_kernel_init(void);
void heki_kernel_locked(void);
long heki_kernel_lockdown(void);	/* HEKI_HC_LOCKDOWN, authenticated if auth=1 */
bool heki_kernel_auth_active(void);
bool heki_kernel_vmfunc_on(void);	/* EPTP switching enabled on every CPU */
/* The x86-64 jump_entry (HAVE_ARCH_JUMP_LABEL_RELATIVE): offsets from the fields. */
struct heki_jump_entry {
	s32 code;
	s32 target;
	long key;		/* low 2 bits: branch, init */
};

static inline unsigned long heki_jump_code(const struct heki_jump_entry *e)
{
	return (unsigned long)&e->code + e->code;
}

static inline unsigned long heki_jump_target(const struct heki_jump_entry *e)
{
	return (unsigned long)&e->target + e->target;
}

/* heki_sites.c: the patch sites registered before lockdown */
int heki_sites_register(void);
bool heki_in_kernel_text(unsigned long addr, unsigned long len);
void heki_sites_counters(struct seq_file *m);
void heki_counters_snapshot(struct heki_guest_counters *c);
unsigned long heki_lookup(const char *name);	/* kallsyms; 0 if unknown */
int heki_kernel_write_show(struct seq_file *m, void *unused);
/* A write through a fresh writable alias: 1 refused, 0 landed (undone), -1 no alias. */
int heki_alias_write(unsigned long addr, unsigned long *gfn);
int heki_auth_show(struct seq_file *m, void *unused);	/* heki_authcheck.c */
unsigned int heki_sites_unexpected(void);
int heki_keeps_working_show(struct seq_file *m, void *unused);
int heki_module_check_show(struct seq_file *m, void *unused);
int heki_trace_target_show(struct seq_file *m, void *unused);

/* heki_fopcheck.c: f_op validation (parameter fop_check) */
int heki_fopcheck_init(void);
void heki_fopcheck_exit(void);
void heki_fopcheck_counters(struct seq_file *m);
/* heki_credcheck.c: cred validation (parameter cred_check) */
int heki_credcheck_init(void);
void heki_credcheck_exit(void);
void heki_credcheck_counters(struct seq_file *m);

/* heki_bench.c */
struct dentry;
void heki_bench_init(struct dentry *dir);
void heki_bench_exit(void);
void heki_kernel_exit(void);
bool heki_kernel_is_protected(void);
int heki_counters_show(struct seq_file *m, void *unused);
extern const unsigned int heki_nr_selftests;

/* heki_asm.S: code whose exact instructions and fault fixups the tests need. */
extern char heki_nx_target[];	/* page-aligned, alone in its page */
int heki_nx_call(void);		/* HEKI_NX_RAN, or HEKI_NX_FAULTED */
#define HEKI_NX_RAN	0x4e58
#define HEKI_NX_FAULTED	(-1)
/*
 * Stores val at *dst through KVM's instruction emulator (the forced
 * emulation prefix): 0 stored, 1 the store faulted, 2 the host does not
 * honour the prefix (kvm.force_emulation_prefix=0).  *ip is the store's
 * address.
 */
int heki_fep_write(u64 *dst, u64 val, unsigned long *ip);

#endif /* HEKI_GUEST_H */
