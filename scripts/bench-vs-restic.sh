#!/usr/bin/env bash
# bench-vs-restic.sh — restic and respaldo back up and restore the same data on
# this machine, alternating, several rounds, and report medians and ratios.
#
#   bash scripts/bench-vs-restic.sh                 # 1 GiB, 3 rounds
#   SIZE=256MiB ROUNDS=5 bash scripts/bench-vs-restic.sh
#   PROFILE=/tmp/prof SIZE=512MiB ROUNDS=1 bash scripts/bench-vs-restic.sh
#   TRANSPORT=tcp bash scripts/bench-vs-restic.sh    # daemons on TCP only (or quic)
#
# restic backs up into a local repository. respaldo backs up through the mesh
# of real daemons, as a member does: the member's node (the daemon of
# `mesh create`) and six storage daemons (`join` by invites) in three zones,
# separate processes of one `respaldo` binary, all on 127.0.0.1, at 4+2. Each
# round starts a fresh mesh, so the first backup is a first backup; the
# re-backup is a second backup of the unchanged data into the same mesh; the
# restore (with the recovery key) goes into an empty folder, and round 1
# checks it is identical to the original (scripts/gen-data -compare). Both
# read the same files from the page cache. Rounds alternate which tool goes
# first; before every timed step the disk is left to settle (dirty pages
# written, no request for 2 s), and nothing is deleted before the end of the
# run (writing right after deleting a GiB cost about twice the system time on
# these machines), so a run needs about 6x SIZE per round free under /tmp.
#
# Timing: restic runs under scripts/runstat (wall time, its peak RSS). For
# respaldo the work runs inside the member's daemon; the CLI command waits
# for it, so the CLI's wall time (runstat) is the operation's time, and the
# peak RSS reported is the member daemon's during that operation (Linux:
# /proc/PID/clear_refs resets VmHWM before, /proc/PID/status gives it after).
# The CLI's own peak RSS, the member's CPU seconds and the six storage
# daemons' summed CPU seconds are printed too.
#
# Knobs: SIZE (1GiB), ROUNDS (3), SEED (1); PROFILE=DIR saves CPU profiles of
# the member's node and of one storage node (node2) during round 1's backup
# and restore (through RESPALDO_PPROF_ADDR, docs/performance.md) into DIR,
# with the binary: member-backup.pprof, storage-backup.pprof, member-restore.pprof,
# storage-restore.pprof. PROFILE_SECONDS sets their length (default: 4x
# restic's time that round + 5 s; a profile longer than the operation only
# adds idle time). Time limits
# scale with RESPALDO_TEST_TIMESCALE (scripts/lib-mesh.sh). Installs restic
# from Debian's packages when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-mesh.sh
unset RESPALDO_DATA RESPALDO_RECOVERY_KEY_FILE RESPALDO_PPROF_ADDR

SIZE="${SIZE:-1GiB}"
ROUNDS="${ROUNDS:-3}"
SEED="${SEED:-1}"
EC="4+2"
PROFILE="${PROFILE:-}"
# TRANSPORT=tcp|quic: the daemons listen on that transport only (default:
# both, as nodes do by default).
case "${TRANSPORT:-both}" in
both) ;;
tcp) MESH_LISTEN=(--listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0) ;;
quic) MESH_LISTEN=(--listen /ip4/127.0.0.1/udp/0/quic-v1 --api 127.0.0.1:0) ;;
*) echo "bench-vs-restic.sh: TRANSPORT is both, tcp or quic" >&2; exit 2 ;;
esac

[ "$(uname -s)" = Linux ] || { echo "bench-vs-restic.sh: needs Linux (/proc for the daemon's RSS and CPU)" >&2; exit 1; }

if ! command -v restic >/dev/null; then
	echo "installing restic from Debian's packages…" >&2
	(apt-get update -qq && apt-get install -y -qq restic) >/dev/null
fi

WORK="$(mktemp -d /tmp/respaldo-bench.XXXXXX)"
ROOT=""       # the current round's mesh (lib-mesh.sh)
PROF_PIDS=() # curl fetching profiles
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$ROOT" ] && mesh_down >/dev/null 2>&1 || true
	# Any curl fetching a profile.
	local p
	for p in "${PROF_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TOOLS="$WORK/bin"
mkdir -p "$TOOLS"
echo "building respaldo, gen-data and runstat…" >&2
go build -o "$TOOLS/respaldo" ./cmd/respaldo
go build -o "$TOOLS/" ./scripts/gen-data ./scripts/runstat
RESPALDO="$TOOLS/respaldo"

