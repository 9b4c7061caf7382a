package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// The model lives in internal/directory; these names keep the store's callers compiling.
type (
	TokenStatus = directory.TokenStatus
	Token       = directory.Token
	TokenFilter = directory.TokenFilter
)

const (
	StatusAvailable        = directory.StatusAvailable
	StatusAssigned         = directory.StatusAssigned
	StatusActivated        = directory.StatusActivated
	StatusFailedActivation = directory.StatusFailedActivation
	StatusDisabled         = directory.StatusDisabled
)

// Key is directory.Key, the fold of UPNs and serial numbers that the *_key columns hold.
func Key(s string) string { return directory.Key(s) }

const tokenColumns = `t.id, t.serial, COALESCE(u.upn, ''), t.hash, t.digits, t.period, t.manufacturer, t.model,
	t.status, t.disabled_reason, t.drift, t.last_step, t.failed_attempts, t.source_file,
	t.created_at, t.updated_at, t.activated_at, t.last_used_at`

const tokenFrom = ` FROM tokens t LEFT JOIN users u ON u.id = t.user_id`

type scanner interface{ Scan(...any) error }

func scanToken(s scanner) (Token, error) {
	var t Token
	var created, updated int64
	var activated, used sql.NullInt64
	var status string
	err := s.Scan(&t.ID, &t.Serial, &t.UPN, &t.Hash, &t.Digits, &t.Period, &t.Manufacturer, &t.Model,
		&status, &t.DisabledReason, &t.Drift, &t.LastStep, &t.FailedAttempts, &t.SourceFile,
		&created, &updated, &activated, &used)
	t.Status = TokenStatus(status)
	t.CreatedAt = time.Unix(created, 0).UTC()
	t.UpdatedAt = time.Unix(updated, 0).UTC()
	t.ActivatedAt, t.LastUsedAt = fromUnix(activated), fromUnix(used)
	return t, err
}

// Tokens iterates over the tokens matching f, ordered by serial, without holding them all in
// memory. Stop early by breaking out of the loop.
func (d *DB) Tokens(ctx context.Context, f TokenFilter) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		q := `SELECT ` + tokenColumns + tokenFrom + ` WHERE 1 = 1`
		var args []any
		if f.UPN != "" {
			q += ` AND u.upn_key = ?`
			args = append(args, Key(f.UPN))
		}
		if f.Status != "" {
			q += ` AND t.status = ?`
			args = append(args, string(f.Status))
		}
		// Manufacturer and model are compared below rather than in SQL: SQLite's LOWER (and
		// LIKE, NOCASE) fold only ASCII, so LOWER(manufacturer) = strings.ToLower(arg) missed
		// "Élan Sécurité" even spelt exactly as stored. A listing reads every row anyway.
		q += ` ORDER BY t.serial_key`
		rows, err := d.sql.QueryContext(ctx, q, args...)
		if err != nil {
			yield(Token{}, mapErr(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err == nil && (f.Manufacturer != "" && Key(t.Manufacturer) != Key(f.Manufacturer) ||
				f.Model != "" && Key(t.Model) != Key(f.Model)) {
				continue
			}
			if !yield(t, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(Token{}, mapErr(err))
		}
	}
}

// ListTokens returns the tokens matching f, ordered by serial. It returns an empty, non-nil
// slice when none match.
func (d *DB) ListTokens(ctx context.Context, f TokenFilter) ([]Token, error) {
	out := []Token{}
	for t, err := range d.Tokens(ctx, f) {
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// GetToken returns the token with the serial (case-insensitive), or a NotFoundError.
func (d *DB) GetToken(ctx context.Context, serial string) (Token, error) {
	return getToken(ctx, d.sql, serial)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getToken(ctx context.Context, q querier, serial string) (Token, error) {
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenColumns+tokenFrom+` WHERE t.serial_key = ?`, Key(serial)))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, &NotFoundError{Kind: "token", Name: serial}
	}
	return t, mapErr(err)
}

// TokenSecret decrypts and returns the token's secret. Callers must not print or log it.
func (d *DB) TokenSecret(ctx context.Context, serial string) ([]byte, error) {
	s, err := d.needSealer()
	if err != nil {
		return nil, err
	}
	var stored string
	var enc []byte
	err = d.sql.QueryRowContext(ctx, `SELECT serial, secret_enc FROM tokens WHERE serial_key = ?`, Key(serial)).Scan(&stored, &enc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Kind: "token", Name: serial}
	}
	if err != nil {
		return nil, mapErr(err)
	}
	plain, err := s.Open(enc, stored)
	if err != nil {
		return nil, fmt.Errorf("decrypting the secret of token %s: %w", stored, err)
	}
	return plain, nil
}

