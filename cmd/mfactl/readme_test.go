package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/cli"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/iostreams"
)

// TestReadmeSamples runs the README's console samples that need no directory (`mfactl tokens
// validate` of the files in examples/) and compares what they print, and the `echo $?` after
// them, with the README, so the samples cannot drift from the real messages.
func TestReadmeSamples(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	f, err := os.Open(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type sample struct {
		line int
		args []string
		want []string
		exit string // the line after `$ echo $?`, when there is one
	}
	var samples []*sample
	var cur *sample
	inConsole, afterEcho := false, false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "```console":
			inConsole = true
		case strings.HasPrefix(line, "```"):
			inConsole, cur = false, nil
		case !inConsole:
		case line == "$ echo $?":
			afterEcho = true
		case afterEcho:
			if cur != nil {
				cur.exit = line
			}
			afterEcho, cur = false, nil
		case strings.HasPrefix(line, "$ "):
			cur = nil
			if args := strings.Fields(line[2:]); len(args) > 3 && args[0] == "mfactl" && args[1] == "tokens" && args[2] == "validate" && !strings.Contains(line, "#") {
				cur = &sample{line: n, args: args[1:]}
				samples = append(samples, cur)
			}
		case cur != nil:
			cur.want = append(cur.want, line)
		}
	}
	if len(samples) < 2 {
		t.Fatalf("found %d validate samples in README.md, want at least 2", len(samples))
	}
	t.Chdir(root)
	for _, s := range samples {
		ios, _, out, errOut := iostreams.Test()
		code := cli.Run(context.Background(), cmdutil.NewFactory(ios, func(string) string { return "" }), s.args)
		got := strings.TrimRight(out.String()+errOut.String(), "\n")
		if want := strings.Join(s.want, "\n"); got != want {
			t.Errorf("README.md:%d: mfactl %s prints\n%s\nthe README shows\n%s", s.line, strings.Join(s.args, " "), got, want)
		}
		if s.exit != "" && s.exit != strconv.Itoa(code) {
			t.Errorf("README.md:%d: exit status %d, the README shows %s", s.line, code, s.exit)
		}
	}
}
