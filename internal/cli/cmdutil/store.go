package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra"
	"github.com/mfactl/mfactl/internal/entra/signin"
	"github.com/mfactl/mfactl/internal/store"
)

// dbSource is the directory location the command works on, and the flag or variable it came
// from for messages: --db, else MFACTL_DB, else the default file in the user's data directory
// (empty: the store picks it).
func (f *Factory) dbSource() (value, source string) {
	if f.DBPath != "" {
		return f.DBPath, "--db"
	}
	return f.Getenv("MFACTL_DB"), "MFACTL_DB"
}

func (f *Factory) keyPath() string {
	if f.KeyFile != "" {
		return f.KeyFile
	}
	return f.Getenv("MFACTL_KEY_FILE")
}

// Store opens the directory for a command that may be the first to write to it (tokens
// import, users add, users import): where no file exists, it creates the directory.
func (f *Factory) Store(ctx context.Context) (*store.DB, error) {
	return f.OpenStore(ctx, store.ModeCreate)
}

// ImportStore opens the directory for an import: like Store, except that a dry run, which
// writes nothing, never creates the directory (a dry run of the first import fails with "no
// directory database", like the commands that need one).
func (f *Factory) ImportStore(ctx context.Context, dryRun bool) (*store.DB, error) {
	if dryRun {
		return f.OpenStore(ctx, store.ModeExisting)
	}
	return f.OpenStore(ctx, store.ModeCreate)
}

// ExistingStore opens the directory for a command that changes a directory that must already
// exist (verify, activate, assign, delete, the user commands other than add and import): a
// missing file, which is what a mistyped --db looks like, fails with "no directory database at
// PATH" instead of creating an empty directory and a master key and then answering "user not
// found".
func (f *Factory) ExistingStore(ctx context.Context) (*store.DB, error) {
	return f.OpenStore(ctx, store.ModeExisting)
}

// ReadStore opens the directory for a listing or a report: it must exist, it is opened
// read-only (nothing is created, migrated or written) and without the master key, which no
// listing or report needs.
func (f *Factory) ReadStore(ctx context.Context) (*store.DB, error) {
	return f.OpenStore(ctx, store.ModeReadOnly)
}

// KeyedReadStore opens the directory read-only like ReadStore, but with the master key, for a
// report that checks what only the key can (the audit chain): nothing is created, migrated or
// written, and a missing key file is an error.
func (f *Factory) KeyedReadStore(ctx context.Context) (*store.DB, error) {
	if f.db != nil && f.dbMode == store.ModeReadOnly && !f.dbKeyed {
		f.db.Close()
		f.db = nil
	}
	f.wantKey = true
	defer func() { f.wantKey = false }()
	return f.OpenStore(ctx, store.ModeReadOnly)
}

// OpenStore is the one way commands open the directory. It opens it on first use; later calls
// return the same handle, unless it was opened read-only and mode may write, when it is
// reopened. The root command closes it when the command ends.
func (f *Factory) OpenStore(ctx context.Context, mode store.Mode) (*store.DB, error) {
	if f.db != nil {
		if f.dbMode != store.ModeReadOnly || mode == store.ModeReadOnly {
			return f.db, nil
		}
		f.db.Close()
		f.db = nil
	}
	value, source := f.dbSource()
	loc, err := store.ParseLocation(value)
	if err != nil {
		return nil, Usagef("%s: %w", source, err)
	}
	opts := store.Options{Mode: mode, KeyFile: f.keyPath(), Now: f.Now, BusyTimeout: f.BusyTimeout, NoKey: mode == store.ModeReadOnly && !f.wantKey}
	var db *store.DB
	switch loc.Kind {
	case store.KindSQLite:
		f.dbPath = loc.Path
		if f.dbPath == "" {
			if f.dbPath, err = store.DefaultPath(); err != nil {
				return nil, err
			}
		}
		db, err = store.Open(ctx, f.dbPath, opts)
	case store.KindPostgres:
		f.dbPath = loc.String()
		db, err = store.OpenPostgres(ctx, loc.URL, opts)
	case store.KindEntra:
		// Only the commands that open the directory with ReadDirectory work on Entra ID in
		// this version; the others are refused before anything is sent.
		return nil, f.entraRefusal()
	default:
		return nil, WithHint(Usagef("%s %s: the %s backend is not available in this version of mfactl", source, loc, loc.Kind),
			"pass the path of a SQLite database file or a postgres:// URL, or leave "+source+" unset for the default directory")
	}
	if err != nil {
		return nil, openError(err)
	}
	if mode != store.ModeReadOnly {
		// Every change the command makes writes its audit row in the change's transaction.
		db = db.WithActor(directory.Actor{Name: Actor(), Host: Host().Name, Command: f.Command})
	}
	if db.KeyCreated() && !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: created master key %s (mode 0600); back it up: without it the token secrets cannot be read\n", db.KeyPath())
	}
	f.db, f.dbMode, f.dbKeyed = db, mode, !opts.NoKey
	return db, nil
}

