package entra

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
)

type env struct {
	fake  *graphfake.Server
	d     *Directory
	waits []time.Duration
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f := graphfake.New()
	f.SetActivationWindow(1) // wrong codes on the real clock must not match by chance
	t.Cleanup(f.Close)
	if err := entrafake.Seed(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	e := &env{fake: f}
	d, err := Open(context.Background(), "entra://"+entrafake.Domain, Options{
		GraphURL: f.URL, HTTPClient: f.Client(), Tokens: graph.StaticToken(graphfake.Token),
		graph: func(o *graph.Options) {
			o.Sleep = func(ctx context.Context, d time.Duration) error { e.waits = append(e.waits, d); return nil }
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	return e
}

// writes are the requests since the first n that were not reads.
func (e *env) writes(n int) []graphfake.Request {
	var out []graphfake.Request
	for _, r := range e.fake.Requests()[n:] {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func TestListTokensMapsEveryPageAndStatus(t *testing.T) {
	e := newEnv(t)
	e.fake.SetPageSize(1) // four devices: four pages
	before := len(e.fake.Requests())
	e.fake.ThrottleNext(1, "2")
	toks, err := e.d.ListTokens(context.Background(), directory.TokenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []directory.Token{
		{Serial: "GALT0001", Manufacturer: "Gemalto", Model: "GALT-100", Hash: "SHA1", Digits: 6, Period: 30, Status: directory.StatusAvailable},
		{Serial: "GALT0002", UPN: entrafake.Adele, Manufacturer: "Gemalto", Model: "GALT-100", Hash: "SHA1", Digits: 6, Period: 30, Status: directory.StatusActivated},
		{Serial: "GALT0003", UPN: entrafake.Megan, Manufacturer: "Gemalto", Model: "GALT-100", Hash: "SHA1", Digits: 6, Period: 30, Status: directory.StatusAssigned},
		{Serial: "YK0004", UPN: entrafake.Alex, Manufacturer: "Yubico", Model: "YubiKey OTP", Hash: "SHA256", Digits: 6, Period: 60, Status: directory.StatusFailedActivation},
	}
	if len(toks) != len(want) {
		t.Fatalf("got %d tokens, want %d: %+v", len(toks), len(want), toks)
	}
	for i := range want {
		if toks[i] != want[i] {
			t.Errorf("token %d:\n got %+v\nwant %+v", i, toks[i], want[i])
		}
	}
	if len(e.waits) != 1 || e.waits[0] != 2*time.Second {
		t.Errorf("waits %v, want the one Retry-After of 2s", e.waits)
	}
	// 1 throttled + 4 pages (the last has no next link) + 3 owners, each asked once.
	var pages, users int
	for _, r := range e.fake.Requests()[before:] {
		switch {
		case strings.HasSuffix(r.Path, "/hardwareOathDevices") && r.Status == http.StatusOK:
			pages++
		case strings.HasPrefix(r.Path, "/v1.0/users/"):
			users++
		}
	}
	if pages != 4 || users != 3 {
		t.Errorf("%d device pages and %d user reads, want 4 and 3", pages, users)
	}
	// The owners are cached for the rest of the command.
	if _, err := e.d.ListTokens(context.Background(), directory.TokenFilter{UPN: "ADELE.VANCE@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.CountRequests(http.MethodGet, "/v1.0/users/"); n != 3 {
		t.Errorf("%d user reads after a second listing, want still 3", n)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("a listing wrote: %+v", w)
	}
}

func TestFilterAndGetToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	toks, err := e.d.ListTokens(ctx, directory.TokenFilter{Manufacturer: "GEMALTO", Status: directory.StatusAssigned})
	if err != nil || len(toks) != 1 || toks[0].Serial != "GALT0003" {
		t.Fatalf("filtered: %+v, %v", toks, err)
	}
	tok, err := e.d.GetToken(ctx, "YK0004")
	if err != nil || tok.UPN != entrafake.Alex || tok.Status != directory.StatusFailedActivation {
		t.Fatalf("GetToken: %+v, %v", tok, err)
	}
	_, err = e.d.GetToken(ctx, "NOPE1")
	if !errors.Is(err, directory.ErrNotFound) || err.Error() != "token NOPE1 not found" {
		t.Fatalf("missing token: %v", err)
	}
}

func TestUsersWithTheirMethods(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	us, err := e.d.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]directory.User{}
	var order []string
	for _, u := range us {
		got[u.UPN] = u
		order = append(order, u.UPN)
	}
	if strings.Join(order, " ") != strings.Join([]string{entrafake.Adele, entrafake.Alex, entrafake.Diego, entrafake.Megan}, " ") {
		t.Errorf("order %v", order)
	}
	check := func(u directory.User, state directory.UserState, methods, activated, pending int) {
		t.Helper()
		if u.State != state || u.Methods != methods || u.TokensActivated != activated || u.TokensPending != pending {
			t.Errorf("%s: %+v", u.UPN, u)
		}
	}
	check(got[entrafake.Adele], directory.UserActive, 1, 1, 0)
	check(got[entrafake.Alex], directory.UserActive, 2, 0, 1) // failed hardware token + software OATH
	check(got[entrafake.Diego], directory.UserActive, 0, 0, 0)
	check(got[entrafake.Megan], directory.UserBlocked, 1, 0, 1)
	if a := got[entrafake.Adele]; a.DisplayName != "Adele Vance" || a.Email != entrafake.Adele || a.Phone != "+1 425 555 0109" {
		t.Errorf("adele: %+v", a)
	}
	alex, err := e.d.GetUser(ctx, "alex.wilber@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	check(alex, directory.UserActive, 2, 0, 1)
	if _, err := e.d.GetUser(ctx, "nobody@contoso.com"); !errors.Is(err, directory.ErrNotFound) || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("missing user: %v", err)
	}
	apps, err := e.d.ListAuthApps(ctx, entrafake.Alex)
	if err != nil || len(apps) != 1 {
		t.Errorf("auth apps: %+v, %v", apps, err)
	}
}

func TestInventory(t *testing.T) {
	e := newEnv(t)
	rows, err := e.d.TokenInventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []directory.InventoryRow{
		{Manufacturer: "Gemalto", Model: "GALT-100", Total: 3, Available: 1, Assigned: 1, Activated: 1, Unassigned: 1},
		{Manufacturer: "Yubico", Model: "YubiKey OTP", Total: 1, FailedActivation: 1},
	}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Errorf("inventory %+v", rows)
	}
	// Counting needs no owner.
	if n := e.fake.CountRequests(http.MethodGet, "/v1.0/users"); n != 0 {
		t.Errorf("%d user reads for the inventory", n)
	}
}

func TestUnsupportedSendNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := len(e.fake.Requests())
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"add user", func() error { _, err := e.d.AddUser(ctx, directory.User{UPN: "x@contoso.com"}); return err }(), ErrUserLifecycle.Error()},
		{"delete user", e.d.DeleteUser(ctx, entrafake.Diego), ErrUserLifecycle.Error()},
		{"app password", func() error { _, err := e.d.AddAppPassword(ctx, entrafake.Diego, "mail", "h"); return err }(), ErrAppPasswords.Error()},
		{"verify", func() error { _, err := e.d.AuthSubject(ctx, entrafake.Diego); return err }(), ErrVerify.Error()},
	}
	for _, c := range cases {
		if !errors.Is(c.err, directory.ErrUnsupported) || c.err.Error() != c.msg {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
	for _, want := range []string{"per-user MFA page", "https://mysignins.microsoft.com/security-info"} {
		if !strings.Contains(ErrAppPasswords.Error(), want) {
			t.Errorf("app password refusal does not name %q", want)
		}
	}
	if n := len(e.fake.Requests()) - before; n != 0 {
		t.Errorf("refusals sent %d requests", n)
	}
}