DATA="$WORK/data"
"$TOOLS/gen-data" -out "$DATA" -size "$SIZE" -seed "$SEED" >&2
BYTES=$(du -sb "$DATA" | cut -f1)
echo "data set: $BYTES bytes in $(find "$DATA" -type f | wc -l) files (seed $SEED)" >&2
echo "machine: $(nproc) cores, $(restic version | head -1)" >&2

export RESTIC_PASSWORD=bench-only-password
RES="$WORK/results.tsv"
: >"$RES"

# Bounds (scaled): questions to a node, and backups and restores.
CMD_LIMIT=$(mesh_scaled 60)
LONG_LIMIT=$(mesh_scaled 1800)
TICK=$(getconf CLK_TCK)


# cpu_ticks PID...: the summed user+system CPU of the processes, in clock ticks.
cpu_ticks() {
	local p sum=0 t
	for p in "$@"; do
		# Fields after "(comm) ": state is $1, utime $12, stime $13.
		t=$(sed 's/^.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }') || t=0
		sum=$((sum + t))
	done
	echo "$sum"
}
ticks_to_s() { awk -v t="$1" -v hz="$TICK" 'BEGIN { printf "%.2f", t / hz }'; }

# runstat_fields STATLINE: "seconds rss_kib" from runstat's JSON line.
runstat_fields() {
	local secs rss
	secs=$(sed -E 's/.*"seconds":([0-9.e+-]+).*/\1/' <<<"$1")
	rss=$(sed -E 's/.*"peak_rss_kib":([0-9]+).*/\1/' <<<"$1")
	echo "$secs $rss"
}

