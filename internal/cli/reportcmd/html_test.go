package reportcmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The page is written readable by all through a temporary file that does not stay behind; a
// run that fails leaves the previous page as it was.
func TestHTMLFile(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "report.html")
	if err := os.WriteFile(out, []byte("previous"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.run(t, false, "", "html", "--out", out); r.err != nil || r.stderr != "mfactl: wrote "+out+"\n" {
		t.Fatalf("report html: %v, stderr %q", r.err, r.stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(b), "<!DOCTYPE html>") || !strings.Contains(string(b), "<h1>MFA report</h1>") {
		t.Errorf("page starts %.80q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d files, want the page alone", len(entries))
	}

	// A report over a directory that does not exist fails and writes nothing.
	os.WriteFile(out, []byte("previous"), 0o644)
	e.dbPath = filepath.Join(dir, "typo.db")
	r := e.run(t, false, "", "html", "--out", out)
	if r.err == nil || !strings.Contains(r.err.Error(), "no directory database") {
		t.Errorf("error %v, want no directory database", r.err)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous" {
		t.Errorf("failed run changed the page: %.40q", b)
	}

	// A folder that does not exist is named as asked, not as the temporary file.
	e = newEnv(t)
	r = e.run(t, false, "", "html", "--out", filepath.Join(dir, "missing", "r.html"))
	if want := "writing " + filepath.Join(dir, "missing", "r.html") + ": no such file or directory"; r.err == nil || r.err.Error() != want {
		t.Errorf("error %v, want %s", r.err, want)
	}
}
