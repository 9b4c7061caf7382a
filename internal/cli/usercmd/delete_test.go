package usercmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/store"
)

// On a terminal, users delete says what goes and deletes only after a yes.
func TestUsersDeleteAsksOnATerminal(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "mfactl.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddUser(context.Background(), directory.User{UPN: "helga@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, answer := range []string{"no\n", "y\n"} {
		ios, in, _, errOut := iostreams.Test()
		ios.SetTTY(true, false, false)
		in.WriteString(answer)
		f := cmdutil.NewFactory(ios, func(string) string { return "" })
		f.DBPath = filepath.Join(dir, "mfactl.db")
		cmd := newDeleteCmd(f)
		cmd.SetArgs([]string{"HELGA@contoso.com"})
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.ExecuteContext(context.Background())
		st, _ := f.Store(context.Background())
		_, getErr := st.GetUser(context.Background(), "helga@contoso.com")
		f.Close()
		if answer == "no\n" && (err == nil || getErr != nil) {
			t.Errorf("answer no: err %v, lookup %v; want a refusal and the user kept", err, getErr)
		}
		if answer == "y\n" && (err != nil || getErr == nil) {
			t.Errorf("answer yes: err %v, lookup %v; want the user deleted", err, getErr)
		}
		want := "Delete helga@contoso.com (0 hardware tokens go back to stock, 0 app passwords are deleted)? [y/N] "
		if !strings.HasPrefix(errOut.String(), want) {
			t.Errorf("prompt %q, want %q", errOut, want)
		}
	}
}

// Deleting a user removes their authenticator apps too: the question and the audit log say so.
func TestUsersDeleteNamesAuthenticatorApps(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	path := filepath.Join(dir, "mfactl.db")
	db, err := store.Open(ctx, path, store.Options{KeyFile: filepath.Join(dir, "mfactl.key")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddUser(ctx, directory.User{UPN: "helga@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"phone", "tablet"} {
		if _, err := db.AddAuthApp(ctx, "helga@contoso.com", directory.NewAuthApp{Name: name, Secret: []byte("0123456789abcdefghij")}, 0); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	ios, in, _, errOut := iostreams.Test()
	ios.SetTTY(true, false, false)
	in.WriteString("y\n")
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	f.DBPath, f.KeyFile = path, filepath.Join(dir, "mfactl.key")
	defer f.Close()
	cmd := newDeleteCmd(f)
	cmd.SetArgs([]string{"helga@contoso.com"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	want := "Delete helga@contoso.com (0 hardware tokens go back to stock, 0 app passwords are deleted, 2 authenticator apps are removed)? [y/N] "
	if !strings.HasPrefix(errOut.String(), want) {
		t.Errorf("prompt %q, want %q", errOut, want)
	}
	st, err := f.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := st.ListAudit(ctx, directory.AuditFilter{})
	if err != nil || len(audit) != 1 {
		t.Fatalf("audit %+v, %v", audit, err)
	}
	if got := audit[0].Detail; got != "deleted; 0 hardware tokens returned to stock, 0 app passwords deleted, 2 authenticator apps removed" {
		t.Errorf("audit detail %q", got)
	}
}
