#!/usr/bin/env bash
# mesh-up.sh N — start N real respaldo daemons on 127.0.0.1 in temporary data
# folders, in three zones: the first creates the mesh, the others join it by
# invite. Prints how to reach each node; scripts/mesh-down.sh stops them.
#
#   bash scripts/mesh-up.sh 6
#   RESPALDO_MESH_DIR=/tmp/m bash scripts/mesh-up.sh 4     # choose the folder
#
# Everything listens on 127.0.0.1 only; the API of each node on a free port.
# The helpers are in scripts/lib-mesh.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-mesh.sh

N="${1:-6}"
if ! [[ "$N" =~ ^[0-9]+$ ]] || [ "$N" -lt 1 ]; then
	echo "usage: mesh-up.sh N (N >= 1 nodes)" >&2
	exit 2
fi
mesh_init "${RESPALDO_MESH_DIR:-$(mktemp -d /tmp/respaldo-mesh.XXXXXX)}"
if [ -e "$ROOT/pids" ]; then
	echo "a mesh already runs from $ROOT (scripts/mesh-down.sh $ROOT stops it)" >&2
	exit 1
fi
mesh_build

mesh_create 1 "$(mesh_zone 1)"
for i in $(seq 2 "$N"); do
	mesh_join "$i" "$(mesh_zone "$i")"
done

echo "$N nodes running from $ROOT (logs: $ROOT/nodeI.log)"
for i in $(seq 1 "$N"); do
	echo "  node$i ($(mesh_zone "$i")): $BIN --data $ROOT/node$i status"
done
echo "stop them: bash scripts/mesh-down.sh $ROOT"
