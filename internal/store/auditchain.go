package store

// The audit chain makes the audit trail tamper-evident. Each row's mac is
//
//	HMAC-SHA256(audit-chain key, canonical(row) || mac of the previous row)
//
// with the rows in id order, the first row chained to nothing. canonical covers every column
// but mac (id, time, actor, host, command, target, result, detail), so editing a row breaks its
// own mac, and deleting, inserting or reordering rows breaks the mac of the row after. Only
// rows deleted from the end leave a valid chain: that is caught by comparing the head (the
// last mac) with one kept elsewhere. The key is a subkey of the master key, so only a holder of
// the key file can write a row that checks out.
//
// Writers run one at a time (SQLite's BEGIN IMMEDIATE, PostgreSQL's writer lock), and every
// audit row is written inside a write transaction that reads the previous mac, so the chain
// cannot fork. Rows written without the key (a directory copy given no key file, rows from
// before the chain existed) have a NULL mac; the next writer with the key chains them, in id
// order, before it adds its own row.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"hash"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// auditChainTag starts every canonical row, so that a later layout cannot be confused with it.
const auditChainTag = "mfactl audit row v1"

// auditChainBatch is how many unchained rows are read at a time while chaining them (rows
// cannot stay open on PostgreSQL while the same transaction updates).
const auditChainBatch = 1000

type auditRowContent struct {
	id                                           int64
	time                                         int64
	actor, host, command, target, result, detail string
}

// appendCanonical appends the canonical encoding of the row: the tag, id and time as 8 bytes
// big endian, each text with its length, so that no value can run into the next.
func (r *auditRowContent) appendCanonical(b []byte) []byte {
	b = append(b, auditChainTag...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.id))
	b = binary.BigEndian.AppendUint64(b, uint64(r.time))
	for _, s := range []string{r.actor, r.host, r.command, r.target, r.result, r.detail} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// auditChainer computes macs under one key.
type auditChainer struct {
	mac hash.Hash
	buf []byte
}

func newAuditChainer(key []byte) *auditChainer {
	return &auditChainer{mac: hmac.New(sha256.New, key)}
}

func (c *auditChainer) sum(r *auditRowContent, prev []byte) []byte {
	c.buf = r.appendCanonical(c.buf[:0])
	c.mac.Reset()
	c.mac.Write(c.buf)
	c.mac.Write(prev)
	return c.mac.Sum(nil)
}

// auditKey is the audit-chain key of the directory, nil when it was opened without the key.
func (d *DB) auditKey() []byte {
	if d.sealer == nil {
		return nil
	}
	return d.sealer.AuditChainKey()
}

// chainHead returns the mac of the last row, after chaining the rows at the end that have
// none (nil: no row yet). q must be a write transaction.
func chainHead(ctx context.Context, q querier, key []byte) ([]byte, error) {
	var mac []byte
	err := q.QueryRowContext(ctx, `SELECT mac FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&mac)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil || mac != nil {
		return mac, err
	}
	return chainPending(ctx, q, key)
}

// chainPending chains the rows after the last chained one (all of them in a trail from before
// the chain) in id order and returns the new head. q must be a write transaction. A row with
// no mac before a chained one is left alone: that is not a pending row but a broken chain,
// which the check reports.
func chainPending(ctx context.Context, q querier, key []byte) ([]byte, error) {
	var lastID int64
	var prev []byte
	err := q.QueryRowContext(ctx, `SELECT id, mac FROM audit_events WHERE mac IS NOT NULL ORDER BY id DESC LIMIT 1`).Scan(&lastID, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	c := newAuditChainer(key)
	for {
		rows, err := q.QueryContext(ctx, `SELECT id, time, actor, host, command, target, result, detail FROM audit_events
			WHERE id > ? ORDER BY id LIMIT ?`, lastID, auditChainBatch)
		if err != nil {
			return nil, err
		}
		var batch []auditRowContent
		for rows.Next() {
			var r auditRowContent
			if err := rows.Scan(&r.id, &r.time, &r.actor, &r.host, &r.command, &r.target, &r.result, &r.detail); err != nil {
				rows.Close()
				return nil, err
			}
			batch = append(batch, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			return prev, nil
		}
		for i := range batch {
			prev = c.sum(&batch[i], prev)
			if _, err := q.ExecContext(ctx, `UPDATE audit_events SET mac = ? WHERE id = ?`, prev, batch[i].id); err != nil {
				return nil, err
			}
			lastID = batch[i].id
		}
	}
}

// insertAudit writes one audit row through q, which must be a write transaction, chained to
// the row before it when key is not nil (else its mac stays NULL until a writer with the key
// chains it).
func insertAudit(ctx context.Context, q querier, key []byte, e AuditEvent, now time.Time) error {
	if e.Time.IsZero() {
		e.Time = now
	}
	var prev []byte
	if key != nil {
		var err error
		if prev, err = chainHead(ctx, q, key); err != nil {
			return err
		}
	}
	r := auditRowContent{time: unix(e.Time), actor: e.Actor, host: e.Host, command: e.Command, target: e.Target,
		result: e.Result, detail: e.Detail}
	err := q.QueryRowContext(ctx, `INSERT INTO audit_events (time, actor, host, command, target, result, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.time, r.actor, r.host, r.command, r.target, r.result, r.detail).Scan(&r.id)
	if err != nil || key == nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE audit_events SET mac = ? WHERE id = ?`, newAuditChainer(key).sum(&r, prev), r.id)
	return err
}

// chainOnOpen chains the rows a writable open finds without a mac (a directory from before the
// chain, or rows a keyless copy wrote), in one transaction. Best effort, like the indexes: when
// another process holds the write lock, the next writer chains them before its own row.
func (d *DB) chainOnOpen(ctx context.Context) {
	key := d.auditKey()
	if key == nil {
		return
	}
	var mac []byte
	err := d.sql.QueryRowContext(ctx, `SELECT mac FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&mac)
	if err != nil || mac != nil {
		return
	}
	_ = d.inTx(ctx, func(tx *sql.Tx) error {
		_, err := chainPending(ctx, tx, key)
		return err
	})
}

