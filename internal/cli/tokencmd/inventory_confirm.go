package tokencmd

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// confirmChange asks question on stderr and reads the answer from stdin, which must be a terminal:
// scripts pass --yes instead (a prompt nobody answers would hang them, and reading a "y" from
// a pipe by accident would delete data). It reports whether the answer was yes.
func confirmChange(f *cmdutil.Factory, yes bool, question, flagHint string) (bool, error) {
	if yes {
		return true, nil
	}
	if !f.IO.IsStdinTTY() {
		return false, cmdutil.Usagef("refusing to %s without confirmation: pass --yes", flagHint)
	}
	fmt.Fprintf(f.IO.ErrOut, "%s [y/N] ", question)
	line, err := bufio.NewReader(f.IO.In).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(f.IO.ErrOut)
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
