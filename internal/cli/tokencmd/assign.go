package tokencmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
)

type assignOptions struct {
	f      *cmdutil.Factory
	serial string
	upn    string
	force  bool
}

func newAssignCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &assignOptions{f: f}
	cmd := &cobra.Command{
		Use:   "assign SERIAL UPN",
		Short: "Hand a token to a user",
		Long: `Assign a token to a user of the directory; its status becomes assigned until it is activated.

A token belongs to at most one user: moving a token that is assigned to someone else needs
--force, which also clears its activation (the move is audited). A user holds at most 5 OATH
methods; a disabled token cannot be assigned. Assigning a token to its owner changes nothing.`,
		Example: `  $ mfactl tokens assign GALT2100400 adele.vance@contoso.com
  $ mfactl tokens assign --force GALT2100400 alex.wilber@contoso.com`,
		Args: cmdutil.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.serial, err = textArg("serial number", args[0], false); err != nil {
				return err
			}
			if opts.upn, err = textArg("UPN", args[1], false); err != nil {
				return err
			}
			return assignRun(cmd.Context(), cmd, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.force, "force", false, "move the token even when it is assigned to another user")
	return cmd
}

func assignRun(ctx context.Context, cmd *cobra.Command, opts *assignOptions) error {
	f := opts.f
	db, err := f.WriteDirectory(ctx)
	if err != nil {
		return err
	}
	previous, err := db.AssignToken(ctx, opts.serial, opts.upn, opts.force, 0)
	if err == nil && previous != "" && directory.Key(previous) == directory.Key(opts.upn) {
		f.Note("token %s is already assigned to %s", opts.serial, previous)
		return nil
	}
	if err != nil {
		return assignError(opts, err, cmdutil.IsEntra(db))
	}
	if previous != "" {
		f.Note("moved token %s from %s to %s", opts.serial, previous, opts.upn)
	} else {
		f.Note("assigned token %s to %s", opts.serial, opts.upn)
	}
	return nil
}

func assignError(opts *assignOptions, err error, onEntra bool) error {
	err = fmt.Errorf("assigning token %s: %w", opts.serial, err)
	var nf *directory.NotFoundError
	switch {
	case onEntra && errors.As(err, &nf) && nf.Kind == "user":
		return cmdutil.WithHint(err, "users come from the tenant: create the user in Entra ID first")
	case errors.As(err, &nf) && nf.Kind == "user":
		return cmdutil.WithHint(err, fmt.Sprintf("add the user first: mfactl users add %s", opts.upn))
	case errors.Is(err, directory.ErrTokenDisabled):
		return err // --force would not help: the message says to enable it
	case errors.Is(err, directory.ErrConflict) && !opts.force:
		return cmdutil.WithHint(err, "unassign it first, or pass --force to move it")
	}
	return err
}
