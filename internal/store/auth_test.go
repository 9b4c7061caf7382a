package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// authDB is a directory with user ada (SN00000000 activated, SN00000001 assigned, SN00000002
// disabled) and an authenticator app, at a fixed clock.
func authDB(t *testing.T) (*DB, *fixedClock) {
	t.Helper()
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1700000000, 0)}
	d := openTest(t, "", Options{Now: clock.now})
	if _, err := d.ImportTokens(ctx, genSource(0, 4, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddUser(ctx, User{UPN: "Ada@contoso.com", DisplayName: "Ada Lovelace", Email: "ada@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"SN00000000", "SN00000001", "SN00000002"} {
		if _, err := d.AssignToken(ctx, s, "ada@contoso.com", false, 0); err != nil {
			t.Fatal(err)
		}
	}
	authExec(t, d, `UPDATE tokens SET status = 'activated', activated_at = 1, drift = -2, last_step = 100 WHERE serial_key = 'sn00000000'`)
	authExec(t, d, `UPDATE tokens SET status = 'disabled' WHERE serial_key = 'sn00000002'`)
	insertApp(t, d, "app1", "ada@contoso.com", []byte("app-secret-0123456789"))
	return d, clock
}

func authExec(t *testing.T, d *DB, q string, args ...any) {
	t.Helper()
	if _, err := d.sql.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// insertApp registers an authenticator app the way enrolment stores it: sealed under its id.
func insertApp(t *testing.T, d *DB, id, upn string, secret []byte) {
	t.Helper()
	userID, _, err := userIDByUPN(context.Background(), d.sql, upn)
	if err != nil {
		t.Fatal(err)
	}
	authExec(t, d, `INSERT INTO auth_methods (id, user_id, name, secret_enc, secret_fp, period, created_at, updated_at)
		VALUES (?, ?, 'Phone', ?, ?, 30, 5, 5)`, id, userID, d.sealer.Seal(secret, id), d.sealer.Fingerprint(secret))
}

func TestAuthSubject(t *testing.T) {
	ctx := context.Background()
	d, _ := authDB(t)
	subj, err := d.AuthSubject(ctx, "ADA@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if subj.User.UPN != "Ada@contoso.com" || subj.User.DisplayName != "Ada Lovelace" || subj.User.Email != "ada@contoso.com" ||
		subj.User.State != UserActive || subj.User.ID == 0 {
		t.Errorf("user %+v", subj.User)
	}
	// Only the activated token and the app: assigned and disabled tokens cannot verify.
	if len(subj.Methods) != 2 {
		t.Fatalf("methods %+v", subj.Methods)
	}
	hw, app := subj.Methods[0], subj.Methods[1]
	want := genRow(0, 0)
	if hw.Kind != MethodHardware || hw.Name != "SN00000000" || hw.DeviceToken() != "SN00000000" || !bytes.Equal(hw.Secret, want.Secret) ||
		hw.Drift != -2 || hw.LastStep != 100 || hw.Period != 30 || hw.Digits != 6 || hw.Hash != "SHA1" {
		t.Errorf("hardware method %+v", hw)
	}
	if app.Kind != MethodApp || app.AppID != "app1" || app.DeviceToken() != "app1" || app.Name != "Phone" ||
		string(app.Secret) != "app-secret-0123456789" || app.Period != 30 {
		t.Errorf("app method %+v", app)
	}
	if _, err := d.AuthSubject(ctx, "nobody@contoso.com"); !errors.Is(err, ErrNotFound) || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("unknown user: %v", err)
	}
}

func TestAcceptStepIsConditional(t *testing.T) {
	ctx := context.Background()
	d, clock := authDB(t)
	subj, _ := d.AuthSubject(ctx, "ada@contoso.com")
	hw, app := subj.Methods[0], subj.Methods[1]
	accept := func(m OATHMethod, step int64, drift int) (bool, int64) {
		t.Helper()
		var ok bool
		var last int64
		err := d.InAuthTx(ctx, func(tx directory.AuthTx) error {
			var err error
			ok, last, err = tx.AcceptStep(m, step, drift)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok, last
	}
	if ok, last := accept(hw, 100, 0); ok || last != 100 {
		t.Errorf("same step as stored: %v %d", ok, last)
	}
	if ok, last := accept(hw, 99, 0); ok || last != 100 {
		t.Errorf("older step: %v %d", ok, last)
	}
	clock.t = time.Unix(1700000300, 0)
	if ok, last := accept(hw, 101, 1); !ok || last != 101 {
		t.Errorf("newer step: %v %d", ok, last)
	}
	tok, _ := d.GetToken(ctx, "SN00000000")
	if tok.LastStep != 101 || tok.Drift != 1 || !tok.LastUsedAt.Equal(clock.t) {
		t.Errorf("after accept: %+v", tok)
	}
	if ok, _ := accept(hw, 101, 1); ok {
		t.Error("the same step twice")
	}
	if ok, last := accept(app, 7, -1); !ok || last != 7 {
		t.Errorf("app: %v %d", ok, last)
	}
	var last, drift int64
	d.sql.QueryRow(`SELECT last_step, drift FROM auth_methods WHERE id = 'app1'`).Scan(&last, &drift)
	if last != 7 || drift != -1 {
		t.Errorf("app stored %d %d", last, drift)
	}
	// A token disabled since it was loaded is not accepted, even with a newer step.
	authExec(t, d, `UPDATE tokens SET status = 'disabled' WHERE serial_key = 'sn00000000'`)
	if ok, last := accept(hw, 500, 0); ok || last != 101 {
		t.Errorf("disabled meanwhile: %v %d", ok, last)
	}
}

func TestRecordFailureLocksAtLimit(t *testing.T) {
	ctx := context.Background()
	d, _ := authDB(t)
	subj, _ := d.AuthSubject(ctx, "ada@contoso.com")
	id := subj.User.ID
	for i := 1; i <= 4; i++ {
		var n int
		var locked bool
		err := d.InAuthTx(ctx, func(tx directory.AuthTx) error {
			var err error
			n, locked, err = tx.RecordFailure(id, 3)
			return err
		})
		if err != nil || n != i || locked != (i >= 3) {
			t.Fatalf("failure %d: %d %v %v", i, n, locked, err)
		}
	}
	u, _ := d.GetUser(ctx, "ada@contoso.com")
	if !u.Locked || u.FailedAttempts != 4 {
		t.Fatalf("user %+v", u)
	}
	err := d.InAuthTx(ctx, func(tx directory.AuthTx) error {
		state, locked, err := tx.UserGuard(id)
		if state != UserActive || !locked {
			t.Errorf("guard: %s %v", state, locked)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ClearUserLockout(ctx, "ADA@contoso.com"); err != nil {
		t.Fatal(err)
	}
	u, _ = d.GetUser(ctx, "ada@contoso.com")
	if u.Locked || u.FailedAttempts != 0 {
		t.Errorf("after clear %+v", u)
	}
	if err := d.ClearUserLockout(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("clear unknown: %v", err)
	}
	// ResetFailures after a success.
	d.InAuthTx(ctx, func(tx directory.AuthTx) error { _, _, err := tx.RecordFailure(id, 10); return err })
	d.InAuthTx(ctx, func(tx directory.AuthTx) error { return tx.ResetFailures(id) })
	if u, _ = d.GetUser(ctx, "ada@contoso.com"); u.FailedAttempts != 0 || u.Locked {
		t.Errorf("after reset %+v", u)
	}
}

func TestActivationStates(t *testing.T) {
	ctx := context.Background()
	d, clock := authDB(t)
	tok, _ := d.GetToken(ctx, "SN00000001")
	fail := func() (int, TokenStatus, bool) {
		t.Helper()
		var n int
		var s TokenStatus
		var ok bool
		err := d.InAuthTx(ctx, func(tx directory.AuthTx) error {
			var err error
			n, s, ok, err = tx.FailActivation(tok.ID, 3, "locked after 3 failed activations")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, s, ok
	}
	if n, s, ok := fail(); n != 1 || s != StatusFailedActivation || !ok {
		t.Fatalf("first failure %d %s %v", n, s, ok)
	}
	// A success clears the counter and records drift and step; the owner (reset earlier) has
	// registered a method again.
	authExec(t, d, `UPDATE users SET must_register = 1`)
	var ok bool
	d.InAuthTx(ctx, func(tx directory.AuthTx) error { ok, _ = tx.ActivateToken(tok.ID, 555, -7); return nil })
	got, _ := d.GetToken(ctx, "SN00000001")
	if !ok || got.Status != StatusActivated || got.Drift != -7 || got.LastStep != 555 || got.FailedAttempts != 0 ||
		!got.ActivatedAt.Equal(clock.t) || !got.LastUsedAt.IsZero() {
		t.Fatalf("activated %v %+v", ok, got)
	}
	if u, _ := d.GetUser(ctx, "ada@contoso.com"); u.MustRegister {
		t.Error("activation left must_register set")
	}
	// Neither works on an activated token.
	d.InAuthTx(ctx, func(tx directory.AuthTx) error { ok, _ = tx.ActivateToken(tok.ID, 600, 0); return nil })
	if ok {
		t.Error("activated twice")
	}
	if _, _, ok := fail(); ok {
		t.Error("failure counted on an activated token")
	}
	// Back to assigned: three failures disable it with the reason.
	authExec(t, d, `UPDATE tokens SET status = 'assigned', activated_at = NULL WHERE id = ?`, tok.ID)
	fail()
	fail()
	if n, s, ok := fail(); n != 3 || s != StatusDisabled || !ok {
		t.Fatalf("third failure %d %s %v", n, s, ok)
	}
	got, _ = d.GetToken(ctx, "SN00000001")
	if got.Status != StatusDisabled || got.DisabledReason != "locked after 3 failed activations" || got.FailedAttempts != 3 {
		t.Fatalf("locked %+v", got)
	}
	if _, _, ok := fail(); ok {
		t.Error("failure counted on a disabled token")
	}
	// EnableToken lifts the activation lock: back to assigned, counter and reason cleared.
	if err := d.EnableToken(ctx, "SN00000001"); err != nil {
		t.Fatal(err)
	}
	got, _ = d.GetToken(ctx, "SN00000001")
	if got.Status != StatusAssigned || got.FailedAttempts != 0 || got.DisabledReason != "" {
		t.Errorf("enabled %+v", got)
	}
	// An activation code older than the last accepted step is refused.
	d.InAuthTx(ctx, func(tx directory.AuthTx) error { ok, _ = tx.ActivateToken(tok.ID, 555, 0); return nil })
	if ok {
		t.Error("activated with a step not newer than the last one")
	}
}

func TestAuthTxRollsBackEvents(t *testing.T) {
	ctx := context.Background()
	d, clock := authDB(t)
	boom := errors.New("boom")
	err := d.InAuthTx(ctx, func(tx directory.AuthTx) error {
		if err := tx.AddAuthEvent(AuthEvent{UPN: "ada", Result: "denied"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count(t, d, "auth_events") != 0 {
		t.Fatalf("rolled back: %v, %d events", err, count(t, d, "auth_events"))
	}
	err = d.InAuthTx(ctx, func(tx directory.AuthTx) error {
		return tx.AddAuthEvent(AuthEvent{UPN: "ada", DeviceToken: "SN1", Mode: "oath-hardware", Result: "success",
			ResultCode: "SUCCESS_OATH_CODE_VERIFIED", ServerName: "h", ServerIP: "10.0.0.1", ClientIP: "192.0.2.1",
			FirstName: "Ada", LastName: "Lovelace", Email: "e", Phone: "+1 2", Reason: "r"})
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := d.ListAuthEvents(ctx, AuthEventFilter{})
	want := AuthEvent{ID: evs[0].ID, Time: clock.t.UTC(), UPN: "ada", DeviceToken: "SN1", Mode: "oath-hardware", Result: "success",
		ResultCode: "SUCCESS_OATH_CODE_VERIFIED", ServerName: "h", ServerIP: "10.0.0.1", ClientIP: "192.0.2.1",
		FirstName: "Ada", LastName: "Lovelace", Email: "e", Phone: "+1 2", Reason: "r"}
	if len(evs) != 1 || evs[0] != want {
		t.Errorf("events %+v", evs)
	}
}

// TestAuthQueriesUseIndexes: the reads of a verification are index lookups, so verification
// stays flat as the directory grows (a target of docs/performance.md).
func TestAuthQueriesUseIndexes(t *testing.T) {
	sqliteOnly(t, "EXPLAIN QUERY PLAN of SQLite")
	d, _ := authDB(t)
	for name, q := range map[string]string{"user": qAuthUser, "tokens": qAuthTokens, "apps": qAuthApps} {
		rows, err := d.sql.Query(`EXPLAIN QUERY PLAN `+q, 1)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "; ")
		if !strings.Contains(text, "USING INDEX") && !strings.Contains(text, "USING COVERING INDEX") {
			t.Errorf("%s query does not use an index: %s", name, text)
		}
		if strings.Contains(text, "SCAN ") {
			t.Errorf("%s query scans a table: %s", name, text)
		}
	}
}

func TestAppPasswordHashesAndTouch(t *testing.T) {
	ctx := context.Background()
	d, clock := authDB(t)
	u, _ := d.GetUser(ctx, "ada@contoso.com")
	if hs, err := d.AppPasswordHashes(ctx, u.ID); err != nil || len(hs) != 0 || hs == nil {
		t.Fatalf("none yet: %#v %v", hs, err)
	}
	a, err := d.AddAppPassword(ctx, "ada@contoso.com", "mail", "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$YQ")
	if err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(time.Second)
	b, _ := d.AddAppPassword(ctx, "ada@contoso.com", "vpn", "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$Yg")
	hs, err := d.AppPasswordHashes(ctx, u.ID)
	want := []AppPasswordHash{{ID: a.ID, Name: "mail", Hash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$YQ"}, {ID: b.ID, Name: "vpn", Hash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$Yg"}}
	if err != nil || len(hs) != 2 || hs[0] != want[0] || hs[1] != want[1] {
		t.Fatalf("hashes %+v %v", hs, err)
	}
	clock.t = clock.t.Add(time.Hour)
	if err := d.InAuthTx(ctx, func(tx directory.AuthTx) error { return tx.TouchAppPassword(b.ID) }); err != nil {
		t.Fatal(err)
	}
	ps, _ := d.ListAppPasswords(ctx, "ada@contoso.com")
	if !ps[0].LastUsedAt.IsZero() || !ps[1].LastUsedAt.Equal(clock.t) {
		t.Errorf("last used %+v", ps)
	}
}
