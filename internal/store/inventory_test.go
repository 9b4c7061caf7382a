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
