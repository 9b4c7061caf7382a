package report

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

var _ Store = (*store.DB)(nil)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func seq[T any](items ...T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, x := range items {
			if !yield(x, nil) {
				return
			}
		}
	}
}

func event(t time.Time, upn, mode, code string) directory.AuthEvent {
	result := ResultDenied
	if code == "SUCCESS_OATH_CODE_VERIFIED" {
		result = ResultSuccess
	}
	return directory.AuthEvent{Time: t, UPN: upn, Mode: mode, Result: result, ResultCode: code}
}

// A scripted week: Helga is in the directory as "Helga@Contoso.com" and her events were
// recorded with that spelling; someone unknown tried too.
func scripted(t *testing.T) (*Reporter, *store.DB) {
	db := openStore(t)
	ctx := context.Background()
	if _, err := db.AddUser(ctx, directory.User{UPN: "Helga@Contoso.com"}); err != nil {
		t.Fatal(err)
	}
	d := func(days int, h int) time.Time { return time.Date(2026, 11, 16+days, h, 0, 0, 0, time.UTC) }
	_, err := db.AddAuthEvents(ctx, seq(
		event(d(0, 8), "Helga@Contoso.com", "oath-hardware", "SUCCESS_OATH_CODE_VERIFIED"),
		event(d(0, 9), "Helga@Contoso.com", "oath-hardware", "FAILED_OATH_CODE_INCORRECT"),
		event(d(0, 10), "nobody@contoso.com", "oath", "FAILED_USER_UNKNOWN"),
		event(d(2, 8), "Helga@Contoso.com", "app-password", "SUCCESS_OATH_CODE_VERIFIED"),
		event(d(2, 9), "Helga@Contoso.com", "oath-hardware", "FAILED_OATH_CODE_INCORRECT"),
		event(d(2, 23), "Helga@Contoso.com", "oath-hardware", "FAILED_OATH_CODE_DUPLICATE"),
		event(d(5, 7), "ivan@contoso.com", "oath-hardware", "SUCCESS_OATH_CODE_VERIFIED"),
	))
	if err != nil {
		t.Fatal(err)
	}
	return New(db, func() time.Time { return now }), db
}

