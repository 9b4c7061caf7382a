package store

import (
	"cmp"
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/secrets"
	"github.com/mfactl/mfactl/internal/tokens"
)

// The model lives in internal/directory; these names keep the store's callers compiling.
type (
	ImportRow       = directory.ImportRow
	DuplicatePolicy = directory.DuplicatePolicy
	ImportOptions   = directory.ImportOptions
	RowProblem      = directory.RowProblem
	ImportResult    = directory.ImportResult
	ImportError     = directory.ImportError
	RowOutcome      = directory.RowOutcome
)

const (
	DuplicateFail      = directory.DuplicateFail
	DuplicateSkip      = directory.DuplicateSkip
	DuplicateUpdate    = directory.DuplicateUpdate
	CodeSerialExists   = directory.CodeSerialExists
	CodeUserUnknown    = directory.CodeUserUnknown
	CodeUserLimit      = directory.CodeUserLimit
	DefaultMaxProblems = directory.DefaultMaxProblems
)

// importBatch is the number of rows looked up and inserted per statement. Multi-row statements
// amortise the per-statement cost of database/sql and the driver; 256 rows x 14 columns stays
// far below SQLite's 32766 bound on parameters (and PostgreSQL's 65535).
const importBatch = 256

// importCacheKiB is the page cache used during an import. The unique and fingerprint indexes
// are updated at random positions; a larger cache keeps their pages in memory.
const importCacheKiB = 16 << 10

// rebuildCacheKiB is the page cache while the fingerprint index is rebuilt (SQLite's default).
const rebuildCacheKiB = 2000

// ImportTokens writes tokens in ONE transaction: all of it commits, or nothing (a problem
// without SkipInvalid, an error from src, a cancelled ctx, a crash). Rows must already be valid
// by the file rules; this checks what depends on the directory: existing serials
// (serial.exists under DuplicateFail), unknown users (user.unknown with RequireExistingUsers)
// and the OATH method limit (user.limit, counting the directory and the rows before). A row
// identical to the stored token (serial, secret, period, digits, hash, manufacturer, model and,
// when the row names one, the owner) is Unchanged and never written. A row without UPN leaves
// the owner of an existing token alone.
//
// OnOutcome hears of each batch's rows once the batch is written in the transaction: the
// outcomes hold when the result says Committed, and nothing else was written.
//
// When problems reject the import the result is returned with an *ImportError (ErrRejected).
// Busy databases give ErrBusy.
func (d *DB) ImportTokens(ctx context.Context, src iter.Seq2[ImportRow, error], opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	sealer, err := d.needSealer()
	if err != nil {
		return res, err
	}
	if opts.OnDuplicate == "" {
		opts.OnDuplicate = DuplicateFail
	}
	switch opts.OnDuplicate {
	case DuplicateFail, DuplicateSkip, DuplicateUpdate:
	default:
		return res, fmt.Errorf("importing tokens: unknown duplicate policy %q", opts.OnDuplicate)
	}
	if opts.MaxMethods <= 0 {
		opts.MaxMethods = directory.MaxMethods
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = DefaultMaxProblems
	}

	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return res, mapErr(err)
	}
	defer conn.Close()
	// Connection settings for the bulk write, restored when done (the connection goes back to
	// the pool):
	//   - a larger page cache for the indexes;
	//   - multi-row INSERTs need a statement journal (to undo a half-done statement): keep it in
	//     memory instead of a temporary file written with one syscall per page; it holds at
	//     most the pages one batch touches;
	//   - no foreign-key probes: every user_id written comes from a lookup or an insert in this
	//     very transaction, so the per-row check into users would only repeat it.
	// (PostgreSQL has none of these settings, and nothing to gain from them.)
	if d.dialect == dialectSQLite {
		for _, p := range []string{fmt.Sprintf(`PRAGMA cache_size = -%d`, importCacheKiB), `PRAGMA temp_store = MEMORY`, `PRAGMA foreign_keys = OFF`} {
			if _, err := conn.ExecContext(ctx, p); err != nil {
				return res, mapErr(err)
			}
		}
		defer func() {
			bg := context.WithoutCancel(ctx)
			conn.ExecContext(bg, `PRAGMA foreign_keys = ON`)
			conn.ExecContext(bg, `PRAGMA temp_store = DEFAULT`)
			conn.ExecContext(bg, `PRAGMA cache_size = -2000`)
		}()
	}

	var readingOn bool // the source is still being read: a cancelled import stopped waiting for it
	err = d.importTx(ctx, conn, sealer, src, opts, &res, &readingOn)
	if err != nil && ctx.Err() != nil {
		// Whatever statement the cancellation interrupted, say what happened.
		err = fmt.Errorf("import cancelled; nothing was written: %w", ctx.Err())
	}
	if err == nil || opts.DryRun || opts.Audit == nil {
		return res, mapErr(err)
	}
	// Record the failure outside the rolled-back transaction, even when ctx was cancelled.
	a := *opts.Audit
	a.Result = "failure"
	if a.Detail == "" {
		if readingOn {
			// The source's counts would race with its reader: count what reached the store.
			opts.SourceCounts = nil
		}
		a.Detail = importSummary(res, opts, false) + "; " + err.Error()
	}
	// In a write transaction of its own, so that the row is chained to the one before it.
	bg := context.WithoutCancel(ctx)
	_ = d.inTx(bg, func(tx *sql.Tx) error { return insertAudit(bg, tx, d.auditKey(), a, d.now()) })
	return res, mapErr(err)
}

