// SPDX-License-Identifier: GPL-2.0
/*
 * heki_testmod: a module the rig loads and unloads while the kernel is
 * protected and locked down.  Its text and rodata must get protected once
 * the loader makes them read-only (heki.ko's debugfs "module_check" tries
 * to write them), and released when it unloads.
 *
 * Two faults for the rig's own tests of its forensics (rig --fault), never
 * set otherwise: oops=1 oopses in this module's init (a NULL write), and
 * triple_fault=1 kills the vCPU with a triple fault: a #DE with an empty
 * IDT (#DE -> #GP -> #DF -> shutdown), at an address printed first.
 */
#include <linux/module.h>
#include <linux/irqflags.h>
#include <asm/desc.h>

static int oops;
module_param(oops, int, 0);
static int triple_fault;
module_param(triple_fault, int, 0);

static const char heki_testmod_banner[] = "heki_testmod: read-only data";

static noinline int heki_testmod_fn(int x)
{
	return 3 * x + 1;
}

/* The faulting div, labelled so its address can be printed before it runs. */
extern const char heki_testmod_tf_insn[];

static noinline void heki_testmod_triple_fault(void)
{
	struct desc_ptr empty = { .size = 0, .address = 0 };

	pr_emerg("heki_testmod: triple fault: div by zero at %px with an empty IDT\n",
		 heki_testmod_tf_insn);
	local_irq_disable();
	asm volatile("lidt %0\n\t"
		     "xor %%ecx, %%ecx\n\t"
		     ".globl heki_testmod_tf_insn\n"
		     "heki_testmod_tf_insn:\n\t"
		     "div %%ecx"
		     : : "m"(empty) : "eax", "ecx", "edx", "memory");
	/* Never here: the vCPU is dead. */
	local_irq_enable();
}

static noinline void heki_testmod_oops(void)
{
	pr_emerg("heki_testmod: oops: writing through NULL\n");
	*(volatile int *)NULL = 1;
}

static int __init heki_testmod_init(void)
{
	if (triple_fault)
		heki_testmod_triple_fault();
	if (oops)
		heki_testmod_oops();
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
