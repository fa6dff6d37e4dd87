# lib-mesh.sh — shell helpers to run real respaldo daemons on 127.0.0.1, shared
# by scripts/mesh-up.sh, scripts/mesh-down.sh and the process-level tests
# (scripts/test-mesh.sh through mesh-up.sh, scripts/test-e2e.sh directly).
# Source it from the repository's root:
#
#   . scripts/lib-mesh.sh
#   mesh_init "$ROOT"             # ROOT: the folder of every node (ROOT/nodeI)
#   mesh_build                    # ROOT/respaldo, built once (no race detector)
#   mesh_create 1 zone1           # node1 makes the mesh and runs
#   mesh_join 2 zone2             # node2 joins by an invite of node1 and runs
#   mesh_stop_node 2              # SIGTERM, bounded wait, then SIGKILL
#   mesh_down                     # stop every node started here
#
# Each started daemon's PID is appended to ROOT/pids (the order of starting)
# and to ROOT/nodeI.pid; its output goes to ROOT/nodeI.log. Every node
# listens on 127.0.0.1 only, its API on a free port. Every wait is bounded;
# bounds scale with RESPALDO_TEST_TIMESCALE (default 1).
#
# The process-level tests (test-e2e.sh, test-repair.sh, test-crash.sh,
# test-crash-repair.sh, bench-repair.sh) share their setup:
#
#   mesh_test_init NAME KEEP_VAR  # ROOT=/tmp/respaldo-test-NAME.XXXXXX; on exit
#                                 # (or INT, TERM) every node is stopped, every
#                                 # mesh_tmpfs unmounted, and ROOT removed unless
#                                 # the variable named KEEP_VAR is set
#   mesh_build_tools              # ROOT/respaldo and ROOT/gen-data
#   mesh_tmpfs DIR SIZE           # a tmpfs of SIZE at DIR (root on Linux), or 1
#   pass/fail/skip/note TEXT      # result lines; counted in passed, failed, skipped
#   jnum/jstr/jall/has_key        # JSON without jq
#   rsp/rsp_long I ARG...         # the CLI on node I, bounded by CMD_LIMIT or
#                                 # LONG_LIMIT (60 and 300 s scaled unless reset;
#                                 # mesh_cli SECONDS I ARG... underneath)
#   online I, connected I         # peers node I counts live, lists connected
#   wait_connected I N [SECONDS]  # until both reach N (30 s scaled)
#   timed WHAT SECONDS            # a step's time; mesh_summary [DETAIL] prints
#                                 # them, the total and the counts
#   die TEXT                      # FAIL, where the logs are, $MESH_ON_DIE, exit 1

MESH_SCALE="${RESPALDO_TEST_TIMESCALE:-1}"
# The nodes' flags: 127.0.0.1 only, free ports; the tests' short heartbeat
# makes a local mesh settle in seconds.
MESH_LISTEN=(--listen /ip4/127.0.0.1/tcp/0 --listen /ip4/127.0.0.1/udp/0/quic-v1 --api 127.0.0.1:0)
MESH_FAST=(--heartbeat 1s)

# mesh_init ROOT: the folder of the mesh (created). Sets ROOT and BIN.
mesh_init() {
	ROOT="$1"
	BIN="$ROOT/respaldo"
	mkdir -p "$ROOT"
}

# mesh_build: the respaldo binary into $BIN (from the repository's root).
mesh_build() {
	go build -o "$BIN" ./cmd/respaldo
}

# mesh_scaled SECONDS: SECONDS times RESPALDO_TEST_TIMESCALE, rounded up.
mesh_scaled() {
	awk -v t="$1" -v s="$MESH_SCALE" 'BEGIN { v = t * s; printf "%d", (v == int(v)) ? v : int(v) + 1 }'
}

# mesh_zone I: the zone of node I when three zones take turns.
mesh_zone() { echo "zone$((($1 - 1) % 3 + 1))"; }

# mesh_dir I: node I's data folder.
mesh_dir() { echo "$ROOT/node$1"; }

# mesh_pid I: the PID of node I's daemon.
mesh_pid() { cat "$ROOT/node$1.pid"; }

# mesh_wait_api DIR [SECONDS]: until the node in DIR answers its API (20 s,
# scaled, by default). Fails if it does not, or if PID (3rd argument) exits.
mesh_wait_api() {
	local dir=$1 limit pid=${3:-}
	limit=$(mesh_scaled "${2:-20}")
	local deadline=$((SECONDS + limit))
	while [ "$SECONDS" -le "$deadline" ]; do
		if timeout -k 1 5 "$BIN" --data "$dir" status >/dev/null 2>&1; then return 0; fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			echo "node in $dir exited before answering; see $dir.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "node in $dir did not answer its API within ${limit}s; see $dir.log" >&2
	return 1
}

# mesh_started I PID: record node I's daemon.
mesh_started() {
	echo "$2" >"$ROOT/node$1.pid"
	echo "$2" >>"$ROOT/pids"
}

