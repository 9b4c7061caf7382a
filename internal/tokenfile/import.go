package tokenfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"

	"github.com/mfactl/mfactl/internal/csvdialect"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

// ImportDirectory is what an import needs of the directory; every directory.Directory has it.
type ImportDirectory interface {
	ImportTokens(ctx context.Context, src iter.Seq2[directory.ImportRow, error], opts directory.ImportOptions) (directory.ImportResult, error)
}

// DefaultMaxListedProblems bounds the problems an import keeps for its summary, so that a file
// where every one of a million rows is wrong does not fill memory; ImportSummary.ProblemCount
// counts them all.
const DefaultMaxListedProblems = 1000

// ImportOptions say how to read a token file and what to do with its tokens.
type ImportOptions struct {
	Read Options
	// OnOutcome is passed on to the directory: what became of each row it received.
	OnOutcome func(directory.RowOutcome)
	// OnRow is told every row read from the file, once, in file order, on the goroutine
	// reading the file (see the callbacks below): a row the file rules rejected (Outcome
	// rejected, Detail its error codes separated by spaces), a row sent to the directory
	// (OutcomeSent: the directory's OnOutcome tells the rest), or a valid row read after the
	// import was abandoned, which never reaches the directory (not-imported). Together with
	// OnOutcome it lets a report name every row of the file without holding them.
	OnRow func(directory.RowOutcome)
	// OnWork is passed on to the directory: how far its work after reading the rows has come
	// (a remote directory's requests; see directory.Work).
	OnWork func(directory.Work)
	// SourceRead, when set, is called once the whole file has been read and handed to the
	// directory (not when the import stops early): the file's cross-row tables have been let go
	// by then, and the directory's last work (an index rebuild, the commit) is still to come, so
	// a caller may return the freed memory to the system (see the import command).
	SourceRead func()
	// Name is the file as named in problems, errors and the summary; Source is recorded as the
	// tokens' source file (Name when empty).
	Name   string
	Source string

	OnDuplicate          directory.DuplicatePolicy
	RequireExistingUsers bool
	// SkipInvalid imports the valid rows of a file with rejected rows; otherwise one rejected
	// row and nothing is imported.
	SkipInvalid bool
	DryRun      bool
	// Audit is recorded in the import's own transaction, so that the event exists exactly when
	// the tokens do (and as a failure when the import was refused or interrupted).
	Audit *directory.AuditEvent
	// MaxListedProblems bounds ImportSummary.Problems; 0 means DefaultMaxListedProblems.
	MaxListedProblems int

	// The callbacks below watch the import as it runs. The directory may read the file on a
	// goroutine of its own: Rejected and Sent are called on the goroutine reading the file,
	// Progress, DirectoryRejected and Problem for the directory's problems on the caller's.
	// Each row is told once, in file order, as Rejected or Sent.

	// Progress is called after each batch with the rows the directory has processed, counted
	// among the rows sent to it (the count may include the row it was holding when it reported).
	Progress func(processed int)
	// Rejected is called with each record the file rules rejected, as read (its Fields).
	Rejected func(rec *tokens.Record)
	// Sent is called with each valid record before it goes to the directory, whose verdict
	// comes later: DirectoryRejected, or nothing when it was accepted.
	Sent func(rec *tokens.Record)
	// DirectoryRejected is called with the line of each row the directory rejected.
	DirectoryRejected func(line int)
	// Problem is called with every problem as it is found, the file's and the directory's.
	Problem func(p tokens.Problem)
}

// ImportSummary is the result of an import. For a dry run the counts say what would have
// happened; when the import was refused nothing was written, so Imported, Updated and
// UsersCreated are 0.
type ImportSummary struct {
	File         string           `json:"file"`
	Rows         int              `json:"rows"`
	Imported     int              `json:"imported"`
	Unchanged    int              `json:"unchanged"`
	Updated      int              `json:"updated"`
	Skipped      int              `json:"skipped"`
	Rejected     int              `json:"rejected"`
	UsersCreated int              `json:"users_created"`
	DryRun       bool             `json:"dry_run"`
	Problems     []tokens.Problem `json:"problems"` // the first by line, never nil
	// ProblemCount is how many problems were found, of which Problems lists the first.
	ProblemCount int `json:"-"`
	// Committed says the import's transaction committed.
	Committed bool `json:"-"`
}