// ReadDirectory opens the directory for a listing or report that works on every backend: on
// SQLite and PostgreSQL it is ReadStore; on Entra ID it signs in and reads through Graph.
func (f *Factory) ReadDirectory(ctx context.Context) (directory.Directory, error) {
	return f.anyDirectory(ctx, func() (*store.DB, error) { return f.ReadStore(ctx) })
}

// ImportDirectory opens the directory for tokens import: ImportStore on SQLite and PostgreSQL,
// the tenant through Graph on Entra ID.
func (f *Factory) ImportDirectory(ctx context.Context, dryRun bool) (directory.Tokens, error) {
	return f.anyDirectory(ctx, func() (*store.DB, error) { return f.ImportStore(ctx, dryRun) })
}

// WriteDirectory opens the directory for a command that changes tokens and works on every
// backend (tokens assign, unassign, delete): ExistingStore on SQLite and PostgreSQL, the tenant
// through Graph on Entra ID.
func (f *Factory) WriteDirectory(ctx context.Context) (directory.Tokens, error) {
	return f.anyDirectory(ctx, func() (*store.DB, error) { return f.ExistingStore(ctx) })
}

// UsersDirectory opens the directory for a command that changes users' registrations and
// works on every backend (users reset): ExistingStore on SQLite and PostgreSQL, the tenant
// through Graph on Entra ID.
func (f *Factory) UsersDirectory(ctx context.Context) (directory.Directory, error) {
	return f.anyDirectory(ctx, func() (*store.DB, error) { return f.ExistingStore(ctx) })
}

// anyDirectory is the one choice of backend for the commands that work on every one: open for
// SQLite and PostgreSQL (in the mode the command needs), the tenant through Graph on Entra ID.
func (f *Factory) anyDirectory(ctx context.Context, open func() (*store.DB, error)) (directory.Directory, error) {
	value, source := f.dbSource()
	loc, err := store.ParseLocation(value)
	if err != nil {
		return nil, Usagef("%s: %w", source, err)
	}
	if loc.Kind == store.KindEntra {
		d, err := f.entraDirectory(ctx, loc.URL)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return d, nil
	}
	db, err := open()
	if err != nil {
		return nil, err
	}
	return db, nil
}

// IsEntra says whether d is a Microsoft Entra ID tenant, for what commands say only there.
func IsEntra(d any) bool {
	_, ok := d.(*entra.Directory)
	return ok
}

// entraDirectory signs in to the tenant of location, once per command.
func (f *Factory) entraDirectory(ctx context.Context, location string) (*entra.Directory, error) {
	if f.entra != nil {
		return f.entra, nil
	}
	src, err := signin.New(location, f.Getenv, signin.Options{Interactive: f.IO.IsStdinTTY(), Prompt: f.IO.ErrOut})
	if err != nil {
		return nil, err
	}
	opts := entra.Options{GraphURL: f.Getenv(signin.EnvGraphURL), Tokens: src, Parallel: f.Parallel}
	if f.Debug {
		opts.Debug = f.IO.ErrOut
	}
	d, err := entra.Open(ctx, location, opts)
	if err != nil {
		return nil, err
	}
	f.entra = d
	return d, nil
}

