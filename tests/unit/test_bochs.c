// SPDX-License-Identifier: GPL-2.0
/* L0=bochs (rig/bochs.c): the config Bochs runs with and GRUB's command line. */
#include <string.h>

#include "kselftest_harness.h"
#include "bochs.h"

static const struct bochs_cfg cfg = {
	.dir = "/r/run", .iso = "/b/l1-bochs.iso", .cmdline = "console=ttyS0,115200",
	.ports = { "console-l1.log", "console-l2.log", "results-l2.raw", "results-l1.raw" },
	.cpus = 2, .ips = 100000000, .mem_mb = 2048,
};

TEST(config_has_the_intel_model_and_deterministic_time)
{
	char buf[8192];

	ASSERT_LT(0, bochs_config(&cfg, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "cpu: model=corei7_skylake_x, count=2, ips=100000000,"));
	EXPECT_NE(NULL, strstr(buf, "clock: sync=none, time0=1767225600\n"));
	EXPECT_NE(NULL, strstr(buf, "memory: guest=2048, host=2048\n"));
	EXPECT_NE(NULL, strstr(buf, "ata0-master: type=cdrom, path=/b/l1-bochs.iso, status=inserted\n"));
	EXPECT_NE(NULL, strstr(buf, "floppya: 1_44=/r/run/boot-args.img, status=inserted\n"));
	EXPECT_NE(NULL, strstr(buf, "boot: cdrom\n"));
	/* No unknown-MSR line per VM entry from any CPU. */
	EXPECT_NE(NULL, strstr(buf, "error: action=report, cpu0=ignore, cpu1=ignore\n"));
	EXPECT_NE(NULL, strstr(buf, "panic: action=fatal\n"));
}

TEST(config_sends_the_four_ports_to_the_rig_files_in_order)
{
	char buf[8192];

	ASSERT_LT(0, bochs_config(&cfg, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "com1: enabled=1, mode=file, dev=/r/run/console-l1.log\n"));
	EXPECT_NE(NULL, strstr(buf, "com2: enabled=1, mode=file, dev=/r/run/console-l2.log\n"));
	EXPECT_NE(NULL, strstr(buf, "com3: enabled=1, mode=file, dev=/r/run/results-l2.raw\n"));
	EXPECT_NE(NULL, strstr(buf, "com4: enabled=1, mode=file, dev=/r/run/results-l1.raw\n"));
}

TEST(config_that_does_not_fit_is_refused)
{
	char buf[64];

	ASSERT_EQ(-1, bochs_config(&cfg, buf, sizeof(buf)));
}

TEST(grub_cfg_quotes_the_command_line)
{
	char buf[256];

	ASSERT_LT(0, bochs_grub_cfg("console=ttyS0,115200 heki.l2append=a,b $x", buf, sizeof(buf)));
	EXPECT_STREQ("set heki_cmdline='console=ttyS0,115200 heki.l2append=a,b $x'\n", buf);
}

TEST(grub_cfg_refuses_what_single_quotes_cannot_hold)
{
	char buf[256];

	EXPECT_EQ(-1, bochs_grub_cfg("a='b'", buf, sizeof(buf)));
	EXPECT_EQ(-1, bochs_grub_cfg("a\nb", buf, sizeof(buf)));
	EXPECT_EQ(-1, bochs_grub_cfg("console=ttyS0", buf, 8));
}

TEST_HARNESS_MAIN
