#!/usr/bin/env bash
# mesh-down.sh DIR — stop the daemons that scripts/mesh-up.sh started from DIR
# (SIGTERM, then SIGKILL after 10 s) and remove DIR. With --keep, DIR stays.
set -euo pipefail
. "$(dirname "$0")/lib-mesh.sh"
keep=false
if [ "${1:-}" = "--keep" ]; then keep=true; shift; fi
ROOT="${1:?usage: mesh-down.sh [--keep] DIR (the folder mesh-up.sh printed)}"
if [ ! -f "$ROOT/pids" ]; then
	echo "no mesh runs from $ROOT (no $ROOT/pids)" >&2
	exit 1
fi
MESH_SCALE=1 # the 10 s of SIGTERM grace, whatever the tests' scale
mesh_down
if [ "$keep" = false ]; then rm -rf "$ROOT"; fi
echo "stopped $MESH_STOPPED nodes"
