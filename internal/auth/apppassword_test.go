package auth

import (
	"context"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/users"
)

func TestVerifyAppPassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	check := func(upn, password string) Result {
		t.Helper()
		r, err := e.svc.VerifyAppPassword(ctx, upn, password, Options{ClientIP: "2001:db8::1"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want(t, check("nobody@contoso.com", "x"), false, CodeUserUnknown, "user not found")
	want(t, check("ada@contoso.com", "x"), false, CodeNoMethod, "no app password")

	var ids []string
	for _, pw := range []string{"first-password-1", "second-password2"} {
		h, err := users.HashAppPassword(pw)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.db.AddAppPassword(ctx, "ada@contoso.com", "mail", h)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	e.clock.t = t0.Add(time.Hour)
	r := check("ADA@contoso.com", "second-password2")
	want(t, r, true, CodeAppPasswordVerified, "")
	if r.DeviceToken != ids[1] || r.Mode != ModeAppPassword || r.UPN != "Ada@contoso.com" {
		t.Fatalf("result %+v", r)
	}
	ps, _ := e.db.ListAppPasswords(ctx, "ada@contoso.com")
	if len(ps) != 2 {
		t.Fatalf("app passwords %+v", ps)
	}
	for _, p := range ps {
		if used := p.LastUsedAt.Equal(e.clock.t); used != (p.ID == ids[1]) {
			t.Errorf("last used of %s: %v", p.ID, p.LastUsedAt)
		}
	}
	// Wrong passwords, including a near miss, are incorrect and lock nothing.
	want(t, check("ada@contoso.com", "second-password"), false, CodeAppPasswordIncorrect, "incorrect app password")
	if u := e.user(t, "ada@contoso.com"); u.FailedAttempts != 0 {
		t.Errorf("an app-password failure counted against OATH: %+v", u)
	}
	if _, _, err := e.db.BlockUser(ctx, "ada@contoso.com", ""); err != nil {
		t.Fatal(err)
	}
	want(t, check("ada@contoso.com", "second-password2"), false, CodeUserBlocked, "user is blocked")

	evs := e.events(t)
	if len(evs) != 5 {
		t.Fatalf("%d events", len(evs))
	}
	exp := directory.AuthEvent{ID: evs[2].ID, Time: t0.Add(time.Hour), UPN: "Ada@contoso.com", FirstName: "Ada", LastName: "Lovelace",
		Email: "ada@contoso.com", Phone: "+44 2071234567", DeviceToken: ids[1], Mode: "app-password", Result: "success",
		ResultCode: CodeAppPasswordVerified, ServerName: "mfa01", ServerIP: "10.0.0.5", ClientIP: "2001:db8::1"}
	if evs[2] != exp {
		t.Errorf("event\n got %+v\nwant %+v", evs[2], exp)
	}
}
