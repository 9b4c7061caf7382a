package usercmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
)

type deleteOptions struct {
	f    *cmdutil.Factory
	upns []string
	yes  bool
}

func newDeleteCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &deleteOptions{f: f}
	cmd := &cobra.Command{
		Use:   "delete UPN...",
		Short: "Remove users from the directory",
		Long: `Delete users. Their hardware tokens go back to stock (available, activation cleared); their
authenticator apps and app passwords are deleted with them. Auth and audit events are history
and are kept.

Every user must exist, or nothing is deleted. On a terminal it asks for confirmation;
otherwise --yes is required.`,
		Example: `  $ mfactl users delete helga@contoso.com
  $ mfactl users delete --yes helga@contoso.com lee.gu@contoso.com`,
		Args: cmdutil.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.upns = args
			return deleteRun(cmd.Context(), cmd, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "delete without asking for confirmation")
	return cmd
}

func deleteRun(ctx context.Context, cmd *cobra.Command, opts *deleteOptions) error {
	f := opts.f
	if err := f.CanConfirm(opts.yes, "delete users"); err != nil {
		return err
	}
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	// Look every user up first, so that a typo deletes nobody and the question says what goes.
	var found []directory.User
	owned := map[string]int{}         // hardware tokens per user
	tokens, apps, authApps := 0, 0, 0 // authApps: authenticator apps, which go with their user
	for _, upn := range opts.upns {
		u, err := db.GetUser(ctx, upn)
		if err != nil {
			// A refusal is audited, as tokens delete does: attempts matter to the reader.
			err = fmt.Errorf("deleting users: %w; nothing was deleted", err)
			_ = db.RecordRefusal(ctx, upn, err)
			return err
		}
		if _, dup := owned[directory.Key(u.UPN)]; dup {
			continue
		}
		ts, err := db.ListTokens(ctx, directory.TokenFilter{UPN: u.UPN})
		if err != nil {
			return fmt.Errorf("deleting users: %w", err)
		}
		found = append(found, u)
		owned[directory.Key(u.UPN)] = len(ts)
		tokens += len(ts)
		apps += u.AppPasswords
		authApps += u.Methods - len(ts)
	}
	if !opts.yes {
		names := make([]string, len(found))
		for i, u := range found {
			names[i] = u.UPN
		}
		also := ""
		if authApps > 0 {
			also = fmt.Sprintf(", %d authenticator apps are removed", authApps)
		}
		q := fmt.Sprintf("Delete %s (%d hardware tokens go back to stock, %d app passwords are deleted%s)?",
			strings.Join(names, ", "), tokens, apps, also)
		ok, err := f.Confirm(q, opts.yes, "delete users")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("deleting users: not confirmed; nothing was deleted")
		}
	}
	for _, u := range found {
		if err := db.DeleteUser(ctx, u.UPN); err != nil {
			return fmt.Errorf("deleting user %s: %w", u.UPN, err)
		}
		f.Note("deleted user %s", u.UPN)
	}
	return nil
}
