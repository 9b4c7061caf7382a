package store

// Copying a whole directory between backends (SQLite to PostgreSQL when a team outgrows one
// machine, and back). Rows keep their ids, so every reference stays valid; secrets keep their
// sealed bytes when both sides use the same master key and are re-sealed when they do not.
// The copy is one transaction on the target and streams the source, so that neither a
// failure nor the size of the event tables matters: the target ends up a copy of the source,
// checked row by row through a digest, or as it was.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/mfactl/mfactl/internal/secrets"
)

type colKind byte

const (
	colInt     colKind = 'i' // INTEGER NOT NULL
	colNullInt colKind = 'n' // INTEGER, NULL allowed
	colText    colKind = 't'
	colBytes   colKind = 'b'
	colNullMAC colKind = 'm' // BLOB, NULL allowed: the audit chain's mac, left out of the digest
)

// copyTable describes one table of the schema for the copy: its columns in a fixed order and
// their kinds (the canonical encoding of the digest depends on them, not on how either engine
// reports a value), and where its secret is.
type copyTable struct {
	name  string
	cols  []string
	kinds []colKind
	// where selects the rows that are copied (meta keeps the key check value per directory).
	where string
	// identity: the id comes from a sequence on PostgreSQL, which must move past the copied ids.
	identity bool
	// enc, fp and ad are the indexes of the sealed secret, its fingerprint and the column that
	// is the secret's associated data; enc < 0 when the table holds no secret.
	enc, fp, ad int
	// mac is the index of the audit chain's mac, < 0 in other tables.
	mac int
}

func tbl(name string, identity bool, spec string) *copyTable {
	t := &copyTable{name: name, identity: identity, enc: -1, fp: -1, ad: -1, mac: -1}
	for _, f := range strings.Fields(spec) {
		col, kind, _ := strings.Cut(f, ":")
		t.cols = append(t.cols, col)
		t.kinds = append(t.kinds, colKind(kind[0]))
		if kind[0] == byte(colNullMAC) {
			t.mac = len(t.cols) - 1
		}
	}
	return t
}

func (t *copyTable) index(col string) int {
	for i, c := range t.cols {
		if c == col {
			return i
		}
	}
	panic("copy: no column " + col + " in " + t.name)
}

// copyTables are the directory's tables in an order that satisfies the foreign keys. A test
// checks that they name every column of the schema, so that a new column cannot be left
// behind.
var copyTables = func() []*copyTable {
	meta := tbl("meta", false, "key:t value:b")
	meta.where = `key <> '` + metaKeyCheck + `'`
	users := tbl("users", true, "id:i upn:t upn_key:t display_name:t email:t phone:t state:t blocked_reason:t "+
		"must_register:i failed_attempts:i locked:i created_at:i updated_at:i")
	tokens := tbl("tokens", true, "id:i serial:t serial_key:t secret_enc:b secret_fp:b hash:t digits:i period:i "+
		"manufacturer:t model:t user_id:n status:t disabled_reason:t drift:i last_step:i failed_attempts:i "+
		"source_file:t created_at:i updated_at:i activated_at:n last_used_at:n")
	// Hardware token secrets are sealed under the serial as stored, authenticator-app secrets
	// under the method id.
	tokens.enc, tokens.fp, tokens.ad = tokens.index("secret_enc"), tokens.index("secret_fp"), tokens.index("serial")
	apps := tbl("auth_methods", false, "id:t user_id:i kind:t name:t issuer:t secret_enc:b secret_fp:b hash:t "+
		"digits:i period:i drift:i last_step:i failed_attempts:i created_at:i updated_at:i last_used_at:n")
	apps.enc, apps.fp, apps.ad = apps.index("secret_enc"), apps.index("secret_fp"), apps.index("id")
	passwords := tbl("app_passwords", false, "id:t user_id:i name:t hash:t created_at:i last_used_at:n")
	authEvents := tbl("auth_events", true, "id:i time:i upn:t first_name:t last_name:t email:t phone:t "+
		"device_token:t mode:t result:t result_code:t reason:t server_name:t server_ip:t client_ip:t")
	drift := tbl("drift_history", true, "id:i token_id:i time:i step:i drift:i")
	audit := tbl("audit_events", true, "id:i time:i actor:t host:t command:t target:t result:t detail:t mac:m")
	return []*copyTable{meta, users, tokens, drift, apps, passwords, authEvents, audit}
}()

