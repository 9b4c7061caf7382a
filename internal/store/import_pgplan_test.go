package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestImportLookupsUseIndexesOnPostgres checks the plans of the import's lookups on the
// non-unique token columns (the methods of existing users, the holders of a secret) in the
// situation of a large import: many tokens written in the import's own transaction, which no
// statistics describe. The IN-list forms scanned the whole tokens table for every batch there
// (a 1,000,000-token import for 500,000 users was still running after 6 minutes); each must be
// answered from the indexes.
func TestImportLookupsUseIndexesOnPostgres(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	d := openTest(t, "", Options{})
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`INSERT INTO users (id, upn, upn_key, created_at, updated_at)
			SELECT i, 'u' || i, 'u' || i, 0, 0 FROM generate_series(1, 100000) i`,
		`INSERT INTO tokens (serial, serial_key, secret_enc, secret_fp, user_id, created_at, updated_at)
			SELECT 's' || i, 's' || i, '\x00', sha256(i::text::bytea), 1 + i % 100000, 0, 0 FROM generate_series(1, 200000) i`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]int64, importBatch)
	fps := make([][]byte, importBatch)
	for i := range ids {
		ids[i] = int64(1000 + i*37)
		fps[i] = []byte(fmt.Sprintf("%032d", i))
	}
	// The arguments as the importer passes them: one array when the statement takes one, else
	// the IN lists' values.
	idArgs := func(q string) []any {
		if strings.Count(q, "?") == 1 {
			return []any{ids}
		}
		var args []any
		for range strings.Count(q, "?") / len(ids) {
			for _, id := range ids {
				args = append(args, id)
			}
		}
		return args
	}
	fpArgs := func(q string) []any {
		if strings.Count(q, "?") == 2 {
			return []any{fps, int64(150000)}
		}
		args := []any{int64(150000)}
		for _, fp := range fps {
			args = append(args, fp)
		}
		return args
	}
	for _, c := range []struct {
		name string
		sql  string
		args func(string) []any
	}{
		{"count-methods", countMethodsSQL(dialectPostgres, importBatch), idArgs},
		{"secret-holders", secretHoldersSQL(dialectPostgres, importBatch), fpArgs},
	} {
		rows, err := tx.QueryContext(ctx, `EXPLAIN `+c.sql, c.args(c.sql)...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan on tokens") || !strings.Contains(text, "Index") {
			t.Errorf("%s scans the tokens table:\n%s", c.name, text)
		}
	}
}
