// Package directorycmd holds the `mfactl directory` commands: describe the directory and copy
// it between backends.
package directorycmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// NewCmd returns the `directory` command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "directory <command>",
		Short: "Describe the directory and copy it between backends",
		Long: `Describe where the directory lives and what it holds, and copy a whole directory from one
backend to another: a SQLite file to a PostgreSQL database when a team outgrows one machine, and
back, or between two files or two databases.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.ShowHelp,
	}
	cmd.AddCommand(
		newInfoCmd(f),
		newCopyCmd(f),
	)
	return cmd
}
