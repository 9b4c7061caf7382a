package tokencmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newAssignCmd(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotImplemented("assign SERIAL UPN")
}
