package store

import (
	"context"
	"fmt"
	"testing"
)

func TestUsersIteratesLikeListUsers(t *testing.T) {
	d := openTest(t, "", Options{})
	ctx := context.Background()
	for _, upn := range []string{"b@contoso.com", "A@contoso.com", "c@contoso.com"} {
		if _, err := d.AddUser(ctx, User{UPN: upn}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.ImportTokens(ctx, rowsOf([]ImportRow{{Line: 2, Serial: "S1", UPN: "b@contoso.com", Secret: []byte("12345678901234567890")}}), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	want, err := d.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []User
	for u, err := range d.Users(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, u)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 3 || got[0].UPN != "A@contoso.com" || got[1].Methods != 1 {
		t.Fatalf("Users() = %+v\nListUsers() = %+v", got, want)
	}
	n := 0
	for range d.Users(ctx) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("breaking out after %d users", n)
	}
}

// TestTokensFilterNonASCII: --manufacturer and --model match ignoring case beyond ASCII too.
// SQLite's LOWER folds only ASCII, and "Élan Sécurité" once matched nothing, not even itself.
func TestTokensFilterNonASCII(t *testing.T) {
	d := openTest(t, "", Options{})
	ctx := context.Background()
	rows := genRows(0, 3, 0)
	rows[0].Manufacturer, rows[0].Model = "Élan Sécurité", "Ö-Key"
	rows[1].Manufacturer, rows[1].Model = "Elan Securite", "O-Key"
	rows[2].Manufacturer, rows[2].Model = "Contoso_", "100%"
	if _, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    TokenFilter
		want string
	}{
		{TokenFilter{Manufacturer: "Élan Sécurité"}, "[SN00000000]"},
		{TokenFilter{Manufacturer: "élan sécurité"}, "[SN00000000]"},
		{TokenFilter{Manufacturer: "ELAN SECURITE"}, "[SN00000001]"},
		{TokenFilter{Model: "ö-key"}, "[SN00000000]"},
		{TokenFilter{Manufacturer: "élan sécurité", Model: "O-KEY"}, "[]"},
		{TokenFilter{Manufacturer: "contoso_", Model: "100%"}, "[SN00000002]"},
		{TokenFilter{Manufacturer: "contoso%"}, "[]"},
	} {
		toks, err := d.ListTokens(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var serials []string
		for _, tk := range toks {
			serials = append(serials, tk.Serial)
		}
		if got := fmt.Sprint(serials); got != tc.want && !(tc.want == "[]" && len(serials) == 0) {
			t.Errorf("ListTokens(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}
