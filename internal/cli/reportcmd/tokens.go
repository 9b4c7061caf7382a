package reportcmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newTokensCmd(f *cmdutil.Factory) *cobra.Command { return cmdutil.NotImplemented("tokens") }
