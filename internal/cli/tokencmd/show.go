package tokencmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newShowCmd(f *cmdutil.Factory) *cobra.Command { return cmdutil.NotImplemented("show SERIAL") }
