package store

import (
	"context"
	"fmt"
	"os"
)

// Info describes a directory for `directory info`: where it lives, its schema and how much it
// holds. It reads no secret and needs no key.
type Info struct {
	Backend       Kind
	Location      string // the file, or the URL without its password
	SchemaVersion int
	Users         int64
	Tokens        map[TokenStatus]int64 // every status, zero included
	AuthApps      int64
	AppPasswords  int64
	AuthEvents    int64
	AuditEvents   int64
	KeyCheck      bool  // a key check value is recorded: the directory has a master key
	FileSize      int64 // SQLite: bytes of the database file (and its WAL); -1 otherwise
}

// TokenStatuses are the token statuses in the order listings show them.
var TokenStatuses = []TokenStatus{StatusAvailable, StatusAssigned, StatusActivated, StatusFailedActivation, StatusDisabled}

// Info reads the directory's description in one read transaction.
func (d *DB) Info(ctx context.Context) (Info, error) {
	in := Info{Backend: KindSQLite, Location: d.path, FileSize: -1, Tokens: map[TokenStatus]int64{}}
	if d.dialect == dialectPostgres {
		in.Backend = KindPostgres
	}
	for _, s := range TokenStatuses {
		in.Tokens[s] = 0
	}
	tx, err := beginSnapshot(ctx, d)
	if err != nil {
		return in, WithPath(mapErr(err), d.path)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&in.SchemaVersion); err != nil {
		return in, fmt.Errorf("reading %s: %w", d.path, mapErr(err))
	}
	for _, c := range []struct {
		table string
		n     *int64
	}{{"users", &in.Users}, {"auth_methods", &in.AuthApps}, {"app_passwords", &in.AppPasswords},
		{"auth_events", &in.AuthEvents}, {"audit_events", &in.AuditEvents}} {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+c.table).Scan(c.n); err != nil {
			return in, fmt.Errorf("reading %s: %w", d.path, mapErr(err))
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT status, COUNT(*) FROM tokens GROUP BY status`)
	if err != nil {
		return in, fmt.Errorf("reading %s: %w", d.path, mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return in, fmt.Errorf("reading %s: %w", d.path, mapErr(err))
		}
		in.Tokens[TokenStatus(s)] = n
	}
	if err := rows.Err(); err != nil {
		return in, fmt.Errorf("reading %s: %w", d.path, mapErr(err))
	}
	check, err := readMeta(ctx, tx, metaKeyCheck)
	if err != nil {
		return in, fmt.Errorf("reading %s: %w", d.path, mapErr(err))
	}
	in.KeyCheck = check != nil
	if d.dialect == dialectSQLite {
		in.FileSize = 0
		for _, suffix := range []string{"", "-wal"} {
			if st, err := os.Stat(d.path + suffix); err == nil {
				in.FileSize += st.Size()
			}
		}
	}
	return in, nil
}
