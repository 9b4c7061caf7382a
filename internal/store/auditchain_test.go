package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// auditFixture is a directory with five audit rows written at known times (ids 1 to 5).
func auditFixture(t *testing.T) (*DB, []byte) {
	t.Helper()
	clock := &fixedClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	d := openTest(t, "", Options{Now: clock.now})
	ctx := context.Background()
	for i := range 5 {
		clock.t = clock.t.Add(time.Hour)
		if err := d.AddAudit(ctx, AuditEvent{Actor: "admin", Host: "pc1", Command: "tokens assign",
			Target: fmt.Sprintf("SN%d", i+1), Result: "success", Detail: fmt.Sprintf("assigned to user%d@contoso.com", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	chain, err := d.VerifyAuditChain(ctx, nil)
	if err != nil || chain.Break != nil || chain.Rows != 5 || chain.HeadID != 5 || len(chain.Head) != 32 {
		t.Fatalf("fresh chain: %+v, %v", chain, err)
	}
	return d, chain.Head
}

func sqlExec(t *testing.T, d *DB, q string, args ...any) {
	t.Helper()
	if _, err := d.sql.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestAuditChainDetectsTampering: every kind of change made behind mfactl's back names the
// first row that no longer fits, with its time and what is wrong.
func TestAuditChainDetectsTampering(t *testing.T) {
	ctx := context.Background()
	at := func(h int) time.Time { return time.Date(2026, 3, 2, 8+h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, d *DB)
		want   *directory.AuditBreak
		rows   int64
	}{
		{"detail edited", func(t *testing.T, d *DB) {
			sqlExec(t, d, `UPDATE audit_events SET detail = 'assigned to mallory@contoso.com' WHERE id = 3`)
		}, &directory.AuditBreak{ID: 3, Time: at(3), Problem: auditProblemBadMAC}, 3},
		{"time edited", func(t *testing.T, d *DB) {
			sqlExec(t, d, `UPDATE audit_events SET time = time + 1 WHERE id = 2`)
		}, &directory.AuditBreak{ID: 2, Time: at(2).Add(time.Second), Problem: auditProblemBadMAC}, 2},
		{"row deleted", func(t *testing.T, d *DB) {
			sqlExec(t, d, `DELETE FROM audit_events WHERE id = 3`)
		}, &directory.AuditBreak{ID: 4, Time: at(4), Problem: auditProblemBadMAC}, 3},
		{"first row deleted", func(t *testing.T, d *DB) {
			sqlExec(t, d, `DELETE FROM audit_events WHERE id = 1`)
		}, &directory.AuditBreak{ID: 2, Time: at(2), Problem: auditProblemBadMAC}, 1},
		{"two rows swapped", func(t *testing.T, d *DB) {
			// Every column but the id, mac included: the rows trade places.
			sqlExec(t, d, `UPDATE audit_events SET id = 100 WHERE id = 2`)
			sqlExec(t, d, `UPDATE audit_events SET id = 2 WHERE id = 4`)
			sqlExec(t, d, `UPDATE audit_events SET id = 4 WHERE id = 100`)
		}, &directory.AuditBreak{ID: 2, Time: at(4), Problem: auditProblemBadMAC}, 2},
		{"mac removed", func(t *testing.T, d *DB) {
			sqlExec(t, d, `UPDATE audit_events SET mac = NULL WHERE id = 3`)
		}, &directory.AuditBreak{ID: 3, Time: at(3), Problem: auditProblemNoMAC}, 3},
		{"mac cut short", func(t *testing.T, d *DB) {
			sqlExec(t, d, `UPDATE audit_events SET mac = ? WHERE id = 5`, []byte{1, 2, 3})
		}, &directory.AuditBreak{ID: 5, Time: at(5), Problem: auditProblemMACShape}, 5},
		{"row inserted", func(t *testing.T, d *DB) {
			sqlExec(t, d, `UPDATE audit_events SET id = id + 10 WHERE id >= 4`)
			sqlExec(t, d, `INSERT INTO audit_events (id, time, actor, result, mac) SELECT 4, time, actor, result, mac FROM audit_events WHERE id = 3`)
		}, &directory.AuditBreak{ID: 4, Time: at(3), Problem: auditProblemBadMAC}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := auditFixture(t)
			tc.tamper(t, d)
			chain, err := d.VerifyAuditChain(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if chain.Break == nil || *chain.Break != *tc.want || chain.Rows != tc.rows {
				t.Errorf("break %+v after %d rows, want %+v after %d", chain.Break, chain.Rows, tc.want, tc.rows)
			}
		})
	}
}

// TestAuditChainKeptHead: deleting the last rows leaves a valid chain, which only a head kept
// elsewhere shows; rows added after the head was kept are the normal case.
func TestAuditChainKeptHead(t *testing.T) {
	ctx := context.Background()
	d, head := auditFixture(t)
	if err := d.AddAudit(ctx, AuditEvent{Command: "users add", Target: "new@contoso.com", Result: "success"}); err != nil {
		t.Fatal(err)
	}
	chain, err := d.VerifyAuditChain(ctx, head)
	if err != nil || chain.Break != nil || chain.KeptHeadID != 5 || chain.KeptHeadRows != 5 || chain.Rows != 6 {
		t.Fatalf("kept head after one more row: %+v, %v; want found at row 5 of 6", chain, err)
	}
	sqlExec(t, d, `DELETE FROM audit_events WHERE id >= 5`)
	chain, err = d.VerifyAuditChain(ctx, head)
	if err != nil || chain.Break != nil || chain.KeptHeadID != 0 || chain.Rows != 4 {
		t.Fatalf("kept head after the tail was cut: %+v, %v; want an intact chain of 4 without the head", chain, err)
	}
	if _, err := d.VerifyAuditChain(ctx, bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
}

// TestAuditChainNeedsKey: checking the chain needs the master key.
func TestAuditChainNeedsKey(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, Options{})
	r := openTest(t, dir, Options{Mode: ModeReadOnly, NoKey: true})
	if _, err := r.VerifyAuditChain(context.Background(), nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("verify without the key: %v, want ErrNoKey", err)
	}
	k := openTest(t, dir, Options{Mode: ModeReadOnly})
	if c, err := k.VerifyAuditChain(context.Background(), nil); err != nil || c.Rows != 0 || c.Head != nil {
		t.Fatalf("read-only open with the key, empty trail: %+v, %v", c, err)
	}
}

// TestAuditChainUnchainedRows: rows written without the key (and rows from before the chain,
// which look the same) are chained, in id order, by the next writable open with the key, so
// the trail of an upgraded directory checks out; until then the check names the first.
func TestAuditChainUnchainedRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := openTest(t, dir, Options{})
	if err := d.AddAudit(ctx, AuditEvent{Command: "a", Result: "success"}); err != nil {
		t.Fatal(err)
	}
	nokey := openTest(t, dir, Options{Mode: ModeExisting, NoKey: true})
	for i := range 3 {
		if err := nokey.AddAudit(ctx, AuditEvent{Time: time.Unix(int64(1800000000+i), 0), Command: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	chain, err := d.VerifyAuditChain(ctx, nil)
	if err != nil || chain.Break == nil || chain.Break.ID != 2 || chain.Break.Problem != auditProblemNoMAC {
		t.Fatalf("before chaining: %+v, %v; want row 2 without a mac", chain.Break, err)
	}
	// A directory from before the chain: every row without a mac.
	sqlExec(t, d, `UPDATE audit_events SET mac = NULL`)
	w := openTest(t, dir, Options{Mode: ModeExisting})
	chain, err = w.VerifyAuditChain(ctx, nil)
	if err != nil || chain.Break != nil || chain.Rows != 4 {
		t.Fatalf("after a writable open with the key: %+v, %v; want 4 rows intact", chain, err)
	}
	// A writer with the key chains what a keyless one left before adding its own row.
	if err := nokey.AddAudit(ctx, AuditEvent{Command: "c"}); err != nil {
		t.Fatal(err)
	}
	if err := w.RecordFailure(ctx, "x", "y"); err != nil {
		t.Fatal(err)
	}
	if err := w.WithActor(directory.Actor{Name: "admin"}).RecordFailure(ctx, "x", "y"); err != nil {
		t.Fatal(err)
	}
	chain, err = w.VerifyAuditChain(ctx, nil)
	if err != nil || chain.Break != nil || chain.Rows != 6 {
		t.Fatalf("after a keyed write: %+v, %v; want 6 rows intact", chain, err)
	}
}

// TestAuditChainConcurrentWriters: 20 writers on separate handles (as many hosts or
// processes) append through every path that writes audit rows; the chain stays one.
func TestAuditChainConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first := openTest(t, dir, Options{})
	const n, each = 20, 5
	handles := make([]*DB, n)
	for i := range n {
		handles[i] = openTest(t, dir, Options{Mode: ModeExisting, BusyTimeout: 30 * time.Second}).
			WithActor(directory.Actor{Name: fmt.Sprintf("admin%d", i), Host: "host"})
	}
	errs := make(chan error, n*each)
	var write func(i int)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			write(i)
		}()
	}
	write = func(i int) {
		d := handles[i]
		for j := range each {
			var err error
			switch j % 3 {
			case 0:
				err = d.AddAudit(ctx, AuditEvent{Actor: "x", Command: "direct", Target: fmt.Sprint(i, j)})
			case 1:
				err = d.RecordFailure(ctx, fmt.Sprint(i, j), "refused")
			case 2:
				_, err = d.AddUser(ctx, User{UPN: fmt.Sprintf("u%d-%d@contoso.com", i, j)})
			}
			errs <- err
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	chain, err := first.VerifyAuditChain(ctx, nil)
	if err != nil || chain.Break != nil || chain.Rows != n*each {
		t.Fatalf("chain after %d concurrent writers: %+v, %v; want %d rows intact", n, chain, err, n*each)
	}
}
