#!/usr/bin/env bash
# bench-import.sh measures the end-to-end `mfactl tokens import` (the built binary: reading,
# the file rules, encryption and the SQLite transaction) of a generated Azure OATH CSV against
# the sqlite3 shell building the same directory from the same file, for the import target of
# docs/performance.md: 1,000,000 rows within 1.3x of it, at most 128 MiB peak RSS, and a
# re-import of the same file (every row unchanged) no slower than the first import. A bare
# one-table .import is measured for context. internal/store/testdata/bench-import.sh
# measures the storage path alone (store.ImportTokens) with the same sqlite3 reference.
#
# Usage: scripts/bench-import.sh [ROWS] [REPEAT]     (default 1000000 rows, 1 run each)
# Needs: go, sqlite3, GNU time (/usr/bin/time). With REPEAT > 1 the fastest run is reported.
# Run it on an otherwise idle machine: wall times of a busy one say little; CPU time
# (user + system) is printed beside them for that reason.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/lib/measure.sh
. scripts/lib/sqlite-reference.sh
rows=${1:-1000000}
repeat=${2:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/mfactl-bench-import.XXXXXX")
trap 'rm -rf "$work"' EXIT

command -v sqlite3 >/dev/null || { echo "bench-import: sqlite3 not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-import: GNU time (/usr/bin/time) not found" >&2; exit 1; }

CGO_ENABLED=0 go build -o "$work/mfactl" ./cmd/mfactl
go build -o "$work/csvbench" ./internal/tokens/tokenstest/cmd/csvbench
# tokenstest.GenerateCSV: one user per token, distinct 20-byte secrets, 30 s (60 s every tenth).
"$work/csvbench" -gen "$rows" -out "$work/tokens.csv" >/dev/null
echo "file: $rows rows, $(du -m "$work/tokens.csv" | cut -f1) MB; sqlite3 $(sqlite3 --version | cut -d' ' -f1);" \
	"$(go env GOVERSION); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

sqlite_reference_sql "$work/tokens.csv" "$work"
sqlite3_import() { rm -f "$work/ref.db"*; sqlite3 "$work/ref.db" < "$work/sqlite3-import.sql"; }
sqlite3_directory() { rm -f "$work/refdir.db"*; sqlite3 "$work/refdir.db" < "$work/sqlite3-directory.sql"; }
mfactl_import() { rm -rf "$work/dir"; "$work/mfactl" --db "$work/dir/mfactl.db" -o json tokens import "$work/tokens.csv"; }
mfactl_reimport() { "$work/mfactl" --db "$work/dir/mfactl.db" -o json tokens import "$work/tokens.csv"; }
export -f sqlite3_import sqlite3_directory mfactl_import mfactl_reimport
export work

: > "$work/results"
measure sqlite3-import bash -c sqlite3_import
measure sqlite3-directory bash -c sqlite3_directory
measure mfactl-import bash -c mfactl_import
grep -q "\"imported\": $rows," "$work/mfactl-import.out" || { echo "bench-import: first import did not import $rows rows" >&2; exit 1; }
[ -f "$work/dir/mfactl.db" ] || mfactl_import >/dev/null 2>&1
measure mfactl-reimport bash -c mfactl_reimport
grep -q "\"unchanged\": $rows," "$work/mfactl-reimport.out" || { echo "bench-import: re-import did not find $rows unchanged rows" >&2; exit 1; }

awk '
	{ wall[$1]=$2; cpu[$1]=$3; rss[$1]=$4 }
	END {
		printf "%-18s %8s %8s %9s %10s\n", "run", "wall s", "cpu s", "RSS MiB", "x sqlite3-directory"
		split("sqlite3-import sqlite3-directory mfactl-import mfactl-reimport", order, " ")
		for (i = 1; i <= 4; i++) { n = order[i]
			printf "%-18s %8.2f %8.2f %9.1f %10.2f\n", n, wall[n], cpu[n], rss[n], wall[n] / wall["sqlite3-directory"] }
		t = wall["mfactl-import"] <= 1.3 * wall["sqlite3-directory"]
		m = rss["mfactl-import"] <= 128 && rss["mfactl-reimport"] <= 128
		r = wall["mfactl-reimport"] <= wall["mfactl-import"]
		printf "\ntime <= 1.3x sqlite3-directory: %s; peak RSS <= 128 MiB: %s; re-import no slower: %s\n",
			t ? "met" : "NOT met", m ? "met" : "NOT met", r ? "met" : "NOT met"
	}' "$work/results"