// entraRefusal says why the running command does not work on Entra ID: never, for what Graph
// cannot do; not yet, for the rest.
func (f *Factory) entraRefusal() error {
	switch cmd := f.Command; {
	case strings.HasPrefix(cmd, "users app-passwords"):
		return entra.ErrAppPasswords
	case cmd == "auth verify":
		return entra.ErrVerify
	case cmd == "users add" || cmd == "users delete" || cmd == "users import":
		return entra.ErrUserLifecycle
	case cmd == "users enroll-app":
		return entra.ErrAuthApps
	case cmd == "tokens disable" || cmd == "tokens enable":
		return entra.ErrNoDisabled
	case cmd == "report drift":
		return entra.ErrNoDrift
	default:
		return entra.NotYet("'mfactl " + cmd + "'")
	}
}

// openError adds the hint that fits a failure to open the directory.
func openError(err error) error {
	var keyErr *store.KeyError
	var noDir *store.NoDirectoryError
	var notDir *store.NotDirectoryError
	switch {
	case errors.As(err, &keyErr):
		if errors.Is(err, store.ErrKeyMissing) {
			return WithHint(err, "pass the key file the directory was created with: --key-file PATH or MFACTL_KEY_FILE")
		}
		return WithHint(err, "the key file belongs to another directory; pass the right one with --key-file or MFACTL_KEY_FILE")
	case errors.As(err, &noDir):
		return WithHint(err, "pass the directory's database with --db or MFACTL_DB; 'mfactl tokens import' or 'mfactl users add' creates one")
	case errors.As(err, &notDir):
		err = fmt.Errorf("opening the directory: %w", err)
		switch notDir.Reason {
		case store.NotDirFolder:
			return WithHint(err, "--db and MFACTL_DB name the database file itself, for example "+filepath.Join(notDir.Path, store.DefaultDBName))
		case store.NotDirEmpty:
			return WithHint(err, "mfactl never leaves an empty database file; remove it, and 'mfactl tokens import' or 'mfactl users add' creates a directory there")
		}
		return WithHint(err, "check --db and MFACTL_DB: mfactl does not write to a file it did not create")
	}
	return fmt.Errorf("opening the directory: %w", err)
}

// BusyHint is the hint for a directory whose write lock another process held too long.
const BusyHint = "another mfactl process is writing to the directory; try again when it has finished"

// ExplainError completes a command's error with what only the factory knows: the database
// file a full device holds, and the hint for a busy directory.
func (f *Factory) ExplainError(err error) error {
	if err == nil {
		return nil
	}
	var full *store.NoSpaceError
	if f.dbPath != "" && errors.As(err, &full) && full.Path == "" {
		// The wrappers' messages were fixed when they were made, with the error's text
		// before it knew the path: replace that text in the whole message.
		generic := full.Error()
		full.Path = f.dbPath
		err = &rewordedError{msg: strings.Replace(err.Error(), generic, full.Error(), 1), err: err}
	}
	var hint *HintError
	if errors.Is(err, directory.ErrBusy) && !errors.As(err, &hint) {
		return WithHint(err, BusyHint)
	}
	return err
}

// rewordedError is err with another message.
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }

// Close releases what the factory opened.
func (f *Factory) Close() error {
	if f.entra != nil {
		f.entra.Close()
		f.entra = nil
	}
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	return err
}

// OnEntra says whether the command's location (--db, MFACTL_DB) names a Microsoft Entra ID
// tenant, without opening anything.
func (f *Factory) OnEntra() bool {
	value, _ := f.dbSource()
	loc, err := store.ParseLocation(value)
	return err == nil && loc.Kind == store.KindEntra
}
