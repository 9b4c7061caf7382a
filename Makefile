# Developer tasks. The build itself needs nothing but `go build ./cmd/mfactl`.

GO ?= go

.PHONY: test bench bench-pskc bench-validate bench-import bench-reports bench-pg

# test is the README's test command.
test:
	$(GO) test ./...

# bench runs the comparisons behind the performance targets (slow: minutes; targets and figures
# in docs/performance.md).
bench: bench-pskc bench-validate bench-import bench-reports

# bench-pskc: `mfactl tokens convert` vs python-pskc's pskc2csv on 100,000 TOTP keys,
# plaintext and AES-128-CBC + HMAC-SHA1 (needs: apt-get install -y time pskc-utils python3-pskc).
bench-pskc:
	GO=$(GO) scripts/bench-pskc.sh

# bench-validate: `mfactl tokens validate` of 1,000,000 rows vs reading and Base32-decoding them.
bench-validate:
	$(GO) test -run '^$$' -bench '1M' -benchtime 3x -benchmem ./internal/tokens

# bench-import: `mfactl tokens import` of 1,000,000 rows vs the sqlite3 shell's .import
# (needs sqlite3 and GNU time).
bench-import:
	scripts/bench-import.sh 1000000 3

# bench-reports: every report over 10,000,000 auth events and 1,000,000 tokens (generates the
# directory once, about 5 minutes, cached under $$TMPDIR/mfactl-bench).
bench-reports:
	internal/report/bench.sh

# bench-pg: the PostgreSQL figures of docs/performance.md (slow: about half an hour; needs a
# PostgreSQL server where MFACTL_BENCH_PG and MFACTL_TEST_PG, default the local one with trust
# auth, may create databases, psql, sqlite3 and GNU time):
#   - `mfactl tokens import` of 1,000,000 rows vs psql's \copy + INSERT ... SELECT;
#   - `auth verify` at 10,000 and 1,000,000 tokens on SQLite and PostgreSQL;
#   - every report over the 10,000,000-event directory copied into PostgreSQL, with plans.
bench-pg:
	scripts/bench-import-pg.sh 1000000 1
	$(GO) test ./internal/auth -run '^$$' -bench Verify -benchtime 3000x -benchmem
	internal/report/bench-pg.sh