# mesh_create I ZONE [FLAG...]: node I makes a new mesh (its member's recovery
# key in ROOT/nodeI.recovery-key) and runs; returns once its API answers.
mesh_create() {
	local i=$1 zone=$2 dir
	shift 2
	dir=$(mesh_dir "$i")
	"$BIN" --data "$dir" mesh create --zone "$zone" "${MESH_LISTEN[@]}" "${MESH_FAST[@]}" \
		--recovery-key-out "$ROOT/node$i.recovery-key" "$@" >/dev/null
	"$BIN" --data "$dir" node >"$dir.log" 2>&1 &
	mesh_started "$i" $!
	mesh_wait_api "$dir" 20 "$(mesh_pid "$i")"
}

# mesh_invite ZONE [ROLE [TTL [INVITER]]]: an invite from node INVITER
# (default 1) for a node of ZONE and ROLE (default storage), valid TTL
# (default 10m).
mesh_invite() {
	timeout -k 5 "$(mesh_scaled 60)" "$BIN" --data "$(mesh_dir "${4:-1}")" invite \
		--zone "$1" --role "${2:-storage}" --ttl "${3:-10m}" 2>/dev/null
}

# mesh_join I ZONE [FLAG...]: node I joins by an invite of node1 (a new
# member, its recovery key in ROOT/nodeI.recovery-key, unless FLAG gives
# --recovery-key-file) and runs; returns once its API answers.
mesh_join() {
	local i=$1 zone=$2 inv
	shift 2
	inv=$(mesh_invite "$zone") || { echo "node1 made no invite for node$i" >&2; return 1; }
	mesh_join_with "$i" "$inv" "$@"
}

# mesh_join_with I INVITE [FLAG...]: node I joins with INVITE and runs;
# returns once its API answers.
mesh_join_with() {
	local i=$1 inv=$2 dir key=()
	shift 2
	dir=$(mesh_dir "$i")
	case " $* " in
	*" --recovery-key-file "*) ;;
	*) key=(--recovery-key-out "$ROOT/node$i.recovery-key") ;;
	esac
	"$BIN" --data "$dir" join "$inv" "${MESH_LISTEN[@]}" "${MESH_FAST[@]}" "${key[@]}" "$@" >"$dir.log" 2>&1 &
	mesh_started "$i" $!
	mesh_wait_api "$dir" 20 "$(mesh_pid "$i")"
}

