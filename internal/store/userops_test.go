package store

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// registeredUser gives ada@contoso.com hardware tokens in four states, one authenticator app
// and two app passwords, and bob@contoso.com one activated token; SN00000009 stays in stock.
func registeredUser(t *testing.T) (*DB, *fixedClock) {
	t.Helper()
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	d := openTest(t, "", Options{Now: clock.now})
	rows := genRows(0, 10, 0)
	for i := range 4 {
		rows[i].UPN = "Ada@contoso.com"
	}
	rows[4].UPN = "bob@contoso.com"
	if _, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, d, `UPDATE tokens SET status = 'activated', activated_at = 100, drift = 2, last_step = 999, failed_attempts = 1 WHERE serial_key IN ('sn00000000', 'sn00000004')`)
	mustExec(t, d, `UPDATE tokens SET status = 'failed_activation', failed_attempts = 3 WHERE serial_key = 'sn00000001'`)
	mustExec(t, d, `UPDATE tokens SET status = 'disabled', disabled_reason = 'lost' WHERE serial_key = 'sn00000002'`)
	if _, err := d.AddAuthApp(ctx, "ada@contoso.com", NewAuthApp{Name: "phone", Issuer: "contoso.com", Secret: []byte("12345678901234567890")}, 0); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mail", "vpn"} {
		if _, err := d.AddAppPassword(ctx, "ada@contoso.com", name, "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"); err != nil {
			t.Fatal(err)
		}
	}
	return d, clock
}

