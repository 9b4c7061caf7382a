#!/usr/bin/env bash
# Times every report of `mfactl report` over the benchmark directory (10,000,000 auth events,
# 1,000,000 tokens, 250,000 users, 100,000 audit events) kept in PostgreSQL, with the same
# report list as bench.sh, and prints the query plans of the grouped reports' statements
# (EXPLAIN) to show which indexes of migrations/postgres they use.
#
#   internal/report/bench-pg.sh            from the repository root
#
# The rows are those of bench.sh's SQLite directory ($TMPDIR/mfactl-bench/report.db, generated
# first when absent), copied table by table with sqlite3 and psql's \copy into the database
# mfactl_bench_reports on the admin URL MFACTL_BENCH_PG (default: the local server, trust
# auth). mfactl creates the schema (migrations/postgres); the indexes of the big tables are
# dropped for the copy and built again after it, then ANALYZE gives the planner the statistics
# autovacuum would gather in a live directory. The loaded database is kept (a few minutes to
# build; MFACTL_BENCH_PG_RELOAD=1 builds it again) and dropped by hand when no longer wanted:
#   psql "$MFACTL_BENCH_PG" -c 'DROP DATABASE mfactl_bench_reports'
# Needs: go, sqlite3, psql, GNU time, bc.
set -euo pipefail
cd "$(dirname "$0")/../.."
admin=${MFACTL_BENCH_PG:-postgres://root@127.0.0.1:5432/postgres?sslmode=disable}
name=mfactl_bench_reports
url=$(echo "$admin" | sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$name#")
src=${MFACTL_BENCH_REPORTS_DB:-${TMPDIR:-/tmp}/mfactl-bench/report.db}
key="$(dirname "$src")/mfactl.key"
bin=$(mktemp -d)/mfactl
CGO_ENABLED=0 go build -o "$bin" ./cmd/mfactl

if [ ! -f "$src" ]; then
  echo "generating $src (a few minutes)..." >&2
  MFACTL_BENCH_REPORTS=1 go test ./internal/store -run '^$' -bench 'ReportTokenInventory' -benchtime 1x >&2
fi

loaded=$(psql -qAt "$admin" -c "SELECT 1 FROM pg_database WHERE datname = '$name'")
if [ "${MFACTL_BENCH_PG_RELOAD:-}" = 1 ] || [ "$loaded" != 1 ]; then
  echo "loading $src into $name (a few minutes)..." >&2
  start=$(date +%s)
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
  # The schema, by mfactl itself; the user it adds goes with the truncation below.
  "$bin" -q --db "$url" --key-file "$key" users add schema@example.com >/dev/null
  big="'tokens', 'auth_events', 'audit_events', 'users'"
  psql -qAt "$url" -c "SELECT indexdef || ';' FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ($big)
    AND indexname NOT LIKE '%_pkey'" > "${bin%/*}/indexes.sql"
  psql -qAt "$url" -c "SELECT 'DROP INDEX ' || indexname || ';' FROM pg_indexes WHERE schemaname = 'public'
    AND tablename IN ($big) AND indexname NOT LIKE '%_pkey'" | psql -q "$url" >/dev/null
  psql -q "$url" -c "TRUNCATE users, tokens, auth_methods, app_passwords, auth_events, audit_events, meta CASCADE" >/dev/null
  for table in meta users tokens auth_methods app_passwords auth_events audit_events; do
    # The columns both engines have, bytea as hex ('\x...', PostgreSQL's bytea input).
    cols=$(psql -qAt "$url" -c "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = '$table'")
    sel=$(psql -qAt "$url" -c "SELECT string_agg(CASE WHEN data_type = 'bytea' THEN '''\\x'' || hex(' || column_name || ')'
      ELSE column_name END, ', ' ORDER BY ordinal_position) FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = '$table'")
    sqlite3 -csv "$src" "SELECT $sel FROM $table" | psql -q "$url" -c "\\copy $table ($cols) FROM STDIN WITH (FORMAT csv)"
  done
  psql -q "$url" -v ON_ERROR_STOP=1 -f "${bin%/*}/indexes.sql" >/dev/null
  for table in users tokens auth_events audit_events; do
    psql -qAt "$url" -c "SELECT setval(pg_get_serial_sequence('$table', 'id'), (SELECT COALESCE(MAX(id), 1) FROM $table))" >/dev/null
  done
  psql -q "$url" -c "VACUUM ANALYZE" >/dev/null
  echo "loaded in $(( $(date +%s) - start )) s" >&2
fi
psql -qAt "$url" -c "SELECT 'PostgreSQL ' || current_setting('server_version') || ': ' || (SELECT COUNT(*) FROM auth_events) || ' auth events, '
  || (SELECT COUNT(*) FROM tokens) || ' tokens, ' || (SELECT COUNT(*) FROM users) || ' users, '
  || pg_size_pretty(pg_database_size(current_database())) || '; load $(cut -d' ' -f1-3 /proc/loadavg)'"

MFACTL_BENCH_REPORTS_TARGET=$url internal/report/bench.sh

# The plans of the grouped reports' statements: the SQL of internal/store/reports.go
# (usageCountsQuery, TokenInventory) as the store sends it, with literal arguments.
explain() {
  echo "== $1"
  psql -qAt "$url" -c "EXPLAIN (ANALYZE, COSTS OFF) $2" | grep -E 'Index|Scan|Aggregate|Sort|Execution Time' | sed 's/^/   /'
}
usage() { # KEY GROUP ORDER [WHERE]
  echo "SELECT k, SUM(CASE WHEN result = 'success' THEN n ELSE 0 END), SUM(CASE WHEN result = 'denied' THEN n ELSE 0 END), SUM(n)
    FROM (SELECT $1 AS k, result, COUNT(*) AS n FROM auth_events${4:+ WHERE $4} GROUP BY $2) counts GROUP BY k ORDER BY $3"
}
since=$(date -u -d 2026-10-02 +%s)
explain "usage --by day" "$(usage '(time / 86400)' '(time / 86400), result' 1)"
explain "usage --by day --since 2026-10-02" "$(usage '(time / 86400)' '(time / 86400), result' 1 "time >= $since AND (time / 86400) >= $((since / 86400))")"
explain "usage --by user" "$(usage upn 'upn, result' '4 DESC, 1')"
explain "usage --by user --since 2026-10-02" "$(usage upn 'upn, result' '4 DESC, 1' "time >= $since")"
explain "usage --by method" "$(usage mode 'mode, result' '4 DESC, 1')"
explain "usage --by result" "$(usage result_code 'result, result_code' '4 DESC, 1')"
explain "usage --by day --user user0000042@contoso.com" "$(usage '(time / 86400)' '(time / 86400), result' 1 "upn IN ('user0000042@contoso.com')")"
explain "tokens (inventory)" "SELECT manufacturer, model, COUNT(*), COUNT(CASE WHEN status = 'available' THEN 1 END),
  COUNT(CASE WHEN user_id IS NULL THEN 1 END) FROM tokens GROUP BY manufacturer, model ORDER BY manufacturer, model"
