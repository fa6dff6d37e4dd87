#!/usr/bin/env bash
# test-crash.sh — crash safety and resumption, with real daemons (docs/crash.md).
#
# A member's node, six storage daemons and the member's second machine
# (built once without the race detector, 127.0.0.1 and TCP only, in a
# temporary folder that a trap removes). The member's node kills itself with
# SIGKILL at seeded crash points (RESPALDO_CRASH_AT=POINT:N,
# node/crashpoint.go) in backups and prunes, at least CRASH_RUNS (20) times.
# After each crash it is started again, and:
#
#   invariant  every snapshot that `snapshots --recovery-key-file` lists
#              restores (exit 0, the files and bytes the listing says),
#              `check` finds no stripe lost, and the second machine can list
#              (and restore) what the heads in the mesh name;
#   prunes     in a third of the iterations, two prunes prune_grace apart,
#              then the invariant again;
#   resumption `backup` of the same tree sends no more shard bytes
#              (respaldo_backup_shard_bytes_total on /metrics) than a backup
#              of the iteration's new data costs (measured once, without a
#              crash) minus the shard bytes of the stripes the crashed run
#              had recorded as put (its pending records), plus a small slack.
#
# Each iteration adds a new folder of incompressible files (about
# CRASH_DELTA_MIB MiB: two or three 8 MiB packs) and drops the previous one,
# so every backup has new data and old packs become garbage for prunes
# (forget --keep-last 2 --prune, prune_grace 2s).
#
#   bash scripts/test-crash.sh
#   CRASH_SEED=12345 bash scripts/test-crash.sh   # the seed printed by a run
#   CRASH_RUNS=40 CRASH_KEEP=1 bash scripts/test-crash.sh
#   CRASH_TCP=1 bash scripts/test-crash.sh        # listen on TCP only
#
# Time limits scale with RESPALDO_TEST_TIMESCALE (default 1; CI uses 3).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-mesh.sh
unset RESPALDO_DATA RESPALDO_RECOVERY_KEY_FILE RESPALDO_CRASH_AT

SEED="${CRASH_SEED:-$(( ($(date +%s) * 7919 + $$) % 1000000 ))}"
RUNS="${CRASH_RUNS:-20}"
MAX_ITER=$((RUNS + RUNS / 2 + 4))
BASE_SIZE="${CRASH_BASE:-8MiB}"
DELTA_MIB="${CRASH_DELTA_MIB:-20}"
KEEP=2
GRACE=2 # seconds: prune_grace
T0=$SECONDS

# TCP and QUIC, as every node listens; CRASH_TCP=1: TCP only (before
# node/connwatch.go, a QUIC connection to a killed process kept the restarted
# node out of the heartbeats for 30 s or more: docs/network.md).
if [ -n "${CRASH_TCP:-}" ]; then
	MESH_LISTEN=(--listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0)
fi

mesh_test_init crash CRASH_KEEP

MEMBER=1
STORAGE=(2 3 4 5 6 7)
VIEW=8 # the member's second machine (role client, the same recovery key): the mesh's view
MDIR=$(mesh_dir $MEMBER)
KEY="$ROOT/node$MEMBER.recovery-key"
SRC="$ROOT/src/data"

echo "seed $SEED (CRASH_SEED=$SEED bash scripts/test-crash.sh repeats this run)"
RANDOM=$SEED

LONG_LIMIT=$(mesh_scaled 180)
# rsp and rsp_long here speak to the member's node alone (lib-mesh.sh's
# take a node's number first).
rsp() { mesh_cli "$CMD_LIMIT" "$MEMBER" "$@"; }
rsp_long() { mesh_cli "$LONG_LIMIT" "$MEMBER" "$@"; }

MESH_DIE_NOTE="seed $SEED"

# --- the member's node --------------------------------------------------------

# forget_pid PID: drop a dead daemon from ROOT/pids (so that mesh_down never
# signals a reused PID).
forget_pid() {
	grep -vx "$1" "$ROOT/pids" >"$ROOT/pids.new" || true
	mv "$ROOT/pids.new" "$ROOT/pids"
	rm -f "$ROOT/node$MEMBER.pid"
}



