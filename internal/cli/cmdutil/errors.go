package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

// Exit codes of mfactl. This table is the only place they are defined;
// docs/exit-codes.md and `mfactl help exit-codes` are generated from it.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitPartial     = 3
	ExitBusy        = 4
	ExitInterrupted = 130
	ExitBrokenPipe  = 141
)

// ExitCodes documents each exit code, in order.
var ExitCodes = []struct {
	Code    int
	Meaning string
}{
	{ExitOK, "success"},
	{ExitFailure, "failure: invalid data, a denied verification, or a runtime error"},
	{ExitUsage, "usage error: unknown command or flag, wrong arguments, bad flag value"},
	{ExitPartial, "partial success: some rows failed, the others were done (--skip-invalid, bulk activation)"},
	{ExitBusy, "busy: another process held the directory's write lock for longer than " + store.DefaultBusyTimeout.String() + "; try again"},
	{ExitInterrupted, "interrupted (Ctrl-C, SIGTERM or SIGHUP); any open transaction was rolled back"},
	{ExitBrokenPipe, "the reader of the output went away (| head -1); stopped quietly, as on SIGPIPE"},
}

// UsageError is a mistake in how mfactl was called (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// HintError carries a suggestion printed as "mfactl: hint: ..." after the error.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// WithHint attaches a hint to err (nil stays nil).
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hint: hint}
}

// ErrSilent means the command already reported what went wrong (for example a list of
// validation problems) and only the exit status remains: exit 1, nothing more printed.
var ErrSilent = errors.New("silent failure")

// ErrPartial means the command did part of its work and reported the rest (exit 3).
var ErrPartial = errors.New("partial success")

// ExitCode maps an error returned by a command to the process exit status.
func ExitCode(err error) int {
	var usage *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrBrokenPipe):
		return ExitBrokenPipe
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, ErrPartial):
		return ExitPartial
	case errors.Is(err, directory.ErrBusy):
		return ExitBusy
	case errors.As(err, &usage):
		return ExitUsage
	default:
		return ExitFailure
	}
}
