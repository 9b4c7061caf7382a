// Package tokencmd holds the `mfactl tokens` commands, one file per verb.
package tokencmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// NewCmd returns the `tokens` command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens <command>",
		Short: "Validate, import, assign and activate hardware tokens",
		Long: `Work with OATH TOTP hardware tokens: check vendor seed files (Azure OATH CSV or PSKC XML),
import them into the directory, hand them to users and activate them.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.ShowHelp,
	}
	cmd.AddCommand(
		newValidateCmd(f, nil),
		newConvertCmd(f),
		newImportCmd(f),
		newListCmd(f),
		newShowCmd(f),
		newFindCmd(f),
		newAssignCmd(f),
		newUnassignCmd(f),
		newActivateCmd(f),
		newDisableCmd(f),
		newEnableCmd(f),
		newDeleteCmd(f),
	)
	return cmd
}
