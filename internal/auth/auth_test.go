package auth

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
)

// t0 is the tests' "now": a multiple of 30 and 60 seconds, so steps are easy to reason about.
var t0 = time.Unix(1_700_000_040, 0).UTC()

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var server = Server{Name: "mfa01", IP: "10.0.0.5"}

// env is a directory with users and tokens, the service over it and its clock.
type env struct {
	db    *store.DB
	svc   *Service
	clock *clock
	path  string
}

// secretOf is the deterministic secret of token i.
func secretOf(i int) []byte { return []byte(fmt.Sprintf("secret-of-token-%04d", i)) }

func tokenRows(n int, upn func(i int) string) iter.Seq2[directory.ImportRow, error] {
	return func(yield func(directory.ImportRow, error) bool) {
		for i := range n {
			row := directory.ImportRow{Line: i + 2, Serial: fmt.Sprintf("TOK%04d", i), Secret: secretOf(i),
				Period: 30, Digits: 6, Hash: "SHA1", Manufacturer: "Contoso", Model: "K1"}
			if upn != nil {
				row.UPN = upn(i)
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

// newEnv: ada (Ada Lovelace) owns TOK0000 and TOK0001 (assigned, not activated); TOK0002 and
// TOK0003 are stock; bob exists without methods.
func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: t0}
	path := filepath.Join(t.TempDir(), "d.db")
	db, err := store.Open(ctx, path, store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, u := range []directory.User{
		{UPN: "Ada@contoso.com", DisplayName: "Ada Lovelace", Email: "ada@contoso.com", Phone: "+44 2071234567"},
		{UPN: "bob@contoso.com", DisplayName: "Bob"},
	} {
		if _, err := db.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ImportTokens(ctx, tokenRows(4, nil), directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, serial := range []string{"TOK0000", "TOK0001"} {
		if _, err := db.AssignToken(ctx, serial, "ada@contoso.com", false, 0); err != nil {
			t.Fatal(err)
		}
	}
	return &env{db: db, svc: New(db, c.now, server), clock: c, path: path}
}

// code is token i's code offset steps from the clock (a token running slow has a negative
// offset).
func (e *env) code(t testing.TB, i, offset int) string {
	t.Helper()
	c, err := tokens.TOTP(secretOf(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(e.clock.t, 30)+int64(offset))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrong is a well-formed code that is not token i's within 10 steps of the clock.
func (e *env) wrong(t testing.TB, i int) string {
	t.Helper()
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n)
		if _, ok, _ := tokens.MatchCode(secretOf(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, c, tokens.Step(e.clock.t, 30), 12); !ok {
			return c
		}
	}
}

func (e *env) token(t testing.TB, serial string) directory.Token {
	t.Helper()
	tok, err := e.db.GetToken(context.Background(), serial)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) user(t testing.TB, upn string) directory.User {
	t.Helper()
	u, err := e.db.GetUser(context.Background(), upn)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) events(t testing.TB) []directory.AuthEvent {
	t.Helper()
	evs, err := e.db.ListAuthEvents(context.Background(), directory.AuthEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (e *env) activate(t testing.TB, serial, code string, opts ActivateOptions) Result {
	t.Helper()
	r, err := e.svc.Activate(context.Background(), serial, code, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) verify(t testing.TB, upn, code string) Result {
	t.Helper()
	r, err := e.svc.Verify(context.Background(), upn, code, Options{ClientIP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// want checks a result's outcome.
func want(t testing.TB, r Result, success bool, code, reason string) {
	t.Helper()
	if r.Success != success || r.Code != code || r.Reason != reason {
		t.Fatalf("got %v %s %q, want %v %s %q", r.Success, r.Code, r.Reason, success, code, reason)
	}
}

var win10 = ActivateOptions{Window: DefaultActivationWindow}

// TestSlowTokenActivatesThenVerifies: a token 7 steps slow activates with drift -7, and later
// codes verify around that drift; replays and older codes are refused.
func TestSlowTokenActivatesThenVerifies(t *testing.T) {
	e := newEnv(t)
	actCode := e.code(t, 0, -7)
	r := e.activate(t, "tok0000", actCode, win10)
	want(t, r, true, CodeActivated, "")
	if r.Serial != "TOK0000" || r.UPN != "Ada@contoso.com" || r.Status != directory.StatusActivated || r.Drift != -7 ||
		r.DeviceToken != "TOK0000" || r.Mode != ModeHardware || !r.Time.Equal(t0) || r.Assigned {
		t.Fatalf("result %+v", r)
	}
	tok := e.token(t, "TOK0000")
	step := tokens.Step(t0, 30)
	if tok.Status != directory.StatusActivated || tok.Drift != -7 || tok.LastStep != step-7 || !tok.ActivatedAt.Equal(t0) || tok.FailedAttempts != 0 {
		t.Fatalf("token %+v", tok)
	}
	// The activation code cannot be replayed to sign in (a replay counts no failure).
	want(t, e.verify(t, "ada@contoso.com", actCode), false, CodeDuplicate, "code already used")

	// Ten minutes later the token still runs 7 steps slow: its current code verifies.
	e.clock.t = t0.Add(10 * time.Minute)
	c := e.code(t, 0, -7)
	r = e.verify(t, "ADA@contoso.com", c)
	want(t, r, true, CodeVerified, "")
	if r.UPN != "Ada@contoso.com" || r.DeviceToken != "TOK0000" || r.Mode != ModeHardware {
		t.Fatalf("result %+v", r)
	}
	tok = e.token(t, "TOK0000")
	if tok.LastStep != step+20-7 || tok.Drift != -7 || !tok.LastUsedAt.Equal(e.clock.t) {
		t.Fatalf("token after verify %+v", tok)
	}
	if u := e.user(t, "ada@contoso.com"); u.FailedAttempts != 0 {
		t.Errorf("success did not reset the failures: %+v", u)
	}
	// Same code again: duplicate. The code of the step before (still in the window): old.
	want(t, e.verify(t, "ada@contoso.com", c), false, CodeDuplicate, "code already used")
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, -8)), false, CodeOld, "code older than the last accepted one")
	// Two steps further off than the learned drift: outside the window of 1.
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, -10)), false, CodeIncorrect, "incorrect code (1 of 10 consecutive failures)")
	// A minute later the token has slipped one more step: accepted, and the drift re-learned.
	e.clock.t = e.clock.t.Add(time.Minute)
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, -8)), true, CodeVerified, "")
	if tok := e.token(t, "TOK0000"); tok.Drift != -8 || tok.LastStep != step+22-8 {
		t.Fatalf("re-learned drift %+v", tok)
	}
}

func TestActivationWindow(t *testing.T) {
	e := newEnv(t)
	// 11 steps fast is outside the default window ...
	want(t, e.activate(t, "TOK0000", e.code(t, 0, 11), win10), false, CodeIncorrect, "incorrect code (1 of 10 failed activations)")
	if tok := e.token(t, "TOK0000"); tok.Status != directory.StatusFailedActivation || tok.FailedAttempts != 1 {
		t.Fatalf("after a failure %+v", tok)
	}
	// ... inside --window 12, and a success clears the failure count.
	r := e.activate(t, "TOK0000", e.code(t, 0, 11), ActivateOptions{Window: 12})
	want(t, r, true, CodeActivated, "")
	if tok := e.token(t, "TOK0000"); tok.Status != directory.StatusActivated || tok.Drift != 11 || tok.FailedAttempts != 0 || r.FailedAttempts != 0 {
		t.Fatalf("after success %+v", tok)
	}
	// Window 0: only the current step.
	want(t, e.activate(t, "TOK0001", e.code(t, 1, 1), ActivateOptions{Window: 0}), false, CodeIncorrect, "incorrect code (1 of 10 failed activations)")
	want(t, e.activate(t, "TOK0001", e.code(t, 1, 0), ActivateOptions{Window: 0}), true, CodeActivated, "")
	if _, err := e.svc.Activate(context.Background(), "TOK0001", "123456", ActivateOptions{Window: 101}); err == nil ||
		err.Error() != "activation window 101 out of range 0..100" {
		t.Errorf("window 101: %v", err)
	}
}

func TestActivationLockout(t *testing.T) {
	e := newEnv(t)
	bad := e.wrong(t, 0)
	for i := 1; i <= 9; i++ {
		r := e.activate(t, "TOK0000", bad, win10)
		want(t, r, false, CodeIncorrect, fmt.Sprintf("incorrect code (%d of 10 failed activations)", i))
		if r.Status != directory.StatusFailedActivation || r.FailedAttempts != i {
			t.Fatalf("attempt %d: %+v", i, r)
		}
	}
	// The tenth failure locks.
	r := e.activate(t, "TOK0000", bad, win10)
	want(t, r, false, CodeIncorrect, "incorrect code (10 of 10 failed activations); token locked")
	tok := e.token(t, "TOK0000")
	if r.Status != directory.StatusDisabled || tok.Status != directory.StatusDisabled || tok.DisabledReason != LockReason || tok.FailedAttempts != 10 {
		t.Fatalf("locked token %+v", tok)
	}
	// Even the right code is refused now, without counting.
	want(t, e.activate(t, "TOK0000", e.code(t, 0, 0), win10), false, CodeTokenLocked, "token locked after 10 failed activations")
	if tok := e.token(t, "TOK0000"); tok.FailedAttempts != 10 {
		t.Fatalf("a locked attempt counted: %+v", tok)
	}
	// tokens enable lifts the lock.
	if err := e.db.EnableToken(context.Background(), "TOK0000"); err != nil {
		t.Fatal(err)
	}
	want(t, e.activate(t, "TOK0000", e.code(t, 0, 0), win10), true, CodeActivated, "")
	if n := len(e.events(t)); n != 12 {
		t.Errorf("%d auth events, want one per attempt (12)", n)
	}
}

func TestActivationDenials(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	want(t, e.activate(t, "NOPE", "123456", win10), false, CodeTokenUnknown, "token not found")
	want(t, e.activate(t, "TOK0002", e.code(t, 2, 0), win10), false, CodeTokenUnassigned, "token is not assigned to a user")
	want(t, e.activate(t, "TOK0000", e.code(t, 0, 0), win10), true, CodeActivated, "")
	want(t, e.activate(t, "TOK0000", e.code(t, 0, 1), win10), false, CodeTokenIsActivated, "token is already activated")
	if err := e.db.DisableToken(ctx, "TOK0001", "lost"); err != nil {
		t.Fatal(err)
	}
	want(t, e.activate(t, "TOK0001", e.code(t, 1, 0), win10), false, CodeTokenDisabled, "token is disabled: lost")

	// --user assigns and activates in one step.
	r := e.activate(t, "tok0002", e.code(t, 2, -1), ActivateOptions{AssignTo: "BOB@contoso.com", Window: 10})
	want(t, r, true, CodeActivated, "")
	if !r.Assigned || r.UPN != "bob@contoso.com" || r.Drift != -1 {
		t.Fatalf("assign and activate: %+v", r)
	}
	// A token owned by someone else is an error, not an attempt.
	_, err := e.svc.Activate(ctx, "TOK0000", "123456", ActivateOptions{AssignTo: "bob@contoso.com", Window: 10})
	if !errors.Is(err, directory.ErrConflict) || err.Error() != "assigning token TOK0000 to bob@contoso.com: token TOK0000 is already assigned to Ada@contoso.com" {
		t.Errorf("conflict: %v", err)
	}
	_, err = e.svc.Activate(ctx, "TOK0003", "123456", ActivateOptions{AssignTo: "nobody@contoso.com", Window: 10})
	if !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	evs := e.events(t)
	codes := []string{}
	for _, ev := range evs {
		codes = append(codes, ev.ResultCode)
	}
	wantCodes := []string{CodeTokenUnknown, CodeTokenUnassigned, CodeActivated, CodeTokenIsActivated, CodeTokenDisabled, CodeActivated}
	if fmt.Sprint(codes) != fmt.Sprint(wantCodes) {
		t.Errorf("event codes %v, want %v", codes, wantCodes)
	}
	if evs[0].DeviceToken != "NOPE" || evs[0].UPN != "" || evs[0].Mode != ModeHardware || evs[0].Result != ResultDenied {
		t.Errorf("unknown-token event %+v", evs[0])
	}
}

// TestVerifyEventFields: every field of an auth event (docs/auth-events.md).
func TestVerifyEventFields(t *testing.T) {
	e := newEnv(t)
	e.activate(t, "TOK0000", e.code(t, 0, 0), win10)
	e.clock.t = t0.Add(time.Minute)
	e.verify(t, "ada@contoso.com", e.code(t, 0, 0))
	evs := e.events(t)
	got := evs[len(evs)-1]
	exp := directory.AuthEvent{ID: got.ID, Time: t0.Add(time.Minute), UPN: "Ada@contoso.com", FirstName: "Ada", LastName: "Lovelace",
		Email: "ada@contoso.com", Phone: "+44 2071234567", DeviceToken: "TOK0000", Mode: "oath-hardware", Result: "success",
		ResultCode: "SUCCESS_OATH_CODE_VERIFIED", Reason: "", ServerName: "mfa01", ServerIP: "10.0.0.5", ClientIP: "192.0.2.7"}
	if got != exp {
		t.Errorf("event\n got %+v\nwant %+v", got, exp)
	}
	act := evs[0]
	if act.ResultCode != CodeActivated || act.UPN != "Ada@contoso.com" || act.DeviceToken != "TOK0000" || act.FirstName != "Ada" ||
		act.ClientIP != "" || act.ServerName != "mfa01" || act.Time != t0 {
		t.Errorf("activation event %+v", act)
	}
}

func TestVerifyDenials(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	want(t, e.verify(t, "nobody@contoso.com", "123456"), false, CodeUserUnknown, "user not found")
	want(t, e.verify(t, "bob@contoso.com", "123456"), false, CodeNoMethod, "no activated hardware token or authenticator app")
	// Assigned but not activated tokens do not count.
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, 0)), false, CodeNoMethod, "no activated hardware token or authenticator app")
	e.activate(t, "TOK0000", e.code(t, 0, -1), win10)
	if _, _, err := e.db.BlockUser(ctx, "ada@contoso.com", "left the company"); err != nil {
		t.Fatal(err)
	}
	e.clock.t = t0.Add(time.Minute)
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, -1)), false, CodeUserBlocked, "user is blocked: left the company")
	evs := e.events(t)
	if ev := evs[0]; ev.UPN != "nobody@contoso.com" || ev.Mode != ModeOATH || ev.DeviceToken != "" || ev.Result != "denied" {
		t.Errorf("unknown-user event %+v", ev)
	}
	if ev := evs[len(evs)-1]; ev.UPN != "Ada@contoso.com" || ev.Mode != ModeHardware || ev.DeviceToken != "TOK0000" {
		t.Errorf("blocked event %+v", ev)
	}
	// Denials before the code is checked count no failure.
	if u := e.user(t, "ada@contoso.com"); u.FailedAttempts != 0 {
		t.Errorf("failures %d", u.FailedAttempts)
	}
}

