package directory

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is. The concrete errors carry the details.
var (
	// ErrTokenDisabled is matched by the error of assigning or activating a disabled token,
	// which forcing does not override; that error is also an ErrConflict.
	ErrTokenDisabled = errors.New("token is disabled")
	// ErrUnsupported: the backend cannot do this at all (a directory kept by a service that
	// has no such operation); the error says why and what to do instead.
	ErrUnsupported = errors.New("not supported by this directory")
	// ErrNotFound: a token, user or other record does not exist (see NotFoundError).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change contradicts the current state (see ConflictError).
	ErrConflict = errors.New("conflict")
	// ErrLimit: the change would give a user more OATH methods than allowed (see LimitError).
	ErrLimit = errors.New("too many OATH methods")
	// ErrBusy: another process holds the write lock for longer than the busy timeout.
	ErrBusy = errors.New("database is busy (another mfactl is writing); try again")
	// ErrRejected: an import found problems and wrote nothing (see ImportError).
	ErrRejected = errors.New("import rejected")
	// ErrRefused: a directory kept by a service refused one change by a rule of its own (a
	// guest user, a policy that is off); the change is that token's or user's failure, not the
	// whole command's (see RefusedError).
	ErrRefused = errors.New("refused by the directory")
)

// RefusedError is a change the directory's service refused; Err is the service's error.
type RefusedError struct {
	Err error
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// NotFoundError names what was not found: Kind is "token", "user", ...
type NotFoundError struct {
	Kind string
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %s not found", e.Kind, e.Name) }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ConflictError explains why a change contradicts the current state.
type ConflictError struct {
	Msg string
}

func (e *ConflictError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// LimitError says which user would exceed the OATH method limit.
type LimitError struct {
	UPN   string
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("user %s already has %d OATH methods (the limit)", e.UPN, e.Limit)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// BusyError wraps the driver error behind ErrBusy.
type BusyError struct{ Err error }

func (e *BusyError) Error() string { return ErrBusy.Error() }

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

func (e *BusyError) Unwrap() error { return e.Err }
