// Package conformancetest finds the acceptance data that is kept beside the repository, in
// ../shared/conformance (PSKC corpus, Azure CSV cases, OTP vectors), for the tests of every
// package. The data is written independently of the code; see docs/design.md.
package conformancetest

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the absolute path of ../shared/conformance/<elem...> as seen from the module
// root, whether or not it exists (fuzz seeds use it that way).
func Path(elem ...string) string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("conformancetest: no go.mod above the test's directory")
		}
		dir = parent
	}
	return filepath.Join(append([]string{filepath.Dir(dir), "shared", "conformance"}, elem...)...)
}

// Dir returns Path(elem...) when it exists. When it does not, the test is skipped with a
// message outside CI; under CI (CI=true) it fails instead, so that acceptance tests cannot
// vanish from a run because the data was not laid beside the checkout.
func Dir(t testing.TB, elem ...string) string {
	t.Helper()
	p := Path(elem...)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance data missing under CI: %v", err)
		}
		t.Skipf("conformance data not found at %s (it lives in shared/ beside the repository); under CI=true this fails", p)
	}
	return p
}
