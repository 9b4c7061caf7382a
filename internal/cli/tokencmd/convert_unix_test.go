//go:build !windows

package tokencmd

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// File modes are POSIX, and syscall.Umask does not exist on Windows.

// The converted CSV holds secrets: --out creates it readable by the owner only, replaces an
// existing file (whatever its mode) only on Commit, and leaves nothing behind on Abort.
func TestAtomicFile(t *testing.T) {
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
