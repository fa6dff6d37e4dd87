#!/usr/bin/env bash
# test-repair.sh — repair between losses, with real daemons (built once
# without the race detector, on 127.0.0.1 only, in a temporary folder that a
# trap removes):
#
#   1. the member's node and eight storage nodes in four zones, 4+2, a short
#      repair grace (REPAIR_GRACE, default 20s);
#   2. a backup of a generated tree;
#   3. two storage nodes stop for good; within the grace plus 60 s, `check` on
#      the member's node finds every stripe healthy, and `status` on every
#      surviving storage node counts its stripes healthy with an empty repair
#      queue;
#   4. two more storage nodes stop; restore latest with the recovery key gives
#      the same tree byte for byte.
#
# Usage: scripts/test-repair.sh (from the repository's root). REPAIR_SIZE sets
# the data set (default 20MiB); REPAIR_KEEP=1 keeps the folder. Waits scale
# with RESPALDO_TEST_TIMESCALE. .ci/run runs it (about 100 s).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-mesh.sh

SIZE="${REPAIR_SIZE:-20MiB}"
GRACE="${REPAIR_GRACE:-20s}"
grace_s=${GRACE%s}
mesh_test_init repair REPAIR_KEEP

MEMBER=1
STORAGE=(2 3 4 5 6 7 8 9)
KEY="$ROOT/node$MEMBER.recovery-key"

summary() { mesh_summary "data set $SIZE, grace $GRACE"; }
MESH_ON_DIE=summary

# --- 1. the mesh -------------------------------------------------------------
t=$SECONDS
mesh_build_tools || die "go build of respaldo or gen-data failed"
timed "build respaldo and gen-data" $((SECONDS - t))
t=$SECONDS
mesh_create "$MEMBER" home --repair-grace "$GRACE" || die "the member's node did not start: $(tail -n 3 "$ROOT/node$MEMBER.log" 2>/dev/null)"
for i in "${STORAGE[@]}"; do
	mesh_join "$i" "zone$(((i - 2) % 4 + 1))" --repair-grace "$GRACE" ||
		die "storage node $i did not join: $(tail -n 3 "$ROOT/node$i.log" 2>/dev/null)"
