// Package store is mfactl's persistence layer: the directory of users, hardware tokens, app
// passwords, authentication events and audit events, kept in SQLite (modernc.org/sqlite, pure
// Go) with token secrets encrypted at rest under the master key file (internal/secrets).
//
// The SQL is kept portable so that a PostgreSQL implementation can share it: plain types,
// `?` placeholders (rebindable to $n), INSERT ... ON CONFLICT instead of INSERT OR REPLACE,
// times as unix seconds. SQL lives in this package only.
package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/secrets"
)

// Default file names, in the user's data directory.
const (
	dirName        = "mfactl"
	DefaultDBName  = "mfactl.db"
	DefaultKeyName = "mfactl.key"
)

// metaKeyCheck is the meta row holding the key check value of the master key.
const metaKeyCheck = "key_check"

// DefaultBusyTimeout is how long a writer waits for another writer before giving up with
// ErrBusy.
const DefaultBusyTimeout = 5 * time.Second

// Mode says what Open may do to the database file.
type Mode int

const (
	// ModeCreate opens the directory to change it and creates it when the file does not exist
	// (the first import or user added).
	ModeCreate Mode = iota
	// ModeExisting opens an existing directory to change it: a missing file is ErrNoDirectory.
	ModeExisting
	// ModeReadOnly opens an existing directory for reading (listings and reports): the file is
	// opened read-only, nothing is migrated or written and the key file is never created.
	ModeReadOnly
)

// Options adjust Open. The zero value is the normal configuration.
type Options struct {
	// Mode is what Open may do; the zero value creates a missing directory.
	Mode Mode
	// KeyFile is the master key file; empty means DefaultKeyPath(path).
	KeyFile string
	// NoKey opens the database without reading (or creating) the key file, for commands that
	// never touch secrets. Operations that need the key then fail with ErrNoKey.
	NoKey bool
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// BusyTimeout overrides DefaultBusyTimeout.
	BusyTimeout time.Duration
}

// applicationID marks a SQLite file as an mfactl directory ("mfac" in the header's
// application_id field, set when mfactl creates the file). Directories created before the
// marker existed have 0 there and are recognised by their migrations table instead.
const applicationID = 0x6d666163

type DB struct {
	sql        *sql.DB
	path       string
	keyPath    string
	sealer     *secrets.Sealer
	keyCreated bool
	now        func() time.Time
	dialect    dialect          // sqlite unless OpenPostgres
	actor      *directory.Actor // set by WithActor: changes write their audit rows
}

// DefaultPath returns the default database file: $XDG_DATA_HOME/mfactl/mfactl.db when
// XDG_DATA_HOME is set, otherwise the platform's per-user data directory
// (~/.local/share on Linux and BSD, ~/Library/Application Support on macOS, %LocalAppData% on
// Windows).
func DefaultPath() (string, error) {
	dir, err := dataDir()
	if err != nil {
		return "", fmt.Errorf("finding the user's data directory (use --db or MFACTL_DB): %w", err)
	}
	return filepath.Join(dir, dirName, DefaultDBName), nil
}

func dataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return d, nil
	}
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return d, nil
		}
		return "", errors.New("%LocalAppData% is not set")
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support"), nil
	default:
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".local", "share"), nil
	}
}

// DefaultKeyPath returns the default key file for a database: mfactl.key beside it.
func DefaultKeyPath(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), DefaultKeyName)
}

