package reportcmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newRegistrationCmd(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotImplemented("registration")
}
