package store

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors; test with errors.Is. The concrete errors carry the details.
var (
	// ErrNotFound: a token, user or other record does not exist (see NotFoundError).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change contradicts the current state (see ConflictError).
	ErrConflict = errors.New("conflict")
	// ErrLimit: the change would give a user more OATH methods than allowed (see LimitError).
	ErrLimit = errors.New("too many OATH methods")
	// ErrBusy: another process holds the write lock for longer than the busy timeout.
	ErrBusy = errors.New("database is busy (another mfactl is writing); try again")
	// ErrKeyMissing: the database holds encrypted secrets but the key file is absent.
	ErrKeyMissing = errors.New("key file missing")
	// ErrKeyMismatch: the key file is not the one the database was created with.
	ErrKeyMismatch = errors.New("key file does not match the database")
	// ErrRejected: an import found problems and wrote nothing (see ImportError).
	ErrRejected = errors.New("import rejected")
	// ErrNoKey: the database was opened without a key (Options.NoKey) and the operation needs it.
	ErrNoKey = errors.New("operation needs the key file but the database was opened without it")
)

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

// KeyError reports a key file that is missing or does not match the database. Err is
// ErrKeyMissing or ErrKeyMismatch.
type KeyError struct {
	KeyFile string
	DB      string
	Err     error
}

func (e *KeyError) Error() string {
	if e.Err == ErrKeyMissing {
		return fmt.Sprintf("key file %s not found; the database %s holds encrypted secrets", e.KeyFile, e.DB)
	}
	return fmt.Sprintf("key file %s does not match database %s", e.KeyFile, e.DB)
}

func (e *KeyError) Unwrap() error { return e.Err }

// BusyError wraps the driver error behind ErrBusy.
type BusyError struct{ Err error }

func (e *BusyError) Error() string { return ErrBusy.Error() }

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

func (e *BusyError) Unwrap() error { return e.Err }

// mapErr turns driver errors callers must recognise into typed errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &BusyError{Err: err}
		}
	}
	return err
}

// fileErr explains the driver errors that mean the database file itself is unusable.
func fileErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("not an mfactl database (%w)", err)
	case sqlite3.SQLITE_READONLY:
		return fmt.Errorf("the file or its folder is read-only; mfactl needs to write both (SQLite keeps -wal and -shm files beside the database) (%w)", err)
	case sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("cannot open the file; check that it is a file and its folder can be written (%w)", err)
	}
	return mapErr(err)
}

// isUniqueViolation reports whether err is a UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}
