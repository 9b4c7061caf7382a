package tokencmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newUnassignCmd(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotImplemented("unassign SERIAL")
}