func mustExec(t *testing.T, d *DB, q string, args ...any) {
	t.Helper()
	if _, err := d.sql.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// tokenRow is what a reset may change in a token row.
func tokenRow(t *testing.T, d *DB, serial string) string {
	t.Helper()
	var s string
	err := d.sql.QueryRow(`SELECT COALESCE(CAST(user_id AS TEXT), '-') || ',' || status || ',' || disabled_reason || ',' || drift || ',' || last_step || ',' ||
		failed_attempts || ',' || COALESCE(CAST(activated_at AS TEXT), '-') FROM tokens WHERE serial_key = ?`, Key(serial)).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fullSnapshot extends snapshot with the user flags, methods and app passwords.
func fullSnapshot(t *testing.T, d *DB) string {
	t.Helper()
	var s string
	q := `SELECT COALESCE(group_concat(x, '|'), '') FROM (
		SELECT id || ',' || state || ',' || blocked_reason || ',' || must_register || ',' || failed_attempts || ',' || locked || ',' || updated_at AS x FROM users
		UNION ALL SELECT id || ',' || user_id || ',' || hex(secret_enc) FROM auth_methods
		UNION ALL SELECT id || ',' || user_id || ',' || hash FROM app_passwords
		ORDER BY 1)`
	if d.dialect == dialectPostgres {
		q = `SELECT COALESCE(string_agg(x, '|' ORDER BY x COLLATE "C"), '') FROM (
		SELECT id || ',' || state || ',' || blocked_reason || ',' || must_register || ',' || failed_attempts || ',' || locked || ',' || updated_at AS x FROM users
		UNION ALL SELECT id || ',' || user_id || ',' || encode(secret_enc, 'hex') FROM auth_methods
		UNION ALL SELECT id || ',' || user_id || ',' || hash FROM app_passwords) s`
	}
	err := d.sql.QueryRow(q).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot(t, d) + "#" + s
}

func TestResetRegistrations(t *testing.T) {
	ctx := context.Background()
	d, clock := registeredUser(t)
	apps, _ := d.ListAuthApps(ctx, "ada@contoso.com")
	want := []RegistrationReset{{
		UPN: "Ada@contoso.com",
		Tokens: []ResetToken{
			{Serial: "SN00000000", Status: StatusActivated, NewStatus: StatusAvailable},
			{Serial: "SN00000001", Status: StatusFailedActivation, NewStatus: StatusAvailable},
			{Serial: "SN00000002", Status: StatusDisabled, NewStatus: StatusDisabled},
			{Serial: "SN00000003", Status: StatusAssigned, NewStatus: StatusAvailable},
		},
		AuthApps:         apps,
		AppPasswordsKept: 2,
	}}
	if len(apps) != 1 {
		t.Fatalf("apps %+v", apps)
	}

	// A dry run reports exactly what the real run does and changes nothing.
	before := fullSnapshot(t, d)
	clock.t = clock.t.Add(time.Hour)
	got, err := d.ResetRegistrations(ctx, []string{"ada@CONTOSO.com", "ADA@contoso.com"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("dry run\n got %+v\nwant %+v", got, want)
	}
	if after := fullSnapshot(t, d); after != before {
		t.Fatalf("dry run changed the directory:\n%s\n%s", before, after)
	}

	// An unknown user anywhere in the list rolls everything back.
	_, err = d.ResetRegistrations(ctx, []string{"ada@contoso.com", "nobody@contoso.com"}, false)
	if !errors.Is(err, ErrNotFound) || err.Error() != "user nobody@contoso.com not found" {
		t.Fatalf("unknown user: %v", err)
	}
	if after := fullSnapshot(t, d); after != before {
		t.Fatal("a failed reset changed the directory")
	}

	got, err = d.ResetRegistrations(ctx, []string{"ada@contoso.com", "Ada@Contoso.com"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reset\n got %+v\nwant %+v", got, want)
	}
	updated := clock.t.Unix()
	for serial, row := range map[string]string{
		"SN00000000": "-,available,,0,999,0,-", // last_step stays: codes used before the reset stay used
		"SN00000001": "-,available,,0,0,0,-",
		"SN00000002": "-,disabled,lost,0,0,0,-", // a lost token must not become usable stock
		"SN00000003": "-,available,,0,0,0,-",
		"SN00000004": "2,activated,,2,999,1,100", // bob's: untouched
	} {
		if g := tokenRow(t, d, serial); g != row {
			t.Errorf("%s: %s, want %s", serial, g, row)
		}
	}
	u, _ := d.GetUser(ctx, "ada@contoso.com")
	if !u.MustRegister || u.Methods != 0 || u.AppPasswords != 2 || u.State != UserActive || !u.UpdatedAt.Equal(time.Unix(updated, 0)) {
		t.Errorf("after reset %+v", u)
	}
	if n := count(t, d, "auth_methods"); n != 0 {
		t.Errorf("%d authenticator apps left", n)
	}
	bob, _ := d.GetUser(ctx, "bob@contoso.com")
	if bob.MustRegister || bob.Methods != 1 {
		t.Errorf("bob %+v", bob)
	}

	// Again: nothing left to remove, the flag stays.
	got, err = d.ResetRegistrations(ctx, []string{"ada@contoso.com"}, false)
	want = []RegistrationReset{{UPN: "Ada@contoso.com", Tokens: []ResetToken{}, AuthApps: []AuthApp{}, AppPasswordsKept: 2, WasMustRegister: true}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("second reset %+v %v", got, err)
	}
	// An empty list does nothing.
	if got, err := d.ResetRegistrations(ctx, nil, false); err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty: %#v %v", got, err)
	}
}

func TestResetKeepsLockoutAndState(t *testing.T) {
	ctx := context.Background()
	d, _ := registeredUser(t)
	mustExec(t, d, `UPDATE users SET state = 'blocked', blocked_reason = 'left', failed_attempts = 10, locked = 1 WHERE upn_key = 'ada@contoso.com'`)
	if _, err := d.ResetRegistrations(ctx, []string{"ada@contoso.com"}, false); err != nil {
		t.Fatal(err)
	}
	u, _ := d.GetUser(ctx, "ada@contoso.com")
	if u.State != UserBlocked || u.BlockedReason != "left" || u.FailedAttempts != 10 || !u.Locked || !u.MustRegister {
		t.Errorf("reset touched state or lockout: %+v", u)
	}
}

func TestBlockUnblock(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	d := openTest(t, "", Options{Now: clock.now})
	if _, err := d.AddUser(ctx, User{UPN: "Ada@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(time.Minute)
	u, changed, err := d.BlockUser(ctx, "ada@contoso.com", "left the company")
	if err != nil || !changed || u.State != UserBlocked || u.BlockedReason != "left the company" || u.UPN != "Ada@contoso.com" || !u.UpdatedAt.Equal(clock.t) {
		t.Fatalf("block: %+v %v %v", u, changed, err)
	}
	// Same reason again: nothing to change; a new reason replaces the old one.
	if _, changed, err := d.BlockUser(ctx, "ADA@contoso.com", "left the company"); err != nil || changed {
		t.Errorf("re-block: %v %v", changed, err)
	}
	if u, changed, err := d.BlockUser(ctx, "ada@contoso.com", ""); err != nil || !changed || u.BlockedReason != "" || u.State != UserBlocked {
		t.Errorf("re-block without reason: %+v %v %v", u, changed, err)
	}

	// Unblock also lifts a lockout.
	mustExec(t, d, `UPDATE users SET failed_attempts = 10, locked = 1`)
	u, changed, err = d.UnblockUser(ctx, "ada@contoso.com")
	if err != nil || !changed || u.State != UserActive || u.BlockedReason != "" || u.FailedAttempts != 0 || u.Locked {
		t.Fatalf("unblock: %+v %v %v", u, changed, err)
	}
	if _, changed, err := d.UnblockUser(ctx, "ada@contoso.com"); err != nil || changed {
		t.Errorf("unblock active user: %v %v", changed, err)
	}
	// A locked but active user: unblock clears the lockout.
	mustExec(t, d, `UPDATE users SET failed_attempts = 10, locked = 1`)
	if u, changed, err := d.UnblockUser(ctx, "ada@contoso.com"); err != nil || !changed || u.Locked || u.FailedAttempts != 0 {
		t.Errorf("unlock: %+v %v %v", u, changed, err)
	}

	for _, err := range []error{
		func() error { _, _, err := d.BlockUser(ctx, "nobody@contoso.com", "x"); return err }(),
		func() error { _, _, err := d.UnblockUser(ctx, "nobody@contoso.com"); return err }(),
	} {
		if !errors.Is(err, ErrNotFound) || err.Error() != "user nobody@contoso.com not found" {
			t.Errorf("unknown user: %v", err)
		}
	}
}

const testHash = "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"

func TestAppPasswords(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	d := openTest(t, "", Options{Now: clock.now})
	for _, upn := range []string{"Ada@contoso.com", "bob@contoso.com"} {
		if _, err := d.AddUser(ctx, User{UPN: upn}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.AddAppPassword(ctx, "ada@contoso.com", "mail", "hunter2hunter2xx"); !errors.Is(err, ErrNotHashed) {
		t.Fatalf("plain password accepted: %v", err)
	}
	if _, err := d.AddAppPassword(ctx, "nobody@contoso.com", "mail", testHash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	var ada []AppPassword
	for i, name := range []string{"mail", "vpn", "printer"} {
		clock.t = clock.t.Add(time.Minute)
		p, err := d.AddAppPassword(ctx, "ADA@contoso.com", name, testHash+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.ID) != 16 || strings.Trim(p.ID, "abcdefghijklmnopqrstuvwxyz234567") != "" || p.UPN != "Ada@contoso.com" || p.Name != name || !p.CreatedAt.Equal(clock.t) {
			t.Fatalf("added %+v", p)
		}
		ada = append(ada, p)
	}
	bob, err := d.AddAppPassword(ctx, "bob@contoso.com", "", testHash)
	if err != nil {
		t.Fatal(err)
	}

	if got, err := d.ListAppPasswords(ctx, "ada@contoso.com"); err != nil || !reflect.DeepEqual(got, ada) {
		t.Errorf("list ada: %+v %v", got, err)
	}
	if got, err := d.ListAppPasswords(ctx, ""); err != nil || !reflect.DeepEqual(got, append(append([]AppPassword{}, ada...), bob)) {
		t.Errorf("list all: %+v %v", got, err)
	}
	if _, err := d.ListAppPasswords(ctx, "nobody@contoso.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("list unknown user: %v", err)
	}
	// Revoke one (ids compare case-insensitively), then an id that is bob's, then all.
	got, err := d.RevokeAppPasswords(ctx, "ada@contoso.com", strings.ToUpper(ada[1].ID))
	if err != nil || len(got) != 1 || got[0].ID != ada[1].ID {
		t.Fatalf("revoke one: %+v %v", got, err)
	}
	_, err = d.RevokeAppPasswords(ctx, "ada@contoso.com", bob.ID)
	if !errors.Is(err, ErrNotFound) || err.Error() != "app password "+bob.ID+" of user Ada@contoso.com not found" {
		t.Errorf("revoke someone else's: %v", err)
	}
	got, err = d.RevokeAppPasswords(ctx, "ada@contoso.com", "")
	if err != nil || len(got) != 2 || got[0].ID != ada[0].ID || got[1].ID != ada[2].ID {
		t.Fatalf("revoke all: %+v %v", got, err)
	}
	if got, err := d.RevokeAppPasswords(ctx, "ada@contoso.com", ""); err != nil || got == nil || len(got) != 0 {
		t.Errorf("revoke none: %#v %v", got, err)
	}
	if left, _ := d.ListAppPasswords(ctx, ""); len(left) != 1 || left[0].ID != bob.ID {
		t.Errorf("left %+v", left)
	}
	// Deleting a user deletes their app passwords.
	if err := d.DeleteUser(ctx, "bob@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, "app_passwords"); n != 0 {
		t.Errorf("%d app passwords after deleting the user", n)
	}
}

func TestAuthApps(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	d := openTest(t, "", Options{Now: clock.now})
	if _, err := d.AddUser(ctx, User{UPN: "Ada@contoso.com", MustRegister: true}); err != nil {
		t.Fatal(err)
	}
	secret := []byte("12345678901234567890")
	a, err := d.AddAuthApp(ctx, "ada@contoso.com", NewAuthApp{Name: "phone", Issuer: "contoso.com", Secret: secret}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := AuthApp{ID: a.ID, UPN: "Ada@contoso.com", Name: "phone", Issuer: "contoso.com", Hash: "SHA1", Digits: 6, Period: 30, CreatedAt: clock.t}
	if a != want || len(a.ID) != 16 {
		t.Fatalf("added %+v", a)
	}
	if got, err := d.ListAuthApps(ctx, "ada@contoso.com"); err != nil || len(got) != 1 || got[0] != want {
		t.Errorf("list %+v %v", got, err)
	}
	// Sealed like token secrets, under the id, with the fingerprint beside it.
	var enc, fp []byte
	if err := d.sql.QueryRow(`SELECT secret_enc, secret_fp FROM auth_methods WHERE id = ?`, a.ID).Scan(&enc, &fp); err != nil {
		t.Fatal(err)
	}
	if plain, err := d.sealer.Open(enc, a.ID); err != nil || !bytes.Equal(plain, secret) {
		t.Errorf("open under the id: %v", err)
	}
	if _, err := d.sealer.Open(enc, "another"); err == nil {
		t.Error("the sealed secret opens under another label")
	}
	if !bytes.Equal(fp, d.sealer.Fingerprint(secret)) || bytes.Contains(enc, secret) {
		t.Error("fingerprint or sealing wrong")
	}
	if got, err := d.AuthAppSecret(ctx, a.ID); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("secret: %v", err)
	}
	if _, err := d.AuthAppSecret(ctx, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown app: %v", err)
	}
	// Registering a method is the re-registration a reset asked for.
	if u, _ := d.GetUser(ctx, "ada@contoso.com"); u.MustRegister || u.Methods != 1 {
		t.Errorf("user after enrolment %+v", u)
	}
	if _, err := d.AddAuthApp(ctx, "ada@contoso.com", NewAuthApp{}, 0); err == nil {
		t.Error("empty secret accepted")
	}
	if _, err := d.AddAuthApp(ctx, "nobody@contoso.com", NewAuthApp{Secret: secret}, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	// A database opened without the key cannot seal.
	nk := openTest(t, t.TempDir(), Options{NoKey: true})
	if _, err := nk.AddAuthApp(ctx, "ada@contoso.com", NewAuthApp{Secret: secret}, 0); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key: %v", err)
	}
}

// TestMethodLimitAcrossImportAssignEnroll checks the five-method limit wherever a method is
// added, counting hardware tokens and authenticator apps together.
func TestMethodLimitAcrossImportAssignEnroll(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	secret := []byte("12345678901234567890")
	enroll := func(upn string) error {
		_, err := d.AddAuthApp(ctx, upn, NewAuthApp{Name: "phone", Secret: secret}, 0)
		return err
	}
	limitErr := func(err error, upn string) bool {
		var le *LimitError
		return errors.As(err, &le) && errors.Is(err, ErrLimit) && err.Error() == "user "+upn+" already has 5 OATH methods (the limit)"
	}

	// Ada: 2 imported tokens + 2 apps + 1 assigned token = 5.
	rows := genRows(0, 12, 0)
	rows[0].UPN, rows[1].UPN = "ada@contoso.com", "ada@contoso.com"
	if _, err := d.ImportTokens(ctx, rowsOf(rows[:2]), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ImportTokens(ctx, rowsOf(rows[2:]), ImportOptions{}); err != nil { // stock
		t.Fatal(err)
	}
	for range 2 {
		if err := enroll("ada@contoso.com"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.AssignToken(ctx, rows[2].Serial, "ada@contoso.com", false, 0); err != nil {
		t.Fatal(err)
	}
	if n, err := d.CountMethods(ctx, "ada@contoso.com"); n != 5 || err != nil {
		t.Fatalf("count %d %v", n, err)
	}
	// The sixth method, whichever way it comes, is refused.
	if err := enroll("ada@contoso.com"); !limitErr(err, "ada@contoso.com") {
		t.Errorf("enroll a sixth: %v", err)
	}
	if _, err := d.AssignToken(ctx, rows[3].Serial, "ada@contoso.com", false, 0); !limitErr(err, "ada@contoso.com") {
		t.Errorf("assign a sixth: %v", err)
	}
	sixth := rows[4]
	sixth.UPN = "ada@contoso.com"
	res, err := d.ImportTokens(ctx, rowsOf([]ImportRow{sixth}), ImportOptions{OnDuplicate: DuplicateUpdate})
	if !errors.Is(err, ErrRejected) || len(res.Problems) != 1 || res.Problems[0].Code != CodeUserLimit {
		t.Errorf("import a sixth: %+v %v", res, err)
	}
	if n, _ := d.CountMethods(ctx, "ada@contoso.com"); n != 5 {
		t.Errorf("count after refusals %d", n)
	}

	// Bob: 5 apps, then neither import nor assign may add a token.
	if _, err := d.AddUser(ctx, User{UPN: "bob@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := enroll("bob@contoso.com"); err != nil {
			t.Fatal(err)
		}
	}
	if err := enroll("bob@contoso.com"); !limitErr(err, "bob@contoso.com") {
		t.Errorf("sixth app: %v", err)
	}
	if _, err := d.AssignToken(ctx, rows[5].Serial, "bob@contoso.com", false, 0); !limitErr(err, "bob@contoso.com") {
		t.Errorf("assign to a user with 5 apps: %v", err)
	}
	row := genRow(100, 0)
	row.UPN = "bob@contoso.com"
	res, err = d.ImportTokens(ctx, rowsOf([]ImportRow{row}), ImportOptions{})
	if !errors.Is(err, ErrRejected) || len(res.Problems) != 1 || res.Problems[0].Code != CodeUserLimit {
		t.Errorf("import for a user with 5 apps: %+v %v", res, err)
	}

	// Carol: 4 imported tokens; a lower limit applies to enrolment too.
	for i := 6; i < 10; i++ {
		rows[i].UPN = "carol@contoso.com"
	}
	if _, err := d.ImportTokens(ctx, rowsOf(rows[6:10]), ImportOptions{OnDuplicate: DuplicateUpdate}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddAuthApp(ctx, "carol@contoso.com", NewAuthApp{Secret: secret}, 4); !errors.Is(err, ErrLimit) {
		t.Errorf("enrol over a limit of 4: %v", err)
	}
	if err := enroll("carol@contoso.com"); err != nil {
		t.Errorf("fifth method: %v", err)
	}

	// A reset frees the slots.
	if _, err := d.ResetRegistrations(ctx, []string{"ada@contoso.com"}, false); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.CountMethods(ctx, "ada@contoso.com"); n != 0 {
		t.Errorf("count after reset %d", n)
	}
	if err := enroll("ada@contoso.com"); err != nil {
		t.Errorf("enrol after reset: %v", err)
	}
}
