package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
)

func auditLines(t *testing.T, d *DB) []string {
	t.Helper()
	evs, err := d.ListAudit(context.Background(), AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|%s|%s", e.Actor, e.Host, e.Command, e.Target, e.Result, e.Detail))
	}
	return out
}

// TestChangesAreAuditedInTheirTransaction: a directory bound to an actor writes each change's
// audit row with the change, a refusal as a failure, and when the row cannot be written the
// change does not happen either.
func TestChangesAreAuditedInTheirTransaction(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 2, 1), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddUser(ctx, User{UPN: "bob@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if got := auditLines(t, d); len(got) != 0 {
		t.Fatalf("a directory without an actor wrote audit rows: %q", got)
	}
	a := d.WithActor(directory.Actor{Name: "ada", Host: "hq", Command: "tokens assign"})
	if _, err := a.UnassignToken(ctx, "SN00000000"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AssignToken(ctx, "SN00000000", "bob@contoso.com", false, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AssignToken(ctx, "SN00000001", "nobody@contoso.com", false, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("assigning to an unknown user: %v", err)
	}
	if _, err := a.UnassignToken(ctx, "SN00000000"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UnassignToken(ctx, "SN00000000"); err != nil { // not assigned: no change, no row
		t.Fatal(err)
	}
	want := []string{
		"ada|hq|tokens assign|SN00000000|success|unassigned from user0000000@contoso.com",
		"ada|hq|tokens assign|SN00000000|success|assigned to bob@contoso.com",
		"ada|hq|tokens assign|SN00000001|failure|user nobody@contoso.com not found",
		"ada|hq|tokens assign|SN00000000|success|unassigned from bob@contoso.com",
	}
	if got := auditLines(t, d); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// No audit row, no change: with the audit table gone the assignment rolls back.
	if _, err := d.sql.ExecContext(ctx, `ALTER TABLE audit_events RENAME TO audit_events_away`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AssignToken(ctx, "SN00000000", "bob@contoso.com", false, 0); err == nil {
		t.Fatal("the assignment succeeded without its audit row")
	}
	if _, err := d.sql.ExecContext(ctx, `ALTER TABLE audit_events_away RENAME TO audit_events`); err != nil {
		t.Fatal(err)
	}
	if tok, err := d.GetToken(ctx, "SN00000000"); err != nil || tok.UPN != "" {
		t.Fatalf("token after a change whose audit row failed: owner %q, %v; want unassigned", tok.UPN, err)
	}
}
