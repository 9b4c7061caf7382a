package authcmd_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
	"github.com/mfactl/mfactl/internal/users"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var secret = []byte("verification-secret!")

type env struct {
	t      *testing.T
	dbPath string
	key    string
	clock  time.Time
}

type result struct {
	code        int
	out, errOut string
}

// newEnv: ada owns the activated token TOK0 (drift 0, no code used yet); bob has nothing.
func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dbPath: filepath.Join(dir, "mfactl.db"), key: filepath.Join(dir, "mfactl.key"), clock: now}
	ctx := context.Background()
	db := e.db()
	defer db.Close()
	for _, u := range []directory.User{{UPN: "ada@contoso.com", DisplayName: "Ada Lovelace"}, {UPN: "bob@contoso.com"}} {
		if _, err := db.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	rows := func(yield func(directory.ImportRow, error) bool) {
		yield(directory.ImportRow{Line: 2, Serial: "TOK0", Secret: secret, Period: 30, Digits: 6, Hash: "SHA1"}, nil)
	}
	if _, err := db.ImportTokens(ctx, rows, directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AssignToken(ctx, "TOK0", "ada@contoso.com", false, 0); err != nil {
		t.Fatal(err)
	}
	r := e.run("", false, "tokens", "activate", "TOK0", e.code(-2))
	if r.code != 0 {
		t.Fatalf("activation: %+v", r)
	}
	e.clock = now.Add(time.Minute)
	return e
}

func (e *env) db() *store.DB {
	e.t.Helper()
	db, err := store.Open(context.Background(), e.dbPath, store.Options{KeyFile: e.key, Now: func() time.Time { return e.clock }})
	if err != nil {
		e.t.Fatal(err)
	}
	return db
}

// code is TOK0's code offset steps from the clock.
func (e *env) code(offset int) string {
	c, _ := tokens.TOTP(secret, tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(e.clock, 30)+int64(offset))
	return c
}

func (e *env) run(stdin string, tty bool, args ...string) result {
	e.t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(tty, false, false)
	in.WriteString(stdin)
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	f.Now = func() time.Time { return e.clock }
	code := cli.Run(context.Background(), f, append([]string{"--db", e.dbPath, "--key-file", e.key}, args...))
	return result{code, out.String(), errOut.String()}
}

func (r result) check(t *testing.T, code int, out, errOut string) {
	t.Helper()
	if r.code != code || r.out != out || r.errOut != errOut {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut, code, out, errOut)
	}
}

