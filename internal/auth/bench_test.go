package auth

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin connection

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
)

// BenchmarkVerify measures one successful `auth verify` (read the user and their methods,
// check the code, the conditional update, the reset and the auth event in one transaction) in
// directories of 10,000 and 1,000,000 tokens (two per user), on each backend: SQLite in a
// temporary file, and PostgreSQL in a scratch database created on the admin URL
// MFACTL_TEST_PG (default: the local server, trust auth) and dropped at the end. It should not
// grow with the directory: every statement is an index lookup (see TestAuthQueriesUseIndexes
// in store). postgres-async is PostgreSQL with synchronous_commit=off in the connection URL:
// a commit does not wait for the server's WAL flush (fsync), which is closer to what SQLite's
// synchronous=NORMAL in WAL mode gives mfactl (no fsync at commit) and shows how much of the
// PostgreSQL time is the flush; the server may then lose the last commits (never a part of
// one) if it crashes.
//
//	go test ./internal/auth -run '^$' -bench Verify -benchtime 3000x
//	go test ./internal/auth -run '^$' -bench 'Verify/backend=postgres' -benchtime 3000x
//
// Building each 1M directory takes about a minute (store.ImportTokens). An unreachable
// PostgreSQL skips its half (fails it under CI=true).
func BenchmarkVerify(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres", "postgres-async"} {
		b.Run("backend="+backend, func(b *testing.B) {
			for _, n := range []int{10_000, 1_000_000} {
				b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
					benchVerify(b, backend, n)
				})
			}
		})
	}
}

// benchDB opens a new, empty directory on backend, closed and removed when b ends. settle,
// called once the directory is built, asks PostgreSQL for a checkpoint (when the admin
// connection may), so that the timed verifications do not share the disk with the flush of
// the import's million rows.
func benchDB(b *testing.B, backend string, now func() time.Time) (db *store.DB, settle func()) {
	ctx := context.Background()
	dir := b.TempDir()
	if backend == "sqlite" {
		db, err := store.Open(ctx, filepath.Join(dir, "bench.db"), store.Options{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db, func() {}
	}
	admin := os.Getenv("MFACTL_TEST_PG")
	if admin == "" {
		admin = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		b.Fatalf("MFACTL_TEST_PG %s: want a postgres:// URL", store.RedactURL(admin))
	}
	adb, err := sql.Open("pgx", admin)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = adb.PingContext(pctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("PostgreSQL at %s: %v", store.RedactURL(admin), err)
		}
		b.Skipf("PostgreSQL at %s unavailable: %v", store.RedactURL(admin), err)
	}
	name := fmt.Sprintf("mfactl_bench_verify_%d", os.Getpid())
	if _, err := adb.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
		b.Fatal(err)
	}
	if _, err := adb.Exec(`CREATE DATABASE ` + name); err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	if backend == "postgres-async" {
		q := u.Query()
		q.Set("synchronous_commit", "off")
		u.RawQuery = q.Encode()
	}
	db, err = store.OpenPostgres(ctx, u.String(), store.Options{Now: now, KeyFile: filepath.Join(dir, "bench.key")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		db.Close()
		if _, err := adb.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			b.Errorf("dropping %s: %v", name, err)
		}
		adb.Close()
	})
	return db, func() {
		if _, err := adb.Exec(`CHECKPOINT`); err != nil {
			b.Logf("no checkpoint: %v", err)
		}
	}
}

func benchVerify(b *testing.B, backend string, n int) {
	ctx := context.Background()
	c := &clock{t: t0}
	db, settle := benchDB(b, backend, c.now)
	nUsers := n / 2
	upn := func(i int) string { return fmt.Sprintf("user%07d@contoso.com", i%nUsers) }
	start := time.Now()
	if _, err := db.ImportTokens(ctx, tokenRows(n, upn), directory.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d tokens in %v", n, time.Since(start).Round(time.Millisecond))
	settle()
	svc := New(db, c.now, server)

	// 64 users spread over the directory, each with one activated token.
	const users = 64
	idx := make([]int, users)
	for k := range idx {
		idx[k] = k * (nUsers / users)
		i := idx[k]
		code, _ := tokens.TOTP(secretOf(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(c.t, 30))
		r, err := svc.Activate(ctx, fmt.Sprintf("TOK%04d", i), code, ActivateOptions{Window: 1})
		if err != nil || !r.Success {
			b.Fatalf("activating token %d: %+v %v", i, r, err)
		}
	}
	b.ResetTimer()
	k := 0
	for b.Loop() {
		// Each round of users moves the clock one step on, so every code is fresh.
		if k%users == 0 {
			c.t = c.t.Add(30 * time.Second)
		}
		i := idx[k%users]
		k++
		code, _ := tokens.TOTP(secretOf(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(c.t, 30))
		r, err := svc.Verify(ctx, upn(i), code, Options{})
		if err != nil || !r.Success {
			b.Fatalf("verify %d: %+v %v", i, r, err)
		}
	}
}
