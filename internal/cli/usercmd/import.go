package usercmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/tokens"
	"github.com/mfactl/mfactl/internal/users"
)

type userImportOptions struct {
	f         *cmdutil.Factory
	file      string
	format    string
	delimiter rune
	dryRun    bool
	update    bool
}

func newImportCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &userImportOptions{f: f}
	var delimiter, onDuplicate string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Add users from a CSV file",
		Long: `Add the users of a CSV file ("-" reads standard input) with the header
upn,display name,email,phone (any order; names match ignoring case, spaces, underscores and
hyphens, so "users list -o csv" can be imported again; other columns are ignored with a
warning). Phone numbers are written +CountryCode Number, e.g. +1 4255551234.

The whole file is checked first and the users are written in one transaction: any problem
and nothing is written (exit 1), with every problem listed as file:line: error: column: message
[code]. A user already in the directory with the same data is left alone; one with other data
is skipped unless --on-duplicate update.`,
		Example: `  $ mfactl users import users.csv
  $ mfactl users import --dry-run -o json users.csv
  $ mfactl users list -o csv | mfactl users import --on-duplicate update -`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
				return err
			}
			if opts.delimiter, err = tokens.ParseDelimiter(delimiter); err != nil {
				return cmdutil.Usagef("--delimiter: %v", err)
			}
			switch onDuplicate {
			case "skip":
			case "update":
				opts.update = true
			default:
				return cmdutil.Usagef("--on-duplicate: unknown policy %q (want skip or update)", onDuplicate)
			}
			opts.file = args[0]
			return userImportRun(cmd.Context(), cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.dryRun, "dry-run", false, "check everything against the directory, write nothing")
	fl.StringVar(&onDuplicate, "on-duplicate", "skip", "`policy` for a user already in the directory with other data: skip or update")
	fl.StringVar(&delimiter, "delimiter", ",", "CSV field separator: one `character`, or \"tab\"")
	return cmd
}

func userImportRun(ctx context.Context, cmd *cobra.Command, opts *userImportOptions) error {
	f := opts.f
	name := opts.file
	var in io.Reader = f.IO.In
	if name == "-" {
		name = "<stdin>"
	} else {
		file, err := os.Open(opts.file)
		if err != nil {
			return fmt.Errorf("opening users file: %w", err)
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil && st.IsDir() {
			return fmt.Errorf("opening users file: %s is a directory, not a file", opts.file)
		}
		in = file
	}
	im, err := users.OpenImport(in, users.ImportOptions{
		// The columns a listing adds are ignored without a warning, so that "users list -o
		// csv" imports again quietly.
		File:   users.FileOptions{Delimiter: opts.delimiter, Ignore: view.UserHeader[len(users.FileColumns):]},
		Name:   name,
		Update: opts.update,
		DryRun: opts.dryRun,
	})
	if err != nil {
		return err
	}
	db, err := f.ImportStore(ctx, opts.dryRun)
	if err != nil {
		return err
	}
	sum, err := im.Run(ctx, db)
	var result error
	var invalid *users.InvalidFileError
	switch {
	case errors.As(err, &invalid) && invalid.Header:
		result = cmdutil.WithHint(err, "the first line must name the columns upn,display name,email,phone")
	case errors.As(err, &invalid):
		result = cmdutil.WithHint(err, "fix the rows and import again")
	case err != nil:
		return err
	}

	if opts.format == cmdutil.FormatJSON {
		if err := render.JSON(f.IO.Out, sum); err != nil {
			return err
		}
	} else {
		for _, p := range sum.Problems {
			if p.IsError() || !f.Quiet {
				fmt.Fprintln(f.IO.ErrOut, p.Diagnostic(name))
			}
		}
		yesNo := map[bool]string{true: "yes", false: "no"}
		if err := render.KeyValues(f.IO.Out, [][2]string{
			{"file", sum.File},
			{"rows", fmt.Sprint(sum.Rows)},
			{"created", fmt.Sprint(sum.Created)},
			{"updated", fmt.Sprint(sum.Updated)},
			{"unchanged", fmt.Sprint(sum.Unchanged)},
			{"skipped", fmt.Sprint(sum.Skipped)},
			{"rejected", fmt.Sprint(sum.Rejected)},
			{"dry run", yesNo[sum.DryRun]},
		}); err != nil {
			return err
		}
	}
	if opts.dryRun && result == nil && !f.Quiet {
		fmt.Fprintln(f.IO.ErrOut, "mfactl: dry run: nothing was written to the directory")
	}
	return result
}
