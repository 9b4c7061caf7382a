package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/mfactl/mfactl/internal/directory"
)

// Every change to the directory writes its audit rows in its own transaction (see change),
// when the DB is bound to an actor with WithActor. The rows' words are the store's: what was
// changed, as the change found it (the previous owner of a token, what an unblock lifted), so
// that the row cannot disagree with the change it records.

// WithActor returns a handle on the same directory whose changes are audited in the name of
// a. It shares the connection pool: close only one of them.
func (d *DB) WithActor(a directory.Actor) *DB {
	c := *d
	c.actor = &a
	return &c
}

// auditRow is one audit row a change writes, with Result "success".
type auditRow struct {
	target, detail string
}

// change runs fn in a transaction and, when the DB is bound to an actor, writes the audit
// rows fn returns in that same transaction. A refusal (not found, conflict, the method limit,
// a disabled token) rolls back and is recorded as a failure of target with the error as detail,
// since attempts matter to whoever reads the audit log; failures of the machinery (busy,
// cancelled) are not recorded, since recording would fail the same way.
func (d *DB) change(ctx context.Context, target string, fn func(tx *sql.Tx) ([]auditRow, error)) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := fn(tx)
		if err != nil || d.actor == nil {
			return err
		}
		now := d.now()
		for _, r := range rows {
			if err := insertAudit(ctx, tx, d.auditKey(), d.auditEvent(r.target, "success", r.detail), now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && target != "" && refusal(err) {
		_ = d.RecordFailure(context.WithoutCancel(ctx), target, err.Error())
	}
	return err
}

// RecordFailure records, in the name of the bound actor, a change of target that failed or
// was refused and so changed nothing (a rejected file, users that do not exist): there is no
// change whose transaction could hold the row. A directory without an actor records nothing.
func (d *DB) RecordFailure(ctx context.Context, target, detail string) error {
	if d.actor == nil {
		return nil
	}
	// In a write transaction of its own, so that the row is chained to the one before it.
	return d.inTx(ctx, func(tx *sql.Tx) error {
		return insertAudit(ctx, tx, d.auditKey(), d.auditEvent(target, "failure", detail), d.now())
	})
}

// RecordRefusal is RecordFailure for a refusal of the directory (not found, conflict, the
// method limit) that a use case met before it changed anything; other errors are the
// machinery's and are not recorded.
func (d *DB) RecordRefusal(ctx context.Context, target string, refused error) error {
	if !refusal(refused) {
		return nil
	}
	return d.RecordFailure(ctx, target, refused.Error())
}

func (d *DB) auditEvent(target, result, detail string) AuditEvent {
	return AuditEvent{Actor: d.actor.Name, Host: d.actor.Host, Command: d.actor.Command, Target: target, Result: result, Detail: detail}
}

// refusal reports whether err is the directory saying no, rather than failing.
func refusal(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrLimit) || errors.Is(err, ErrTokenDisabled)
}

// The SQL store is a directory (both dialects), and its attempts' transactions are AuthTx.
var (
	_ directory.Directory = (*DB)(nil)
	_ directory.AuthTx    = (*AuthTx)(nil)
)
