package users

import (
	"context"
	"errors"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
)

func TestPlanAndExecuteDelete(t *testing.T) {
	db, _ := openDB(t)
	d := db.WithActor(directory.Actor{Name: "ada", Host: "hq", Command: "users delete"})
	ctx := context.Background()
	addUsers(t, db, "b@contoso.com")
	rows := func(yield func(directory.ImportRow, error) bool) {
		for i, serial := range []string{"S1", "S2"} {
			secret := []byte("0123456789abcdefghi" + serial[1:])
			if !yield(directory.ImportRow{Line: i + 2, Serial: serial, UPN: "a@contoso.com", Secret: secret}, nil) {
				return
			}
		}
	}
	if _, err := db.ImportTokens(ctx, rows, directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	hash, err := HashAppPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddAppPassword(ctx, "a@contoso.com", "mail", hash); err != nil {
		t.Fatal(err)
	}

	// One unknown user and nobody is deleted; the refusal is audited.
	if _, err := PlanDelete(ctx, d, []string{"a@contoso.com", "nobody@contoso.com"}); !errors.Is(err, directory.ErrNotFound) ||
		err.Error() != "deleting users: user nobody@contoso.com not found; nothing was deleted" {
		t.Fatalf("err = %v", err)
	}
	audit, _ := db.ListAudit(ctx, directory.AuditFilter{})
	if len(audit) != 1 || audit[0].Result != "failure" || audit[0].Target != "nobody@contoso.com" {
		t.Errorf("audit %+v, want the refusal", audit)
	}

	plan, err := PlanDelete(ctx, d, []string{"a@contoso.com", "B@CONTOSO.COM", "A@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Users) != 2 || plan.Users[0].UPN != "a@contoso.com" || plan.Users[1].UPN != "b@contoso.com" ||
		plan.Tokens != 2 || plan.AppPasswords != 1 || plan.AuthApps != 0 {
		t.Fatalf("plan %+v", plan)
	}
	if us, _ := db.ListUsers(ctx); len(us) != 2 {
		t.Fatalf("planning deleted users: %d left", len(us))
	}
	deleted, err := plan.Execute(ctx, d)
	if err != nil || len(deleted) != 2 {
		t.Fatalf("deleted %+v, %v", deleted, err)
	}
	if us, _ := db.ListUsers(ctx); len(us) != 0 {
		t.Errorf("%d users left", len(us))
	}
	tok, err := db.GetToken(ctx, "S1")
	if err != nil || tok.UPN != "" {
		t.Errorf("token S1 after its user was deleted: %+v, %v; want it in stock", tok, err)
	}

	// A user deleted meanwhile stops the rest and says which were deleted.
	addUsers(t, db, "c@contoso.com", "e@contoso.com")
	plan, err = PlanDelete(ctx, d, []string{"c@contoso.com", "e@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, "e@contoso.com"); err != nil {
		t.Fatal(err)
	}
	deleted, err = plan.Execute(ctx, d)
	if len(deleted) != 1 || deleted[0].UPN != "c@contoso.com" || !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("deleted %+v, %v; want c deleted, then e not found", deleted, err)
	}
}
