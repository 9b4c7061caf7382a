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
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/mfactl/mfactl/internal/secrets"
	"github.com/mfactl/mfactl/internal/tokens"
)

// Default file names, in the user's data directory.
const (
	dirName        = "mfactl"
	DefaultDBName  = "mfactl.db"
	DefaultKeyName = "mfactl.key"
)

// DefaultMaxMethods is the limit of OATH methods per user that the store enforces when its
// caller gives none: the domain's rule, tokens.MaxMethods, which is kept in one place.
const DefaultMaxMethods = tokens.MaxMethods

// metaKeyCheck is the meta row holding the key check value of the master key.
const metaKeyCheck = "key_check"

// DefaultBusyTimeout is how long a writer waits for another writer before giving up with
// ErrBusy.
const DefaultBusyTimeout = 5 * time.Second

// Options adjust Open. The zero value is the normal configuration.
type Options struct {
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

// DB is an open directory database. It is safe for concurrent use.
type DB struct {
	sql        *sql.DB
	path       string
	keyPath    string
	sealer     *secrets.Sealer
	keyCreated bool
	now        func() time.Time
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

// Open opens the database at path (DefaultPath when empty), creating the directory (0700) and
// the file (0600) when absent, and brings the schema up to date. Unless opts.NoKey, it loads
// the master key: a database that already holds a key check value needs its key file
// (*KeyError with ErrKeyMissing or ErrKeyMismatch); a new database may create one (KeyCreated).
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
	if err := createFile(abs); err != nil {
		return nil, fmt.Errorf("creating database %s: %w", path, err)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	sdb, err := sql.Open("sqlite", dsn(abs, busy))
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	d := &DB{sql: sdb, path: path, keyPath: keyPath, now: opts.Now}
	if d.now == nil {
		d.now = time.Now
	}
	if err := d.migrate(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, mapErr(err))
	}
	d.ensureIndexes(ctx)
	if !opts.NoKey {
		if err := d.loadKey(ctx); err != nil {
			sdb.Close()
			return nil, err
		}
	}
	return d, nil
}

// createFile makes the parent directory (0700) and an empty database file with mode 0600
// before SQLite opens it, so the file never exists with umask-dependent permissions. SQLite
// creates the -wal and -shm files with the permissions of the database file.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				return errors.New("it is a directory; --db and MFACTL_DB name the database file")
			}
			return nil
		}
		return err
	}
	if runtime.GOOS != "windows" {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// dsn builds the modernc.org/sqlite data source name: WAL (readers never block the writer),
// a busy timeout instead of failing at once when another process writes, foreign keys on,
// synchronous=NORMAL (durable at checkpoints, never corrupt, the usual WAL setting) and BEGIN
// IMMEDIATE for transactions so that writers queue on the lock at the start instead of
// deadlocking when a read transaction is upgraded.
func dsn(abs string, busy time.Duration) string {
	p := filepath.ToSlash(abs)
	if len(p) > 0 && p[0] != '/' {
		p = "/" + p // Windows drive letter: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
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

func (d *DB) loadKey(ctx context.Context) error {
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
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}
