package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

// TestReplaysDoNotLockOut: a code that was right but already used (the same step again,
// duplicate, or an earlier step, old) is denied and recorded but counts no failure, so whoever
// watched a user sign in cannot lock them out by replaying the code; wrong codes still count.
func TestReplaysDoNotLockOut(t *testing.T) {
	e := newEnv(t)
	e.activate(t, "TOK0000", e.code(t, 0, 0), win10)
	e.clock.t = t0.Add(time.Minute)
	used := e.code(t, 0, 0)
	want(t, e.verify(t, "ada@contoso.com", used), true, CodeVerified, "")
	for range 12 {
		want(t, e.verify(t, "ada@contoso.com", used), false, CodeDuplicate, "code already used")
		want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, -1)), false, CodeOld, "code older than the last accepted one")
	}
	if u := e.user(t, "ada@contoso.com"); u.Locked || u.FailedAttempts != 0 {
		t.Fatalf("replays counted: %+v", u)
	}
	// A wrong code still counts, and replays neither count nor reset the count.
	want(t, e.verify(t, "ada@contoso.com", e.wrong(t, 0)), false, CodeIncorrect, "incorrect code (1 of 10 consecutive failures)")
	want(t, e.verify(t, "ada@contoso.com", used), false, CodeDuplicate, "code already used")
	want(t, e.verify(t, "ada@contoso.com", e.wrong(t, 0)), false, CodeIncorrect, "incorrect code (2 of 10 consecutive failures)")

	// The last accepted code is a duplicate however long ago it was used (here five minutes,
	// far outside the window of one step), not an incorrect code.
	e.clock.t = t0.Add(6 * time.Minute)
	want(t, e.verify(t, "ada@contoso.com", used), false, CodeDuplicate, "code already used")
	if u := e.user(t, "ada@contoso.com"); u.Locked || u.FailedAttempts != 2 {
		t.Fatalf("after a late replay: %+v", u)
	}
	// A fresh code still verifies and resets the count.
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, 0)), true, CodeVerified, "")
	if u := e.user(t, "ada@contoso.com"); u.FailedAttempts != 0 {
		t.Fatalf("after success: %+v", u)
	}
	// Every attempt is in the log with its result code: activation, 2 successes, 12+12
	// replays, 2 incorrect, 2 duplicates.
	got := map[string]int{}
	for _, ev := range e.events(t) {
		got[ev.ResultCode]++
	}
	if fmt.Sprint(got) != fmt.Sprint(map[string]int{CodeActivated: 1, CodeVerified: 2, CodeDuplicate: 14, CodeOld: 12, CodeIncorrect: 2}) {
		t.Errorf("events %v", got)
	}
}

// TestReplayWhileLockedIsThrottled: the lock is checked before the code, so a replay against
// a locked user is throttled, as any code is.
func TestReplayWhileLockedIsThrottled(t *testing.T) {
	e := newEnv(t)
	e.activate(t, "TOK0000", e.code(t, 0, 0), win10)
	e.clock.t = t0.Add(time.Minute)
	used := e.code(t, 0, 0)
	want(t, e.verify(t, "ada@contoso.com", used), true, CodeVerified, "")
	for range 10 {
		e.verify(t, "ada@contoso.com", e.wrong(t, 0))
	}
	want(t, e.verify(t, "ada@contoso.com", used), false, CodeThrottled, lockedReason)
}

