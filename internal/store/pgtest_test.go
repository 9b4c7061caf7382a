package store

// The store's tests run on both engines: TestMain (crash_test.go) runs the whole suite once per
// backend, and openTest opens the backend under test. MFACTL_TEST_BACKEND=sqlite|postgres|all
// (default all) chooses; MFACTL_TEST_PG is the PostgreSQL admin URL (default: the local
// server, trust auth). Each run creates a scratch database, each test directory a schema of
// its own in it (the connection's search_path), and the scratch database is dropped at the
// end. An unreachable server skips the PostgreSQL half, except under CI=true or when
// MFACTL_TEST_BACKEND=postgres asks for it: then the run fails.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin connection
)

const defaultTestPG = "postgres://root@127.0.0.1:5432/test?sslmode=disable"

// testBackend is the engine the running pass of the suite uses.
var testBackend = dialectSQLite

var pgTest struct {
	skipReason string  // why the PostgreSQL pass did not run
	admin      *sql.DB // the admin database, to create and drop the scratch one
	scratch    *sql.DB // the scratch database, to create schemas
	dbName     string
	base       *url.URL // URL of the scratch database

	mu      sync.Mutex
	schemas map[string]string // test directory -> schema
}

// runBackends runs the suite on each chosen backend and returns the exit code.
func runBackends(m *testing.M) int {
	which := os.Getenv("MFACTL_TEST_BACKEND")
	if which == "" {
		which = "all"
	}
	if which != "all" && which != "sqlite" && which != "postgres" {
		fmt.Fprintf(os.Stderr, "MFACTL_TEST_BACKEND=%s: want sqlite, postgres or all\n", which)
		return 2
	}
	code := 0
	if which != "postgres" {
		testBackend = dialectSQLite
		code = m.Run()
	}
	if which == "sqlite" {
		return code
	}
	if err := pgSetup(); err != nil {
		if os.Getenv("CI") == "true" || which == "postgres" {
			fmt.Fprintf(os.Stderr, "FAIL: PostgreSQL for the store tests: %v\n", err)
			return 1
		}
		pgTest.skipReason = err.Error()
		fmt.Fprintf(os.Stderr, "SKIP: store tests on PostgreSQL: %v (set MFACTL_TEST_PG to an admin URL; CI=true makes this fail)\n", err)
		return code
	}
	defer pgTeardown()
	testBackend = dialectPostgres
	if c := m.Run(); c != 0 {
		code = c
	}
	return code
}

func pgSetup() error {
	admin := os.Getenv("MFACTL_TEST_PG")
	if admin == "" {
		admin = defaultTestPG
	}
	u, err := url.Parse(admin)
	if loc, lerr := ParseLocation(admin); err != nil || lerr != nil || loc.Kind != KindPostgres || u.Scheme == "" {
		return fmt.Errorf("MFACTL_TEST_PG %s: want a postgres:// URL", RedactURL(admin))
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("%s unreachable: %v", RedactURL(admin), err)
	}
	var b [4]byte
	rand.Read(b[:])
	name := fmt.Sprintf("mfactl_test_%d_%s", os.Getpid(), hex.EncodeToString(b[:]))
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		db.Close()
		return fmt.Errorf("creating scratch database: %v", err)
	}
	base := *u
	base.Path = "/" + name
	scratch, err := sql.Open("pgx", base.String())
	if err == nil {
		err = scratch.PingContext(ctx)
	}
	if err != nil {
		db.ExecContext(ctx, `DROP DATABASE `+name)
		db.Close()
		return fmt.Errorf("connecting to the scratch database: %v", err)
	}
	pgTest.admin, pgTest.scratch, pgTest.dbName, pgTest.base = db, scratch, name, &base
	pgTest.schemas = map[string]string{}
	return nil
}

func pgTeardown() {
	pgTest.scratch.Close()
	if _, err := pgTest.admin.Exec(`DROP DATABASE ` + pgTest.dbName + ` WITH (FORCE)`); err != nil {
		fmt.Fprintf(os.Stderr, "dropping scratch database %s: %v\n", pgTest.dbName, err)
	}
	pgTest.admin.Close()
}

// pgTestURL returns the URL of the directory kept for the test directory dir: a schema of the
// scratch database, created on first use.
func pgTestURL(t testing.TB, dir string) string {
	t.Helper()
	pgTest.mu.Lock()
	defer pgTest.mu.Unlock()
	schema, ok := pgTest.schemas[dir]
	if !ok {
		schema = fmt.Sprintf("t%d", len(pgTest.schemas)+1)
		if _, err := pgTest.scratch.Exec(`CREATE SCHEMA ` + schema); err != nil {
			t.Fatal(err)
		}
		pgTest.schemas[dir] = schema
	}
	u := *pgTest.base
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openBackend opens the directory of the test directory dir on the backend under test, with
// the key file in dir unless opts names one (as Open does for dir/mfactl.db).
func openBackend(t testing.TB, dir string, opts Options) (*DB, error) {
	t.Helper()
	if testBackend == dialectPostgres {
		if opts.KeyFile == "" {
			opts.KeyFile = filepath.Join(dir, DefaultKeyName)
		}
		return OpenPostgres(context.Background(), pgTestURL(t, dir), opts)
	}
	return Open(context.Background(), filepath.Join(dir, DefaultDBName), opts)
}

// sqliteOnly skips a test of something only the SQLite backend has (its files, its query
// planner, its crash recovery), saying so.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if testBackend != dialectSQLite {
		t.Skipf("SQLite only: %s", why)
	}
}

// postgresOnly skips a test of the PostgreSQL backend in the SQLite pass.
func postgresOnly(t testing.TB) {
	t.Helper()
	if testBackend != dialectPostgres {
		if pgTest.skipReason != "" {
			t.Skipf("PostgreSQL unavailable: %s", pgTest.skipReason)
		}
		t.Skip("PostgreSQL only (runs in the PostgreSQL pass)")
	}
}

// TestBackends says which backend this pass runs (go test -v lists it once per pass).
func TestBackends(t *testing.T) {
	t.Logf("backend %s", testBackend)
}

// testDBName is how errors name the directory of the test directory dir on the backend under
// test: the database file, or the URL without password.
func testDBName(t testing.TB, dir string) string {
	t.Helper()
	if testBackend == dialectPostgres {
		return RedactURL(pgTestURL(t, dir))
	}
	return filepath.Join(dir, DefaultDBName)
}

// OpenTestDB and BackendUnderTest give the external tests (package store_test, which may import
// the packages built on the store) the backend under test.
var OpenTestDB = openTest

func BackendUnderTest() string { return testBackend.String() }
