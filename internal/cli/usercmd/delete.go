package usercmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/users"
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
	plan, err := users.PlanDelete(ctx, db, opts.upns)
	if err != nil {
		return err
	}
	if !opts.yes {
		names := make([]string, len(plan.Users))
		for i, u := range plan.Users {
			names[i] = u.UPN
		}
		also := ""
		if plan.AuthApps > 0 {
			also = fmt.Sprintf(", %d authenticator apps are removed", plan.AuthApps)
		}
		q := fmt.Sprintf("Delete %s (%d hardware tokens go back to stock, %d app passwords are deleted%s)?",
			strings.Join(names, ", "), plan.Tokens, plan.AppPasswords, also)
		ok, err := f.Confirm(q, opts.yes, "delete users")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("deleting users: not confirmed; nothing was deleted")
		}
	}
	deleted, err := plan.Execute(ctx, db)
	for _, u := range deleted {
		f.Note("deleted user %s", u.UPN)
	}
	return err
}