// orderBy is the row order of the copy and the digest. Text ids (meta, auth_methods,
// app_passwords) sort by bytes on both engines: the PostgreSQL schema declares them
// COLLATE "C".
func (t *copyTable) orderBy() string {
	if t.name == "meta" {
		return "key"
	}
	return "id"
}

func (t *copyTable) selectSQL(extra string) string {
	q := `SELECT ` + strings.Join(t.cols, ", ") + ` FROM ` + t.name
	var conds []string
	if t.where != "" {
		conds = append(conds, t.where)
	}
	if extra != "" {
		conds = append(conds, extra)
	}
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	return q + ` ORDER BY ` + t.orderBy()
}

// scanRow reads the current row of rows into vals as the values a write takes: int64, nil
// (a NULL integer), string or []byte.
func (t *copyTable) scanRow(rows *sql.Rows, vals []any) error {
	dest := make([]any, len(t.cols))
	ints := make([]int64, len(t.cols))
	nulls := make([]sql.NullInt64, len(t.cols))
	texts := make([]string, len(t.cols))
	blobs := make([][]byte, len(t.cols))
	for i, k := range t.kinds {
		switch k {
		case colInt:
			dest[i] = &ints[i]
		case colNullInt:
			dest[i] = &nulls[i]
		case colText:
			dest[i] = &texts[i]
		case colBytes, colNullMAC:
			dest[i] = &blobs[i]
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	for i, k := range t.kinds {
		switch k {
		case colInt:
			vals[i] = ints[i]
		case colNullInt:
			if nulls[i].Valid {
				vals[i] = nulls[i].Int64
			} else {
				vals[i] = nil
			}
		case colText:
			vals[i] = texts[i]
		case colBytes:
			if blobs[i] == nil {
				blobs[i] = []byte{}
			}
			vals[i] = blobs[i]
		case colNullMAC:
			if blobs[i] == nil {
				vals[i] = nil
			} else {
				vals[i] = blobs[i]
			}
		}
	}
	return nil
}

// digester computes the copy's digest: SHA-256 over a canonical encoding of every copied row,
// table by table in id order. Each value is its kind and its bytes (integers as 8 bytes big
// endian, text and blobs with their length), so that neither engine's own representation nor
// a value running into the next one can make two different directories look alike. When
// secrets are compared as plaintext (the two sides use different master keys), a secret
// counts as an HMAC-SHA-256 of its plaintext under a key that lives only in this process
// (secretDigestKey), so the printed digest says nothing about a secret to anyone who could
// guess one, and its fingerprint as whether it matches the secret under that side's key.
type digester struct {
	h      hash.Hash
	sealer *secrets.Sealer // nil: secrets as stored bytes
	buf    []byte
}

// samePostgresDirectory tells whether two PostgreSQL handles reach the same directory under
// different URLs (another host name for the server, another user): the same server (its start
// time), database and schema. Copying a directory onto itself with --force would delete what
// it reads.
func samePostgresDirectory(ctx context.Context, a, b *DB) (bool, error) {
	if a.dialect != dialectPostgres || b.dialect != dialectPostgres {
		return false, nil
	}
	const q = `SELECT current_database() || '/' || current_schema() || '/' ||
		(SELECT oid FROM pg_database WHERE datname = current_database())::text || '/' ||
		pg_postmaster_start_time()::text`
	var ia, ib string
	if err := a.sql.QueryRowContext(ctx, q).Scan(&ia); err != nil {
		return false, WithPath(mapErr(err), a.path)
	}
	if err := b.sql.QueryRowContext(ctx, q).Scan(&ib); err != nil {
		return false, WithPath(mapErr(err), b.path)
	}
	return ia == ib, nil
}

// secretDigestKey is the random key of this process's secret digests: both sides of a copy are
// digested in one process, so they agree; no digest of a secret is reproducible elsewhere.
var secretDigestKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
})

