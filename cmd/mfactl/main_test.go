package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mfactl/mfactl/internal/cli"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/conformancetest"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
	"github.com/mfactl/mfactl/internal/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden output in testdata/script with what mfactl prints now")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"mfactl": func() { os.Exit(mainWithTestClock()) },
	})
}

// mainWithTestClock is mfactl's main for the scripts. When MFACTL_TEST_NOW holds a unix time it
// fixes the clock there, so scripts can test drift windows and replays at exact time steps.
// Only the test binary reads that variable; the real mfactl has no way to fake its clock.
func mainWithTestClock() int {
	f := cmdutil.NewFactory(iostreams.System(), os.Getenv)
	if v := os.Getenv("MFACTL_TEST_NOW"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "MFACTL_TEST_NOW: want a unix time:", err)
			return 2
		}
		now := time.Unix(sec, 0).UTC()
		f.Now = func() time.Time { return now }
	}
	return cli.RunWithSignals(f, os.Args[1:])
}

// conformanceDir is the shared acceptance data beside the repository.
func conformanceDir() string { return conformancetest.Path() }

// TestScripts runs the end-to-end scenarios in testdata/script/*.txtar against the real binary.
// Each script gets its own HOME, so the default database and key file are fresh.
// $CONFORMANCE and $EXAMPLES point at the shared conformance data and the repository's examples.
func TestScripts(t *testing.T) {
	if os.Getenv("CI") == "true" {
		conformancetest.Dir(t) // scripts guarded by [conformance] must not skip under CI
	}
	examples, _ := filepath.Abs(filepath.Join("..", "..", "examples"))
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, ".local", "share"))
			env.Setenv("CONFORMANCE", conformanceDir())
			env.Setenv("EXAMPLES", examples)
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "conformance" {
				_, err := os.Stat(conformanceDir())
				return err == nil, nil
			}
			if cond == "postgres" {
				return postgresCondition()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":     cmdExits,
			"totp":      cmdTOTP,
			"grab":      cmdGrab,
			"unescape":  cmdUnescape,
			"sqlitedb":  cmdSQLiteDB,
			"sqlexec":   cmdSQLExec,
			"pgscratch": cmdPGScratch,
			"entrafake": cmdEntraFake,
		},
	})
}

// cmdExits runs a program and checks its exact exit status: exits N prog args...
// (testscript's own `! exec` only tells zero from non-zero). Output is kept for stdout/stderr.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			ts.Fatalf("exits: %v", err)
		}
		got = exitErr.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdTOTP computes a TOTP code and stores it in an environment variable:
//
//	totp [-period 30] [-digits 6] [-hash SHA1] [-offset STEPS] [-at UNIX] VAR SECRET
//
// -offset shifts the clock by whole time steps (a token running slow or fast); -at fixes the time,
// which otherwise is $MFACTL_TEST_NOW when set (the clock mfactl uses in the scripts), else now.
func cmdTOTP(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("totp", flag.ContinueOnError)
	period := fs.Uint("period", 30, "time step in seconds")
	digits := fs.Int("digits", 6, "digits")
	hash := fs.String("hash", "SHA1", "SHA1, SHA256 or SHA512")
	offset := fs.Int("offset", 0, "time steps to add")
	at := fs.Int64("at", 0, "unix time (default now)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || neg {
		ts.Fatalf("usage: totp [-period P] [-digits D] [-hash H] [-offset N] [-at UNIX] VAR SECRET")
	}
	algo := map[string]otp.Algorithm{"SHA1": otp.AlgorithmSHA1, "SHA256": otp.AlgorithmSHA256, "SHA512": otp.AlgorithmSHA512}[strings.ToUpper(*hash)]
	now := time.Now()
	if v := ts.Getenv("MFACTL_TEST_NOW"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		ts.Check(err)
		now = time.Unix(sec, 0)
	}
	if *at != 0 {
		now = time.Unix(*at, 0)
	}
	now = now.Add(time.Duration(*offset) * time.Duration(*period) * time.Second)
	code, err := totp.GenerateCodeCustom(fs.Arg(1), now, totp.ValidateOpts{Period: *period, Digits: otp.Digits(*digits), Algorithm: algo})
	ts.Check(err)
	ts.Setenv(fs.Arg(0), code)
}

