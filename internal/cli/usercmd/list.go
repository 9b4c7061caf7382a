package usercmd

import (
	"context"
	"fmt"
	"iter"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
)

type listOptions struct {
	f      *cmdutil.Factory
	format string
}

func newListCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &listOptions{f: f}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the users in the directory",
		Long: `List the directory's users, ordered by UPN, with their state and OATH methods: methods counts
hardware tokens plus authenticator apps (at most 5), tokens_activated and tokens_pending
(assigned, not yet activated) the hardware tokens, app_passwords the app passwords.

-o json prints an array of objects (upn, display_name, email, phone, state, must_register,
methods, tokens_activated, tokens_pending, app_passwords); -o csv the same columns, the first
four named as "users import" reads them.`,
		Example: `  $ mfactl users list
  $ mfactl users list -o json
  $ mfactl users list -o csv > users.csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			return listRun(cmd.Context(), opts)
		},
	}
	return cmd
}

// userStream is a directory that yields its users one by one.
type userStream interface {
	Users(ctx context.Context) iter.Seq2[directory.User, error]
}

func listRun(ctx context.Context, opts *listOptions) error {
	f := opts.f
	db, err := f.ReadDirectory(ctx)
	if err != nil {
		return err
	}
	w := render.NewStream(f.IO.Out, opts.format, view.UserHeader)
	users := func(yield func(directory.User, error) bool) {
		us, err := db.ListUsers(ctx)
		for _, u := range us {
			if !yield(u, nil) {
				return
			}
		}
		if err != nil {
			yield(directory.User{}, err)
		}
	}
	// The SQL backends stream the users from a cursor; keep that where the backend can.
	if s, ok := db.(userStream); ok {
		users = s.Users(ctx)
	}
	for u, err := range users {
		if err != nil {
			return fmt.Errorf("listing users: %w", err)
		}
		v := view.NewUser(u)
		if err := w.Add(v, v.Cells()); err != nil {
			return err
		}
	}
	return w.Close()
}
