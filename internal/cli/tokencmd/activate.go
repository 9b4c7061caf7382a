package tokencmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newActivateCmd(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotImplemented("activate SERIAL [CODE]")
}
