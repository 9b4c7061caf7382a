// Package cli is mfactl's command tree: cobra commands that parse flags, call the domain
// packages and render the results. Main is the whole program.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/authcmd"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/reportcmd"
	"github.com/mfactl/mfactl/internal/cli/tokencmd"
	"github.com/mfactl/mfactl/internal/cli/usercmd"
	"github.com/mfactl/mfactl/internal/iostreams"
)

// Main runs mfactl with the process's arguments and streams and returns the exit status.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	f := cmdutil.NewFactory(iostreams.System(), os.Getenv)
	return Run(ctx, f, os.Args[1:])
}

// Run executes one command line with the given factory and returns the exit status. Errors are
// printed once, here, as "mfactl: error: ..." with a hint where one is known.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing the directory: %w", cerr)
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", context.Canceled)
	}
	if err != nil && isCobraUsageError(err) {
		err = &cmdutil.UsageError{Err: err}
	}
	err = f.ExplainError(err)
	printError(f.IO.ErrOut, cmd, err)
	return cmdutil.ExitCode(err)
}

// isCobraUsageError recognises the errors cobra itself returns for unknown commands; it has no
// typed error for them.
func isCobraUsageError(err error) bool {
	var usage *cmdutil.UsageError
	if errors.As(err, &usage) {
		return false
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown shorthand flag") ||
		strings.HasPrefix(msg, "unknown flag")
}

func printError(w io.Writer, cmd *cobra.Command, err error) {
	if err == nil || errors.Is(err, cmdutil.ErrSilent) || errors.Is(err, cmdutil.ErrPartial) {
		return
	}
	fmt.Fprintf(w, "mfactl: error: %v\n", err)
	var hint *cmdutil.HintError
	if errors.As(err, &hint) && hint.Hint != "" {
		fmt.Fprintf(w, "mfactl: hint: %s\n", hint.Hint)
	}
	var usage *cmdutil.UsageError
	if errors.As(err, &usage) && cmd != nil {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
}

// NewRootCmd builds the whole command tree over f.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "mfactl <command> <subcommand> [flags]",
		Short: "Administer OATH hardware tokens in an MFA directory",
		Long: `mfactl imports, validates, assigns and activates OATH TOTP hardware tokens, manages users'
MFA registrations and app passwords, verifies codes and reports on usage.

Data lives in an embedded SQLite database (--db, MFACTL_DB); token secrets are encrypted at rest
with the master key in --key-file (MFACTL_KEY_FILE).`,
		Example: `  $ mfactl tokens validate tokens.csv
  $ mfactl tokens import tokens.csv
  $ mfactl tokens activate 1234567 --user helga@contoso.com`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			if f.NoColor {
				f.IO.SetNoColor()
			}
		},
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.UsageError{Err: err} })

	pf := root.PersistentFlags()
	pf.StringVar(&f.DBPath, "db", "", "directory database `path` (env MFACTL_DB; default in the user data directory)")
	pf.StringVar(&f.KeyFile, "key-file", "", "master key `path` that encrypts secrets at rest (env MFACTL_KEY_FILE; default beside the database)")
	pf.StringVarP(&f.Output, "output", "o", "", "output `format`: table, json or csv (validate: text, json or github)")
	pf.BoolVar(&f.NoColor, "no-color", false, "disable colour (also NO_COLOR)")
	pf.BoolVarP(&f.Quiet, "quiet", "q", false, "print nothing but data and errors")

	root.AddCommand(
		tokencmd.NewCmd(f),
		usercmd.NewCmd(f),
		authcmd.NewCmd(f),
		reportcmd.NewCmd(f),
		newVersionCmd(f),
		newCompletionCmd(f),
		newExitCodesTopic(),
	)
	return root
}
