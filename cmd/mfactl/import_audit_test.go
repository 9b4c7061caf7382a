package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
)

// auditLog returns the directory's audit events as "command|target|result|detail" lines, after
// checking that each names this OS user, this host and the fixed time of inProcess.
func auditLog(t *testing.T, dir string) []string {
	t.Helper()
	db := openDirectory(t, dir)
	events, err := db.ListAudit(context.Background(), directory.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	var out []string
	for _, e := range events {
		if e.Actor != cmdutil.Actor() || e.Host != cmdutil.Host().Name || !e.Time.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("audit event %+v: want actor %q, host %q, time 2026-01-01", e, cmdutil.Actor(), cmdutil.Host().Name)
		}
		out = append(out, fmt.Sprintf("%s|%s|%s|%s", e.Command, e.Target, e.Result, e.Detail))
	}
	return out
}

func checkAudit(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestImportAudit: one audit event per import that reached the directory, in the import's own
// transaction; a refused import is a failure, a dry run records nothing.
func TestImportAudit(t *testing.T) {
	dir := t.TempDir()
	csvFile := filepath.Join(examplesDir(), "tokens.csv")
	bad := filepath.Join(examplesDir(), "azure-doc-example.csv")
	// Two good rows around two that break the file rules: the audit counts the file's rows and
	// its rejections, not only the rows that reached the store.
	mixed := filepath.Join(t.TempDir(), "mixed.csv")
	if err := os.WriteFile(mixed, []byte("upn,serial number,secret key,time interval,manufacturer,model\n"+
		"m1@contoso.com,MIX1,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,V,M\n"+
		"m2@contoso.com,MIX2,1234567890abcdef1234567890abcdef,30,V,M\n"+
		"m3@contoso.com,MIX3,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,45,V,M\n"+
		"m4@contoso.com,MIX4,KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU,30,V,M\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"tokens", "import", "--dry-run", csvFile},
		{"tokens", "import", csvFile},
		{"tokens", "import", csvFile},
		{"tokens", "import", bad},
		{"tokens", "import", mixed},
		{"tokens", "import", "--skip-invalid", mixed},
	} {
		inProcess(t, dir, "", args...)
	}
	checkAudit(t, auditLog(t, dir), []string{
		"tokens import|" + csvFile + "|success|rows=15 imported=15 unchanged=0 updated=0 skipped=0 rejected=0 users_created=15",
		"tokens import|" + csvFile + "|success|rows=15 imported=0 unchanged=15 updated=0 skipped=0 rejected=0 users_created=0",
		"tokens import|" + bad + "|failure|rows=1 imported=0 unchanged=0 updated=0 skipped=0 rejected=1 users_created=0; " +
			"the token file has rows with errors (the first on line 2)",
		"tokens import|" + mixed + "|failure|rows=4 imported=0 unchanged=0 updated=0 skipped=0 rejected=2 users_created=0; " +
			"the token file has rows with errors (the first on line 3)",
		"tokens import|" + mixed + "|success|rows=4 imported=2 unchanged=0 updated=0 skipped=0 rejected=2 users_created=2",
	})
}

// TestInventoryAudit: every change made by the inventory and user verbs is audited with its
// target; refusals are audited as failures.
func TestInventoryAudit(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := inProcess(t, dir, "", "-q", "tokens", "import", filepath.Join(examplesDir(), "tokens.csv"))
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, args := range [][]string{
		{"tokens", "assign", "GALT2100400", "lee.gu@contoso.com"},
		{"tokens", "assign", "--force", "GALT2100400", "lee.gu@contoso.com"},
		{"tokens", "assign", "GALT2100400", "LEE.GU@contoso.com"}, // no change: not audited
		{"tokens", "unassign", "GALT2100400"},
		{"tokens", "unassign", "GALT2100400"}, // no change
		{"tokens", "disable", "--reason", "lost", "GALT2100401"},
		{"tokens", "enable", "GALT2100401"},
		{"tokens", "delete", "--yes", "GALT2100402", "GALT2100403"},
		{"tokens", "delete", "--yes", "NOPE"},
		{"users", "add", "helga@contoso.com"},
		{"users", "add", "helga@contoso.com"},
		{"users", "delete", "--yes", "helga@contoso.com"},
		{"users", "delete", "--yes", "nobody@contoso.com"},
		{"tokens", "list"}, // reads are not audited
	} {
		inProcess(t, dir, "", args...)
	}
	inProcess(t, dir, "upn,display name,email,phone\nx@contoso.com,X,,\n", "users", "import", "-")
	inProcess(t, dir, "upn,display name,email,phone\nx@contoso.com,X,,+1\n", "users", "import", "-")
	got := auditLog(t, dir)
	checkAudit(t, got[1:], []string{
		"tokens assign|GALT2100400|failure|token GALT2100400 is already assigned to adele.vance@contoso.com",
		"tokens assign|GALT2100400|success|moved from adele.vance@contoso.com to lee.gu@contoso.com (--force)",
		"tokens unassign|GALT2100400|success|unassigned from lee.gu@contoso.com",
		"tokens disable|GALT2100401|success|reason: lost",
		"tokens enable|GALT2100401|success|was disabled",
		"tokens delete|GALT2100402|success|deleted",
		"tokens delete|GALT2100403|success|deleted",
		"tokens delete|NOPE|failure|token NOPE not found",
		"users add|helga@contoso.com|success|added",
		"users add|helga@contoso.com|failure|user helga@contoso.com already exists",
		"users delete|helga@contoso.com|success|deleted; 0 hardware tokens returned to stock, 0 app passwords deleted",
		"users delete|nobody@contoso.com|failure|deleting users: user nobody@contoso.com not found; nothing was deleted",
		"users import|<stdin>|success|rows=1 created=1 updated=0 unchanged=0 skipped=0",
		"users import|<stdin>|failure|rows=1 rejected=1",
	})
}
