#!/usr/bin/env bash
# test-mesh.sh — the process-level mesh test that CI runs: six real daemons
# on 127.0.0.1 joined by invites (scripts/mesh-up.sh); each must list the
# other five as connected within 30 s (scaled by RESPALDO_TEST_TIMESCALE);
# a reused invite and a mangled one must be refused with one line and exit 1;
# a libp2p host outside the roster, over TCP and over QUIC, can open no stream
# of any of our protocols on any node, and only the join protocol on a node
# with an open invite; a node killed with SIGKILL and restarted five times in a
# row hears every peer again within 20 s each time (QUIC and TCP).
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE="${RESPALDO_TEST_TIMESCALE:-1}"
LIMIT=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 30 * s }')
ROOT="$(mktemp -d /tmp/respaldo-test-mesh.XXXXXX)"
trap 'bash scripts/mesh-down.sh "$ROOT" >/dev/null 2>&1 || rm -rf "$ROOT"' EXIT
RESPALDO_MESH_DIR="$ROOT" bash scripts/mesh-up.sh 6 >/dev/null
BIN="$ROOT/respaldo"
go build -o "$ROOT/outsider" ./scripts/outsider
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

# Every node's addresses, as node1 and node2 see them (node1 for the others).
peer_addrs() { # peer_addrs I: /…/p2p/ID addresses of every peer node I lists
	"$BIN" --data "$ROOT/node$1" peers --json | tr -d ' \n' | grep -o '"id":"[^"]*","zone":"[^"]*","role":"[^"]*","addrs":\[[^]]*\]' |
		sed -E 's/"id":"([^"]*)".*"addrs":\[(.*)\]/\1 \2/' | while read -r id list; do
			tr ',' '\n' <<<"$list" | tr -d '"' | sed "s|\$|/p2p/$id|"
		done
}
all=$( (peer_addrs 1; peer_addrs 2) | sort -u)
[ "$(wc -l <<<"$all")" -ge 12 ] || fail "could not learn the nodes' addresses: $all"
out=$("$ROOT/outsider" -timeout 5s $all) || fail "a host outside the roster opened streams: $(grep OPENED <<<"$out")"
echo "ok  a host outside the roster opened no stream: $(grep -c refused <<<"$out") attempts over TCP and QUIC on six nodes refused"

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

# With an invite open on node1, a guest may speak the join protocol there and nothing else.
node1=$(peer_addrs 2 | grep "$("$BIN" --data "$ROOT/node1" status --json | grep -o '"peer_id": "[^"]*"' | cut -d'"' -f4)")
out=$("$ROOT/outsider" -timeout 5s $node1) || true
opened=$(grep OPENED <<<"$out" | grep -v /respaldo/join/ || true)
[ -z "$opened" ] || fail "a join-window guest opened: $opened"
grep -q "OPENED  /respaldo/join/1.0.0" <<<"$out" || fail "the join protocol was not reachable with an invite open: $out"
echo "ok  with an invite open, a guest reaches only the join protocol"

# kill -9 and restart one node, five times in a row: over QUIC its peers keep
# the dead connection until it idles out, and gossipsub stuck to it for 30 s
# each time and for good after the fourth (node/connwatch.go). Each time the
# restarted node must hear every other node's heartbeat again within 20 s.
online() { "$BIN" --data "$ROOT/node$1" status --json 2>/dev/null | grep -o '"peers_online": [0-9]*' | grep -o '[0-9]*$' || true; }
RLIMIT=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 20 * s }')
took=""
for round in 1 2 3 4 5; do
	pid=$(cat "$ROOT/node6.pid")
	kill -KILL "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	"$BIN" --data "$ROOT/node6" node >>"$ROOT/node6.log" 2>&1 &
	echo $! >"$ROOT/node6.pid"
	echo $! >>"$ROOT/pids"
	disown # no "Killed" line from this shell at the next round
	t0=$(date +%s)
	until [ "$(online 6)" = 5 ]; do
		[ $(($(date +%s) - t0)) -le "$RLIMIT" ] || fail "restart $round after kill -9: node6 hears $(online 6) of 5 peers after ${RLIMIT}s"
		sleep 0.5
	done
	took="$took $(($(date +%s) - t0))s"
done
echo "ok  node6 killed with SIGKILL and restarted 5 times; it heard all five peers again after:$took"

echo "6 passed, 0 failed"
