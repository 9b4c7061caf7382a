package tokencmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newConvertCmd(f *cmdutil.Factory) *cobra.Command { return cmdutil.NotImplemented("convert FILE") }
