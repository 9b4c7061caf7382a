#!/usr/bin/env bash
# bench-import.sh compares `mfactl tokens import`'s storage path (store.ImportTokens, driven
# by internal/store/cmd/importbench) with the sqlite3 shell building the same directory from the
# same CSV, for the import target of docs/performance.md: 1,000,000 rows within 1.3x of it,
# <= 128 MiB peak RSS, and a re-import of the same file (all unchanged) no slower than the
# first import. A bare one-table .import is measured for context.
#
# Usage: internal/store/testdata/bench-import.sh [ROWS] [REPEAT]
# Needs: go, sqlite3, GNU time (/usr/bin/time). Each measurement is repeated REPEAT times
# (default 1) and the fastest run is reported; the machine should be otherwise idle.
set -euo pipefail

cd "$(dirname "$0")/../../.."
. scripts/lib/measure.sh
. scripts/lib/sqlite-reference.sh
rows=${1:-1000000}
repeat=${2:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/mfactl-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

command -v sqlite3 >/dev/null || { echo "bench-import: sqlite3 not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-import: GNU time (/usr/bin/time) not found" >&2; exit 1; }

go build -o "$work/importbench" ./internal/store/cmd/importbench
"$work/importbench" -gen "$rows" -out "$work/tokens.csv"
echo "file: $rows rows, $(du -m "$work/tokens.csv" | cut -f1) MB, one user per token; sqlite3 $(sqlite3 --version | cut -d' ' -f1); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

sqlite_reference_sql "$work/tokens.csv" "$work"
sqlite3_import() { rm -f "$work/ref.db"*; sqlite3 "$work/ref.db" < "$work/sqlite3-import.sql"; }
sqlite3_directory() { rm -f "$work/dir.db"*; sqlite3 "$work/dir.db" < "$work/sqlite3-directory.sql"; }

mfactl_import() { rm -rf "$work/db"; "$work/importbench" -db "$work/db/mfactl.db" "$work/tokens.csv"; }
mfactl_reimport() { "$work/importbench" -db "$work/db/mfactl.db" "$work/tokens.csv"; }

export -f sqlite3_import sqlite3_directory mfactl_import mfactl_reimport
export work

: > "$work/results"
measure sqlite3-import bash -c sqlite3_import
measure sqlite3-directory bash -c sqlite3_directory
measure mfactl-import bash -c mfactl_import
# The re-import needs the database of a first import: make sure one exists.
[ -f "$work/db/mfactl.db" ] || mfactl_import >/dev/null
measure mfactl-reimport bash -c mfactl_reimport

echo
awk '
	{ wall[$1]=$2; cpu[$1]=$3; rss[$1]=$4 }
	END {
		printf "%-18s %8s %8s %9s %10s\n", "run", "wall s", "cpu s", "RSS MiB", "x sqlite3-directory"
		split("sqlite3-import sqlite3-directory mfactl-import mfactl-reimport", order, " ")
		for (i = 1; i <= 4; i++) { n = order[i]
			printf "%-18s %8.2f %8.2f %9.1f %10.2f\n", n, wall[n], cpu[n], rss[n], wall[n] / wall["sqlite3-directory"] }
		ok = wall["mfactl-import"] <= 1.3 * wall["sqlite3-directory"] && rss["mfactl-import"] <= 128 && rss["mfactl-reimport"] <= 128 && wall["mfactl-reimport"] <= wall["mfactl-import"]
		printf "\ntarget (import <= 1.3x sqlite3-directory, <= 128 MiB, re-import no slower): %s\n", ok ? "met" : "NOT met"
	}' "$work/results"
