// Package reportcmd holds the `mfactl report` commands, one file per report.
package reportcmd

import (
	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// NewCmd returns the `report` command and its reports.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report <command>",
		Short: "Report on usage, registration, token stock and admin changes",
		Long: `Print reports from the directory as tables, CSV or JSON (-o): the authentication log and its
trends, who has registered which methods, the token inventory and the tokens whose clock drifts,
and the audit trail of admin changes; or sum them up in one self-contained HTML page for
managers and auditors (report html).

Reports change nothing. They read an existing directory (--db or MFACTL_DB; one that does not
exist is an error, not an empty report) and need no key file, since no report holds a secret;
only 'report audit --verify' reads the master key, to check the audit chain.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.ShowHelp,
	}
	cmd.AddCommand(
		newUsageCmd(f),
		newRegistrationCmd(f),
		newTokensCmd(f),
		newAuditCmd(f),
		newHTMLCmd(f),
		newDriftCmd(f),
	)
	return cmd
}
