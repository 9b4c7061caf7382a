package store

import (
	"context"
	"database/sql"
	"iter"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// The drift history of hardware tokens: one row each time a token's learned drift changes,
// and one at activation, written by recordDrift in the transaction of the verification or
// activation that learned it, so the history cannot disagree with the token. The drift report
// (internal/report) reads it with DriftHistory.

// recordDrift adds the drift point of token id when it differs from the last one recorded (or
// none is), or always when activation says so (a new owner's clock starts the history anew).
// Tokens activated before the history existed get their first point at their next use.
func recordDrift(ctx context.Context, tx *sql.Tx, id int64, now time.Time, step int64, drift int, activation bool) error {
	if activation {
		_, err := tx.ExecContext(ctx, `INSERT INTO drift_history (token_id, time, step, drift) VALUES (?, ?, ?, ?)`,
			id, unix(now), step, drift)
		return err
	}
	// One statement, answered from the (token_id, id) index: the last point of the token.
	_, err := tx.ExecContext(ctx, `INSERT INTO drift_history (token_id, time, step, drift)
		SELECT ?, ?, ?, ? WHERE NOT EXISTS (
			SELECT 1 FROM (SELECT drift FROM drift_history WHERE token_id = ? ORDER BY id DESC LIMIT 1) AS last
			WHERE last.drift = ?)`, id, unix(now), step, drift, id, drift)
	return err
}

// DriftHistory yields every drift point of the hardware tokens that have any, token by token
// in serial order and in time order within a token, with the token's serial, owner, period
// and last use. It reads the history table once, in the order of its index, joined to the
// tokens by primary key.
func (d *DB) DriftHistory(ctx context.Context) iter.Seq2[directory.DriftPoint, error] {
	if ok, err := d.atLeast(ctx, driftAuditSchema); err != nil || !ok {
		// A directory not yet upgraded (read-only open) has no drift history: no points.
		return func(yield func(directory.DriftPoint, error) bool) {
			if err != nil {
				yield(directory.DriftPoint{}, err)
			}
		}
	}
	q := `SELECT h.token_id, t.serial, COALESCE(u.upn, ''), t.period, t.last_used_at, h.time, h.step, h.drift
		FROM drift_history h JOIN tokens t ON t.id = h.token_id LEFT JOIN users u ON u.id = t.user_id
		ORDER BY t.serial_key, h.token_id, h.id`
	return queryRows(ctx, d.sql, q, nil, func(s scanner) (directory.DriftPoint, error) {
		var p directory.DriftPoint
		var last sql.NullInt64
		var at int64
		err := s.Scan(&p.TokenID, &p.Serial, &p.UPN, &p.Period, &last, &at, &p.Step, &p.Drift)
		p.LastUsed, p.Time = fromUnix(last), time.Unix(at, 0).UTC()
		return p, err
	})
}
