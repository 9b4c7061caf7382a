package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestPostgresBusyLeavesConnectionUsable: a write transaction whose writer lock is not granted
// in time fails with ErrBusy, and the connection it ran on (BEGIN and the lock go in one round
// trip, so the failed transaction must be ended by hand) stays open and serves the next write.
func TestPostgresBusyLeavesConnectionUsable(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	a := openTest(t, dir, Options{})
	b := openTest(t, dir, Options{BusyTimeout: 50 * time.Millisecond})
	b.sql.SetMaxOpenConns(1) // every statement of b on the same connection
	pid := func() int {
		t.Helper()
		var p int
		if err := b.sql.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := pid()
	holder, err := a.sql.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_lock(7169633, hashtext(COALESCE(current_schema(), '')))`); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := b.AddUser(ctx, User{UPN: "ada@contoso.com"}); !errors.Is(err, ErrBusy) {
			t.Fatalf("attempt %d while the lock is held: %v, want ErrBusy", i, err)
		}
	}
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddUser(ctx, User{UPN: "ada@contoso.com"}); err != nil {
		t.Fatalf("after the lock was released: %v", err)
	}
	if _, err := b.GetUser(ctx, "ada@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if after := pid(); after != before {
		t.Errorf("the connection was replaced after a busy write (backend %d, then %d): the failed transaction was left open", before, after)
	}
}
