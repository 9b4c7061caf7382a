package store_test

// Concurrency across hosts: each goroutine has its own *store.DB (its own connections), as
// separate mfactl processes or hosts sharing one directory have. These run on both backends.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
)

var (
	t0     = time.Unix(1_700_000_040, 0).UTC()
	secret = []byte("12345678901234567890")
	params = tokens.OTPParams{Hash: "SHA1", Digits: 6}
)

// hostsEnv is a directory with user ada and her activated token TOK0, and a way to open more
// hosts on it.
type hostsEnv struct {
	dir string
	now func() time.Time
}

func newHostsEnv(t *testing.T, clock *time.Time) *hostsEnv {
	t.Helper()
	ctx := context.Background()
	e := &hostsEnv{dir: t.TempDir(), now: func() time.Time { return *clock }}
	d := store.OpenTestDB(t, e.dir, store.Options{Now: e.now})
	if _, err := d.AddUser(ctx, store.User{UPN: "ada@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	row := store.ImportRow{Line: 2, Serial: "TOK0", UPN: "ada@contoso.com", Secret: secret, Manufacturer: "Contoso", Model: "K"}
	src := func(yield func(store.ImportRow, error) bool) { yield(row, nil) }
	if _, err := d.ImportTokens(ctx, src, store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := auth.New(d, e.now, auth.Server{Name: "h0"})
	r, err := svc.Activate(ctx, "TOK0", code(t, *clock), auth.ActivateOptions{Window: auth.DefaultActivationWindow})
	if err != nil || !r.Success {
		t.Fatalf("activation: %+v %v", r, err)
	}
	return e
}

func (e *hostsEnv) host(t *testing.T, i int) *auth.Service {
	t.Helper()
	d := store.OpenTestDB(t, e.dir, store.Options{Now: e.now})
	return auth.New(d, e.now, auth.Server{Name: fmt.Sprintf("h%d", i)})
}

func code(t *testing.T, at time.Time) string {
	t.Helper()
	c, err := tokens.TOTP(secret, params, tokens.Step(at, 30))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// together runs f(i) for i in [0, n) in n goroutines released at the same moment.
func together(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

func events(t *testing.T, d *store.DB) []store.AuthEvent {
	t.Helper()
	evs, err := d.ListAuthEvents(context.Background(), store.AuthEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestHostsVerifySameCode: the same valid code verified by 20 hosts at once succeeds exactly
// once, and every attempt leaves its auth event.
func TestHostsVerifySameCode(t *testing.T) {
	ctx := context.Background()
	clock := t0
	e := newHostsEnv(t, &clock)
	clock = t0.Add(time.Minute)
	c := code(t, clock)
	const n = 20
	hosts := make([]*auth.Service, n)
	for i := range hosts {
		hosts[i] = e.host(t, i)
	}
	results := make([]auth.Result, n)
	errs := make([]error, n)
	together(n, func(i int) { results[i], errs[i] = hosts[i].Verify(ctx, "ada@contoso.com", c, auth.Options{}) })
	successes := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("host %d: %v", i, errs[i])
		}
		// The others are duplicates, or throttled once the duplicates counted as failures
		// lock the user (whether a replay counts toward the lockout is the auth rules' call).
		if r.Success {
			successes++
		}
	}
	if successes != 1 {
		t.Errorf("%d successes, want exactly 1", successes)
	}
	d := store.OpenTestDB(t, e.dir, store.Options{})
	evs := events(t, d)
	if len(evs) != 1+n { // the activation, then one per attempt
		t.Fatalf("%d auth events, want %d", len(evs), 1+n)
	}
	ok := 0
	for _, ev := range evs[1:] {
		if ev.Result == "success" {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d success events, want 1", ok)
	}
}

// TestHostsWrongCodesLock: 14 wrong codes at once from 14 hosts lock the user (the limit is
// 10 consecutive failures) and each attempt leaves its auth event: none is lost to a race.
func TestHostsWrongCodesLock(t *testing.T) {
	ctx := context.Background()
	clock := t0
	e := newHostsEnv(t, &clock)
	clock = t0.Add(time.Minute)
	var wrong string
	for n := 0; ; n++ {
		wrong = fmt.Sprintf("%06d", n)
		if _, ok, _ := tokens.MatchCode(secret, params, wrong, tokens.Step(clock, 30), 12); !ok {
			break
		}
	}
	const n = 14
	hosts := make([]*auth.Service, n)
	for i := range hosts {
		hosts[i] = e.host(t, i)
	}
	errs := make([]error, n)
	results := make([]auth.Result, n)
	together(n, func(i int) { results[i], errs[i] = hosts[i].Verify(ctx, "ada@contoso.com", wrong, auth.Options{}) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("host %d: %v", i, err)
		}
		if results[i].Success {
			t.Fatalf("host %d: a wrong code succeeded", i)
		}
	}
	d := store.OpenTestDB(t, e.dir, store.Options{})
	u, err := d.GetUser(ctx, "ada@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Locked || u.FailedAttempts < auth.MaxFailures {
		t.Errorf("user locked=%v failed=%d, want locked after %d failures", u.Locked, u.FailedAttempts, auth.MaxFailures)
	}
	if evs := events(t, d); len(evs) != 1+n {
		t.Errorf("%d auth events, want %d", len(evs), 1+n)
	}
}

// TestHostsAssignRace: hosts assigning one token to different users at once leave it with
// one owner; the others are told it is taken.
func TestHostsAssignRace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := store.OpenTestDB(t, dir, store.Options{})
	const n = 10
	for i := range n {
		if _, err := d.AddUser(ctx, store.User{UPN: fmt.Sprintf("u%d@contoso.com", i)}); err != nil {
			t.Fatal(err)
		}
	}
	row := store.ImportRow{Line: 2, Serial: "TOK9", Secret: secret}
	if _, err := d.ImportTokens(ctx, func(yield func(store.ImportRow, error) bool) { yield(row, nil) }, store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	hosts := make([]*store.DB, n)
	for i := range hosts {
		hosts[i] = store.OpenTestDB(t, dir, store.Options{})
	}
	errs := make([]error, n)
	together(n, func(i int) {
		_, errs[i] = hosts[i].AssignToken(ctx, "TOK9", fmt.Sprintf("u%d@contoso.com", i), false, 0)
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("hosts %d and %d both assigned the token", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("host %d: %v, want a conflict", i, err)
		}
	}
	tok, err := d.GetToken(ctx, "TOK9")
	if err != nil {
		t.Fatal(err)
	}
	if winner < 0 || tok.UPN != fmt.Sprintf("u%d@contoso.com", winner) || tok.Status != store.StatusAssigned {
		t.Errorf("token owner %q status %s, winner %d", tok.UPN, tok.Status, winner)
	}
}
