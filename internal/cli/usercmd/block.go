package usercmd

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/users"
)

type blockOptions struct {
	f      *cmdutil.Factory
	cmd    *cobra.Command
	upn    string
	reason string
	format string
}

func newBlockCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &blockOptions{f: f}
	cmd := &cobra.Command{
		Use:   "block UPN",
		Short: "Block a user: every verification is denied",
		Long: `Block the user: from now on 'auth verify' denies them (FAILED_USER_BLOCKED), whatever code or
app password they offer, until 'users unblock'. Their tokens, authenticator apps and app
passwords are kept. Blocking a blocked user replaces the reason.

Prints the user's state; -o json prints {"upn", "state", "blocked_reason", "failed_attempts",
"locked", "changed"}.`,
		Example: `  $ mfactl users block helga@contoso.com --reason "left the company"`,
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.upn, err = upnArg(args[0]); err != nil {
				return err
			}
			if err := users.CheckText("--reason", opts.reason); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			opts.cmd = cmd
			return blockRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.reason, "reason", "", "why, shown in listings and in denied auth events")
	return cmd
}

func blockRun(ctx context.Context, opts *blockOptions) error {
	f := opts.f
	db, err := blockDirectory(ctx, f)
	if err != nil {
		return err
	}
	onEntra := cmdutil.IsEntra(db)
	u, changed, err := users.Block(ctx, db, opts.upn, opts.reason)
	if err != nil {
		return err
	}
	if err := renderUserState(f, opts.format, u, changed); err != nil {
		return err
	}
	if onEntra && opts.reason != "" {
		// Said even with --quiet: what was asked for was not done.
		fmt.Fprintf(f.IO.ErrOut, "mfactl: Microsoft Entra ID has no place for a block reason; the reason was not stored\n")
	}
	if !changed {
		if onEntra && !f.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "mfactl: user %s was already blocked; nothing changed\n", u.UPN)
			return nil
		}
		if !f.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "mfactl: user %s was already blocked for that reason; nothing changed\n", u.UPN)
		}
		return nil
	}
	return nil
}

// blockDirectory opens the directory for block and unblock: ExistingStore on SQLite and
// PostgreSQL, the tenant through Graph on Entra ID (its accountEnabled).
func blockDirectory(ctx context.Context, f *cmdutil.Factory) (users.BlockStore, error) {
	d, err := f.WriteDirectory(ctx)
	if err != nil {
		return nil, err
	}
	st, ok := d.(users.BlockStore)
	if !ok {
		return nil, fmt.Errorf("the directory %T cannot block users", d)
	}
	return st, nil
}

// userStateView is what block and unblock print: the user's sign-in state after the change.
type userStateView struct {
	UPN            string `json:"upn"`
	State          string `json:"state"`
	BlockedReason  string `json:"blocked_reason"`
	FailedAttempts int    `json:"failed_attempts"`
	Locked         bool   `json:"locked"`
	Changed        bool   `json:"changed"`
}

var userStateHeader = []string{"upn", "state", "blocked reason", "failed attempts", "locked", "changed"}

func renderUserState(f *cmdutil.Factory, format string, u directory.User, changed bool) error {
	v := userStateView{UPN: u.UPN, State: string(u.State), BlockedReason: u.BlockedReason,
		FailedAttempts: u.FailedAttempts, Locked: u.Locked, Changed: changed}
	row := []string{v.UPN, v.State, v.BlockedReason, strconv.Itoa(v.FailedAttempts), strconv.FormatBool(v.Locked), strconv.FormatBool(v.Changed)}
	return render.Rows(f.IO.Out, format, v, userStateHeader, [][]string{row})
}
