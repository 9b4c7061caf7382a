package archtest

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// outsideDoc is the name of the product contract that lives outside the repository. The project
// stands alone: its code, docs, scripts and help text state a rule or point to docs/*.md, never
// to that document. The word is built here so that this file does not name it.
var outsideDoc = regexp.MustCompile(`\b` + "S" + `PEC\b`)

// standaloneAllowed are the files allowed to name the outside document: none. Each entry would
// be a path.Match pattern relative to the module root.
var standaloneAllowed = []string{}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// trackedFiles lists the files git tracks under root, relative to it with slashes; without git
// it walks the tree, skipping .git.
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		return files
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return files
}

func allowedToNameOutsideDoc(file string) bool {
	return slices.ContainsFunc(standaloneAllowed, func(pattern string) bool {
		ok, _ := path.Match(pattern, file)
		return ok
	})
}

func TestNoReferenceToOutsideDoc(t *testing.T) {
	root := moduleRoot(t)
	files := trackedFiles(t, root)
	if len(files) == 0 {
		t.Fatal("no files found under the module root")
	}
	for _, file := range files {
		if allowedToNameOutsideDoc(file) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		for i, line := range strings.Split(string(data), "\n") {
			if outsideDoc.MatchString(line) {
				t.Errorf("%s:%d names a document outside the repository; point to docs/*.md or state the rule: %s",
					file, i+1, strings.TrimSpace(line))
			}
		}
	}
}

func TestOutsideDocPattern(t *testing.T) {
	word := "S" + "PEC"
	for line, want := range map[string]bool{
		"see " + word + " section 5":    true,
		"(" + word + ".md)":             true,
		word + "IFIC rules":             false,
		"a " + strings.ToLower(word):    false,
		"x" + word:                      false,
		"the spec string of a tbl call": false,
	} {
		if got := outsideDoc.MatchString(line); got != want {
			t.Errorf("match %q = %v, want %v", line, got, want)
		}
	}
}
