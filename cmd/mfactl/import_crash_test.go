package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// crashRows is the size of the file killed mid-import: large enough that the import runs for a
// while and its transaction spills to the WAL, small enough for CI.
const crashRows = 40000

// runningImport is an mfactl import started in the background.
type runningImport struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan error // receives Wait's result once
	code   int
}

// startImport starts `mfactl tokens import file` in dir and waits until the import is writing:
// the WAL has grown past walBytes. It returns nil when the import finished first.
func startImport(t *testing.T, dir, file string, walBytes int64) *runningImport {
	t.Helper()
	r := &runningImport{cmd: mfactlProcess(t, dir, "tokens", "import", file), exited: make(chan error, 1)}
	r.cmd.Stderr = &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case err := <-r.exited:
			t.Logf("import finished before its WAL reached %d bytes (%v)", walBytes, err)
			return nil
		case <-deadline:
			r.cmd.Process.Kill()
			t.Fatal("import did not start writing in 2 minutes")
		case <-time.After(2 * time.Millisecond):
		}
		if st, err := os.Stat(filepath.Join(dir, "mfactl.db-wal")); err == nil && st.Size() >= walBytes {
			return r
		}
	}
}

// startStalledImport starts `mfactl tokens import -` in dir with the first rows of file on its
// standard input, which it keeps open, and waits until the import is writing: the WAL has grown
// past walBytes. The import cannot finish, since its input has not ended, so a signal sent then
// always lands in the middle of the import's transaction, however fast the machine.
func startStalledImport(t *testing.T, dir, file string, rows int, walBytes int64) *runningImport {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	head := bytes.Join(lines[:1+rows], nil) // the header and the first rows
	r := &runningImport{cmd: mfactlProcess(t, dir, "tokens", "import", "-"), exited: make(chan error, 1)}
	r.cmd.Stderr = &r.stderr
	in, err := r.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	go in.Write(head) // blocks while the import reads; fails harmlessly once it has exited
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case err := <-r.exited:
			t.Fatalf("the import exited with its input still open (%v); stderr:\n%s", err, &r.stderr)
		case <-deadline:
			r.cmd.Process.Kill()
			t.Fatalf("the import's WAL did not reach %d bytes in 2 minutes", walBytes)
		case <-time.After(2 * time.Millisecond):
		}
		if st, err := os.Stat(filepath.Join(dir, "mfactl.db-wal")); err == nil && st.Size() >= walBytes {
			return r
		}
	}
}

// signal sends sig and waits for the process to exit.
func (r *runningImport) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
		r.code = r.cmd.ProcessState.ExitCode()
	case <-time.After(time.Minute):
		r.cmd.Process.Kill()
		t.Fatalf("the import did not exit after %v", sig)
	}
}

// TestImportKill9LeavesAllOrNothing kills mfactl with SIGKILL in the middle of a large import,
// at several points, and checks that the directory then holds none or all of the file's
// tokens and passes PRAGMA integrity_check, and that the import can then run to completion.
func TestImportKill9LeavesAllOrNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL semantics are tested on unix")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens.csv")
	generateCSV(t, file, crashRows, 7, "")

	for i, walBytes := range []int64{256 << 10, 2 << 20, 6 << 20} {
		if r := startImport(t, dir, file, walBytes); r != nil {
			r.signal(t, syscall.SIGKILL)
		}
		db := openDirectory(t, dir)
		if err := db.IntegrityCheck(context.Background()); err != nil {
			t.Fatalf("kill %d (WAL %d bytes): %v", i, walBytes, err)
		}
		n := tokenCount(t, db)
		t.Logf("killed at a WAL of %d bytes or more: %d tokens", walBytes, n)
		if n != 0 && n != crashRows {
			t.Fatalf("kill %d (WAL %d bytes): the directory holds %d tokens, want 0 or %d", i, walBytes, n, crashRows)
		}
		// The first kill comes long before the commit: nothing may be there.
		if i == 0 && n != 0 {
			t.Fatalf("kill at a WAL of %d bytes left %d tokens, want 0", walBytes, n)
		}
		us, err := db.ListUsers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if (n == 0) != (len(us) == 0) {
			t.Fatalf("kill %d: %d tokens but %d users: users and tokens must commit together", i, n, len(us))
		}
		db.Close()
		if n == crashRows {
			break
		}
	}

	out, err := mfactlProcess(t, dir, "-q", "tokens", "import", file).CombinedOutput()
	if err != nil {
		t.Fatalf("import after the crashes: %v\n%s", err, out)
	}
	db := openDirectory(t, dir)
	if err := db.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tokenCount(t, db); n != crashRows {
		t.Fatalf("after a complete import: %d tokens, want %d", n, crashRows)
	}
}

// TestImportInterruptRollsBack is Ctrl-C: SIGINT in the middle of an import makes mfactl roll
// back and exit 130, leaving the directory without any of the file's tokens or users.
func TestImportInterruptRollsBack(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGINT is tested on unix")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens.csv")
	generateCSV(t, file, crashRows, 8, "")
	r := startStalledImport(t, dir, file, crashRows-1, 256<<10)
	r.signal(t, os.Interrupt)
	if r.code != 130 {
		t.Errorf("exit %d after SIGINT, want 130; stderr:\n%s", r.code, &r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "mfactl: error: interrupted") {
		t.Errorf("stderr %q: want the interruption reported", &r.stderr)
	}
	db := openDirectory(t, dir)
	if err := db.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tokenCount(t, db); n != 0 {
		t.Errorf("%d tokens after an interrupted import, want 0", n)
	}
	us, err := db.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 0 {
		t.Errorf("%d users after an interrupted import, want 0", len(us))
	}
	// The failure is audited, outside the rolled-back transaction.
	events, err := db.ListAudit(context.Background(), directory.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Command != "tokens import" || events[0].Result != "failure" ||
		!strings.Contains(events[0].Detail, "cancel") {
		t.Errorf("audit events %+v: want one failed tokens import, cancelled", events)
	}
}
