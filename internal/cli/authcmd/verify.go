package authcmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newVerifyCmd(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotImplemented("verify UPN [CODE]")
}