func newDigester(s *secrets.Sealer) *digester { return &digester{h: sha256.New(), sealer: s} }

func (d *digester) table(name string) {
	d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(name)))
	d.buf = append(d.buf, name...)
	d.h.Write(d.buf)
}

func (d *digester) end(n int64) {
	d.buf = binary.BigEndian.AppendUint64(append(d.buf[:0], 'e'), uint64(n))
	d.h.Write(d.buf)
}

func (d *digester) row(t *copyTable, vals []any) error {
	b := append(d.buf[:0], 'r')
	for i, v := range vals {
		if d.sealer != nil && i == t.enc {
			plain, err := d.sealer.Open(vals[t.enc].([]byte), vals[t.ad].(string))
			if err != nil {
				return fmt.Errorf("%s %v: %w", t.name, vals[t.ad], err)
			}
			mac := hmac.New(sha256.New, secretDigestKey())
			mac.Write(plain)
			b = mac.Sum(append(b, 'P'))
			ok := bytes.Equal(d.sealer.Fingerprint(plain), vals[t.fp].([]byte))
			clear(plain)
			if !ok {
				// Recorded rather than refused: the digests then differ and say so.
				b = append(b, 'F', 0)
			} else {
				b = append(b, 'F', 1)
			}
			continue
		}
		if d.sealer != nil && i == t.fp {
			continue
		}
		if i == t.mac {
			// The audit chain is checked by its own means (report audit --verify); the
			// macs differ by design when the copy re-chains under another key.
			continue
		}
		switch x := v.(type) {
		case nil:
			b = append(b, 'N')
		case int64:
			b = binary.BigEndian.AppendUint64(append(b, byte(t.kinds[i])), uint64(x))
		case string:
			b = binary.AppendUvarint(append(b, byte(t.kinds[i])), uint64(len(x)))
			b = append(b, x...)
		case []byte:
			b = binary.AppendUvarint(append(b, byte(t.kinds[i])), uint64(len(x)))
			b = append(b, x...)
		default:
			return fmt.Errorf("%s: unexpected value type %T", t.name, v)
		}
	}
	d.buf = b
	d.h.Write(b)
	return nil
}

func (d *digester) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// TableCount is the number of rows of one table on each side of a copy.
type TableCount struct {
	Table  string
	Source int64
	Target int64
}

// CopyOptions adjust Copy.
type CopyOptions struct {
	// SourceKeyFile and TargetKeyFile are the master key files of the two directories; empty
	// when not given. Both are needed only when the directories use different keys.
	SourceKeyFile string
	TargetKeyFile string
	// Force replaces the content of a target that is not empty.
	Force bool
	// Audit, when not nil, is recorded in the target in the copy's transaction; an empty
	// Detail becomes the row counts.
	Audit *AuditEvent
	// BatchRows is the number of rows per INSERT on SQLite (0: a default).
	BatchRows int
}

// Key handling of a copy, for the report.
const (
	SecretsAsStored = "copied as stored (same master key)"
	SecretsResealed = "re-sealed under the target's master key"
)

// CopyResult is what a copy did and how it was checked.
type CopyResult struct {
	Tables []TableCount
	// SourceDigest and TargetDigest are the digests of the two sides (equal after a copy).
	SourceDigest string
	TargetDigest string
	// Secrets is SecretsAsStored or SecretsResealed.
	Secrets string
	// KeyCheck says what became of the target's key check value: "kept" (the target had
	// one), "copied" (the source's), "set" (the target key's) or "none" (neither side has a
	// key yet).
	KeyCheck string
}

// Summary is the row counts in one line ("users=3 tokens=10 ..."), the audit detail of a copy.
func (r *CopyResult) Summary() string {
	parts := make([]string, 0, len(r.Tables))
	for _, c := range r.Tables {
		parts = append(parts, fmt.Sprintf("%s=%d", c.Table, c.Target))
	}
	return strings.Join(parts, " ")
}

// ErrNotEmpty means the target of a copy holds data that the copy would replace.
var ErrNotEmpty = errors.New("target directory is not empty")

// NotEmptyError reports a copy target that holds data.
type NotEmptyError struct {
	DB     string
	Counts []TableCount // Target: rows found
}

