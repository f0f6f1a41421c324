#!/bin/sh
# Packs L1's kernel and initramfs into a bootable CD image for L0=bochs,
# which boots through its BIOS (thin orchestration around grub-mkrescue).
#
#   mkiso.sh OUT STAGE KERNEL L1_IMAGE
#
# GRUB (faster than isolinux at loading the ~100 MB initramfs through the
# BIOS) takes the run's kernel command line from heki.cfg on the floppy
# rigrun writes per run, so one image serves every run.
set -eu

out=$1 stage=$2 kernel=$3 initrd=$4
for tool in grub-mkrescue xorriso; do
	command -v $tool >/dev/null || {
		echo "mkiso: $tool is missing (packages grub-pc-bin, grub-common, xorriso, mtools: make deps)" >&2
		exit 1
	}
done
[ -d /usr/lib/grub/i386-pc ] || {
	echo "mkiso: /usr/lib/grub/i386-pc is missing (package grub-pc-bin: make deps)" >&2
	exit 1
}

rm -rf "$stage"
mkdir -p "$stage"/boot/grub
# Hard links where the file system allows: the images are large.
ln -f "$kernel" "$stage"/boot/vmlinuz 2>/dev/null || cp "$kernel" "$stage"/boot/vmlinuz
ln -f "$initrd" "$stage"/boot/l1.cpio 2>/dev/null || cp "$initrd" "$stage"/boot/l1.cpio
cat >"$stage"/boot/grub/grub.cfg <<'CFG'
# L0=bochs: the kernel command line comes from rigrun, per run.
set timeout=0
serial --unit=0 --speed=115200
terminal_output serial
insmod fat
insmod iorw
if ! source (fd0)/heki.cfg; then
	echo "heki-grub: no (fd0)/heki.cfg, the run's command line; halting"
	halt
fi
echo "heki-grub: loading the L1 kernel and initramfs"
# Marks in bochs-l0.log, whose lines start with the instruction count:
# each write to a spare port's FIFO control register (a UART the kernel
# sets up again later) logs "comN: FIFO enabled".  com2: loading the
# kernel starts; com3: the initramfs; com4: GRUB is done (decompression
# and the kernel follow).
outb 0x2fa 1
linux /boot/vmlinuz $heki_cmdline
outb 0x3ea 1
initrd /boot/l1.cpio
echo "heki-grub: booting L1"
outb 0x2ea 1
boot
CFG
grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out.tmp" "$stage" \
	--install-modules="linux normal iso9660 biosdisk fat serial echo configfile test halt iorw" \
	--fonts= --locales= --themes= >"$stage.log" 2>&1 || {
	cat "$stage.log" >&2
	exit 1
}
rm -rf "$stage" "$stage.log"
mv "$out.tmp" "$out"
echo "mkiso: $out ($(du -h "$out" | cut -f1))"