// cmdGrab takes a value out of the previous command's standard output, for the one-time
// secrets mfactl prints (an app password, an otpauth URI's secret):
//
//	grab VAR REGEXP [FILE]
//
// sets $VAR to the first group of REGEXP in stdout, and writes it (with a newline) to FILE
// when given, so that it can be fed back with `stdin FILE`.
func cmdGrab(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: grab VAR REGEXP [FILE]")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("grab: no match for %s (with a group) in stdout", args[1])
	}
	ts.Setenv(args[0], m[1])
	if len(args) == 3 {
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(m[1]+"\n"), 0o600))
	}
}

// escapePattern matches the Go escapes cmdUnescape replaces.
var escapePattern = regexp.MustCompile(`\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}`)

// cmdUnescape rewrites files in place with the Go escapes \xNN, \uNNNN and \UNNNNNNNN replaced by
// the byte or character they name, so that a script can hold an ESC or a U+202E without the
// character itself sitting invisibly (or reordering lines) in the .txtar file:
//
//	unescape FILE...
//	unescape -env VAR VALUE
//
// The second form sets $VAR to VALUE unescaped, for an argument such as a UPN in NFD.
func cmdUnescape(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 || args[0] == "-env" && len(args) != 3 {
		ts.Fatalf("usage: unescape FILE... | unescape -env VAR VALUE")
	}
	if args[0] == "-env" {
		ts.Setenv(args[1], unescape(args[2]))
		return
	}
	for _, name := range args {
		ts.Check(os.WriteFile(ts.MkAbs(name), []byte(unescape(ts.ReadFile(name))), 0o600))
	}
}

func unescape(s string) string {
	return escapePattern.ReplaceAllStringFunc(s, func(esc string) string {
		n, _ := strconv.ParseUint(esc[2:], 16, 32)
		if esc[1] == 'x' {
			return string([]byte{byte(n)})
		}
		return string(rune(n))
	})
}

// cmdSQLiteDB writes the SQLite database of another program (one table, one row, the usual
// rollback journal), for the tests that --db never adopts it:
//
//	sqlitedb FILE
func cmdSQLiteDB(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sqlitedb FILE")
	}
	db, err := sql.Open("sqlite", "file:"+ts.MkAbs(args[0]))
	ts.Check(err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')`)
	ts.Check(err)
}

// cmdSQLExec runs SQL statements on a SQLite file behind mfactl's back (tampering tests).
//
//	sqlexec FILE SQL
func cmdSQLExec(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sqlexec FILE SQL")
	}
	db, err := sql.Open("sqlite", "file:"+ts.MkAbs(args[0]))
	ts.Check(err)
	defer db.Close()
	_, err = db.Exec(args[1])
	ts.Check(err)
}

// The [postgres] condition and the pgscratch command give a script a PostgreSQL directory of
// its own: MFACTL_TEST_PG is the admin URL (default: the local test server, as for the store
// tests). An unreachable server skips such scripts, except under CI=true, where it fails them.
const defaultScriptPG = "postgres://root@127.0.0.1:5432/test?sslmode=disable"

func scriptPGURL() string {
	if u := os.Getenv("MFACTL_TEST_PG"); u != "" {
		return u
	}
	return defaultScriptPG
}

var scriptPG = sync.OnceValues(func() (*sql.DB, error) {
	db, err := sql.Open("pgx", scriptPGURL())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
})

func postgresCondition() (bool, error) {
	if _, err := scriptPG(); err != nil {
		if os.Getenv("CI") == "true" {
			return false, fmt.Errorf("PostgreSQL for the scripts unreachable (MFACTL_TEST_PG): %v", err)
		}
		return false, nil
	}
	return true, nil
}

