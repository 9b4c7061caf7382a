package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
)

// TestRejectedFileOrder feeds the rejected-rows file the way the store calls it when it reads
// ahead on its own goroutine: rows are sent in batches before the earlier ones are processed,
// the directory's rejections arrive late. The file must list the rejected rows in input order,
// verbatim, under the original header, with mode 0600.
func TestRejectedFileOrder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rejected.csv")
	head := &headCapture{buf: []byte("\ufeffSerial Number;UPN;Secret Key;Time Interval;Manufacturer;Model\nx;y\n"), limit: 1}
	r, err := newRejectedFile(path, head, tokens.CSVOptions{Delimiter: ';'})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(line int) *tokens.Record {
		return &tokens.Record{Line: line, Fields: []string{fmt.Sprint("S", line), "u@x.com", "SECRET", "30", "M", "m"}}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the reader: lines 2..9, line 4 and 7 rejected by the file rules
		defer wg.Done()
		for line := 2; line <= 9; line++ {
			if line == 4 || line == 7 {
				r.reject(rec(line))
			} else {
				r.sendRow(rec(line))
			}
		}
	}()
	wg.Wait()
	// The store processed the first 3 sent rows (2, 3, 5) and rejected 3 and 5; then the rest.
	r.storeRejected(3)
	r.storeRejected(5)
	r.settle(3 - 1)
	r.storeRejected(9)
	if err := r.commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "Serial Number;UPN;Secret Key;Time Interval;Manufacturer;Model\n" +
		"S3;u@x.com;SECRET;30;M;m\nS4;u@x.com;SECRET;30;M;m\nS5;u@x.com;SECRET;30;M;m\n" +
		"S7;u@x.com;SECRET;30;M;m\nS9;u@x.com;SECRET;30;M;m\n"
	if string(b) != want {
		t.Errorf("rejected file:\n%s\nwant:\n%s", b, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestRejectedFileAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rejected.csv")
	r, err := newRejectedFile(path, &headCapture{buf: []byte("upn,serial number\n"), limit: 1}, tokens.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.reject(&tokens.Record{Line: 2, Fields: []string{"a", "b"}})
	r.abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("abort left %v", entries)
	}
}

// runImport runs `tokens import` on a directory in dir with the given streams and context.
func runImport(t *testing.T, ctx context.Context, ios *iostreams.IOStreams, dir string, quiet bool, args ...string) error {
	t.Helper()
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	f.DBPath = filepath.Join(dir, "mfactl.db")
	f.Quiet = quiet
	defer f.Close()
	cmd := newImportCmd(f)
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(ctx)
}

func writeTokens(t *testing.T, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("upn,serial number,secret key,time interval,manufacturer,model\n")
	for i := range n {
		// Distinct 20-byte secrets: Base32 of the row number padded into 32 characters.
		fmt.Fprintf(&b, "user%d@contoso.com,SN%06d,%s,30,Contoso,HardwareKey\n", i%1000, i, secretFor(i))
	}
	path := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// secretFor is a distinct valid 32-character Base32 secret for row i.
func secretFor(i int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	s := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	for k := 0; k < 6; k++ {
		s[len(s)-1-k] = alphabet[(i>>(5*k))&31]
	}
	return string(s)
}

func TestImportProgressBarOnlyOnATerminal(t *testing.T) {
	old := importProgressDelay
	importProgressDelay = 0
	t.Cleanup(func() { importProgressDelay = old })
	src := writeTokens(t, t.TempDir(), 5000)
	for _, tc := range []struct {
		name      string
		stderrTTY bool
		quiet     bool
		want      bool
	}{
		{"terminal", true, false, true},
		{"pipe", false, false, false},
		{"quiet terminal", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			ios.SetTTY(false, false, tc.stderrTTY)
			if err := runImport(t, context.Background(), ios, t.TempDir(), tc.quiet, src); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(errOut.String(), "importing"); got != tc.want {
				t.Errorf("progress bar shown: %v, want %v; stderr:\n%q", got, tc.want, errOut)
			}
			if strings.Contains(out.String(), "importing") {
				t.Errorf("progress on stdout: %q", out)
			}
			if !strings.Contains(out.String(), "imported       5000\n") {
				t.Errorf("summary: %q", out)
			}
		})
	}
}

// TestImportCancelled is Ctrl-C: the context is cancelled while the import runs; the error is
// context.Canceled (exit 130) and the directory holds none of the rows.
func TestImportCancelled(t *testing.T) {
	dir := t.TempDir()
	src := writeTokens(t, dir, 3000)
	ctx, cancel := context.WithCancel(context.Background())
	ios, _, _, errOut := iostreams.Test()
	// Cancel from the progress callback, after the first batch was written.
	old := importProgressDelay
	importProgressDelay = 0
	t.Cleanup(func() { importProgressDelay = old })
	ios.SetTTY(false, false, true)
	ios.ErrOut = cancelOnWrite{ios.ErrOut, cancel}
	err := runImport(t, ctx, ios, dir, false, src)
	if !errors.Is(err, context.Canceled) || cmdutil.ExitCode(err) != cmdutil.ExitInterrupted {
		t.Fatalf("err = %v (exit %d), want context.Canceled (exit 130)", err, cmdutil.ExitCode(err))
	}
	if want := "mfactl: import of " + src + " interrupted; nothing was written to the directory\n"; !strings.HasSuffix(errOut.String(), want) {
		t.Errorf("stderr ends %q, want %q", errOut.String()[max(0, errOut.Len()-200):], want)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "mfactl.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts, err := db.CountTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Errorf("tokens after a cancelled import: %v, want none", counts)
	}
	us, _ := db.ListUsers(context.Background())
	if len(us) != 0 {
		t.Errorf("users after a cancelled import: %d, want 0", len(us))
	}
}

// cancelOnWrite cancels when the progress bar first draws, i.e. mid-import.
type cancelOnWrite struct {
	w      io.Writer
	cancel func()
}

func (c cancelOnWrite) Write(p []byte) (int, error) {
	c.cancel()
	time.Sleep(time.Millisecond)
	return c.w.Write(p)
}

// TestImportWorkBar: on a directory that reports its work (Entra ID), the bar goes by the
// work's phases once it does, and stays off when stderr is not a terminal.
func TestImportWorkBar(t *testing.T) {
	for _, tty := range []bool{true, false} {
		ios, _, out, errOut := iostreams.Test()
		ios.SetTTY(false, false, tty)
		f := cmdutil.NewFactory(ios, func(string) string { return "" })
		p := newImportProgress(f, &countingReader{r: strings.NewReader("")}, 100, 0)
		p.update()
		p.work("importing into contoso.onmicrosoft.com", directory.Work{Phase: directory.WorkAssigning, Done: 0, Total: 10})
		p.work("importing into contoso.onmicrosoft.com", directory.Work{Phase: directory.WorkAssigning, Done: 3, Total: 10})
		p.update() // a late report of the bytes: they no longer show
		p.done()
		const want = "importing into contoso.onmicrosoft.com: 3/10 tokens assigned"
		if got := strings.Contains(errOut.String(), want); got != tty {
			t.Errorf("terminal %v: bar shown %v; stderr %q", tty, got, errOut)
		}
		if tty && strings.Count(errOut.String(), "importing into") == 0 {
			t.Errorf("stderr %q", errOut)
		}
		if out.Len() != 0 {
			t.Errorf("progress on stdout: %q", out)
		}
	}
}