func (e *NotEmptyError) Error() string {
	var parts []string
	for _, c := range e.Counts {
		if c.Target > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.Target, tableNoun(c.Table)))
		}
	}
	return fmt.Sprintf("target directory %s is not empty (%s)", e.DB, strings.Join(parts, ", "))
}

func (e *NotEmptyError) Is(target error) bool { return target == ErrNotEmpty }

// tableNoun names what a table holds, for messages.
func tableNoun(table string) string {
	if table == "auth_methods" {
		return "authenticator apps"
	}
	return strings.ReplaceAll(table, "_", " ")
}

// CopyKeyError reports secrets that cannot be carried over: the directories use different
// master keys and the key files to re-seal them were not both given, or a key file does not
// belong to its directory.
type CopyKeyError struct{ Msg string }

func (e *CopyKeyError) Error() string { return e.Msg }

func (e *CopyKeyError) Is(target error) bool { return target == ErrKeyMismatch }

// ErrDigestMismatch means the two sides of a copy differ.
var ErrDigestMismatch = errors.New("the copy does not match its source")

// MismatchError reports the tables or digests that differ between source and target.
type MismatchError struct{ Result *CopyResult }

func (e *MismatchError) Error() string {
	var diff []string
	for _, c := range e.Result.Tables {
		if c.Source != c.Target {
			diff = append(diff, fmt.Sprintf("%s: %d rows in the source, %d in the target", c.Table, c.Source, c.Target))
		}
	}
	if len(diff) == 0 {
		diff = append(diff, fmt.Sprintf("digest %s in the source, %s in the target", e.Result.SourceDigest, e.Result.TargetDigest))
	}
	return "the copy does not match its source: " + strings.Join(diff, "; ")
}

func (e *MismatchError) Is(target error) bool { return target == ErrDigestMismatch }

// copyKeys decides how secrets cross: as stored, or re-sealed from src to dst.
type copyKeys struct {
	src, dst  *secrets.Sealer // both set when re-sealing
	setCheck  []byte          // the key check value to record in the target; nil: leave it
	keyCheck  string          // CopyResult.KeyCheck
	resealing bool
	srcHasKey bool
	// auditKey is the target's audit-chain key when the copy knows it (nil: the audit rows
	// keep their macs, and a copy's own row stays unchained until the next writer with the
	// key); rechain says the copied rows are chained again under it (the keys differ).
	auditKey   []byte
	rechain    bool
	srcDBName  string
	dstDBName  string
	srcKeyFile string
	dstKeyFile string
}

func loadSealer(path string) (*secrets.Sealer, error) {
	key, _, err := secrets.LoadOrCreateKey(path, false)
	if err != nil {
		return nil, err
	}
	return secrets.NewSealer(key)
}