// The outcomes of an import that are not failures: Run returns them with a complete summary.
//
// InvalidFileError: the file itself is invalid and nothing was imported (without
// SkipInvalid, any row rejected by the file rules; with or without it, an unusable header
// or a file refused as a whole). RejectedError: the directory rejected rows and nothing was
// imported. NoneImportedError: every row was rejected. ErrPartial: some rows were imported,
// the others rejected.

// InvalidFileError says that the file is invalid, so nothing was imported.
type InvalidFileError struct {
	Name     string
	Format   string // FormatCSV or FormatPSKC
	Refused  bool   // refused as a whole (a PSKC file failing its integrity check or not decrypting)
	Header   bool   // unusable from the start (the CSV header, the PSKC container)
	Rows     int    // rows read
	Rejected int    // rows with errors
}

func (e *InvalidFileError) Error() string {
	switch {
	case e.Refused:
		return fmt.Sprintf("%s: the file was refused as a whole; nothing was imported", e.Name)
	case e.Header && e.Format == FormatCSV:
		return fmt.Sprintf("%s: the header is not usable; nothing was imported", e.Name)
	case e.Header:
		return fmt.Sprintf("%s: the file cannot be read as %s; nothing was imported", e.Name, e.Format)
	}
	return fmt.Sprintf("%s: %s of %d %s errors; nothing was imported", e.Name, plural(e.Rejected, "row"), e.Rows, hasHave(e.Rejected))
}

// RejectedError says that the directory rejected rows (serials present, unknown users, the
// method limit), so nothing was imported.
type RejectedError struct {
	Name     string
	Rows     int
	Rejected int
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%s: %s of %d cannot be imported into the directory; nothing was imported",
		e.Name, plural(e.Rejected, "row"), e.Rows)
}

// NoneImportedError says that every row was rejected: nothing of the file is in the directory,
// which is a failure rather than a partial success.
type NoneImportedError struct {
	Name string
	Rows int
}

func (e *NoneImportedError) Error() string {
	return fmt.Sprintf("%s: none of its %s could be imported", e.Name, plural(e.Rows, "row"))
}

// OutcomeSent is what OnRow says of a row handed to the directory, whose outcome the
// directory tells (or, when the import failed before it got to the row, nobody does).
const OutcomeSent = "sent"

// ErrPartial says that the valid rows were imported and the others rejected.
var ErrPartial = errors.New("some rows were rejected")

// DirectoryError is a failure of the directory during the import (an interruption among
// them): its transaction was rolled back.
type DirectoryError struct {
	Name string
	Err  error
}

func (e *DirectoryError) Error() string { return fmt.Sprintf("importing %s: %v", e.Name, e.Err) }
func (e *DirectoryError) Unwrap() error { return e.Err }

// Import imports the token file read from r into dir: OpenImport, then Run.
func Import(ctx context.Context, dir ImportDirectory, r io.Reader, opts ImportOptions) (ImportSummary, error) {
	im, err := OpenImport(r, opts)
	if err != nil {
		return ImportSummary{}, err
	}
	defer im.Close()
	return im.Run(ctx, dir)
}

// Importer is one import: it reads the file record by record, feeds the valid ones to the
// directory and keeps the books.
type Importer struct {
	opts ImportOptions
	ctx  context.Context // of the run, for reading the file from the directory's callbacks
	tf   *File

	rows         int  // guarded by mu (read by the directory for its audit event)
	fileRejected int  // rows with errors by the file rules; guarded by mu
	headerBad    bool // the file is unusable from the start (CSV header, PSKC container)
	refused      bool // the file was refused as a whole while reading (a PSKC MAC failure)
	doomed       bool // a file error without SkipInvalid: nothing will be written
	eof          bool // the file was read to its end
	seen         int  // file problems already booked from tf.Problems

	// The directory may run the row source (records) on a goroutine of its own while it calls
	// onDirProblem and onDirProgress on the caller's: mu guards what both sides touch.
	mu           sync.Mutex
	fileProblems problemList
	dirProblems  problemList
}

