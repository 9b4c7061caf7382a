// Package usercmd holds the `mfactl users` commands, one file per verb.
package usercmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// NewCmd returns the `users` command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users <command>",
		Short: "Manage users, their MFA registration and app passwords",
		Long: `Manage the directory's users: add and import them, reset their MFA registration so they
register again, block and unblock them, and manage their app passwords and authenticator apps.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.ShowHelp,
	}
	cmd.AddCommand(
		newAddCmd(f),
		newImportCmd(f),
		newListCmd(f),
		newShowCmd(f),
		newDeleteCmd(f),
		newResetCmd(f),
		newBlockCmd(f),
		newUnblockCmd(f),
		newAppPasswordsCmd(f),
		newEnrollAppCmd(f),
	)
	return cmd
}
