package usercmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newAppPasswordsCmd(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotImplemented("app-passwords")
}