// TestActivationReplayDoesNotCount: a token activated, used, unassigned and re-issued keeps
// its last accepted step; activating it with a code at or before that step is a replay:
// denied and recorded, but neither a failed activation nor a status change.
func TestActivationReplayDoesNotCount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.activate(t, "TOK0000", e.code(t, 0, 0), win10)
	e.clock.t = t0.Add(time.Minute)
	used := e.code(t, 0, 0)
	want(t, e.verify(t, "ada@contoso.com", used), true, CodeVerified, "")
	if _, err := e.db.UnassignToken(ctx, "TOK0000"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AssignToken(ctx, "TOK0000", "bob@contoso.com", false, 0); err != nil {
		t.Fatal(err)
	}
	for range 12 {
		r := e.activate(t, "TOK0000", used, win10)
		want(t, r, false, CodeDuplicate, "code already used")
		if r.Status != directory.StatusAssigned || r.FailedAttempts != 0 {
			t.Fatalf("replay result %+v", r)
		}
		want(t, e.activate(t, "TOK0000", e.code(t, 0, -3), win10), false, CodeOld, "code older than the last accepted one")
	}
	if tok := e.token(t, "TOK0000"); tok.Status != directory.StatusAssigned || tok.FailedAttempts != 0 {
		t.Fatalf("replays counted: %+v", tok)
	}
	// A wrong code still counts; a code newer than the last step activates.
	want(t, e.activate(t, "TOK0000", e.wrong(t, 0), win10), false, CodeIncorrect, "incorrect code (1 of 10 failed activations)")
	r := e.activate(t, "TOK0000", used, win10)
	want(t, r, false, CodeDuplicate, "code already used")
	if r.Status != directory.StatusFailedActivation || r.FailedAttempts != 1 {
		t.Fatalf("replay after a failure %+v", r)
	}
	want(t, e.activate(t, "TOK0000", e.code(t, 0, 1), win10), true, CodeActivated, "")
}

// TestCodeInput: white space around a code, the spaces apps group it with and full-width
// digits are not part of it; a code that still is not the token's digits is an error before
// anything happens: no event, no failure counted, nothing assigned.
func TestCodeInput(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	act := e.code(t, 0, 0)
	want(t, e.activate(t, "TOK0000", act+"\n", win10), true, CodeActivated, "")
	step := 0
	for _, dress := range []func(string) string{
		func(c string) string { return c + "\n" },
		func(c string) string { return c + "\t" },
		func(c string) string { return "\u00a0" + c },
		func(c string) string { return " " + c + " " },
		func(c string) string { return c[:3] + "\u2009" + c[3:] },
		func(c string) string { return c[:3] + "\u202f" + c[3:] + "\r\n" },
		func(c string) string {
			full := []rune{}
			for _, r := range c {
				full = append(full, r-'0'+'\uff10')
			}
			return string(full)
		},
	} {
		step++
		e.clock.t = t0.Add(time.Duration(step) * time.Minute)
		in := dress(e.code(t, 0, 0))
		if r := e.verify(t, "ada@contoso.com", in); !r.Success {
			t.Errorf("%q: %+v", in, r)
		}
	}
	before := len(e.events(t))
	// The length a token's codes have is checked once the user (as stored) is known.
	for _, c := range []struct{ code, user, msg string }{
		{"12345", "ada@contoso.com", "malformed code: 5 digits, want 6 to 8"},
		{"1234567", "Ada@contoso.com", "malformed code: 7 digits, want 6"},
		{"abcdef", "ada@contoso.com", "malformed code: it holds a character other than a digit"},
		{"123\t456", "ada@contoso.com", "malformed code: it holds a character other than a digit"},
		{"", "ada@contoso.com", "malformed code: 0 digits, want 6 to 8"},
	} {
		_, err := e.svc.Verify(ctx, "ada@contoso.com", c.code, Options{})
		if !errors.Is(err, tokens.ErrMalformedCode) || err.Error() != "verifying a code of "+c.user+": "+c.msg {
			t.Errorf("verify %q: %v", c.code, err)
		}
		_, err = e.svc.Activate(ctx, "TOK0001", c.code, win10)
		if !errors.Is(err, tokens.ErrMalformedCode) || err.Error() != "activating token TOK0001: "+c.msg {
			t.Errorf("activate %q: %v", c.code, err)
		}
		// Not even the assignment of --user happens.
		_, err = e.svc.Activate(ctx, "TOK0002", c.code, ActivateOptions{AssignTo: "bob@contoso.com", Window: 10})
		if !errors.Is(err, tokens.ErrMalformedCode) {
			t.Errorf("activate --user %q: %v", c.code, err)
		}
	}
	if n := len(e.events(t)); n != before {
		t.Errorf("malformed codes were recorded: %d events, want %d", n, before)
	}
	if u := e.user(t, "ada@contoso.com"); u.FailedAttempts != 0 {
		t.Errorf("malformed codes counted: %+v", u)
	}
	if tok := e.token(t, "TOK0001"); tok.FailedAttempts != 0 || tok.Status != directory.StatusAssigned {
		t.Errorf("malformed codes counted: %+v", tok)
	}
	if tok := e.token(t, "TOK0002"); tok.UPN != "" {
		t.Errorf("a malformed code assigned the token: %+v", tok)
	}
}