# children_ticks: the CPU of this shell's finished children (cutime + cstime).
children_ticks() { sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'; }

# measure_restic KIND CMD...: runs CMD under runstat; appends a result line
# (with restic's CPU seconds, user + system).
measure_restic() {
	local kind=$1 stat secs rss c0 c1
	shift
	c0=$(children_ticks)
	stat=$("$TOOLS/runstat" "$@" 2>&1 >/dev/null | tail -1)
	c1=$(children_ticks)
	read -r secs rss <<<"$(runstat_fields "$stat")"
	printf 'restic\t%s\t%s\t%s\t-\t%s\t-\t-\n' "$kind" "$secs" "$rss" "$(ticks_to_s $((c1 - c0)))" >>"$RES"
	printf '  %-8s %-8s %8.2f s  %5d MiB peak RSS  CPU s %s\n' restic "$kind" "$secs" "$((rss / 1024))" "$(ticks_to_s $((c1 - c0)))" >&2
}

# measure_respaldo KIND OUTFILE ARG...: the CLI command `respaldo ARG...` on the
# member's node under runstat (wall time, the CLI's RSS), with the member
# daemon's peak RSS reset before and read after, and the CPU seconds of the
# member and of the storage daemons. Fails if the command does.
measure_respaldo() {
	local kind=$1 out=$2 stat secs rss hwm base m0 m1 s0 s1 rc=0
	shift 2
	echo 5 >"/proc/$MEMBER_PID/clear_refs"
	base=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MEMBER_PID/status")
	m0=$(cpu_ticks "$MEMBER_PID")
	s0=$(cpu_ticks "${STORAGE_PIDS[@]}")
	"$TOOLS/runstat" timeout -k 5 "$LONG_LIMIT" "$BIN" --data "$(mesh_dir "$MEMBER")" "$@" \
		</dev/null 2>"$out.err" >"$out" || rc=$?
	stat=$(tail -n 1 "$out.err")
	m1=$(cpu_ticks "$MEMBER_PID")
	s1=$(cpu_ticks "${STORAGE_PIDS[@]}")
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$MEMBER_PID/status")
	if [ "$rc" != 0 ]; then
		echo "respaldo $kind: exit $rc: $(tail -n 3 "$out.err")" >&2
		echo "member node's log: $(tail -n 5 "$(mesh_dir "$MEMBER").log")" >&2
		return 1
	fi
	read -r secs rss <<<"$(runstat_fields "$stat")"
	printf 'respaldo\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$secs" "$hwm" "$rss" \
		"$(ticks_to_s $((m1 - m0)))" "$(ticks_to_s $((s1 - s0)))" "$base" >>"$RES"
	printf '  %-8s %-8s %8.2f s  %5d MiB peak RSS (member node, %d before; CLI %d MiB)  CPU s: member %s, 6 storage %s\n' \
		respaldo "$kind" "$secs" "$((hwm / 1024))" "$((base / 1024))" "$((rss / 1024))" \
		"$(ticks_to_s $((m1 - m0)))" "$(ticks_to_s $((s1 - s0)))" >&2
}

# profile_start OP SECONDS: fetch CPU profiles of the member's node and of
# storage node 2 into $PROFILE/member-OP.pprof and storage-OP.pprof, in the
# background (PROF_PIDS).
profile_start() {
	curl -sS --fail --max-time $(($2 + 60)) -o "$PROFILE/member-$1.pprof" \
		"http://$PPROF_ADDR/debug/pprof/profile?seconds=$2" &
	PROF_PIDS+=($!)
	curl -sS --fail --max-time $(($2 + 60)) -o "$PROFILE/storage-$1.pprof" \
		"http://$PPROF_ADDR2/debug/pprof/profile?seconds=$2" &
	PROF_PIDS+=($!)
}
# profile_wait: until the profiles are written (bounded by curl's --max-time).
profile_wait() {
	local p rc
	for p in "${PROF_PIDS[@]}"; do
		rc=0
		wait "$p" || rc=$?
		[ "$rc" = 0 ] || echo "warning: a CPU profile could not be fetched (curl exit $rc)" >&2
	done
	PROF_PIDS=()
}
# pprof_addr I: the profiler's address that node I logged.
pprof_addr() {
	grep -o 'pprof: profiler listening.*addr=[0-9.:]*' "$(mesh_dir "$1").log" | sed 's/.*addr=//' | head -n 1
}
profile_seconds() { # profile_seconds RESTIC_SECONDS
	if [ -n "${PROFILE_SECONDS:-}" ]; then echo "$PROFILE_SECONDS"; else awk -v s="$1" 'BEGIN { printf "%d", s * 4 + 5 }'; fi
}

# The member's node is node1; the storage nodes node2..node7.
MEMBER=1
STORAGE=(2 3 4 5 6 7)

# mesh_start ROUND: a fresh mesh in $WORK/meshROUND; sets ROOT, BIN,
# MEMBER_PID, STORAGE_PIDS, KEY and (PROFILE, round 1) PPROF_ADDR (the
# member's profiler) and PPROF_ADDR2 (storage node 2's).
mesh_start() {
	local t=$SECONDS i
	mesh_init "$WORK/mesh$1"
	BIN="$RESPALDO" # built once, above
	if [ -n "$PROFILE" ] && [ "$1" = 1 ]; then
		RESPALDO_PPROF_ADDR=127.0.0.1:0 mesh_create "$MEMBER" home --ec "$EC"
	else
		mesh_create "$MEMBER" home --ec "$EC"
	fi || { echo "the member's node did not start: $(tail -n 3 "$(mesh_dir "$MEMBER").log")" >&2; return 1; }
	for i in "${STORAGE[@]}"; do
		if [ -n "$PROFILE" ] && [ "$1" = 1 ] && [ "$i" = 2 ]; then
			RESPALDO_PPROF_ADDR=127.0.0.1:0 mesh_join "$i" "$(mesh_zone $((i - 1)))"
		else
			mesh_join "$i" "$(mesh_zone $((i - 1)))"
		fi || { echo "storage node $i did not join: $(tail -n 3 "$(mesh_dir "$i").log")" >&2; return 1; }
	done
	wait_connected "$MEMBER" ${#STORAGE[@]} 60 || {
		echo "the member's node lists $(connected "$MEMBER") of ${#STORAGE[@]} storage nodes connected, $(online "$MEMBER") live" >&2
		return 1
	}
	for i in "${STORAGE[@]}"; do
		wait_connected "$i" ${#STORAGE[@]} 60 || {
			echo "storage node $i lists $(connected "$i") peers connected, $(online "$i") live" >&2
			return 1
		}
	done
	MEMBER_PID=$(mesh_pid "$MEMBER")
	STORAGE_PIDS=()
	for i in "${STORAGE[@]}"; do STORAGE_PIDS+=("$(mesh_pid "$i")"); done
	KEY="$ROOT/node$MEMBER.recovery-key"
	PPROF_ADDR="" PPROF_ADDR2=""
	if [ -n "$PROFILE" ] && [ "$1" = 1 ]; then
		PPROF_ADDR=$(pprof_addr "$MEMBER")
		PPROF_ADDR2=$(pprof_addr 2)
		[ -n "$PPROF_ADDR" ] && [ -n "$PPROF_ADDR2" ] || { echo "the member's node or node2 logged no pprof address" >&2; return 1; }
	fi
	echo "  mesh: member's node and ${#STORAGE[@]} storage daemons up, connected and live in $((SECONDS - t))s (member PID $MEMBER_PID)" >&2
}

if [ -n "$PROFILE" ]; then
	mkdir -p "$PROFILE"
	cp "$RESPALDO" "$PROFILE/respaldo"
fi

# settle: write back dirty pages and wait until the disk has had no
# request for 2 s (at most 30 s), so one step's writeback is not timed in the
# next one.
settle() {
	sync
	local prev="" cur quiet=0 deadline=$((SECONDS + 30)) f
	f=$(df --output=source "$WORK" | tail -n 1)
	f="/sys/class/block/$(basename "$(readlink -f "$f")")/stat"
	[ -r "$f" ] || { sleep 2; return 0; }
	while [ "$quiet" -lt 4 ] && [ "$SECONDS" -le "$deadline" ]; do
		cur=$(cat "$f")
		if [ "$cur" = "$prev" ]; then quiet=$((quiet + 1)); else quiet=0; fi
		prev=$cur
		sleep 0.5
	done
}

# Nothing is deleted until the end of the run: on this kind of machine (ext4
# with online discard on a virtual disk) writing right after deleting a GiB
# cost about twice the system time (restic's restore: 3.4 s → 10.7 s of
# system CPU, 4.5 s → 10 s wall), which would time the previous step's
# clean-up rather than the tool. So each round writes into new folders.
need=$(( BYTES * 6 * ROUNDS / 1024 ))
have=$(df --output=avail -k "$WORK" | tail -n 1)
[ "$have" -ge "$need" ] || { echo "bench-vs-restic.sh: $((need / 1024)) MiB free needed in $WORK for $ROUNDS rounds, $((have / 1024)) MiB there" >&2; exit 1; }

run_restic() {
	local round=$1 repo="$WORK/restic-repo.$1"
	restic init --repo "$repo" >/dev/null
	settle
	measure_restic backup restic --repo "$repo" backup --quiet "$DATA"
	restic_backup_s=$(awk -F'\t' '$1 == "restic" && $2 == "backup" { s = $3 } END { print s }' "$RES")
	settle
	measure_restic rebackup restic --repo "$repo" backup --quiet "$DATA"
	settle
	measure_restic restore restic --repo "$repo" restore latest --target "$WORK/restic-restore.$round"
	restic_restore_s=$(awk -F'\t' '$1 == "restic" && $2 == "restore" { s = $3 } END { print s }' "$RES")
}

run_respaldo() {
	local round=$1
	mesh_start "$round"
	settle
	profiling=""
	[ -n "$PPROF_ADDR" ] && profiling=1
	[ -n "$profiling" ] && profile_start backup "$(profile_seconds "$restic_backup_s")"
	measure_respaldo backup "$WORK/backup1.out" backup "$DATA" --json
	[ -n "$profiling" ] && profile_wait
	res=$(tail -n 1 "$WORK/backup1.out")
	tol=$(jnum tolerates_losses "$res")
	[ "$tol" = 2 ] || echo "  warning: the first backup tolerates $tol losses, not 2: $res" >&2
	settle
	measure_respaldo rebackup "$WORK/backup2.out" backup "$DATA" --json
	new2=$(jnum new_bytes "$(tail -n 1 "$WORK/backup2.out")")
	[ "${new2:-1}" -lt $((BYTES / 100)) ] || echo "  warning: the re-backup stored $new2 new bytes" >&2
	RESTORED="$WORK/respaldo-restore.$round"
	settle
	[ -n "$profiling" ] && profile_start restore "$(profile_seconds "$restic_restore_s")"
	measure_respaldo restore "$WORK/restore.out" restore latest --target "$RESTORED" --recovery-key-file "$KEY" --json
	[ -n "$profiling" ] && profile_wait
	if [ "$round" = 1 ]; then
		# The restore must be exact, or the speed means nothing.
		"$TOOLS/gen-data" -compare "$DATA" "$RESTORED/$(basename "$DATA")" >&2
	fi
	mesh_down >/dev/null 2>&1 || true
	ROOT=""
}

# Rounds alternate which tool goes first (odd rounds restic, even rounds
# respaldo), so neither always runs on a machine the other just warmed or
# dirtied. Profiles need restic's times, so with PROFILE every round starts
# with restic.
restic_backup_s=10 restic_restore_s=10
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round/$ROUNDS (load average $(cut -d" " -f1-3 /proc/loadavg))" >&2
	if [ $((round % 2)) = 1 ] || [ -n "$PROFILE" ]; then
		run_restic "$round"
		run_respaldo "$round"
	else
		run_respaldo "$round"
		run_restic "$round"
	fi
done

if [ -n "$PROFILE" ]; then
	echo "CPU profiles of the member's node and storage node 2 (round 1) in $PROFILE: {member,storage}-{backup,restore}.pprof" >&2
	echo "  go tool pprof -top -nodecount=40 $PROFILE/respaldo $PROFILE/member-backup.pprof" >&2
	echo "  (round 1's respaldo figures include the profiler's overhead)" >&2
fi

# Every run, then medians and ratios.
echo
echo "every run (seconds; peak RSS MiB: restic's process, respaldo's member node; respaldo's member RSS before, CLI RSS and CPU s):"
awk -F'\t' '{
	if ($1 == "restic") printf "  %-8s %-8s %8.2f s  %5d MiB  (CPU s %s)\n", $1, $2, $3, $4 / 1024, $6
	else printf "  %-8s %-8s %8.2f s  %5d MiB  (%d before; CLI %d MiB; CPU s member %s, storage %s)\n", $1, $2, $3, $4 / 1024, $8 / 1024, $5 / 1024, $6, $7
}' "$RES"
awk -v bytes="$BYTES" -F'\t' '
function median(arr, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] + 0 < arr[i] + 0) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
	return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{ k = $1 SUBSEP $2; n[k]++; s[k, n[k]] = $3; r[k, n[k]] = $4; c[k, n[k]] = $5; mc[k, n[k]] = $6; sc[k, n[k]] = $7 }
