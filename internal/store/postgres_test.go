package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mfactl/mfactl/internal/secrets"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?', "a?b", ? -- why?
			/* what? */ , ?`, `SELECT '?', "a?b", $1 -- why?
			/* what? */ , $2`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT ? -- trailing?`, `SELECT $1 -- trailing?`},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
		if got := rebind(tc.in); got != tc.want { // from the cache
			t.Errorf("cached rebind(%q) = %q", tc.in, got)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://alice:s3cret@db.example:5432/mfa?sslmode=require", "postgres://alice@db.example:5432/mfa?sslmode=require"},
		{"postgres://alice@db.example/mfa", "postgres://alice@db.example/mfa"},
		{"postgresql://db.example/mfa?password=s3cret&sslmode=disable", "postgresql://db.example/mfa?sslmode=disable"},
		{"host=db.example user=alice password=s3cret dbname=mfa", "host=db.example user=alice dbname=mfa"},
		{"host=db.example password='s3 cret' dbname=mfa", "host=db.example dbname=mfa"},
		{"password=s3cret host=db", "host=db"},
		{"postgres://alice:s3cret@[::1/mfa", "postgres://(unparsable URL)"},
	} {
		got := RedactURL(tc.in)
		if got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "s3") {
			t.Errorf("RedactURL(%q) keeps the password", tc.in)
		}
	}
}

// TestPostgresSchemaMirrorsSQLite: the PostgreSQL migrations make the same tables, columns
// and indexes as the SQLite ones.
func TestPostgresSchemaMirrorsSQLite(t *testing.T) {
	postgresOnly(t)
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	pms, err := readMigrations(pgMigrationFiles, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	var names, pnames []string
	for _, m := range ms {
		names = append(names, fmt.Sprint(m.version, m.name))
	}
	for _, m := range pms {
		pnames = append(pnames, fmt.Sprint(m.version, m.name))
	}
	if !slices.Equal(names, pnames) {
		t.Fatalf("migrations %v, PostgreSQL %v", names, pnames)
	}
	lite, err := Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), Options{NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg := openTest(t, "", Options{NoKey: true})
	list := func(d *DB, q string) []string {
		rows, err := d.sql.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, a+"."+b)
		}
		return out
	}
	if l, p := list(lite, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1, 2`),
		list(pg, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2`); !slices.Equal(l, p) {
		t.Errorf("columns differ:\nsqlite   %v\npostgres %v", l, p)
	}
	if l, p := list(lite, `SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY 1, 2`),
		list(pg, `SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey' ORDER BY 1, 2`); !slices.Equal(l, p) {
		t.Errorf("indexes differ:\nsqlite   %v\npostgres %v", l, p)
	}
}

// TestPostgresOpenErrorsHidePassword: a connection failure names the server without the
// password.
func TestPostgresOpenErrorsHidePassword(t *testing.T) {
	postgresOnly(t)
	url := "postgres://nobody:s3cret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"
	_, err := OpenPostgres(context.Background(), url, Options{KeyFile: filepath.Join(t.TempDir(), "k")})
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.HasPrefix(err.Error(), "opening database postgres://nobody@127.0.0.1:1/x?") {
		t.Errorf("error %q", err)
	}
}

// TestPostgresConcurrentFirstOpen: hosts that open an empty directory at once all succeed;
// the migrations are applied once and one key check value is recorded, the first host's.
func TestPostgresConcurrentFirstOpen(t *testing.T) {
	postgresOnly(t)
	dir := t.TempDir()
	url := pgTestURL(t, dir)
	key := filepath.Join(dir, DefaultKeyName)
	if _, _, err := secrets.LoadOrCreateKey(key, true); err != nil { // the key file every host has
		t.Fatal(err)
	}
	const hosts = 8
	var wg sync.WaitGroup
	errs := make([]error, hosts)
	dbs := make([]*DB, hosts)
	for i := range hosts {
		wg.Go(func() {
			dbs[i], errs[i] = OpenPostgres(context.Background(), url, Options{KeyFile: key})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("host %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	ms, _ := loadMigrations()
	if n := count(t, dbs[0], "schema_migrations"); n != len(ms) {
		t.Errorf("%d schema_migrations rows, want %d", n, len(ms))
	}
	if n := count(t, dbs[0], "meta"); n != 1 {
		t.Errorf("%d meta rows, want 1", n)
	}
	// Every host can read what another wrote.
	if _, err := dbs[1].ImportTokens(context.Background(), genSource(0, 3, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if s, err := dbs[5].TokenSecret(context.Background(), "SN00000002"); err != nil || string(s) != string(genRow(2, 0).Secret) {
		t.Errorf("secret on another host: %v", err)
	}
}

// TestPostgresOtherKeyRefusedBeforeWriting: a host with another key file is refused, and
// the first host's check value stays.
func TestPostgresOtherKeyRefusedBeforeWriting(t *testing.T) {
	postgresOnly(t)
	dir := t.TempDir()
	d := openTest(t, dir, Options{})
	before, _, _ := d.getMeta(context.Background(), metaKeyCheck)
	other := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := secrets.LoadOrCreateKey(other, true); err != nil {
		t.Fatal(err)
	}
	_, err := openBackend(t, dir, Options{KeyFile: other})
	if !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("other key: %v, want ErrKeyMismatch", err)
	}
	after, _, _ := d.getMeta(context.Background(), metaKeyCheck)
	if string(before) != string(after) || count(t, d, "meta") != 1 {
		t.Error("the refused host changed the key check value")
	}
}

// TestImportCreatedUsersThenAddUser: the users an import creates take ids that later users
// do not collide with (PostgreSQL: the import reserves them from the identity sequence).
func TestImportCreatedUsersThenAddUser(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if _, err := d.AddUser(ctx, User{UPN: "first@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ImportTokens(ctx, genSource(0, 20, 10), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 15 {
		if _, err := d.AddUser(ctx, User{UPN: fmt.Sprintf("later%d@contoso.com", i)}); err != nil {
			t.Fatalf("AddUser after an import that created users: %v", err)
		}
	}
	if n := count(t, d, "users"); n != 1+10+15 {
		t.Errorf("%d users, want 26", n)
	}
}
