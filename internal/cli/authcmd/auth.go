// Package authcmd holds the `mfactl auth` commands: second-factor checks that record auth events.
package authcmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// NewCmd returns the `auth` command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth <command>",
		Short: "Verify second-factor codes and app passwords",
		Long: `Check a user's second factor the way a sign-in would: a code from a hardware token or an
authenticator app, or an app password. Every attempt is recorded in the authentication log.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.ShowHelp,
	}
	cmd.AddCommand(newVerifyCmd(f))
	return cmd
}
