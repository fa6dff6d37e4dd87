#!/usr/bin/env bash
# bench-repair.sh — how fast the mesh restores full redundancy after losing a
# storage node (docs/repair.md; figures in docs/performance.md, "Repair").
#
# A member's node and seven storage daemons (real processes, 127.0.0.1 only,
# 4+2, heartbeat 1 s, four storage zones plus the member's "home"), built
# once in a temporary folder that a trap removes. Each round, on a fresh mesh:
#
#   1. the member backs up SIZE of incompressible files (gen-data's random
#      "photos"; 930 MiB gives each storage node about 200 MiB of shards);
#   2. once every storage node's repair pass counts its stripes healthy, the
#      storage node holding the most shard bytes (status used_bytes) is
#      killed with SIGKILL (a loss, not a shutdown);
#   3. until the member's `check` finds every stripe healthy and every
#      survivor's `status` counts its stripes healthy with an empty repair
#      queue, polled (check every 3 s once the grace has run out, status
#      every second).
#
# Reported per round: the lost node's shard bytes; seconds from the kill to
# the last "repair: stripe rebuilt" line in the survivors' logs (when the
# last missing shard was stored on its new holder: full redundancy), to the
# member's check all healthy, and to every survivor's status agreeing; the
# same minus the grace; MB/s of rebuilt data (lost bytes / (time - grace),
# and over the rebuild window, first to last rebuilt line); the survivors'
# repair counters from /metrics; the CPU seconds the survivors used between
# the kill and full redundancy (/proc/PID/stat); the rebuilds per 2 s.
#
#   bash scripts/bench-repair.sh
#   SIZE=465MiB GRACE=5s bash scripts/bench-repair.sh
#   BANDWIDTH=512MiB/s bash scripts/bench-repair.sh   # repair_bandwidth
#   INTERVAL=5s ROUNDS=3 bash scripts/bench-repair.sh # repair_interval; medians
#
# Knobs: SIZE (930MiB), GRACE (10s: --repair-grace of every node), BANDWIDTH
# (repair_bandwidth written into each storage node's config.toml before it
# joins; empty: the stock 32 MiB/s), INTERVAL (repair_interval likewise;
# empty: the stock 30 s), ROUNDS (1; with more, medians), SEED (7),
# BENCH_KEEP=1 keeps the folder. Waits scale with RESPALDO_TEST_TIMESCALE.
# Not in .ci/run (a round takes about 2 minutes and 1.5 GiB of disk).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-mesh.sh
unset RESPALDO_DATA RESPALDO_RECOVERY_KEY_FILE RESPALDO_CRASH_AT

SIZE="${SIZE:-930MiB}"
GRACE="${GRACE:-10s}"
BANDWIDTH="${BANDWIDTH:-}"
INTERVAL="${INTERVAL:-}"
ROUNDS="${ROUNDS:-1}"
SEED="${SEED:-7}"
T0=$SECONDS

