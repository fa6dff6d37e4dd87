#!/usr/bin/env bash
# bench-vs-restic.sh — restic and respaldo back up and restore the same data on
# this machine, alternating, several rounds, and report medians and ratios.
#
#   bash scripts/bench-vs-restic.sh                 # 1 GiB, 3 rounds
#   SIZE=256MiB ROUNDS=5 bash scripts/bench-vs-restic.sh
#
# respaldo runs its whole local pipeline (keyed CDC, BLAKE3 IDs, zstd, packs,
# age, Reed-Solomon 4+2, crash-safe shard files with fsync) into one local shard
# store; restic backs up into a local repository. Both read the same files from
# the page cache. Peak RSS is the process's own (getrusage), measured alike.
# Installs restic from Debian's packages when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE="${SIZE:-1GiB}"
ROUNDS="${ROUNDS:-3}"
SEED="${SEED:-1}"
EC="${EC:-4+2}"

if ! command -v restic >/dev/null; then
	echo "installing restic from Debian's packages…" >&2
	(apt-get update -qq && apt-get install -y -qq restic) >/dev/null
fi

WORK="$(mktemp -d /tmp/respaldo-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
BIN="$WORK/bin"
mkdir -p "$BIN"
go build -o "$BIN/" ./scripts/gen-data ./scripts/bench-local ./scripts/runstat

DATA="$WORK/data"
"$BIN/gen-data" -out "$DATA" -size "$SIZE" -seed "$SEED" >&2
BYTES=$(du -sb "$DATA" | cut -f1)
echo "data set: $BYTES bytes in $(find "$DATA" -type f | wc -l) files (seed $SEED)" >&2
echo "machine: $(nproc) cores, $(restic version | head -1)" >&2

export RESTIC_PASSWORD=bench-only-password
RES="$WORK/results.tsv"
: >"$RES"

# measure NAME KIND CMD...: runs CMD under runstat, appends "NAME KIND seconds rss_kib".
measure() {
	local name=$1 kind=$2; shift 2
	local stat
	stat=$("$BIN/runstat" "$@" 2>&1 >/dev/null | tail -1)
	local secs rss
	secs=$(sed -E 's/.*"seconds":([0-9.e+-]+).*/\1/' <<<"$stat")
	rss=$(sed -E 's/.*"peak_rss_kib":([0-9]+).*/\1/' <<<"$stat")
	printf '%s\t%s\t%s\t%s\n' "$name" "$kind" "$secs" "$rss" >>"$RES"
	printf '  %-8s %-8s %8.2f s  %7d MiB\n' "$name" "$kind" "$secs" "$((rss / 1024))" >&2
}

for round in $(seq 1 "$ROUNDS"); do
	echo "round $round/$ROUNDS" >&2
	sync
	rm -rf "$WORK/restic-repo" "$WORK/restic-restore"
	restic init --repo "$WORK/restic-repo" >/dev/null
	measure restic backup restic --repo "$WORK/restic-repo" backup --quiet "$DATA"
	measure restic rebackup restic --repo "$WORK/restic-repo" backup --quiet "$DATA"
	measure restic restore restic --repo "$WORK/restic-repo" restore latest --target "$WORK/restic-restore"
	rm -rf "$WORK/restic-repo" "$WORK/restic-restore"
	sync

	rm -rf "$WORK/respaldo-store" "$WORK/respaldo-restore"
	measure respaldo backup "$BIN/bench-local" backup -store "$WORK/respaldo-store" -ec "$EC" "$DATA"
	measure respaldo rebackup "$BIN/bench-local" backup -store "$WORK/respaldo-store" -ec "$EC" "$DATA"
	measure respaldo restore "$BIN/bench-local" restore -store "$WORK/respaldo-store" -target "$WORK/respaldo-restore"
	if [ "$round" = 1 ]; then
		# The restore must be exact, or the speed means nothing.
		"$BIN/bench-local" compare "$DATA" "$WORK/respaldo-restore/$(basename "$DATA")" >&2
	fi
	rm -rf "$WORK/respaldo-store" "$WORK/respaldo-restore"
	sync
done

# Medians and ratios.
awk -v bytes="$BYTES" -F'\t' '
function median(arr, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
	return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{ k = $1 SUBSEP $2; n[k]++; s[k, n[k]] = $3; r[k, n[k]] = $4 }
END {
	split("restic respaldo", tools, " "); split("backup rebackup restore", kinds, " ")
	for (t = 1; t <= 2; t++) for (q = 1; q <= 3; q++) {
		k = tools[t] SUBSEP kinds[q]; m = n[k]
		for (i = 1; i <= m; i++) { a[i] = s[k, i]; b[i] = r[k, i] }
		sec[tools[t], kinds[q]] = median(a, m); rss[tools[t], kinds[q]] = median(b, m)
		if (rss[tools[t], kinds[q]] > peak[tools[t]]) peak[tools[t]] = rss[tools[t], kinds[q]]
	}
	mb = bytes / 1e6
	printf "\nmedians over %d rounds of %.0f MB:\n", n["restic" SUBSEP "backup"], mb
	printf "%-10s %12s %14s %12s %14s\n", "", "backup MB/s", "rebackup s", "restore MB/s", "peak RSS MiB"
	for (t = 1; t <= 2; t++) {
		x = tools[t]
		printf "%-10s %12.1f %14.2f %12.1f %14.0f\n", x, mb / sec[x, "backup"], sec[x, "rebackup"], mb / sec[x, "restore"], peak[x] / 1024
	}
	printf "ratios respaldo/restic: backup speed %.2fx, rebackup time %.2fx, restore speed %.2fx, peak RSS %.2fx\n",
		sec["restic", "backup"] / sec["respaldo", "backup"], sec["respaldo", "rebackup"] / sec["restic", "rebackup"],
		sec["restic", "restore"] / sec["respaldo", "restore"], peak["respaldo"] / peak["restic"]
}' "$RES"