var scratchSeq atomic.Int64

// cmdPGScratch creates an empty schema in the test PostgreSQL database, dropped when the
// script ends, and sets $VAR to its URL (the schema as search_path):
//
//	pgscratch VAR
func cmdPGScratch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pgscratch VAR")
	}
	db, err := scriptPG()
	if err != nil {
		ts.Fatalf("pgscratch: PostgreSQL unreachable (guard the script with [!postgres] skip): %v", err)
	}
	schema := fmt.Sprintf("mfactl_script_%d_%d", os.Getpid(), scratchSeq.Add(1))
	_, err = db.Exec(`CREATE SCHEMA ` + schema)
	ts.Check(err)
	ts.Defer(func() { db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(scriptPGURL())
	ts.Check(err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	ts.Setenv(args[0], u.String())
}

// entraFakes are the Graph fakes of the running scripts, with the number of requests the seed
// made, so that "entrafake writes" counts only what mfactl sent.
var entraFakes sync.Map // *testscript.TestScript -> entraFake

type entraFake struct {
	graph  *graphfake.Server
	seeded int
}

// cmdEntraFake runs a fake Entra ID tenant for the script:
//
//	entrafake start   starts a Graph fake seeded with entrafake.Seed and a fake identity
//	                  platform, and points mfactl at them (SSL_CERT_FILE, MFACTL_GRAPH_URL,
//	                  AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID)
//	entrafake writes  prints every request since the seed that was not a GET, one a line
//	entrafake adduser UPN...  adds users (a UPN with #EXT# is a guest)
//	entrafake failat N  answers the Nth Graph request from now with a 500 (once)
func cmdEntraFake(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || (!slices.Contains([]string{"adduser", "registration", "signin", "audit", "nopremium", "failat"}, args[0]) && len(args) != 1) {
		ts.Fatalf("usage: entrafake start|writes|adduser UPN...|failat N|registration|signin|audit|nopremium ...")
	}
	switch args[0] {
	case "failat":
		v, ok := entraFakes.Load(ts)
		if !ok || len(args) != 2 {
			ts.Fatalf("usage: entrafake failat N, after entrafake start")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			ts.Fatalf("entrafake failat: bad N %q", args[1])
		}
		g := v.(entraFake).graph
		g.FailAt(len(g.Requests())+n, graphfake.Fail500)
	case "adduser":
		// More users for the tenant, as its administrators would create them.
		v, ok := entraFakes.Load(ts)
		if !ok {
			ts.Fatalf("entrafake adduser: no fake started")
		}
		for _, upn := range args[1:] {
			u := graph.User{UserPrincipalName: upn, DisplayName: upn}
			if strings.Contains(upn, "#EXT#") { // a guest, as Entra ID names them
				u.UserType = "Guest"
			}
			v.(entraFake).graph.AddUser(u)
		}
	case "registration", "signin", "audit", "nopremium":
		v, ok := entraFakes.Load(ts)
		if !ok {
			ts.Fatalf("entrafake %s: no fake started", args[0])
		}
		seedEntraReport(ts, v.(entraFake).graph, args)
	case "start":
		g := graphfake.New()
		g.SetActivationWindow(1) // the scripts' wrong codes must not match by chance
		ts.Defer(g.Close)
		if err := entrafake.Seed(context.Background(), g); err != nil {
			ts.Fatalf("seeding the Graph fake: %v", err)
		}
		idp, err := entrafake.NewIDP()
		if err != nil {
			ts.Fatalf("starting the identity fake: %v", err)
		}
		ts.Defer(idp.Close)
		ca := filepath.Join(ts.Getenv("WORK"), "entrafake-ca.pem")
		if err := os.WriteFile(ca, append(entrafake.GraphCAPEM(g), idp.CAPEM...), 0o600); err != nil {
			ts.Fatalf("%v", err)
		}
		ts.Setenv("SSL_CERT_FILE", ca)
		ts.Setenv("MFACTL_GRAPH_URL", g.URL)
		ts.Setenv("AZURE_AUTHORITY_HOST", idp.AuthorityHost())
		ts.Setenv("AZURE_CLIENT_ID", entrafake.ClientID)
		ts.Setenv("AZURE_CLIENT_SECRET", entrafake.Secret)
		ts.Setenv("AZURE_TENANT_ID", entrafake.TenantID)
		entraFakes.Store(ts, entraFake{graph: g, seeded: len(g.Requests())})
		ts.Defer(func() { entraFakes.Delete(ts) })
	case "writes":
		v, ok := entraFakes.Load(ts)
		if !ok {
			ts.Fatalf("entrafake writes: no fake started")
		}
		f := v.(entraFake)
		// "no writes" rather than nothing: a command that prints nothing leaves stdout as the
		// command before it left it.
		n := 0
		for _, r := range f.graph.Requests()[f.seeded:] {
			if r.Method != "GET" {
				fmt.Fprintf(ts.Stdout(), "%s %s\n", r.Method, r.Path)
				n++
			}
		}
		if n == 0 {
			fmt.Fprintln(ts.Stdout(), "no writes")
		}
	default:
		ts.Fatalf("usage: entrafake start|writes")
	}
}

// seedEntraReport seeds the tenant's reports for `entrafake`:
//
//	entrafake registration UPN METHOD...                 a userRegistrationDetails row
//	entrafake signin UNIX UPN METHOD ok|denied DETAIL     a sign-in whose MFA step used METHOD
//	entrafake audit UNIX SERVICE ACTIVITY TARGET [ACTOR]  a directory audit entry (success)
//	entrafake nopremium                                   the tenant has no P1/P2
func seedEntraReport(ts *testscript.TestScript, g *graphfake.Server, args []string) {
	unix := func(s string) time.Time {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			ts.Fatalf("entrafake %s: bad unix time %q", args[0], s)
		}
		return time.Unix(sec, 0).UTC()
	}
	switch {
	case args[0] == "nopremium" && len(args) == 1:
		g.SetPremium(false)
	case args[0] == "registration" && len(args) >= 2:
		g.AddRegistration(graph.RegistrationDetails{ID: args[1], UserPrincipalName: args[1], UserDisplayName: args[1], MethodsRegistered: args[2:]})
	case args[0] == "signin" && len(args) == 6:
		g.AddSignIn(graph.SignIn{ID: args[1] + args[2], CreatedDateTime: unix(args[1]), UserPrincipalName: args[2], IPAddress: "192.0.2.7",
			AuthenticationDetails: []graph.AuthenticationDetail{
				{AuthenticationMethod: "Password", AuthenticationStepRequirement: "singleFactorAuthentication", Succeeded: true},
				{AuthenticationMethod: args[3], AuthenticationStepRequirement: "multiFactorAuthentication",
					AuthenticationStepResultDetail: args[5], Succeeded: args[4] == "ok"}}})
	case args[0] == "audit" && (len(args) == 5 || len(args) == 6):
		a := graph.DirectoryAudit{ID: args[1] + args[3], ActivityDateTime: unix(args[1]), LoggedByService: args[2], ActivityDisplayName: args[3],
			Result: "success", TargetResources: []graph.AuditTarget{{UserPrincipalName: args[4]}}}
		if len(args) == 6 {
			a.InitiatedBy = &graph.AuditInitiator{User: &struct {
				ID                string `json:"id,omitempty"`
				UserPrincipalName string `json:"userPrincipalName,omitempty"`
				DisplayName       string `json:"displayName,omitempty"`
			}{UserPrincipalName: args[5]}}
		}
		g.AddAudit(a)
	default:
		ts.Fatalf("usage: entrafake registration UPN METHOD... | signin UNIX UPN METHOD ok|denied DETAIL | audit UNIX SERVICE ACTIVITY TARGET [ACTOR] | nopremium")
	}
}
