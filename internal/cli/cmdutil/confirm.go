package cmdutil

import (
	"bufio"
	"fmt"
	"strings"
)

// CanConfirm returns the usage error of a change that needs a confirmation nobody can give:
// stdin is not a terminal and --yes was not passed. Scripts pass --yes instead (a prompt
// nobody answers would hang them, and reading a "y" from a pipe by accident would delete
// data). action completes "refusing to ... without confirmation".
func (f *Factory) CanConfirm(yes bool, action string) error {
	if !yes && !f.IO.IsStdinTTY() {
		return Usagef("refusing to %s without confirmation: pass --yes", action)
	}
	return nil
}

// Confirm asks question on stderr and reads the answer from stdin, which must be a terminal
// (CanConfirm), unless yes (--yes) already said so. Only y or yes (any case) is a yes;
// anything else, or the end of input, is no.
func (f *Factory) Confirm(question string, yes bool, action string) (bool, error) {
	if yes {
		return true, nil
	}
	if err := f.CanConfirm(yes, action); err != nil {
		return false, err
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

// Note prints a confirmation of a change on stderr (stdout is for data) unless --quiet.
func (f *Factory) Note(format string, args ...any) {
	if !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, format+"\n", args...)
	}
}
