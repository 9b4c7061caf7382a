package store

// PostgreSQL: the same store on a shared server, so that a team and several hosts use one
// directory. The SQL is the SQLite SQL (rebound to $n by pgConn, see dialect.go); what differs
// lives here: opening, migrations under an advisory lock, the writer lock that stands in for
// BEGIN IMMEDIATE, error codes and the COPY path of token imports.

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/postgres/*.sql
var pgMigrationFiles embed.FS

// writerLockSQL takes the directory's writer lock for the rest of the transaction. Every
// read-write transaction takes it first (pgConn.BeginTx), migrations included, so writers run
// one at a time as on SQLite, and each sees the committed work of the one before: the
// read-then-write steps of the store (the method limit, an assignment, the import's id and
// key bookkeeping) stay correct under PostgreSQL's default READ COMMITTED isolation without
// serialization failures to retry. Waiting is bounded by lock_timeout (the busy timeout).
// The first key is mfactl's ("mfa" in ASCII), the second a hash of the schema, so that
// directories kept in different schemas of one database do not wait for each other.
const writerLockSQL = `SELECT pg_advisory_xact_lock(7169633, hashtext(COALESCE(current_schema(), '')))`

// OpenPostgres opens the directory in the PostgreSQL database at url (a postgres:// URL or a
// keyword/value connection string; the schema is the connection's search_path), creating the
// schema's tables on first use, and loads the master key as Open does: a directory that holds
// a key check value needs the same key file on every host (*KeyError with ErrKeyMismatch when
// it differs), and the first host to open an empty directory records its key. opts.KeyFile
// empty means the default key file of the user's data directory. Errors name the URL without
// its password (RedactURL).
func OpenPostgres(ctx context.Context, url string, opts Options) (*DB, error) {
	name := RedactURL(url)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %s", name, redactErr(err, url))
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	if _, ok := cfg.RuntimeParams["lock_timeout"]; !ok {
		cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(busy.Milliseconds(), 10)
	}
	if opts.Mode == ModeReadOnly {
		// Listings and reports never write, whatever a bug in them might try.
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "mfactl"
	}
	keyPath := opts.KeyFile
	if keyPath == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		keyPath = DefaultKeyPath(p)
	}
	sdb := sql.OpenDB(&pgConnector{inner: stdlib.GetConnector(*cfg)})
	d := &DB{sql: sdb, path: name, keyPath: keyPath, now: opts.Now, dialect: dialectPostgres}
	if d.now == nil {
		d.now = time.Now
	}
	if opts.Mode == ModeCreate {
		err = d.migratePostgres(ctx)
	} else {
		err = d.checkPostgresSchema(ctx, opts.Mode == ModeReadOnly)
	}
	if err != nil {
		sdb.Close()
		if errors.Is(err, ErrNoDirectory) {
			return nil, err
		}
		return nil, fmt.Errorf("opening database %s: %w", name, mapErr(err))
	}
	if !opts.NoKey {
		if err := d.loadKey(ctx, opts.Mode == ModeCreate); err != nil {
			sdb.Close()
			return nil, err
		}
		if opts.Mode != ModeReadOnly {
			d.chainOnOpen(ctx)
		}
	}
	return d, nil
}

var keywordPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)\s*`)

// RedactURL returns a connection URL or keyword/value string without its password, for
// messages and logs.
func RedactURL(s string) string {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			// Do not echo what could not be parsed: it may hold the password in any place.
			scheme, _, _ := strings.Cut(s, "://")
			return scheme + "://(unparsable URL)"
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		if q := u.Query(); q.Has("password") {
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return strings.TrimSpace(keywordPassword.ReplaceAllString(s, "$1"))
}

// redactErr is err's message with any password of url removed (parse errors may quote it).
func redactErr(err error, url string) string {
	msg := err.Error()
	if u, perr := urlPassword(url); perr == nil && u != "" {
		msg = strings.ReplaceAll(msg, u, "xxxxx")
	}
	return msg
}

func urlPassword(s string) (string, error) {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", err
		}
		p, _ := u.User.Password()
		if p == "" {
			p = u.Query().Get("password")
		}
		return p, nil
	}
	m := keywordPassword.FindStringSubmatch(s)
	if m == nil {
		return "", nil
	}
	return strings.Trim(m[2], "'"), nil
}

// migratePostgres brings the schema up to date. The fast path (up to date) is one read; any
// other case runs in one transaction holding the writer lock, so that hosts starting at the
// same time apply each migration once and none sees a half-made schema.
// checkPostgresSchema is what a mode that may not create does instead of migrating: the
// directory must exist (ErrNoDirectory names the database otherwise), and its schema must not
// be newer than this binary. A writable open of an older schema still upgrades it, since
// upgrading is what any writing command does; a read-only one reads it as it is when only
// index migrations are missing, like a SQLite reader.
func (d *DB) checkPostgresSchema(ctx context.Context, readOnly bool) error {
	ms, err := readMigrations(pgMigrationFiles, "migrations/postgres")
	if err != nil {
		return err
	}
	var current int
	err = d.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current)
	if isPgCode(err, "42P01") || err == nil && current == 0 {
		return &NoDirectoryError{Path: d.path}
	}
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	switch {
	case current > latest:
		return fmt.Errorf("database schema version %d is newer than this mfactl supports (%d); upgrade mfactl", current, latest)
	case current < latest && !readOnly:
		return d.migratePostgres(ctx)
	case current < 1:
		return fmt.Errorf("database schema version %d is older than this mfactl reads; a command that changes the directory upgrades it", current)
	}
	return nil
}

func (d *DB) migratePostgres(ctx context.Context) error {
	ms, err := readMigrations(pgMigrationFiles, "migrations/postgres")
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	var current int
	err = d.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current)
	if err == nil && current == latest {
		return nil
	}
	if err != nil && !isPgCode(err, "42P01") { // undefined_table: a new directory
		return err
	}
	tx, err := d.sql.BeginTx(ctx, nil) // takes the writer lock
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > latest {
		return fmt.Errorf("database schema version %d is newer than this mfactl supports (%d); upgrade mfactl", current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, unix(d.now())); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.name, err)
		}
	}
	return tx.Commit()
}

// pgIntegrityCheck stands in for SQLite's integrity_check: PostgreSQL checks its pages itself,
// so this checks what the store relies on: the schema is complete and every table readable.
func (d *DB) pgIntegrityCheck(ctx context.Context) error {
	for _, t := range []string{"meta", "users", "tokens", "auth_methods", "app_passwords", "auth_events", "audit_events", "drift_history"} {
		var n int64
		if err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return fmt.Errorf("database %s failed the integrity check: %w", d.path, mapErr(err))
		}
	}
	return nil
}

// PostgreSQL error codes the store recognises.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgLockNotAvailable     = "55P03"
)

func isPgCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// mapPgErr maps the PostgreSQL errors callers must recognise; nil when err is not one. A
// writer lock that was not granted within lock_timeout is the busy error; so are a
// serialization failure and a deadlock, which the writer lock rules out between mfactl
// processes but another client of the database could cause: the transaction rolled back and
// trying again is right (the store does not retry by itself, as its transactions consume
// one-shot sources such as an import's rows).
func mapPgErr(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case pgLockNotAvailable, pgSerializationFailure, pgDeadlockDetected:
		return &BusyError{Err: err}
	}
	return nil
}

func isPgUniqueViolation(err error) bool { return isPgCode(err, pgUniqueViolation) }

// pgCopyTokens writes new token rows with COPY instead of multi-row INSERTs, in the import's
// transaction (same connection). cols are the columns of tokenCopyColumns, in order.
func pgCopyTokens(ctx context.Context, conn *sql.Conn, rows [][]any) error {
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(*pgConn)
		if !ok {
			return fmt.Errorf("COPY needs a PostgreSQL connection, have %T", dc)
		}
		_, err := pc.Conn.Conn().CopyFrom(ctx, pgx.Identifier{"tokens"}, tokenCopyColumns, pgx.CopyFromRows(rows))
		return err
	})
}

// The import's lookups on the non-unique columns tokens.user_id and tokens.secret_fp, written
// for PostgreSQL's planner. An import writes its tokens in its own transaction, where no
// statistics describe them (ANALYZE has not seen them; the first import into a new directory
// has none at all), and the planner estimates a column = value condition without statistics
// at 0.5% of the table's rows: for an IN list of 256 values that is more than the whole table,
// so it scanned the whole table, in parallel, for every batch, and an import for existing
// users (users import, then tokens import) slowed down with the square of its size. Per value,
// the same default estimate is small and the index wins: so each id is counted by its own
// subquery and each fingerprint looked up by its own (LATERAL, kept apart from the join by
// OFFSET 0), the values coming as one array parameter.
const (
	pgCountMethodsSQL = `SELECT u.id, (SELECT COUNT(*) FROM tokens t WHERE t.user_id = u.id)
		+ (SELECT COUNT(*) FROM auth_methods m WHERE m.user_id = u.id)
		FROM unnest(?::bigint[]) AS u(id)`
	pgSecretHoldersSQL = `SELECT t.secret_fp, t.id, t.serial_key, t.serial FROM unnest(?::bytea[]) AS f(fp)
		CROSS JOIN LATERAL (SELECT secret_fp, id, serial_key, serial FROM tokens
			WHERE secret_fp = f.fp AND id <= ? OFFSET 0) t ORDER BY t.id`
)

var tokenCopyColumns = []string{"serial", "serial_key", "secret_enc", "secret_fp", "hash", "digits", "period",
	"manufacturer", "model", "user_id", "status", "source_file", "created_at", "updated_at"}

// reserveUserIDs hands out n ids for the users an import creates. On SQLite the import holds
// the write lock from its start, so the ids after MAX(id) are its own. PostgreSQL's identity
// sequence would not know of ids chosen that way (a later AddUser would collide with them),
// so they come from the sequence, in one statement.
func (im *importer) reserveUserIDs(n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if im.dialect != dialectPostgres {
		for range n {
			im.nextUserID++
			ids = append(ids, im.nextUserID)
		}
		return ids, nil
	}
	s, err := im.stmt("reserve-user-ids", 1, func(int) string {
		return `SELECT nextval(pg_get_serial_sequence('users', 'id')) FROM generate_series(1, ?)`
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.QueryContext(im.ctx, int64(n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("reserved %d user ids, want %d", len(ids), n)
	}
	return ids, nil
}

// copyTokens is insertTokens' PostgreSQL path: the batch's new tokens go in with one COPY
// (binary, no statement to parse or plan, no parameter limit) on the import's connection and
// so in its transaction. The unique, foreign-key and CHECK constraints apply to COPY as to
// INSERT.
func (im *importer) copyTokens(part []*pendingRow) error {
	rows := make([][]any, 0, len(part))
	for _, p := range part {
		var user any
		status := StatusAvailable
		if p.userID != 0 {
			user, status = p.userID, StatusAssigned
		}
		rows = append(rows, []any{p.Serial, p.serialKey, p.enc, p.fp, p.Hash, int64(p.Digits), int64(p.Period),
			p.Manufacturer, p.Model, user, string(status), p.SourceFile, im.now, im.now})
	}
	if err := pgCopyTokens(im.ctx, im.conn, rows); err != nil {
		return err
	}
	for _, p := range part {
		im.serialKeys.noted(p.serialKey)
	}
	im.res.Imported += len(part)
	im.inserted += int64(len(part))
	return nil
}
