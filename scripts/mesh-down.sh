#!/usr/bin/env bash
# mesh-down.sh DIR — stop the daemons that scripts/mesh-up.sh started from DIR
# (SIGTERM, then SIGKILL after 10 s) and remove DIR. With --keep, DIR stays.
set -euo pipefail
keep=false
if [ "${1:-}" = "--keep" ]; then keep=true; shift; fi
ROOT="${1:?usage: mesh-down.sh [--keep] DIR (the folder mesh-up.sh printed)}"
if [ ! -f "$ROOT/pids" ]; then
	echo "no mesh runs from $ROOT (no $ROOT/pids)" >&2
	exit 1
fi
mapfile -t pids <"$ROOT/pids"
kill -TERM "${pids[@]}" 2>/dev/null || true
for _ in $(seq 1 100); do
	alive=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ "$alive" = 0 ] && break
	sleep 0.1
done
kill -KILL "${pids[@]}" 2>/dev/null || true
rm -f "$ROOT/pids"
if [ "$keep" = false ]; then rm -rf "$ROOT"; fi
echo "stopped ${#pids[@]} nodes"
