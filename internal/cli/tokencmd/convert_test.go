package tokencmd

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// The converted CSV holds secrets: --out creates it readable by the owner only, replaces an
// existing file (whatever its mode) only on Commit, and leaves nothing behind on Abort.
func TestAtomicFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are POSIX")
	}
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	a, err := newAtomicFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("aborted\n")); err != nil {
		t.Fatal(err)
	}
	a.Abort()
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Errorf("after Abort the file holds %q, want the old content", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after Abort the directory holds %d files, want 1", len(entries))
	}

	a, err = newAtomicFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Errorf("before Commit the file holds %q, want the old content", b)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	a.Abort() // a no-op after Commit
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "new\n" {
		t.Errorf("after Commit the file holds %q (%v), want the new content", b, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %o, want 600", mode)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after Commit the directory holds %d files, want 1", len(entries))
	}
}

// Converted CSV for standard output is held until the run succeeds: in memory up to the limit,
// then in a temporary file, which is gone after Commit and after Abort.
func TestStdoutSinkHoldsThenSpills(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, commit := range []bool{true, false} {
		for _, limit := range []int{0, 10} {
			var out strings.Builder
			s := &stdoutSink{w: &out, heldOutput: heldOutput{limit: limit}}
			want := ""
			for i := range 5 {
				line := fmt.Sprintf("user%d@contoso.com,SN%d\n", i, i)
				if _, err := s.Write([]byte(line)); err != nil {
					t.Fatal(err)
				}
				want += line
			}
			if out.Len() != 0 {
				t.Fatalf("limit %d: %q written before Commit", limit, out.String())
			}
			if spilled := s.spill != nil; spilled != (limit == 10) {
				t.Errorf("limit %d: spilled %t", limit, spilled)
			}
			if commit {
				if err := s.Commit(); err != nil {
					t.Fatal(err)
				}
			} else {
				s.Abort()
				want = ""
			}
			if out.String() != want {
				t.Errorf("limit %d, commit %t: wrote %q, want %q", limit, commit, out.String(), want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("limit %d, commit %t: temporary files left: %v", limit, commit, left)
			}
		}
	}
}