// OpenImport starts an import of the token file read from r: the file is opened and its
// format known (problems of its header or container are booked), nothing is imported yet.
// The error is for bad options and failed reads.
func OpenImport(r io.Reader, opts ImportOptions) (*Importer, error) {
	if opts.Source == "" {
		opts.Source = opts.Name
	}
	max := opts.MaxListedProblems
	if max <= 0 {
		max = DefaultMaxListedProblems
	}
	tf, err := Open(r, opts.Read)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", opts.Name, err)
	}
	im := &Importer{opts: opts, tf: tf, fileProblems: problemList{max: max}, dirProblems: problemList{max: max}}
	for _, p := range tf.Problems {
		im.addFileProblem(p)
		im.headerBad = im.headerBad || p.IsError()
	}
	im.seen = len(tf.Problems)
	return im, nil
}

// Format is the format of the file, FormatCSV or FormatPSKC.
func (im *Importer) Format() string { return im.tf.Format }

// Close stops reading the file; always safe to call.
func (im *Importer) Close() error { return im.tf.Close() }

// errFileInvalid is what the row source gives the directory to abandon the transaction when
// the file itself has errors (without SkipInvalid), or was refused as a whole; the directory
// records it in the failure's audit detail.
type errFileInvalid struct {
	line    int
	refused bool
}

func (e *errFileInvalid) Error() string {
	switch {
	case e.refused:
		return "the token file was refused as a whole"
	case e.line == 0:
		return "the token file's header is not usable"
	}
	return fmt.Sprintf("the token file has rows with errors (the first on line %d)", e.line)
}

// errRefused ends the reading of a file refused as a whole (InvalidError): every record read
// before must be discarded, with or without SkipInvalid.
var errRefused = errors.New("token file refused")

// Run imports the file into dir, in one transaction, once. Its summary is complete when the
// error is nil or one of the outcomes (*InvalidFileError, *RejectedError, *NoneImportedError,
// ErrPartial); any other error is a failure and nothing was written.
func (im *Importer) Run(ctx context.Context, dir ImportDirectory) (ImportSummary, error) {
	im.ctx = ctx
	o := im.opts
	res, ierr := dir.ImportTokens(ctx, im.records(ctx), directory.ImportOptions{
		OnDuplicate:          o.OnDuplicate,
		RequireExistingUsers: o.RequireExistingUsers,
		SkipInvalid:          o.SkipInvalid,
		DryRun:               o.DryRun,
		Progress:             im.onDirProgress,
		OnProblem:            im.onDirProblem,
		WarningsAreErrors:    o.Read.Strict,
		SourceCounts:         im.counts,
		Audit:                o.Audit,
		OnOutcome:            o.OnOutcome,
		OnWork:               o.OnWork,
	})

	sum := ImportSummary{File: o.Name, DryRun: o.DryRun}
	var invalid *errFileInvalid
	switch {
	case errors.As(ierr, &invalid):
		// The file is wrong: read it to the end for the full list of its problems. What the
		// directory found before it gave up is left out, so the report does not depend on
		// where its batches happened to end.
		if err := im.drain(ctx); err != nil {
			return ImportSummary{}, err
		}
		sum.Rows, sum.Rejected = im.rows, im.fileRejected
		sum.Problems = im.fileProblems.list()
		sum.ProblemCount = im.fileProblems.total
		return sum, &InvalidFileError{Name: o.Name, Format: im.tf.Format, Refused: im.refused,
			Header: im.headerBad, Rows: im.rows, Rejected: im.fileRejected}
	case errors.Is(ierr, directory.ErrRejected):
		sum.Rows, sum.Unchanged, sum.Skipped = im.rows, res.Unchanged, res.Skipped
		sum.Rejected = res.Rejected
		sum.Problems = mergeProblems(&im.fileProblems, &im.dirProblems)
		sum.ProblemCount = im.fileProblems.total + im.dirProblems.total
		return sum, &RejectedError{Name: o.Name, Rows: im.rows, Rejected: res.Rejected}
	case ierr != nil:
		return ImportSummary{}, &DirectoryError{Name: o.Name, Err: ierr}
	}
	sum.Rows = im.rows
	sum.Imported, sum.Unchanged, sum.Updated, sum.Skipped = res.Imported, res.Unchanged, res.Updated, res.Skipped
	sum.Rejected = im.fileRejected + res.Rejected
	sum.UsersCreated = res.UsersCreated
	sum.Problems = mergeProblems(&im.fileProblems, &im.dirProblems)
	sum.ProblemCount = im.fileProblems.total + im.dirProblems.total
	sum.Committed = res.Committed
	switch {
	case sum.Rejected > 0 && sum.Imported+sum.Unchanged+sum.Updated+sum.Skipped == 0:
		// Nothing of the file is in the directory: not a partial success.
		return sum, &NoneImportedError{Name: o.Name, Rows: im.rows}
	case sum.Rejected > 0:
		return sum, ErrPartial
	}
	return sum, nil
}

