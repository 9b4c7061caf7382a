# sqlite-reference.sh: the sqlite3 shell references of the SQLite import benchmarks
# (scripts/bench-import.sh, internal/store/testdata/bench-import.sh). Source it from the
# repository root, do not run it.
#
# sqlite_reference_sql CSV DIR writes two scripts for the sqlite3 shell into DIR, both in WAL
# mode with synchronous=NORMAL like mfactl:
#   DIR/sqlite3-directory.sql  the target's reference: the same directory as mfactl builds
#                              (users, tokens and all their indexes, from every embedded
#                              migration), filled from CSV without encryption or checks;
#   DIR/sqlite3-import.sql     for context: a bare .import into one table with a unique index
#                              on the serial number.

sqlite_reference_sql() {
	local csv=$1 dir=$2 m
	{
		echo "PRAGMA journal_mode=WAL;"
		echo "PRAGMA synchronous=NORMAL;"
		for m in internal/store/migrations/*.sql; do
			echo ".read $m"
		done
		cat <<SQL
CREATE TEMP TABLE staging (upn TEXT, serial TEXT, secret TEXT, interval INTEGER, manufacturer TEXT, model TEXT);
.mode csv
.import --skip 1 $csv staging
BEGIN;
INSERT INTO users (upn, upn_key, created_at, updated_at) SELECT upn, lower(upn), 0, 0 FROM staging;
INSERT INTO tokens (serial, serial_key, secret_enc, secret_fp, period, manufacturer, model, user_id, status, created_at, updated_at)
  SELECT s.serial, lower(s.serial), s.secret, randomblob(16), s.interval, s.manufacturer, s.model, u.id, 'assigned', 0, 0
  FROM staging s JOIN users u ON u.upn_key = lower(s.upn);
COMMIT;
SQL
	} >"$dir/sqlite3-directory.sql"
	cat >"$dir/sqlite3-import.sql" <<SQL
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE tokens (upn TEXT, serial TEXT, secret TEXT, interval INTEGER, manufacturer TEXT, model TEXT);
CREATE UNIQUE INDEX tokens_serial ON tokens (serial);
.mode csv
.import --skip 1 $csv tokens
SQL
}
