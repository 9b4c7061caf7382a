package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// The model lives in internal/directory; these names keep the store's callers compiling.
type (
	AppPassword       = directory.AppPassword
	AuthApp           = directory.AuthApp
	NewAuthApp        = directory.NewAuthApp
	ResetToken        = directory.ResetToken
	RegistrationReset = directory.RegistrationReset
)

// This file holds the operations on a user's registration: resetting it, blocking and
// unblocking, app passwords and authenticator-app registrations (the auth_methods table).

// ResetRegistrations requires the users to register their MFA methods again, in one
// transaction for all of them: each user's hardware tokens are unassigned (status available,
// or disabled when they were; drift, failures and activation cleared; the last used time step
// is kept, so a code seen before the reset cannot activate the token again), their
// authenticator-app registrations are deleted and must_register is set. App passwords, the
// user's state and a lockout stay as they are. An unknown UPN is a NotFoundError and changes
// nothing. With dryRun the transaction is rolled back, so the result is exactly what a real
// run would do at that moment. The result has one entry per distinct user, in input order.
func (d *DB) ResetRegistrations(ctx context.Context, upns []string, dryRun bool) ([]RegistrationReset, error) {
	out := []RegistrationReset{}
	err := d.change(ctx, "", func(tx *sql.Tx) ([]auditRow, error) {
		// The same six statements run for every user: prepare them once (parsing dominated the
		// cost of a bulk reset before).
		st, err := prepareAll(ctx, tx, resetQueries[:])
		if err != nil {
			return nil, err
		}
		defer closeAll(st)
		now := unix(d.now())
		seen := map[int64]bool{}
		for _, upn := range upns {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			var id int64
			var r RegistrationReset
			var mustRegister int
			err := st[resetUser].QueryRowContext(ctx, Key(upn)).Scan(&id, &r.UPN, &mustRegister, &r.AppPasswordsKept)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, &NotFoundError{Kind: "user", Name: upn}
			}
			if err != nil {
				return nil, err
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			r.WasMustRegister = mustRegister != 0
			if r.Tokens, err = userTokens(ctx, st[resetTokens], id); err != nil {
				return nil, err
			}
			if r.AuthApps, err = scanAuthApps(st[resetApps].QueryContext(ctx, id)); err != nil {
				return nil, err
			}
			for _, i := range []int{resetUnassign, resetDeleteApps, resetMustRegister} {
				if _, err := st[i].ExecContext(ctx, now, id); err != nil {
					return nil, err
				}
			}
			out = append(out, r)
		}
		if dryRun {
			return nil, errDryRun
		}
		rows := make([]auditRow, len(out))
		for i, r := range out {
			rows[i] = auditRow{r.UPN, r.AuditDetail()}
		}
		return rows, nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// The statements of ResetRegistrations, by index. Those that change a user take (now, id).
const (
	resetUser = iota
	resetTokens
	resetApps
	resetUnassign
	resetDeleteApps
	resetMustRegister
)

var resetQueries = [...]string{
	resetUser: `SELECT u.id, u.upn, u.must_register, (SELECT COUNT(*) FROM app_passwords p WHERE p.user_id = u.id)
		FROM users u WHERE u.upn_key = ?`,
	resetTokens: `SELECT serial, status FROM tokens WHERE user_id = ? ORDER BY serial_key`,
	resetApps:   `SELECT ` + authAppColumns + ` WHERE m.user_id = ? ORDER BY m.created_at, m.id`,
	resetUnassign: `UPDATE tokens SET user_id = NULL,
		status = CASE WHEN status = 'disabled' THEN 'disabled' ELSE 'available' END,
		drift = 0, failed_attempts = 0, activated_at = NULL, updated_at = ? WHERE user_id = ?`,
	// The time is unused; it keeps one argument list for all three changes.
	resetDeleteApps:   `DELETE FROM auth_methods WHERE CAST(? AS BIGINT) IS NOT NULL AND user_id = ?`,
	resetMustRegister: `UPDATE users SET must_register = 1, updated_at = ? WHERE id = ?`,
}

func prepareAll(ctx context.Context, tx *sql.Tx, queries []string) ([]*sql.Stmt, error) {
	st := make([]*sql.Stmt, 0, len(queries))
	for _, q := range queries {
		s, err := tx.PrepareContext(ctx, q)
		if err != nil {
			closeAll(st)
			return nil, err
		}
		st = append(st, s)
	}
	return st, nil
}

func closeAll(st []*sql.Stmt) {
	for _, s := range st {
		s.Close()
	}
}

func userTokens(ctx context.Context, st *sql.Stmt, userID int64) ([]ResetToken, error) {
	rows, err := st.QueryContext(ctx, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ResetToken{}
	for rows.Next() {
		var t ResetToken
		var status string
		if err := rows.Scan(&t.Serial, &status); err != nil {
			return nil, err
		}
		t.Status, t.NewStatus = TokenStatus(status), StatusAvailable
		if t.Status == StatusDisabled {
			t.NewStatus = StatusDisabled
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// BlockUser blocks the user: verification is then always denied. The reason is kept for
// listings and denial events; blocking a blocked user updates the reason. It returns the user
// as stored afterwards and whether anything changed.
func (d *DB) BlockUser(ctx context.Context, upn, reason string) (User, bool, error) {
	return d.setUserState(ctx, upn, func(u User) (string, []any, string) {
		if u.State == UserBlocked && u.BlockedReason == reason {
			return "", nil, ""
		}
		detail := "blocked"
		if reason != "" {
			detail += ": " + reason
		}
		return `state = 'blocked', blocked_reason = ?`, []any{reason}, detail
	})
}

// UnblockUser makes the user active again and clears the failure lockout (failed attempts
// and locked OATH methods), so unblocking is also how an admin lifts a lockout. It returns the
// user as stored afterwards and whether anything changed.
func (d *DB) UnblockUser(ctx context.Context, upn string) (User, bool, error) {
	return d.setUserState(ctx, upn, func(u User) (string, []any, string) {
		if u.State == UserActive && u.BlockedReason == "" && u.FailedAttempts == 0 && !u.Locked {
			return "", nil, ""
		}
		// The audit detail says what unblocking lifted.
		detail := "unblocked"
		if u.State != UserBlocked {
			detail = "was not blocked"
		}
		if u.Locked || u.FailedAttempts > 0 {
			detail += fmt.Sprintf("; lockout cleared (locked=%t, failed attempts=%d)", u.Locked, u.FailedAttempts)
		}
		return `state = 'active', blocked_reason = '', failed_attempts = 0, locked = 0`, nil, detail
	})
}

// setUserState updates the user's row with the SET clause change returns, when it reports a
// change, in one transaction with the read it decides on.
func (d *DB) setUserState(ctx context.Context, upn string, change func(User) (set string, args []any, detail string)) (User, bool, error) {
	var after User
	var changed bool
	err := d.change(ctx, upn, func(tx *sql.Tx) ([]auditRow, error) {
		u, err := getUser(ctx, tx, upn)
		if err != nil {
			return nil, err
		}
		set, args, detail := change(u)
		if detail == "" { // nothing to change
			after = u
			return nil, nil
		}
		changed = true
		args = append(args, unix(d.now()), u.ID)
		if _, err := tx.ExecContext(ctx, `UPDATE users SET `+set+`, updated_at = ? WHERE id = ?`, args...); err != nil {
			return nil, err
		}
		after, err = getUser(ctx, tx, upn)
		return []auditRow{{after.UPN, detail}}, err
	})
	if err != nil {
		return User{}, false, err
	}
	return after, changed, nil
}

// ErrNotHashed: AddAppPassword was given something that is not a PHC hash string; it refuses
// to store what may be a password.
var ErrNotHashed = errors.New("app password hash must be a PHC string ($id$...)")

// AddAppPassword stores a new app password of the user under a new random id. hash must be a
// slow hash in PHC form ("$argon2id$..."): the password itself is never stored.
func (d *DB) AddAppPassword(ctx context.Context, upn, name, hash string) (AppPassword, error) {
	if !strings.HasPrefix(hash, "$") || strings.Count(hash, "$") < 3 {
		return AppPassword{}, ErrNotHashed
	}
	var out AppPassword
	err := d.change(ctx, upn, func(tx *sql.Tx) ([]auditRow, error) {
		userID, stored, err := userIDByUPN(ctx, tx, upn)
		if err != nil {
			return nil, err
		}
		now := d.now()
		id, err := insertWithID(ctx, tx, `INSERT INTO app_passwords (id, user_id, name, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			func(string) []any { return []any{userID, name, hash, unix(now)} })
		if err != nil {
			return nil, err
		}
		out = AppPassword{ID: id, UPN: stored, Name: name, CreatedAt: time.Unix(unix(now), 0).UTC()}
		return []auditRow{{stored, fmt.Sprintf("created app password %s (%s)", id, name)}}, nil
	})
	return out, err
}

const appPasswordColumns = `p.id, u.upn, p.name, p.created_at, p.last_used_at FROM app_passwords p JOIN users u ON u.id = p.user_id`

// ListAppPasswords returns the user's app passwords, or everyone's when upn is empty, ordered
// by user and creation; never nil. An unknown user is a NotFoundError.
func (d *DB) ListAppPasswords(ctx context.Context, upn string) ([]AppPassword, error) {
	q, args := `SELECT `+appPasswordColumns, []any{}
	if upn != "" {
		id, _, err := userIDByUPN(ctx, d.sql, upn)
		if err != nil {
			return nil, mapErr(err)
		}
		q += ` WHERE p.user_id = ?`
		args = append(args, id)
	}
	out, err := listAppPasswords(ctx, d.sql, q+` ORDER BY u.upn_key, p.created_at, p.id`, args...)
	return out, mapErr(err)
}

func listAppPasswords(ctx context.Context, q querier, query string, args ...any) ([]AppPassword, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AppPassword{}
	for rows.Next() {
		var p AppPassword
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&p.ID, &p.UPN, &p.Name, &created, &used); err != nil {
			return nil, err
		}
		p.CreatedAt, p.LastUsedAt = time.Unix(created, 0).UTC(), fromUnix(used)
		out = append(out, p)
	}
	return out, rows.Err()
}

// RevokeAppPasswords deletes the user's app password with the id, or all of them when id is
// empty (the lost-phone case), and returns what it deleted; never nil. An id the user does not
// have is a NotFoundError; revoking all of none deletes nothing and is not an error.
func (d *DB) RevokeAppPasswords(ctx context.Context, upn, id string) ([]AppPassword, error) {
	var out []AppPassword
	err := d.change(ctx, upn, func(tx *sql.Tx) ([]auditRow, error) {
		userID, stored, err := userIDByUPN(ctx, tx, upn)
		if err != nil {
			return nil, err
		}
		q, args := `SELECT `+appPasswordColumns+` WHERE p.user_id = ?`, []any{userID}
		if id != "" {
			q += ` AND p.id = ?`
			args = append(args, Key(id))
		}
		if out, err = listAppPasswords(ctx, tx, q+` ORDER BY p.created_at, p.id`, args...); err != nil {
			return nil, err
		}
		if id != "" && len(out) == 0 {
			return nil, &NotFoundError{Kind: "app password", Name: fmt.Sprintf("%s of user %s", id, stored)}
		}
		del, dargs := `DELETE FROM app_passwords WHERE user_id = ?`, []any{userID}
		if id != "" {
			del += ` AND id = ?`
			dargs = append(dargs, Key(id))
		}
		if _, err = tx.ExecContext(ctx, del, dargs...); err != nil {
			return nil, err
		}
		rows := make([]auditRow, len(out))
		for i, p := range out {
			rows[i] = auditRow{p.UPN, fmt.Sprintf("revoked app password %s (%s)", p.ID, p.Name)}
		}
		return rows, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddAuthApp registers an authenticator app for the user under a new random id. The secret
// is sealed with the master key under that id, with its keyed fingerprint beside it, as
// token secrets are. The user's OATH methods (hardware tokens plus authenticator apps) must
// stay within maxMethods (directory.MaxMethods when 0), else a LimitError. Registering a method
// is a new registration, so it clears the user's must_register flag.
func (d *DB) AddAuthApp(ctx context.Context, upn string, app NewAuthApp, maxMethods int) (AuthApp, error) {
	sealer, err := d.needSealer()
	if err != nil {
		return AuthApp{}, err
	}
	if len(app.Secret) == 0 {
		return AuthApp{}, errors.New("adding authenticator app: empty secret")
	}
	if maxMethods <= 0 {
		maxMethods = directory.MaxMethods
	}
	if app.Hash == "" {
		app.Hash = "SHA1"
	}
	if app.Digits == 0 {
		app.Digits = 6
	}
	if app.Period == 0 {
		app.Period = 30
	}
	var out AuthApp
	err = d.change(ctx, upn, func(tx *sql.Tx) ([]auditRow, error) {
		userID, stored, err := userIDByUPN(ctx, tx, upn)
		if err != nil {
			return nil, err
		}
		n, err := countMethods(ctx, tx, userID)
		if err != nil {
			return nil, err
		}
		if n >= maxMethods {
			return nil, &LimitError{UPN: stored, Limit: maxMethods}
		}
		now := unix(d.now())
		fp := sealer.Fingerprint(app.Secret)
		id, err := insertWithID(ctx, tx, `INSERT INTO auth_methods (id, user_id, name, issuer, secret_enc, secret_fp, hash, digits,
			period, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			func(id string) []any {
				return []any{userID, app.Name, app.Issuer, sealer.Seal(app.Secret, id), fp, app.Hash, app.Digits, app.Period, now, now}
			})
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET must_register = 0, updated_at = ? WHERE id = ? AND must_register <> 0`, now, userID); err != nil {
			return nil, err
		}
		out = AuthApp{ID: id, UPN: stored, Name: app.Name, Issuer: app.Issuer, Hash: app.Hash, Digits: app.Digits,
			Period: app.Period, CreatedAt: time.Unix(now, 0).UTC()}
		detail := fmt.Sprintf("enrolled authenticator app %s (%s), issuer %s", id, app.Name, app.Issuer)
		if app.AuditNote != "" {
			detail += ", " + app.AuditNote
		}
		return []auditRow{{stored, detail}}, nil
	})
	return out, err
}

const authAppColumns = `m.id, u.upn, m.name, m.issuer, m.hash, m.digits, m.period, m.created_at, m.last_used_at
	FROM auth_methods m JOIN users u ON u.id = m.user_id`

// ListAuthApps returns the user's authenticator-app registrations, or everyone's when upn is
// empty, ordered by user and creation; never nil. An unknown user is a NotFoundError.
func (d *DB) ListAuthApps(ctx context.Context, upn string) ([]AuthApp, error) {
	if upn == "" {
		out, err := listAuthApps(ctx, d.sql, "")
		return out, mapErr(err)
	}
	id, _, err := userIDByUPN(ctx, d.sql, upn)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := listAuthApps(ctx, d.sql, ` WHERE m.user_id = ?`, id)
	return out, mapErr(err)
}

func listAuthApps(ctx context.Context, q querier, where string, args ...any) ([]AuthApp, error) {
	return scanAuthApps(q.QueryContext(ctx, `SELECT `+authAppColumns+where+` ORDER BY u.upn_key, m.created_at, m.id`, args...))
}

func scanAuthApps(rows *sql.Rows, err error) ([]AuthApp, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuthApp{}
	for rows.Next() {
		var a AuthApp
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&a.ID, &a.UPN, &a.Name, &a.Issuer, &a.Hash, &a.Digits, &a.Period, &created, &used); err != nil {
			return nil, err
		}
		a.CreatedAt, a.LastUsedAt = time.Unix(created, 0).UTC(), fromUnix(used)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AuthAppSecret decrypts and returns the secret of the authenticator app with the id.
// Callers must not print or log it.
func (d *DB) AuthAppSecret(ctx context.Context, id string) ([]byte, error) {
	s, err := d.needSealer()
	if err != nil {
		return nil, err
	}
	var enc []byte
	err = d.sql.QueryRowContext(ctx, `SELECT secret_enc FROM auth_methods WHERE id = ?`, id).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Kind: "authenticator app", Name: id}
	}
	if err != nil {
		return nil, mapErr(err)
	}
	plain, err := s.Open(enc, id)
	if err != nil {
		return nil, fmt.Errorf("decrypting the secret of authenticator app %s: %w", id, err)
	}
	return plain, nil
}

// idEncoding spells random ids in lower-case Base32 without padding: easy to read out and
// type, and safe in any shell or CSV cell.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a random 16-character id (80 bits): collisions are negligible, and the
// inserts retry on one anyway.
func newID() string {
	var b [10]byte
	rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return idEncoding.EncodeToString(b[:])
}

// insertWithID runs an INSERT whose first parameter is a new random id (args gives the others,
// which may depend on the id), retrying with another id on the (negligible) chance of a
// collision, and returns the id used. The collision is detected with ON CONFLICT DO NOTHING
// rather than by catching the unique violation, which would abort the whole transaction on
// PostgreSQL.
func insertWithID(ctx context.Context, tx *sql.Tx, query string, args func(id string) []any) (string, error) {
	for attempt := 0; ; attempt++ {
		id := newID()
		res, err := tx.ExecContext(ctx, query+` ON CONFLICT (id) DO NOTHING`, append([]any{id}, args(id)...)...)
		if err != nil {
			return "", err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return id, err
		}
		if attempt == 2 {
			return "", fmt.Errorf("three random ids in a row are taken")
		}
	}
}