// records is the row source of the directory: the valid records of the file, in order. A file
// error without SkipInvalid ends it with errFileInvalid, which rolls the transaction back.
func (im *Importer) records(ctx context.Context) iter.Seq2[directory.ImportRow, error] {
	return func(yield func(directory.ImportRow, error) bool) {
		if im.headerBad {
			im.doomed = true
			yield(directory.ImportRow{}, &errFileInvalid{})
			return
		}
		for {
			rec, valid, err := im.next(ctx)
			if err == io.EOF {
				if im.opts.SourceRead != nil {
					im.opts.SourceRead()
				}
				return
			}
			if errors.Is(err, errRefused) {
				im.doomed = true
				yield(directory.ImportRow{}, &errFileInvalid{refused: true})
				return
			}
			if err != nil {
				yield(directory.ImportRow{}, err)
				return
			}
			if !valid {
				if !im.opts.SkipInvalid {
					im.doomed = true
					yield(directory.ImportRow{}, &errFileInvalid{line: rec.Line})
					return
				}
				continue
			}
			if im.opts.Sent != nil {
				im.opts.Sent(rec)
			}
			im.tellRow(rec, OutcomeSent, "")
			tok := &rec.Token
			ok := yield(directory.ImportRow{
				Line: rec.Line, Serial: unneutralise(tok.Serial), UPN: unneutralise(tok.UPN), Secret: tok.Secret,
				Period: tok.Period, Digits: tok.Digits, Hash: tok.Hash,
				Manufacturer: unneutralise(tok.Manufacturer), Model: unneutralise(tok.Model), SourceFile: im.opts.Source,
			}, nil)
			// The directory keeps its own copy: the plain secret need not linger in this record.
			clear(tok.Secret)
			if !ok {
				return
			}
		}
	}
}

// next reads one record and books it: the row count, its problems and, when it has errors,
// the rejection.
func (im *Importer) next(ctx context.Context) (rec *tokens.Record, valid bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("import cancelled; nothing was written: %w", err)
	}
	rec, err = im.tf.Next()
	if err == io.EOF {
		// Some warnings about the file are known only at its end (a PSKC signature).
		for _, p := range im.tf.Problems[im.seen:] {
			im.addFileProblem(p)
		}
		im.seen = len(im.tf.Problems)
		im.eof = true
		return nil, false, io.EOF
	}
	var invalid *InvalidError
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			im.addFileProblem(p)
		}
		im.refused = true
		return nil, false, errRefused
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", im.opts.Name, err)
	}
	valid = true
	im.mu.Lock()
	im.rows++
	for _, p := range rec.Problems {
		im.fileProblems.add(p)
		valid = valid && !p.IsError()
	}
	if !valid {
		im.fileRejected++
	}
	im.mu.Unlock()
	if im.opts.Problem != nil {
		for _, p := range rec.Problems {
			im.opts.Problem(p)
		}
	}
	if !valid && im.opts.Rejected != nil {
		im.opts.Rejected(rec)
	}
	if !valid && im.opts.OnRow != nil {
		var codes []string
		for _, p := range rec.Problems {
			if p.IsError() {
				codes = append(codes, p.Code)
			}
		}
		im.tellRow(rec, directory.OutcomeRejected, strings.Join(codes, " "))
	}
	return rec, valid, nil
}

