#!/usr/bin/env bash
# test-crash-repair.sh — crash safety of repair, with real daemons
# (docs/crash.md, "Repair").
#
# The member's node and eight storage daemons in four zones (built once
# without the race detector, 127.0.0.1 only, in a temporary folder that a
# trap removes), 4+2, repair_grace CRASH_GRACE (5s) and repair_interval
# CRASH_INTERVAL (2s).
# One backup of a generated tree (CRASH_SIZE, 24MiB). Then, CRASH_RUNS (8)
# times:
#
#   1. a storage node (the victim, drawn from the seed) is killed with
#      SIGKILL, so that its stripes go degraded; the previous iteration's
#      victim comes back (its copies, rebuilt elsewhere meanwhile, are now
#      surplus: drops);
#   2. every other storage node is restarted with RESPALDO_CRASH_AT=POINT:N
#      (node/crashpoint.go; POINT one of repair-fetched, repair-put,
#      repair-drop, N drawn), so whichever node leads a repair (or drops a
#      copy) dies there;
#   3. until one of them dies at its point (bounded; "not reached"
#      otherwise), and a few seconds more for others; a node that dies
#      without its crash line fails the test;
#   4. every armed node still running is stopped (SIGTERM) and every node
#      but the victim started again without the variable;
#   5. the invariant: `check --json` on the member's node finds no stripe
#      lost; `restore latest` with the recovery key equals the source tree
#      (gen-data -compare);
#   6. and, bounded, repair resumes and finishes: every live node's
#      `status --json` counts its stripes healthy with repair_queue 0, no
#      node's last pass saw a surplus copy (respaldo_repair_surplus_copies:
#      the drops are done too), and `check` finds every stripe healthy.
#
#   bash scripts/test-crash-repair.sh
#   CRASH_SEED=12345 bash scripts/test-crash-repair.sh   # the seed a run printed
#   CRASH_RUNS=20 CRASH_KEEP=1 bash scripts/test-crash-repair.sh
#
# Time limits scale with RESPALDO_TEST_TIMESCALE (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-mesh.sh
unset RESPALDO_DATA RESPALDO_RECOVERY_KEY_FILE RESPALDO_CRASH_AT

SEED="${CRASH_SEED:-$(( ($(date +%s) * 7919 + $$) % 1000000 ))}"
RUNS="${CRASH_RUNS:-8}"
SIZE="${CRASH_SIZE:-32MiB}"
GRACE="${CRASH_GRACE:-5s}"
INTERVAL="${CRASH_INTERVAL:-2s}"
grace_s=${GRACE%s}
T0=$SECONDS

mesh_test_init crash-repair CRASH_KEEP

MEMBER=1
STORAGE=(2 3 4 5 6 7 8 9)
ALL=("$MEMBER" "${STORAGE[@]}")
MDIR=$(mesh_dir $MEMBER)
KEY="$ROOT/node$MEMBER.recovery-key"
SRC="$ROOT/source/data"

echo "seed $SEED (CRASH_SEED=$SEED bash scripts/test-crash-repair.sh repeats this run's draws)"
RANDOM=$SEED

LONG_LIMIT=$(mesh_scaled 180)

