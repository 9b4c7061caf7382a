package store

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"

	"github.com/mfactl/mfactl/internal/directory"
)

// SealedBatch is how many tokens SealedTokens yields at a time: large enough that handing a
// batch to a worker costs nothing per token, small enough that the batches in flight stay a
// few hundred kilobytes whatever the size of the directory.
const SealedBatch = 512

// SealedTokens streams every token whose status is one of statuses (all tokens when empty)
// with its sealed secret, in batches of up to SealedBatch, for a search by code: one query, the
// rows read as they come, in no particular order. Each batch is a new slice that the caller
// may keep or hand to another goroutine; its Sealed values share one buffer per batch.
// Stop early by breaking out of the loop.
func (d *DB) SealedTokens(ctx context.Context, statuses []directory.TokenStatus) iter.Seq2[[]directory.SealedToken, error] {
	return func(yield func([]directory.SealedToken, error) bool) {
		q := `SELECT t.serial, COALESCE(u.upn, ''), t.status, t.hash, t.digits, t.period, t.drift, t.last_step, t.secret_enc
			FROM tokens t LEFT JOIN users u ON u.id = t.user_id`
		args := make([]any, len(statuses))
		if len(statuses) > 0 {
			q += ` WHERE t.status IN (?` + strings.Repeat(`, ?`, len(statuses)-1) + `)`
			for i, s := range statuses {
				args[i] = string(s)
			}
		}
		rows, err := d.sql.QueryContext(ctx, q, args...)
		if err != nil {
			yield(nil, mapErr(err))
			return
		}
		defer rows.Close()
		var (
			batch  []directory.SealedToken
			arena  []byte
			status string
			sealed sql.RawBytes
		)
		for rows.Next() {
			if batch == nil {
				batch = make([]directory.SealedToken, 0, SealedBatch)
				arena = make([]byte, 0, SealedBatch*64)
			}
			var t directory.SealedToken
			if err := rows.Scan(&t.Serial, &t.UPN, &status, &t.Hash, &t.Digits, &t.Period, &t.Drift, &t.LastStep, &sealed); err != nil {
				yield(nil, fmt.Errorf("reading token secrets: %w", mapErr(err)))
				return
			}
			t.Status = directory.TokenStatus(status)
			// RawBytes is only valid until the next row: copy it into the batch's buffer
			// (appending may move the buffer, so earlier tokens keep the old one, which stays
			// valid: it is never written again).
			off := len(arena)
			arena = append(arena, sealed...)
			t.Sealed = arena[off:len(arena):len(arena)]
			batch = append(batch, t)
			if len(batch) == SealedBatch {
				if !yield(batch, nil) {
					return
				}
				batch = nil
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("reading token secrets: %w", mapErr(err)))
			return
		}
		if len(batch) > 0 {
			yield(batch, nil)
		}
	}
}

// OpenSealed decrypts a secret that SealedTokens read, for the token serial (as stored).
// Callers clear it after use and never print it. It is safe for concurrent use.
func (d *DB) OpenSealed(sealed []byte, serial string) ([]byte, error) {
	s, err := d.needSealer()
	if err != nil {
		return nil, err
	}
	plain, err := s.Open(sealed, serial)
	if err != nil {
		return nil, fmt.Errorf("decrypting the secret of token %s: %w", serial, err)
	}
	return plain, nil
}

// RecordSearch records, in the name of the bound actor, a search that changed nothing (tokens
// find): target names what was found, result is "success" or "failure", detail says how the
// search was made. It must never carry what was searched for when that is secret (a code). A
// directory without an actor records nothing.
func (d *DB) RecordSearch(ctx context.Context, target, result, detail string) error {
	if d.actor == nil {
		return nil
	}
	// In a write transaction of its own, so that the row is chained to the one before it.
	return d.inTx(ctx, func(tx *sql.Tx) error {
		return insertAudit(ctx, tx, d.auditKey(), d.auditEvent(target, result, detail), d.now())
	})
}
