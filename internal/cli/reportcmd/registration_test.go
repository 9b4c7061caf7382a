package reportcmd

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/directory"
)

// directoryEnv has users in every registration state and tokens in every status:
//
//	=evil@contoso.com   no method (a UPN that a spreadsheet would run)
//	adele@contoso.com   no method, must register again
//	helga@contoso.com   token SN1 activated (2026-11-01) and used (2026-11-10), token SN2
//	                    pending, an authenticator app
//	ivan@contoso.com    blocked, token SN3 pending, an app password
//	SN4 available (Contoso), SN5 disabled stock (Fabrikam)
func directoryEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	for _, u := range []directory.User{
		{UPN: "helga@contoso.com", DisplayName: "Helga Lindqvist", Email: "helga@contoso.com", Phone: "+1 4255550100"},
		{UPN: "ivan@contoso.com", DisplayName: "Ivan", State: directory.UserBlocked, BlockedReason: "left the company"},
		{UPN: "adele@contoso.com", DisplayName: "Adele Vance", MustRegister: true},
		{UPN: "=evil@contoso.com", DisplayName: "@evil"},
	} {
		if _, err := e.db.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	row := func(serial, upn, make, model string) directory.ImportRow {
		return directory.ImportRow{Serial: serial, UPN: upn, Secret: testSecret, Period: 30, Digits: 6, Hash: "SHA1", Manufacturer: make, Model: model}
	}
	_, err := e.db.ImportTokens(ctx, seq(
		row("SN1", "helga@contoso.com", "Contoso", "HardwareKey"),
		row("SN2", "helga@contoso.com", "Contoso", "HardwareKey"),
		row("SN3", "ivan@contoso.com", "Contoso", "HardwareKey"),
		row("SN4", "", "Contoso", "HardwareKey"),
		row("SN5", "", "Fabrikam", "C200"),
	), directory.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.DisableToken(ctx, "SN5", "reported lost"); err != nil {
		t.Fatal(err)
	}
	// Activate SN1 with the code it shows, at 2026-11-01 (three weeks before testNow).
	activatedAt := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	code, err := totp.GenerateCodeCustom(base32.StdEncoding.EncodeToString(testSecret), activatedAt,
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := auth.New(e.at(t, activatedAt), func() time.Time { return activatedAt }, auth.Server{}).Activate(ctx, "SN1", code, auth.ActivateOptions{Window: 1})
	if err != nil || !res.Success {
		t.Fatalf("activating SN1: %+v, %v", res, err)
	}
	// Helga signs in with SN1 at 2026-11-10: its last use.
	usedAt := time.Date(2026, 11, 10, 8, 0, 0, 0, time.UTC)
	code, err = totp.GenerateCodeCustom(base32.StdEncoding.EncodeToString(testSecret), usedAt,
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	res, err = auth.New(e.at(t, usedAt), func() time.Time { return usedAt }, auth.Server{}).Verify(ctx, "helga@contoso.com", code, auth.Options{})
	if err != nil || !res.Success {
		t.Fatalf("verifying SN1: %+v, %v", res, err)
	}
	if _, err := e.db.AddAuthApp(ctx, "helga@contoso.com", directory.NewAuthApp{Name: "phone", Secret: []byte("another-secret-12345")}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AddAppPassword(ctx, "ivan@contoso.com", "mail", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRegistration(t *testing.T) {
	e := directoryEnv(t)
	wantOutput(t, "table", e.ok(t, "", "registration"),
		`UPN                DISPLAY NAME     EMAIL              PHONE          STATE    BLOCKED REASON    MUST REGISTER  METHODS  TOKENS ACTIVATED  TOKENS PENDING  APP PASSWORDS
=evil@contoso.com  @evil                                              active                     false          0        0                 0               0
adele@contoso.com  Adele Vance                                        active                     true           0        0                 0               0
helga@contoso.com  Helga Lindqvist  helga@contoso.com  +1 4255550100  active                     false          3        1                 1               0
ivan@contoso.com   Ivan                                               blocked  left the company  false          1        0                 1               1

Total: 4 users, 2 without any method, 1 must register, 1 blocked; 4 methods, 1 tokens activated, 2 pending, 1 app password
`)
	wantOutput(t, "csv", e.ok(t, "csv", "registration"),
		`upn,display name,email,phone,state,blocked reason,must register,methods,tokens activated,tokens pending,app passwords
'=evil@contoso.com,'@evil,,,active,,false,0,0,0,0
adele@contoso.com,Adele Vance,,,active,,true,0,0,0,0
helga@contoso.com,Helga Lindqvist,helga@contoso.com,'+1 4255550100,active,,false,3,1,1,0
ivan@contoso.com,Ivan,,,blocked,left the company,false,1,0,1,1
`)
	var users []map[string]any
	if err := json.Unmarshal([]byte(e.ok(t, "json", "registration")), &users); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"upn": "helga@contoso.com", "display_name": "Helga Lindqvist", "email": "helga@contoso.com",
		"phone": "+1 4255550100", "state": "active", "blocked_reason": "", "must_register": false, "methods": 3.0,
		"tokens_activated": 1.0, "tokens_pending": 1.0, "app_passwords": 0.0}
	if len(users) != 4 || !equalJSON(users[2], want) {
		t.Errorf("json: %v", users)
	}
	wantOutput(t, "empty directory json", newEnv(t).ok(t, "json", "registration"), "[]\n")
	wantOutput(t, "empty directory table", newEnv(t).ok(t, "", "registration"),
		"UPN  DISPLAY NAME  EMAIL  PHONE  STATE  BLOCKED REASON  MUST REGISTER  METHODS  TOKENS ACTIVATED  TOKENS PENDING  APP PASSWORDS\n\n"+
			"Total: 0 users, 0 without any method, 0 must register, 0 blocked; 0 methods, 0 tokens activated, 0 pending, 0 app passwords\n")
}

// A registration table too long to keep in memory reads the users twice and still totals
// them once.
func TestRegistrationLongTable(t *testing.T) {
	defer func(n int) { render.TableMemoryRows = n }(render.TableMemoryRows)
	render.TableMemoryRows = 2
	e := directoryEnv(t)
	render.TableMemoryRows = 5000
	short := e.ok(t, "", "registration")
	render.TableMemoryRows = 2
	if long := e.ok(t, "", "registration"); long != short {
		t.Errorf("two-pass table differs:\n%s\nfrom:\n%s", long, short)
	}
}

func equalJSON(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
