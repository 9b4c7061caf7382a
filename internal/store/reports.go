package store

// Queries behind `mfactl report`. They aggregate in SQL (GROUP BY over covering indexes, see
// migrations/0002_reports.sql) and stream listings through iterators, so a report over ten
// million auth events takes seconds and memory that does not grow with the directory.

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// The model lives in internal/directory; these names keep the store's callers compiling.
type (
	UsageFilter    = directory.UsageFilter
	UsageDimension = directory.UsageDimension
	UsageCount     = directory.UsageCount
	InventoryRow   = directory.InventoryRow
)

const (
	ByDay        = directory.ByDay
	ByUser       = directory.ByUser
	ByMode       = directory.ByMode
	ByResultCode = directory.ByResultCode
)

// usageWhere returns the WHERE clause (starting with " WHERE") and its arguments.
func usageWhere(f UsageFilter, dl dialect) (string, []any) {
	var conds []string
	var args []any
	if !f.Since.IsZero() {
		conds = append(conds, `time >= ?`)
		args = append(args, unix(f.Since))
	}
	if !f.Until.IsZero() {
		conds = append(conds, `time < ?`)
		args = append(args, unix(f.Until))
	}
	if len(f.UPNs) > 0 {
		conds = append(conds, `upn IN (`+placeholders(len(f.UPNs))+`)`)
		for _, u := range f.UPNs {
			args = append(args, u)
		}
	}
	if f.UPNAnyCase != "" {
		conds = append(conds, dl.eqNoCase(`upn`))
		args = append(args, f.UPNAnyCase)
	}
	if f.Result != "" {
		conds = append(conds, `result = ?`)
		args = append(args, f.Result)
	}
	if f.Mode != "" {
		conds = append(conds, `mode = ?`)
		args = append(args, f.Mode)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(conds, ` AND `), args
}

// placeholders returns "?, ?, ..., ?" with n placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

const authEventColumns = `id, time, upn, first_name, last_name, email, phone, device_token, mode, result,
	result_code, reason, server_name, server_ip, client_ip`

func scanAuthEvent(s scanner) (AuthEvent, error) {
	var e AuthEvent
	var t int64
	err := s.Scan(&e.ID, &t, &e.UPN, &e.FirstName, &e.LastName, &e.Email, &e.Phone, &e.DeviceToken,
		&e.Mode, &e.Result, &e.ResultCode, &e.Reason, &e.ServerName, &e.ServerIP, &e.ClientIP)
	e.Time = time.Unix(t, 0).UTC()
	return e, err
}

// UsageEvents iterates over the auth events matching f in time order without holding them in
// memory.
func (d *DB) UsageEvents(ctx context.Context, f UsageFilter) iter.Seq2[AuthEvent, error] {
	where, args := usageWhere(f, d.dialect)
	return queryRows(ctx, d.sql, `SELECT `+authEventColumns+` FROM auth_events`+where+` ORDER BY time, id`, args, scanAuthEvent)
}

const secondsPerDay = 24 * 60 * 60

// UsageCounts counts the auth events matching f per group of the dimension, in SQL, and yields
// the groups as the database returns them: days in calendar order, other groups by total
// descending, then by key. Memory does not grow with the number of groups (SQLite sorts them,
// spilling to a temporary file when there are many).
//
// The inner query counts per (group, result) with COUNT(*); the outer one folds the results of
// a group into one row. Each dimension has an index that starts with its column, then result
// (0002_reports.sql), so SQLite reads the inner groups in index order from the index alone: no
// sort of the events, no table rows, and per event only the cheapest aggregate step. The day
// index is on the expression of dayExpr, which the query repeats word for word.
func (d *DB) UsageCounts(ctx context.Context, f UsageFilter, by UsageDimension) iter.Seq2[UsageCount, error] {
	q, args, err := usageCountsQuery(f, by, d.dialect)
	if err != nil {
		return func(yield func(UsageCount, error) bool) { yield(UsageCount{}, err) }
	}
	return queryRows(ctx, d.sql, q, args, func(s scanner) (UsageCount, error) {
		var c UsageCount
		if by != ByDay {
			err := s.Scan(&c.Key, &c.Success, &c.Denied, &c.Total)
			return c, err
		}
		var day int64
		err := s.Scan(&day, &c.Success, &c.Denied, &c.Total)
		c.Key = time.Unix(day*secondsPerDay, 0).UTC().Format(time.DateOnly)
		return c, err
	})
}

// usageCountsQuery returns the SQL of UsageCounts.
func usageCountsQuery(f UsageFilter, by UsageDimension, dl dialect) (string, []any, error) {
	var key string
	switch by {
	case ByDay:
		key = dayExpr
	case ByUser:
		key = `upn`
	case ByMode:
		key = `mode`
	case ByResultCode:
		key = `result_code`
	default:
		return "", nil, fmt.Errorf("counting auth events: unknown dimension %q", by)
	}
	where, args := usageWhere(f, dl)
	group, order := key+`, result`, `4 DESC, 1`
	switch by {
	case ByDay:
		// Bound the indexed day expression as well as the time, so that SQLite seeks to the
		// first day instead of scanning from the oldest event.
		where, args = dayBounds(where, args, f)
		order = `1`
	case ByResultCode:
		group = `result, result_code` // the order of auth_events_result_code
	}
	return `SELECT k, SUM(CASE WHEN result = 'success' THEN n ELSE 0 END), SUM(CASE WHEN result = 'denied' THEN n ELSE 0 END), SUM(n)
		FROM (SELECT ` + key + ` AS k, result, COUNT(*) AS n FROM auth_events` + where + ` GROUP BY ` + group + `) counts
		GROUP BY k ORDER BY ` + order, args, nil
}

// dayExpr is the indexed expression of the day of an event (auth_events_day_result in
// 0002_reports.sql); it must stay identical to the index for SQLite to use it. Times before
// 1970 would round towards zero, which the directory never holds.
const dayExpr = `(time / 86400)`

func dayBounds(where string, args []any, f UsageFilter) (string, []any) {
	var conds []string
	if !f.Since.IsZero() {
		conds = append(conds, dayExpr+` >= ?`)
		args = append(args, floorDiv(unix(f.Since), secondsPerDay))
	}
	if !f.Until.IsZero() {
		conds = append(conds, dayExpr+` <= ?`)
		args = append(args, floorDiv(unix(f.Until), secondsPerDay))
	}
	if len(conds) == 0 {
		return where, args
	}
	// The day conditions go after all the others, and so do their arguments.
	if where == "" {
		return ` WHERE ` + strings.Join(conds, ` AND `), args
	}
	return where + ` AND ` + strings.Join(conds, ` AND `), args
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// RegistrationUsers iterates over all users with their method counts (User.Methods, ...):
// users without any OATH method first, then the others, each part ordered by UPN. Memory does
// not grow with the number of users.
func (d *DB) RegistrationUsers(ctx context.Context) iter.Seq2[User, error] {
	// The per-user counts come from index-only lookups (tokens_user_status, auth_methods_user,
	// app_passwords_user). The two parts are each read in upn_key order from the unique index
	// instead of sorting all users by an expression.
	first := `SELECT ` + userColumns + ` FROM users u WHERE NOT EXISTS (SELECT 1 FROM tokens t WHERE t.user_id = u.id)
		AND NOT EXISTS (SELECT 1 FROM auth_methods m WHERE m.user_id = u.id) ORDER BY u.upn_key`
	rest := `SELECT ` + userColumns + ` FROM users u WHERE EXISTS (SELECT 1 FROM tokens t WHERE t.user_id = u.id)
		OR EXISTS (SELECT 1 FROM auth_methods m WHERE m.user_id = u.id) ORDER BY u.upn_key`
	return func(yield func(User, error) bool) {
		for _, q := range []string{first, rest} {
			for u, err := range queryRows(ctx, d.sql, q, nil, scanUser) {
				if !yield(u, err) || err != nil {
					return
				}
			}
		}
	}
}

// TokenInventory counts tokens per manufacturer and model (ordered by both) and status, in SQL.
func (d *DB) TokenInventory(ctx context.Context) ([]InventoryRow, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT manufacturer, model, COUNT(*),
		COUNT(CASE WHEN status = 'available' THEN 1 END),
		COUNT(CASE WHEN status = 'assigned' THEN 1 END),
		COUNT(CASE WHEN status = 'activated' THEN 1 END),
		COUNT(CASE WHEN status = 'failed_activation' THEN 1 END),
		COUNT(CASE WHEN status = 'disabled' THEN 1 END),
		COUNT(CASE WHEN user_id IS NULL THEN 1 END)
		FROM tokens GROUP BY manufacturer, model ORDER BY manufacturer, model`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []InventoryRow{}
	for rows.Next() {
		var r InventoryRow
		if err := rows.Scan(&r.Manufacturer, &r.Model, &r.Total, &r.Available, &r.Assigned, &r.Activated,
			&r.FailedActivation, &r.Disabled, &r.Unassigned); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

// UnusedTokens iterates over the tokens that have an owner and have been idle since before
// cutoff. A token is idle since it was last used; one never used since it was activated; one
// never activated since it last changed (typically when it was assigned). The longest idle
// come first, then by serial.
func (d *DB) UnusedTokens(ctx context.Context, cutoff time.Time) iter.Seq2[Token, error] {
	const idleSince = `COALESCE(t.last_used_at, t.activated_at, t.updated_at)`
	q := `SELECT ` + tokenColumns + tokenFrom + ` WHERE t.user_id IS NOT NULL AND ` + idleSince + ` <= ?
		ORDER BY ` + idleSince + `, t.serial_key`
	return queryRows(ctx, d.sql, q, []any{unix(cutoff)}, scanToken)
}

// AuditEvents iterates over the audit events matching f in time order without holding them in
// memory.
func (d *DB) AuditEvents(ctx context.Context, f AuditFilter) iter.Seq2[AuditEvent, error] {
	q, args := timeRange(`SELECT id, time, actor, host, command, target, result, detail FROM audit_events WHERE 1 = 1`, f.Since, f.Until)
	return queryRows(ctx, d.sql, q+` ORDER BY time, id`, args, func(s scanner) (AuditEvent, error) {
		var e AuditEvent
		var t int64
		err := s.Scan(&e.ID, &t, &e.Actor, &e.Host, &e.Command, &e.Target, &e.Result, &e.Detail)
		e.Time = time.Unix(t, 0).UTC()
		return e, err
	})
}

// queryRows runs q and yields each scanned row; the rows are closed when the loop ends, also
// when the caller breaks out of it.
func queryRows[T any](ctx context.Context, q querier, query string, args []any, scan func(scanner) (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			yield(zero, mapErr(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if !yield(v, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(zero, mapErr(err))
		}
	}
}

// authEventBatch is the number of events per multi-row INSERT of AddAuthEvents: 14 columns x
// 256 rows stays far below SQLite's 32766 parameters (and PostgreSQL's 65535).
const authEventBatch = 256

// AddAuthEvents records many auth events in one transaction (all or nothing), with multi-row
// INSERTs, for importing history such as an MFA Server log. A zero Time is now; IDs are
// assigned by the database. It returns the number of events written.
func (d *DB) AddAuthEvents(ctx context.Context, events iter.Seq2[AuthEvent, error]) (int, error) {
	n := 0
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		now := d.now()
		stmts := map[int]*sql.Stmt{}
		defer func() {
			for _, s := range stmts {
				s.Close()
			}
		}()
		args := make([]any, 0, authEventBatch*14)
		flush := func() error {
			rows := len(args) / 14
			if rows == 0 {
				return nil
			}
			s, ok := stmts[rows]
			if !ok {
				var err error
				tuple := "(" + placeholders(14) + ")"
				s, err = tx.PrepareContext(ctx, `INSERT INTO auth_events (time, upn, first_name, last_name, email, phone,
					device_token, mode, result, result_code, reason, server_name, server_ip, client_ip) VALUES `+
					strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", "))
				if err != nil {
					return err
				}
				stmts[rows] = s
			}
			if _, err := s.ExecContext(ctx, args...); err != nil {
				return err
			}
			n += rows
			args = args[:0]
			return nil
		}
		for e, err := range events {
			if err != nil {
				return err
			}
			if e.Time.IsZero() {
				e.Time = now
			}
			args = append(args, unix(e.Time), e.UPN, e.FirstName, e.LastName, e.Email, e.Phone, e.DeviceToken,
				e.Mode, e.Result, e.ResultCode, e.Reason, e.ServerName, e.ServerIP, e.ClientIP)
			if len(args) == cap(args) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	if err != nil {
		return 0, fmt.Errorf("recording auth events: %w", err)
	}
	return n, nil
}
