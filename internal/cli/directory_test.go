package cli

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/iostreams"
)

// TestBusyDirectory: a write that waits longer than the busy timeout for another process's
// write lock exits 4 (not 1, which scripts read as a denial or bad data) with a hint; reads
// are not blocked.
func TestBusyDirectory(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "mfactl.db")
	runDB := func(args ...string) (int, string, string) {
		ios, _, out, errOut := iostreams.Test()
		f := cmdutil.NewFactory(ios, func(string) string { return "" })
		f.BusyTimeout = 100 * time.Millisecond
		code := Run(context.Background(), f, append([]string{"--db", dbPath}, args...))
		return code, out.String(), errOut.String()
	}
	if code, _, stderr := runDB("-q", "users", "add", "ada@contoso.com"); code != 0 {
		t.Fatalf("users add: exit %d: %s", code, stderr)
	}

	// Another process holds the write lock.
	other, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)

	code, stdout, stderr := runDB("users", "block", "ada@contoso.com", "--reason", "left")
	if code != 4 {
		t.Errorf("exit %d while another process writes, want 4", code)
	}
	want := "mfactl: error: blocking user ada@contoso.com: database is busy (another mfactl is writing); try again\n" +
		"mfactl: hint: another mfactl process is writing to the directory; try again when it has finished\n"
	if stdout != "" || stderr != want {
		t.Errorf("stdout %q\nstderr %q\nwant   %q", stdout, stderr, want)
	}

	if code, stdout, stderr := runDB("users", "list", "-o", "csv"); code != 0 || stdout == "" {
		t.Errorf("users list while another process writes: exit %d, %q %q", code, stdout, stderr)
	}
}
