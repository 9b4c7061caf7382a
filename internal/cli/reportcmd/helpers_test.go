package reportcmd

import (
	"context"
	"encoding/base32"
	"encoding/hex"
	"iter"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/store"
)

// testNow is the clock of the command tests.
var testNow = time.Date(2026, time.November, 22, 12, 0, 0, 0, time.UTC)

// testSecret is the seed of every test token; no report may print it in any form.
var testSecret = []byte("mfactl-report-secret")

type testEnv struct {
	dbPath string
	db     *store.DB // for seeding; the commands open their own handle
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mfactl.db")
	db, err := store.Open(context.Background(), path, store.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &testEnv{dbPath: path, db: db}
}

// at opens another handle on the test directory whose clock is fixed at when, for commands
// that take the time from the store (activation and verification stamp tokens with it).
func (e *testEnv) at(t *testing.T, when time.Time) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), e.dbPath, store.Options{Now: func() time.Time { return when }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type result struct {
	stdout, stderr string
	err            error
}

// run executes `mfactl report ARGS` with -o format ("" for the default) over the test
// directory; tty makes stdout a terminal (colour stays off, as with NO_COLOR).
func (e *testEnv) run(t *testing.T, tty bool, format string, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	if tty {
		ios.SetTTY(false, true, false)
	}
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	f.DBPath, f.Now, f.Output = e.dbPath, func() time.Time { return testNow }, format
	cmd := NewCmd(f)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	if cerr := f.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	return result{out.String(), errOut.String(), err}
}

// ok runs the command and returns its stdout, failing the test on an error.
func (e *testEnv) ok(t *testing.T, format string, args ...string) string {
	t.Helper()
	r := e.run(t, false, format, args...)
	if r.err != nil {
		t.Fatalf("report %s -o %s: %v", strings.Join(args, " "), format, r.err)
	}
	if r.stderr != "" {
		t.Errorf("report %s: stderr %q", strings.Join(args, " "), r.stderr)
	}
	e.noSecret(t, r.stdout)
	return r.stdout
}

func (e *testEnv) noSecret(t *testing.T, out string) {
	t.Helper()
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(testSecret)
	for _, s := range []string{b32, strings.ToLower(b32), hex.EncodeToString(testSecret), string(testSecret)} {
		if strings.Contains(out, s) {
			t.Errorf("output holds the token secret (%s)", s)
		}
	}
}

func seq[T any](items ...T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, x := range items {
			if !yield(x, nil) {
				return
			}
		}
	}
}

func wantOutput(t *testing.T, name, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// checkUsageError asserts a usage error (exit 2) with the message.
func checkUsageError(t *testing.T, r result, msg string) {
	t.Helper()
	if cmdutil.ExitCode(r.err) != cmdutil.ExitUsage || r.err.Error() != msg {
		t.Errorf("error %v (exit %d), want usage error %q", r.err, cmdutil.ExitCode(r.err), msg)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q on a usage error", r.stdout)
	}
}