done
limit=$(mesh_scaled 30)
deadline=$((SECONDS + limit))
for i in "$MEMBER" "${STORAGE[@]}"; do
	while [ "$(online "$i")" -lt ${#STORAGE[@]} ]; do
		[ "$SECONDS" -le "$deadline" ] || die "node $i counts $(online "$i") peers live after ${limit}s"
		sleep 0.5
	done
done
pass "the member's node and eight storage nodes in four zones, all live ($((SECONDS - t))s)"
timed "mesh up (9 daemons)" $((SECONDS - t))

# --- 2. a backup ---------------------------------------------------------------
SRC="$ROOT/source/data"
gen=$("$ROOT/gen-data" -out "$SRC" -size "$SIZE" -seed 11) || die "gen-data: $gen"
t=$SECONDS
out=$(rsp_long "$MEMBER" backup "$SRC" --json 2>"$ROOT/backup.err") || die "backup: $(tail -n 3 "$ROOT/backup.err")"
res=$(tail -n 1 <<<"$out")
[ "$(jnum tolerates_losses "$res")" = 2 ] || die "backup: tolerates_losses is not 2: $res"
pass "backup: $(jnum files "$res") files, $(jnum bytes "$res") bytes, tolerates_losses 2"
timed "backup" $((SECONDS - t))
chk=$(rsp "$MEMBER" check --json) || die "check after the backup failed"
stripes=$(jnum stripes "$chk")
[ "$(jnum healthy "$chk")" = "$stripes" ] && [ "$stripes" -gt 0 ] || die "check after the backup: $chk"
pass "check after the backup: $stripes stripes, all healthy"

# --- 3. two storage nodes go; repair --------------------------------------------
LOST=(2 3) # zone1 and zone2
t=$SECONDS
for i in "${LOST[@]}"; do mesh_stop_node "$i" || true; done
pass "stopped storage nodes ${LOST[*]}"
SURVIVORS=(4 5 6 7 8 9)
# statuses_ok: every survivor counts its stripes healthy, queue empty.
statuses_ok() {
	local i st
	for i in "${SURVIVORS[@]}"; do
		st=$(rsp "$i" status --json 2>/dev/null) || return 1
		[ "$(jnum degraded "$st")" = 0 ] && [ "$(jnum at_risk "$st")" = 0 ] && [ "$(jnum lost "$st")" = 0 ] &&
			[ "$(jnum repair_queue "$st")" = 0 ] && [ "$(jnum healthy "$st")" -gt 0 ] || return 1
	done
}
limit=$(mesh_scaled $((grace_s + 60)))
deadline=$((SECONDS + limit))
healed=""
while [ "$SECONDS" -le "$deadline" ]; do
	if statuses_ok; then
		healed=$((SECONDS - t))
		break
	fi
	sleep 1
done
if [ -n "$healed" ]; then
	pass "status on the six survivors: their stripes all healthy, repair queue empty, ${healed}s after two storage nodes stopped (grace $GRACE)"
	timed "repair of two lost nodes (grace $GRACE)" "$healed"
else
	fail "survivors not all healthy within ${limit}s"
	for i in "${SURVIVORS[@]}"; do note "node $i: $(rsp "$i" status --json 2>/dev/null | tr -d '\n ')"; done
fi
# check on the member's node. Repair cannot know a stripe's owner, so it may
# put a rebuilt shard on the member's own node (a storage node here); check
# asks its own node too (node/check.go).
chk=""
while [ "$SECONDS" -le "$deadline" ]; do
	chk=$(rsp "$MEMBER" check --json 2>/dev/null) || chk=""
	[ -n "$chk" ] && [ "$(jnum healthy "$chk")" = "$stripes" ] && break
	sleep 1
done
own=$(jnum shards "$(rsp "$MEMBER" status --json 2>/dev/null)")
if [ -n "$chk" ] && [ "$(jnum healthy "$chk")" = "$stripes" ]; then
	pass "check on the member's node: all $stripes stripes healthy $((SECONDS - t))s after the stop (${own:-0} rebuilt shards on the member's own node)"
else
	fail "check on the member's node within ${limit}s: $(tr -d '\n ' <<<"$chk")"
fi
for i in "${SURVIVORS[@]}"; do
	st=$(rsp "$i" status --json 2>/dev/null | tr -d '\n ')
	note "node $i: $(grep -o '"stripes":{[^}]*}' <<<"$st"), shards $(jnum shards "$st"), tolerates $(jnum tolerates_losses "$st")"
done

# --- 4. two more go; restore ---------------------------------------------------
for i in 4 5; do mesh_stop_node "$i" || true; done
pass "stopped storage nodes 4 5: four of the eight remain"
t=$SECONDS
R="$ROOT/restore"
if out=$(rsp_long "$MEMBER" restore latest --target "$R" --recovery-key-file "$KEY" --json 2>"$ROOT/restore.err"); then
	pass "restore latest after four losses (repair between): $(jnum files "$out") files in $(jnum duration_s "$out")s"
	if cmp_out=$("$ROOT/gen-data" -compare "$SRC" "$R/$(basename "$SRC")" 2>&1); then
		pass "restored tree = source: $(tail -n 1 <<<"$cmp_out" | sed "s|$ROOT/||g")"
	else
		fail "the restored tree differs: $(tail -n 5 <<<"$cmp_out")"
	fi
else
	fail "restore after four losses: $(tail -n 3 "$ROOT/restore.err")"
fi
timed "restore with 4 of 8 storage nodes down" $((SECONDS - t))
summary
[ "$failed" = 0 ]
