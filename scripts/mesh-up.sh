#!/usr/bin/env bash
# mesh-up.sh N — start N real respaldo daemons on 127.0.0.1 in temporary data
# folders, in three zones: the first creates the mesh, the others join it by
# invite. Prints how to reach each node; scripts/mesh-down.sh stops them.
#
#   bash scripts/mesh-up.sh 6
#   RESPALDO_MESH_DIR=/tmp/m bash scripts/mesh-up.sh 4     # choose the folder
#
# Everything listens on 127.0.0.1 only; the API of each node on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-6}"
if ! [[ "$N" =~ ^[0-9]+$ ]] || [ "$N" -lt 1 ]; then
	echo "usage: mesh-up.sh N (N >= 1 nodes)" >&2
	exit 2
fi
ROOT="${RESPALDO_MESH_DIR:-$(mktemp -d /tmp/respaldo-mesh.XXXXXX)}"
mkdir -p "$ROOT"
if [ -e "$ROOT/pids" ]; then
	echo "a mesh already runs from $ROOT (scripts/mesh-down.sh $ROOT stops it)" >&2
	exit 1
fi
BIN="$ROOT/respaldo"
go build -o "$BIN" ./cmd/respaldo

LISTEN=(--listen /ip4/127.0.0.1/tcp/0 --listen /ip4/127.0.0.1/udp/0/quic-v1 --api 127.0.0.1:0)
# The tests' short intervals make a local mesh settle in seconds.
FAST=(--heartbeat 1s)

wait_api() { # wait_api DIR: until the node in DIR answers its API
	for _ in $(seq 1 200); do
		if "$BIN" --data "$1" status >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "node in $1 did not start; see $1.log" >&2
	return 1
}

zone() { echo "zone$(( ($1 - 1) % 3 + 1 ))"; }

"$BIN" --data "$ROOT/node1" mesh create --zone "$(zone 1)" "${LISTEN[@]}" "${FAST[@]}" \
	--recovery-key-out "$ROOT/node1.recovery-key" >/dev/null
"$BIN" --data "$ROOT/node1" node >"$ROOT/node1.log" 2>&1 &
echo $! >>"$ROOT/pids"
wait_api "$ROOT/node1"

for i in $(seq 2 "$N"); do
	inv=$("$BIN" --data "$ROOT/node1" invite --zone "$(zone "$i")" --role storage --ttl 10m 2>/dev/null)
	"$BIN" --data "$ROOT/node$i" join "$inv" "${LISTEN[@]}" "${FAST[@]}" \
		--recovery-key-out "$ROOT/node$i.recovery-key" >"$ROOT/node$i.log" 2>&1 &
	echo $! >>"$ROOT/pids"
	wait_api "$ROOT/node$i"
done

echo "$N nodes running from $ROOT (logs: $ROOT/nodeI.log)"
for i in $(seq 1 "$N"); do
	echo "  node$i ($(zone "$i")): $BIN --data $ROOT/node$i status"
done
echo "stop them: bash scripts/mesh-down.sh $ROOT"
