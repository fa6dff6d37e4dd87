#!/usr/bin/env bash
# test-mesh.sh — the process-level mesh test that CI runs: six real daemons
# on 127.0.0.1 joined by invites (scripts/mesh-up.sh); each must list the
# other five as connected within 30 s (scaled by RESPALDO_TEST_TIMESCALE);
# a reused invite and a mangled one must be refused with one line and exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE="${RESPALDO_TEST_TIMESCALE:-1}"
LIMIT=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 30 * s }')
ROOT="$(mktemp -d /tmp/respaldo-test-mesh.XXXXXX)"
trap 'bash scripts/mesh-down.sh "$ROOT" >/dev/null 2>&1 || rm -rf "$ROOT"' EXIT
RESPALDO_MESH_DIR="$ROOT" bash scripts/mesh-up.sh 6 >/dev/null
BIN="$ROOT/respaldo"
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }

connected() { # connected I: how many peers node I lists as connected
	"$BIN" --data "$ROOT/node$1" peers --json | grep -c '"connected": true' || true
}
start=$(date +%s)
for i in 1 2 3 4 5 6; do
	while [ "$(connected "$i")" -lt 5 ]; do
		[ $(($(date +%s) - start)) -le "$LIMIT" ] || fail "node$i lists $(connected "$i") of 5 peers connected after ${LIMIT}s"
		sleep 0.5
	done
done
echo "ok  six daemons joined by invites; each lists the other five connected after $(($(date +%s) - start))s"

one_line_refusal() { # one_line_refusal WHAT PATTERN CMD...: exit 1, one stderr line matching PATTERN
	local what=$1 pat=$2; shift 2
	local err rc=0
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" = 1 ] || fail "$what: exit $rc, want 1 ($err)"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$what: more than one line: $err"
	[[ "$err" =~ $pat ]] || fail "$what: $err"
	echo "ok  $what: $err"
}

# A used invite, while another invite is open (so the join window is open
# and the token itself is judged).
used=$("$BIN" --data "$ROOT/node1" invite --zone zone1 --ttl 5m 2>/dev/null)
"$BIN" --data "$ROOT/node7" join "$used" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0 \
	--recovery-key-out "$ROOT/node7.key" >"$ROOT/node7.log" 2>&1 &
echo $! >>"$ROOT/pids"
for _ in $(seq 1 100); do "$BIN" --data "$ROOT/node7" status >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN" --data "$ROOT/node1" invite --zone zone2 --ttl 5m >/dev/null 2>&1
one_line_refusal "reused invite" "token-used" \
	"$BIN" --data "$ROOT/node8" join "$used" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0

# A mangled invite: one character changed, so the checksum fails before any
# dialling. (A forged token with a valid checksum is refused as unknown-token:
# node/join_test.go.)
mangled="${used:0:20}$( [ "${used:20:1}" = a ] && echo b || echo a )${used:21}"
one_line_refusal "mangled invite" "checksum" \
	"$BIN" --data "$ROOT/node9" join "$mangled" --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0

echo "3 passed, 0 failed"
