package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// The model lives in internal/directory; these names keep the store's callers compiling.
type (
	MethodKind      = directory.MethodKind
	OATHMethod      = directory.OATHMethod
	AuthSubject     = directory.AuthSubject
	AppPasswordHash = directory.AppPasswordHash
)

const (
	MethodHardware = directory.MethodHardware
	MethodApp      = directory.MethodApp
)

// This file is the persistence side of activation and verification (internal/auth decides;
// this reads and records). Reads that need no lock (the user, their methods and secrets) happen
// before the write transaction; every change is then made with a conditional UPDATE whose
// WHERE clause restates what the decision assumed (the step is newer than the last accepted
// one, the token is still awaiting activation), so a concurrent attempt that got there first
// makes the update touch no row instead of being overwritten. SQLite's BEGIN IMMEDIATE already
// serialises writers; the conditions are what keep it correct on engines that do not.

// The reads of AuthSubject; a test checks that SQLite answers each with an index.
const (
	qAuthUser = `SELECT id, upn, display_name, email, phone, state, blocked_reason, must_register,
		failed_attempts, locked, created_at, updated_at FROM users WHERE upn_key = ?`
	qAuthTokens = `SELECT id, serial, secret_enc, hash, digits, period, drift, last_step
		FROM tokens WHERE user_id = ? AND status = 'activated' ORDER BY serial_key`
	qAuthApps = `SELECT id, name, secret_enc, hash, digits, period, drift, last_step
		FROM auth_methods WHERE user_id = ? ORDER BY created_at, id`
)

// AuthSubject loads the user with the UPN (case-insensitive; a NotFoundError when unknown) and
// their usable OATH methods with decrypted secrets. Each query is a lookup on an index
// (users_upn_key, tokens_user_status, auth_methods_user), so the cost does not grow with the
// size of the directory.
func (d *DB) AuthSubject(ctx context.Context, upn string) (AuthSubject, error) {
	s, err := d.needSealer()
	if err != nil {
		return AuthSubject{}, err
	}
	u, err := authUser(ctx, d.sql, upn)
	if err != nil {
		return AuthSubject{}, err
	}
	subj := AuthSubject{User: u, Methods: []OATHMethod{}}
	rows, err := d.sql.QueryContext(ctx, qAuthTokens, u.ID)
	if err != nil {
		return AuthSubject{}, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		m := OATHMethod{Kind: MethodHardware}
		var enc []byte
		if err := rows.Scan(&m.TokenID, &m.Name, &enc, &m.Hash, &m.Digits, &m.Period, &m.Drift, &m.LastStep); err != nil {
			return AuthSubject{}, mapErr(err)
		}
		if m.Secret, err = s.Open(enc, m.Name); err != nil {
			return AuthSubject{}, fmt.Errorf("decrypting the secret of token %s: %w", m.Name, err)
		}
		subj.Methods = append(subj.Methods, m)
	}
	if err := rows.Err(); err != nil {
		return AuthSubject{}, mapErr(err)
	}
	rows.Close()
	rows, err = d.sql.QueryContext(ctx, qAuthApps, u.ID)
	if err != nil {
		return AuthSubject{}, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		m := OATHMethod{Kind: MethodApp}
		var enc []byte
		if err := rows.Scan(&m.AppID, &m.Name, &enc, &m.Hash, &m.Digits, &m.Period, &m.Drift, &m.LastStep); err != nil {
			return AuthSubject{}, mapErr(err)
		}
		// Authenticator-app secrets are sealed under the method id (see 0001_init.sql).
		if m.Secret, err = s.Open(enc, m.AppID); err != nil {
			return AuthSubject{}, fmt.Errorf("decrypting the secret of authenticator app %s: %w", m.AppID, err)
		}
		subj.Methods = append(subj.Methods, m)
	}
	return subj, mapErr(rows.Err())
}

// authUser reads the user without the method counts of userColumns, which verification does
// not need.
func authUser(ctx context.Context, q querier, upn string) (User, error) {
	var u User
	var state string
	var created, updated int64
	var mustRegister, locked int
	err := q.QueryRowContext(ctx, qAuthUser, Key(upn)).Scan(
		&u.ID, &u.UPN, &u.DisplayName, &u.Email, &u.Phone, &state, &u.BlockedReason, &mustRegister,
		&u.FailedAttempts, &locked, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, &NotFoundError{Kind: "user", Name: upn}
	}
	if err != nil {
		return User{}, mapErr(err)
	}
	u.State = UserState(state)
	u.MustRegister, u.Locked = mustRegister != 0, locked != 0
	u.CreatedAt, u.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return u, nil
}

