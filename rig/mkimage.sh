#!/bin/sh
# Packs the rig's initramfs images (thin orchestration; no logic beyond
# copying files and resolving module and library dependencies).
#
#   mkimage.sh l2 OUT STAGE BIN_DIR GUEST_KO...
#	L2 (guest): busybox, the Heki guest module(s), heki-emit, heki-suite.
#   mkimage.sh l1 OUT STAGE BIN_DIR KVM_DIR KMODS L2_KERNEL L2_IMAGE
#	L1 (host): busybox, our kvm*.ko and their dependencies from the
#	Debian image (KMODS = its lib/modules/<ver>), QEMU with its libraries
#	and firmware, and the L2 kernel and image.
set -eu

RIG=$(cd "$(dirname "$0")" && pwd)
kind=$1 out=$2 stage=$3 bin=$4
shift 4

rm -rf "$stage"
mkdir -p "$stage"/bin "$stage"/sbin "$stage"/proc "$stage"/sys "$stage"/dev \
	"$stage"/tmp "$stage"/etc "$stage"/lib/modules "$stage"/rig

cp /bin/busybox "$stage"/bin/busybox
for app in $(/bin/busybox --list); do
	[ -e "$stage/bin/$app" ] || ln -s busybox "$stage/bin/$app"
done
install -m 0755 "$bin"/heki-emit "$bin"/heki-suite "$stage"/bin/

# Copies a dynamically linked program with the libraries it loads.
copy_with_libs() {
	mkdir -p "$stage$(dirname "$1")"
	cp -L "$1" "$stage$1"
	ldd "$1" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^\t\(\/[^ ]*\) .*/\1/p' |
	while read -r lib; do
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
}

case $kind in
l2)
	cp "$@" "$stage"/lib/modules/
	install -m 0755 "$RIG"/l2-init "$stage"/init
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
		gzip -1 >"$out.tmp"
	;;
l1)
	kvm_dir=$1 kmods=$2 l2_kernel=$3 l2_image=$4
	kdir="$stage"/lib/modules/heki
	mkdir -p "$kdir" "$stage"/boot
	: >"$kdir"/load-order
	# Depth-first over modinfo's depends, so each module follows its deps.
	add_module() {
		local name=$1 file=$2 dep f
		grep -qx "$name.ko" "$kdir"/load-order && return 0
		for dep in $(modinfo -F depends "$file" | tr ',' ' '); do
			if [ -f "$kvm_dir/$dep.ko" ] || [ -f "$kvm_dir/$(echo "$dep" | tr _ -).ko" ]; then
				f=$(ls "$kvm_dir/$dep.ko" "$kvm_dir/$(echo "$dep" | tr _ -).ko" 2>/dev/null | head -n1)
			else
				f=$(find "$kmods" \( -name "$dep.ko" -o -name "$(echo "$dep" | tr _ -).ko" \) | head -n1)
			fi
			[ -n "$f" ] || { echo "mkimage: module $dep (needed by $name) not found in $kmods" >&2; exit 1; }
			add_module "$(basename "$f" .ko)" "$f"
		done
		cp "$file" "$kdir/$name.ko"
		# Symbols stay (oopses name functions); DWARF is ~28 of the
		# image's ~97 MB, which every boot loads and unpacks.
		strip --strip-debug "$kdir/$name.ko"
		echo "$name.ko" >>"$kdir"/load-order
	}
	for m in kvm kvm-amd kvm-intel; do
		add_module "$m" "$kvm_dir/$m.ko"
	done

	qemu=$(command -v qemu-system-x86_64)
	copy_with_libs "$qemu"
	[ "$qemu" = /usr/bin/qemu-system-x86_64 ] ||
		ln -sf "$qemu" "$stage"/usr/bin/qemu-system-x86_64
	# Firmware QEMU loads for a -kernel boot of the pc machine, nothing more.
	mkdir -p "$stage"/usr/share/qemu "$stage"/usr/share/seabios
	cp -L /usr/share/seabios/bios-256k.bin "$stage"/usr/share/seabios/
	for fw in kvmvapic.bin linuxboot_dma.bin linuxboot.bin; do
		cp -L /usr/share/qemu/$fw "$stage"/usr/share/qemu/
	done

	cp "$l2_kernel" "$stage"/boot/vmlinuz-l2
	cp "$l2_image" "$stage"/boot/l2.cpio.gz
	install -m 0755 "$bin"/heki-logfwd "$bin"/heki-minivm "$stage"/bin/
	install -m 0755 "$RIG"/l1-init "$stage"/init
	install -m 0644 "$RIG"/l1-run.sh "$stage"/rig/l1-run.sh
	# Uncompressed: gunzip of ~100 MiB under TCG costs more than the copy.
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$out.tmp"
	;;
*)
	echo "mkimage: unknown image kind '$kind'" >&2
	exit 2
	;;
esac
mv "$out.tmp" "$out"
echo "mkimage: $out ($(du -h "$out" | cut -f1))"