// planKeys applies the copy's key rules. srcCheck and dstCheck are the key check values of
// the two sides (nil: none). Keys given must belong to their directory. Same key: secrets as
// stored. Different keys (the target's own check value, or the key given for a new target):
// re-seal, which needs both key files. A new target without a key of its own takes the
// source's, and with it its check value.
func planKeys(srcCheck, dstCheck []byte, o CopyOptions, srcName, dstName string) (*copyKeys, error) {
	k := &copyKeys{srcHasKey: srcCheck != nil}
	var err error
	if o.SourceKeyFile != "" {
		if k.src, err = loadSealer(o.SourceKeyFile); err != nil {
			return nil, err
		}
		if srcCheck != nil && !k.src.MatchesCheckValue(srcCheck) {
			return nil, &KeyError{KeyFile: o.SourceKeyFile, DB: srcName, Err: ErrKeyMismatch}
		}
	}
	if o.TargetKeyFile != "" {
		if k.dst, err = loadSealer(o.TargetKeyFile); err != nil {
			return nil, err
		}
		if dstCheck != nil && !k.dst.MatchesCheckValue(dstCheck) {
			return nil, &KeyError{KeyFile: o.TargetKeyFile, DB: dstName, Err: ErrKeyMismatch}
		}
	}
	switch {
	case srcCheck == nil:
		// The source never had a key, so it holds no secret (checked while copying).
		switch {
		case dstCheck != nil:
			k.keyCheck = "kept"
		case k.dst != nil:
			k.setCheck, k.keyCheck = k.dst.CheckValue(), "set"
		default:
			k.keyCheck = "none"
		}
	case dstCheck != nil && bytes.Equal(dstCheck, srcCheck):
		k.keyCheck = "kept"
	case dstCheck != nil:
		if k.src == nil || k.dst == nil {
			return nil, &CopyKeyError{Msg: fmt.Sprintf("target directory %s uses another master key than %s; "+
				"re-sealing the secrets needs the key files of both", dstName, srcName)}
		}
		k.resealing, k.keyCheck = true, "kept"
	case k.dst != nil && !k.dst.MatchesCheckValue(srcCheck):
		if k.src == nil {
			return nil, &CopyKeyError{Msg: fmt.Sprintf("the key file %s is not the master key of %s; "+
				"re-sealing the secrets under it needs the source's key file too", o.TargetKeyFile, srcName)}
		}
		k.resealing, k.setCheck, k.keyCheck = true, k.dst.CheckValue(), "set"
	default:
		k.setCheck, k.keyCheck = srcCheck, "copied"
	}
	switch {
	case k.dst != nil:
		// Checked above to be the target's key, or the key the target takes.
		k.auditKey = k.dst.AuditChainKey()
	case k.src != nil && (k.keyCheck == "copied" || k.keyCheck == "kept" && bytes.Equal(dstCheck, srcCheck)):
		k.auditKey = k.src.AuditChainKey()
	}
	// Under another key the source's macs do not check out: chain the rows again.
	k.rechain = k.auditKey != nil && (k.resealing || k.keyCheck == "set")
	if !k.resealing {
		k.src, k.dst = nil, nil
	}
	return k, nil
}

func readMeta(ctx context.Context, q querier, key string) ([]byte, error) {
	var v []byte
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// copyHook, when set by a test, runs in the copy's transaction after the rows are written and
// before they are checked.
var copyHook func(ctx context.Context, tx *sql.Tx) error

// Copy copies the whole directory src into dst: every row of every table with its id (the
// meta table except the key check value, which belongs to each directory), secrets included
// (see CopyOptions and planKeys), then checks the target against the source (row counts and
// digest) before it commits. It is one transaction on dst, which must hold no data unless
// opts.Force, when its content is replaced: an error, a mismatch or a cancelled ctx leave dst
// as it was. The source is read in one read transaction, a consistent snapshot, and streamed,
// so memory does not grow with its size. Open both with NoKey: the keys come from opts.
func Copy(ctx context.Context, src, dst *DB, opts CopyOptions) (*CopyResult, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 200
	}
	if same, err := samePostgresDirectory(ctx, src, dst); err != nil || same {
		if err == nil {
			err = fmt.Errorf("%s and %s are the same directory", src.path, dst.path)
		}
		return nil, err
	}
	srcTx, err := beginSnapshot(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src.path, WithPath(mapErr(err), src.path))
	}
	defer srcTx.Rollback()
	conn, err := dst.sql.Conn(ctx)
	if err != nil {
		return nil, WithPath(mapErr(err), dst.path)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil) // the writer lock of the target
	if err != nil {
		return nil, WithPath(mapErr(err), dst.path)
	}
	defer tx.Rollback()
	res, err := copyTx(ctx, src, dst, srcTx, conn, tx, opts)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("copy cancelled; the target was left as it was: %w", ctx.Err())
		}
		return res, WithPath(mapErr(err), dst.path)
	}
	if err := tx.Commit(); err != nil {
		return res, WithPath(mapErr(err), dst.path)
	}
	return res, nil
}

// beginSnapshot starts a read transaction on d that sees one state of the directory throughout.
func beginSnapshot(ctx context.Context, d *DB) (*sql.Tx, error) {
	o := &sql.TxOptions{ReadOnly: true}
	if d.dialect == dialectPostgres {
		o.Isolation = sql.LevelRepeatableRead
	}
	return d.sql.BeginTx(ctx, o)
}

