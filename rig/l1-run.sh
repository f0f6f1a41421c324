#!/bin/sh
# The L1 (host) job: load our KVM, report it, run the L2 guest (and a second,
# tiny VM beside it), forward the host's violation log as it happens, report
# the host's Heki counters afterwards.  Runs as L1's init (l1-init) or, with
# L0=none, directly on a bare-metal host (rigrun sets the same variables).
#
# In: HEKI_RESULTS HEKI_SEQ L2_CONSOLE L2_RESULTS KMOD_DIR QEMU L2_KERNEL
#     L2_INITRD HEKI_SUITE HEKI_SMP HEKI_MEM HEKI_ICOUNT; HEKI_REPLACE_KVM=1
#     unloads a loaded kvm first (bare metal); HEKI_FEP=0 keeps KVM's forced
#     emulation prefix off (the emulated-write check then skips).
emit() { heki-emit l1 "$@"; }
# On failure the kernel's last words go to the console log for the user.
fail() { emit fail "$@"; dmesg | tail -n 25; exit 1; }

# Count only what this job's run adds (a bare-metal host may have old ones).
warn_pattern='WARNING:|BUG:|Oops'
warnings_before=$(dmesg | grep -c -E "$warn_pattern")

emit stage l1-up
emit kv env.kernel="$(uname -r)"
emit kv env.cpu="$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
emit kv env.cpus="$(grep -c ^processor /proc/cpuinfo)"
virt=none
grep -qw svm /proc/cpuinfo && virt=svm
grep -qw vmx /proc/cpuinfo && virt=vmx
emit kv env.virt=$virt
[ $virt != none ] || fail kvm-load "the L1 CPU has neither svm nor vmx, KVM cannot run a guest"

if [ "${HEKI_REPLACE_KVM:-0}" = 1 ]; then
	for m in kvm_amd kvm_intel kvm; do
		[ -d /sys/module/$m ] && { rmmod $m || fail kvm-load "cannot unload the running $m (VMs still running?)"; }
	done
fi
# Our KVM: kvm.ko with parameters "$@", then this CPU's vendor module.
load_kvm() {
	for ko in $(cat "$KMOD_DIR"/load-order); do
		case $ko in
		kvm-amd.ko) [ $virt = svm ] || continue ;;
		kvm-intel.ko) [ $virt = vmx ] || continue ;;
		esac
		name=$(basename "$ko" .ko | tr - _)
		[ -d /sys/module/"$name" ] && continue
		args=
		[ "$ko" = kvm.ko ] && args="$*"
		# shellcheck disable=SC2086
		insmod "$KMOD_DIR/$ko" $args || { echo "insmod $ko failed: $(dmesg | tail -n 1)"; return 1; }
	done
}
unload_kvm() {
	for m in kvm_amd kvm_intel kvm; do
		[ -d /sys/module/$m ] && { rmmod $m || return 1; }
	done
	return 0
}
err=$(load_kvm) || fail kvm-load "$err"
# devtmpfs creates the node asynchronously.
i=0
while [ ! -c /dev/kvm ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -c /dev/kvm ] || fail kvm-load "/dev/kvm is missing after loading KVM"
[ -r /sys/kernel/debug/heki/status ] ||
	fail kvm-load "the loaded kvm.ko has no Heki (no /sys/kernel/debug/heki/status)"
# Test hook: lets a guest ask KVM to emulate one instruction (prefix
# ud2;"kvm"), so the rig can prove that writes KVM's emulator makes are
# checked too.  It changes nothing for guests that never use the prefix.
[ "${HEKI_FEP:-1}" = 1 ] && echo 1 >/sys/module/kvm/parameters/force_emulation_prefix
# Test hook: the host waits this long inside two race windows (lockdown;
# a second-stage fault whose vCPU asks for it in R12), so the race tests
# (inject's huge_map_race, smoke's lockdown_window_race) land in them every
# time under an emulator.  0 turns it off.
echo "${HEKI_TEST_DELAY_US:-500000}" >/sys/module/kvm/parameters/heki_test_delay_us
heki-emit -p host. l1 kv-lines </sys/kernel/debug/heki/status
# The host's violation log, one record per refused guest action, to L0 as
# it is logged (host/ABI.md, heki/stream).
heki-logfwd /sys/kernel/debug/heki/stream &
logfwd=$!
i=0
until grep -q '^log_stream_open 1' /sys/kernel/debug/heki/status || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q '^log_stream_open 1' /sys/kernel/debug/heki/status ||
	fail kvm-load "heki-logfwd did not open /sys/kernel/debug/heki/stream"
emit stage kvm-loaded

# A second VM beside L2: one record before L2 runs, one after (heki-minivm).
heki-minivm 0x5ec0d0b1 >/tmp/minivm.out 2>&1 &
minivm=$!
i=0
until grep -q report= /tmp/minivm.out || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done

# The host as a VMM meets it (heki-minivm checks): dirty logging (migration)
# of protected frames, KVM's refused writes counted, authentication refused
# while a window is held, views.
out=$(heki-minivm checks 2>&1)
rc=$?
emit kv l1.host_checks="$(echo "$out" | tr '\n' ';') exit=$rc"

