package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/iostreams"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	code = Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"nosuch"}, 2, "mfactl: error: unknown command \"nosuch\" for \"mfactl\"\nRun 'mfactl --help' for usage.\n"},
		{[]string{"version", "--nosuch"}, 2, "mfactl: error: unknown flag: --nosuch\nRun 'mfactl version --help' for usage.\n"},
		{[]string{"version", "extra"}, 2, "mfactl: error: unknown command \"extra\" for \"mfactl version\"\nRun 'mfactl version --help' for usage.\n"},
		{[]string{"completion"}, 2, "mfactl: error: accepts 1 arg(s), received 0\nRun 'mfactl completion --help' for usage.\n"},
		{[]string{"completion", "tcsh"}, 2, "mfactl: error: invalid argument \"tcsh\" for \"mfactl completion\"\nRun 'mfactl completion --help' for usage.\n"},
		{[]string{"tokens", "validate"}, 2, "mfactl: error: requires at least 1 arg(s), only received 0\nRun 'mfactl tokens validate --help' for usage.\n"},
		{[]string{"tokens", "validate", "-o", "yaml", "x.csv"}, 2, "mfactl: error: mfactl tokens validate: unknown output format \"yaml\" (want text, json, github)\nRun 'mfactl tokens validate --help' for usage.\n"},
		{[]string{"tokens", "validate", "--delimiter", ";;", "x.csv"}, 2, "mfactl: error: --delimiter: want one character other than a quote or newline, or \"tab\", not \";;\"\nRun 'mfactl tokens validate --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if stderr != tt.stderr {
				t.Errorf("stderr\n%q\nwant\n%q", stderr, tt.stderr)
			}
		})
	}
}

func TestVersionAndHelpNeedNoDatabase(t *testing.T) {
	// Point the database and key file at a path that cannot be created: the commands that
	// must not open them still succeed.
	for _, args := range [][]string{{"version"}, {"--help"}, {"help", "exit-codes"}, {"completion", "bash"}, {"tokens", "--help"}} {
		code, out, _ := run(t, append([]string{"--db", "/nonexistent/dir/x.db", "--key-file", "/nonexistent/k"}, args...)...)
		if code != 0 || out == "" {
			t.Errorf("%v: exit %d, stdout %d bytes", args, code, len(out))
		}
	}
	_, out, _ := run(t, "help", "exit-codes")
	for _, want := range []string{"0    success", "2    usage error", "3    partial success", "130  interrupted"} {
		if !strings.Contains(out, want) {
			t.Errorf("help exit-codes lacks %q:\n%s", want, out)
		}
	}
}

// TestHelpRules walks the command tree and keeps the help text to the house rules.
func TestHelpRules(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	root := NewRootCmd(cmdutil.NewFactory(ios, func(string) string { return "" }))
	example := regexp.MustCompile(`^  (\$|PS>) .*\bmfactl `)
	walk(root, func(c *cobra.Command) {
		name := c.CommandPath()
		if c.Hidden {
			return
		}
		if c.Short == "" {
			t.Errorf("%s: no Short", name)
			return
		}
		if r := []rune(c.Short)[0]; !unicode.IsUpper(r) || strings.HasSuffix(c.Short, ".") {
			t.Errorf("%s: Short %q must start with a capital and have no period", name, c.Short)
		}
		if c.Runnable() && c.HasParent() && c.Parent().HasParent() || c.Name() == "version" {
			if c.Example == "" {
				t.Errorf("%s: runnable command without Example", name)
			}
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if line != "" && !example.MatchString(line) {
				t.Errorf("%s: example line %q must look like '  $ mfactl ...'", name, line)
			}
		}
	})
}

func TestDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateDocs(dir); err != nil {
		t.Fatal(err)
	}
	checked := filepath.Join("..", "..", "docs")
	if out, err := exec.Command("diff", "-r", filepath.Join(dir, "cli"), filepath.Join(checked, "cli")).CombinedOutput(); err != nil {
		t.Errorf("docs/cli is stale; run: go run ./internal/cli/gendocs\n%s", out)
	}
	if out, err := exec.Command("diff", "-r", filepath.Join(dir, "man"), filepath.Join(checked, "man")).CombinedOutput(); err != nil {
		t.Errorf("docs/man is stale; run: go run ./internal/cli/gendocs\n%s", out)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "exit-codes.md"))
	want, _ := os.ReadFile(filepath.Join(checked, "exit-codes.md"))
	if !bytes.Equal(got, want) {
		t.Errorf("docs/exit-codes.md is stale; run: go run ./internal/cli/gendocs")
	}
}
