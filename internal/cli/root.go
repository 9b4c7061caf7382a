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
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/authcmd"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/directorycmd"
	"github.com/mfactl/mfactl/internal/cli/reportcmd"
	"github.com/mfactl/mfactl/internal/cli/tokencmd"
	"github.com/mfactl/mfactl/internal/cli/usercmd"
	"github.com/mfactl/mfactl/internal/iostreams"
)

// Main runs mfactl with the process's arguments and streams and returns the exit status.
func Main() int {
	f := cmdutil.NewFactory(iostreams.System(), os.Getenv)
	return RunWithSignals(f, os.Args[1:])
}

// stopSignals end a run: Ctrl-C, kill's default SIGTERM, SIGHUP when the terminal goes away,
// and SIGPIPE when the reader of the output does. Catching SIGPIPE turns a write to a closed
// pipe into an EPIPE error where Go would otherwise kill mfactl on the spot, before its
// temporary files are removed. (Windows has the constants: there Ctrl-C is os.Interrupt, and
// closing the console or logging off is SIGTERM, after which Windows allows a few seconds.)
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE}

// interruptGrace is how long a stopped command has to return once its context is cancelled.
// A command normally returns at once (the database rolls back in milliseconds); one stuck in
// a read of standard input or a write to a pipe nobody reads cannot be woken, so mfactl exits
// without it.
const interruptGrace = 3 * time.Second

// RunWithSignals is Run under the stop signals. The first one cancels the command's context
// with its cause, removes the temporary files registered with cmdutil.OnInterrupt, and gives
// the command interruptGrace to return (Run then reports the interruption, exit 130, or the
// closed pipe, exit 141). A second signal (not SIGPIPE), or the end of the grace, ends the run
// without the command: "interrupted" and 130, or silently 141.
func RunWithSignals(f *cmdutil.Factory, args []string) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)

	done := make(chan int, 1)
	go func() { done <- Run(ctx, f, args) }()
	var sig os.Signal
	select {
	case code := <-done:
		return code
	case sig = <-sigs:
	}
	cause := cmdutil.ErrInterrupted
	if sig == syscall.SIGPIPE {
		cause = cmdutil.ErrBrokenPipe
	}
	cancel(cause)
	cmdutil.RunInterruptCleanups()

	grace := time.NewTimer(interruptGrace)
	defer grace.Stop()
	for given := false; !given; {
		select {
		case code := <-done:
			return code
		case s := <-sigs:
			given = s != syscall.SIGPIPE // each failed write raises one
		case <-grace.C:
			given = true
		}
	}
	if cause == cmdutil.ErrBrokenPipe {
		return cmdutil.ExitBrokenPipe
	}
	printError(f.IO.ErrOut, nil, cause)
	return cmdutil.ExitInterrupted
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
	switch {
	case err == nil:
	case isBrokenPipe(err) || errors.Is(context.Cause(ctx), cmdutil.ErrBrokenPipe):
		// The reader of the output went away (| head): nobody wants to hear more. The
		// EPIPE can come back before the SIGPIPE that cancels ctx has been handled.
		err = cmdutil.ErrBrokenPipe
	case ctx.Err() != nil:
		// Whatever the command made of its cancelled context ("context canceled" deep in
		// a wrapped error), the user pressed Ctrl-C or sent a signal: say so in words.
		err = cmdutil.ErrInterrupted
	case isCobraUsageError(err):
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
	if err == nil || errors.Is(err, cmdutil.ErrSilent) || errors.Is(err, cmdutil.ErrPartial) || errors.Is(err, cmdutil.ErrBrokenPipe) {
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

// defaultParallel and maxParallel bound --parallel: a few requests at a time keep bulk work
// quick without running into Graph's throttling.
const (
	defaultParallel = 4
	maxParallel     = 32
)

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
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f.Command = cmdutil.CommandName(cmd)
			if f.NoColor {
				f.IO.SetNoColor()
			}
			if f.Parallel < 1 || f.Parallel > maxParallel {
				return cmdutil.Usagef("--parallel must be between 1 and %d, not %d", maxParallel, f.Parallel)
			}
			return nil
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
	pf.BoolVar(&f.Debug, "debug", false, "log Microsoft Graph requests and responses to standard error, secrets and bearer tokens redacted (Entra ID only; no effect on SQLite or PostgreSQL)")
	pf.IntVar(&f.Parallel, "parallel", defaultParallel, "`number` of concurrent Microsoft Graph requests for bulk work, 1 to 32 (Entra ID only)")

	root.AddCommand(
		tokencmd.NewCmd(f),
		usercmd.NewCmd(f),
		authcmd.NewCmd(f),
		reportcmd.NewCmd(f),
		directorycmd.NewCmd(f),
		newVersionCmd(f),
		newCompletionCmd(f),
		newExitCodesTopic(),
	)
	return root
}
