#!/usr/bin/env bash
# bench-import-pg.sh measures the end-to-end `mfactl tokens import` (the built binary: reading,
# the file rules, encryption and the PostgreSQL transaction) of a generated Azure OATH CSV into
# an empty PostgreSQL directory, and the re-import of the same file (every row unchanged),
# against psql loading the same file into the same schema. The target: 1,000,000 rows within
# 2x of the psql reference, at most 128 MiB peak RSS.
#
# The reference, in one transaction of one psql session, on a new database that holds
# mfactl's schema (the same migrations/postgres files, so the same tables, constraints and
# indexes):
#   1. \copy the CSV into a staging table of six text/bigint columns (the file's columns);
#   2. INSERT INTO users SELECT the distinct UPNs (upn, lower-case key, timestamps);
#   3. INSERT INTO tokens SELECT every row joined to its user, with the serial key
#      (lower-case serial), the secret as its text in secret_enc and sha256(secret) as
#      secret_fp, so that the unique serial index, the fingerprint index (random keys, like
#      mfactl's keyed fingerprints), the owner and inventory indexes and the foreign key are
#      maintained as for mfactl's rows.
# What the reference does not do, and mfactl does: parse and check every field by the file
# rules, decode Base32, seal each secret with AES-256-GCM and compute its keyed fingerprint,
# look up existing serials and users, count each user's methods, and record the audit event.
#
# Usage: scripts/bench-import-pg.sh [ROWS] [REPEAT]     (default 1000000 rows, 1 run each)
# Needs: go, psql, GNU time (/usr/bin/time), a PostgreSQL server where the admin URL may create
# databases: MFACTL_BENCH_PG (default postgres://root@127.0.0.1:5432/postgres?sslmode=disable).
# Every run uses a new database, dropped at the end. With REPEAT > 1 the fastest run is
# reported. Peak RSS is the client's (psql or mfactl); the server's work shows in wall time.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/lib/measure.sh
rows=${1:-1000000}
repeat=${2:-1}
admin=${MFACTL_BENCH_PG:-postgres://root@127.0.0.1:5432/postgres?sslmode=disable}
work=$(mktemp -d "${TMPDIR:-/tmp}/mfactl-bench-import-pg.XXXXXX")
dbs=()
cleanup() {
	for db in ${dbs[@]+"${dbs[@]}"}; do psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT

command -v psql >/dev/null || { echo "bench-import-pg: psql not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-import-pg: GNU time (/usr/bin/time) not found" >&2; exit 1; }
psql -qAt "$admin" -c "SELECT 1" >/dev/null || { echo "bench-import-pg: cannot connect to $admin" >&2; exit 1; }

# dburl NAME: the admin URL with the database NAME.
dburl() { echo "$admin" | sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$1#"; }
# newdb: creates a new database, dropped on exit, and sets $target to its URL.
newdb() {
	local db="mfactl_bench_$$_${#dbs[@]}"
	psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
	dbs+=("$db")
	target=$(dburl "$db")
}

CGO_ENABLED=0 go build -o "$work/mfactl" ./cmd/mfactl
go build -o "$work/csvbench" ./internal/tokens/tokenstest/cmd/csvbench
# tokenstest.GenerateCSV: one user per token, distinct 20-byte secrets, 30 s (60 s every tenth).
"$work/csvbench" -gen "$rows" -out "$work/tokens.csv" >/dev/null
echo "file: $rows rows, $(du -m "$work/tokens.csv" | cut -f1) MB; $(psql -qAt "$admin" -c 'SHOW server_version' | cut -d' ' -f1) PostgreSQL" \
	"(shared_buffers $(psql -qAt "$admin" -c 'SHOW shared_buffers'), synchronous_commit $(psql -qAt "$admin" -c 'SHOW synchronous_commit'));" \
	"$(go env GOVERSION); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

cat internal/store/migrations/postgres/*.sql > "$work/schema.sql"
now=$(date +%s)
cat > "$work/reference.sql" <<SQL
\timing on
BEGIN;
CREATE TEMP TABLE staging (upn TEXT, serial TEXT, secret TEXT, period BIGINT, manufacturer TEXT, model TEXT);
\copy staging FROM '$work/tokens.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO users (upn, upn_key, created_at, updated_at)
	SELECT DISTINCT ON (lower(upn)) upn, lower(upn), $now, $now FROM staging WHERE upn <> '' ORDER BY lower(upn);
INSERT INTO tokens (serial, serial_key, secret_enc, secret_fp, period, manufacturer, model, user_id, status,
		source_file, created_at, updated_at)
	SELECT s.serial, lower(s.serial), convert_to(s.secret, 'UTF8'), sha256(convert_to(s.secret, 'UTF8')), s.period,
		s.manufacturer, s.model, u.id, CASE WHEN u.id IS NULL THEN 'available' ELSE 'assigned' END, 'tokens.csv', $now, $now
	FROM staging s LEFT JOIN users u ON u.upn_key = lower(s.upn);
COMMIT;
SQL

fresh_reference() {
	newdb
	psql -q "$target" -v ON_ERROR_STOP=1 -f "$work/schema.sql" >/dev/null
}
fresh_mfactl() { newdb; }

: > "$work/results"
export MFACTL_KEY_FILE="$work/mfactl.key" work target
reference() { psql -q "$target" -v ON_ERROR_STOP=1 -f "$work/reference.sql"; }
mfactl_import() { "$work/mfactl" --db "$target" -o json tokens import "$work/tokens.csv"; }
export -f reference mfactl_import

measure --prepare fresh_reference psql-copy bash -c reference
measure --prepare fresh_mfactl mfactl-import bash -c mfactl_import
grep -q "\"imported\": $rows," "$work/mfactl-import.out" || { echo "bench-import-pg: first import did not import $rows rows" >&2; cat "$work/mfactl-import.out" >&2; exit 1; }
# The re-import runs on the directory of the last first import.
measure mfactl-reimport bash -c mfactl_import
grep -q "\"unchanged\": $rows," "$work/mfactl-reimport.out" || { echo "bench-import-pg: re-import did not find $rows unchanged rows" >&2; exit 1; }
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# psql's \timing of the reference's last run: BEGIN, CREATE, \copy, users, tokens, COMMIT.
awk '/^Time:/ { t[++n] = $2 / 1000 } END { if (n >= 6) printf "reference steps: \\copy %.2f s, INSERT users %.2f s, INSERT tokens %.2f s, COMMIT %.2f s\n", t[3], t[4], t[5], t[6] }' "$work/psql-copy.out"

awk '
	{ wall[$1]=$2; cpu[$1]=$3; rss[$1]=$4 }
	END {
		printf "%-16s %8s %8s %9s %11s\n", "run", "wall s", "cpu s", "RSS MiB", "x psql-copy"
		split("psql-copy mfactl-import mfactl-reimport", order, " ")
		for (i = 1; i <= 3; i++) { n = order[i]
			printf "%-16s %8.2f %8.2f %9.1f %11.2f\n", n, wall[n], cpu[n], rss[n], wall[n] / wall["psql-copy"] }
		t = wall["mfactl-import"] <= 2 * wall["psql-copy"]
		m = rss["mfactl-import"] <= 128 && rss["mfactl-reimport"] <= 128
		printf "\ntime <= 2x psql \\copy + INSERT SELECT: %s; peak RSS <= 128 MiB: %s\n", t ? "met" : "NOT met", m ? "met" : "NOT met"
	}' "$work/results"
