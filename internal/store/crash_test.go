package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// crashHelperEnv makes the test binary act as an importing process for TestImportCrash.
const crashHelperEnv = "MFACTL_STORE_CRASH_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashHelperEnv); dir != "" {
		crashHelper(dir)
		return
	}
	os.Exit(runBackends(m))
}

// crashHelper imports rows and reports its progress on stdout until it is killed.
func crashHelper(dir string) {
	rows, _ := strconv.Atoi(os.Getenv("MFACTL_STORE_CRASH_ROWS"))
	d, err := Open(context.Background(), filepath.Join(dir, "mfactl.db"), Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	_, err = d.ImportTokens(context.Background(), genSource(0, rows, rows), ImportOptions{
		Progress: func(n int) { fmt.Println(n) },
	})
	fmt.Println("done:", err)
	os.Exit(0)
}

// TestImportCrash kills an importing process (SIGKILL) in the middle of its transaction:
// afterwards the directory holds what it held before, all or nothing, and passes
// PRAGMA integrity_check. The large import also exercises the dropped fingerprint index.
func TestImportCrash(t *testing.T) {
	sqliteOnly(t, "kills a process writing the SQLite file; PostgreSQL rolls back a dead session's transaction itself")
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL semantics")
	}
	if testing.Short() {
		t.Skip("spawns an importing process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	d := openTest(t, dir, Options{})
	if _, err := d.ImportTokens(ctx, genSource(10_000_000, 10_000_010, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	before := 10

	const rows = 80_000
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir, "MFACTL_STORE_CRASH_ROWS="+strconv.Itoa(rows))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once the import is past the point where the index is dropped (bulkMinRows).
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("helper: %s", sc.Text())
		}
		if n > int(bulkMinRows)+1000 {
			cmd.Process.Kill()
			killed = true
			break
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatal("the import finished before it could be killed")
	}

	d2 := openTest(t, dir, Options{})
	start := time.Now()
	if err := d2.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d2, "tokens"); n != before {
		t.Errorf("%d tokens after the crash, want the %d from before", n, before)
	}
	if n := count(t, d2, "users"); n != 0 {
		t.Errorf("%d users after the crash, want 0", n)
	}
	if !hasFPIndex(t, d2) {
		t.Error("fingerprint index missing after the crash")
	}
	t.Logf("recovered and checked in %v", time.Since(start))
}
