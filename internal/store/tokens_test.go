package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func stockDB(t *testing.T, n int) *DB {
	t.Helper()
	d := openTest(t, "", Options{})
	if _, err := d.ImportTokens(context.Background(), genSource(0, n, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAssignUnassign(t *testing.T) {
	ctx := context.Background()
	d := stockDB(t, 8)
	for _, upn := range []string{"Ada@contoso.com", "bob@contoso.com"} {
		if _, err := d.AddUser(ctx, User{UPN: upn}); err != nil {
			t.Fatal(err)
		}
	}
	prev, err := d.AssignToken(ctx, "sn00000000", "ada@CONTOSO.com", false, 0)
	if err != nil || prev != "" {
		t.Fatalf("assign: %q %v", prev, err)
	}
	tok, _ := d.GetToken(ctx, "SN00000000")
	if tok.UPN != "Ada@contoso.com" || tok.Status != StatusAssigned {
		t.Fatalf("after assign %+v", tok)
	}
	// Same owner again: a no-op, not a conflict.
	if prev, err := d.AssignToken(ctx, "SN00000000", "ada@contoso.com", false, 0); err != nil || prev != "Ada@contoso.com" {
		t.Errorf("re-assign to owner: %q %v", prev, err)
	}
	_, err = d.AssignToken(ctx, "SN00000000", "bob@contoso.com", false, 0)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || err.Error() != "token SN00000000 is already assigned to Ada@contoso.com" {
		t.Fatalf("assign to another without force: %v", err)
	}
	// Force moves it and clears the activation.
	d.sql.Exec(`UPDATE tokens SET status = 'activated', activated_at = 5, drift = 3 WHERE serial_key = 'sn00000000'`)
	prev, err = d.AssignToken(ctx, "SN00000000", "bob@contoso.com", true, 0)
	if err != nil || prev != "Ada@contoso.com" {
		t.Fatalf("force: %q %v", prev, err)
	}
	tok, _ = d.GetToken(ctx, "SN00000000")
	if tok.UPN != "bob@contoso.com" || tok.Status != StatusAssigned || !tok.ActivatedAt.IsZero() || tok.Drift != 0 {
		t.Errorf("after force %+v", tok)
	}

	if _, err := d.AssignToken(ctx, "SN00000001", "nobody@contoso.com", false, 0); !errors.Is(err, ErrNotFound) || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := d.AssignToken(ctx, "NOPE", "bob@contoso.com", false, 0); !errors.Is(err, ErrNotFound) || err.Error() != "token NOPE not found" {
		t.Errorf("unknown token: %v", err)
	}

	// The method limit.
	for i := 1; i <= 4; i++ {
		if _, err := d.AssignToken(ctx, genRow(i, 0).Serial, "bob@contoso.com", false, 0); err != nil {
			t.Fatal(err)
		}
	}
	_, err = d.AssignToken(ctx, "SN00000005", "bob@contoso.com", false, 0)
	if !errors.Is(err, ErrLimit) || err.Error() != "user bob@contoso.com already has 5 OATH methods (the limit)" {
		t.Errorf("sixth method: %v", err)
	}

	// A disabled token cannot be assigned.
	if err := d.DisableToken(ctx, "SN00000006", "lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AssignToken(ctx, "SN00000006", "ada@contoso.com", false, 0); !errors.Is(err, ErrConflict) {
		t.Errorf("assign disabled: %v", err)
	}

	prev, err = d.UnassignToken(ctx, "SN00000000")
	if err != nil || prev != "bob@contoso.com" {
		t.Fatalf("unassign: %q %v", prev, err)
	}
	tok, _ = d.GetToken(ctx, "SN00000000")
	if tok.UPN != "" || tok.Status != StatusAvailable {
		t.Errorf("after unassign %+v", tok)
	}
	if prev, err := d.UnassignToken(ctx, "SN00000000"); err != nil || prev != "" {
		t.Errorf("unassign twice: %q %v", prev, err)
	}
}

func TestDisableEnableDelete(t *testing.T) {
	ctx := context.Background()
	d := stockDB(t, 4)
	d.AddUser(ctx, User{UPN: "ada@contoso.com"})
	d.AssignToken(ctx, "SN00000001", "ada@contoso.com", false, 0)
	d.sql.Exec(`UPDATE tokens SET status = 'activated', activated_at = 5, failed_attempts = 10 WHERE serial_key = 'sn00000001'`)
	if err := d.DisableToken(ctx, "SN00000001", "locked after 10 failed attempts"); err != nil {
		t.Fatal(err)
	}
	tok, _ := d.GetToken(ctx, "SN00000001")
	if tok.Status != StatusDisabled || tok.DisabledReason != "locked after 10 failed attempts" {
		t.Errorf("disabled %+v", tok)
	}
	// The owner is locked out after failed verifications too: enabling lifts both.
	d.sql.Exec(`UPDATE users SET locked = 1, failed_attempts = 10`)
	if err := d.EnableToken(ctx, "SN00000001"); err != nil {
		t.Fatal(err)
	}
	tok, _ = d.GetToken(ctx, "SN00000001")
	if tok.Status != StatusActivated || tok.FailedAttempts != 0 || tok.DisabledReason != "" {
		t.Errorf("enabled %+v", tok)
	}
	if u, _ := d.GetUser(ctx, "ada@contoso.com"); u.Locked || u.FailedAttempts != 0 {
		t.Errorf("owner still locked after enable: %+v", u)
	}
	d.DisableToken(ctx, "SN00000002", "")
	d.EnableToken(ctx, "SN00000002")
	if tok, _ := d.GetToken(ctx, "SN00000002"); tok.Status != StatusAvailable {
		t.Errorf("enabled stock token %+v", tok)
	}
	if err := d.DisableToken(ctx, "NOPE", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("disable unknown: %v", err)
	}

	counts, _ := d.CountTokens(ctx)
	if counts[StatusActivated] != 1 || counts[StatusAvailable] != 3 {
		t.Errorf("counts %v", counts)
	}

	if err := d.DeleteTokens(ctx, "SN00000000", "NOPE"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete with unknown serial: %v", err)
	}
	if n := count(t, d, "tokens"); n != 4 {
		t.Fatalf("partial delete: %d tokens left, want 4", n)
	}
	if err := d.DeleteTokens(ctx, "SN00000000", "sn00000003"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, "tokens"); n != 2 {
		t.Errorf("%d tokens left, want 2", n)
	}
}

func TestListTokensFilter(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	rows := genRows(0, 6, 2)
	rows[5].UPN, rows[5].Manufacturer, rows[5].Model = "", "Other", "M2"
	if _, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	serials := func(f TokenFilter) []string {
		ts, err := d.ListTokens(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, tk := range ts {
			out = append(out, tk.Serial)
		}
		return out
	}
	check := func(name string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", name, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v", name, got, want)
				return
			}
		}
	}
	check("all", serials(TokenFilter{}), "SN00000000", "SN00000001", "SN00000002", "SN00000003", "SN00000004", "SN00000005")
	check("upn", serials(TokenFilter{UPN: "USER0000001@contoso.com"}), "SN00000001", "SN00000003")
	check("status", serials(TokenFilter{Status: StatusAvailable}), "SN00000005")
	check("maker", serials(TokenFilter{Manufacturer: "other"}), "SN00000005")
	check("model", serials(TokenFilter{Model: "hardwarekey", UPN: "user0000000@contoso.com"}), "SN00000000", "SN00000002", "SN00000004")
	check("none", serials(TokenFilter{Status: StatusDisabled}))

	dup, err := d.SecretInUse(ctx, genRow(3, 0).Secret, "SN00000000")
	if err != nil || len(dup) != 1 || dup[0] != "SN00000003" {
		t.Errorf("SecretInUse: %v %v", dup, err)
	}
	if dup, _ := d.SecretInUse(ctx, genRow(3, 0).Secret, "sn00000003"); len(dup) != 0 {
		t.Errorf("SecretInUse excluding itself: %v", dup)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	d := openTest(t, "", Options{Now: clock.now})
	u, err := d.AddUser(ctx, User{UPN: "Helga@Contoso.com", DisplayName: "Helga", Email: "helga@contoso.com", Phone: "+1 4255551234"})
	if err != nil {
		t.Fatal(err)
	}
	if u.UPN != "Helga@Contoso.com" || u.State != UserActive || !u.CreatedAt.Equal(clock.t) || u.ID == 0 {
		t.Errorf("added %+v", u)
	}
	if _, err := d.AddUser(ctx, User{UPN: "helga@contoso.com"}); !errors.Is(err, ErrConflict) || err.Error() != "user helga@contoso.com already exists" {
		t.Errorf("duplicate UPN: %v", err)
	}
	users := []User{
		{UPN: "helga@contoso.com", DisplayName: "Helga", Email: "helga@contoso.com", Phone: "+1 4255551234"}, // same
		{UPN: "HELGA@contoso.com", DisplayName: "Helga H."},                                                  // different
		{UPN: "ivan@contoso.com"},
	}
	src := func(yield func(User, error) bool) {
		for _, u := range users {
			if !yield(u, nil) {
				return
			}
		}
	}
	res, err := d.ImportUsers(ctx, src, UserImportOptions{DryRun: true})
	if err != nil || res != (UserImportResult{Created: 1, Unchanged: 1, Skipped: 1}) {
		t.Fatalf("dry run %+v %v", res, err)
	}
	if n := count(t, d, "users"); n != 1 {
		t.Fatalf("dry run wrote users: %d", n)
	}
	res, err = d.ImportUsers(ctx, src, UserImportOptions{Update: true})
	if err != nil || res != (UserImportResult{Created: 1, Unchanged: 1, Updated: 1}) {
		t.Fatalf("import %+v %v", res, err)
	}
	if u, _ := d.GetUser(ctx, "helga@contoso.com"); u.DisplayName != "Helga H." || u.UPN != "Helga@Contoso.com" {
		t.Errorf("updated user %+v", u)
	}

	// Tokens and methods of a user, then deletion returns the tokens to stock.
	if _, err := d.ImportTokens(ctx, rowsOf([]ImportRow{genRow(1, 0), genRow(2, 0)}), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	d.AssignToken(ctx, "SN00000001", "ivan@contoso.com", false, 0)
	d.AssignToken(ctx, "SN00000002", "ivan@contoso.com", false, 0)
	d.sql.Exec(`UPDATE tokens SET status = 'activated', activated_at = 1 WHERE serial_key = 'sn00000001'`)
	d.sql.Exec(`INSERT INTO app_passwords (id, user_id, name, hash, created_at) SELECT 'p1', id, 'mail', 'x', 0 FROM users WHERE upn_key = 'ivan@contoso.com'`)
	list, err := d.ListUsers(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %v %v", list, err)
	}
	ivan := list[1]
	if ivan.UPN != "ivan@contoso.com" || ivan.Methods != 2 || ivan.TokensActivated != 1 || ivan.TokensPending != 1 || ivan.AppPasswords != 1 {
		t.Errorf("ivan %+v", ivan)
	}
	if n, _ := d.CountMethods(ctx, "IVAN@contoso.com"); n != 2 {
		t.Errorf("CountMethods %d", n)
	}
	if err := d.DeleteUser(ctx, "Ivan@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetUser(ctx, "ivan@contoso.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted user still found: %v", err)
	}
	for _, s := range []string{"SN00000001", "SN00000002"} {
		if tok, _ := d.GetToken(ctx, s); tok.UPN != "" || tok.Status != StatusAvailable || !tok.ActivatedAt.IsZero() {
			t.Errorf("token of deleted user %+v", tok)
		}
	}
	if n := count(t, d, "app_passwords"); n != 0 {
		t.Errorf("app passwords of deleted user remain: %d", n)
	}
	if err := d.DeleteUser(ctx, "ivan@contoso.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	d := openTest(t, "", Options{Now: clock.now})
	day := 24 * time.Hour
	for i, cmd := range []string{"tokens import", "tokens assign", "users add"} {
		e := AuditEvent{Time: clock.t.Add(time.Duration(i) * day), Actor: "ada", Host: "h", Command: cmd, Target: "x", Result: "success"}
		if err := d.AddAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.AddAudit(ctx, AuditEvent{Command: "now"}); err != nil { // zero time: the clock
		t.Fatal(err)
	}
	got, err := d.ListAudit(ctx, AuditFilter{Since: clock.t.Add(day), Until: clock.t.Add(2 * day)})
	if err != nil || len(got) != 1 || got[0].Command != "tokens assign" || !got[0].Time.Equal(clock.t.Add(day)) {
		t.Errorf("audit range: %+v %v", got, err)
	}
	all, _ := d.ListAudit(ctx, AuditFilter{})
	if len(all) != 4 || all[0].Command != "tokens import" || all[1].Command != "now" {
		t.Errorf("audit order: %+v", all)
	}

	ev := AuthEvent{UPN: "helga@contoso.com", FirstName: "Helga", DeviceToken: "SN1", Mode: "oath-hardware",
		Result: "success", ResultCode: "SUCCESS_OATH_CODE_VERIFIED", ServerName: "h", ServerIP: "10.0.0.1", ClientIP: "10.0.0.2"}
	d.AddAuthEvent(ctx, ev)
	denied := ev
	denied.Result, denied.ResultCode, denied.Reason, denied.Time = "denied", "FAILED_OATH_CODE_INCORRECT", "wrong code", clock.t.Add(time.Minute)
	d.AddAuthEvent(ctx, denied)
	other := ev
	other.UPN = "ivan@contoso.com"
	d.AddAuthEvent(ctx, other)

	evs, err := d.ListAuthEvents(ctx, AuthEventFilter{UPN: "helga@contoso.com"})
	if err != nil || len(evs) != 2 {
		t.Fatalf("auth events: %+v %v", evs, err)
	}
	want := ev
	want.ID, want.Time = evs[0].ID, clock.t
	if evs[0] != want {
		t.Errorf("event %+v\nwant %+v", evs[0], want)
	}
	if evs, _ := d.ListAuthEvents(ctx, AuthEventFilter{Result: "denied"}); len(evs) != 1 || evs[0].Reason != "wrong code" {
		t.Errorf("denied events %+v", evs)
	}
	if evs, _ := d.ListAuthEvents(ctx, AuthEventFilter{Since: clock.t.Add(time.Second)}); len(evs) != 1 {
		t.Errorf("since filter %+v", evs)
	}
	if evs, _ := d.ListAuthEvents(ctx, AuthEventFilter{UPN: "nobody"}); evs == nil || len(evs) != 0 {
		t.Errorf("empty result must be an empty slice: %#v", evs)
	}
}