func TestGroups(t *testing.T) {
	r, _ := scripted(t)
	ctx := context.Background()
	tests := []struct {
		name string
		q    UsageQuery
		by   GroupBy
		want []Group
	}{
		{"by day", UsageQuery{}, ByDay, []Group{{"2026-11-16", 1, 2, 3}, {"2026-11-18", 1, 2, 3}, {"2026-11-21", 1, 0, 1}}},
		{"by user", UsageQuery{}, ByUser, []Group{{"Helga@Contoso.com", 2, 3, 5}, {"ivan@contoso.com", 1, 0, 1}, {"nobody@contoso.com", 0, 1, 1}}},
		{"by method", UsageQuery{}, ByMethod, []Group{{"oath-hardware", 2, 3, 5}, {"app-password", 1, 0, 1}, {"oath", 0, 1, 1}}},
		{"by result code", UsageQuery{}, ByResult, []Group{
			{"SUCCESS_OATH_CODE_VERIFIED", 3, 0, 3}, {"FAILED_OATH_CODE_INCORRECT", 0, 2, 2},
			{"FAILED_OATH_CODE_DUPLICATE", 0, 1, 1}, {"FAILED_USER_UNKNOWN", 0, 1, 1}}},
		// "7d" before 2026-11-22T14:30 is 2026-11-15T14:30; "5d" is 2026-11-17T14:30.
		{"relative window", UsageQuery{Window: mustWindow(t, "7d", "5d")}, ByDay, []Group{{"2026-11-16", 1, 2, 3}}},
		{"user in another letter case", UsageQuery{User: "helga@contoso.com"}, ByDay, []Group{{"2026-11-16", 1, 1, 2}, {"2026-11-18", 1, 2, 3}}},
		{"unknown user as typed", UsageQuery{User: "nobody@contoso.com"}, ByMethod, []Group{{"oath", 0, 1, 1}}},
		{"unknown user in another letter case", UsageQuery{User: "NoBody@Contoso.COM"}, ByMethod, []Group{{"oath", 0, 1, 1}}},
		{"unknown user is not a prefix", UsageQuery{User: "nobody@contoso.co"}, ByMethod, []Group{}},
		{"result and mode", UsageQuery{Result: ResultDenied, Mode: "oath-hardware"}, ByUser, []Group{{"Helga@Contoso.com", 0, 3, 3}}},
		{"future window", UsageQuery{Window: mustWindow(t, "2027-01-01", "")}, ByDay, []Group{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups, err := r.Groups(ctx, tt.q, tt.by)
			if err != nil {
				t.Fatal(err)
			}
			got := []Group{}
			for g, err := range groups {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, g)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
	_, err := r.Groups(ctx, UsageQuery{}, "week")
	if !errors.Is(err, ErrInvalid) || err.Error() != `--by: "week" is not day, user, method or result` {
		t.Errorf("bad dimension: %v", err)
	}
	_, err = r.Groups(ctx, UsageQuery{Result: "ok"}, ByDay)
	if !errors.Is(err, ErrInvalid) || err.Error() != `--result: "ok" is not success or denied` {
		t.Errorf("bad result: %v", err)
	}
}

func mustWindow(t *testing.T, since, until string) Window {
	t.Helper()
	w, err := ParseWindow(since, until, now)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestDenialReasonsAndEvents(t *testing.T) {
	r, _ := scripted(t)
	ctx := context.Background()
	reasons, err := r.DenialReasons(ctx, UsageQuery{User: "HELGA@contoso.com"})
	want := []Reason{{"FAILED_OATH_CODE_INCORRECT", 2}, {"FAILED_OATH_CODE_DUPLICATE", 1}}
	if err != nil || !reflect.DeepEqual(reasons, want) {
		t.Errorf("reasons %v, %v; want %v", reasons, err, want)
	}
	if reasons, err := r.DenialReasons(ctx, UsageQuery{Result: ResultSuccess}); err != nil || reasons == nil || len(reasons) != 0 {
		t.Errorf("reasons of successes: %v, %v", reasons, err)
	}
	events, err := r.Events(ctx, UsageQuery{Window: mustWindow(t, "2026-11-18T09:00:00Z", "2026-11-21T07:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for e, err := range events {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Time.Format(time.RFC3339)+" "+e.ResultCode)
	}
	if want := []string{"2026-11-18T09:00:00Z FAILED_OATH_CODE_INCORRECT", "2026-11-18T23:00:00Z FAILED_OATH_CODE_DUPLICATE"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestRegistrationTotalsAndInventory(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	for _, u := range []directory.User{{UPN: "a@contoso.com", MustRegister: true}, {UPN: "b@contoso.com", State: directory.UserBlocked}, {UPN: "c@contoso.com"}} {
		if _, err := db.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	rows := []directory.ImportRow{
		{Serial: "S1", UPN: "c@contoso.com", Secret: []byte("12345678901234567890"), Period: 30, Digits: 6, Hash: "SHA1", Manufacturer: "Contoso", Model: "K1"},
		{Serial: "S2", Secret: []byte("22345678901234567890"), Period: 30, Digits: 6, Hash: "SHA1", Manufacturer: "Contoso", Model: "K1"},
		{Serial: "S3", Secret: []byte("32345678901234567890"), Period: 60, Digits: 6, Hash: "SHA1", Manufacturer: "Fabrikam", Model: "C200"},
	}
	if _, err := db.ImportTokens(ctx, seq(rows...), directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := db.DisableToken(ctx, "S3", "lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddAppPassword(ctx, "b@contoso.com", "mail", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"); err != nil {
		t.Fatal(err)
	}
	r := New(db, nil)
	var totals RegistrationTotals
	var order []string
	for u, err := range r.Registration(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		totals.Add(u)
		order = append(order, u.UPN)
	}
	if want := []string{"a@contoso.com", "b@contoso.com", "c@contoso.com"}; !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
	wantTotals := RegistrationTotals{Users: 3, NoMethod: 2, MustRegister: 1, Blocked: 1, Methods: 1, TokensPending: 1, AppPasswords: 1}
	if totals != wantTotals {
		t.Errorf("totals %+v\nwant   %+v", totals, wantTotals)
	}

	inv, total, err := r.Inventory(ctx)
	wantInv := []directory.InventoryRow{
		{Manufacturer: "Contoso", Model: "K1", Total: 2, Available: 1, Assigned: 1, Unassigned: 1},
		{Manufacturer: "Fabrikam", Model: "C200", Total: 1, Disabled: 1, Unassigned: 1},
	}
	if err != nil || !reflect.DeepEqual(inv, wantInv) {
		t.Errorf("inventory %+v, %v", inv, err)
	}
	if want := (directory.InventoryRow{Total: 3, Available: 1, Assigned: 1, Disabled: 1, Unassigned: 2}); total != want {
		t.Errorf("total %+v, want %+v", total, want)
	}

	// S1 was assigned at import and never activated: idle since then. 90 days later it is
	// listed (the cutoff is the clock minus the age, inclusive), a day earlier not yet.
	unused := func(clock time.Time) []string {
		t.Helper()
		r := New(db, func() time.Time { return clock })
		tokens, cutoff, err := r.UnusedTokens(ctx, 90*24*time.Hour)
		if err != nil || !cutoff.Equal(clock.AddDate(0, 0, -90)) {
			t.Fatalf("cutoff %v, %v", cutoff, err)
		}
		serials := []string{}
		for tok, err := range tokens {
			if err != nil {
				t.Fatal(err)
			}
			serials = append(serials, tok.Serial)
		}
		return serials
	}
	if got := unused(now.AddDate(0, 0, 90)); !slices.Equal(got, []string{"S1"}) {
		t.Errorf("unused after 90 days %q, want [S1]", got)
	}
	if got := unused(now.AddDate(0, 0, 89)); len(got) != 0 {
		t.Errorf("unused after 89 days %q, want none", got)
	}
	if _, _, err := r.UnusedTokens(ctx, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero age: %v", err)
	}
}

func TestAudit(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	for i, target := range []string{"S1", "S2", "S3"} {
		if err := db.AddAudit(ctx, directory.AuditEvent{Time: now.Add(time.Duration(-i) * 24 * time.Hour), Command: "tokens assign", Target: target}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for e, err := range New(db, nil).Audit(ctx, mustWindow(t, "36h", "")) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Target)
	}
	if want := []string{"S2", "S1"}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}