// AssignToken assigns the token to the user (who must exist). Assigning it to its current
// owner changes nothing. A token assigned to someone else is a ConflictError unless force, in
// which case it moves and its activation is cleared. It returns the previous owner ("" when
// none) so callers can audit a forced reassignment. A disabled token cannot be assigned, and
// the user's OATH methods must stay within maxMethods (directory.MaxMethods when 0).
func (d *DB) AssignToken(ctx context.Context, serial, upn string, force bool, maxMethods int) (previous string, err error) {
	if maxMethods <= 0 {
		maxMethods = directory.MaxMethods
	}
	err = d.change(ctx, serial, func(tx *sql.Tx) ([]auditRow, error) {
		t, err := getToken(ctx, tx, serial)
		if err != nil {
			return nil, err
		}
		userID, owner, err := userIDByUPN(ctx, tx, upn)
		if err != nil {
			return nil, err
		}
		previous = t.UPN
		if t.UPN != "" && Key(t.UPN) == Key(upn) {
			return nil, nil
		}
		if t.Status == StatusDisabled {
			return nil, &tokenDisabledError{serial: t.Serial}
		}
		if t.UPN != "" && !force {
			return nil, &ConflictError{Msg: fmt.Sprintf("token %s is already assigned to %s", t.Serial, t.UPN)}
		}
		n, err := countMethods(ctx, tx, userID)
		if err != nil {
			return nil, err
		}
		if n >= maxMethods {
			return nil, &LimitError{UPN: owner, Limit: maxMethods}
		}
		if _, err = tx.ExecContext(ctx, `UPDATE tokens SET user_id = ?, status = 'assigned', drift = 0,
			failed_attempts = 0, activated_at = NULL, updated_at = ? WHERE id = ?`, userID, unix(d.now()), t.ID); err != nil {
			return nil, err
		}
		detail := "assigned to " + upn
		if t.UPN != "" {
			detail = fmt.Sprintf("moved from %s to %s (--force)", t.UPN, upn)
		}
		return []auditRow{{serial, detail}}, nil
	})
	return previous, err
}

// ErrTokenDisabled is directory.ErrTokenDisabled.
var ErrTokenDisabled = directory.ErrTokenDisabled

type tokenDisabledError struct{ serial string }

func (e *tokenDisabledError) Error() string {
	return fmt.Sprintf("token %s is disabled; enable it first", e.serial)
}

func (e *tokenDisabledError) Is(target error) bool {
	return target == ErrTokenDisabled || target == ErrConflict
}