TABLE=()
print_table() {
	[ ${#TABLE[@]} -gt 0 ] || return 0
	echo
	echo "iter victim back point           N  died             crash                                  check h/d/r   up crash  healed  rebuilt drops  time"
	printf '%s\n' "${TABLE[@]}"
}
# on_die: the table, and each node's last repair lines (CI removes the
# logs with the folder; a failure there is then still read).
on_die() {
	local f
	print_table
	for f in "$ROOT"/node*.log; do
		[ -f "$f" ] || continue
		echo
		echo "last repair lines of $(basename "$f"):"
		grep -a 'repair' "$f" | tail -n 12 | cut -c1-300 || true
	done
}
MESH_DIE_NOTE="seed $SEED"
MESH_ON_DIE=on_die

# --- the daemons ----------------------------------------------------------

# running I: whether node I's daemon is running.
running() { [ -f "$ROOT/node$1.pid" ] && kill -0 "$(mesh_pid "$1")" 2>/dev/null; }

# reap I: forget node I's dead daemon (so that mesh_down never signals a
# reused PID).
reap() {
	local pid
	[ -f "$ROOT/node$1.pid" ] || return 0
	pid=$(mesh_pid "$1")
	{ wait "$pid"; } 2>/dev/null || true
	grep -vx "$pid" "$ROOT/pids" >"$ROOT/pids.new" || true
	mv "$ROOT/pids.new" "$ROOT/pids"
	rm -f "$ROOT/node$1.pid"
}

# launch I [POINT:N]: start node I's daemon (armed if given), not waiting.
# Its log line count at the start is kept in LOGPOS[I].
declare -A LOGPOS=() ARMED=()
launch() {
	local i=$1 at=${2:-} dir pid
	dir=$(mesh_dir "$i")
	LOGPOS[$i]=$(wc -l <"$dir.log")
	if [ -n "$at" ]; then
		echo "--- start, RESPALDO_CRASH_AT=$at" >>"$dir.log"
		RESPALDO_CRASH_AT=$at "$BIN" --data "$dir" node >>"$dir.log" 2>&1 </dev/null &
	else
		echo "--- start" >>"$dir.log"
		"$BIN" --data "$dir" node >>"$dir.log" 2>&1 </dev/null &
	fi
	pid=$!
	disown "$pid" # a death by SIGKILL is expected: no job report
	mesh_started "$i" "$pid"
	ARMED[$i]=$at
}

# stop_nodes I...: SIGTERM (bounded, then SIGKILL), in parallel.
stop_nodes() {
	local i pids=()
	for i in "$@"; do
		if running "$i"; then pids+=("$(mesh_pid "$i")"); fi
	done
	mesh_stop "${pids[@]}" || true
	for i in "$@"; do reap "$i"; done
}

# kill_node I: SIGKILL, a loss rather than a shutdown.
kill_node() {
	running "$1" && kill -KILL "$(mesh_pid "$1")" 2>/dev/null || true
	local deadline=$((SECONDS + 10))
	while running "$1" && [ "$SECONDS" -le "$deadline" ]; do sleep 0.1; done
	reap "$1"
}

# wait_up I...: until each of the nodes answers its API and counts every
# other running node live (30 s, scaled).
wait_up() {
	local i want=-1 j deadline=$((SECONDS + $(mesh_scaled 30)))
	for j in "${ALL[@]}"; do running "$j" && want=$((want + 1)); done
	for i in "$@"; do
		mesh_wait_api "$(mesh_dir "$i")" 20 "$(mesh_pid "$i")" || return 1
	done
	for i in "$@"; do
		while [ "$(online "$i")" -lt "$want" ]; do
			[ "$SECONDS" -le "$deadline" ] || { echo "node $i counts $(online "$i") peers live, want $want" >&2; return 1; }
			sleep 0.3
		done
	done
}

# crash_line I: node I's crash line since its last launch (empty if none).
crash_line() {
	tail -n +$((${LOGPOS[$1]} + 1)) "$(mesh_dir "$1").log" | grep '^crashpoint: ' | tail -n 1
}

# metric I NAME: node I's gauge or counter NAME (GET /metrics, with the token).
metric() {
	local dir addr tok out
	dir=$(mesh_dir "$1")
	addr=$(cat "$dir/api.addr") tok=$(cat "$dir/api.token")
	if command -v curl >/dev/null; then
		out=$(curl -sf --max-time 10 -H "Authorization: Bearer $tok" "http://$addr/metrics") || return 1
	else
		out=$(timeout 10 bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1##*:}"; printf "GET /metrics HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n" "$2" >&3; cat <&3' _ "$addr" "$tok") || return 1
	fi
	awk -v n="$2" '$1 == n { printf "%.0f\n", $2; found = 1 } END { exit !found }' <<<"$out"
}

# --- the checks -----------------------------------------------------------

# healed LIVE...: every one of the nodes counts its stripes healthy (or
# holds no shard), with an empty repair queue; sets HEAL_STATE otherwise.
healed() {
	local i st h
	for i in "$@"; do
		st=$(rsp "$i" status --json 2>/dev/null) || { HEAL_STATE="node $i: no status"; return 1; }
		h=$(jnum healthy "$st")
		if [ "$(jnum degraded "$st")" != 0 ] || [ "$(jnum at_risk "$st")" != 0 ] || [ "$(jnum lost "$st")" != 0 ] ||
			[ "$(jnum repair_queue "$st")" != 0 ] || { [ "${h:-0}" = 0 ] && [ "$(jnum shards "$st")" != 0 ]; }; then
			HEAL_STATE="node $i: $(grep -o '"stripes": *{[^}]*}' <<<"$st" | tr -d ' \n'), queue $(jnum repair_queue "$st"), shards $(jnum shards "$st")"
			return 1
		fi
	done
}

# msum NAME I...: the nodes' metric NAME, summed.
msum() {
	local name=$1 i v sum=0
	shift
	for i in "$@"; do
		v=$(metric "$i" "$name" 2>/dev/null) || v=0
		sum=$((sum + v))
	done
	echo "$sum"
}

# surplus I...: the surplus copies the nodes' last passes saw, summed.
surplus() { msum respaldo_repair_surplus_copies "$@"; }

# check_all: `check --json` on the member's node; sets CK.
check_all() { CK=$(rsp $MEMBER check --json 2>&1); }

STRIPES=0
# invariant WHAT: check finds no stripe lost; restore latest equals the source.
invariant() {
	local what=$1 out cmp
	check_all || { fail "$what: check: $CK"; return 1; }
	if [ "$(jnum lost "$CK")" != 0 ] || [ "$(jnum stripes "$CK")" != "$STRIPES" ]; then
		fail "$what: check: $(tr -d ' \n' <<<"$CK") (want $STRIPES stripes, none lost)"
		return 1
	fi
	INV_CHECK="$(jnum healthy "$CK")/$(jnum degraded "$CK")/$(jnum at_risk "$CK")"
	rm -rf "$ROOT/restore"
	if ! out=$(rsp_long $MEMBER restore latest --target "$ROOT/restore" --recovery-key-file "$KEY" --json 2>&1); then
		fail "$what: restore latest: $out"
		return 1
	fi
	if ! cmp=$("$ROOT/gen-data" -compare "$SRC" "$ROOT/restore/$(basename "$SRC")" 2>&1); then
		fail "$what: the restored tree differs: $(tail -n 5 <<<"$cmp")"
		return 1
	fi
	rm -rf "$ROOT/restore"
}

# --- 1. the mesh ----------------------------------------------------------
t=$SECONDS
mesh_build_tools || die "go build of respaldo or gen-data failed"
mesh_create $MEMBER home --repair-grace "$GRACE" || die "the member's node did not start: $(tail -n 3 "$MDIR.log" 2>/dev/null)"
for i in "${STORAGE[@]}"; do
	# join loads an existing DATA/config.toml and keeps its other keys.
	mkdir -p "$(mesh_dir "$i")"
	echo "repair_interval = \"$INTERVAL\"" >"$(mesh_dir "$i")/config.toml"
	mesh_join "$i" "zone$(((i - 2) % 4 + 1))" --repair-grace "$GRACE" ||
		die "storage node $i did not join: $(tail -n 3 "$(mesh_dir "$i").log" 2>/dev/null)"
done
stop_nodes $MEMBER
echo "repair_interval = \"$INTERVAL\"" >>"$MDIR/config.toml"
launch $MEMBER
wait_up "${ALL[@]}" || die "the mesh did not come up"
disown -a # the daemons mesh_join started: their deaths by SIGKILL are expected
for i in "${STORAGE[@]}"; do
	grep -Eq "^repair_interval = [\"']$INTERVAL[\"']" "$(mesh_dir "$i")/config.toml" || die "node $i's config.toml lost repair_interval"
done
pass "the member's node and eight storage nodes in four zones, all live, repair_grace $GRACE, repair_interval $INTERVAL ($((SECONDS - t))s)"

# --- 2. a backup ----------------------------------------------------------
"$ROOT/gen-data" -out "$SRC" -size "$SIZE" -seed "$SEED" >/dev/null || die "gen-data failed"
out=$(rsp_long $MEMBER backup "$SRC" --json 2>"$ROOT/backup.err") || die "backup: $(tail -n 3 "$ROOT/backup.err")"
res=$(tail -n 1 <<<"$out")
check_all || die "check after the backup: $CK"
STRIPES=$(jnum stripes "$CK")
[ "$(jnum healthy "$CK")" = "$STRIPES" ] && [ "$STRIPES" -gt 0 ] || die "check after the backup: $CK"
pass "backup of $SIZE: $(jnum files "$res") files, $(jnum bytes "$res") bytes, $STRIPES stripes, all healthy"

# --- 3. the crashes -------------------------------------------------------
# Kinds: POINT NMAX. repair-drop needs surplus copies: a victim coming back.
KINDS=("repair-fetched 2" "repair-put 2" "repair-drop 2")
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


crashes=0 missed=0 iter=0 prev=""
declare -A BY_POINT=()
while [ "$iter" -lt "$RUNS" ]; do
	iter=$((iter + 1))
	it=$SECONDS
	next_kind
	read -r point nmax <<<"$KIND"
	if [ "$point" = repair-drop ] && [ -z "$prev" ]; then
		order+=("$KIND") # no copy can be surplus yet: later
		next_kind
		read -r point nmax <<<"$KIND"
	fi
	n=$((RANDOM % nmax + 1))
	cands=()
	for i in "${STORAGE[@]}"; do [ "$i" = "$prev" ] || cands+=("$i"); done
	victim=${cands[$((RANDOM % ${#cands[@]}))]}

	# 1-2. the victim goes; every other storage node (the previous victim
	# too) starts armed.
	kill_node "$victim"
	armed=()
	for i in "${STORAGE[@]}"; do [ "$i" = "$victim" ] || armed+=("$i"); done
	stop_nodes "${armed[@]}"
	for i in "${armed[@]}"; do launch "$i" "$point:$n"; done
	wait_up "${armed[@]}" || die "iteration $iter: the armed nodes did not come up"
	ta=$SECONDS tu=$((SECONDS - it))

	# 3. until one dies at its point, then a few seconds for others.
	died=() first=""
	limit=$(mesh_scaled $((grace_s + 45)))
	deadline=$((SECONDS + limit))
	live=("$MEMBER" "${armed[@]}")
	quiet_at=$((SECONDS + 2 * grace_s))
	while [ "$SECONDS" -le "$deadline" ]; do
		for i in "${armed[@]}"; do
			running "$i" || { first=$SECONDS; break; }
		done
		[ -z "$first" ] || break
		# Nothing left to do (every stripe healthy, no surplus copy): the
		# point will not be reached.
		if [ "$SECONDS" -ge "$quiet_at" ]; then
			quiet_at=$((SECONDS + 2))
			if healed "${live[@]}" && [ "$(surplus "${live[@]}")" = 0 ]; then break; fi
		fi
		sleep 0.2
	done
	if [ -n "$first" ]; then
		sleep "$(mesh_scaled 2)"
	fi
	lines=()
	for i in "${armed[@]}"; do
		running "$i" && continue
		line=$(crash_line "$i")
		[ -n "$line" ] || die "iteration $iter: node $i died without reaching its crash point: $(tail -n 5 "$(mesh_dir "$i").log")"
		grep -q "^crashpoint: $point #$n reached" <<<"$line" || die "iteration $iter: node $i died at another point: $line"
		reap "$i"
		died+=("$i")
		lines+=("$(sed 's/^crashpoint: [^ ]* #[0-9]* reached: //; s/; SIGKILL$//; s/stripe=\([0-9a-f]\{8\}\)[0-9a-f]*/\1/; s/\(to\|keeper\)=[^ ]*\(......\)$/\1=…\2/' <<<"$line")")
	done
	if [ ${#died[@]} = 0 ]; then
		missed=$((missed + 1))
		note "iteration $iter: $point:$n not reached ($((SECONDS - ta))s: $([ "$SECONDS" -le "$deadline" ] && echo "nothing left to repair or drop" || echo "the bound"))"
	else
		crashes=$((crashes + 1))
		BY_POINT[$point]=$((${BY_POINT[$point]:-0} + ${#died[@]}))
	fi
	tc=$((SECONDS - ta))

	# 4. everyone but the victim, unarmed.
	stop_nodes "${armed[@]}"
	for i in "${armed[@]}"; do launch "$i"; done
	wait_up "${armed[@]}" || die "iteration $iter: the nodes did not come up after the crash"
	# The member's node runs on: its counters from now.
	rebuilt0=$(msum respaldo_repair_shards_rebuilt_total $MEMBER)
	drops0=$(msum respaldo_repair_drops_total $MEMBER)

	# 5. the invariant.
	what="iteration $iter (victim $victim, $point:$n, died: ${died[*]:-none})"
	invariant "$what" || die "the invariant broke after a crash at $point:$n (seed $SEED, iteration $iter)"

	# 6. repair resumes and finishes.
	th=$SECONDS
	limit=$(mesh_scaled $((grace_s * 2 + 60)))
	deadline=$((SECONDS + limit))
	healed_in=""
	while [ "$SECONDS" -le "$deadline" ]; do
		if healed "${live[@]}"; then
			left=$(surplus "${live[@]}")
			if [ "$left" != 0 ]; then
				HEAL_STATE="$left surplus copies"
				sleep 1
				continue
			fi
			check_all || true
			if [ "$(jnum healthy "$CK")" = "$STRIPES" ]; then
				healed_in=$((SECONDS - th))
				break
			fi
			HEAL_STATE="check: $(tr -d ' \n' <<<"$CK")"
		fi
		sleep 1
	done
	[ -n "$healed_in" ] || die "$what: repair did not finish within ${limit}s: $HEAL_STATE"
	# What the nodes did since their restart without the variable.
	rebuilt=$(($(msum respaldo_repair_shards_rebuilt_total "${live[@]}") - rebuilt0))
	drops=$(($(msum respaldo_repair_drops_total "${live[@]}") - drops0))

	TABLE+=("$(printf '%3d  %5s %5s  %-15s %d  %-15s  %-38s  %-11s %3ds %4ds  %5ss  %7s %5s  %3ds' \
		"$iter" "$victim" "${prev:--}" "$point" "$n" "${died[*]:-not reached}" "$(printf '%s | ' "${lines[@]:-}" | sed 's/ | $//' | cut -c1-38)" \
		"$INV_CHECK" "$tu" "$tc" "$healed_in" "$rebuilt" "$drops" $((SECONDS - it)))")
	echo "ok    iteration $iter: victim $victim${prev:+, $prev back}; $point:$n, died: ${died[*]:-none, not reached} (${tc}s after the start); check $INV_CHECK (healthy/degraded/at risk), restore = source; all healthy, queue 0, no surplus copy ${healed_in}s later ($rebuilt shards rebuilt, $drops copies dropped since the restart) ($((SECONDS - it))s)"
	prev=$victim
done

if [ "$crashes" -gt 0 ]; then
	pass "$crashes crashes in $iter iterations ($missed points not reached): after each, check found no stripe lost, restore latest equalled the source, and repair finished (every live node healthy, queue 0)"
else
	fail "no crash point reached in $iter iterations"
fi
print_table
echo
echo "nodes that died, by point:"
for k in "${KINDS[@]}"; do
	read -r point _ <<<"$k"
	printf '  %-15s %d\n' "$point" "${BY_POINT[$point]:-0}"
done
echo "died: the armed nodes that died at the point; crash: what their crash lines say (stripe, and the shard put or dropped, or the puts planned)"
echo "check h/d/r: healthy/degraded/at risk stripes of $STRIPES right after the restart; up: seconds from the iteration's start until the armed"
echo "nodes were live; crash: from then until the first died (or the bound, or nothing was left to do); healed: from the invariant's end until"
echo "every live node's status and check said healthy, queue 0, and their last passes saw no surplus copy; rebuilt, drops: what the live nodes"
echo "rebuilt and dropped from their restart without the variable until then (respaldo_repair_shards_rebuilt_total, respaldo_repair_drops_total)"
echo "seed $SEED; RESPALDO_TEST_TIMESCALE=$MESH_SCALE; total $((SECONDS - T0))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