// Open opens the database at path (DefaultPath when empty). Only ModeCreate creates a
// database, and only where no file exists: the new file (0600, in a folder made 0700) appears
// complete, with mfactl's marker and schema, or not at all. An existing file must be an mfactl
// directory (*NotDirectoryError otherwise) and is never written to before that is known.
// Writable modes bring the schema up to date; ModeReadOnly never writes. Unless opts.NoKey, it
// loads the master key: a database that already holds a key check value needs its key file
// (*KeyError with ErrKeyMissing or ErrKeyMismatch); a new database may create one (KeyCreated),
// except in ModeReadOnly.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	keyPath := opts.KeyFile
	if keyPath == "" {
		keyPath = DefaultKeyPath(abs)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		if opts.Mode != ModeCreate {
			return nil, &NoDirectoryError{Path: path}
		}
		if err := create(ctx, abs, busy, now); err != nil {
			return nil, fmt.Errorf("creating database %s: %w", path, WithPath(err, path))
		}
	}
	appID, err := checkMarker(ctx, abs, path, busy)
	if err != nil {
		return nil, err
	}
	readOnly := opts.Mode == ModeReadOnly
	var sdb *sql.DB
	if readOnly {
		sdb, err = openReadOnly(ctx, abs, busy)
	} else {
		sdb, err = sql.Open("sqlite", dsn(abs, busy, false))
	}
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, WithPath(fileErr(err), path))
	}
	d := &DB{sql: sdb, path: path, keyPath: keyPath, now: now}
	if readOnly {
		err = d.checkSchema(ctx)
	} else {
		err = d.migrate(ctx)
	}
	if err != nil {
		sdb.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, WithPath(mapErr(err), path))
	}
	if !readOnly {
		d.ensureIndexes(ctx)
		if appID == 0 {
			// A directory from before the marker: mark it now. Best effort, like the
			// indexes: another process may hold the write lock, and the next open retries.
			d.sql.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d`, applicationID))
		}
	}
	if !opts.NoKey {
		if err := d.loadKey(ctx, !readOnly); err != nil {
			sdb.Close()
			return nil, err
		}
		if !readOnly {
			d.chainOnOpen(ctx)
		}
	}
	return d, nil
}

// create makes a new directory at path, which does not exist: it builds the database in a
// temporary file beside it (0600, in a folder made 0700 when missing), with the marker and the
// whole schema, closes it (which checkpoints the WAL into the file) and links it into place.
// A crash leaves at most a temporary file, never an empty or half-made database at path, so
// an empty file at path is never mfactl's. When another process created path meanwhile, its
// directory wins and this one is discarded.
func create(ctx context.Context, abs string, busy time.Duration, now func() time.Time) error {
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return mapErr(err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".new-*")
	if err != nil {
		return mapErr(err)
	}
	tmpPath := tmp.Name()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmpPath + suffix)
		}
	}()
	if err := tmp.Close(); err != nil {
		return mapErr(err)
	}
	sdb, err := sql.Open("sqlite", dsn(tmpPath, busy, false))
	if err != nil {
		return err
	}
	d := &DB{sql: sdb, path: abs, now: now}
	_, err = sdb.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d`, applicationID))
	if err == nil {
		err = d.migrate(ctx)
	}
	if cerr := sdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return mapErr(err)
	}
	if err := os.Link(tmpPath, abs); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		// No hard links on this file system: rename, which could replace a directory
		// created in the last instant by another process, so look once more first.
		if _, serr := os.Lstat(abs); serr == nil {
			return nil
		}
		return mapErr(os.Rename(tmpPath, abs))
	}
	return nil
}

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// checkMarker makes sure the existing file at abs is an mfactl directory before anything opens
// it for writing (even the WAL setting of the connection would change another program's
// file). It reads the header's application_id; a directory from before the marker (0) is
// recognised by its first migration, read through a read-only connection. It returns the
// application_id found.
func checkMarker(ctx context.Context, abs, path string, busy time.Duration) (uint32, error) {
	st, err := os.Stat(abs)
	if err != nil {
		return 0, fmt.Errorf("opening database %s: %w", path, err)
	}
	if st.IsDir() {
		return 0, &NotDirectoryError{Path: path, Reason: NotDirFolder}
	}
	if st.Size() == 0 {
		// Older versions created the file empty and wrote the first transaction to the WAL,
		// so an empty file with a WAL beside it may be a directory that was never
		// checkpointed: let SQLite read it.
		if wal, err := os.Stat(abs + "-wal"); err != nil || wal.Size() == 0 {
			return 0, &NotDirectoryError{Path: path, Reason: NotDirEmpty}
		}
	} else {
		f, err := os.Open(abs)
		if err != nil {
			return 0, fmt.Errorf("opening database %s: %w", path, err)
		}
		var hdr [100]byte
		_, err = io.ReadFull(f, hdr[:])
		f.Close()
		if err != nil || string(hdr[:len(sqliteHeader)]) != sqliteHeader {
			return 0, &NotDirectoryError{Path: path, Reason: NotDirNotDB}
		}
		switch id := binary.BigEndian.Uint32(hdr[68:72]); id {
		case applicationID:
			return id, nil
		case 0:
		default:
			return 0, &NotDirectoryError{Path: path, Reason: NotDirForeign}
		}
	}
	sdb, err := openReadOnly(ctx, abs, busy)
	if err != nil {
		return 0, fmt.Errorf("opening database %s: %w", path, WithPath(fileErr(err), path))
	}
	defer sdb.Close()
	var id uint32
	var legacy bool
	err = sdb.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&id)
	if err == nil && id == 0 {
		err = sdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')`).Scan(&legacy)
		if err == nil && legacy {
			err = sdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 1 AND name = '0001_init')`).Scan(&legacy)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("opening database %s: %w", path, WithPath(fileErr(err), path))
	}
	if id != applicationID && !legacy {
		return 0, &NotDirectoryError{Path: path, Reason: NotDirForeign}
	}
	return id, nil
}

// openReadOnly opens a read-only connection pool and reads from it once. A reader of a WAL
// database needs the -shm file, which SQLite cannot create in a folder the process may not
// write (a read-only copy, another user's directory): it fails with SQLITE_READONLY_CANTINIT
// or SQLITE_CANTOPEN. When no -wal file exists, everything committed is in the database
// file, and it is opened with immutable=1 instead, which reads the file without the -shm
// file or locks. That read is not isolated from a writer that starts meanwhile (only the
// owner of the folder can be one); refusing to read would be worse.
func openReadOnly(ctx context.Context, abs string, busy time.Duration) (*sql.DB, error) {
	sdb, err := sql.Open("sqlite", dsn(abs, busy, true))
	if err != nil {
		return nil, err
	}
	var n int
	err = sdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n)
	if err == nil {
		return sdb, nil
	}
	sdb.Close()
	var se *sqlite.Error
	if !errors.As(err, &se) || (se.Code()&0xff != sqlite3.SQLITE_READONLY && se.Code()&0xff != sqlite3.SQLITE_CANTOPEN) {
		return nil, err
	}
	if _, serr := os.Stat(abs + "-wal"); !errors.Is(serr, fs.ErrNotExist) {
		return nil, err
	}
	sdb, ierr := sql.Open("sqlite", dsn(abs, busy, true)+"&immutable=1")
	if ierr != nil {
		return nil, err
	}
	if ierr := sdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n); ierr != nil {
		sdb.Close()
		return nil, err
	}
	return sdb, nil
}

// dsn builds the modernc.org/sqlite data source name: WAL (readers never block the writer),
// a busy timeout instead of failing at once when another process writes, foreign keys on,
// synchronous=NORMAL (durable at checkpoints, never corrupt, the usual WAL setting) and BEGIN
// IMMEDIATE for transactions so that writers queue on the lock at the start instead of
// deadlocking when a read transaction is upgraded. A read-only connection sets nothing that
// writes (the journal mode is in the file already): SQLite opens the file read-only
// (mode=ro) and refuses any statement that would change it (query_only).
func dsn(abs string, busy time.Duration, readOnly bool) string {
	p := filepath.ToSlash(abs)
	if len(p) > 0 && p[0] != '/' {
		p = "/" + p // Windows drive letter: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	if readOnly {
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
		return u.String() + "?" + q.Encode()
	}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return u.String() + "?" + q.Encode()
}

// ensureIndexes recreates the fingerprint index when it is missing: earlier versions rebuilt
// it after a bulk import's commit, so a crash in between left a database without it (bulk
// imports now rebuild it inside their transaction, see bulkMinRows). Best effort: when another
// process holds the write lock, the next Open tries again.
func (d *DB) ensureIndexes(ctx context.Context) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, fpIndexName).Scan(&n)
	if err == nil && n == 0 {
		d.sql.ExecContext(ctx, fpIndexDDL)
	}
}

// loadKey loads the master key. When the database has no key check value yet, a writable
// open (create) records one, creating the key file if needed; a read-only open goes on
// without a key.
func (d *DB) loadKey(ctx context.Context, create bool) error {
	// secrets would report a directory as a key file "readable by group or others" and
	// suggest chmod 600, which does not help.
	if st, err := os.Stat(d.keyPath); err == nil && st.IsDir() {
		return fmt.Errorf("key file %s is a directory; --key-file and MFACTL_KEY_FILE name the key file itself", d.keyPath)
	}
	check, found, err := d.getMeta(ctx, metaKeyCheck)
	if err != nil {
		return fmt.Errorf("opening database %s: %w", d.path, err)
	}
	if found {
		key, _, err := secrets.LoadOrCreateKey(d.keyPath, false)
		if errors.Is(err, secrets.ErrKeyNotFound) {
			return &KeyError{KeyFile: d.keyPath, DB: d.path, Err: ErrKeyMissing}
		}
		if err != nil {
			return err
		}
		s, err := secrets.NewSealer(key)
		if err != nil {
			return err
		}
		if !s.MatchesCheckValue(check) {
			return &KeyError{KeyFile: d.keyPath, DB: d.path, Err: ErrKeyMismatch}
		}
		d.sealer = s
		return nil
	}
	// No check value: a new database, or one opened only with NoKey so far. Never start a
	// new key for a database that somehow holds secrets without one.
	if !create {
		return nil
	}
	var hasSecrets bool
	err = d.sql.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tokens) OR EXISTS (SELECT 1 FROM auth_methods)`).Scan(&hasSecrets)
	if err != nil {
		return fmt.Errorf("opening database %s: %w", d.path, mapErr(err))
	}
	if hasSecrets {
		return fmt.Errorf("database %s holds encrypted secrets but no key check value; refusing to use key file %s", d.path, d.keyPath)
	}
	key, created, err := secrets.LoadOrCreateKey(d.keyPath, true)
	if err != nil {
		return err
	}
	s, err := secrets.NewSealer(key)
	if err != nil {
		return err
	}
	_, err = d.sql.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, metaKeyCheck, s.CheckValue())
	if err != nil {
		return fmt.Errorf("opening database %s: recording key check value: %w", d.path, mapErr(err))
	}
	// Another process may have initialised the database with another key file meanwhile.
	check, _, err = d.getMeta(ctx, metaKeyCheck)
	if err != nil {
		return fmt.Errorf("opening database %s: %w", d.path, err)
	}
	if !s.MatchesCheckValue(check) {
		return &KeyError{KeyFile: d.keyPath, DB: d.path, Err: ErrKeyMismatch}
	}
	d.sealer, d.keyCreated = s, created
	return nil
}