// AppPasswordHashes returns the user's app-password hashes, oldest first; never nil.
func (d *DB) AppPasswordHashes(ctx context.Context, userID int64) ([]AppPasswordHash, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, name, hash FROM app_passwords WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []AppPasswordHash{}
	for rows.Next() {
		var h AppPasswordHash
		if err := rows.Scan(&h.ID, &h.Name, &h.Hash); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, h)
	}
	return out, mapErr(rows.Err())
}

// ClearUserLockout unlocks the user's OATH methods after too many failed verifications and
// resets the failed-verification counter (for `users unblock` and `tokens enable`). Clearing
// a user who is not locked changes nothing; an unknown UPN is a NotFoundError.
func (d *DB) ClearUserLockout(ctx context.Context, upn string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		id, _, err := userIDByUPN(ctx, tx, upn)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET failed_attempts = 0, locked = 0, updated_at = ?
			WHERE id = ? AND (failed_attempts <> 0 OR locked <> 0)`, unix(d.now()), id)
		return err
	})
}

// AuthTx is the write transaction of one activation or verification attempt: its effects and
// its auth event commit together or not at all. It is only valid inside the function given to
// InAuthTx.
type AuthTx struct {
	d   *DB
	ctx context.Context
	tx  *sql.Tx
	now time.Time
}

// InAuthTx runs fn in a write transaction and commits when fn returns nil; an error rolls
// everything back (including auth events added by fn).
func (d *DB) InAuthTx(ctx context.Context, fn func(directory.AuthTx) error) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		return fn(&AuthTx{d: d, ctx: ctx, tx: tx, now: d.now()})
	})
}

// Audit writes an audit row of the change the transaction makes, in the name of the actor the
// directory is bound to (nothing without one): an activation attempt changes the token.
func (t *AuthTx) Audit(target, result, detail string) error {
	if t.d.actor == nil {
		return nil
	}
	return insertAudit(t.ctx, t.tx, t.d.auditKey(), t.d.auditEvent(target, result, detail), t.now)
}

// UserGuard re-reads, inside the transaction, what may have changed since the user was loaded:
// whether they are blocked and whether their OATH methods are locked.
func (t *AuthTx) UserGuard(userID int64) (state UserState, locked bool, err error) {
	var s string
	var l int
	err = t.tx.QueryRowContext(t.ctx, `SELECT state, locked FROM users WHERE id = ?`, userID).Scan(&s, &l)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, &NotFoundError{Kind: "user", Name: fmt.Sprintf("#%d", userID)}
	}
	return UserState(s), l != 0, err
}

// AcceptStep records a verified code: the method's last accepted step becomes step, its drift
// drift and its last-used time now, but only if step is newer than the stored last step (and a
// hardware token is still activated). When another attempt already accepted this step or a
// later one, nothing changes and ok is false, with the stored last step so the caller can tell
// a duplicate from an old code.
func (t *AuthTx) AcceptStep(m OATHMethod, step int64, drift int) (ok bool, last int64, err error) {
	var res sql.Result
	var lastQuery string
	var id any
	switch m.Kind {
	case MethodHardware:
		id = m.TokenID
		res, err = t.tx.ExecContext(t.ctx, `UPDATE tokens SET last_step = ?, drift = ?, last_used_at = ?, updated_at = ?
			WHERE id = ? AND status = 'activated' AND last_step < ?`, step, drift, unix(t.now), unix(t.now), m.TokenID, step)
		lastQuery = `SELECT last_step FROM tokens WHERE id = ?`
	case MethodApp:
		id = m.AppID
		res, err = t.tx.ExecContext(t.ctx, `UPDATE auth_methods SET last_step = ?, drift = ?, failed_attempts = 0,
			last_used_at = ?, updated_at = ? WHERE id = ? AND last_step < ?`, step, drift, unix(t.now), unix(t.now), m.AppID, step)
		lastQuery = `SELECT last_step FROM auth_methods WHERE id = ?`
	default:
		return false, 0, fmt.Errorf("unknown OATH method kind %q", m.Kind)
	}
	if err != nil {
		return false, 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		if err == nil && m.Kind == MethodHardware {
			err = recordDrift(t.ctx, t.tx, m.TokenID, t.now, step, drift, false)
		}
		return err == nil, step, err
	}
	err = t.tx.QueryRowContext(t.ctx, lastQuery, id).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return false, 0, &NotFoundError{Kind: string(m.Kind), Name: m.DeviceToken()}
	}
	return false, last, err
}

// RecordFailure counts a failed verification against the user. When the count of consecutive
// failures reaches limit, the user's OATH methods lock. It returns the new count and whether
// the methods are now locked.
func (t *AuthTx) RecordFailure(userID int64, limit int) (failed int, locked bool, err error) {
	var l int
	err = t.tx.QueryRowContext(t.ctx, `UPDATE users SET failed_attempts = failed_attempts + 1,
		locked = CASE WHEN failed_attempts + 1 >= ? THEN 1 ELSE locked END, updated_at = ?
		WHERE id = ? RETURNING failed_attempts, locked`, limit, unix(t.now), userID).Scan(&failed, &l)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, &NotFoundError{Kind: "user", Name: fmt.Sprintf("#%d", userID)}
	}
	return failed, l != 0, err
}

// ResetFailures clears the user's count of consecutive failed verifications after a success.
func (t *AuthTx) ResetFailures(userID int64) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE users SET failed_attempts = 0, updated_at = ? WHERE id = ? AND failed_attempts <> 0`,
		unix(t.now), userID)
	return err
}