# start_member [POINT:N]: run the member's node (armed with a crash point
# if given) and wait until it reaches the storage nodes.
start_member() {
	local at=${1:-} pid
	if [ -n "$at" ]; then
		echo "--- start, RESPALDO_CRASH_AT=$at" >>"$MDIR.log"
		RESPALDO_CRASH_AT=$at "$BIN" --data "$MDIR" node >>"$MDIR.log" 2>&1 </dev/null &
	else
		echo "--- start" >>"$MDIR.log"
		"$BIN" --data "$MDIR" node >>"$MDIR.log" 2>&1 </dev/null &
	fi
	pid=$!
	disown "$pid" # its death by SIGKILL is expected: no job report
	mesh_started $MEMBER $pid
	mesh_wait_api "$MDIR" 20 "$pid" || return 1
	wait_connected "$MEMBER" ${#STORAGE[@]} || { echo "the member's node has $(connected "$MEMBER") peers connected, $(online "$MEMBER") live, after $(mesh_scaled 30)s" >&2; return 1; }
}

stop_member() {
	[ -f "$ROOT/node$MEMBER.pid" ] || return 0
	mesh_stop_node $MEMBER || true
}

# dead_within SECONDS: whether the member's node has exited (and is reaped).
dead_within() {
	local pid deadline
	pid=$(mesh_pid $MEMBER)
	deadline=$((SECONDS + $(mesh_scaled "$1")))
	while kill -0 "$pid" 2>/dev/null; do
		[ "$SECONDS" -le "$deadline" ] || return 1
		sleep 0.1
	done
	{ wait "$pid"; } 2>/dev/null || true
	forget_pid "$pid"
}

# metric NAME: the member's node's counter NAME (GET /metrics, with the token).
metric() {
	local addr tok out
	addr=$(cat "$MDIR/api.addr") tok=$(cat "$MDIR/api.token")
	if command -v curl >/dev/null; then
		out=$(curl -sf --max-time 10 -H "Authorization: Bearer $tok" "http://$addr/metrics") || return 1
	else
		out=$(timeout 10 bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1##*:}"; printf "GET /metrics HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n" "$2" >&3; cat <&3' _ "$addr" "$tok") || return 1
	fi
	awk -v n="$1" '$1 == n { printf "%.0f\n", $2; found = 1 } END { exit !found }' <<<"$out"
}

# --- the tree -------------------------------------------------------------

# new_delta I: SRC/delta-I, incompressible files (gen-data's photos, seeded
# by the run's seed and I) and a few odd ones; the previous delta goes.
DELTA=""
new_delta() {
	local i=$1 tmp="$ROOT/gen-$1"
	"$ROOT/gen-data" -out "$tmp" -size "$((DELTA_MIB * 20 / 7))MiB" -seed "$((SEED * 1000 + i))" >/dev/null
	mkdir -p "$SRC/delta-$i"
	mv "$tmp/photos" "$tmp/odd" "$SRC/delta-$i/"
	rm -rf "$tmp"
	[ -z "$DELTA" ] || rm -rf "${SRC:?}/$DELTA"
	DELTA="delta-$i"
}

# --- one backup, measured -----------------------------------------------------

# measured_backup: a backup of SRC; sets SENT (shard bytes it sent), SNAP
# and BACKUP_OUT. Returns the CLI's exit status.
measured_backup() {
	local before after rc=0
	before=$(metric respaldo_backup_shard_bytes_total) || return 90
	BACKUP_OUT=$(rsp_long backup "$SRC" --json 2>"$ROOT/backup.err") || rc=$?
	[ "$rc" = 0 ] || return $rc
	after=$(metric respaldo_backup_shard_bytes_total) || return 91
	SENT=$((after - before))
	SNAP=$(jall snapshot_id "$(tail -n 1 <<<"$BACKUP_OUT")" | head -n 1)
}

# --- the invariant ----------------------------------------------------------

VERIFIED=0 # restores done

# deleting_since LINE: how many stripes the check logged after line LINE of
# the member's log skipped because a prune began deleting them (0 when it
# logged none).
deleting_since() {
	local n
	n=$(tail -n +$(($1 + 1)) "$MDIR.log" | grep 'msg="check: stripes a prune began deleting' | tail -n 1 | grep -o 'deleting=[0-9]*' | cut -d= -f2)
	echo "${n:-0}"
}

# invariant WHAT [finish]: every listed snapshot restores, check finds no
# stripe lost. With finish (after a crash in a prune's deletes), a stripe
# the crash left half-deleted (garbage: nothing lists it) is not checked
# (the node logs how many it skipped) until the next prune finishes deleting
# it; one prune must.
invariant() {
	local what=$1 finish=${2:-} list ids files bytes n i id out rc got_f got_b ck lost orphans=""
	list=$(rsp snapshots --recovery-key-file "$KEY" --json 2>&1) || { fail "$what: snapshots --recovery-key-file: $list"; return 1; }
	mapfile -t ids < <(jall id "$list")
	mapfile -t files < <(jall files "$list")
	mapfile -t bytes < <(jall bytes "$list")
	n=${#ids[@]}
	if [ "$n" = 0 ] || [ "${#files[@]}" != "$n" ] || [ "${#bytes[@]}" != "$n" ]; then
		fail "$what: snapshots lists $n snapshots (want at least one): $list"
		return 1
	fi
	for ((i = 0; i < n; i++)); do
		id=${ids[$i]}
		rm -rf "$ROOT/restore"
		rc=0
		out=$(rsp_long restore "$id" --target "$ROOT/restore" --recovery-key-file "$KEY" --json 2>&1) || rc=$?
		got_f=$(jnum files "$out") got_b=$(jnum bytes "$out")
		if [ "$rc" != 0 ]; then
			fail "$what: snapshot ${id:0:12} is listed and does not restore: exit $rc: $out"
			return 1
		fi
		if [ "$got_f" != "${files[$i]}" ] || [ "$got_b" != "${bytes[$i]}" ]; then
			fail "$what: snapshot ${id:0:12} restored $got_f files, $got_b bytes; the listing says ${files[$i]}, ${bytes[$i]}"
			return 1
		fi
		VERIFIED=$((VERIFIED + 1))
	done
	rm -rf "$ROOT/restore"
	local deleting mark
	mark=$(wc -l <"$MDIR.log")
	ck=$(rsp check --json 2>&1) || { fail "$what: check: $ck"; return 1; }
	deleting=$(deleting_since "$mark")
	lost=$(jnum lost "$ck")
	if [ "$lost" = 0 ] && [ "$deleting" != 0 ] && [ -n "$finish" ]; then
		local fin
		fin=$(rsp forget --keep-last 1000 --prune --recovery-key-file "$KEY" --json 2>&1) || { fail "$what: the prune after the crash: $fin"; return 1; }
		local done_line left
		done_line=$(grep 'msg="prune done"' "$MDIR.log" | tail -n 1 | sed 's/.*msg="prune done" node=[^ ]* //')
		mark=$(wc -l <"$MDIR.log")
		ck=$(rsp check --json 2>&1) || { fail "$what: check: $ck"; return 1; }
		left=$(deleting_since "$mark")
		lost=$(jnum lost "$ck")
		note "check skipped $deleting stripe(s) a crash left half-deleted; after one prune ($done_line): $left"
		if [ "$left" != 0 ]; then
			fail "$what: one prune did not finish the stripes a crash left half-deleted: $left left"
			return 1
		fi
		FINISHED=$((FINISHED + deleting))
	elif [ "$deleting" != 0 ] && [ -z "$finish" ]; then
		note "$what: check skipped $deleting stripe(s) a prune began deleting"
	fi
	if [ "$lost" != 0 ]; then
		fail "$what: check finds $lost stripes lost: $(tr -d ' \n' <<<"$ck")"
		return 1
	fi
	# What the node's writer lists without the key and no head's catalog
	# has: a snapshot of a backup cut off between its catalog and its head.
	local own
	own=$(rsp snapshots --json 2>/dev/null || true)
	for id in $(jall id "$own"); do
		grep -qx "$id" <<<"$(printf '%s\n' "${ids[@]}")" || orphans="$orphans ${id:0:12}"
	done
	if [ -n "$orphans" ]; then
		note "note: listed without the key, in no head's catalog:$orphans"
		[ "$ORPHAN_NOW" = 1 ] || ORPHANS=$((ORPHANS + 1))
		ORPHAN_NOW=1
	fi
	# The mesh's view (restore from nothing): what the heads in the DHT
	# list must be readable, and whatever of it the member's node no longer
	# lists (forgotten, maybe pruned) must still restore.
	local view vids
	view=$(mesh_cli "$CMD_LIMIT" "$VIEW" snapshots --recovery-key-file "$KEY" --json 2>&1) || { fail "$what: snapshots on the member's second machine (the heads in the mesh): $view"; return 1; }
	mapfile -t vids < <(jall id "$view")
	for id in "${vids[@]}"; do
		grep -qx "$id" <<<"$(printf '%s\n' "${ids[@]}")" && continue
		rm -rf "$ROOT/restore"
		out=$(timeout -k 5 "$LONG_LIMIT" "$BIN" --data "$(mesh_dir $VIEW)" restore "$id" --target "$ROOT/restore" --recovery-key-file "$KEY" --json </dev/null 2>&1) || {
			fail "$what: snapshot ${id:0:12}, listed by the head in the mesh (not by the member's node), does not restore: $out"
			return 1
		}
		VERIFIED=$((VERIFIED + 1))
		note "note: the head in the mesh lists ${id:0:12}, which the member's node does not; it restores"
	done
	rm -rf "$ROOT/restore"
	INV_SNAPS=$n
	INV_CHECK="$(jnum stripes "$ck") stripes, $(jnum healthy "$ck") healthy, $(jnum degraded "$ck") degraded, $(jnum at_risk "$ck") at risk"
}
ORPHANS=0 FINISHED=0 ORPHAN_NOW=0 PRUNED_BEFORE=0

# --- 1. the mesh --------------------------------------------------------------
t=$SECONDS
mesh_build_tools || die "go build of respaldo or gen-data failed"
mesh_create $MEMBER home || die "the member's node did not start: $(tail -n 3 "$MDIR.log" 2>/dev/null)"
for i in "${STORAGE[@]}"; do
	mesh_join "$i" "$(mesh_zone $((i - 1)))" || die "storage node $i did not join: $(tail -n 3 "$(mesh_dir "$i").log" 2>/dev/null)"
done
inv=$(mesh_invite home client) || die "node1 made no invite for the member's second machine"
mesh_join_with $VIEW "$inv" --recovery-key-file "$KEY" || die "the member's second machine did not join: $(tail -n 3 "$(mesh_dir $VIEW).log")"
stop_member
printf 'prune_grace = "%ds"\n' "$GRACE" >>"$MDIR/config.toml"
start_member || die "the member's node did not come back with prune_grace"
pass "the member's node, six storage nodes and the member's second machine, connected and live, prune_grace ${GRACE}s ($((SECONDS - t))s)"

# --- 2. the first backups: the base tree, then a calibration ---------------
"$ROOT/gen-data" -out "$SRC/base" -size "$BASE_SIZE" -seed "$SEED" >/dev/null || die "gen-data failed"
new_delta 0
measured_backup || die "backup 1: exit $?: $(tail -n 3 "$ROOT/backup.err")"
first=$SENT
new_delta 999
measured_backup || die "backup 2: exit $?: $(tail -n 3 "$ROOT/backup.err")"
FRESH=$SENT
SLACK=$((FRESH / 20 + 512 * 1024))
pass "backup of base ($BASE_SIZE) + delta: $first shard bytes; of a new delta (~${DELTA_MIB} MiB) without a crash: $FRESH shard bytes (slack $SLACK)"

# --- 3. the crashes -------------------------------------------------------
# Kinds: OP POINT NMAX. N is drawn in 1..NMAX; a point not reached (the
# operation ends without the node dying) is counted and drawn again later.
KINDS=(
	"backup blob-put 6"
	"backup kv-put 7"
	"backup head-publish 1"
	"backup head-published 1"
	"prune kv-put 4"
	"prune head-publish 1"
	"prune prune-mark 3"
	"prune prune-delete 12"
)
order=()
next_kind() { # shuffles KINDS, a round at a time
	if [ ${#order[@]} = 0 ]; then
		order=("${KINDS[@]}")
		local i j tmp
		for ((i = ${#order[@]} - 1; i > 0; i--)); do
			j=$((RANDOM % (i + 1)))
			tmp=${order[$i]} order[$i]=${order[$j]} order[$j]=$tmp
		done
	fi
	KIND=${order[0]}
	order=("${order[@]:1}")
}

prune_cmd=(forget --keep-last $KEEP --prune --recovery-key-file "$KEY" --json)
crashes=0 missed=0 iter=0
declare -A BY_POINT=()
resent=0 resent_iters=0
TABLE=()
while [ "$crashes" -lt "$RUNS" ] && [ "$iter" -lt "$MAX_ITER" ]; do
	iter=$((iter + 1))
	next_kind
	read -r op point nmax <<<"$KIND"
	n=$((RANDOM % nmax + 1))
	it=$SECONDS
	new_delta "$iter"
	# How many snapshots the heads list before the operation (on the
	# unarmed node still running): a killed backup whose head moved adds one.
	listed_before=$(jall id "$(rsp snapshots --recovery-key-file "$KEY" --json 2>/dev/null)" | wc -l)
	if [ "$op" = prune ] && [ "$point" = prune-delete ]; then
		# Something marked at least prune_grace ago to delete.
		stop_member
		start_member || die "iteration $iter: the member's node did not start"
		rsp "${prune_cmd[@]}" >/dev/null 2>"$ROOT/prune.err" || die "iteration $iter: the prune before the crash failed: $(cat "$ROOT/prune.err")"
		sleep $((GRACE + 1))
	fi
	stop_member
	logpos=$(wc -l <"$MDIR.log")
	start_member "$point:$n" || die "iteration $iter: the member's node did not start with RESPALDO_CRASH_AT=$point:$n"
	rc=0
	if [ "$op" = backup ]; then
		rsp_long backup "$SRC" --json >"$ROOT/op.out" 2>"$ROOT/op.err" || rc=$?
	else
		rsp_long "${prune_cmd[@]}" >"$ROOT/op.out" 2>"$ROOT/op.err" || rc=$?
	fi
	if ! dead_within 10; then
		if [ "$rc" = 0 ]; then
			missed=$((missed + 1))
			note "iteration $iter: $op, $point:$n not reached (the $op ended normally); drawn again later"
			stop_member
			start_member || die "iteration $iter: the member's node did not start"
			# Keep the tree backed up, as a resumed run would have.
			[ "$op" = backup ] || measured_backup || die "iteration $iter: backup: exit $?: $(tail -n 3 "$ROOT/backup.err")"
			continue
		fi
		die "iteration $iter: $op failed (exit $rc: $(tail -n 2 "$ROOT/op.err")) and the node did not die at $point:$n"
	fi
	line=$(tail -n +$((logpos + 1)) "$MDIR.log" | grep "^crashpoint: $point #$n reached" | tail -n 1)
	[ -n "$line" ] || die "iteration $iter: the node died without reaching $point:$n: $(tail -n 5 "$MDIR.log")"
	[ "$rc" != 0 ] || die "iteration $iter: the node died at $point:$n but the $op command exited 0"
	crashes=$((crashes + 1))
	key="$op $point"
	BY_POINT[$key]=$((${BY_POINT[$key]:-0} + 1))
	field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
	acked=$(field acked_shard_bytes) rec=$(field recorded_shard_bytes) pend=$(field pending_shard_bytes)

	start_member || die "iteration $iter: the member's node did not start after the crash at $point:$n"
	finish=""
	[ "$point" != prune-delete ] || finish=finish
	ORPHAN_NOW=0
	invariant "iteration $iter ($op, crash at $point:$n)" $finish || die "the invariant broke after a crash at $point:$n (seed $SEED, iteration $iter)"
	# Sometimes (and always after an orphan) prunes come before the resumed
	# backup: two, prune_grace apart, so the second deletes what the first
	# marked. They must keep what the resumed backup and the heads need.
	pruned=""
	if [ "$ORPHAN_NOW" = 1 ] || [ $((RANDOM % 3)) = 0 ]; then
		for r in 1 2; do
			[ "$r" = 1 ] || sleep $((GRACE + 1))
			out=$(rsp forget --keep-last 1000 --prune --recovery-key-file "$KEY" --json 2>&1) || die "iteration $iter: a prune after the crash failed: $out"
		done
		pruned=" (2 prunes before it: $(grep 'msg="prune done"' "$MDIR.log" | tail -n 1 | sed 's/.*msg="prune done" node=[^ ]* //'))"
		PRUNED_BEFORE=$((PRUNED_BEFORE + 1))
		invariant "iteration $iter ($op, crash at $point:$n, then two prunes)" || die "the invariant broke after a crash at $point:$n and two prunes (seed $SEED, iteration $iter)"
	fi

	# Resume: the same tree again.
	rc=0
	measured_backup || rc=$?
	[ "$rc" = 0 ] || die "iteration $iter: the backup after the crash failed: exit $rc: $(tail -n 3 "$ROOT/backup.err")"
	# What must not be sent again: the stripes the writer recorded as put;
	# after prunes past the grace, unless the killed run's snapshot is
	# listed (its head moved) or kept by the writer, only those still
	# pending (not yet in a committed index segment: a committed pack that
	# no snapshot lists is the prunes' to delete once the grace is over,
	# docs/crash.md).
	# Without prunes, the put journal (node/meshblobs/journal.go) lets the
	# resumed backup finish the killed run's packs in flight: no shard a
	# holder acknowledged is sent again.
	keep=$rec
	if [ "$op" = backup ] && [ -z "$pruned" ]; then
		keep=$acked
	fi
	if [ -n "$pruned" ] && [ "$INV_SNAPS" -le "$listed_before" ] && [ "$ORPHAN_NOW" = 0 ]; then
		keep=$pend
	fi
	bound=$((FRESH - keep + SLACK))
	if [ "$SENT" -gt "$bound" ]; then
		fail "iteration $iter: after a crash at $op $point:$n the backup sent $SENT shard bytes; at most $bound (fresh $FRESH - acknowledged or recorded $keep + slack $SLACK)"
		die "a resumed backup sent again what was recorded as placed (seed $SEED)"
	fi
	# Shards acknowledged but not recorded (the stripes in flight, and one
	# whose Put returned just before the kill) are put again. Sent twice,
	# about: what both runs sent less what one run sends (± its noise).
	twice=-
	if [ "$op" = backup ]; then
		twice=$((acked + SENT - FRESH))
		[ "$twice" -gt 0 ] || twice=0
		if [ "$twice" -gt "$SLACK" ] && [ -z "$pruned" ]; then
			resent=$((resent + twice))
			resent_iters=$((resent_iters + 1))
		fi
	else
		acked=- rec=- pend=-
	fi
	TABLE+=("$(printf '%3d  %-6s %-15s %2d  %9s %9s %9s  %9s %9s %9s  %-3s %2d  %3ds' \
		"$iter" "$op" "$point" "$n" "$acked" "$rec" "$pend" "$SENT" "$bound" "$twice" "${pruned:+yes}" "$INV_SNAPS" $((SECONDS - it)))")
	echo "ok    iteration $iter: $op killed at $point:$n; $INV_SNAPS snapshots restore, $INV_CHECK; resumed backup$pruned sent $SENT ≤ $bound shard bytes ($((SECONDS - it))s)"
done

if [ "$crashes" -ge "$RUNS" ]; then
	pass "$crashes crashes in $iter iterations ($missed points not reached): after each, every listed snapshot restored ($VERIFIED restores in all), check found no stripe lost, and the resumed backup sent no more than the fresh cost minus what holders had acknowledged (backups) or the writer had recorded (prunes)"
else
	fail "only $crashes crashes in $iter iterations ($missed points not reached); want $RUNS"
fi

# --- 4. the end: the latest snapshot is the tree ------------------------------
rm -rf "$ROOT/restore"
if out=$(rsp_long restore latest --target "$ROOT/restore" --recovery-key-file "$KEY" --json 2>&1) &&
	cmp=$("$ROOT/gen-data" -compare "$SRC" "$ROOT/restore/$(basename "$SRC")" 2>&1); then
	pass "restore latest after the last resumed backup = the source tree ($(tail -n 1 <<<"$cmp" | sed "s|$ROOT/||g"))"
else
	fail "restore latest after the last resumed backup: ${out:-} ${cmp:-}"
fi

echo
echo "iter op     point           N      acked  recorded   pending       sent     bound     twice  pr. snaps time"
printf '%s\n' "${TABLE[@]}"
echo
echo "crashes by point:"
for k in "${KINDS[@]}"; do
	read -r op point _ <<<"$k"
	key="$op $point"
	printf '  %-6s %-15s %d\n' "$op" "$point" "${BY_POINT[$key]:-0}"
done
echo "acked: shard bytes holders acknowledged before the kill; recorded: of those, the stripes the writer had recorded as put;"
echo "pending: of those, still in pending records; sent: by the resumed backup; bound: fresh $FRESH - acked (backups; recorded for prunes, pending if pr.) + slack $SLACK;"
echo "twice: acked + sent - fresh, about what was sent twice (± slack); pr.: two prunes, ${GRACE}s apart, came between the crash and the resumed backup"
echo "shard bytes sent twice with no prune between (acknowledged before the kill, not recorded, sent again): about $resent in $resent_iters iterations"
echo "iterations with two prunes between the crash and the resumed backup: $PRUNED_BEFORE"
echo "stripes a crash left half-deleted (skipped by check until the next prune finished them): $FINISHED"
echo "iterations where the writer listed a snapshot that no head's catalog had: $ORPHANS"
echo "seed $SEED; RESPALDO_TEST_TIMESCALE=$MESH_SCALE; total $((SECONDS - T0))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
