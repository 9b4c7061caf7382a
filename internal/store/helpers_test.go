package store

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math/rand/v2"
	"testing"
	"time"
)

// fixedClock is a settable clock for tests.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

func openTest(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	d, err := openBackend(t, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// genRow returns the i-th row of a deterministic token file: serial SN%08d, a 20-byte secret
// derived from i, users cycling over nUsers (0: no owner).
func genRow(i, nUsers int) ImportRow {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i))
	r := rand.NewChaCha8(seed)
	secret := make([]byte, 20)
	r.Read(secret)
	row := ImportRow{
		Line: i + 2, Serial: fmt.Sprintf("SN%08d", i), Secret: secret,
		Period: 30, Digits: 6, Hash: "SHA1", Manufacturer: "Contoso", Model: "HardwareKey", SourceFile: "tokens.csv",
	}
	if nUsers > 0 {
		row.UPN = fmt.Sprintf("user%07d@contoso.com", i%nUsers)
	}
	return row
}

// rowsOf adapts a slice to the importer's source type.
func rowsOf(rows []ImportRow) iter.Seq2[ImportRow, error] {
	return func(yield func(ImportRow, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// genSource yields rows [from, to) of the deterministic file.
func genSource(from, to, nUsers int) iter.Seq2[ImportRow, error] {
	return func(yield func(ImportRow, error) bool) {
		for i := from; i < to; i++ {
			if !yield(genRow(i, nUsers), nil) {
				return
			}
		}
	}
}

func genRows(from, to, nUsers int) []ImportRow {
	var out []ImportRow
	for r := range genSource(from, to, nUsers) {
		out = append(out, r)
	}
	return out
}

func count(t testing.TB, d *DB, table string) int {
	t.Helper()
	var n int
	if err := d.sql.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshot returns every stored column of tokens and users, to prove that nothing changed.
func snapshot(t testing.TB, d *DB) string {
	t.Helper()
	var s string
	if d.dialect == dialectPostgres {
		if err := d.sql.QueryRow(pgSnapshotSQL).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	err := d.sql.QueryRow(`SELECT COALESCE(group_concat(x, '|'), '') FROM (
		SELECT id || ',' || serial || ',' || hex(secret_enc) || ',' || hex(secret_fp) || ',' || hash || ',' || digits || ',' ||
		period || ',' || manufacturer || ',' || model || ',' || COALESCE(user_id, '-') || ',' || status || ',' ||
		drift || ',' || last_step || ',' || failed_attempts || ',' || created_at || ',' || updated_at || ',' ||
		COALESCE(activated_at, '-') AS x FROM tokens
		UNION ALL
		SELECT id || ',' || upn || ',' || created_at || ',' || updated_at FROM users
		ORDER BY 1)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pgSnapshotSQL is snapshot's query in PostgreSQL's words (string_agg, encode, casts).
const pgSnapshotSQL = `SELECT COALESCE(string_agg(x, '|' ORDER BY x COLLATE "C"), '') FROM (
	SELECT id || ',' || serial || ',' || encode(secret_enc, 'hex') || ',' || encode(secret_fp, 'hex') || ',' || hash || ',' ||
	digits || ',' || period || ',' || manufacturer || ',' || model || ',' || COALESCE(user_id::text, '-') || ',' || status || ',' ||
	drift || ',' || last_step || ',' || failed_attempts || ',' || created_at || ',' || updated_at || ',' ||
	COALESCE(activated_at::text, '-') AS x FROM tokens
	UNION ALL
	SELECT id || ',' || upn || ',' || created_at || ',' || updated_at FROM users) s`
