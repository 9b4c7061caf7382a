package tokencmd_test

import (
	"context"
	"fmt"
	"iter"
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
	"github.com/mfactl/mfactl/internal/tokens"
)

// actNow is the clock of the activation tests.
var actNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// actEnv is a directory seeded through the store and driven through the whole command line.
type actEnv struct {
	t      *testing.T
	dir    string
	dbPath string
	key    string
}

type actResult struct {
	code        int
	out, errOut string
}

// newActEnv: users ada and bob; TOK0 and TOK1 assigned to ada, TOK2 and TOK3 in stock.
func newActEnv(t *testing.T) *actEnv {
	t.Helper()
	dir := t.TempDir()
	e := &actEnv{t: t, dir: dir, dbPath: filepath.Join(dir, "mfactl.db"), key: filepath.Join(dir, "mfactl.key")}
	ctx := context.Background()
	db := e.db()
	for _, upn := range []string{"ada@contoso.com", "bob@contoso.com"} {
		if _, err := db.AddUser(ctx, directory.User{UPN: upn}); err != nil {
			t.Fatal(err)
		}
	}
	rows := func(yield func(directory.ImportRow, error) bool) {
		for i := range 4 {
			if !yield(directory.ImportRow{Line: i + 2, Serial: fmt.Sprintf("TOK%d", i), Secret: actSecret(i), Period: 30, Digits: 6, Hash: "SHA1"}, nil) {
				return
			}
		}
	}
	if _, err := db.ImportTokens(ctx, iter.Seq2[directory.ImportRow, error](rows), directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"TOK0", "TOK1"} {
		if _, err := db.AssignToken(ctx, s, "ada@contoso.com", false, 0); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	return e
}

func actSecret(i int) []byte { return []byte(fmt.Sprintf("activation-secret-%d", i)) }

// code is token i's code offset steps from the test clock.
func actCode(t *testing.T, i, offset int) string {
	t.Helper()
	c, err := tokens.TOTP(actSecret(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(actNow, 30)+int64(offset))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// actWrong is a well-formed code that token i does not show within 12 steps of the clock.
func actWrong(t *testing.T, i int) string {
	t.Helper()
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n)
		if _, ok, _ := tokens.MatchCode(actSecret(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, c, tokens.Step(actNow, 30), 12); !ok {
			return c
		}
	}
}

func (e *actEnv) db() *store.DB {
	e.t.Helper()
	db, err := store.Open(context.Background(), e.dbPath, store.Options{KeyFile: e.key, Now: func() time.Time { return actNow }})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

func (e *actEnv) run(stdin string, tty bool, args ...string) actResult {
	e.t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(tty, false, false)
	in.WriteString(stdin)
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	f.Now = func() time.Time { return actNow }
	code := cli.Run(context.Background(), f, append([]string{"--db", e.dbPath, "--key-file", e.key}, args...))
	return actResult{code, out.String(), errOut.String()}
}

func (e *actEnv) token(serial string) directory.Token {
	e.t.Helper()
	tok, err := e.db().GetToken(context.Background(), serial)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (r actResult) check(t *testing.T, code int, out, errOut string) {
	t.Helper()
	if r.code != code || r.out != out || r.errOut != errOut {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut, code, out, errOut)
	}
}

func TestActivateOne(t *testing.T) {
	e := newActEnv(t)
	e.run("", false, "tokens", "activate", "tok0", actCode(t, 0, -7)).check(t, 0,
		`SERIAL NUMBER  UPN              STATUS     DRIFT  FAILED ATTEMPTS  RESULT   RESULT CODE                   REASON
TOK0           ada@contoso.com  activated  -7     0                success  SUCCESS_OATH_TOKEN_ACTIVATED
`, "")
	if tok := e.token("TOK0"); tok.Status != directory.StatusActivated || tok.Drift != -7 {
		t.Fatalf("token %+v", tok)
	}
	// A wrong code from standard input: exit 1, the row says why; JSON has the same fields.
	wrong := actWrong(t, 1)
	e.run(wrong+"\n", false, "tokens", "activate", "TOK1", "-", "-o", "json").check(t, 1, `{
  "serial_number": "TOK1",
  "upn": "ada@contoso.com",
  "status": "failed_activation",
  "drift": 0,
  "failed_attempts": 1,
  "result": "denied",
  "result_code": "FAILED_OATH_CODE_INCORRECT",
  "reason": "incorrect code (1 of 10 failed activations)"
}
`, "")
	// The prompt (stdin a terminal) goes to stderr; the code never appears anywhere.
	c := actCode(t, 1, 2)
	r := e.run(c+"\n", true, "tokens", "activate", "TOK1", "-o", "csv")
	r.check(t, 0, "serial number,upn,status,drift,failed attempts,result,result code,reason\nTOK1,ada@contoso.com,activated,2,0,success,SUCCESS_OATH_TOKEN_ACTIVATED,\n",
		"Code shown on token TOK1: ")
	// --user assigns and activates; both are audited.
	e.run("", false, "tokens", "activate", "TOK2", actCode(t, 2, 0), "--user", "bob@contoso.com", "-o", "csv").check(t, 0,
		"serial number,upn,status,drift,failed attempts,result,result code,reason\nTOK2,bob@contoso.com,activated,0,0,success,SUCCESS_OATH_TOKEN_ACTIVATED,\n", "")
	audit, err := e.db().ListAudit(context.Background(), directory.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range audit {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s", a.Command, a.Target, a.Result, a.Detail))
	}
	want := []string{
		"tokens activate|TOK0|success|activated for ada@contoso.com with a drift of -7 steps",
		"tokens activate|TOK1|failure|FAILED_OATH_CODE_INCORRECT: incorrect code (1 of 10 failed activations)",
		"tokens activate|TOK1|success|activated for ada@contoso.com with a drift of 2 steps",
		"tokens activate|TOK2|success|assigned to bob@contoso.com",
		"tokens activate|TOK2|success|activated for bob@contoso.com with a drift of 0 steps",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	evs, _ := e.db().ListAuthEvents(context.Background(), directory.AuthEventFilter{})
	if len(evs) != 4 || evs[3].ResultCode != "SUCCESS_OATH_TOKEN_ACTIVATED" || evs[3].ServerName != cmdutil.Host().Name || evs[3].ServerIP == "" {
		t.Errorf("auth events %+v", evs)
	}
	for _, ev := range evs {
		for _, secret := range []string{c, wrong} {
			if strings.Contains(fmt.Sprintf("%+v", ev), secret) {
				t.Errorf("an auth event holds a code: %+v", ev)
			}
		}
	}
}

func TestActivateErrors(t *testing.T) {
	e := newActEnv(t)
	for _, c := range []struct {
		args    []string
		stdin   string
		code    int
		message string
	}{
		{[]string{"TOK0"}, "", 2, "mfactl: error: no code given: pass CODE, or - to read it from standard input\nRun 'mfactl tokens activate --help' for usage.\n"},
		{[]string{"TOK0", "-"}, "", 2, "mfactl: error: no code on standard input\nRun 'mfactl tokens activate --help' for usage.\n"},
		{[]string{}, "", 2, "mfactl: error: accepts between 1 and 2 arg(s), received 0\nRun 'mfactl tokens activate --help' for usage.\n"},
		{[]string{"TOK0", "1", "2"}, "", 2, "mfactl: error: accepts between 1 and 2 arg(s), received 3\nRun 'mfactl tokens activate --help' for usage.\n"},
		{[]string{"TOK0", "123456", "--window", "101"}, "", 2, "mfactl: error: --window: 101 is out of range 0..100\nRun 'mfactl tokens activate --help' for usage.\n"},
		{[]string{"TOK0", "123456", "--client-ip", "10.0.0.300"}, "", 2, "mfactl: error: --client-ip: \"10.0.0.300\" is not an IP address\nRun 'mfactl tokens activate --help' for usage.\n"},
		{[]string{"TOK0", "--from", "x.csv"}, "", 2, "mfactl: error: --from reads serial numbers and codes from the file; give no SERIAL or CODE\nRun 'mfactl tokens activate --help' for usage.\n"},
		{[]string{"--from", "x.csv", "--user", "ada@contoso.com"}, "", 2, "mfactl: error: --user cannot be combined with --from; give each row's user in a upn column\nRun 'mfactl tokens activate --help' for usage.\n"},
		{[]string{"TOK2", "123456", "--user", "nobody@contoso.com"}, "", 1, "mfactl: error: assigning token TOK2 to nobody@contoso.com: user nobody@contoso.com not found\nmfactl: hint: add the user first: mfactl users add nobody@contoso.com\n"},
		{[]string{"TOK0", "123456", "--user", "bob@contoso.com"}, "", 1, "mfactl: error: assigning token TOK0 to bob@contoso.com: token TOK0 is already assigned to ada@contoso.com\nmfactl: hint: unassign it first, or move it with mfactl tokens assign --force\n"},
	} {
		r := e.run(c.stdin, false, append([]string{"tokens", "activate"}, c.args...)...)
		if r.code != c.code || r.errOut != c.message || r.out != "" {
			t.Errorf("%v: exit %d\n%s%s\nwant exit %d\n%s", c.args, r.code, r.out, r.errOut, c.code, c.message)
		}
	}
	// An unknown token is a denied attempt, recorded like the others.
	e.run("", false, "tokens", "activate", "NOPE", "123456", "-o", "csv", "--client-ip", "2001:DB8::7").check(t, 1,
		"serial number,upn,status,drift,failed attempts,result,result code,reason\nNOPE,,,0,0,denied,FAILED_OATH_TOKEN_UNKNOWN,token not found\n", "")
	evs, _ := e.db().ListAuthEvents(context.Background(), directory.AuthEventFilter{})
	if len(evs) != 1 || evs[0].DeviceToken != "NOPE" || evs[0].ClientIP != "2001:db8::7" {
		t.Errorf("events %+v", evs)
	}
}

func (e *actEnv) file(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestActivateBulk(t *testing.T) {
	e := newActEnv(t)
	// Mixed: a good code, a wrong one, an unknown serial, an assignment by upn, and a user that
	// does not exist (a failed row, not an attempt).
	content := "Serial Number,Code,UPN\n" +
		"TOK0," + actCode(t, 0, -3) + ",\n" +
		"TOK1," + actWrong(t, 1) + ",\n" +
		"NOPE,123456,\n" +
		"TOK2," + actCode(t, 2, 1) + ",bob@contoso.com\n" +
		"TOK3,123456,carol@contoso.com\n"
	path := e.file("codes.csv", content)
	r := e.run("", false, "tokens", "activate", "--from", path, "-o", "json")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s%s", r.code, r.out, r.errOut)
	}
	want := `{
  "file": "` + path + `",
  "rows": 5,
  "activated": 2,
  "failed": 3,
  "results": [
    {
      "line": 2,
      "serial_number": "TOK0",
      "upn": "ada@contoso.com",
      "status": "activated",
      "drift": -3,
      "failed_attempts": 0,
      "result": "success",
      "result_code": "SUCCESS_OATH_TOKEN_ACTIVATED",
      "reason": ""
    },
    {
      "line": 3,
      "serial_number": "TOK1",
      "upn": "ada@contoso.com",
      "status": "failed_activation",
      "drift": 0,
      "failed_attempts": 1,
      "result": "denied",
      "result_code": "FAILED_OATH_CODE_INCORRECT",
      "reason": "incorrect code (1 of 10 failed activations)"
    },
    {
      "line": 4,
      "serial_number": "NOPE",
      "upn": "",
      "status": "",
      "drift": 0,
      "failed_attempts": 0,
      "result": "denied",
      "result_code": "FAILED_OATH_TOKEN_UNKNOWN",
      "reason": "token not found"
    },
    {
      "line": 5,
      "serial_number": "TOK2",
      "upn": "bob@contoso.com",
      "status": "activated",
      "drift": 1,
      "failed_attempts": 0,
      "result": "success",
      "result_code": "SUCCESS_OATH_TOKEN_ACTIVATED",
      "reason": ""
    },
    {
      "line": 6,
      "serial_number": "TOK3",
      "upn": "carol@contoso.com",
      "status": "",
      "drift": 0,
      "failed_attempts": 0,
      "result": "error",
      "result_code": "",
      "reason": "assigning token TOK3 to carol@contoso.com: user carol@contoso.com not found"
    }
  ]
}
`
	if r.out != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.out, want)
	}
	if r.errOut != path+": 5 rows: 2 activated, 3 failed\n" {
		t.Errorf("stderr %q", r.errOut)
	}
	// All failed: exit 1. From standard input, as a table.
	r = e.run("serial number,code\nTOK1,"+actWrong(t, 1)+"\n", false, "-q", "tokens", "activate", "--from", "-")
	r.check(t, 1, `LINE  SERIAL NUMBER  UPN              STATUS             DRIFT  FAILED ATTEMPTS  RESULT  RESULT CODE                 REASON
2     TOK1           ada@contoso.com  failed_activation  0      2                denied  FAILED_OATH_CODE_INCORRECT  incorrect code (2 of 10 failed activations)
`, "")
	// All activated: exit 0.
	e.run("code,serial number\r\n"+actCode(t, 1, 0)+",TOK1\r\n", false, "-q", "tokens", "activate", "--from", "-", "-o", "csv").check(t, 0,
		"line,serial number,upn,status,drift,failed attempts,result,result code,reason\n2,TOK1,ada@contoso.com,activated,0,0,success,SUCCESS_OATH_TOKEN_ACTIVATED,\n", "")
}

// TestActivateBulkMalformed: a malformed file activates nothing, and the errors never quote a
// cell (it may hold a code).
func TestActivateBulkMalformed(t *testing.T) {
	e := newActEnv(t)
	good := actCode(t, 0, 0)
	for _, c := range []struct{ content, message string }{
		{"", "mfactl: error: F: empty file; want a header naming the columns serial number and code\n"},
		{"TOK0," + good + "\n", "mfactl: error: F:1: the header must name the columns serial number and code, and optionally upn (column 1 is neither)\n"},
		{"serial number,upn\nTOK0,ada@contoso.com\n", "mfactl: error: F:1: no code column; the header must name the columns serial number and code, and optionally upn\n"},
		{"serial number,code,code\n", "mfactl: error: F:1: column code appears twice\n"},
		{"serial number,code\nTOK0," + good + "\nTOK1\n", "mfactl: error: F:3: wrong number of fields\n"},
		{"serial number,code\nTOK0," + good + "\n,123456\n", "mfactl: error: F:3: serial number: empty\n"},
		{"serial number,code\nTOK0,\n", "mfactl: error: F:2: code: empty\n"},
		{"serial number,code\n\"TOK0," + good + "\n", "mfactl: error: F:2: extraneous or missing \" in quoted-field\n"},
		{"serial number,code\n", "mfactl: error: F: no rows to activate\n"},
	} {
		path := e.file("bad.csv", c.content)
		r := e.run("", false, "tokens", "activate", "--from", path)
		want := strings.ReplaceAll(c.message, "F", path)
		if r.code != 1 || r.out != "" || r.errOut != want {
			t.Errorf("%q: exit %d\n%s%s\nwant\n%s", c.content, r.code, r.out, r.errOut, want)
		}
		if strings.Contains(r.errOut, good) {
			t.Errorf("the error quotes a code: %s", r.errOut)
		}
	}
	if tok := e.token("TOK0"); tok.Status != directory.StatusAssigned {
		t.Errorf("a malformed file changed a token: %+v", tok)
	}
	r := e.run("", false, "tokens", "activate", "--from", filepath.Join(e.dir, "missing.csv"))
	if r.code != 1 || !strings.HasPrefix(r.errOut, "mfactl: error: opening the activation file: open ") {
		t.Errorf("missing file: %d %s", r.code, r.errOut)
	}
}
