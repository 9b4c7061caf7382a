package store

import (
	"errors"
	"fmt"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mfactl/mfactl/internal/directory"
)

// The model lives in internal/directory; these names keep the store's callers compiling.
type (
	NotFoundError = directory.NotFoundError
	ConflictError = directory.ConflictError
	LimitError    = directory.LimitError
	BusyError     = directory.BusyError
)

// Sentinel errors; test with errors.Is. The concrete errors carry the details. The domain's
// own (not found, conflict, limit, busy, rejected) are the directory package's.
var (
	ErrNotFound = directory.ErrNotFound
	ErrConflict = directory.ErrConflict
	ErrLimit    = directory.ErrLimit
	ErrBusy     = directory.ErrBusy
	ErrRejected = directory.ErrRejected

	// ErrKeyMissing: the database holds encrypted secrets but the key file is absent.
	ErrKeyMissing = errors.New("key file missing")
	// ErrKeyMismatch: the key file is not the one the database was created with.
	ErrKeyMismatch = errors.New("key file does not match the database")
	// ErrNoKey: the database was opened without a key (Options.NoKey) and the operation needs it.
	ErrNoKey = errors.New("operation needs the key file but the database was opened without it")
	// ErrNoDirectory: the database file does not exist and the open may not create it.
	ErrNoDirectory = errors.New("no directory database")
	// ErrNotDirectory: the file exists but is not an mfactl directory (see NotDirectoryError).
	ErrNotDirectory = errors.New("not an mfactl directory")
	// ErrNoSpace: the device holding the database is full (see NoSpaceError).
	ErrNoSpace = errors.New("no space left on the device")
)

// NoDirectoryError names the database file that does not exist.
type NoDirectoryError struct{ Path string }

func (e *NoDirectoryError) Error() string { return "no directory database at " + e.Path }

// Is makes errors.Is(err, ErrNoDirectory) true.
func (e *NoDirectoryError) Is(target error) bool { return target == ErrNoDirectory }

// Why a file is not an mfactl directory.
const (
	NotDirFolder  = "folder"  // a folder where the database file should be
	NotDirEmpty   = "empty"   // a 0-byte file
	NotDirNotDB   = "notdb"   // not a SQLite database
	NotDirForeign = "foreign" // a SQLite database of another program
)

// NotDirectoryError refuses a file that mfactl did not create, so that it never writes its
// schema into another program's database. Reason is one of the NotDir constants.
type NotDirectoryError struct {
	Path   string
	Reason string
}

func (e *NotDirectoryError) Error() string {
	switch e.Reason {
	case NotDirFolder:
		return e.Path + " is a folder, not a directory database file"
	case NotDirEmpty:
		return e.Path + " is an empty file, not an mfactl directory"
	case NotDirNotDB:
		return e.Path + " is not an mfactl directory (not a SQLite database)"
	}
	return e.Path + " is not an mfactl directory (a SQLite database without mfactl's marker)"
}

// Is makes errors.Is(err, ErrNotDirectory) true.
func (e *NotDirectoryError) Is(target error) bool { return target == ErrNotDirectory }

// SchemaError refuses to read a directory whose schema is older than this mfactl's when the
// missing migrations change what reads rely on; opening it for writing upgrades it.
type SchemaError struct {
	Path       string
	Have, Want int
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("schema version %d is older than this mfactl's (%d); reading it needs the upgrade that the next command changing the directory makes",
		e.Have, e.Want)
}

// NoSpaceError reports a full device. Path is the database file when known.
type NoSpaceError struct {
	Path string
	Err  error
}

func (e *NoSpaceError) Error() string {
	if e.Path == "" {
		return "no space left on the device holding the directory database"
	}
	return "no space left on the device holding " + e.Path
}

// Is makes errors.Is(err, ErrNoSpace) true.
func (e *NoSpaceError) Is(target error) bool { return target == ErrNoSpace }

func (e *NoSpaceError) Unwrap() error { return e.Err }

// WithPath fills in the database file of a NoSpaceError in err's chain that does not name
// one yet, and returns err. Call it before wrapping err: fmt.Errorf fixes the message of a
// wrapper when it is made.
func WithPath(err error, path string) error {
	var ns *NoSpaceError
	if errors.As(err, &ns) && ns.Path == "" {
		ns.Path = path
	}
	return err
}

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

// mapErr turns driver errors callers must recognise into typed errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var busy *BusyError
	var full *NoSpaceError
	if errors.As(err, &busy) || errors.As(err, &full) {
		return err
	}
	if pe := mapPgErr(err); pe != nil {
		return pe
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &BusyError{Err: err}
		}
		if noSpaceCode(se.Code()) {
			return &NoSpaceError{Err: err}
		}
	}
	if errors.Is(err, syscall.ENOSPC) {
		return &NoSpaceError{Err: err}
	}
	return err
}

// noSpaceCode reports whether a SQLite result code means the device is full. SQLite's unix
// file layer turns a write that fails with ENOSPC into SQLITE_FULL, but growing the shared
// memory file (-shm) of a WAL database on a full device fails as SQLITE_IOERR_SHMSIZE, which
// the driver shows as "disk I/O error (4874)". Other I/O errors (a failed write or fsync) may
// be a broken disk as well and keep their own message.
func noSpaceCode(code int) bool {
	return code&0xff == sqlite3.SQLITE_FULL || code == sqlite3.SQLITE_IOERR_SHMSIZE
}

// fileErr explains the driver errors that mean the database file itself is unusable.
func fileErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("not an mfactl directory (%w)", err)
	case sqlite3.SQLITE_READONLY:
		return fmt.Errorf("the file or its folder is read-only; mfactl needs to write both (SQLite keeps -wal and -shm files beside the database) (%w)", err)
	case sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("cannot open the file; check that it is a file and its folder can be written (%w)", err)
	}
	return mapErr(err)
}

// isUniqueViolation reports whether err is a UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	if isPgUniqueViolation(err) {
		return true
	}
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}
