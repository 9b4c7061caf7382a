package usercmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newEnrollAppCmd(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotImplemented("enroll-app UPN")
}
