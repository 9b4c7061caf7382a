package store

import (
	"context"
	"embed"
	"fmt"
	"strings"
)

// Migrations are numbered SQL files (NNNN_name.sql) applied in order, each in its own
// transaction together with its row in schema_migrations. They only ever add: a released
// migration is never edited.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the SQLite migrations (the PostgreSQL ones are in migrations/postgres).
func loadMigrations() ([]migration, error) { return readMigrations(migrationFiles, "migrations") }

// SchemaVersion returns the highest applied migration.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := d.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, mapErr(err)
}

// readCompatible lists the migrations that a read-only open may do without: they only add
// indexes, so every query runs without them, only slower. A read-only open of a directory
// missing any other migration is refused (SchemaError) rather than upgraded, since reading
// never writes; the next command that changes the directory upgrades it.
var readCompatible = map[int]bool{
	2: true, // 0002_reports: covering indexes for the reports
	// 0003_drift_audit_chain adds the drift history and the audit rows' MACs: a directory
	// without them has no drift to report (DriftHistory yields nothing) and no chain to check
	// (VerifyAuditChain says so), and every other read is the same. So an upgraded mfactl
	// reports on a directory before its first write.
	3: true,
}

// driftAuditSchema is the schema version that brought the drift history and the audit chain.
const driftAuditSchema = 3

// atLeast reports whether the directory's schema is at version v or later (a read-only open
// of an older directory reads it without upgrading).
func (d *DB) atLeast(ctx context.Context, v int) (bool, error) {
	have, err := d.SchemaVersion(ctx)
	return have >= v, err
}

// checkSchema is migrate for a read-only open: it checks that this mfactl can read the
// schema as it is.
func (d *DB) checkSchema(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	var current int
	err = d.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current)
	if err != nil {
		return fileErr(err)
	}
	if current > latest {
		return fmt.Errorf("database schema version %d is newer than this mfactl supports (%d); upgrade mfactl", current, latest)
	}
	for _, m := range ms {
		if m.version > current && !readCompatible[m.version] {
			return &SchemaError{Path: d.path, Have: current, Want: latest}
		}
	}
	return nil
}

func (d *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	// Fast path: an up-to-date database needs only a read.
	var current int
	err = d.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current)
	if err != nil && !strings.Contains(err.Error(), "no such table") {
		// Not a new database: one that cannot be read (not a database, a read-only directory).
		return fileErr(err)
	}
	if err != nil {
		_, err = d.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		)`)
		if err != nil {
			return fmt.Errorf("creating schema_migrations: %w", fileErr(err))
		}
		current = 0
	}
	if current > latest {
		return fmt.Errorf("database schema version %d is newer than this mfactl supports (%d); upgrade mfactl", current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if err := d.apply(ctx, m); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (d *DB) apply(ctx context.Context, m migration) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have applied it while we waited for the write lock.
	var done bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.version).Scan(&done); err != nil {
		return err
	}
	if done {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, unix(d.now())); err != nil {
		return err
	}
	return tx.Commit()
}