// tellRow tells OnRow of a row read, with its serial number and user as the directory would
// get them (empty when the row's value broke its rule).
func (im *Importer) tellRow(rec *tokens.Record, outcome, detail string) {
	if im.opts.OnRow != nil {
		im.opts.OnRow(directory.RowOutcome{Line: rec.Line, Serial: unneutralise(rec.Token.Serial),
			UPN: unneutralise(rec.Token.UPN), Outcome: outcome, Detail: detail})
	}
}

func (im *Importer) addFileProblem(p tokens.Problem) {
	im.mu.Lock()
	im.fileProblems.add(p)
	im.mu.Unlock()
	if im.opts.Problem != nil {
		im.opts.Problem(p)
	}
}

// drain reads the rest of the file after the import was abandoned, for its problems; the
// valid rows it reads are not imported.
func (im *Importer) drain(ctx context.Context) error {
	for !im.refused && !im.headerBad && !im.eof {
		rec, valid, err := im.next(ctx)
		if err == io.EOF || errors.Is(err, errRefused) {
			return nil
		}
		if err != nil {
			return err
		}
		if valid {
			im.tellRow(rec, directory.OutcomeNotImported, "")
			clear(rec.Token.Secret)
		}
	}
	return nil
}

// ReadRest reads what Run left unread of the file after it failed (a *DirectoryError), so that
// OnRow, Rejected and Problem hear of every row: for a report of the whole file. It writes
// nothing; the error is a failure to read (or ctx's).
func (im *Importer) ReadRest(ctx context.Context) error {
	return im.drain(ctx)
}

// counts is the directory's SourceCounts: the rows read and those rejected by the file rules.
//
// The directory calls it for the failure's audit event after it has rolled back, so the rest
// of a file abandoned at its first bad row is read here, without holding the write lock, for
// counts of the whole file (Run then finds it read).
func (im *Importer) counts() (rows, rejected int) {
	if im.doomed {
		_ = im.drain(im.ctx) // an error (Ctrl-C) comes back from Run's drain
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.rows, im.fileRejected
}

// onDirProgress is called by the directory after each batch with the rows it has processed.
func (im *Importer) onDirProgress(processed int) {
	if im.opts.Progress != nil {
		im.opts.Progress(processed)
	}
}

func (im *Importer) onDirProblem(rp directory.RowProblem) {
	severity := tokens.SeverityError
	if rp.Warning {
		severity = tokens.SeverityWarning
	}
	p := tokens.Problem{Line: rp.Line, Column: rp.Column, Severity: severity, Code: rp.Code, Message: rp.Message}
	im.mu.Lock()
	im.dirProblems.add(p)
	im.mu.Unlock()
	if im.opts.Problem != nil {
		im.opts.Problem(p)
	}
	if !rp.Warning && im.opts.DirectoryRejected != nil {
		im.opts.DirectoryRejected(rp.Line)
	}
}

// unneutralise undoes the formula neutralisation of mfactl's CSV listings (a model "-" or a
// manufacturer "=Vendor" is listed as "'-" and "'=Vendor"), so that "tokens list -o csv" with
// the secrets added imports as unchanged rather than as tokens with other data.
func unneutralise(s string) string { return csvdialect.Unneutralise(s) }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func hasHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}