// importSummary is the audit detail of an import. An import that did not commit wrote nothing,
// so it counts no token imported or updated and no user created, whatever the store had
// prepared before it gave up.
func importSummary(r ImportResult, opts ImportOptions, committed bool) string {
	if opts.SourceCounts != nil {
		rows, rejected := opts.SourceCounts()
		r.Rows = rows
		r.Rejected += rejected
	}
	if !committed {
		r.Imported, r.Updated, r.UsersCreated = 0, 0, 0
	}
	return fmt.Sprintf("rows=%d imported=%d unchanged=%d updated=%d skipped=%d rejected=%d users_created=%d",
		r.Rows, r.Imported, r.Unchanged, r.Updated, r.Skipped, r.Rejected, r.UsersCreated)
}

// importTx runs the import in one transaction. When ctx is cancelled while the source is blocked
// (standard input that stalls), it rolls back without waiting for the source and sets
// *readingOn: the reader goroutine then ends with the process.
func (d *DB) importTx(ctx context.Context, conn *sql.Conn, sealer *secrets.Sealer, src iter.Seq2[ImportRow, error], opts ImportOptions, res *ImportResult, readingOn *bool) (err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	im := &importer{
		ctx: ctx, tx: tx, opts: opts, sealer: sealer, res: res, now: unix(d.now()),
		stmts: map[string]*sql.Stmt{}, conn: conn, dialect: d.dialect,
	}
	// ids are rowids, so MAX(id) is an instant upper bound of a table's size.
	var maxToken, maxUser int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT COALESCE(MAX(id), 0) FROM tokens), (SELECT COALESCE(MAX(id), 0) FROM users)`).Scan(&maxToken, &maxUser); err != nil {
		tx.Rollback()
		return err
	}
	im.bulkAfter = max(bulkMinRows, maxToken)
	im.preTokens = maxToken
	im.bulkUsersAfter = max(bulkMinRows, maxUser)
	im.nextUserID = maxUser
	r := startReader(src, sealer)
	defer func() {
		for _, s := range im.stmts {
			s.Close()
		}
		if err != nil || !res.Committed {
			tx.Rollback()
		}
		if ctx.Err() != nil && !r.finished() {
			r.abandon()
			*readingOn = true
			return
		}
		r.stop() // last: it re-raises a panic of the source
	}()
	for {
		var b *batch
		var more bool
		select {
		case b, more = <-r.full:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !more {
			break
		}
		res.Rows += len(b.rows)
		im.batch = b.rows
		err := im.flush()
		r.recycle(b)
		if err != nil {
			return err
		}
	}
	if err := r.err(); err != nil {
		return err
	}
	if res.Rejected > 0 && !opts.SkipInvalid {
		return &ImportError{Rejected: res.Rejected}
	}
	if opts.DryRun {
		return nil
	}
	if err := im.restoreIndex(); err != nil {
		return fmt.Errorf("rebuilding index %s: %w", fpIndexName, err)
	}
	if opts.Audit != nil {
		a := *opts.Audit
		a.Result = "success"
		if a.Detail == "" {
			a.Detail = importSummary(*res, opts, true)
		}
		if err := insertAudit(ctx, tx, d.auditKey(), a, d.now()); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	res.Committed = true
	return nil
}

// batch is a group of rows read and prepared (fingerprinted, sealed) by the reader goroutine.
type batch struct {
	rows    []pendingRow
	secrets []byte // arena holding the batch's plaintext secrets; wiped before reuse
	serials map[string]bool
}

// reader runs the caller's source in its own goroutine, so that parsing and the crypto work
// of one batch overlap with SQLite writing the previous one (a second core does the former).
// A fixed pool of batches bounds memory.
type reader struct {
	full    chan *batch
	free    chan *batch
	done    chan struct{}
	quit    chan struct{}
	srcErr  error
	panicV  any
	stopped bool
}

const readerBatches = 3

func startReader(src iter.Seq2[ImportRow, error], sealer *secrets.Sealer) *reader {
	r := &reader{
		full: make(chan *batch, readerBatches), free: make(chan *batch, readerBatches),
		done: make(chan struct{}), quit: make(chan struct{}),
	}
	for range readerBatches {
		r.free <- &batch{rows: make([]pendingRow, 0, importBatch), serials: map[string]bool{}}
	}
	go r.run(src, sealer)
	return r
}

func (r *reader) run(src iter.Seq2[ImportRow, error], sealer *secrets.Sealer) {
	defer close(r.done)
	defer close(r.full)
	defer func() {
		if v := recover(); v != nil {
			r.panicV = v
		}
	}()
	var b *batch
	get := func() bool {
		select {
		case b = <-r.free:
			return true
		case <-r.quit:
			return false
		}
	}
	send := func() bool {
		select {
		case r.full <- b:
			b = nil
			return true
		case <-r.quit:
			return false
		}
	}
	if !get() {
		return
	}
	for row, err := range src {
		if err != nil {
			r.srcErr = err
			return
		}
		key := Key(row.Serial)
		// A serial repeated within a batch would not see its first occurrence in the
		// batch's lookup, so it starts a new batch.
		if len(b.rows) == importBatch || b.serials[key] {
			if !send() || !get() {
				return
			}
		}
		p := pendingRow{ImportRow: row, serialKey: key, upnKey: Key(row.UPN)}
		normalize(&p.ImportRow)
		start := len(b.secrets)
		b.secrets = append(b.secrets, row.Secret...)
		p.Secret = b.secrets[start:len(b.secrets):len(b.secrets)]
		p.fp = sealer.Fingerprint(row.Secret)
		p.enc = sealer.Seal(row.Secret, row.Serial)
		b.rows = append(b.rows, p)
		b.serials[key] = true
	}
	if len(b.rows) > 0 {
		send()
	}
}

// normalize fills the defaults of a TOTP token (SHA1, 6 digits, 30 s) and upper-cases the
// hash name, so that equal tokens compare equal.
func normalize(r *ImportRow) {
	switch r.Hash {
	case "":
		r.Hash = "SHA1"
	case "SHA1", "SHA256", "SHA512":
	default:
		r.Hash = strings.ToUpper(r.Hash)
	}
	if r.Digits == 0 {
		r.Digits = 6
	}
	if r.Period == 0 {
		r.Period = 30
	}
}

// recycle wipes a processed batch and gives it back to the reader.
func (r *reader) recycle(b *batch) {
	clear(b.secrets)
	b.secrets = b.secrets[:0]
	clear(b.rows)
	b.rows = b.rows[:0]
	clear(b.serials)
	r.free <- b // never blocks: the pool has room for every batch
}

// stop ends the reader and waits for it, so the caller's source is never running after
// ImportTokens returns. A panic in the source is re-raised here, in the caller's goroutine.
// finished reports whether the reader goroutine has returned.
func (r *reader) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// abandon tells the reader to stop at its next row without waiting for it: it may be blocked
// in its source for good.
func (r *reader) abandon() {
	if !r.stopped {
		r.stopped = true
		close(r.quit)
	}
}

// stop tells the reader to stop (abandon) and waits for it; it re-raises a panic of the source.
func (r *reader) stop() {
	r.abandon()
	<-r.done
	if r.panicV != nil {
		panic(r.panicV)
	}
}

// errSourcePanicked stops the import (and so rolls it back) when the source panicked; stop
// then re-raises the panic.
var errSourcePanicked = errors.New("token source panicked")

// err returns the source's error once the reader has finished.
func (r *reader) err() error {
	<-r.done
	if r.panicV != nil {
		return errSourcePanicked
	}
	return r.srcErr
}

// pendingRow is a row of the current batch with its derived values.
type pendingRow struct {
	ImportRow
	serialKey string
	upnKey    string
	fp        []byte
	enc       []byte // the sealed secret
	action    int    // one of the act* values
	outcome   string // for a row not written (unchanged, skipped, rejected): its directory.Outcome*
	detail    string // for a rejected row: the problem code
	existing  existingToken
	userID    int64
}

const (
	actNone = iota
	actInsert
	actUpdate
)

// existingToken is a token of the directory named by the batch: first what identical compares
// (lookupTokens), then, for a token that differs, its identity and state (lookupDetails).
type existingToken struct {
	fp     []byte
	hash   string
	digits int
	period int
	maker  string
	model  string
	upnKey string

	detailed bool // the fields below are set
	id       int64
	serial   string
	userID   sql.NullInt64
	status   string
}

type importer struct {
	ctx    context.Context
	tx     *sql.Tx
	opts   ImportOptions
	sealer *secrets.Sealer
	res    *ImportResult
	now    int64

	stmts map[string]*sql.Stmt
	batch []pendingRow
	args  []any

	inserted   int64
	bulkAfter  int64 // drop the fingerprint index once more rows than this were inserted
	droppedIdx bool

	// The serial keys in tokens and the UPN keys in users, once a bulk import has started
	// keeping them (see keyFilter): a key they have never seen needs no lookup.
	serialKeys     keyFilter
	upnKeys        keyFilter
	bulkUsersAfter int64 // start upnKeys once more users than this were created

	// nextUserID is the last user id handed out. The import holds the write lock from BEGIN
	// IMMEDIATE to the end, so MAX(id) read at the start cannot be taken by anyone else, and
	// assigning ids here saves reading 1M generated ids back (RETURNING) in a large import.
	// A PostgreSQL implementation reserves the ids from the sequence instead (nextval over
	// generate_series).
	nextUserID int64

	// The tokens that were in the directory before the import (ids up to preTokens), which
	// secret.reused compares new secrets with: the file's own rows are compared with each
	// other by the file rules. rewritten holds those whose secret this import replaces, and
	// heldBefore their fingerprints once the fingerprint index is dropped (see reusedSecrets).
	preTokens  int64
	rewritten  map[int64]bool
	heldBefore []heldSecret

	conn    *sql.Conn // the connection of tx (PostgreSQL's COPY needs it)
	dialect dialect
}

// Bulk imports drop the index on secret fingerprints and build it again at the end of the
// same transaction: fingerprints are random, so each insert lands on a random index page (1M
// inserts cost twice as much as sorting once), and the random pages also bloat the in-memory
// statement journal. Dropping pays when the import at least doubles the table and is big
// enough to matter. As the drop and the rebuild commit (or roll back, or vanish in a crash)
// together, no reader of the committed database ever misses the index.
var bulkMinRows int64 = 50_000 // a variable so tests can exercise the bulk path

const (
	fpIndexName = "tokens_secret_fp"
	fpIndexDDL  = `CREATE INDEX IF NOT EXISTS tokens_secret_fp ON tokens (secret_fp)`
)

func (im *importer) dropIndexIfBulk() error {
	// PostgreSQL: DROP INDEX would lock every reader of the table out until the commit.
	if im.droppedIdx || im.inserted <= im.bulkAfter || im.dialect == dialectPostgres {
		return nil
	}
	if err := im.keepHeldSecrets(); err != nil {
		return fmt.Errorf("reading secret fingerprints: %w", err)
	}
	if _, err := im.tx.ExecContext(im.ctx, `DROP INDEX IF EXISTS `+fpIndexName); err != nil {
		return err
	}
	im.droppedIdx = true
	return nil
}

// restoreIndex rebuilds the index dropped by dropIndexIfBulk, before the commit. CREATE INDEX
// sorts the keys. With temp_store=MEMORY (set for the statement journal) SQLite's sorter would
// hold all of them in memory, so it is switched back to temporary files, where the sorter
// works in runs of the page cache's size: the cache goes back to its default size first, or
// the runs alone would add three times the import cache to the peak RSS (16 MiB of cache: 57
// MiB more; 2 MB: 13 MiB more, and no slower). SQLite allows the temp_store switch inside a
// transaction as long as the connection has not opened its temporary database, which nothing
// in an import does; should it refuse, the index is built in memory, which costs memory but
// is just as correct.
func (im *importer) restoreIndex() error {
	if !im.droppedIdx {
		return nil
	}
	_, _ = im.tx.ExecContext(im.ctx, `PRAGMA temp_store = DEFAULT`)
	_, _ = im.tx.ExecContext(im.ctx, fmt.Sprintf(`PRAGMA cache_size = -%d`, rebuildCacheKiB))
	_, err := im.tx.ExecContext(im.ctx, fpIndexDDL)
	return err
}

// warn reports a problem that does not reject the row (unless WarningsAreErrors).
func (im *importer) warn(p *pendingRow, column, code, msg string) {
	if im.opts.WarningsAreErrors {
		im.problem(p, column, code, msg)
		return
	}
	rp := RowProblem{Line: p.Line, Serial: p.Serial, Column: column, Code: code, Message: msg, Warning: true}
	if len(im.res.Problems) < im.opts.MaxProblems {
		im.res.Problems = append(im.res.Problems, rp)
	}
	if im.opts.OnProblem != nil {
		im.opts.OnProblem(rp)
	}
}

func (im *importer) problem(p *pendingRow, column, code, msg string) {
	rp := RowProblem{Line: p.Line, Serial: p.Serial, Column: column, Code: code, Message: msg}
	im.res.Rejected++
	if len(im.res.Problems) < im.opts.MaxProblems {
		im.res.Problems = append(im.res.Problems, rp)
	}
	if im.opts.OnProblem != nil {
		im.opts.OnProblem(rp)
	}
	p.action = actNone
	p.outcome, p.detail = directory.OutcomeRejected, code
}

// stmt returns a prepared statement for the query built by build(n), cached per kind and size.
func (im *importer) stmt(kind string, n int, build func(n int) string) (*sql.Stmt, error) {
	key := fmt.Sprintf("%s/%d", kind, n)
	if s, ok := im.stmts[key]; ok {
		return s, nil
	}
	s, err := im.tx.PrepareContext(im.ctx, build(n))
	if err != nil {
		return nil, err
	}
	im.stmts[key] = s
	return s, nil
}

// list returns "?, ?, ..., ?" with n placeholders.
func list(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// tuplesWith returns rows tuples of cols placeholders followed by the literal SQL suffix:
// tuplesWith(2, 2, "7, 7") is "(?, ?, 7, 7), (?, ?, 7, 7)". Values that are the same for every
// row of an import (its timestamp) are written once into the statement instead of being bound
// millions of times; they are integers formatted by us, never input.
func tuplesWith(rows, cols int, suffix string) string {
	t := "(" + list(cols) + ", " + suffix + ")"
	return strings.TrimSuffix(strings.Repeat(t+", ", rows), ", ")
}

// nowSQL is the import's timestamp as SQL literals for created_at, updated_at.
func (im *importer) nowSQL() string {
	n := strconv.FormatInt(im.now, 10)
	return n + ", " + n
}

// chunks splits n into descending powers of two no larger than importBatch, so multi-row
// statements come from a handful of prepared sizes.
func chunks(n int) []int {
	var out []int
	for size := importBatch; n > 0; size /= 2 {
		for n >= size {
			out = append(out, size)
			n -= size
		}
	}
	return out
}

func (im *importer) flush() error {
	if len(im.batch) == 0 {
		return nil
	}
	if err := im.ctx.Err(); err != nil {
		return err
	}
	if err := im.process(); err != nil {
		return err
	}
	im.tellOutcomes()
	if im.opts.Progress != nil {
		im.opts.Progress(im.res.Rows)
	}
	return nil
}

// tellOutcomes tells OnOutcome what the batch's writes did with each of its rows, in source
// order. They are written inside the transaction: what they say holds once it commits (see
// directory.ImportOptions.OnOutcome).
func (im *importer) tellOutcomes() {
	if im.opts.OnOutcome == nil {
		return
	}
	for i := range im.batch {
		p := &im.batch[i]
		o := directory.RowOutcome{Line: p.Line, Serial: p.Serial, UPN: p.UPN, Outcome: p.outcome, Detail: p.detail}
		switch {
		case o.Outcome != "":
		case p.action == actInsert:
			o.Outcome = directory.OutcomeCreated
		case p.action == actUpdate:
			o.Outcome = directory.OutcomeUpdated
		default:
			o.Outcome = directory.OutcomeUnchanged // nothing to write
		}
		im.opts.OnOutcome(o)
	}
}

func (im *importer) process() error {
	existing, err := im.lookupTokens()
	if err != nil {
		return fmt.Errorf("looking up serials: %w", err)
	}
	// Rows that differ from their token need its identity and state too, read separately:
	// in a re-import every row is identical and those columns would only slow down the
	// lookup of all of them.
	var differ []string
	for i := range im.batch {
		p := &im.batch[i]
		e, ok := existing[p.serialKey]
		switch {
		case !ok:
			p.action = actInsert
		case im.identical(p, e):
			im.res.Unchanged++
			p.outcome = directory.OutcomeUnchanged
		case im.opts.OnDuplicate != DuplicateSkip:
			differ = append(differ, p.serialKey)
		default:
			im.res.Skipped++
			p.outcome = directory.OutcomeSkipped
		}
	}
	if len(differ) > 0 {
		if err := im.lookupDetails(differ, existing); err != nil {
			return fmt.Errorf("looking up serials: %w", err)
		}
		for i := range im.batch {
			p := &im.batch[i]
			e, ok := existing[p.serialKey]
			if !ok || !e.detailed {
				continue
			}
			p.existing = *e
			if im.opts.OnDuplicate == DuplicateUpdate {
				p.action = actUpdate
				continue
			}
			im.problem(p, "serial number", CodeSerialExists,
				fmt.Sprintf("token %s is already in the directory with different data", e.serial))
		}
	}
	if err := im.reusedSecrets(); err != nil {
		return fmt.Errorf("looking up secrets: %w", err)
	}
	if err := im.resolveUsers(); err != nil {
		return err
	}
	if err := im.insertTokens(); err != nil {
		return fmt.Errorf("inserting tokens: %w", err)
	}
	return im.updateTokens()
}

func (im *importer) identical(p *pendingRow, e *existingToken) bool {
	return subtle.ConstantTimeCompare(p.fp, e.fp) == 1 && p.Hash == e.hash && p.Digits == e.digits && p.Period == e.period &&
		p.Manufacturer == e.maker && p.Model == e.model && (p.upnKey == "" || p.upnKey == e.upnKey)
}

// lookupTokens reads what identical compares of the batch's tokens that are in the directory,
// by serial key.
func (im *importer) lookupTokens() (map[string]*existingToken, error) {
	s, err := im.stmt("lookup-tokens", importBatch, func(n int) string {
		return `SELECT t.serial_key, t.secret_fp, t.hash, t.digits, t.period, t.manufacturer, t.model, COALESCE(u.upn_key, '')
			FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.serial_key IN (` + list(n) + `)`
	})
	if err != nil {
		return nil, err
	}
	args := im.args[:0]
	for i := range im.batch {
		if k := im.batch[i].serialKey; !im.serialKeys.absent(k) {
			args = append(args, k)
		}
	}
	out := map[string]*existingToken{}
	if len(args) == 0 {
		return out, nil
	}
	im.args = padNull(args)
	rows, err := s.QueryContext(im.ctx, im.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		e := &existingToken{}
		var key string
		if err := rows.Scan(&key, &e.fp, &e.hash, &e.digits, &e.period, &e.maker, &e.model, &e.upnKey); err != nil {
			return nil, err
		}
		out[key] = e
	}
	return out, rows.Err()
}

// lookupDetails completes the tokens of keys in found with their identity and state.
func (im *importer) lookupDetails(keys []string, found map[string]*existingToken) error {
	s, err := im.stmt("lookup-details", importBatch, func(n int) string {
		return `SELECT serial_key, id, serial, user_id, status FROM tokens WHERE serial_key IN (` + list(n) + `)`
	})
	if err != nil {
		return err
	}
	args := im.args[:0]
	for _, k := range keys {
		args = append(args, k)
	}
	im.args = padNull(args)
	rows, err := s.QueryContext(im.ctx, im.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var d existingToken
		if err := rows.Scan(&key, &d.id, &d.serial, &d.userID, &d.status); err != nil {
			return err
		}
		if e := found[key]; e != nil {
			e.id, e.serial, e.userID, e.status, e.detailed = d.id, d.serial, d.userID, d.status, true
		}
	}
	return rows.Err()
}

// padNull fills args up to importBatch with NULLs, which match nothing, so that one prepared
// IN (...) statement serves every batch.
func padNull(args []any) []any {
	for len(args) < importBatch {
		args = append(args, nil)
	}
	return args
}

// resolveUsers sets userID on the rows to write, enforcing user.unknown and user.limit and
// creating missing users for the rows that survive.
func (im *importer) resolveUsers() error {
	// Distinct owners named by rows that will be written.
	ids := map[string]int64{}
	for i := range im.batch {
		p := &im.batch[i]
		if p.action != actNone && p.upnKey != "" {
			ids[p.upnKey] = 0
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := im.lookupUsers(ids); err != nil {
		return fmt.Errorf("looking up users: %w", err)
	}
	counts, err := im.countMethods(ids)
	if err != nil {
		return fmt.Errorf("counting methods: %w", err)
	}
	var create []*pendingRow // first row naming each missing user
	creating := map[string]bool{}
	for i := range im.batch {
		p := &im.batch[i]
		if p.action == actNone || p.upnKey == "" {
			continue
		}
		id := ids[p.upnKey]
		if id == 0 && im.opts.RequireExistingUsers {
			im.problem(p, "upn", CodeUserUnknown, fmt.Sprintf("user %s is not in the directory", p.UPN))
			continue
		}
		if p.action == actUpdate && id != 0 && p.existing.userID.Valid && p.existing.userID.Int64 == id {
			continue // same owner: the count does not change
		}
		if counts[p.upnKey] >= im.opts.MaxMethods {
			im.problem(p, "upn", CodeUserLimit, fmt.Sprintf("user %s would have more than %d OATH methods", p.UPN, im.opts.MaxMethods))
			continue
		}
		counts[p.upnKey]++
		if id == 0 && !creating[p.upnKey] {
			creating[p.upnKey] = true
			create = append(create, p)
		}
	}
	if err := im.createUsers(create, ids); err != nil {
		return fmt.Errorf("creating users: %w", err)
	}
	for i := range im.batch {
		p := &im.batch[i]
		if p.action != actNone && p.upnKey != "" {
			p.userID = ids[p.upnKey]
		}
	}
	return nil
}

func (im *importer) lookupUsers(ids map[string]int64) error {
	s, err := im.stmt("lookup-users", importBatch, func(n int) string {
		return `SELECT id, upn_key FROM users WHERE upn_key IN (` + list(n) + `)`
	})
	if err != nil {
		return err
	}
	args := im.args[:0]
	for k := range ids {
		if !im.upnKeys.absent(k) {
			args = append(args, k)
		}
	}
	if len(args) == 0 {
		return nil
	}
	for len(args) < importBatch {
		args = append(args, nil)
	}
	im.args = args
	rows, err := s.QueryContext(im.ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return err
		}
		ids[key] = id
	}
	return rows.Err()
}

// countMethods returns the OATH methods the directory already holds for the existing users.
func (im *importer) countMethods(ids map[string]int64) (map[string]int, error) {
	counts := map[string]int{}
	byID := map[int64]string{}
	args := im.args[:0]
	for k, id := range ids {
		if id != 0 {
			byID[id] = k
			args = append(args, id)
		}
	}
	if len(args) == 0 {
		return counts, nil // all new users: nothing to count
	}
	if im.dialect == dialectPostgres {
		ids := make([]int64, len(args))
		for i, id := range args {
			ids[i] = id.(int64)
		}
		args = append(args[:0], ids)
	} else {
		for len(args) < importBatch {
			args = append(args, nil)
		}
		args = append(args, args...)
	}
	im.args = args
	s, err := im.stmt("count-methods", importBatch, func(n int) string { return countMethodsSQL(im.dialect, n) })
	if err != nil {
		return nil, err
	}
	rows, err := s.QueryContext(im.ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		counts[byID[id]] = n
	}
	return counts, rows.Err()
}

// countMethodsSQL counts the OATH methods of n users (n ids; on PostgreSQL one array of ids),
// giving user_id and count.
func countMethodsSQL(dl dialect, n int) string {
	if dl == dialectPostgres {
		return pgCountMethodsSQL
	}
	return `SELECT user_id, COUNT(*) FROM (
			SELECT user_id FROM tokens WHERE user_id IN (` + list(n) + `)
			UNION ALL
			SELECT user_id FROM auth_methods WHERE user_id IN (` + list(n) + `)) m GROUP BY user_id`
}

// secretHoldersSQL finds the tokens up to an id that hold any of n fingerprints (on
// PostgreSQL one array of them), oldest first.
func secretHoldersSQL(dl dialect, n int) string {
	if dl == dialectPostgres {
		return pgSecretHoldersSQL
	}
	return `SELECT secret_fp, id, serial_key, serial FROM tokens WHERE id <= ? AND secret_fp IN (` + list(n) + `) ORDER BY id`
}

// createUsers inserts the missing users with ids handed out by the importer (see
// nextUserID), so the ids are known without reading them back.
func (im *importer) createUsers(create []*pendingRow, ids map[string]int64) error {
	for _, n := range chunks(len(create)) {
		part := create[:n]
		create = create[n:]
		s, err := im.stmt("insert-users", n, func(n int) string {
			return `INSERT INTO users (id, upn, upn_key, created_at, updated_at) VALUES ` + tuplesWith(n, 3, im.nowSQL())
		})
		if err != nil {
			return err
		}
		reserved, err := im.reserveUserIDs(n)
		if err != nil {
			return err
		}
		args := im.args[:0]
		for i, p := range part {
			ids[p.upnKey] = reserved[i]
			args = append(args, reserved[i], p.UPN, p.upnKey)
		}
		im.args = args
		if _, err := s.ExecContext(im.ctx, args...); err != nil {
			return err
		}
		for _, p := range part {
			im.upnKeys.noted(p.upnKey)
		}
		im.res.UsersCreated += n
	}
	if !im.upnKeys.on && int64(im.res.UsersCreated) > im.bulkUsersAfter {
		return im.startFilter(&im.upnKeys, `SELECT upn_key FROM users`)
	}
	return nil
}

const tokenInsertParams = 12

func (im *importer) insertTokens() error {
	var rows []*pendingRow
	for i := range im.batch {
		if p := &im.batch[i]; p.action == actInsert {
			rows = append(rows, p)
		}
	}
	if im.dialect == dialectPostgres && len(rows) > 0 {
		if err := im.copyTokens(rows); err != nil {
			return err
		}
		rows = nil
	}
	for _, n := range chunks(len(rows)) {
		part := rows[:n]
		rows = rows[n:]
		s, err := im.stmt("insert-tokens", n, func(n int) string {
			return `INSERT INTO tokens (serial, serial_key, secret_enc, secret_fp, hash, digits, period, manufacturer, model,
				user_id, status, source_file, created_at, updated_at) VALUES ` + tuplesWith(n, tokenInsertParams, im.nowSQL())
		})
		if err != nil {
			return err
		}
		// Anonymous parameters only: numbered ones (?NNN), which could bind a value shared by
		// all rows once, make SQLite's sqlite3_bind_parameter_name linear in the number of
		// parameters, and the driver calls it for each: a 256-row statement took 25x longer.
		args := im.args[:0]
		for _, p := range part {
			var user any
			status := StatusAvailable
			if p.userID != 0 {
				user, status = p.userID, StatusAssigned
			}
			// int64, not int: database/sql converts other integer types by reflection.
			args = append(args, p.Serial, p.serialKey, p.enc, p.fp, p.Hash, int64(p.Digits), int64(p.Period),
				p.Manufacturer, p.Model, user, string(status), p.SourceFile)
		}
		im.args = args
		if _, err := s.ExecContext(im.ctx, args...); err != nil {
			return err
		}
		for _, p := range part {
			im.serialKeys.noted(p.serialKey)
		}
		im.res.Imported += n
		im.inserted += int64(n)
	}
	if !im.serialKeys.on && im.inserted > im.bulkAfter {
		if err := im.startFilter(&im.serialKeys, `SELECT serial_key FROM tokens`); err != nil {
			return err
		}
	}
	return im.dropIndexIfBulk()
}

func (im *importer) updateTokens() error {
	for i := range im.batch {
		p := &im.batch[i]
		if p.action != actUpdate {
			continue
		}
		e := &p.existing
		userID := e.userID
		if p.upnKey != "" {
			userID = sql.NullInt64{Int64: p.userID, Valid: true}
		}
		// An activation proved that the owner holds a device producing these codes: a new
		// secret, new code parameters or a new owner void it.
		codesChanged := subtle.ConstantTimeCompare(p.fp, e.fp) != 1 || p.Hash != e.hash || p.Digits != e.digits || p.Period != e.period
		if codesChanged || userID != e.userID {
			status := StatusAvailable
			switch {
			case e.status == string(StatusDisabled):
				status = StatusDisabled
			case userID.Valid:
				status = StatusAssigned
			}
			s, err := im.stmt("update-token-reset", 1, func(int) string {
				return `UPDATE tokens SET serial = ?, secret_enc = ?, secret_fp = ?, hash = ?, digits = ?, period = ?,
					manufacturer = ?, model = ?, user_id = ?, status = ?, drift = 0, last_step = 0, failed_attempts = 0,
					activated_at = NULL, source_file = ?, updated_at = ? WHERE id = ?`
			})
			if err != nil {
				return err
			}
			if _, err := s.ExecContext(im.ctx, p.Serial, p.enc, p.fp, p.Hash, p.Digits, p.Period,
				p.Manufacturer, p.Model, userID, string(status), p.SourceFile, im.now, e.id); err != nil {
				return fmt.Errorf("updating token %s: %w", p.Serial, err)
			}
		} else {
			s, err := im.stmt("update-token-meta", 1, func(int) string {
				return `UPDATE tokens SET serial = ?, manufacturer = ?, model = ?, source_file = ?, updated_at = ? WHERE id = ?`
			})
			if err != nil {
				return err
			}
			// The secret is unchanged and sealed under the case-folded serial: no re-sealing.
			if _, err := s.ExecContext(im.ctx, p.Serial, p.Manufacturer, p.Model, p.SourceFile, im.now, e.id); err != nil {
				return fmt.Errorf("updating token %s: %w", p.Serial, err)
			}
		}
		im.res.Updated++
	}
	return nil
}

// keyFilter tells which keys of a unique column are certainly not in the table, so that a bulk
// import of new tokens for new users does not look up two million absent keys (about 1.5 µs
// each through the driver, 15% of such an import). It is a Bloom filter of the keys in the
// table: empty and off until the import has written as many rows as the table held before
// (bulkMinRows at least), when start fills it with the table's keys, its own included; from
// then on every key the import adds goes in too. Before that, or for a key the filter may
// hold, the import looks the key up as usual. The import holds the write lock from its first
// statement to the last, so no other writer can add a key behind the filter's back.
//
// The filter grows as a series of Bloom filters, each four times the capacity of the one
// before (the number of keys is not known in advance). Each is blocked: the 6 bits of a key
// lie in one 64-bit word, so adding or testing a key costs one cache miss per filter instead
// of one per bit (with bits spread over the whole filter, the filter cost as much as the
// lookups it saved). At 16 bits per key one answers "maybe" for about 1% of absent keys, so
// the series stays below 3%; that is 2 bytes per key.
type keyFilter struct {
	on    bool
	seed  maphash.Seed
	parts []bloomPart
}

type bloomPart struct {
	words   []uint64
	mask    uint64 // len(words) - 1, a power of two minus one
	n, room int
}

const (
	bloomBitsPerKey = 16
	bloomProbes     = 6
	bloomFirstRoom  = 1 << 16
	bloomGrowth     = 4
)

// start turns the filter on and adds the keys load yields (the table's).
func (f *keyFilter) start(load func(add func(key string)) error) error {
	f.seed = maphash.MakeSeed()
	if err := load(f.add); err != nil {
		*f = keyFilter{}
		return err
	}
	f.on = true
	return nil
}

// bloomSlot returns the word of a part a hash falls in and the bits it sets there.
func bloomSlot(h, mask uint64) (word uint64, bits uint64) {
	word = h & mask
	// The word index uses the low bits; the bit positions come from the high 36.
	for i := range bloomProbes {
		bits |= 1 << ((h >> (28 + 6*i)) & 63)
	}
	return word, bits
}

func (f *keyFilter) add(key string) {
	if len(f.parts) == 0 || f.parts[len(f.parts)-1].n == f.parts[len(f.parts)-1].room {
		room := bloomFirstRoom
		if len(f.parts) > 0 {
			room = bloomGrowth * f.parts[len(f.parts)-1].room
		}
		words := 1 << bits.Len(uint(room*bloomBitsPerKey/64-1)) // a power of two
		f.parts = append(f.parts, bloomPart{words: make([]uint64, words), mask: uint64(words - 1), room: room})
	}
	p := &f.parts[len(f.parts)-1]
	w, b := bloomSlot(maphash.String(f.seed, key), p.mask)
	p.words[w] |= b
	p.n++
}

// absent reports whether key is certainly not in the table; false when the filter is off.
func (f *keyFilter) absent(key string) bool {
	if !f.on {
		return false
	}
	h := maphash.String(f.seed, key)
	for i := len(f.parts) - 1; i >= 0; i-- { // the newest part holds the most keys
		p := &f.parts[i]
		if w, b := bloomSlot(h, p.mask); p.words[w]&b == b {
			return false
		}
	}
	return true
}

// noted adds a key written by the import, when the filter is on.
func (f *keyFilter) noted(key string) {
	if f.on {
		f.add(key)
	}
}

// startFilter fills f with the column of the table (both constants) read in the import's
// transaction.
func (im *importer) startFilter(f *keyFilter, query string) error {
	return f.start(func(add func(string)) error {
		rows, err := im.tx.QueryContext(im.ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		var key string
		for rows.Next() {
			if err := rows.Scan(&key); err != nil {
				return err
			}
			add(key)
		}
		return rows.Err()
	})
}

// heldSecret is the fingerprint of a token that was in the directory before the import.
type heldSecret struct {
	fp [secrets.FingerprintSize]byte
	id int64
}

// secretHolder is a token of the directory holding a secret of the batch.
type secretHolder struct {
	id        int64
	serialKey string
	serial    string
}

// reusedSecrets warns (secret.reused, naming the other serial, never the secret) about the
// batch's new secrets that a token already in the directory holds: the rows to insert and the
// updates that change a token's secret. Rows identical to their token or skipped bring no new
// secret, so a re-import costs nothing here, and neither does an import into an empty
// directory. Otherwise it is one indexed lookup of the batch's fingerprints, or, once a bulk
// import has dropped the fingerprint index, a search of the fingerprints kept in memory then.
func (im *importer) reusedSecrets() error {
	if im.preTokens == 0 {
		return nil
	}
	var rows []*pendingRow
	for i := range im.batch {
		p := &im.batch[i]
		switch {
		case p.action == actInsert:
			rows = append(rows, p)
		case p.action == actUpdate && subtle.ConstantTimeCompare(p.fp, p.existing.fp) != 1:
			// The token's old secret goes: it is no longer anyone's to share.
			if im.rewritten == nil {
				im.rewritten = map[int64]bool{}
			}
			im.rewritten[p.existing.id] = true
			rows = append(rows, p)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	holders, err := im.secretHolders(rows)
	if err != nil {
		return err
	}
	for _, p := range rows {
		for _, h := range holders[string(p.fp)] {
			if h.serialKey == p.serialKey || im.rewritten[h.id] {
				continue
			}
			im.warn(p, tokens.ColSecret, tokens.CodeSecretReused,
				fmt.Sprintf("the same secret as token %s in the directory; every token needs its own", h.serial))
			break
		}
	}
	return nil
}

// secretHolders returns the tokens that were in the directory before the import and hold
// the secrets of rows, by fingerprint, oldest first.
func (im *importer) secretHolders(rows []*pendingRow) (map[string][]secretHolder, error) {
	out := map[string][]secretHolder{}
	if im.droppedIdx {
		return out, im.heldHolders(rows, out)
	}
	s, err := im.stmt("secret-holders", importBatch, func(n int) string { return secretHoldersSQL(im.dialect, n) })
	if err != nil {
		return nil, err
	}
	args := im.args[:0]
	if im.dialect == dialectPostgres {
		fps := make([][]byte, len(rows))
		for i, p := range rows {
			fps[i] = p.fp
		}
		args = append(args, fps, im.preTokens)
	} else {
		args = append(args, im.preTokens)
		for _, p := range rows {
			args = append(args, p.fp)
		}
		for len(args) < importBatch+1 {
			args = append(args, nil)
		}
	}
	im.args = args
	q, err := s.QueryContext(im.ctx, args...)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	for q.Next() {
		var fp []byte
		var h secretHolder
		if err := q.Scan(&fp, &h.id, &h.serialKey, &h.serial); err != nil {
			return nil, err
		}
		out[string(fp)] = append(out[string(fp)], h)
	}
	return out, q.Err()
}

// keepHeldSecrets reads the fingerprints of the tokens that were in the directory before the
// import, sorted, for reusedSecrets to search once the index on them is dropped. The index is
// dropped only when the import has inserted more rows than the directory held, so this reads
// fewer rows than the import has written and keeps 24 bytes for each (24 MB for a directory
// of a million tokens, during an import of more than a million).
func (im *importer) keepHeldSecrets() error {
	if im.preTokens == 0 {
		return nil
	}
	q, err := im.tx.QueryContext(im.ctx, `SELECT secret_fp, id FROM tokens WHERE id <= ?`, im.preTokens)
	if err != nil {
		return err
	}
	defer q.Close()
	var fp []byte
	for q.Next() {
		var h heldSecret
		if err := q.Scan(&fp, &h.id); err != nil {
			return err
		}
		copy(h.fp[:], fp)
		im.heldBefore = append(im.heldBefore, h)
	}
	if err := q.Err(); err != nil {
		return err
	}
	slices.SortFunc(im.heldBefore, compareHeld)
	return nil
}

func compareHeld(a, b heldSecret) int {
	if c := strings.Compare(string(a.fp[:]), string(b.fp[:])); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// heldHolders is secretHolders from the fingerprints kept by keepHeldSecrets; the few tokens
// found are read by id.
func (im *importer) heldHolders(rows []*pendingRow, out map[string][]secretHolder) error {
	for _, p := range rows {
		if _, done := out[string(p.fp)]; done {
			continue
		}
		var key heldSecret
		copy(key.fp[:], p.fp)
		i, _ := slices.BinarySearchFunc(im.heldBefore, key, compareHeld)
		for ; i < len(im.heldBefore) && im.heldBefore[i].fp == key.fp; i++ {
			h := secretHolder{id: im.heldBefore[i].id}
			err := im.tx.QueryRowContext(im.ctx, `SELECT serial_key, serial FROM tokens WHERE id = ?`, h.id).Scan(&h.serialKey, &h.serial)
			if err != nil {
				return err
			}
			out[string(p.fp)] = append(out[string(p.fp)], h)
		}
	}
	return nil
}