# Two work-arounds for an L1 that runs under L0 TCG; on real hardware L2 gets
# the host CPU unchanged:
# - the XSAVE size CPUID reports to L2 does not follow L2's XCR0, and L2's
#   kernel warns at boot ("XSAVE consistency problem"): L2 uses FXSAVE;
# - with 2 vCPUs, L2 hangs (icount) or resets (MTTCG, intermittently) at
#   boot while KVM async page faults and steal time are on (bisected over
#   the kvm-* CPU flags); with them off it boots reliably under MTTCG.
# Neither feature matters to what the rig measures.
l2_cpu=host
case $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1) in
*"QEMU TCG CPU"*) l2_cpu=host,xsave=off,kvm-asyncpf=off,kvm-asyncpf-int=off,kvm-steal-time=off ;;
esac
# Overrides from the user (rigrun --l2-cpu / --l2-append; ',' stands for ' ').
[ -n "${HEKI_L2CPU:-}" ] && l2_cpu=$HEKI_L2CPU
# loglevel=4: L2's console carries warnings and worse (oopses, panics) but
# not its boot chatter, which L1 would relay byte by byte through an
# emulated UART (under TCG, interrupt load on L1 is what exposes the
# emulator's nested-SVM races).
# Lockup and RCU stall detectors at 60 s, as in L1 (rigrun.c's
# GUEST_WATCHDOGS): a starved vCPU thread is not a hung guest.
append="console=ttyS0,115200 loglevel=4 panic=-1 watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=60 heki.suite=${HEKI_SUITE:-smoke} heki.modes=${HEKI_MODES:-hypercall} heki.icount=${HEKI_ICOUNT:-0}${HEKI_FAULT:+ heki.fault=$HEKI_FAULT} $(echo "${HEKI_L2APPEND:-}" | tr , ' ')"
# A guest reset ends the run (a crash shows), except where the scenario reboots on purpose.
reboot=-no-reboot
[ "${HEKI_FAULT:-}" = reboot-once ] && reboot=
# L2's QEMU monitor, for the migration scenario: commands in, answers out.
mkfifo /tmp/l2mon.in /tmp/l2mon.out
$QEMU -enable-kvm -cpu "$l2_cpu" -M pc -smp "${HEKI_SMP:-2}" -m "${HEKI_MEM:-512}" \
	-nodefaults -display none $reboot \
	-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$append" \
	-serial "$L2_CONSOLE" -serial "$L2_RESULTS" -monitor pipe:/tmp/l2mon &
l2=$!
# The host's records name their VM by its VMM's pid: this one is L2's.
emit kv l1.l2_qemu_pid=$l2
cat /tmp/l2mon.out >/tmp/l2mon.log &
mon=$!

# migrate-locked: once L2 has locked down, its VMM migrates it (live, to
# nowhere), as an operator would; the VM goes on at the source after a
# completed migration.  The host must not let Heki state leave silently
# (host/ABI.md, "Migration").
migrate_locked() {
	until grep -q "^vm_${l2}_locked 1" /sys/kernel/debug/heki/status; do
		kill -0 $l2 2>/dev/null || return
		sleep 0.5
	done
	exec 3>/tmp/l2mon.in
	# Converges whatever L2 dirties meanwhile (the suite goes on).
	echo 'migrate_set_parameter downtime-limit 60000' >&3
	echo 'migrate "exec:cat >/dev/null"' >&3
	i=0
	until grep -q -E 'Migration status: (completed|failed|cancelled)' /tmp/l2mon.log; do
		if ! kill -0 $l2 2>/dev/null; then
			emit kv l1.migrate="vmm-ended during migration"
			return
		fi
		[ $i -ge 600 ] && { emit kv l1.migrate="no outcome after 300 s"; return; }
		echo 'info migrate' >&3
		sleep 0.5
		i=$((i + 1))
	done
	status=$(grep -o -E 'Migration status: [a-z]+' /tmp/l2mon.log | tail -n 1)
	emit kv l1.migrate="${status#Migration status: } locked_before=1"
	# A migration that completed stops the source: it goes on here.
	echo cont >&3
}
migrator=
if [ "${HEKI_FAULT:-}" = migrate-locked ]; then
	migrate_locked &
	migrator=$!
fi
wait $l2
emit kv l1.qemu_exit=$?
[ -n "$migrator" ] && wait $migrator
kill $mon 2>/dev/null

kill -USR1 $minivm
wait $minivm
rc=$?
emit kv l1.minivm="$(cat /tmp/minivm.out) exit=$rc"
heki-emit -p host_after. l1 kv-lines </sys/kernel/debug/heki/status
# Both VMs have ended: the forwarder sends what is left and each VM's final
# "log" line (vmlog.<id>), then stops.
kill -TERM $logfwd
wait $logfwd
emit kv l1.logfwd_exit=$?
# Views need the TDP MMU (host/ABI.md): with kvm.tdp_mmu=0 the host must
# refuse them.  Every VM has ended; KVM is loaded as before afterwards.
if unload_kvm && load_kvm tdp_mmu=0 >/dev/null; then
	out=$(heki-minivm views 2>&1)
	rc=$?
	emit kv l1.views_tdp_mmu_off="$(cat /sys/module/kvm/parameters/tdp_mmu) $out exit=$rc"
	unload_kvm && load_kvm >/dev/null
else
	emit kv l1.views_tdp_mmu_off="cannot reload kvm.ko: $(dmesg | tail -n 1)"
fi
emit kv l1.kernel_warnings="$(( $(dmesg | grep -c -E "$warn_pattern") - warnings_before ))"
emit stage l1-done
