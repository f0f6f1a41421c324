// SPDX-License-Identifier: GPL-2.0
/*
 * heki_testmod: a module the rig loads and unloads while the kernel is
 * protected and locked down.  Its text and rodata must get protected once
 * the loader makes them read-only (heki.ko's debugfs "module_check" tries
 * to write them), and released when it unloads.
 */
#include <linux/module.h>

static const char heki_testmod_banner[] = "heki_testmod: read-only data";

static noinline int heki_testmod_fn(int x)
{
	return 3 * x + 1;
}

static int __init heki_testmod_init(void)
{
	pr_info("%s, fn(1)=%d\n", heki_testmod_banner, heki_testmod_fn(1));
	return 0;
}

static void __exit heki_testmod_exit(void)
{
}

module_init(heki_testmod_init);
module_exit(heki_testmod_exit);
MODULE_DESCRIPTION("Heki rig: a module to load and unload under lockdown");
MODULE_LICENSE("GPL");
