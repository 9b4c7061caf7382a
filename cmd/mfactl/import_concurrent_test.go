package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// concurrentRows is the size of each of the two files imported at the same time.
const concurrentRows = 20000

// TestConcurrentImports runs two mfactl processes importing two different files into one
// directory at the same time: each succeeds or fails with the "busy" error (exit 4), at least one
// succeeds, the directory holds exactly the files that succeeded and passes the integrity
// check. It runs on a fresh directory too, where both processes also race to create the
// database and its master key.
func TestConcurrentImports(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		name := "existing directory"
		if fresh {
			name = "fresh directory"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
			generateCSV(t, a, concurrentRows, 1, "")
			generateCSV(t, b, concurrentRows, 2, "B")
			if !fresh {
				if out, err := mfactlProcess(t, dir, "-q", "users", "add", "first@contoso.com").CombinedOutput(); err != nil {
					t.Fatalf("creating the directory: %v\n%s", err, out)
				}
			}
			var wg sync.WaitGroup
			codes := make([]int, 2)
			stderrs := make([]bytes.Buffer, 2)
			for i, file := range []string{a, b} {
				cmd := mfactlProcess(t, dir, "tokens", "import", file)
				cmd.Stderr = &stderrs[i]
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := cmd.Run(); err != nil {
						codes[i] = -1
						if ee, ok := err.(*exec.ExitError); ok {
							codes[i] = ee.ExitCode()
						}
					}
				}()
			}
			wg.Wait()
			want := 0
			for i := range codes {
				switch {
				case codes[i] == 0:
					want += concurrentRows
				case codes[i] == 4 && strings.Contains(stderrs[i].String(), "database is busy"):
					t.Logf("import %d: %s", i, strings.TrimSpace(stderrs[i].String()))
				default:
					t.Errorf("import %d: exit %d, want 0, or 4 with a busy error; stderr:\n%s", i, codes[i], &stderrs[i])
				}
			}
			if want == 0 {
				t.Fatal("neither import succeeded")
			}
			db := openDirectory(t, dir)
			if err := db.IntegrityCheck(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := tokenCount(t, db); n != want {
				t.Errorf("the directory holds %d tokens, want %d", n, want)
			}
		})
	}
}