# seconds DURATION: a Go duration of whole seconds, minutes or hours, in s.
seconds() {
	case "$1" in
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}
grace_s=$(seconds "$GRACE")
[[ "$grace_s" =~ ^[0-9]+$ ]] || { echo "GRACE must be whole seconds, minutes or hours (10s, 1m), not $GRACE" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive number" >&2; exit 2; }

mesh_test_init bench-repair BENCH_KEEP
BASE=$ROOT
# Each round's mesh lives in BASE/roundN; the trap stops the round's nodes
# and then does what mesh_test_init's trap does for BASE.
bench_cleanup() {
	local rc=$?
	mesh_down >/dev/null 2>&1 || true
	ROOT=$BASE
	(exit $rc)
	mesh_test_cleanup
}
trap bench_cleanup EXIT

MEMBER=1
STORAGE=(2 3 4 5 6 7 8)
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
LONG_LIMIT=$(mesh_scaled 900)

# metrics I: node I's /metrics text (with its API token).
metrics() {
	local d addr tok
	d=$(mesh_dir "$1")
	addr=$(cat "$d/api.addr") tok=$(cat "$d/api.token")
	if command -v curl >/dev/null; then
		curl -sf --max-time 10 -H "Authorization: Bearer $tok" "http://$addr/metrics"
	else
		timeout 10 bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1##*:}"; printf "GET /metrics HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n" "$2" >&3; cat <&3' _ "$addr" "$tok"
	fi
}
# mval NAME TEXT: the value of metric NAME in /metrics TEXT (0 if absent).
mval() { awk -v n="$1" '$1 == n { printf "%.0f", $2; f = 1 } END { if (!f) printf "0" }' <<<"$2"; }
# cpu_ticks PID: user+system clock ticks the process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
# fsub A B, fdiv A B: A-B and A/B with 1 decimal (awk).
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "-" }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1048576 }'; }
# median: the median of the numbers on stdin ("-" ignored).
median() { grep -v '^-$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "bench-repair: SIZE=$SIZE GRACE=$GRACE BANDWIDTH=${BANDWIDTH:-stock 32MiB/s} INTERVAL=${INTERVAL:-stock 30s} ROUNDS=$ROUNDS SEED=$SEED RESPALDO_TEST_TIMESCALE=$MESH_SCALE"
echo "machine: $(nproc) cores, load average at start:$(awk '{ printf " %s %s %s", $1, $2, $3 }' /proc/loadavg)"

mesh_build_tools || die "go build of respaldo or gen-data failed"
echo "built respaldo $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)')"

# The data: gen-data's random files only (about 35% of its mix).
SRC="$BASE/source/photos"
t=$SECONDS
size_mib=$(awk -v s="$SIZE" 'BEGIN { n = s + 0; if (s ~ /GiB$/) n *= 1024; else if (s ~ /KiB$/) n /= 1024; else if (s !~ /MiB$/) n /= 1048576; printf "%d", n }')
[ "$size_mib" -gt 0 ] || die "SIZE $SIZE: want a size such as 930MiB or 1GiB"
"$BASE/gen-data" -out "$BASE/gen" -size "$((size_mib * 20 / 7))MiB" -seed "$SEED" >/dev/null || die "gen-data failed"
mkdir -p "$BASE/source"
mv "$BASE/gen/photos" "$SRC"
rm -rf "$BASE/gen"
src_bytes=$(du -sb "$SRC" | awk '{ print $1 }')
echo "data: $(find "$SRC" -type f | wc -l) incompressible files, $src_bytes bytes ($(mib "$src_bytes") MiB), generated in $((SECONDS - t))s"

# Figures of every round, one line each per name.
declare -A FIG=()
fig() { FIG[$1]+="$2"$'\n'; }

one_round() {
	local r=$1 i t pid st
	ROOT="$BASE/round$r"
	mkdir -p "$ROOT"
	: >"$ROOT/pids"
	echo
	echo "=== round $r (load average$(awk '{ printf " %s %s %s", $1, $2, $3 }' /proc/loadavg))"

	# --- the mesh -----------------------------------------------------------
	t=$SECONDS
	mesh_create "$MEMBER" home --repair-grace "$GRACE" ||
		die "the member's node did not start: $(tail -n 3 "$ROOT/node$MEMBER.log" 2>/dev/null)"
	for i in "${STORAGE[@]}"; do
		# join loads an existing DATA/config.toml and keeps its other keys.
		if [ -n "$BANDWIDTH$INTERVAL" ]; then
			mkdir -p "$(mesh_dir "$i")"
			{
				[ -z "$BANDWIDTH" ] || echo "repair_bandwidth = \"$BANDWIDTH\""
				[ -z "$INTERVAL" ] || echo "repair_interval = \"$INTERVAL\""
			} >"$(mesh_dir "$i")/config.toml"
		fi
		mesh_join "$i" "zone$(((i - 2) % 4 + 1))" --repair-grace "$GRACE" ||
			die "storage node $i did not join: $(tail -n 3 "$ROOT/node$i.log" 2>/dev/null)"
	done
	if [ -n "$BANDWIDTH$INTERVAL" ]; then
		for i in "${STORAGE[@]}"; do
			# SaveConfig writes the rate back as bytes per second.
			[ -z "$BANDWIDTH" ] || grep -q '^repair_bandwidth = [1-9]' "$(mesh_dir "$i")/config.toml" ||
				die "node $i's config.toml lost repair_bandwidth"
			[ -z "$INTERVAL" ] || grep -q '^repair_interval = ' "$(mesh_dir "$i")/config.toml" ||
				die "node $i's config.toml lost repair_interval"
		done
	fi
	local limit deadline
	limit=$(mesh_scaled 30)
	deadline=$((SECONDS + limit))
	for i in "$MEMBER" "${STORAGE[@]}"; do
		while [ "$(online "$i")" -lt ${#STORAGE[@]} ]; do
			[ "$SECONDS" -le "$deadline" ] || die "node $i counts $(online "$i") peers live after ${limit}s"
			sleep 0.5
		done
	done
	echo "mesh: member (home) + 7 storage nodes in zone1..zone4, all live ($((SECONDS - t))s)"

	# --- the backup ---------------------------------------------------------
	t=$(now)
	local out res
	out=$(rsp_long "$MEMBER" backup "$SRC" --json 2>"$ROOT/backup.err") || die "backup: $(tail -n 3 "$ROOT/backup.err")"
	res=$(tail -n 1 <<<"$out")
	[ "$(jnum tolerates_losses "$res")" = 2 ] || die "backup: tolerates_losses is not 2: $res"
	local bsec
	bsec=$(fsub "$(now)" "$t")
	echo "backup: $(jnum files "$res") files, $(jnum bytes "$res") bytes in ${bsec}s, tolerates_losses 2"
	local chk stripes
	chk=$(rsp "$MEMBER" check --json) || die "check after the backup failed"
	stripes=$(jnum stripes "$chk")
	[ "$(jnum healthy "$chk")" = "$stripes" ] && [ "$stripes" -gt 0 ] || die "check after the backup: $chk"

	# Quiet before the loss: every storage node's last pass saw its stripes
	# healthy (the first pass after the backup comes within repair_interval).
	t=$SECONDS
	limit=$(mesh_scaled 90)
	deadline=$((SECONDS + limit))
	local quiet=""
	while [ "$SECONDS" -le "$deadline" ]; do
		quiet=1
		for i in "${STORAGE[@]}"; do
			st=$(rsp "$i" status --json 2>/dev/null) || { quiet=""; break; }
			[ "$(jnum healthy "$st")" -gt 0 ] 2>/dev/null && [ "$(jnum degraded "$st")" = 0 ] &&
				[ "$(jnum repair_queue "$st")" = 0 ] || { quiet=""; break; }
		done
		[ -n "$quiet" ] && break
		sleep 1
	done
	[ -n "$quiet" ] || echo "note: not every storage node reported a healthy pass within ${limit}s; going on"

	# --- the loss -----------------------------------------------------------
	local lost="" lost_bytes=0 lost_shards=0 u
	for i in "${STORAGE[@]}"; do
		st=$(rsp "$i" status --json 2>/dev/null) || die "status of node $i failed"
		u=$(jnum used_bytes "$st")
		echo "  node $i ($(jstr zone "$st")): $(jnum shards "$st") shards, $(mib "$u") MiB"
		if [ "${u:-0}" -gt "$lost_bytes" ]; then lost=$i lost_bytes=$u lost_shards=$(jnum shards "$st"); fi
	done
	echo "check: $stripes stripes, all healthy"
	local survivors=() cpu0=() m0=()
	for i in "${STORAGE[@]}"; do [ "$i" = "$lost" ] || survivors+=("$i"); done
	for i in "${survivors[@]}"; do
		cpu0+=("$(cpu_ticks "$(mesh_pid "$i")")")
		m0+=("$(mval respaldo_repair_shards_rebuilt_total "$(metrics "$i" 2>/dev/null)")")
	done
	local mcpu0
	mcpu0=$(cpu_ticks "$(mesh_pid "$MEMBER")")
	pid=$(mesh_pid "$lost")
	local tkill
	tkill=$(now)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	grep -vx "$pid" "$ROOT/pids" >"$ROOT/pids.new" || true
	mv "$ROOT/pids.new" "$ROOT/pids"
	rm -f "$ROOT/node$lost.pid"
	echo "killed node $lost (SIGKILL) at $(date -d "@$tkill" +%T.%3N): it held $lost_shards shards, $lost_bytes bytes ($(mib "$lost_bytes") MiB)"

	# --- until full redundancy ----------------------------------------------
	local t_status="" t_check="" next_check next_cpu=0 ok
	local cpu_check=() mcpu_check=0
	next_check=$(awk -v t="$tkill" -v g="$grace_s" 'BEGIN { printf "%d", t + g }')
	limit=$(mesh_scaled $((grace_s + 600)))
	deadline=$((SECONDS + limit))
	while [ "$SECONDS" -le "$deadline" ] && { [ -z "$t_status" ] || [ -z "$t_check" ]; }; do
		if [ -z "$t_status" ]; then
			ok=1
			for i in "${survivors[@]}"; do
				st=$(rsp "$i" status --json 2>/dev/null) || { ok=""; break; }
				[ "$(jnum degraded "$st")" = 0 ] && [ "$(jnum at_risk "$st")" = 0 ] && [ "$(jnum lost "$st")" = 0 ] &&
					[ "$(jnum repair_queue "$st")" = 0 ] && [ "$(jnum healthy "$st")" -gt 0 ] 2>/dev/null || { ok=""; break; }
			done
			# A pass right after the kill still counts the lost node live.
			if [ -n "$ok" ] && [ "$(fsub "$(now)" "$tkill" | cut -d. -f1)" -gt "$grace_s" ]; then
				t_status=$(fsub "$(now)" "$tkill")
			fi
		fi
		if [ -z "$t_check" ] && [ "$(date +%s)" -ge "$next_check" ]; then
			chk=$(rsp "$MEMBER" check --json 2>/dev/null) || chk=""
			if [ -n "$chk" ] && [ "$(jnum healthy "$chk")" = "$stripes" ]; then
				t_check=$(fsub "$(now)" "$tkill")
				cpu_check=()
				for i in "${survivors[@]}"; do cpu_check+=("$(cpu_ticks "$(mesh_pid "$i")")"); done
				mcpu_check=$(cpu_ticks "$(mesh_pid "$MEMBER")")
			fi
			next_check=$(($(date +%s) + 3))
		fi
		sleep 1
	done
	[ -n "$t_check" ] || echo "FAIL  the member's check did not find every stripe healthy within ${limit}s: $(tr -d '\n ' <<<"$chk")"
	[ -n "$t_status" ] || {
		echo "FAIL  the survivors' status did not agree within ${limit}s"
		for i in "${survivors[@]}"; do echo "      node $i: $(rsp "$i" status --json 2>/dev/null | tr -d '\n ')"; done
	}

	# --- what happened --------------------------------------------------------
	local lines first last
	lines=$(for i in "${survivors[@]}"; do grep 'msg="repair: stripe rebuilt"' "$ROOT/node$i.log" | sed "s/^/node$i /"; done)
	local nreb
	nreb=$(grep -c . <<<"$lines" || true)
	local rel
	rel=$(while read -r node tsf _; do
		[ -n "$node" ] || continue
		ts=${tsf#time=}
		printf '%s %s\n' "$(fsub "$(date -d "$ts" +%s.%N)" "$tkill")" "$node"
	done <<<"$lines" | sort -g)
	first=$(head -n 1 <<<"$rel" | cut -d' ' -f1)
	last=$(tail -n 1 <<<"$rel" | cut -d' ' -f1)
	local sum_reb=0 sum_rbytes=0 sum_fbytes=0 sum_canc=0 sum_fail=0 sum_drops=0 m k=0 cpu_sum=0 c
	local per_node=""
	for i in "${survivors[@]}"; do
		m=$(metrics "$i" 2>/dev/null) || m=""
		sum_reb=$((sum_reb + $(mval respaldo_repair_shards_rebuilt_total "$m") - ${m0[$k]}))
		sum_rbytes=$((sum_rbytes + $(mval respaldo_repair_rebuilt_bytes_total "$m")))
		sum_fbytes=$((sum_fbytes + $(mval respaldo_repair_fetched_bytes_total "$m")))
		sum_canc=$((sum_canc + $(mval respaldo_repair_puts_cancelled_total "$m")))
		sum_fail=$((sum_fail + $(mval respaldo_repair_put_failures_total "$m")))
		sum_drops=$((sum_drops + $(mval respaldo_repair_drops_total "$m")))
		c=${cpu_check[$k]:-$(cpu_ticks "$(mesh_pid "$i")")}
		cpu_sum=$((cpu_sum + c - ${cpu0[$k]}))
		per_node+=" node$i:$(grep -c "^node$i " <<<"$lines" || true)/$(awk -v t=$((c - ${cpu0[$k]})) -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')s"
		k=$((k + 1))
	done
	local mcpu
	mcpu=$(( ${mcpu_check:-0} > 0 ? mcpu_check - mcpu0 : $(cpu_ticks "$(mesh_pid "$MEMBER")") - mcpu0 ))
	local mshards
	mshards=$(jnum shards "$(rsp "$MEMBER" status --json 2>/dev/null)")

	echo "full redundancy, in seconds after the kill (grace ${grace_s}s):"
	echo "  last 'repair: stripe rebuilt' line  ${last:--}s (first ${first:--}s; $nreb stripes rebuilt)"
	echo "  the member's check all healthy      ${t_check:--}s (polled every 3 s)"
	echo "  every survivor's status agrees      ${t_status:--}s (polled every 1 s; needs each survivor's next pass)"
	local after rate win_rate
	after=$([ -n "$last" ] && fsub "$last" "$grace_s" || echo -)
	rate=$([ -n "$last" ] && fdiv "$(awk -v b="$lost_bytes" 'BEGIN { print b / 1e6 }')" "$after" || echo -)
	win_rate=$([ -n "$first" ] && fdiv "$(awk -v b="$lost_bytes" 'BEGIN { print b / 1e6 }')" "$(fsub "$last" "$first")" || echo -)
	echo "  after the grace ran out             ${after}s (to the last rebuilt line)"
	if [ -n "$first" ] && awk -v f="$first" -v g="$grace_s" 'BEGIN { exit !(f > g + 3) }'; then
		echo "  (the first rebuild came $(fsub "$first" "$grace_s")s after the grace: a loss does not wake the repair loop, so a survivor"
		echo "   whose last pass came before the loss was seen only notices at its next pass, up to repair_interval later)"
	fi
	echo "rebuilt: $(mib "$lost_bytes") MiB lost -> ${rate} MB/s after the grace, ${win_rate} MB/s from the first to the last rebuild"
	echo "metrics (survivors, summed): shards rebuilt $sum_reb (the lost node held $lost_shards), rebuilt bytes $sum_rbytes ($(mib "$sum_rbytes") MiB), fetched bytes $sum_fbytes ($(mib "$sum_fbytes") MiB), puts cancelled $sum_canc, put failures $sum_fail, drops $sum_drops"
	echo "cpu from the kill to the check: survivors $(awk -v t="$cpu_sum" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }') s, member $(awk -v t="$mcpu" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }') s; per survivor stripes led/cpu:$per_node"
	echo "rebuilt shards landing on the member's own node: ${mshards:-0}"
	# The rate over time: stripes rebuilt per 2 s after the kill.
	echo "stripes rebuilt per 2 s (seconds after the kill: count):"
	awk '{ b = int($1 / 2) * 2; n[b]++; if (!(b in seen)) { seen[b] = 1; o[++k] = b } } END { line = ""; for (i = 1; i <= k; i++) line = line sprintf(" %d-%d:%d", o[i], o[i] + 2, n[o[i]]); print " " line }' <<<"$rel"
	local warns
	warns=$(for i in "${survivors[@]}"; do grep -h 'level=WARN' "$ROOT/node$i.log" | sed "s/^/node$i /"; done)
	if [ -n "$warns" ]; then
		echo "warnings in the survivors' logs: $(grep -c . <<<"$warns")"
		sed -E 's/^node[0-9]+ time=[^ ]+ level=WARN //; s/ (stripe|peer|index|to)=[^ ]+//g' <<<"$warns" | cut -c1-200 | sort | uniq -c | sort -rn | head -n 8
	fi
	local infos
	infos=$(for i in "${survivors[@]}"; do grep -h -e 'repair: put failed' -e 'too few shards' -e 'put no longer needed' "$ROOT/node$i.log" 2>/dev/null; done | grep -c . || true)
	[ "$infos" = 0 ] || echo "repair log lines of note (put failed, too few shards, put no longer needed): $infos"

	fig lost_mib "$(mib "$lost_bytes")"
	fig last "${last:--}"
	fig after "$after"
	fig check "${t_check:--}"
	fig status "${t_status:--}"
	fig rate "$rate"
	fig win_rate "$win_rate"
	fig cpu "$(awk -v t="$cpu_sum" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')"
	fig backup "$bsec"

	mesh_down >/dev/null 2>&1 || true
	if [ -n "${BENCH_KEEP:-}" ]; then
		mkdir -p "$BASE/logs$r"
		cp "$ROOT"/node*.log "$BASE/logs$r/" 2>/dev/null || true
	fi
	rm -rf "$ROOT"
	[ -n "$t_check" ]
}

rc=0
for r in $(seq 1 "$ROUNDS"); do
	one_round "$r" || rc=1
done
ROOT=$BASE

if [ "$ROUNDS" -gt 1 ]; then
	echo
	echo "medians of $ROUNDS rounds:"
	for n in lost_mib:"lost node's shards, MiB" last:"s to the last rebuild" after:"s after the grace" check:"s to the member's check" status:"s to every status" rate:"MB/s after the grace" win_rate:"MB/s first to last rebuild" cpu:"survivors' CPU s" backup:"backup s"; do
		printf '  %-28s %s   (rounds: %s)\n' "${n#*:}" "$(printf '%s' "${FIG[${n%%:*}]}" | median)" "$(printf '%s' "${FIG[${n%%:*}]}" | tr '\n' ' ')"
	done
fi
echo
echo "load average at the end:$(awk '{ printf " %s %s %s", $1, $2, $3 }' /proc/loadavg); total $((SECONDS - T0))s"
exit $rc
