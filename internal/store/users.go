package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// The model lives in internal/directory; these names keep the store's callers compiling.
type (
	UserState         = directory.UserState
	User              = directory.User
	UserImportOptions = directory.UserImportOptions
	UserImportResult  = directory.UserImportResult
)

const (
	UserActive  = directory.UserActive
	UserBlocked = directory.UserBlocked
)

const userColumns = `u.id, u.upn, u.display_name, u.email, u.phone, u.state, u.blocked_reason, u.must_register,
	u.failed_attempts, u.locked, u.created_at, u.updated_at,
	(SELECT COUNT(*) FROM tokens t WHERE t.user_id = u.id) + (SELECT COUNT(*) FROM auth_methods m WHERE m.user_id = u.id),
	(SELECT COUNT(*) FROM tokens t WHERE t.user_id = u.id AND t.status = 'activated'),
	(SELECT COUNT(*) FROM tokens t WHERE t.user_id = u.id AND t.status IN ('assigned', 'failed_activation')),
	(SELECT COUNT(*) FROM app_passwords p WHERE p.user_id = u.id)`

func scanUser(s scanner) (User, error) {
	var u User
	var state string
	var created, updated int64
	var mustRegister, locked int
	err := s.Scan(&u.ID, &u.UPN, &u.DisplayName, &u.Email, &u.Phone, &state, &u.BlockedReason, &mustRegister,
		&u.FailedAttempts, &locked, &created, &updated,
		&u.Methods, &u.TokensActivated, &u.TokensPending, &u.AppPasswords)
	u.State = UserState(state)
	u.MustRegister, u.Locked = mustRegister != 0, locked != 0
	u.CreatedAt, u.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return u, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AddUser creates a user. An existing UPN (in any letter case) is a ConflictError. Empty State
// means active. It returns the stored user.
func (d *DB) AddUser(ctx context.Context, u User) (User, error) {
	if u.UPN == "" {
		return User{}, errors.New("adding user: empty UPN")
	}
	err := d.change(ctx, u.UPN, func(tx *sql.Tx) ([]auditRow, error) {
		return []auditRow{{u.UPN, "added"}}, insertUser(ctx, tx, u, d.now())
	})
	if err != nil {
		return User{}, err
	}
	return d.GetUser(ctx, u.UPN)
}

func insertUser(ctx context.Context, q querier, u User, now time.Time) error {
	if u.State == "" {
		u.State = UserActive
	}
	_, err := q.ExecContext(ctx, `INSERT INTO users (upn, upn_key, display_name, email, phone, state, blocked_reason,
		must_register, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.UPN, Key(u.UPN), u.DisplayName, u.Email, u.Phone, string(u.State), u.BlockedReason,
		boolInt(u.MustRegister), unix(now), unix(now))
	if isUniqueViolation(err) {
		return &ConflictError{Msg: fmt.Sprintf("user %s already exists", u.UPN)}
	}
	return err
}

// ImportUsers creates (or with Update, updates) users in one transaction. An error from the
// source or the context rolls everything back.
func (d *DB) ImportUsers(ctx context.Context, src iter.Seq2[User, error], opts UserImportOptions) (UserImportResult, error) {
	var res UserImportResult
	err := d.change(ctx, "", func(tx *sql.Tx) ([]auditRow, error) {
		now := d.now()
		for u, err := range src {
			if err != nil {
				return nil, err
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if u.UPN == "" {
				return nil, errors.New("importing users: empty UPN")
			}
			old, err := getUser(ctx, tx, u.UPN)
			if errors.Is(err, ErrNotFound) {
				if err := insertUser(ctx, tx, u, now); err != nil {
					return nil, err
				}
				res.Created++
				continue
			}
			if err != nil {
				return nil, err
			}
			switch {
			case old.DisplayName == u.DisplayName && old.Email == u.Email && old.Phone == u.Phone:
				res.Unchanged++
			case !opts.Update:
				res.Skipped++
			default:
				_, err := tx.ExecContext(ctx, `UPDATE users SET display_name = ?, email = ?, phone = ?, updated_at = ? WHERE id = ?`,
					u.DisplayName, u.Email, u.Phone, unix(now), old.ID)
				if err != nil {
					return nil, err
				}
				res.Updated++
			}
		}
		if opts.DryRun {
			return nil, errDryRun
		}
		if opts.AuditTarget == "" {
			return nil, nil
		}
		rows := res.Created + res.Updated + res.Unchanged + res.Skipped
		if opts.SourceRows != nil {
			rows = opts.SourceRows()
		}
		return []auditRow{{opts.AuditTarget, fmt.Sprintf("rows=%d created=%d updated=%d unchanged=%d skipped=%d",
			rows, res.Created, res.Updated, res.Unchanged, res.Skipped)}}, nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return res, err
}

// errDryRun makes inTx roll back a dry run.
var errDryRun = errors.New("dry run")

// ListUsers returns all users ordered by UPN, with their method counts; never nil.
func (d *DB) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.upn_key`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err())
}

// GetUser returns the user with the UPN (case-insensitive), or a NotFoundError.
func (d *DB) GetUser(ctx context.Context, upn string) (User, error) {
	return getUser(ctx, d.sql, upn)
}

func getUser(ctx context.Context, q querier, upn string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.upn_key = ?`, Key(upn)))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, &NotFoundError{Kind: "user", Name: upn}
	}
	return u, mapErr(err)
}

func userIDByUPN(ctx context.Context, q querier, upn string) (id int64, stored string, err error) {
	err = q.QueryRowContext(ctx, `SELECT id, upn FROM users WHERE upn_key = ?`, Key(upn)).Scan(&id, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", &NotFoundError{Kind: "user", Name: upn}
	}
	return id, stored, err
}

// DeleteUser deletes the user. Their hardware tokens go back to stock (available, activation
// cleared; disabled ones stay disabled); their authenticator-app registrations and app
// passwords are deleted with them. Auth and audit events are history and are kept.
func (d *DB) DeleteUser(ctx context.Context, upn string) error {
	return d.change(ctx, upn, func(tx *sql.Tx) ([]auditRow, error) {
		u, err := getUser(ctx, tx, upn)
		if err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET user_id = NULL,
			status = CASE WHEN status = 'disabled' THEN 'disabled' ELSE 'available' END,
			drift = 0, failed_attempts = 0, activated_at = NULL, updated_at = ? WHERE user_id = ?`, unix(d.now()), u.ID)
		if err != nil {
			return nil, err
		}
		tokens, _ := res.RowsAffected()
		// auth_methods and app_passwords go by ON DELETE CASCADE.
		if _, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID); err != nil {
			return nil, err
		}
		detail := fmt.Sprintf("deleted; %d hardware tokens returned to stock, %d app passwords deleted", tokens, u.AppPasswords)
		if n := u.Methods - int(tokens); n > 0 {
			// The audit log must say that the user's authenticator apps went too.
			detail += fmt.Sprintf(", %d authenticator apps removed", n)
		}
		return []auditRow{{u.UPN, detail}}, nil
	})
}

// CountMethods returns the user's OATH methods: hardware tokens plus authenticator apps.
func (d *DB) CountMethods(ctx context.Context, upn string) (int, error) {
	id, _, err := userIDByUPN(ctx, d.sql, upn)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := countMethods(ctx, d.sql, id)
	return n, mapErr(err)
}

func countMethods(ctx context.Context, q querier, userID int64) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM tokens WHERE user_id = ?) +
		(SELECT COUNT(*) FROM auth_methods WHERE user_id = ?)`, userID, userID).Scan(&n)
	return n, err
}