func TestVerifyLockout(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.activate(t, "TOK0000", e.code(t, 0, 0), win10)
	e.clock.t = t0.Add(time.Minute)
	// Nine failures, then a success resets the count.
	for i := 1; i <= 9; i++ {
		want(t, e.verify(t, "ada@contoso.com", e.wrong(t, 0)), false, CodeIncorrect, fmt.Sprintf("incorrect code (%d of 10 consecutive failures)", i))
	}
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, 0)), true, CodeVerified, "")
	for i := 1; i <= 9; i++ {
		e.verify(t, "ada@contoso.com", e.wrong(t, 0))
	}
	if u := e.user(t, "ada@contoso.com"); u.Locked || u.FailedAttempts != 9 {
		t.Fatalf("after 9 %+v", u)
	}
	want(t, e.verify(t, "ada@contoso.com", e.wrong(t, 0)), false, CodeIncorrect, "incorrect code (10 of 10 consecutive failures); OATH methods locked")
	// Locked: the right code is refused without being checked or counted.
	e.clock.t = t0.Add(2 * time.Minute)
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, 0)), false, CodeThrottled, "OATH methods locked after 10 consecutive failed verifications")
	if u := e.user(t, "ada@contoso.com"); !u.Locked || u.FailedAttempts != 10 {
		t.Fatalf("locked user %+v", u)
	}
	if tok := e.token(t, "TOK0000"); tok.LastStep != tokens.Step(t0.Add(time.Minute), 30) {
		t.Fatalf("a throttled attempt moved the last step: %+v", tok)
	}
	if err := e.db.ClearUserLockout(ctx, "ada@contoso.com"); err != nil {
		t.Fatal(err)
	}
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, 0)), true, CodeVerified, "")
	// users unblock lifts it too.
	for range 10 {
		e.verify(t, "ada@contoso.com", e.wrong(t, 0))
	}
	if _, _, err := e.db.UnblockUser(ctx, "ada@contoso.com"); err != nil {
		t.Fatal(err)
	}
	e.clock.t = t0.Add(3 * time.Minute)
	want(t, e.verify(t, "ada@contoso.com", e.code(t, 0, 0)), true, CodeVerified, "")
}

