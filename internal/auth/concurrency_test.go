package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

// barrierStore holds every InAuthTx until n callers have arrived, so concurrent attempts have
// all read the directory (and all matched the code) before any of them writes: the worst case
// for a replay, which only the conditional update on last_step can catch.
type barrierStore struct {
	*store.DB
	arrive *sync.WaitGroup
}

func (b barrierStore) InAuthTx(ctx context.Context, fn func(directory.AuthTx) error) error {
	b.arrive.Done()
	b.arrive.Wait()
	return b.DB.InAuthTx(ctx, fn)
}

// TestConcurrentReplay: two verifications of the same valid code at the same moment, through
// two database handles (as two mfactl processes would be), give exactly one success; the other
// is a duplicate.
func TestConcurrentReplay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.activate(t, "TOK0000", e.code(t, 0, 0), win10)
	for round := 1; round <= 5; round++ {
		e.clock.t = t0.Add(time.Duration(round) * time.Minute)
		code := e.code(t, 0, 0)
		var arrive sync.WaitGroup
		arrive.Add(2)
		results := make([]Result, 2)
		errs := make([]error, 2)
		var done sync.WaitGroup
		for i := range 2 {
			db, err := store.Open(ctx, e.path, store.Options{Now: e.clock.now})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			svc := New(barrierStore{DB: db, arrive: &arrive}, e.clock.now, server)
			done.Add(1)
			go func() {
				defer done.Done()
				results[i], errs[i] = svc.Verify(ctx, "ada@contoso.com", code, Options{})
			}()
		}
		done.Wait()
		successes, duplicates := 0, 0
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("round %d: %v", round, errs[i])
			}
			switch {
			case r.Success && r.Code == CodeVerified:
				successes++
			case !r.Success && r.Code == CodeDuplicate:
				duplicates++
			}
		}
		if successes != 1 || duplicates != 1 {
			t.Fatalf("round %d: %d successes and %d duplicates: %+v", round, successes, duplicates, results)
		}
		if u := e.user(t, "ada@contoso.com"); u.FailedAttempts != 0 {
			t.Fatalf("round %d: the duplicate counted a failure: %+v", round, u)
		}
	}
	evs := e.events(t)
	if len(evs) != 1+2*5 {
		t.Errorf("%d events, want 11", len(evs))
	}
}

// TestConcurrentReplayDoesNotLock: 50 verifications of one valid code at the same moment,
// each through its own database handle (as 50 mfactl processes would be), all having read the
// directory before any writes: exactly one success and 49 duplicates in the log, and the
// duplicates count no failure, so the user is not locked out (with 10 failures they would be).
// Then 50 more replays of the now used code, and the user still signs in with a fresh code.
func TestConcurrentReplayDoesNotLock(t *testing.T) {
	const n = 50
	ctx := context.Background()
	e := newEnv(t)
	e.activate(t, "TOK0000", e.code(t, 0, 0), win10)
	e.clock.t = t0.Add(time.Minute)
	code := e.code(t, 0, 0)
	race := func() map[string]int {
		var arrive sync.WaitGroup
		arrive.Add(n)
		results := make([]Result, n)
		errs := make([]error, n)
		var done sync.WaitGroup
		for i := range n {
			db, err := store.Open(ctx, e.path, store.Options{Now: e.clock.now, BusyTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			svc := New(barrierStore{DB: db, arrive: &arrive}, e.clock.now, server)
			done.Add(1)
			go func() {
				defer done.Done()
				results[i], errs[i] = svc.Verify(ctx, "ada@contoso.com", code, Options{})
			}()
		}
		done.Wait()
		got := map[string]int{}
		for i, r := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			got[r.Code]++
		}
		return got
	}
	if got := race(); got[CodeVerified] != 1 || got[CodeDuplicate] != n-1 {
		t.Fatalf("results %v, want 1 %s and %d %s", got, CodeVerified, n-1, CodeDuplicate)
	}
	if u := e.user(t, "ada@contoso.com"); u.Locked || u.FailedAttempts != 0 {
		t.Fatalf("replays counted: %+v", u)
	}
	if got := race(); got[CodeDuplicate] != n {
		t.Fatalf("second round %v, want %d %s", got, n, CodeDuplicate)
	}
	logged := map[string]int{}
	for _, ev := range e.events(t) {
		logged[ev.ResultCode]++
	}
	if logged[CodeVerified] != 1 || logged[CodeDuplicate] != 2*n-1 || len(logged) != 3 {
		t.Fatalf("auth log %v", logged)
	}
	if u := e.user(t, "ada@contoso.com"); u.Locked || u.FailedAttempts != 0 {
		t.Fatalf("replays counted: %+v", u)
	}
	e.clock.t = t0.Add(2 * time.Minute)
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, 0)), true, CodeVerified, "")
}

// TestConcurrentActivation: two activations of the same token with the same code at once
// activate it once; the other attempt is told it is already activated.
func TestConcurrentActivation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	code := e.code(t, 0, -3)
	var arrive sync.WaitGroup
	arrive.Add(2)
	results := make([]Result, 2)
	errs := make([]error, 2)
	var done sync.WaitGroup
	for i := range 2 {
		db, err := store.Open(ctx, e.path, store.Options{Now: e.clock.now})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		svc := New(barrierStore{DB: db, arrive: &arrive}, e.clock.now, server)
		done.Add(1)
		go func() {
			defer done.Done()
			results[i], errs[i] = svc.Activate(ctx, "TOK0000", code, win10)
		}()
	}
	done.Wait()
	got := map[string]int{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		got[r.Code]++
	}
	if got[CodeActivated] != 1 || got[CodeTokenIsActivated] != 1 {
		t.Fatalf("results %+v", results)
	}
	if tok := e.token(t, "TOK0000"); tok.Status != directory.StatusActivated || tok.Drift != -3 || tok.FailedAttempts != 0 {
		t.Errorf("token %+v", tok)
	}
}
