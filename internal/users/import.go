package users

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

// ImportStore is what an import of a users file needs of the directory.
type ImportStore interface {
	ImportUsers(ctx context.Context, src iter.Seq2[directory.User, error], opts directory.UserImportOptions) (directory.UserImportResult, error)
	RecordFailure(ctx context.Context, target, detail string) error
}

// ImportOptions say how to read a users file and what to do with its users.
type ImportOptions struct {
	File FileOptions
	// Name is the file as named in the summary, errors and the audit trail.
	Name string
	// Update overwrites a user already in the directory with other data; otherwise it is
	// skipped.
	Update bool
	DryRun bool
}

// ImportSummary is the result of an import of a users file. For a dry run the counts say what
// would have happened; when the file was refused nothing was written and they are 0.
type ImportSummary struct {
	File      string           `json:"file"`
	Rows      int              `json:"rows"`
	Created   int              `json:"created"`
	Updated   int              `json:"updated"`
	Unchanged int              `json:"unchanged"`
	Skipped   int              `json:"skipped"`
	Rejected  int              `json:"rejected"`
	DryRun    bool             `json:"dry_run"`
	Problems  []tokens.Problem `json:"problems"` // the header's, then the rows' in order; never nil
}

// InvalidFileError says that the users file has errors, so nothing was imported. Run returns
// it with a complete summary listing them.
type InvalidFileError struct {
	Name     string
	Header   bool // the header is unusable
	Rows     int
	Rejected int
}

func (e *InvalidFileError) Error() string {
	if e.Header {
		return fmt.Sprintf("%s: the header is not usable; nothing was imported", e.Name)
	}
	rows, have := fmt.Sprintf("%d rows", e.Rejected), "have"
	if e.Rejected == 1 {
		rows, have = "1 row", "has"
	}
	return fmt.Sprintf("%s: %s of %d %s errors; nothing was imported", e.Name, rows, e.Rows, have)
}

// errUsersInvalid abandons the transaction when the file has problems.
var errUsersInvalid = errors.New("the users file has errors")

// Importer is one import of a users file.
type Importer struct {
	opts     ImportOptions
	fr       *FileReader
	sum      ImportSummary
	rejected int
}

// Import imports the users file read from r into st: OpenImport, then Run.
func Import(ctx context.Context, st ImportStore, r io.Reader, opts ImportOptions) (ImportSummary, error) {
	im, err := OpenImport(r, opts)
	if err != nil {
		return ImportSummary{}, err
	}
	return im.Run(ctx, st)
}

// OpenImport starts an import of the users file read from r: its header is read and checked,
// nothing is imported yet. The error is for failed reads.
func OpenImport(r io.Reader, opts ImportOptions) (*Importer, error) {
	fr, err := ReadFile(r, opts.File)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", opts.Name, err)
	}
	return &Importer{opts: opts, fr: fr, sum: ImportSummary{File: opts.Name, DryRun: opts.DryRun,
		Problems: append([]tokens.Problem{}, fr.HeaderProblems()...)}}, nil
}

// next reads one row and books it.
func (im *Importer) next(ctx context.Context) (FileRecord, error) {
	if err := ctx.Err(); err != nil {
		return FileRecord{}, fmt.Errorf("import cancelled; nothing was written: %w", err)
	}
	rec, err := im.fr.Next()
	if err == nil {
		im.sum.Rows++
		im.sum.Problems = append(im.sum.Problems, rec.Problems...)
		if !rec.Valid() {
			im.rejected++
		}
	}
	return rec, err
}

// Run writes the users in one transaction, once. A file with errors writes nothing and
// returns *InvalidFileError with a summary of every problem; the failure is audited (except
// for a dry run). Any other error is a failure and nothing was written.
func (im *Importer) Run(ctx context.Context, st ImportStore) (ImportSummary, error) {
	o := im.opts
	// The rows go to the directory as they are read; the first problem abandons the
	// transaction, and the rest of the file is read afterwards for its problems only.
	src := func(yield func(directory.User, error) bool) {
		if im.fr.HeaderBad() {
			yield(directory.User{}, errUsersInvalid)
			return
		}
		for {
			rec, err := im.next(ctx)
			if err == io.EOF {
				return
			}
			if err == nil && !rec.Valid() {
				err = errUsersInvalid
			}
			if err != nil {
				yield(directory.User{}, err)
				return
			}
			if !yield(rec.User, nil) {
				return
			}
		}
	}
	res, ierr := st.ImportUsers(ctx, src, directory.UserImportOptions{Update: o.Update, DryRun: o.DryRun,
		// The audit row is written in the import's transaction, counting the file's rows.
		AuditTarget: o.Name, SourceRows: func() int { return im.sum.Rows }})
	switch {
	case errors.Is(ierr, errUsersInvalid):
		for {
			_, err := im.next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return ImportSummary{}, err
			}
		}
		im.sum.Rejected = im.rejected
		if !o.DryRun {
			_ = st.RecordFailure(context.WithoutCancel(ctx), o.Name, fmt.Sprintf("rows=%d rejected=%d", im.sum.Rows, im.rejected))
		}
		return im.sum, &InvalidFileError{Name: o.Name, Header: im.fr.HeaderBad(), Rows: im.sum.Rows, Rejected: im.rejected}
	case ierr != nil:
		return ImportSummary{}, fmt.Errorf("importing %s: %w", o.Name, ierr)
	}
	im.sum.Created, im.sum.Updated, im.sum.Unchanged, im.sum.Skipped = res.Created, res.Updated, res.Unchanged, res.Skipped
	return im.sum, nil
}
