package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// ExitCodesText describes the exit codes, generated from the one table in cmdutil.
func ExitCodesText() string {
	var b strings.Builder
	b.WriteString("mfactl exits with one of these codes, so scripts can tell outcomes apart:\n\n")
	for _, c := range cmdutil.ExitCodes {
		fmt.Fprintf(&b, "  %-4d %s\n", c.Code, c.Meaning)
	}
	b.WriteString(`
Errors are printed once to standard error as "mfactl: error: ...", followed by
"mfactl: hint: ..." where a fix is known. Standard output carries data only.`)
	return b.String()
}

// newExitCodesTopic is a help topic: `mfactl help exit-codes`.
func newExitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes and what they mean",
		Long:  ExitCodesText(),
	}
}
