package usercmd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/store"
)

// regNow is the clock of the registration tests.
var regNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// regEnv is a directory in a temporary folder that the tests seed through the store and then
// drive through the whole command line (cli.Run), as a user would.
type regEnv struct {
	t      *testing.T
	dir    string
	dbPath string
	key    string
}

func newRegEnv(t *testing.T) *regEnv {
	t.Helper()
	dir := t.TempDir()
	return &regEnv{t: t, dir: dir, dbPath: filepath.Join(dir, "mfactl.db"), key: filepath.Join(dir, "mfactl.key")}
}

// db opens the directory for seeding or inspection; it is closed when the test ends.
func (e *regEnv) db() *store.DB {
	e.t.Helper()
	db, err := store.Open(context.Background(), e.dbPath, store.Options{KeyFile: e.key, Now: func() time.Time { return regNow }})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

type runResult struct {
	code        int
	out, errOut string
}

// run runs one mfactl command line with stdin as input; tty says whether stdin is a terminal.
func (e *regEnv) run(stdin string, tty bool, args ...string) runResult {
	e.t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(tty, false, false)
	in.WriteString(stdin)
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	f.Now = func() time.Time { return regNow }
	code := cli.Run(context.Background(), f, append([]string{"--db", e.dbPath, "--key-file", e.key}, args...))
	return runResult{code, out.String(), errOut.String()}
}

// mustRun runs a command that must succeed.
func (e *regEnv) mustRun(args ...string) runResult {
	e.t.Helper()
	r := e.run("", false, args...)
	if r.code != 0 {
		e.t.Fatalf("mfactl %s: exit %d\n%s", strings.Join(args, " "), r.code, r.errOut)
	}
	return r
}

// seedUsers adds the users.
func seedUsers(t *testing.T, db *store.DB, upns ...string) {
	t.Helper()
	for _, upn := range upns {
		if _, err := db.AddUser(context.Background(), directory.User{UPN: upn}); err != nil {
			t.Fatal(err)
		}
	}
}

// seedTokens imports tokens SN<first>..SN<first+n-1> for upn ("" for stock).
func seedTokens(t *testing.T, db *store.DB, upn string, first, n int) {
	t.Helper()
	var rows []directory.ImportRow
	for i := first; i < first+n; i++ {
		rows = append(rows, directory.ImportRow{Line: i + 2, Serial: fmt.Sprintf("SN%04d", i), UPN: upn,
			Secret: []byte(fmt.Sprintf("secret-of-token-%04d", i)), Period: 30, Digits: 6, Hash: "SHA1"})
	}
	src := func(yield func(directory.ImportRow, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
	if _, err := db.ImportTokens(context.Background(), src, directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
}

// auditRows returns the audit log as "command|target|result|detail" lines, checking that the
// actor and host are filled in and the time is the command's clock.
func auditRows(t *testing.T, db *store.DB) []string {
	t.Helper()
	evs, err := db.ListAudit(context.Background(), directory.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range evs {
		if e.Actor == "" || e.Host == "" || !e.Time.Equal(regNow) {
			t.Errorf("audit event without actor, host or time: %+v", e)
		}
		out = append(out, strings.Join([]string{e.Command, e.Target, e.Result, e.Detail}, "|"))
	}
	return out
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func expect(t *testing.T, what string, r runResult, code int, out, errOut string) {
	t.Helper()
	if r.code != code || r.out != out || r.errOut != errOut {
		t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", what, r.code, code, r.out, out, r.errOut, errOut)
	}
}

// seedRegistered gives ada@contoso.com an activated token, a disabled one, an authenticator
// app and an app password; bob@contoso.com one assigned token; SN0009 is stock.
func seedRegistered(t *testing.T, e *regEnv) (db *store.DB, appID string) {
	t.Helper()
	db = e.db()
	ctx := context.Background()
	seedUsers(t, db, "Ada@contoso.com", "bob@contoso.com")
	seedTokens(t, db, "ada@contoso.com", 1, 2)
	seedTokens(t, db, "bob@contoso.com", 3, 1)
	seedTokens(t, db, "", 9, 1)
	if err := db.DisableToken(ctx, "SN0002", "lost"); err != nil {
		t.Fatal(err)
	}
	err := db.InAuthTx(ctx, func(tx directory.AuthTx) error {
		tok, err := tx.Token("SN0001")
		if err != nil {
			return err
		}
		_, err = tx.ActivateToken(tok.ID, 1000, 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	app, err := db.AddAuthApp(ctx, "ada@contoso.com", directory.NewAuthApp{Name: "phone", Secret: []byte("12345678901234567890")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddAppPassword(ctx, "ada@contoso.com", "mail", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"); err != nil {
		t.Fatal(err)
	}
	return db, app.ID
}

// registration summarises what a reset changes, to compare before and after.
func registration(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	us, _ := db.ListUsers(ctx)
	for _, u := range us {
		fmt.Fprintf(&b, "%s must_register=%t methods=%d app_passwords=%d\n", u.UPN, u.MustRegister, u.Methods, u.AppPasswords)
	}
	toks, _ := db.ListTokens(ctx, directory.TokenFilter{})
	for _, tk := range toks {
		fmt.Fprintf(&b, "%s %q %s drift=%d last_step=%d activated=%t\n", tk.Serial, tk.UPN, tk.Status, tk.Drift, tk.LastStep, !tk.ActivatedAt.IsZero())
	}
	return b.String()
}

func TestResetCommand(t *testing.T) {
	e := newRegEnv(t)
	db, appID := seedRegistered(t, e)
	before := registration(t, db)
	if want := `Ada@contoso.com must_register=false methods=3 app_passwords=1
bob@contoso.com must_register=false methods=1 app_passwords=0
SN0001 "Ada@contoso.com" activated drift=1 last_step=1000 activated=true
SN0002 "Ada@contoso.com" disabled drift=0 last_step=0 activated=false
SN0003 "bob@contoso.com" assigned drift=0 last_step=0 activated=false
SN0009 "" available drift=0 last_step=0 activated=false
`; before != want {
		t.Fatalf("seed:\n%s", before)
	}

	// Usage errors, before anything is opened or changed.
	expect(t, "no users", e.run("", false, "users", "reset"), 2, "",
		"mfactl: error: give the users to reset as arguments or with --from FILE\nRun 'mfactl users reset --help' for usage.\n")
	expect(t, "no terminal, no --yes", e.run("", false, "users", "reset", "ada@contoso.com"), 2, "",
		"mfactl: error: refusing to reset MFA registrations without confirmation: pass --yes\nRun 'mfactl users reset --help' for usage.\n")
	expect(t, "--from - without --yes", e.run("upn\nada@contoso.com\n", true, "users", "reset", "--from", "-"), 2, "",
		"mfactl: error: --from - reads the users from standard input, so mfactl cannot ask for confirmation: pass --yes\nRun 'mfactl users reset --help' for usage.\n")
	expect(t, "bad format", e.run("", false, "users", "reset", "-o", "yaml", "--yes", "ada@contoso.com"), 2, "",
		"mfactl: error: mfactl users reset: unknown output format \"yaml\" (want table, json, csv)\nRun 'mfactl users reset --help' for usage.\n")

	// Unknown users: nothing changes; the refusal is audited.
	expect(t, "unknown users", e.run("", false, "users", "reset", "--yes", "ada@contoso.com", "x@contoso.com", "y@contoso.com"), 1, "",
		"mfactl: error: 2 users not found: x@contoso.com, y@contoso.com\n")

	// The dry run shows the plan and changes nothing.
	wantJSON := `{
  "dry_run": true,
  "users": [
    {
      "upn": "Ada@contoso.com",
      "tokens": [
        {
          "serial_number": "SN0001",
          "status": "activated",
          "new_status": "available"
        },
        {
          "serial_number": "SN0002",
          "status": "disabled",
          "new_status": "disabled"
        }
      ],
      "authenticator_apps": [
        {
          "id": "` + appID + `",
          "name": "phone"
        }
      ],
      "app_passwords_kept": 1,
      "must_register": true
    }
  ]
}
`
	expect(t, "dry run", e.run("", false, "users", "reset", "--dry-run", "-o", "json", "ADA@contoso.com"), 0, wantJSON,
		"mfactl: dry run: nothing was changed\n")
	if got := registration(t, db); got != before {
		t.Fatalf("the dry run changed the directory:\n%s", got)
	}

	// On a terminal: declining changes nothing.
	expect(t, "declined", e.run("n\n", true, "users", "reset", "ada@contoso.com", "bob@contoso.com"), 1, "",
		"Reset MFA registration of 2 users? [y/N] mfactl: reset cancelled; nothing was changed\n")
	expect(t, "no answer", e.run("", true, "users", "reset", "ada@contoso.com"), 1, "",
		"Reset MFA registration of user ada@contoso.com? [y/N] \nmfactl: reset cancelled; nothing was changed\n")
	if got := registration(t, db); got != before {
		t.Fatalf("a declined reset changed the directory:\n%s", got)
	}
	refused := "users reset|ada@contoso.com,x@contoso.com,y@contoso.com|failure|2 users not found: x@contoso.com, y@contoso.com"
	equalLines(t, "audit after refusals", auditRows(t, db), []string{refused})

	// Yes: the same plan as the dry run, now applied.
	wantTable := `UPN              TOKENS         AUTHENTICATOR APPS  APP PASSWORDS KEPT  MUST REGISTER
Ada@contoso.com  SN0001 SN0002  ` + appID + `    1                   true
bob@contoso.com  SN0003                             0                   true
`
	expect(t, "confirmed", e.run("y\n", true, "users", "reset", "ada@contoso.com", "bob@contoso.com", "Ada@Contoso.com"), 0, wantTable,
		"Reset MFA registration of 2 users? [y/N] ")
	if want := `Ada@contoso.com must_register=true methods=0 app_passwords=1
bob@contoso.com must_register=true methods=0 app_passwords=0
SN0001 "" available drift=0 last_step=1000 activated=false
SN0002 "" disabled drift=0 last_step=0 activated=false
SN0003 "" available drift=0 last_step=0 activated=false
SN0009 "" available drift=0 last_step=0 activated=false
`; registration(t, db) != want {
		t.Errorf("after reset:\n%s", registration(t, db))
	}
	equalLines(t, "audit", auditRows(t, db), []string{
		refused,
		"users reset|Ada@contoso.com|success|must_register set; tokens unassigned: SN0001 (activated), SN0002 (disabled, stays disabled); authenticator apps removed: " + appID + "; app passwords kept: 1",
		"users reset|bob@contoso.com|success|must_register set; tokens unassigned: SN0003 (assigned); authenticator apps removed: none; app passwords kept: 0",
	})

	// --from reads the upn column of a CSV file (after the arguments); with --yes no terminal is
	// needed. CSV output starts with the upn column, so it can be fed back.
	csvFile := filepath.Join(e.dir, "leavers.csv")
	if err := os.WriteFile(csvFile, []byte("display name,UPN\nAda,ada@contoso.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", false, "users", "reset", "--from", csvFile, "--yes", "-o", "csv", "bob@contoso.com")
	expect(t, "--from", r, 0, "upn,tokens,authenticator apps,app passwords kept,must register\nbob@contoso.com,,,0,true\nAda@contoso.com,,,1,true\n", "")
	if err := os.WriteFile(csvFile, []byte(r.out), 0o600); err != nil {
		t.Fatal(err)
	}
	r = e.run("", false, "users", "reset", "--from", csvFile, "--dry-run", "-o", "json")
	var v struct {
		Users []struct{ UPN string } `json:"users"`
	}
	if err := json.Unmarshal([]byte(r.out), &v); err != nil || len(v.Users) != 2 || v.Users[0].UPN != "bob@contoso.com" || v.Users[1].UPN != "Ada@contoso.com" {
		t.Errorf("feeding the CSV output back: %v\n%s%s", err, r.out, r.errOut)
	}
	expect(t, "--from stdin", e.run("upn\nbob@contoso.com\n", false, "users", "reset", "--from", "-", "--yes", "-q"), 0,
		"UPN              TOKENS  AUTHENTICATOR APPS  APP PASSWORDS KEPT  MUST REGISTER\nbob@contoso.com                              0                   true\n", "")
	if err := os.WriteFile(csvFile, []byte("upn\nada@contoso.com\n\n,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	expect(t, "bad file", e.run("", false, "users", "reset", "--from", csvFile, "--yes"), 1, "",
		"mfactl: error: "+csvFile+":4: empty upn\n")
	expect(t, "missing file", e.run("", false, "users", "reset", "--from", filepath.Join(e.dir, "nope.csv"), "--yes"), 1, "",
		"mfactl: error: reading users: open "+filepath.Join(e.dir, "nope.csv")+": no such file or directory\n")
	if n := len(auditRows(t, db)); n != 6 { // the refusal, 2 + 2 + 1 resets; not the file errors
		t.Errorf("%d audit rows, want 6", n)
	}
}