// Problems of an audit row that does not fit the chain.
const (
	auditProblemNoMAC    = "no mac: the row was never chained (written without the master key, or its mac was removed)"
	auditProblemBadMAC   = "mac does not match: the row was changed, or a row before it was deleted, inserted or moved"
	auditProblemMACShape = "mac is not an HMAC-SHA256 value: the mac was changed"
)

// VerifyAuditChain recomputes the chain over every audit row in id order, in one read
// transaction, and stops at the first row that does not fit. keptHead, when not nil, is a head
// kept earlier: the result says which row has it (KeptHeadID 0: none, so rows were deleted from
// the end, or the head is another directory's). It needs the master key.
func (d *DB) VerifyAuditChain(ctx context.Context, keptHead []byte) (directory.AuditChain, error) {
	var res directory.AuditChain
	key := d.auditKey()
	if key == nil {
		return res, ErrNoKey
	}
	if ok, err := d.atLeast(ctx, driftAuditSchema); err != nil {
		return res, err
	} else if !ok {
		return res, errors.New("this directory's audit rows are not chained yet: the next command that changes the directory upgrades it and chains them")
	}
	tx, err := beginSnapshot(ctx, d)
	if err != nil {
		return res, WithPath(mapErr(err), d.path)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, time, actor, host, command, target, result, detail, mac
		FROM audit_events ORDER BY id`)
	if err != nil {
		return res, WithPath(mapErr(err), d.path)
	}
	defer rows.Close()
	c := newAuditChainer(key)
	var prev []byte
	for rows.Next() {
		var r auditRowContent
		var mac []byte
		if err := rows.Scan(&r.id, &r.time, &r.actor, &r.host, &r.command, &r.target, &r.result, &r.detail, &mac); err != nil {
			return res, mapErr(err)
		}
		res.Rows++
		problem := ""
		switch {
		case mac == nil:
			problem = auditProblemNoMAC
		case len(mac) != sha256.Size:
			problem = auditProblemMACShape
		case !hmac.Equal(mac, c.sum(&r, prev)):
			problem = auditProblemBadMAC
		}
		if problem != "" {
			res.Break = &directory.AuditBreak{ID: r.id, Time: time.Unix(r.time, 0).UTC(), Problem: problem}
			return res, nil
		}
		if keptHead != nil && res.KeptHeadID == 0 && hmac.Equal(mac, keptHead) {
			res.KeptHeadID, res.KeptHeadRows = r.id, res.Rows
		}
		prev, res.Head, res.HeadID = mac, mac, r.id
		if res.Rows%4096 == 0 && ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	if err := rows.Err(); err != nil {
		return res, WithPath(mapErr(err), d.path)
	}
	return res, nil
}
