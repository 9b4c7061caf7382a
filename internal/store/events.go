package store

import (
	"context"
	"database/sql"
	"iter"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// The model lives in internal/directory; these names keep the store's callers compiling.
type (
	AuditEvent      = directory.AuditEvent
	AuditFilter     = directory.AuditFilter
	AuthEvent       = directory.AuthEvent
	AuthEventFilter = directory.AuthEventFilter
)

// AddAudit records an audit event, in a write transaction of its own so that it is chained
// to the row before it (see auditchain.go).
func (d *DB) AddAudit(ctx context.Context, e AuditEvent) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		return insertAudit(ctx, tx, d.auditKey(), e, d.now())
	})
}

// ListAudit returns audit events in time order; never nil.
func (d *DB) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	q, args := timeRange(`SELECT id, time, actor, host, command, target, result, detail FROM audit_events WHERE 1 = 1`, f.Since, f.Until)
	rows, err := d.sql.QueryContext(ctx, q+` ORDER BY time, id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []AuditEvent{}
	for rows.Next() {
		var e AuditEvent
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Host, &e.Command, &e.Target, &e.Result, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = time.Unix(t, 0).UTC()
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}

func timeRange(q string, since, until time.Time) (string, []any) {
	var args []any
	if !since.IsZero() {
		q += ` AND time >= ?`
		args = append(args, unix(since))
	}
	if !until.IsZero() {
		q += ` AND time < ?`
		args = append(args, unix(until))
	}
	return q, args
}

// AddAuthEvent records an auth event.
func (d *DB) AddAuthEvent(ctx context.Context, e AuthEvent) error {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	return mapErr(insertAuthEvent(ctx, d.sql, e))
}

// insertAuthEvent writes one auth event through any querier, so that an activation or
// verification can commit its event in its own transaction.
func insertAuthEvent(ctx context.Context, q querier, e AuthEvent) error {
	_, err := q.ExecContext(ctx, `INSERT INTO auth_events (time, upn, first_name, last_name, email, phone,
		device_token, mode, result, result_code, reason, server_name, server_ip, client_ip)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		unix(e.Time), e.UPN, e.FirstName, e.LastName, e.Email, e.Phone, e.DeviceToken, e.Mode, e.Result,
		e.ResultCode, e.Reason, e.ServerName, e.ServerIP, e.ClientIP)
	return err
}

// AuthEvents iterates over the matching auth events in time order without holding them in
// memory (reports run over millions of rows).
func (d *DB) AuthEvents(ctx context.Context, f AuthEventFilter) iter.Seq2[AuthEvent, error] {
	return func(yield func(AuthEvent, error) bool) {
		q, args := timeRange(`SELECT id, time, upn, first_name, last_name, email, phone, device_token, mode, result,
			result_code, reason, server_name, server_ip, client_ip FROM auth_events WHERE 1 = 1`, f.Since, f.Until)
		if f.UPN != "" {
			q += ` AND upn = ?`
			args = append(args, f.UPN)
		}
		if f.Result != "" {
			q += ` AND result = ?`
			args = append(args, f.Result)
		}
		rows, err := d.sql.QueryContext(ctx, q+` ORDER BY time, id`, args...)
		if err != nil {
			yield(AuthEvent{}, mapErr(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var e AuthEvent
			var t int64
			err := rows.Scan(&e.ID, &t, &e.UPN, &e.FirstName, &e.LastName, &e.Email, &e.Phone, &e.DeviceToken,
				&e.Mode, &e.Result, &e.ResultCode, &e.Reason, &e.ServerName, &e.ServerIP, &e.ClientIP)
			e.Time = time.Unix(t, 0).UTC()
			if !yield(e, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(AuthEvent{}, mapErr(err))
		}
	}
}

// ListAuthEvents returns the matching auth events in time order; never nil.
func (d *DB) ListAuthEvents(ctx context.Context, f AuthEventFilter) ([]AuthEvent, error) {
	out := []AuthEvent{}
	for e, err := range d.AuthEvents(ctx, f) {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
