package tokencmd

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokenfile"
)

// The details of the rows a report says were not imported, by why nothing was written, and
// of the rows a dry run would have written.
const (
	detailRefused = "import.refused" // rows were rejected without --skip-invalid
	detailFailed  = "import.failed"  // the directory failed (or could not be opened): rolled back
	detailDryRun  = "dry-run"        // created, assigned or updated by the real run; not written
)

var reportHeader = []string{"line", "serial number", "upn", "outcome", "detail"}

// outcomeReport writes --report: what became of every row of the file, in file order, on
// every backend. It holds no row in memory: two streams are kept in temporary files as the
// import runs (spillFile: unlinked at once, encrypted, though no secret goes in), and merged
// at the end into the report:
//   - read: every row read from the file, in file order (tokenfile's OnRow), on the goroutine
//     reading the file: rejected by the file rules, sent to the directory, or not imported;
//   - told: what the directory did with the rows sent to it, in the same order (OnOutcome),
//     on the caller's goroutine. On the SQL backends these come true only if the import
//     commits, so the merge settles them by the import's result (reportFate).
//
// The report is written whole or not at all (cmdutil.PendingFile), mode 0600, and never
// holds a secret.
type outcomeReport struct {
	path string

	mu    sync.Mutex
	read  *spillFile
	readW *csv.Writer
	told  *spillFile
	toldW *csv.Writer
	err   error // the first error writing the streams, reported by write
}

func newOutcomeReport(path string) (*outcomeReport, error) {
	read, err := newSpillFile("mfactl-report-*")
	if err != nil {
		return nil, fmt.Errorf("--report: %w", err)
	}
	told, err := newSpillFile("mfactl-report-*")
	if err != nil {
		read.remove()
		return nil, fmt.Errorf("--report: %w", err)
	}
	return &outcomeReport{path: path, read: read, readW: csv.NewWriter(read), told: told, toldW: csv.NewWriter(told)}, nil
}

// onRow is tokenfile's OnRow; nil without a report, so that an import without one pays
// nothing per row.
func (r *outcomeReport) onRow() func(directory.RowOutcome) {
	if r == nil {
		return nil
	}
	return func(o directory.RowOutcome) { r.add(r.readW, o) }
}

// onOutcome is the directory's OnOutcome; nil without a report.
func (r *outcomeReport) onOutcome() func(directory.RowOutcome) {
	if r == nil {
		return nil
	}
	return func(o directory.RowOutcome) { r.add(r.toldW, o) }
}

func (r *outcomeReport) add(w *csv.Writer, o directory.RowOutcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = w.Write([]string{strconv.Itoa(o.Line), o.Serial, o.UPN, o.Outcome, o.Detail})
	}
}

// close removes the temporary streams; always safe to call.
func (r *outcomeReport) close() {
	r.read.remove()
	r.told.remove()
}

// reportFate is what the import's result makes of the outcomes told.
type reportFate struct {
	noRows bool // the file was refused as a whole or its header is unusable: no row to name
	// kept: the directory's outcomes hold (committed, or a dry run that says what it would do).
	kept, dryRun bool
	// verdicts: the directory read the whole file, so its rejections stand even though
	// nothing was written; otherwise only the file rules' rejections do, so that the report
	// does not depend on where the directory's batches happened to end.
	verdicts bool
	// detail of the rows not imported.
	detail string
	// readRest: the import stopped before the end of the file, which must be read for the
	// report to name every row.
	readRest bool
}

// fateOf settles the report by the result of Run.
func fateOf(sum tokenfile.ImportSummary, ierr error) reportFate {
	var (
		invalid  *tokenfile.InvalidFileError
		rejected *tokenfile.RejectedError
		none     *tokenfile.NoneImportedError
	)
	switch {
	case errors.As(ierr, &invalid):
		return reportFate{noRows: invalid.Refused || invalid.Header, detail: detailRefused}
	case errors.As(ierr, &rejected):
		return reportFate{verdicts: true, detail: detailRefused}
	case ierr == nil, errors.As(ierr, &none), errors.Is(ierr, tokenfile.ErrPartial):
		if sum.Committed || sum.DryRun {
			return reportFate{kept: true, dryRun: sum.DryRun, verdicts: true, detail: detailFailed}
		}
	}
	return reportFate{detail: detailFailed, readRest: true}
}