END {
	split("restic respaldo", tools, " "); split("backup rebackup restore", kinds, " ")
	for (t = 1; t <= 2; t++) for (q = 1; q <= 3; q++) {
		k = tools[t] SUBSEP kinds[q]; m = n[k]
		for (i = 1; i <= m; i++) { a[i] = s[k, i]; b[i] = r[k, i]; d[i] = c[k, i]; e[i] = mc[k, i]; f[i] = sc[k, i] }
		sec[tools[t], kinds[q]] = median(a, m); rss[tools[t], kinds[q]] = median(b, m)
		if (rss[tools[t], kinds[q]] > peak[tools[t]]) peak[tools[t]] = rss[tools[t], kinds[q]]
		if (tools[t] == "respaldo") {
			cli[kinds[q]] = median(d, m); mcpu[kinds[q]] = median(e, m); scpu[kinds[q]] = median(f, m)
		} else rcpu[kinds[q]] = median(e, m)
	}
	mb = bytes / 1e6
	printf "\nmedians over %d rounds of %.0f MB (respaldo: member node + 6 storage daemons on 127.0.0.1, 4+2):\n", n["restic" SUBSEP "backup"], mb
	printf "%-10s %12s %12s %12s %13s\n", "", "backup MB/s", "rebackup s", "restore MB/s", "peak RSS MiB"
	for (t = 1; t <= 2; t++) {
		x = tools[t]
		printf "%-10s %12.1f %12.2f %12.1f %13.0f\n", x, mb / sec[x, "backup"], sec[x, "rebackup"], mb / sec[x, "restore"], peak[x] / 1024
	}
	printf "respaldo peak RSS is the member node'\''s; its CLI: backup %.0f, rebackup %.0f, restore %.0f MiB\n", cli["backup"] / 1024, cli["rebackup"] / 1024, cli["restore"] / 1024
	printf "CPU s, medians: restic backup %.2f, rebackup %.2f, restore %.2f; respaldo member / six storage daemons summed: backup %.2f / %.2f, rebackup %.2f / %.2f, restore %.2f / %.2f\n",
		rcpu["backup"], rcpu["rebackup"], rcpu["restore"],
		mcpu["backup"], scpu["backup"], mcpu["rebackup"], scpu["rebackup"], mcpu["restore"], scpu["restore"]
	rb = sec["restic", "backup"] / sec["respaldo", "backup"]
	rr = sec["respaldo", "rebackup"] / sec["restic", "rebackup"]
	rs = sec["restic", "restore"] / sec["respaldo", "restore"]
	rm = peak["respaldo"] / peak["restic"]
	printf "\nratios respaldo/restic and targets:\n"
	printf "  backup speed      %5.2fx  (target >= 1.0x)  %s\n", rb, (rb >= 1.0) ? "met" : "NOT met"
	printf "  re-backup time    %5.2fx  (target <= 1.0x)  %s\n", rr, (rr <= 1.0) ? "met" : "NOT met"
	printf "  restore speed     %5.2fx  (target >= 1.0x)  %s\n", rs, (rs >= 1.0) ? "met" : "NOT met"
	printf "  peak RSS          %5.2fx  (target <= 1.0x)  %s\n", rm, (rm <= 1.0) ? "met" : "NOT met"
}' "$RES"