func TestVerifyCode(t *testing.T) {
	e := newEnv(t)
	c := e.code(-2)
	e.run("", false, "auth", "verify", "ADA@contoso.com", c, "--client-ip", "203.0.113.9").check(t, 0,
		`TIME                  UPN              DEVICE TOKEN  MODE           RESULT   RESULT CODE                 REASON
2026-03-01T12:01:00Z  ada@contoso.com  TOK0          oath-hardware  success  SUCCESS_OATH_CODE_VERIFIED
`, "")
	// The same code again, from standard input: a duplicate, exit 1.
	e.run(c+"\n", false, "auth", "verify", "ada@contoso.com", "-", "-o", "json").check(t, 1, `{
  "time": "2026-03-01T12:01:00Z",
  "upn": "ada@contoso.com",
  "device_token": "TOK0",
  "mode": "oath-hardware",
  "result": "denied",
  "result_code": "FAILED_OATH_CODE_DUPLICATE",
  "reason": "code already used"
}
`, "")
	// An older code, typed at a prompt.
	e.run(e.code(-3)+"\r\n", true, "auth", "verify", "ada@contoso.com", "-o", "csv").check(t, 1,
		"time,upn,device token,mode,result,result code,reason\n2026-03-01T12:01:00Z,ada@contoso.com,TOK0,oath-hardware,denied,FAILED_OATH_CODE_OLD,code older than the last accepted one\n",
		"Code for ada@contoso.com: ")
	e.run("", false, "auth", "verify", "nobody@contoso.com", "123456", "-o", "csv").check(t, 1,
		"time,upn,device token,mode,result,result code,reason\n2026-03-01T12:01:00Z,nobody@contoso.com,,oath,denied,FAILED_USER_UNKNOWN,user not found\n", "")
	e.run("", false, "auth", "verify", "bob@contoso.com", "123456", "-o", "csv").check(t, 1,
		"time,upn,device token,mode,result,result code,reason\n2026-03-01T12:01:00Z,bob@contoso.com,,oath,denied,FAILED_NO_METHOD,no activated hardware token or authenticator app\n", "")
	// A code copied as authenticator apps show it, "123 456", is the code 123456.
	spaced := e.code(-1)
	spaced = spaced[:3] + " " + spaced[3:]
	e.run("", false, "auth", "verify", "ada@contoso.com", spaced, "-o", "csv").check(t, 0,
		"time,upn,device token,mode,result,result code,reason\n2026-03-01T12:01:00Z,ada@contoso.com,TOK0,oath-hardware,success,SUCCESS_OATH_CODE_VERIFIED,\n", "")

	db := e.db()
	defer db.Close()
	evs, err := db.ListAuthEvents(context.Background(), directory.AuthEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// The activation, then the six verifications.
	if len(evs) != 7 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[1]
	h := cmdutil.Host()
	want := directory.AuthEvent{ID: ev.ID, Time: now.Add(time.Minute), UPN: "ada@contoso.com", FirstName: "Ada", LastName: "Lovelace",
		DeviceToken: "TOK0", Mode: "oath-hardware", Result: "success", ResultCode: "SUCCESS_OATH_CODE_VERIFIED",
		ServerName: h.Name, ServerIP: h.IP, ClientIP: "203.0.113.9"}
	if ev != want {
		t.Errorf("event\n got %+v\nwant %+v", ev, want)
	}
	for _, ev := range evs {
		if strings.Contains(fmt.Sprintf("%+v", ev), c) {
			t.Errorf("an event holds the code: %+v", ev)
		}
	}
}

func TestVerifyUsage(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		args    []string
		stdin   string
		message string
	}{
		{[]string{"ada@contoso.com"}, "", "no code given: pass CODE, or - to read it from standard input"},
		{[]string{"ada@contoso.com", "-"}, "\n", "no code on standard input"},
		{[]string{"ada@contoso.com", "123456", "--app-password"}, "", "--app-password reads the password from standard input; give no CODE"},
		{[]string{"ada@contoso.com", "--app-password"}, "", "no app password on standard input"},
		{[]string{"ada@contoso.com", "123456", "--client-ip", "localhost"}, "", `--client-ip: "localhost" is not an IP address`},
		{[]string{"ada@contoso.com", "123456", "-o", "yaml"}, "", `auth verify: unknown output format "yaml" (want table, json, csv)`},
		{[]string{}, "", "accepts between 1 and 2 arg(s), received 0"},
	} {
		r := e.run(c.stdin, false, append([]string{"auth", "verify"}, c.args...)...)
		want := "mfactl: error: " + c.message + "\nRun 'mfactl auth verify --help' for usage.\n"
		if strings.Contains(c.message, "output format") {
			want = "mfactl: error: mfactl " + c.message + "\nRun 'mfactl auth verify --help' for usage.\n"
		}
		if r.code != 2 || r.out != "" || r.errOut != want {
			t.Errorf("%v: exit %d\n%s%s\nwant\n%s", c.args, r.code, r.out, r.errOut, want)
		}
	}
}