// finish writes the report once Run (or the opening of the directory) is over: ierr is Run's
// error, or the error that kept the import from running. An interrupted import writes no
// report, and removes one left by an earlier run, which would otherwise pass for this one's.
func (r *outcomeReport) finish(ctx context.Context, f *cmdutil.Factory, im *tokenfile.Importer, sum tokenfile.ImportSummary, ierr error) error {
	fate := fateOf(sum, ierr)
	if fate.readRest && !cmdutil.Interrupted(ctx) {
		if err := im.ReadRest(ctx); err != nil {
			r.dropStale(f, fmt.Sprintf("the rest of the file could not be read (%v)", err))
			return nil
		}
	}
	if cmdutil.Interrupted(ctx) {
		r.dropStale(f, "the import was interrupted")
		return nil
	}
	n, err := r.write(fate)
	if err != nil {
		return fmt.Errorf("writing the report %s: %w", r.path, err)
	}
	if !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: wrote the outcome of %s to %s\n", plural(n, "row"), r.path)
	}
	return nil
}

// dropStale removes the report of an earlier run when this one writes none.
func (r *outcomeReport) dropStale(f *cmdutil.Factory, why string) {
	err := os.Remove(r.path)
	if errors.Is(err, os.ErrNotExist) || f.Quiet {
		return
	}
	if err == nil {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: no report: %s; removed the earlier %s\n", why, r.path)
	} else {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: warning: no report: %s, and the earlier %s could not be removed: %v\n", why, r.path, cmdutil.BareErr(err))
	}
}

// write merges the two streams into the report, settling each row by fate, and moves it into
// place; it returns the rows written.
func (r *outcomeReport) write(fate reportFate) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	read, err := r.stream(r.read, r.readW)
	if err != nil {
		return 0, err
	}
	told, err := r.stream(r.told, r.toldW)
	if err != nil {
		return 0, err
	}
	p, err := cmdutil.CreatePending(r.path, 0o600)
	if err != nil {
		return 0, err
	}
	defer p.Discard()
	w := csv.NewWriter(p)
	w.Write(reportHeader)
	n := 0
	next, err := told.next()
	for !fate.noRows {
		if err != nil && err != io.EOF {
			return 0, err
		}
		row, rerr := read.next()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, rerr
		}
		o, fromDir := *row, false
		if o.Outcome == tokenfile.OutcomeSent {
			// The directory's outcome, or none when it failed before it got to the row.
			o.Outcome = directory.OutcomeNotImported
			if next != nil && next.Line == o.Line {
				o, fromDir = *next, true
				next, err = told.next()
			}
		}
		o = fate.settle(o, fromDir)
		// Cells that a spreadsheet would run as a formula are neutralised, as in every listing.
		w.Write([]string{strconv.Itoa(o.Line), render.NeutraliseFormula(o.Serial), render.NeutraliseFormula(o.UPN),
			o.Outcome, render.NeutraliseFormula(o.Detail)})
		n++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, err
	}
	return n, p.Commit()
}

// settle is what the report says of a row given outcome o by the file rules (tokenfile's
// OnRow) or, fromDir, by the directory.
func (fate reportFate) settle(o directory.RowOutcome, fromDir bool) directory.RowOutcome {
	switch {
	case o.Outcome == directory.OutcomeRejected && (!fromDir || fate.verdicts):
		return o
	case fate.kept && fromDir:
		if fate.dryRun && (o.Outcome == directory.OutcomeCreated || o.Outcome == directory.OutcomeAssigned || o.Outcome == directory.OutcomeUpdated) {
			o.Detail = detailDryRun
		}
		return o
	}
	o.Outcome, o.Detail = directory.OutcomeNotImported, fate.detail
	return o
}

// outcomeStream reads back one of the streams.
type outcomeStream struct {
	cr  *csv.Reader
	row directory.RowOutcome
}

func (r *outcomeReport) stream(s *spillFile, w *csv.Writer) (*outcomeStream, error) {
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	rd, err := s.reader()
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(rd)
	cr.FieldsPerRecord = len(reportHeader)
	cr.ReuseRecord = true
	return &outcomeStream{cr: cr}, nil
}

// next returns the next row of the stream, or io.EOF.
func (s *outcomeStream) next() (*directory.RowOutcome, error) {
	rec, err := s.cr.Read()
	if err != nil {
		return nil, err
	}
	line, err := strconv.Atoi(rec[0])
	if err != nil {
		return nil, err
	}
	s.row = directory.RowOutcome{Line: line, Serial: rec[1], UPN: rec[2], Outcome: rec[3], Detail: rec[4]}
	return &s.row, nil
}
