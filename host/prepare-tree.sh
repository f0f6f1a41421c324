#!/bin/sh
# Lays out the KVM build tree: Debian's arch/x86/kvm and virt/kvm (pristine,
# from the extracted linux-source), our hook patches applied, our host/
# sources linked in as arch/x86/kvm/heki/, and a Kbuild derived from
# Debian's Makefile so the tree builds out of tree against the headers.
#
#   prepare-tree.sh KSRC TREE PATCH...
set -eu

ksrc=$1 tree=$2
shift 2
host=$(cd "$(dirname "$0")" && pwd)

rm -rf "$tree"
mkdir -p "$tree"/arch/x86 "$tree"/virt "$tree"/trace/include
cp -a "$ksrc"/arch/x86/kvm "$tree"/arch/x86/kvm
cp -a "$ksrc"/virt/kvm "$tree"/virt/kvm

for p in "$@"; do
	echo "  PATCH   $(basename "$p")"
	patch -s -p1 -d "$tree" --no-backup-if-mismatch <"$p"
done

kvm="$tree"/arch/x86/kvm
mkdir -p "$kvm"/heki

# The kernel's own x86 instruction decoder, for the host's INT3 placement
# check (heki_patch.c): a private copy in kvm.ko, its opcode tables
# generated the way arch/x86/lib/Makefile does.
mkdir -p "$kvm"/heki-insn
cp "$ksrc"/arch/x86/lib/insn.c "$ksrc"/arch/x86/lib/inat.c "$kvm"/heki-insn/
${AWK:-awk} -f "$ksrc"/arch/x86/tools/gen-insn-attr-x86.awk \
	"$ksrc"/arch/x86/lib/x86-opcode-map.txt >"$kvm"/heki-insn/inat-tables.c
for f in "$host"/*.c "$host"/*.h; do
	ln -sf "$f" "$kvm"/heki/
done

# Debian's Makefile includes virt/kvm and arch/x86/kvm through $(srctree),
# which is the headers package here: point both at this tree instead.
# trace.h's TRACE_INCLUDE_PATH is ../../arch/x86/kvm relative to an include
# directory, hence trace/include.
sed -e 's|\$(srctree)/virt/kvm|$(src)/../../../virt/kvm|' \
    -e 's|-I \$(srctree)/arch/x86/kvm|-I $(src) -I $(src)/../../../trace/include|' \
    "$kvm"/Makefile >"$kvm"/Kbuild
grep -q 'src)/../../../virt/kvm' "$kvm"/Kbuild ||
	{ echo "prepare-tree: Debian's arch/x86/kvm/Makefile changed shape" >&2; exit 1; }
cat >>"$kvm"/Kbuild <<'KBUILD'

# Heki host (host/ in the testbed).  Our own files must build warning-free.
kvm-y += heki/heki_host.o heki/heki_store.o heki/heki_log.o heki/heki_log_kvm.o heki-insn/insn.o heki-insn/inat.o
CFLAGS_heki/heki_host.o += -Werror
CFLAGS_heki/heki_store.o += -Werror
CFLAGS_heki/heki_log.o += -Werror
CFLAGS_heki/heki_log_kvm.o += -Werror
# EPTP switching (HEKI_HC_VMFUNC) and CR0 pin interception are Intel-only:
# they live in kvm-intel.ko.
kvm-intel-y += heki/heki_vmfunc.o heki/heki_vmx.o
CFLAGS_heki/heki_vmfunc.o += -Werror
CFLAGS_heki/heki_vmx.o += -Werror
KBUILD
touch "$tree"/.prepared
