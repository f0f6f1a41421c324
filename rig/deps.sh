#!/bin/sh
# make deps: install the Debian packages the testbed needs, resolve the
# current Debian 6.1 kernel ABI, fetch that kernel's image, headers and
# source together, and extract only what the build uses into $BUILD.
# Idempotent: a second run with everything present only re-checks.
set -eu

BUILD=${1:?usage: deps.sh BUILD_DIR}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
else
	SUDO=sudo
	echo "deps: not root, using sudo for apt-get"
fi
export DEBIAN_FRONTEND=noninteractive

log() { echo "deps: $*"; }

# gnuplot-nox draws the charts (heki-plot); chromium is only for the plots
# test, which renders the page headless (and skips without it).  L0=bochs
# (the Intel rig): bochs with its BIOS images, and GRUB's CD maker with
# xorriso and mtools (rig/mkiso.sh; mtools also writes the per-run floppy).
PKGS="qemu-system-x86 busybox-static gnuplot-nox libpfm4-dev cpio kmod
      gcc make libc6-dev bc flex bison libelf-dev libssl-dev xz-utils
      ca-certificates chromium
      bochs bochsbios vgabios grub-pc-bin grub-common xorriso mtools"

log "apt-get update"
$SUDO apt-get update -qq

# The ABI is whatever linux-image-amd64 points at today: Debian drops old
# ABIs from the archive, so never pin one.
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^  Depends: \(linux-image-6\.1\.[0-9]*-[0-9]*-amd64\)$/\1/p' | head -n1)
[ -n "$KPKG" ] || { echo "deps: cannot resolve linux-image-amd64's kernel package" >&2; exit 1; }
KVER=${KPKG#linux-image-}
KPKGVER=$(apt-cache policy "$KPKG" | sed -n 's/^  Candidate: //p')
SRCVER=$(apt-cache policy linux-source-6.1 | sed -n 's/^  Candidate: //p')
log "resolved kernel $KVER (package $KPKG $KPKGVER), linux-source-6.1 $SRCVER"
if [ "$KPKGVER" != "$SRCVER" ]; then
	echo "deps: $KPKG is $KPKGVER but linux-source-6.1 is $SRCVER; the KVM modules must come from the same source as the kernel" >&2
	exit 1
fi

log "apt-get install $(echo $PKGS) linux-headers-$KVER linux-source-6.1"
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS \
	"linux-headers-$KVER" "linux-source-6.1=$SRCVER" >"$BUILD/apt-install.log" 2>&1 || {
	tail -n 30 "$BUILD/apt-install.log" >&2
	exit 1
}

# Kernel image: downloaded and unpacked, never installed on this machine.
KDIR="$BUILD/kernel/$KVER"
if [ ! -f "$KDIR/boot/vmlinuz-$KVER" ]; then
	log "downloading $KPKG $KPKGVER"
	tmp=$(mktemp -d)
	chmod 0777 "$tmp"
	(cd "$tmp" && apt-get download -q "$KPKG=$KPKGVER" >/dev/null 2>&1) || {
		echo "deps: apt-get download $KPKG=$KPKGVER failed" >&2; exit 1; }
	rm -rf "$KDIR"
	mkdir -p "$KDIR"
	dpkg-deb -x "$tmp"/"$KPKG"_*.deb "$KDIR"
	rm -rf "$tmp"
fi

# Only the parts of linux-source the build needs.
SRC="$BUILD/linux-source/$SRCVER"
# The stamp names the set: a set that grows is extracted again.
if [ ! -f "$SRC/.extracted-2" ]; then
	log "extracting arch/x86/kvm, virt/kvm, the x86 instruction decoder and the kselftest harness from linux-source-6.1"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar -xf /usr/src/linux-source-6.1.tar.xz -C "$SRC" --strip-components=1 \
		linux-source-6.1/arch/x86/kvm linux-source-6.1/virt/kvm \
		linux-source-6.1/arch/x86/lib/insn.c linux-source-6.1/arch/x86/lib/inat.c \
		linux-source-6.1/arch/x86/lib/x86-opcode-map.txt \
		linux-source-6.1/arch/x86/tools/gen-insn-attr-x86.awk \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	touch "$SRC/.extracted-2"
fi

HDRS=/usr/src/linux-headers-$KVER
[ -f "$HDRS/Module.symvers" ] || { echo "deps: $HDRS is incomplete" >&2; exit 1; }

# What the Makefile reads back; written last so a failed run leaves no stamp.
cat >"$BUILD/deps.mk.tmp" <<EOF
# written by rig/deps.sh; do not edit
KVER := $KVER
KPKGVER := $KPKGVER
KSRC := $SRC
KHDRS := $HDRS
KIMAGE := $KDIR/boot/vmlinuz-$KVER
KMODS := $KDIR/lib/modules/$KVER
EOF
mv "$BUILD/deps.mk.tmp" "$BUILD/deps.mk"
log "ok: kernel $KVER, headers $HDRS, source $SRC"
