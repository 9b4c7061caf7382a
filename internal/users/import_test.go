package users

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

func TestImportUsersFile(t *testing.T) {
	db, _ := openDB(t)
	d := db.WithActor(directory.Actor{Name: "ada", Host: "hq", Command: "users import"})
	ctx := context.Background()
	file := "upn,display name,email,phone,state,methods\n" +
		"a@contoso.com,Anne,a@contoso.com,+1 4255551234,active,0\n" +
		"b@contoso.com,Bob,,,active,0\n"
	sum, err := Import(ctx, d, strings.NewReader(file), ImportOptions{Name: "u.csv", File: FileOptions{Ignore: []string{"state"}}})
	if err != nil {
		t.Fatal(err)
	}
	// methods is not ignored: one warning for it, none for state.
	if sum.Rows != 2 || sum.Created != 2 || len(sum.Problems) != 1 || sum.Problems[0].Code != tokens.CodeCSVColumnUnknown ||
		sum.Problems[0].Column != "methods" {
		t.Fatalf("summary %+v", sum)
	}
	u, err := db.GetUser(ctx, "a@contoso.com")
	if err != nil || u.DisplayName != "Anne" || u.Phone != "+1 4255551234" {
		t.Fatalf("user %+v, %v", u, err)
	}

	// Other data: skipped, or updated with Update; a dry run writes nothing.
	changed := "upn,display name,email,phone\nA@contoso.com,Anne B,a@contoso.com,+1 4255551234\n"
	for _, tc := range []struct {
		opts ImportOptions
		want ImportSummary
		name string
	}{
		{ImportOptions{}, ImportSummary{Rows: 1, Skipped: 1}, "Anne"},
		{ImportOptions{Update: true, DryRun: true}, ImportSummary{Rows: 1, Updated: 1, DryRun: true}, "Anne"},
		{ImportOptions{Update: true}, ImportSummary{Rows: 1, Updated: 1}, "Anne B"},
		{ImportOptions{Update: true}, ImportSummary{Rows: 1, Unchanged: 1}, "Anne B"},
	} {
		tc.opts.Name, tc.want.File = "c.csv", "c.csv"
		tc.want.Problems = []tokens.Problem{}
		sum, err := Import(ctx, d, strings.NewReader(changed), tc.opts)
		if err != nil || !reflect.DeepEqual(sum, tc.want) {
			t.Errorf("%+v: summary %+v, %v; want %+v", tc.opts, sum, err, tc.want)
		}
		if u, _ := db.GetUser(ctx, "a@contoso.com"); u.DisplayName != tc.name {
			t.Errorf("%+v: display name %q, want %q", tc.opts, u.DisplayName, tc.name)
		}
	}
}

// TestImportUsersFileWithErrors: one bad row and nothing is written; every row is still read
// for its problems, and the refusal is audited.
func TestImportUsersFileWithErrors(t *testing.T) {
	db, _ := openDB(t)
	d := db.WithActor(directory.Actor{Name: "ada", Host: "hq", Command: "users import"})
	ctx := context.Background()
	file := "upn,display name,email,phone\n" +
		"a@contoso.com,A,,\n" +
		"b@contoso.com,B,b@,\n" +
		"c@contoso.com,C,,\n" +
		"A@CONTOSO.COM,,,\n"
	sum, err := Import(ctx, d, strings.NewReader(file), ImportOptions{Name: "u.csv"})
	var invalid *InvalidFileError
	if !errors.As(err, &invalid) || err.Error() != "u.csv: 2 rows of 4 have errors; nothing was imported" || invalid.Header {
		t.Fatalf("err = %v", err)
	}
	if sum.Rows != 4 || sum.Rejected != 2 || sum.Created != 0 || len(sum.Problems) != 2 ||
		sum.Problems[0].Line != 3 || sum.Problems[1].Code != "user.duplicate" {
		t.Errorf("summary %+v", sum)
	}
	if us, _ := db.ListUsers(ctx); len(us) != 0 {
		t.Errorf("%d users written", len(us))
	}
	audit, err := db.ListAudit(ctx, directory.AuditFilter{})
	if err != nil || len(audit) != 1 || audit[0].Result != "failure" || audit[0].Target != "u.csv" || audit[0].Detail != "rows=4 rejected=2" {
		t.Errorf("audit %+v, %v; want one failure for u.csv", audit, err)
	}

	// An unusable header: nothing read beyond it; a dry run leaves no audit row.
	sum, err = Import(ctx, d, strings.NewReader("name\nx\n"), ImportOptions{Name: "h.csv", DryRun: true})
	if !errors.As(err, &invalid) || !invalid.Header || err.Error() != "h.csv: the header is not usable; nothing was imported" {
		t.Fatalf("err = %v", err)
	}
	if sum.Rows != 0 || !sum.DryRun || len(sum.Problems) == 0 {
		t.Errorf("summary %+v", sum)
	}
	if audit, _ := db.ListAudit(ctx, directory.AuditFilter{}); len(audit) != 1 {
		t.Errorf("%d audit rows after a dry run, want 1", len(audit))
	}
}