# mesh_stop PID...: SIGTERM, wait up to 10 s (scaled) for them to exit, then
# SIGKILL. Returns 1 if any had to be killed.
mesh_stop() {
	[ $# -gt 0 ] || return 0
	local limit p alive rc=0
	limit=$(mesh_scaled 10)
	kill -TERM "$@" 2>/dev/null || true
	local deadline=$((SECONDS + limit))
	while [ "$SECONDS" -le "$deadline" ]; do
		alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "$@"; do
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null || true
			rc=1
		fi
	done
	# Reap them when they are this shell's children (no-op otherwise).
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
	return $rc
}

# mesh_stop_node I: stop node I (mesh_stop) and drop it from ROOT/pids.
mesh_stop_node() {
	local pid rc=0
	pid=$(mesh_pid "$1")
	mesh_stop "$pid" || rc=1
	if [ -f "$ROOT/pids" ]; then
		grep -vx "$pid" "$ROOT/pids" >"$ROOT/pids.new" || true
		mv "$ROOT/pids.new" "$ROOT/pids"
	fi
	rm -f "$ROOT/node$1.pid"
	return $rc
}

# mesh_down: stop every node started from ROOT (ROOT/pids) and forget them.
mesh_down() {
	[ -f "$ROOT/pids" ] || return 0
	local pids
	mapfile -t pids <"$ROOT/pids"
	mesh_stop "${pids[@]}" || true
	rm -f "$ROOT/pids" "$ROOT"/node*.pid
	MESH_STOPPED=${#pids[@]}
}

# --- the process-level tests' shared setup ------------------------------------

# mesh_test_init NAME KEEP_VAR: the test's folder (ROOT, in /tmp) and its
# exit trap (mesh_test_cleanup). Resets the result counters.
mesh_test_init() {
	MESH_KEEP_VAR=$2
	MESH_MOUNTS=()
	MESH_TIMES=()
	MESH_T0=$SECONDS
	CMD_LIMIT=$(mesh_scaled 60)
	LONG_LIMIT=$(mesh_scaled 300)
	passed=0 failed=0 skipped=0
	mesh_init "$(mktemp -d "/tmp/respaldo-test-$1.XXXXXX")"
	trap mesh_test_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# mesh_test_cleanup: the EXIT trap of mesh_test_init; keeps the exit status.
mesh_test_cleanup() {
	local rc=$? m
	mesh_down >/dev/null 2>&1 || true
	for m in "${MESH_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "could not unmount $m" >&2
	done
	if [ -n "${!MESH_KEEP_VAR:-}" ]; then
		echo "kept $ROOT"
	else
		rm -rf "$ROOT"
	fi
	exit $rc
}

# mesh_build_tools: ROOT/respaldo (mesh_build) and ROOT/gen-data.
mesh_build_tools() {
	mesh_build && go build -o "$ROOT/gen-data" ./scripts/gen-data
}

# mesh_tmpfs DIR SIZE: mount a tmpfs of SIZE (bytes, or with k/m/g) at DIR
# (created), unmounted by mesh_test_cleanup. Returns 1, mounting nothing,
# where that cannot be done (not root, not Linux, no permission).
mesh_tmpfs() {
	[ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ] || return 1
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null || return 1
	MESH_MOUNTS+=("$1")
}

pass() { echo "PASS  $*"; passed=$((passed + 1)); }
fail() { echo "FAIL  $*"; failed=$((failed + 1)); }
skip() { echo "SKIP  $*"; skipped=$((skipped + 1)); }
note() { echo "      $*"; }

# JSON without jq: the first number or string of KEY in JSON text (compact
# or indented), every value of KEY (one per line), whether KEY has a value.
jnum() { grep -o "\"$1\": *-\{0,1\}[0-9][0-9.eE+-]*" <<<"$2" | head -n 1 | sed 's/.*: *//'; }
jstr() { grep -o "\"$1\": *\"[^\"]*\"" <<<"$2" | head -n 1 | sed 's/.*: *"//; s/"$//'; }
jall() { grep -o "\"$1\": *\"\{0,1\}[^\",]*" <<<"$2" | sed 's/.*: *"\{0,1\}//'; }
has_key() { grep -q "\"$1\": *[^ ]" <<<"$2"; }

# --- the CLI on a node, for the process-level tests ---------------------------

# mesh_cli SECONDS I ARG...: the CLI on node I's folder, stdin not a
# terminal, killed after SECONDS. rsp I ARG... is it within CMD_LIMIT (for
# questions), rsp_long within LONG_LIMIT (backups, restores); a script may
# define its own rsp (test-crash.sh: the member's node alone), so the
# helpers below call mesh_cli.
mesh_cli() {
	local limit=$1 i=$2
	shift 2
	timeout -k 5 "$limit" "$BIN" --data "$(mesh_dir "$i")" "$@" </dev/null
}
rsp() { mesh_cli "$CMD_LIMIT" "$@"; }
rsp_long() { mesh_cli "$LONG_LIMIT" "$@"; }

# online I: how many peers node I counts as live (heard from by heartbeat
# lately: what placement takes); connected I: how many it lists connected.
online() {
	local v
	v=$(jnum peers_online "$(mesh_cli "$CMD_LIMIT" "$1" status --json 2>/dev/null)")
	echo "${v:-0}"
}
connected() { mesh_cli "$CMD_LIMIT" "$1" peers --json 2>/dev/null | grep -c '"connected": true' || true; }

# wait_connected I N [SECONDS]: until node I lists N peers connected and
# counts N live (30 s by default, scaled); 1 if it does not.
wait_connected() {
	local deadline=$((SECONDS + $(mesh_scaled "${3:-30}")))
	while [ "$(connected "$1")" -lt "$2" ] || [ "$(online "$1")" -lt "$2" ]; do
		[ "$SECONDS" -le "$deadline" ] || return 1
		sleep 0.5
	done
}

# --- timings and the end of a test -------------------------------------------

# timed WHAT SECONDS: one step's time, for mesh_summary.
timed() { MESH_TIMES+=("$1"$'\t'"$2"); }

# mesh_summary [DETAIL]: the steps' times (DETAIL after the time scale in the
# heading), the total since mesh_test_init, and the counts of results.
mesh_summary() {
	local t w=5
	for t in "${MESH_TIMES[@]}"; do
		t=${t%%$'\t'*}
		[ ${#t} -le "$w" ] || w=${#t}
	done
	echo
	echo "timings (RESPALDO_TEST_TIMESCALE=$MESH_SCALE${1:+, $1}):"
	for t in "${MESH_TIMES[@]}"; do
		printf '  %-*s %5ds\n' "$w" "${t%%$'\t'*}" "${t#*$'\t'}"
	done
	printf '  %-*s %5ds\n' "$w" "total" $((SECONDS - MESH_T0))
	echo "$passed passed, $failed failed, $skipped skipped"
}

# die TEXT: a failure after which nothing else can be checked: a FAIL line,
# where the node logs are, then the command in MESH_ON_DIE if any (a
# script's summary), and exit 1. MESH_DIE_NOTE (the seed) goes in the line.
die() {
	fail "$*"
	echo "stopping here${MESH_DIE_NOTE:+ ($MESH_DIE_NOTE)}; node logs: $ROOT/node*.log ($MESH_KEEP_VAR=1 keeps them)"
	[ -z "${MESH_ON_DIE:-}" ] || $MESH_ON_DIE
	exit 1
}