func TestVerifyAuthenticatorApp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	appSecret := []byte("authenticator-app-secret")
	app, err := e.db.AddAuthApp(ctx, "bob@contoso.com", directory.NewAuthApp{Name: "Pixel", Secret: appSecret, Period: 30}, 0)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := tokens.TOTP(appSecret, tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(t0, 30)+1)
	r := e.verify(t, "bob@contoso.com", code)
	want(t, r, true, CodeVerified, "")
	if r.Mode != ModeApp || r.DeviceToken != app.ID {
		t.Fatalf("app result %+v", r)
	}
	want(t, e.verify(t, "bob@contoso.com", code), false, CodeDuplicate, "code already used")
	// A user with a token and an app: a wrong code names no device and mode oath.
	e.activate(t, "TOK0002", e.code(t, 2, 0), ActivateOptions{AssignTo: "bob@contoso.com", Window: 10})
	r = e.verify(t, "bob@contoso.com", "000000")
	if r.Code != CodeIncorrect || r.Mode != ModeOATH || r.DeviceToken != "" {
		t.Fatalf("two kinds %+v", r)
	}
	// The token's code still verifies beside the app.
	e.clock.t = t0.Add(30 * time.Second)
	r = e.verify(t, "bob@contoso.com", e.code(t, 2, 0))
	if !r.Success || r.Mode != ModeHardware || r.DeviceToken != "TOK0002" {
		t.Fatalf("token beside app %+v", r)
	}
}

func TestSplitName(t *testing.T) {
	for _, c := range []struct{ in, first, last string }{
		{"Ada Lovelace", "Ada", "Lovelace"}, {"Ada King Lovelace", "Ada", "King Lovelace"}, {"Lovelace, Ada", "Ada", "Lovelace"},
		{"Ada", "Ada", ""}, {"", "", ""}, {"  Ada   Lovelace ", "Ada", "Lovelace"},
	} {
		if f, l := SplitName(c.in); f != c.first || l != c.last {
			t.Errorf("SplitName(%q) = %q, %q", c.in, f, l)
		}
	}
}
