package cmdutil

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Output formats.
const (
	FormatTable  = "table"
	FormatJSON   = "json"
	FormatCSV    = "csv"
	FormatText   = "text"
	FormatGitHub = "github"
)

// OutputFormat returns the -o value for cmd, checked against the formats the command
// supports; the first allowed format is the default. A value it does not support is a usage
// error, found before the command does any work.
func (f *Factory) OutputFormat(cmd *cobra.Command, allowed ...string) (string, error) {
	v := f.Output
	if v == "" {
		return allowed[0], nil
	}
	if !slices.Contains(allowed, v) {
		return "", Usagef("%s: unknown output format %q (want %s)", cmd.CommandPath(), v, strings.Join(allowed, ", "))
	}
	return v, nil
}

// ExactArgs is cobra.ExactArgs whose error is a usage error (exit 2).
func ExactArgs(n int) cobra.PositionalArgs { return usageArgs(cobra.ExactArgs(n)) }

// MinimumNArgs is cobra.MinimumNArgs whose error is a usage error (exit 2).
func MinimumNArgs(n int) cobra.PositionalArgs { return usageArgs(cobra.MinimumNArgs(n)) }

// RangeArgs is cobra.RangeArgs whose error is a usage error (exit 2).
func RangeArgs(min, max int) cobra.PositionalArgs { return usageArgs(cobra.RangeArgs(min, max)) }

// NoArgs is cobra.NoArgs whose error is a usage error (exit 2).
func NoArgs(cmd *cobra.Command, args []string) error { return usageArgs(cobra.NoArgs)(cmd, args) }

func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}

// ShowHelp is the RunE of a command that only groups others: it prints the help.
func ShowHelp(cmd *cobra.Command, args []string) error { return cmd.Help() }

// NotImplemented is a placeholder for a verb that is still being built: hidden from help and
// docs, and an error when run.
func NotImplemented(use string) *cobra.Command {
	return &cobra.Command{
		Use:    use,
		Short:  "Not implemented yet",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("%s is not implemented yet", cmd.CommandPath())
		},
	}
}
