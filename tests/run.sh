#!/bin/sh
# make test's runner: runs each test command (each prints kselftest TAP),
# shows its output, and closes with the plain "N passed, N failed,
# N skipped" line summed from their "# Totals:" lines.  A command that ends
# without its totals line, or with a non-zero status and no failure
# counted, counts as one failure: a crash never passes silently.
set -u
pass=0 fail=0 skip=0
start=$(date +%s)
# CI stops a run at 90 minutes: rig scenarios that would start after
# TEST_BUDGET_MIN minutes skip, saying so, instead of losing the whole run
# (a loaded machine runs the TCG rig 4-5 times slower than an idle one).
# 0 turns the budget off.
budget=${TEST_BUDGET_MIN:-55}
[ "$budget" -gt 0 ] && export RIG_TEST_DEADLINE=$((start + budget * 60))
log=$(mktemp)
retries=$(mktemp)
trap 'rm -f "$log" "$log.rc" "$retries"' EXIT

for t in "$@"; do
	echo "# ==== $t"
	t0=$(date +%s)
	{ sh -c "$t" 2>&1; echo $? >"$log.rc"; } | tee "$log"
	rc=$(cat "$log.rc")
	now=$(date +%s)
	# Wall time per command, so a slow CI run shows where the time went.
	echo "# ==== took $((now - t0))s ($((now - start))s since make test started)"
	# Every retry a rig scenario took, with the signature that allowed it.
	grep '^# retry ' "$log" >>"$retries"
	totals=$(grep '^# Totals:' "$log" | tail -n 1)
	if [ -z "$totals" ]; then
		echo "not ok - $t ended (status $rc) without a totals line"
		fail=$((fail + 1))
		continue
	fi
	p=$(echo "$totals" | sed -n 's/.* pass:\([0-9]*\).*/\1/p')
	f=$(echo "$totals" | sed -n 's/.* fail:\([0-9]*\).*/\1/p')
	s=$(echo "$totals" | sed -n 's/.* skip:\([0-9]*\).*/\1/p')
	e=$(echo "$totals" | sed -n 's/.* error:\([0-9]*\).*/\1/p')
	pass=$((pass + p)) fail=$((fail + f + e)) skip=$((skip + s))
	if [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then
		echo "not ok - $t exited with status $rc"
		fail=$((fail + 1))
	fi
done
echo "# make test: $(grep -c . "$retries") rig run(s) retried (emulator signatures, rig/flakes.c)"
cat "$retries"
echo "# make test: $(($(date +%s) - start))s of wall time"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
