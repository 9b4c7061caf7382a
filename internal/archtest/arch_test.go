// Package archtest keeps the architecture of STYLE.md: the domain packages never depend on the
// command line, tables or the terminal, so they stay usable as a library and testable alone.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

var domain = []string{
	"github.com/mfactl/mfactl/internal/tokens",
	"github.com/mfactl/mfactl/internal/pskc",
	"github.com/mfactl/mfactl/internal/users",
	"github.com/mfactl/mfactl/internal/report",
	"github.com/mfactl/mfactl/internal/store",
	"github.com/mfactl/mfactl/internal/secrets",
	"github.com/mfactl/mfactl/internal/tokenfile",
	"github.com/mfactl/mfactl/internal/auth",
}

var forbidden = []string{
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"github.com/olekukonko/tablewriter",
	"github.com/schollz/progressbar/v3",
	"golang.org/x/term",
	"github.com/mfactl/mfactl/internal/cli",
	"github.com/mfactl/mfactl/internal/iostreams",
}

func TestDomainPackagesStayOffTheTerminal(t *testing.T) {
	for _, pkg := range domain {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "cannot find package") || strings.Contains(string(out), "no required module provides") {
				continue // not written yet
			}
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range forbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
