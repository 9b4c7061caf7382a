package usercmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newAddCmd(f *cmdutil.Factory) *cobra.Command { return cmdutil.NotImplemented("add UPN") }
