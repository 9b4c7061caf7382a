#!/usr/bin/env bash
# Times every report of `mfactl report` over the generated benchmark directory (10,000,000 auth
# events, 1,000,000 tokens, 250,000 users, 100,000 audit events) with /usr/bin/time -v and prints
# wall time, CPU time and peak RSS per report. Output goes to /dev/null.
#
#   internal/report/bench.sh            from the repository root
#
# The directory is generated once (a few minutes) by the store benchmark and cached at
# $TMPDIR/mfactl-bench/report.db; MFACTL_BENCH_REPORTS_DB names another path. The generated
# events span 2025-11-01 to 2026-11-01, so the windows below are RFC 3339 dates.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=${MFACTL_BENCH_REPORTS_DB:-${TMPDIR:-/tmp}/mfactl-bench/report.db}
bin=$(mktemp -d)/mfactl
CGO_ENABLED=0 go build -o "$bin" ./cmd/mfactl
if [ ! -f "$db" ]; then
  echo "generating $db (a few minutes)..." >&2
  MFACTL_BENCH_REPORTS=1 go test ./internal/store -run '^$' -bench 'ReportTokenInventory' -benchtime 1x >&2
fi
# MFACTL_BENCH_REPORTS_TARGET, when set, is the directory the reports read instead (bench-pg.sh
# sets it to the PostgreSQL copy of the generated directory).
db=${MFACTL_BENCH_REPORTS_TARGET:-$db}
# Open it once so that any pending migration (new indexes) is not timed with the first report.
"$bin" --db "$db" report tokens >/dev/null

run() {
  local label=$1; shift
  local out
  out=$( { /usr/bin/time -v "$bin" --db "$db" report "$@" >/dev/null; } 2>&1 )
  local wall user sys rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' <<<"$out")
  user=$(sed -n 's/.*User time (seconds): //p' <<<"$out")
  sys=$(sed -n 's/.*System time (seconds): //p' <<<"$out")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' <<<"$out")
  printf '%-58s %9s %8.2f %7d\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024))
}

printf '%-58s %9s %8s %7s\n' "report (mfactl report ...)" "wall" "cpu s" "RSS MiB"
run "usage --by day (10M events)"                     usage --by day
run "usage --by day --since 2026-10-02 (30 days)"     usage --by day --since 2026-10-02
run "usage --by user -o json (10M, 250k groups)"      usage --by user -o json
run "usage --by user --since 2026-10-02 -o csv"       usage --by user --since 2026-10-02 -o csv
run "usage --by method (10M)"                         usage --by method
run "usage --by result (10M)"                         usage --by result
run "usage --by day --user user0000042@contoso.com"   usage --by day --user user0000042@contoso.com
run "usage --since 2026-10-31 -o json (1 day, 27k)"   usage --since 2026-10-31 -o json
run "usage --since 2026-10-02 -o csv (30 days, 822k)" usage --since 2026-10-02 -o csv
run "usage --since 2026-10-02 (table, two passes)"    usage --since 2026-10-02
run "usage -o csv (all 10M events)"                   usage -o csv
run "registration -o csv (250k users)"                registration -o csv
run "registration (table, two passes)"                registration
run "tokens (inventory of 1M)"                        tokens
run "tokens --unused-for 90d -o csv (631k tokens)"    tokens --unused-for 90d -o csv
run "audit -o json (100k)"                            audit -o json
