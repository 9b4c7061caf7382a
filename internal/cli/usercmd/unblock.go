package usercmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

func newUnblockCmd(f *cmdutil.Factory) *cobra.Command { return cmdutil.NotImplemented("unblock UPN") }
