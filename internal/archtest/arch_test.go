// Package archtest keeps the architecture of docs/design.md: the domain packages never depend on
// the command line, tables or the terminal, so they stay usable as a library and testable alone.
// Every package of the module must be named below with its layer; a new package that is not
// fails the test, so nobody adds one without deciding where it stands.
package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/mfactl/mfactl/"

// domain packages: the model, the rules and the use cases. They must stay off the terminal.
var domain = []string{
	"internal/tokens",
	"internal/pskc",
	"internal/users",
	"internal/report",
	"internal/store",
	"internal/secrets",
	"internal/tokenfile",
	"internal/auth",
	"internal/finder",
	"internal/directory",
	"internal/csvdialect",
	"internal/ident",
	"internal/graph",
	"internal/entra",
	"internal/entra/signin",
}

// outside the domain: the command line and its terminal layer, the binary, and tools and test
// support that are never part of the binary's domain.
var other = []string{
	"cmd/mfactl",
	"internal/archtest",
	"internal/benchtest",
	"internal/cli",
	"internal/cli/authcmd",
	"internal/cli/cmdutil",
	"internal/cli/directorycmd",
	"internal/cli/gendocs",
	"internal/cli/progress",
	"internal/cli/render",
	"internal/cli/reportcmd",
	"internal/cli/tokencmd",
	"internal/cli/usercmd",
	"internal/cli/view",
	"internal/conformancetest",
	"internal/entra/entrafake",
	"internal/entra/signin/idpfake",
	"internal/graph/graphfake",
	"internal/iostreams",
	"internal/store/cmd/importbench",
	"internal/tokens/tokenstest",
	"internal/tokens/tokenstest/cmd/csvbench",
}

var forbidden = []string{
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"github.com/olekukonko/tablewriter",
	"github.com/schollz/progressbar/v3",
	"golang.org/x/term",
	module + "internal/cli",
	module + "internal/iostreams",
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Fields(string(out))
}

func TestEveryPackageHasALayer(t *testing.T) {
	for _, pkg := range goList(t, module+"...") {
		name := strings.TrimPrefix(pkg, module)
		if !slices.Contains(domain, name) && !slices.Contains(other, name) {
			t.Errorf("package %s is in no layer: add it to domain or other in arch_test.go", name)
		}
	}
	for _, name := range append(slices.Clone(domain), other...) {
		if len(goList(t, "-find", module+name)) != 1 {
			t.Errorf("package %s is listed but does not exist", name)
		}
	}
}

func TestDomainPackagesStayOffTheTerminal(t *testing.T) {
	for _, name := range domain {
		for _, dep := range goList(t, "-deps", module+name) {
			for _, bad := range forbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s depends on %s", name, dep)
				}
			}
		}
	}
}