func copyTx(ctx context.Context, src, dst *DB, srcTx *sql.Tx, conn *sql.Conn, tx *sql.Tx, opts CopyOptions) (*CopyResult, error) {
	srcCheck, err := readMeta(ctx, srcTx, metaKeyCheck)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src.path, err)
	}
	dstCheck, err := readMeta(ctx, tx, metaKeyCheck)
	if err != nil {
		return nil, err
	}
	keys, err := planKeys(srcCheck, dstCheck, opts, src.path, dst.path)
	if err != nil {
		return nil, err
	}
	counts, err := countRows(ctx, tx)
	if err != nil {
		return nil, err
	}
	var nonEmpty bool
	for _, c := range counts {
		if c.Table != "meta" && c.Target > 0 {
			nonEmpty = true
		}
	}
	if nonEmpty && !opts.Force {
		return nil, &NotEmptyError{DB: dst.path, Counts: counts[1:]}
	}
	// Replace the target's content: children before parents, the key check value stays.
	for i := len(copyTables) - 1; i >= 0; i-- {
		t := copyTables[i]
		q := `DELETE FROM ` + t.name
		if t.where != "" {
			q += ` WHERE ` + t.where
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("emptying %s: %w", t.name, err)
		}
	}

	res := &CopyResult{Secrets: SecretsAsStored, KeyCheck: keys.keyCheck}
	if keys.resealing {
		res.Secrets = SecretsResealed
	}
	srcDigest := newDigester(keys.src)
	for _, t := range copyTables {
		n, err := copyTable1(ctx, dst.dialect, srcTx, conn, tx, t, keys, srcDigest, opts.BatchRows)
		if err != nil {
			return nil, fmt.Errorf("copying %s: %w", t.name, err)
		}
		res.Tables = append(res.Tables, TableCount{Table: t.name, Source: n})
	}
	res.SourceDigest = srcDigest.sum()
	if keys.setCheck != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, metaKeyCheck, keys.setCheck); err != nil {
			return nil, fmt.Errorf("recording the key check value: %w", err)
		}
	}
	if dst.dialect == dialectPostgres {
		for _, t := range copyTables {
			if !t.identity {
				continue
			}
			// The next id the sequence hands out follows the largest copied one.
			q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM %[1]s`, t.name)
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("advancing the id sequence of %s: %w", t.name, err)
			}
		}
	}
	if copyHook != nil {
		if err := copyHook(ctx, tx); err != nil {
			return nil, err
		}
	}
	// Check what the transaction holds against what was read.
	dstDigest, dstCounts, err := digestDirectory(ctx, tx, keys.dst, -1)
	if err != nil {
		return nil, fmt.Errorf("checking the copy: %w", err)
	}
	res.TargetDigest = dstDigest
	for i := range res.Tables {
		res.Tables[i].Target = dstCounts[i]
	}
	if err := res.mismatch(); err != nil {
		return res, err
	}
	if keys.setCheck != nil || keys.resealing {
		check, err := readMeta(ctx, tx, metaKeyCheck)
		if err != nil {
			return nil, err
		}
		want := keys.setCheck
		if want == nil {
			want = dstCheck
		}
		if !bytes.Equal(check, want) {
			return res, fmt.Errorf("the target's key check value was not recorded")
		}
	}
	if opts.Audit != nil {
		a := *opts.Audit
		if a.Detail == "" {
			a.Detail = res.Summary()
		}
		if err := insertAudit(ctx, tx, keys.auditKey, a, dst.now()); err != nil {
			return res, fmt.Errorf("recording the copy in the audit log: %w", err)
		}
	}
	return res, nil
}

func (r *CopyResult) mismatch() error {
	for _, c := range r.Tables {
		if c.Source != c.Target {
			return &MismatchError{Result: r}
		}
	}
	if r.SourceDigest != r.TargetDigest {
		return &MismatchError{Result: r}
	}
	return nil
}

// countRows counts the rows of each copied table (into Target).
func countRows(ctx context.Context, q querier) ([]TableCount, error) {
	out := make([]TableCount, 0, len(copyTables))
	for _, t := range copyTables {
		qs := `SELECT COUNT(*) FROM ` + t.name
		if t.where != "" {
			qs += ` WHERE ` + t.where
		}
		var n int64
		if err := q.QueryRowContext(ctx, qs).Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, TableCount{Table: t.name, Target: n})
	}
	return out, nil
}

// digestDirectory reads every copied row of the directory behind q in the copy's order and
// returns its digest and the row count of each table. auditMaxID >= 0 leaves out the audit
// events recorded after the copy (ids above it).
func digestDirectory(ctx context.Context, q querier, s *secrets.Sealer, auditMaxID int64) (string, []int64, error) {
	d := newDigester(s)
	counts := make([]int64, 0, len(copyTables))
	for _, t := range copyTables {
		extra := ""
		if t.name == "audit_events" && auditMaxID >= 0 {
			extra = fmt.Sprintf("id <= %d", auditMaxID)
		}
		rows, err := q.QueryContext(ctx, t.selectSQL(extra))
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", t.name, err)
		}
		d.table(t.name)
		vals := make([]any, len(t.cols))
		var n int64
		for rows.Next() {
			if err := t.scanRow(rows, vals); err != nil {
				rows.Close()
				return "", nil, fmt.Errorf("reading %s: %w", t.name, err)
			}
			if err := d.row(t, vals); err != nil {
				rows.Close()
				return "", nil, err
			}
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", t.name, err)
		}
		d.end(n)
		counts = append(counts, n)
	}
	return d.sum(), counts, nil
}

// copyTable1 streams one table from srcTx into tx and returns the number of rows.
func copyTable1(ctx context.Context, to dialect, srcTx *sql.Tx, conn *sql.Conn, tx *sql.Tx, t *copyTable, keys *copyKeys,
	dg *digester, batch int) (int64, error) {
	rows, err := srcTx.QueryContext(ctx, t.selectSQL(""))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	dg.table(t.name)
	src := &copySource{ctx: ctx, rows: rows, t: t, keys: keys, dg: dg, vals: make([]any, len(t.cols))}
	if to == dialectPostgres {
		err = conn.Raw(func(dc any) error {
			pc, ok := dc.(*pgConn)
			if !ok {
				return fmt.Errorf("COPY needs a PostgreSQL connection, have %T", dc)
			}
			_, err := pc.Conn.Conn().CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, src)
			return err
		})
	} else {
		err = insertBatches(ctx, tx, t, src, batch)
	}
	if err == nil {
		err = src.err
	}
	if err != nil {
		return src.n, err
	}
	dg.end(src.n)
	return src.n, nil
}

// copySource yields the source rows as they are to be written (secrets re-sealed when the
// keys say so), adding each to the source digest. It is a pgx.CopyFromSource.
type copySource struct {
	ctx  context.Context
	rows *sql.Rows
	t    *copyTable
	keys *copyKeys
	dg   *digester
	vals []any
	n    int64
	err  error
	// the audit chain when re-chaining
	chain   *auditChainer
	prevMAC []byte
}

func (s *copySource) Next() bool {
	if s.err != nil || !s.rows.Next() {
		if s.err == nil {
			s.err = s.rows.Err()
		}
		return false
	}
	if s.err = s.t.scanRow(s.rows, s.vals); s.err != nil {
		return false
	}
	if s.t.enc >= 0 && !s.keys.srcHasKey {
		s.err = errors.New("the source holds encrypted secrets but no key check value")
		return false
	}
	if s.err = s.dg.row(s.t, s.vals); s.err != nil {
		return false
	}
	if s.keys.resealing && s.t.enc >= 0 {
		ad := s.vals[s.t.ad].(string)
		plain, err := s.keys.src.Open(s.vals[s.t.enc].([]byte), ad)
		if err != nil {
			s.err = fmt.Errorf("%s %s: %w", s.t.name, ad, err)
			return false
		}
		s.vals[s.t.enc] = s.keys.dst.Seal(plain, ad)
		s.vals[s.t.fp] = s.keys.dst.Fingerprint(plain)
		clear(plain)
	}
	if s.keys.rechain && s.t.mac >= 0 {
		if s.chain == nil {
			s.chain = newAuditChainer(s.keys.auditKey)
		}
		r := auditRowContent{id: s.vals[0].(int64), time: s.vals[1].(int64), actor: s.vals[2].(string),
			host: s.vals[3].(string), command: s.vals[4].(string), target: s.vals[5].(string),
			result: s.vals[6].(string), detail: s.vals[7].(string)}
		s.prevMAC = s.chain.sum(&r, s.prevMAC)
		s.vals[s.t.mac] = s.prevMAC
	}
	s.n++
	return true
}

func (s *copySource) Values() ([]any, error) { return s.vals, nil }

func (s *copySource) Err() error {
	if s.err == nil {
		return s.ctx.Err()
	}
	return s.err
}

// insertBatches writes the rows of src with multi-row INSERTs of up to batch rows.
func insertBatches(ctx context.Context, tx *sql.Tx, t *copyTable, src *copySource, batch int) error {
	batch = max(1, min(batch, 30000/len(t.cols))) // SQLite allows 32766 parameters
	full, err := tx.PrepareContext(ctx, insertSQL(t, batch))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, batch*len(t.cols))
	n := 0
	for src.Next() {
		args = append(args, src.vals...)
		n++
		if n == batch {
			if _, err := full.ExecContext(ctx, args...); err != nil {
				return err
			}
			args, n = args[:0], 0
		}
	}
	if src.err != nil {
		return src.err
	}
	if n > 0 {
		if _, err := tx.ExecContext(ctx, insertSQL(t, n), args...); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func insertSQL(t *copyTable, n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + t.name + ` (` + strings.Join(t.cols, ", ") + `) VALUES `)
	row := `(` + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + `)`
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// VerifyCopy compares the directory dst with src as Copy checks them, on what both hold now:
// the row counts and the digests, leaving out the audit events recorded in dst after the
// copy. Secrets are compared as plaintext when the two use different master keys, which then
// needs both key files (opts.SourceKeyFile, opts.TargetKeyFile). A difference is a
// *MismatchError (ErrDigestMismatch).
func VerifyCopy(ctx context.Context, src, dst *DB, opts CopyOptions) (*CopyResult, error) {
	srcTx, err := beginSnapshot(ctx, src)
	if err != nil {
		return nil, WithPath(mapErr(err), src.path)
	}
	defer srcTx.Rollback()
	dstTx, err := beginSnapshot(ctx, dst)
	if err != nil {
		return nil, WithPath(mapErr(err), dst.path)
	}
	defer dstTx.Rollback()
	srcCheck, err := readMeta(ctx, srcTx, metaKeyCheck)
	if err != nil {
		return nil, mapErr(err)
	}
	dstCheck, err := readMeta(ctx, dstTx, metaKeyCheck)
	if err != nil {
		return nil, mapErr(err)
	}
	res := &CopyResult{Secrets: SecretsAsStored, KeyCheck: "kept"}
	var srcSealer, dstSealer *secrets.Sealer
	if !bytes.Equal(srcCheck, dstCheck) {
		if opts.SourceKeyFile == "" || opts.TargetKeyFile == "" {
			return nil, &CopyKeyError{Msg: fmt.Sprintf("%s and %s use different master keys; comparing their secrets needs the key files of both", src.path, dst.path)}
		}
		if srcSealer, err = loadSealer(opts.SourceKeyFile); err != nil {
			return nil, err
		}
		if dstSealer, err = loadSealer(opts.TargetKeyFile); err != nil {
			return nil, err
		}
		res.Secrets = SecretsResealed
	}
	var maxAudit int64
	if err := srcTx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM audit_events`).Scan(&maxAudit); err != nil {
		return nil, mapErr(err)
	}
	sd, sc, err := digestDirectory(ctx, srcTx, srcSealer, -1)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src.path, err)
	}
	td, tc, err := digestDirectory(ctx, dstTx, dstSealer, maxAudit)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dst.path, err)
	}
	res.SourceDigest, res.TargetDigest = sd, td
	for i, t := range copyTables {
		res.Tables = append(res.Tables, TableCount{Table: t.name, Source: sc[i], Target: tc[i]})
	}
	return res, res.mismatch()
}