// TestVerifyCodeInput: a code is read the same way from the argument, standard input and the
// prompt: white space around it (a line ending, a tab, a no-break space) is not part of it. A
// code that still is not 6 digits is a usage error that records and counts nothing, and the
// message does not repeat it.
func TestVerifyCodeInput(t *testing.T) {
	e := newEnv(t)
	ok := "time,upn,device token,mode,result,result code,reason\n%s,ada@contoso.com,TOK0,oath-hardware,success,SUCCESS_OATH_CODE_VERIFIED,\n"
	for i, c := range []struct {
		stdin string
		tty   bool
		arg   func(code string) string // nil: from standard input
	}{
		{arg: func(c string) string { return c + "\n" }},
		{arg: func(c string) string { return c + "\t" }},
		{arg: func(c string) string { return "\u00a0" + c }},
		{arg: func(c string) string { return c[:3] + "\u202f" + c[3:] }},
		{stdin: "%s\t\n"},
		{stdin: "\u00a0%s\n"},
		{stdin: " %s \r\n", tty: true},
	} {
		e.clock = now.Add(time.Duration(i+1) * time.Minute)
		args := []string{"auth", "verify", "ada@contoso.com", "-", "-o", "csv"}
		stdin := ""
		if c.arg != nil {
			args[3] = c.arg(e.code(-2))
		} else {
			stdin = fmt.Sprintf(c.stdin, e.code(-2))
		}
		if c.tty {
			args = args[:3]
			args = append(args, "-o", "csv")
		}
		r := e.run(stdin, c.tty, args...)
		wantErr := ""
		if c.tty {
			wantErr = "Code for ada@contoso.com: "
		}
		r.check(t, 0, fmt.Sprintf(ok, e.clock.Format(time.RFC3339)), wantErr)
	}
	for _, c := range []struct{ code, msg string }{
		{"12345", "malformed code: 5 digits, want 6 to 8"},
		{"1234567", "malformed code: 7 digits, want 6"},
		{"12345x", "malformed code: it holds a character other than a digit"},
		{"123\t456", "malformed code: it holds a character other than a digit"},
	} {
		r := e.run("", false, "auth", "verify", "ada@contoso.com", c.code)
		msg := "mfactl: error: " + c.msg + "\nRun 'mfactl auth verify --help' for usage.\n"
		if c.code == "1234567" {
			msg = "mfactl: error: verifying a code of ada@contoso.com: " + c.msg + "\nRun 'mfactl auth verify --help' for usage.\n"
		}
		r.check(t, 2, "", msg)
	}
	db := e.db()
	defer db.Close()
	evs, err := db.ListAuthEvents(context.Background(), directory.AuthEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 8 {
		t.Errorf("%d events, want the activation and 7 verifications", len(evs))
	}
	if u, err := db.GetUser(context.Background(), "ada@contoso.com"); err != nil || u.FailedAttempts != 0 {
		t.Errorf("failures counted: %+v %v", u, err)
	}
}

func TestVerifyAppPassword(t *testing.T) {
	e := newEnv(t)
	db := e.db()
	h, err := users.HashAppPassword("abcdefghijkmnopq")
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.AddAppPassword(context.Background(), "ada@contoso.com", "mail", h)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.run("abcdefghijkmnopq\n", false, "auth", "verify", "ada@contoso.com", "--app-password", "-o", "csv").check(t, 0,
		"time,upn,device token,mode,result,result code,reason\n2026-03-01T12:01:00Z,ada@contoso.com,"+p.ID+",app-password,success,SUCCESS_APP_PASSWORD_VERIFIED,\n", "")
	e.run("abcdefghijkmnopQ", false, "auth", "verify", "ada@contoso.com", "--app-password", "-o", "csv").check(t, 1,
		"time,upn,device token,mode,result,result code,reason\n2026-03-01T12:01:00Z,ada@contoso.com,,app-password,denied,FAILED_APP_PASSWORD_INCORRECT,incorrect app password\n", "")
	e.run("abcdefghijkmnopq\n", true, "auth", "verify", "bob@contoso.com", "--app-password", "-o", "csv").check(t, 1,
		"time,upn,device token,mode,result,result code,reason\n2026-03-01T12:01:00Z,bob@contoso.com,,app-password,denied,FAILED_NO_METHOD,no app password\n",
		"App password for bob@contoso.com: ")
}

// The UPN is written to the auth log even when unknown: one with a control character (a
// newline forges a line in the log's reports) is a usage error and records nothing; spaces
// around it are dropped.
func TestVerifyRefusesControlCharactersInUPN(t *testing.T) {
	e := newEnv(t)
	for upn, char := range map[string]string{
		"ada@contoso.com\nforged": "U+000A LINE FEED, a control character",
		"ada\x1b[2J@contoso.com":  "U+001B ESCAPE, a control character",
		"nobody\t@contoso.com":    "U+0009 CHARACTER TABULATION, a control character",
		"ada\u202e@contoso.com":   "U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control character",
	} {
		e.run("", false, "auth", "verify", upn, e.code(0)).check(t, 2, "",
			"mfactl: error: UPN contains "+char+"\nRun 'mfactl auth verify --help' for usage.\n")
		e.run("password\n", false, "auth", "verify", upn, "--app-password").check(t, 2, "",
			"mfactl: error: UPN contains "+char+"\nRun 'mfactl auth verify --help' for usage.\n")
	}
	e.run("", false, "auth", "verify", " ", e.code(0)).check(t, 2, "",
		"mfactl: error: empty UPN\nRun 'mfactl auth verify --help' for usage.\n")
	db := e.db()
	defer db.Close()
	evs, err := db.ListAuthEvents(context.Background(), directory.AuthEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ResultCode != "SUCCESS_OATH_TOKEN_ACTIVATED" {
		t.Fatalf("auth events: %+v", evs)
	}
	e.run("", false, "auth", "verify", " ada@contoso.com ", e.code(-2), "-o", "csv").check(t, 0,
		"time,upn,device token,mode,result,result code,reason\n2026-03-01T12:01:00Z,ada@contoso.com,TOK0,oath-hardware,success,SUCCESS_OATH_CODE_VERIFIED,\n", "")
}