// UnassignToken returns the token to stock: no owner, activation cleared, status available (a
// disabled token stays disabled). It returns the previous owner; unassigning a token that has
// none changes nothing.
func (d *DB) UnassignToken(ctx context.Context, serial string) (previous string, err error) {
	err = d.change(ctx, serial, func(tx *sql.Tx) ([]auditRow, error) {
		t, err := getToken(ctx, tx, serial)
		if err != nil {
			return nil, err
		}
		previous = t.UPN
		if t.UPN == "" {
			return nil, nil // nothing changed, nothing to record
		}
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET user_id = NULL,
			status = CASE WHEN status = 'disabled' THEN 'disabled' ELSE 'available' END,
			drift = 0, failed_attempts = 0, activated_at = NULL, updated_at = ? WHERE id = ?`, unix(d.now()), t.ID)
		return []auditRow{{serial, "unassigned from " + t.UPN}}, err
	})
	return previous, err
}

// DisableToken disables the token with a reason (shown in listings); it can no longer be
// activated or used until EnableToken.
func (d *DB) DisableToken(ctx context.Context, serial, reason string) error {
	return d.change(ctx, serial, func(tx *sql.Tx) ([]auditRow, error) {
		if _, err := getToken(ctx, tx, serial); err != nil {
			return nil, err
		}
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET status = 'disabled', disabled_reason = ?, updated_at = ? WHERE serial_key = ?`,
			reason, unix(d.now()), Key(serial))
		return []auditRow{{serial, "reason: " + reason}}, err
	})
}

// EnableToken lets a disabled or locked token be used again: it returns to activated when it
// had been activated, to assigned when it has an owner, else to available, with its failed
// counter cleared. It also lifts its owner's verification lockout (a user's OATH methods stay
// locked until `tokens enable` of one of their tokens or `users unblock`: docs/auth-events.md),
// in the same transaction.
func (d *DB) EnableToken(ctx context.Context, serial string) error {
	now := unix(d.now())
	return d.change(ctx, serial, func(tx *sql.Tx) ([]auditRow, error) {
		t, err := getToken(ctx, tx, serial)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET
			status = CASE WHEN user_id IS NULL THEN 'available'
			              WHEN activated_at IS NOT NULL THEN 'activated'
			              ELSE 'assigned' END,
			disabled_reason = '', failed_attempts = 0, updated_at = ?
			WHERE serial_key = ? AND status IN ('disabled', 'failed_activation')`, now, Key(serial)); err != nil {
			return nil, err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET failed_attempts = 0, locked = 0, updated_at = ?
			WHERE id = (SELECT user_id FROM tokens WHERE serial_key = ?) AND (failed_attempts <> 0 OR locked <> 0)`,
			now, Key(serial))
		return []auditRow{{serial, "was " + string(t.Status)}}, err
	})
}

func (d *DB) updateToken(ctx context.Context, serial, query string, args ...any) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getToken(ctx, tx, serial); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}

// DeleteTokens deletes the tokens in one transaction: all of them, or none when one is
// missing (a NotFoundError naming it).
func (d *DB) DeleteTokens(ctx context.Context, serials ...string) error {
	return d.change(ctx, strings.Join(serials, " "), func(tx *sql.Tx) ([]auditRow, error) {
		rows := make([]auditRow, 0, len(serials))
		for _, s := range serials {
			res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE serial_key = ?`, Key(s))
			if err != nil {
				return nil, err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil, &NotFoundError{Kind: "token", Name: s}
			}
			rows = append(rows, auditRow{s, "deleted"})
		}
		return rows, nil
	})
}

// CountTokens returns the number of tokens by status.
func (d *DB) CountTokens(ctx context.Context) (map[TokenStatus]int, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT status, COUNT(*) FROM tokens GROUP BY status`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[TokenStatus]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[TokenStatus(s)] = n
	}
	return out, mapErr(rows.Err())
}

// SecretInUse reports the serials of other tokens (not exclude) whose secret equals secret,
// compared by keyed fingerprint without decrypting anything (the secret.reused warning).
func (d *DB) SecretInUse(ctx context.Context, secret []byte, exclude string) ([]string, error) {
	s, err := d.needSealer()
	if err != nil {
		return nil, err
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT serial FROM tokens WHERE secret_fp = ? AND serial_key <> ? ORDER BY serial_key`,
		s.Fingerprint(secret), Key(exclude))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var serial string
		if err := rows.Scan(&serial); err != nil {
			return nil, err
		}
		out = append(out, serial)
	}
	return out, mapErr(rows.Err())
}
