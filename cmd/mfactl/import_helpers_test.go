package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens/tokenstest"
)

// The helpers of the import and inventory tests (import_*_test.go).

// mfactlProcess returns the command for an mfactl process (the test binary, installed on PATH
// as "mfactl" by testscript.Main) working on the directory in dir.
func mfactlProcess(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("mfactl")
	if err != nil {
		t.Fatalf("mfactl is not on PATH (testscript.Main installs it): %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"MFACTL_DB=" + filepath.Join(dir, "mfactl.db"),
		"NO_COLOR=1",
	}
	cmd.Dir = dir
	return cmd
}

// inProcess runs one mfactl command line in this process against the directory in dir, with a
// fixed clock, and returns the exit status and the output.
func inProcess(t *testing.T, dir string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	f := cmdutil.NewFactory(ios, func(k string) string {
		if k == "MFACTL_DB" {
			return filepath.Join(dir, "mfactl.db")
		}
		return ""
	})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Now = func() time.Time { return now }
	code = cli.Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

// openDirectory opens the directory in dir as mfactl does, with its key file.
func openDirectory(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, "mfactl.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// tokenCount is the number of tokens in the directory.
func tokenCount(t *testing.T, db *store.DB) int {
	t.Helper()
	counts, err := db.CountTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// generateCSV writes tokenstest's n-row token file to path. With prefix, every serial number
// starts with it, so that two files do not share serials.
func generateCSV(t *testing.T, path string, n int, seed int64, prefix string) {
	t.Helper()
	var b bytes.Buffer
	if err := tokenstest.GenerateCSV(&b, n, seed); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	if prefix != "" {
		lines := strings.SplitAfter(string(data), "\n")
		for i := 1; i < len(lines); i++ {
			if f := strings.SplitN(lines[i], ",", 3); len(f) == 3 {
				lines[i] = f[0] + "," + prefix + f[1] + "," + f[2]
			}
		}
		data = []byte(strings.Join(lines, ""))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// examplesDir is the repository's examples folder.
func examplesDir() string {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "examples"))
	return dir
}