// Token re-reads the token inside the transaction.
func (t *AuthTx) Token(serial string) (Token, error) { return getToken(t.ctx, t.tx, serial) }

// ActivateToken marks the token activated with the drift and step of the code that proved
// possession, clearing its failed-attempt counter; the step also becomes the last accepted one,
// so the activation code cannot be replayed to sign in. An activated token is a registered
// method, so its owner no longer must register. It changes nothing and returns false unless
// the token is still assigned or failed_activation and step is newer than its last step.
func (t *AuthTx) ActivateToken(id int64, step int64, drift int) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE tokens SET status = 'activated', drift = ?, last_step = ?,
		failed_attempts = 0, activated_at = ?, updated_at = ?
		WHERE id = ? AND user_id IS NOT NULL AND status IN ('assigned', 'failed_activation') AND last_step < ?`,
		drift, step, unix(t.now), unix(t.now), id, step)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); n != 1 || err != nil {
		return false, err
	}
	if err := recordDrift(t.ctx, t.tx, id, t.now, step, drift, true); err != nil {
		return false, err
	}
	_, err = t.tx.ExecContext(t.ctx, `UPDATE users SET must_register = 0, updated_at = ?
		WHERE id = (SELECT user_id FROM tokens WHERE id = ?) AND must_register <> 0`, unix(t.now), id)
	return err == nil, err
}

// FailActivation counts a failed activation: the token becomes failed_activation, or disabled
// with reason once limit consecutive failures are reached (until EnableToken). It returns the
// new count and status, and ok false (nothing changed) when the token is no longer awaiting
// activation.
func (t *AuthTx) FailActivation(id int64, limit int, reason string) (failed int, status TokenStatus, ok bool, err error) {
	var s string
	err = t.tx.QueryRowContext(t.ctx, `UPDATE tokens SET failed_attempts = failed_attempts + 1,
		status = CASE WHEN failed_attempts + 1 >= ? THEN 'disabled' ELSE 'failed_activation' END,
		disabled_reason = CASE WHEN failed_attempts + 1 >= ? THEN ? ELSE disabled_reason END,
		updated_at = ?
		WHERE id = ? AND user_id IS NOT NULL AND status IN ('assigned', 'failed_activation')
		RETURNING failed_attempts, status`, limit, limit, reason, unix(t.now), id).Scan(&failed, &s)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return failed, TokenStatus(s), err == nil, err
}

// TouchAppPassword records that the app password was just used.
func (t *AuthTx) TouchAppPassword(id string) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE app_passwords SET last_used_at = ? WHERE id = ?`, unix(t.now), id)
	return err
}

// AddAuthEvent records the attempt's auth event in the transaction; a zero Time is now.
func (t *AuthTx) AddAuthEvent(e AuthEvent) error {
	if e.Time.IsZero() {
		e.Time = t.now
	}
	return insertAuthEvent(t.ctx, t.tx, e)
}
