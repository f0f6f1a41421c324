// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM modules as built: the VMFUNC code is in kvm-intel.ko (it cannot
 * run on the TCG rig, which emulates AMD SVM, so building it is what this
 * machine can check), kvm.ko exports what it calls, and kvm-amd.ko has
 * none of it.  $KVM_DIR (default build/kvm/arch/x86/kvm) holds the .ko
 * files; without them the tests skip, saying so.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

static char *slurp_ko(const char *name, size_t *len)
{
	const char *dir = getenv("KVM_DIR") ? getenv("KVM_DIR") : "build/kvm/arch/x86/kvm";
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n > 0 ? n : 1);
	if (!buf || fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* A NUL-terminated name in the module's string tables. */
static int has_symbol(const char *ko, size_t len, const char *sym)
{
	size_t n = strlen(sym) + 1;

	for (const char *p = ko; (p = memmem(p, len - (p - ko), sym, n)); p++)
		if (p == ko || p[-1] == '\0')
			return 1;
	return 0;
}

TEST(kvm_intel_has_the_vmfunc_code)
{
	static const char *const syms[] = {
		"heki_vmfunc_init", "heki_vmfunc_handle_exit", "heki_vmfunc_pre_entry",
		"heki_vmfunc_load_pgd", "heki_vmfunc_vcpu_free", "heki_vmfunc_register",
		"heki_vcpu_view_seen",
	};
	size_t len;
	char *ko = slurp_ko("kvm-intel.ko", &len);

	if (!ko)
		SKIP(return, "kvm-intel.ko not built (make builds it)");
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		EXPECT_TRUE(has_symbol(ko, len, syms[i])) TH_LOG("no %s in kvm-intel.ko", syms[i]);
	}
	free(ko);
}

TEST(kvm_exports_what_vmfunc_calls)
{
	static const char *const syms[] = {
		"__ksymtab_heki_vmfunc_register", "__ksymtab_heki_vcpu_view_seen",
		"__ksymtab_kvm_mmu_load", "__ksymtab_kvm_tdp_mmu_put_root",
	};
	size_t len;
	char *ko = slurp_ko("kvm.ko", &len);

	if (!ko)
		SKIP(return, "kvm.ko not built (make builds it)");
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		EXPECT_TRUE(has_symbol(ko, len, syms[i])) TH_LOG("no %s in kvm.ko", syms[i]);
	}
	free(ko);
}

TEST(kvm_amd_has_no_vmfunc)
{
	size_t len;
	char *ko = slurp_ko("kvm-amd.ko", &len);

	if (!ko)
		SKIP(return, "kvm-amd.ko not built (make builds it)");
	EXPECT_FALSE(has_symbol(ko, len, "heki_vmfunc_init"));
	EXPECT_TRUE(has_symbol(ko, len, "svm_vcpu_run"));	/* the search works */
	free(ko);
}

TEST_HARNESS_MAIN