func (d *DB) getMeta(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := d.sql.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, mapErr(err)
	}
	return v, true, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.sql.Close() }

// Path returns the database file as given to Open (or the default).
func (d *DB) Path() string { return d.path }

// KeyPath returns the master key file in use.
func (d *DB) KeyPath() string { return d.keyPath }

// KeyCreated reports whether Open created a new key file, which the user should back up.
func (d *DB) KeyCreated() bool { return d.keyCreated }

// IntegrityCheck runs PRAGMA integrity_check and returns nil when the database is sound.
func (d *DB) IntegrityCheck(ctx context.Context) error {
	if d.dialect == dialectPostgres {
		return d.pgIntegrityCheck(ctx)
	}
	rows, err := d.sql.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		msgs = append(msgs, s)
	}
	if err := rows.Err(); err != nil {
		return mapErr(err)
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		return nil
	}
	return fmt.Errorf("database %s failed the integrity check: %v", d.path, msgs)
}

func (d *DB) needSealer() (*secrets.Sealer, error) {
	if d.sealer == nil {
		return nil, ErrNoKey
	}
	return d.sealer, nil
}

// unix converts t to the stored form (unix seconds UTC).
func unix(t time.Time) int64 { return t.Unix() }

// fromUnix reads a stored time; NULL is the zero time.
func fromUnix(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0).UTC()
}

// inTx runs fn in a write transaction and commits when fn returns nil.
func (d *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return WithPath(mapErr(err), d.path)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return WithPath(mapErr(err), d.path)
	}
	return WithPath(mapErr(tx.Commit()), d.path)
}
