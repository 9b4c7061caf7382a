package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/csvdialect"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokenfile"
	"github.com/mfactl/mfactl/internal/tokens"
)

type importOptions struct {
	f             *cmdutil.Factory
	file          string
	format        string // output format
	read          tokenfile.Options
	dryRun        bool
	skipInvalid   bool
	onDuplicate   directory.DuplicatePolicy
	rejected      string
	requireUsers  bool
	progressDelay time.Duration
}

func newImportCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &importOptions{f: f, progressDelay: importProgressDelay}
	var ff fileFlags
	var onDuplicate string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a token seed file into the directory",
		Long: `Import the tokens of a seed file into the directory: an Azure OATH CSV or a PSKC (RFC 6030)
file, recognised by content, decrypted with --pskc-key-file or --pskc-password-file when it is
encrypted; "-" reads standard input. Tokens of a PSKC file without a user are imported as stock.

The file is checked by the rules of "mfactl tokens validate" as it streams in, then against the
directory (serial numbers already present, unknown users, at most 5 OATH methods per user), and
written in one transaction: all of it or nothing. A crash or Ctrl-C leaves the directory as it
was. Secrets are encrypted at rest with the master key (--key-file).

A row that is identical to the token in the directory is always left alone, so importing the
same file again changes nothing. A serial number that is present with other data is an error
unless --on-duplicate says to skip or update it; updating a token's secret or owner clears its
activation. Users named in the file are created unless --require-existing-users.

When rows have errors nothing is imported (exit 1) unless --skip-invalid, which imports the
valid rows and exits 3; --rejected then writes the rejected rows of a CSV as read, with the
header, to a file (mode 0600) to fix and import again. A PSKC file that fails its integrity
check (MAC) or does not decrypt is refused as a whole.

The summary goes to standard output (-o json for scripts); problems go to standard error in the
format of validate. A progress bar is shown on a terminal for long imports.`,
		Example: `  $ mfactl tokens import tokens.csv
  $ mfactl tokens import --dry-run tokens.csv
  $ mfactl tokens import --skip-invalid --rejected fix-me.csv tokens.csv
  $ mfactl tokens import --on-duplicate update -o json tokens.csv
  $ mfactl tokens import --pskc-key-file vendor.key seeds.pskc`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
				return err
			}
			if opts.read, err = ff.readOptions(f, args); err != nil {
				return err
			}
			switch p := directory.DuplicatePolicy(onDuplicate); p {
			case directory.DuplicateFail, directory.DuplicateSkip, directory.DuplicateUpdate:
				opts.onDuplicate = p
			default:
				return cmdutil.Usagef("--on-duplicate: unknown policy %q (want fail, skip or update)", onDuplicate)
			}
			opts.file = args[0]
			if err := checkRejectedPath(opts.rejected, opts.file); err != nil {
				return err
			}
			return importRun(cmd.Context(), cmd, opts)
		},
	}
	ff.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&opts.dryRun, "dry-run", false, "check everything against the directory, write nothing")
	fl.BoolVar(&opts.skipInvalid, "skip-invalid", false, "import the valid rows, report the others and exit 3")
	fl.StringVar(&onDuplicate, "on-duplicate", string(directory.DuplicateFail),
		"`policy` for a serial already in the directory with other data: fail, skip or update")
	fl.StringVar(&opts.rejected, "rejected", "", "write the rejected rows as read to this CSV `file` (mode 0600)")
	fl.BoolVar(&opts.requireUsers, "require-existing-users", false, "reject rows whose user is not in the directory instead of creating it")
	return cmd
}

// checkRejectedPath refuses a --rejected file that would replace the input.
func checkRejectedPath(rejected, input string) error {
	if rejected == "" {
		return nil
	}
	if rejected == "-" {
		return cmdutil.Usagef("--rejected: want a file name; rejected rows hold secrets and never go to standard output")
	}
	// Found only at the final rename otherwise, after the import committed: the rows would be
	// imported-but-lost.
	if st, err := os.Stat(rejected); err == nil && st.IsDir() {
		return cmdutil.Usagef("--rejected: %s is a directory; want a file name", rejected)
	}
	if input == "-" {
		return nil
	}
	a, errA := filepath.Abs(rejected)
	b, errB := filepath.Abs(input)
	if errA == nil && errB == nil && a == b {
		return cmdutil.Usagef("--rejected: %s is the file being imported", rejected)
	}
	if sa, err := os.Stat(rejected); err == nil {
		if sb, err := os.Stat(input); err == nil && os.SameFile(sa, sb) {
			return cmdutil.Usagef("--rejected: %s is the file being imported", rejected)
		}
	}
	return nil
}

// importSummary is the result of an import (SPEC section 10). For a dry run the counts say what
// would have happened; when the import was refused nothing was written, so imported, updated
// and users_created are 0.
type importSummary struct {
	File         string           `json:"file"`
	Rows         int              `json:"rows"`
	Imported     int              `json:"imported"`
	Unchanged    int              `json:"unchanged"`
	Updated      int              `json:"updated"`
	Skipped      int              `json:"skipped"`
	Rejected     int              `json:"rejected"`
	UsersCreated int              `json:"users_created"`
	DryRun       bool             `json:"dry_run"`
	Problems     []tokens.Problem `json:"problems"`
}

// importProgressDelay is how long an import runs before its progress bar appears (SPEC: bars
// for imports over a second); a variable so that tests can show it at once.
var importProgressDelay = time.Second

// maxListedProblems bounds the problems kept for the report, so that a file where every one of
// a million rows is wrong does not fill memory; the count of the others is printed.
const maxListedProblems = 1000

// tokenImport is one run of the import: it reads the file record by record, feeds the valid
// ones to the store and keeps the books.
type tokenImport struct {
	opts   *importOptions
	ctx    context.Context // of the run, for reading the file from the store's callbacks
	name   string          // the file as named in problems
	source string          // the file as recorded in the tokens' source_file
	tf     *tokenfile.File

	rows         int  // guarded by mu (read by the store for its audit event)
	fileRejected int  // rows with errors by the file rules; guarded by mu
	firstBad     int  // line of the first of them
	headerBad    bool // the file is unusable from the start (CSV header, PSKC container)
	refused      bool // the file was refused as a whole while reading (a PSKC MAC failure)
	doomed       bool // a file error without --skip-invalid: nothing will be written
	eof          bool // the file was read to its end
	seen         int  // file problems already booked from tf.Problems

	// The store may run the row source (records) on a goroutine of its own while it calls
	// onStoreProblem and onStoreProgress on the caller's: mu guards what both sides touch.
	mu            sync.Mutex
	fileProblems  problemList
	storeProblems problemList
	rej           *rejectedFile // nil without --rejected; locks itself
	progress      *importProgress
}

// errFileInvalid is what the row source gives the store to abandon the transaction when the
// file itself has errors (without --skip-invalid), or was refused as a whole; the store records
// it in the failure's audit detail.
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

// errRefused ends the reading of a file refused as a whole (tokenfile.InvalidError): every
// record read before must be discarded, with or without --skip-invalid.
var errRefused = errors.New("token file refused")

func importRun(ctx context.Context, cmd *cobra.Command, opts *importOptions) error {
	f := opts.f
	t := &tokenImport{
		opts:          opts,
		ctx:           ctx,
		name:          displayName(opts.file),
		source:        displayName(opts.file),
		fileProblems:  problemList{max: maxListedProblems},
		storeProblems: problemList{max: maxListedProblems},
	}
	in, err := openInput(f, opts.file)
	if err != nil {
		return err
	}
	defer in.Close()
	counter := &countingReader{r: in}
	var r io.Reader = counter
	var head *headCapture
	if opts.rejected != "" {
		head = &headCapture{r: r, limit: headCaptureLimit}
		r = head
	}
	tf, err := tokenfile.Open(r, opts.read)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.name, err)
	}
	defer tf.Close()
	t.tf = tf
	for _, p := range tf.Problems {
		t.fileProblems.add(p)
		t.headerBad = t.headerBad || p.IsError()
	}
	t.seen = len(tf.Problems)
	if opts.rejected != "" {
		if tf.Format != tokenfile.FormatCSV {
			return cmdutil.Usagef("--rejected: %s is a %s file; rejected rows can be written for CSV files only", t.name, tf.Format)
		}
		if t.rej, err = newRejectedFile(opts.rejected, head, opts.read.CSV); err != nil {
			return err
		}
		defer t.rej.abort()
	}
	size := inputSize(in)
	t.progress = newImportProgress(f, counter, size, opts.progressDelay)
	defer t.progress.done()
	defer limitImportMemory(size)()

	db, err := f.ImportStore(ctx, opts.dryRun)
	if err != nil {
		return err
	}
	res, ierr := db.ImportTokens(ctx, t.records(ctx), directory.ImportOptions{
		OnDuplicate:          opts.onDuplicate,
		RequireExistingUsers: opts.requireUsers,
		SkipInvalid:          opts.skipInvalid,
		DryRun:               opts.dryRun,
		Progress:             t.onStoreProgress,
		OnProblem:            t.onStoreProblem,
		WarningsAreErrors:    opts.read.Strict,
		SourceCounts:         t.counts,
		// Recorded in the import's own transaction: the event exists exactly when the tokens do
		// (and as a failure when the import was refused or interrupted).
		Audit: &directory.AuditEvent{
			Actor:   cmdutil.Actor(),
			Host:    cmdutil.Host().Name,
			Command: cmdutil.CommandName(cmd),
			Target:  t.name,
		},
	})
	t.progress.done()

	sum := importSummary{File: t.name, DryRun: opts.dryRun}
	var result error
	var invalid *errFileInvalid
	switch {
	case errors.As(ierr, &invalid):
		// The file is wrong: read it to the end for the full list of its problems. What the
		// store found before it gave up is left out, so the report does not depend on where
		// its batches happened to end.
		if err := t.drain(ctx); err != nil {
			return err
		}
		sum.Rows, sum.Rejected = t.rows, t.fileRejected
		sum.Problems = t.fileProblems.list()
		result = t.invalidFileError()
	case errors.Is(ierr, directory.ErrRejected):
		sum.Rows, sum.Unchanged, sum.Skipped = t.rows, res.Unchanged, res.Skipped
		sum.Rejected = res.Rejected
		sum.Problems = mergeProblems(&t.fileProblems, &t.storeProblems)
		result = cmdutil.WithHint(fmt.Errorf("%s: %s of %d cannot be imported into the directory; nothing was imported",
			t.name, plural(res.Rejected, "row"), t.rows), rejectionHint(sum.Problems))
	case ierr != nil:
		if ctx.Err() != nil && !f.Quiet {
			// Main reports only "interrupted"; the admin who pressed Ctrl-C wants to know
			// what state the directory is in.
			fmt.Fprintf(f.IO.ErrOut, "mfactl: import of %s interrupted; nothing was written to the directory\n", t.name)
		}
		return fmt.Errorf("importing %s: %w", t.name, ierr)
	default:
		sum.Rows = t.rows
		sum.Imported, sum.Unchanged, sum.Updated, sum.Skipped = res.Imported, res.Unchanged, res.Updated, res.Skipped
		sum.Rejected = t.fileRejected + res.Rejected
		sum.UsersCreated = res.UsersCreated
		sum.Problems = mergeProblems(&t.fileProblems, &t.storeProblems)
		if t.rej != nil {
			if err := t.rej.commit(); err != nil {
				if res.Committed {
					err = fmt.Errorf("%s was imported, but the rejected rows were not saved: %w", t.name, err)
				}
				return err
			}
		}
		switch {
		case sum.Rejected > 0 && sum.Imported+sum.Unchanged+sum.Updated+sum.Skipped == 0:
			// Nothing of the file is in the directory: not a partial success (exit 1, as
			// bulk activation does when every row failed).
			result = fmt.Errorf("%s: none of its %s could be imported", t.name, plural(t.rows, "row"))
		case sum.Rejected > 0:
			result = cmdutil.ErrPartial
		}
	}
	if err := t.report(sum); err != nil {
		return err
	}
	return result
}

// records is the row source of the store: the valid records of the file, in order. A file
// error without --skip-invalid ends it with errFileInvalid, which rolls the transaction back.
func (t *tokenImport) records(ctx context.Context) iter.Seq2[directory.ImportRow, error] {
	return func(yield func(directory.ImportRow, error) bool) {
		if t.headerBad {
			t.doomed = true
			yield(directory.ImportRow{}, &errFileInvalid{})
			return
		}
		for {
			rec, valid, err := t.next(ctx)
			if err == io.EOF {
				return
			}
			if errors.Is(err, errRefused) {
				t.doomed = true
				yield(directory.ImportRow{}, &errFileInvalid{refused: true})
				return
			}
			if err != nil {
				yield(directory.ImportRow{}, err)
				return
			}
			if !valid {
				if !t.opts.skipInvalid {
					t.doomed = true
					yield(directory.ImportRow{}, &errFileInvalid{line: rec.Line})
					return
				}
				continue
			}
			if t.rej != nil {
				t.rej.sendRow(rec)
			}
			tok := &rec.Token
			ok := yield(directory.ImportRow{
				Line: rec.Line, Serial: unneutralise(tok.Serial), UPN: unneutralise(tok.UPN), Secret: tok.Secret,
				Period: tok.Period, Digits: tok.Digits, Hash: tok.Hash,
				Manufacturer: unneutralise(tok.Manufacturer), Model: unneutralise(tok.Model), SourceFile: t.source,
			}, nil)
			// The store keeps its own copy: the plain secret need not linger in this record.
			clear(tok.Secret)
			if !ok {
				return
			}
		}
	}
}

// next reads one record and books it: the row count, its problems and, when it has errors,
// the rejected rows.
func (t *tokenImport) next(ctx context.Context) (rec *tokens.Record, valid bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("import cancelled; nothing was written: %w", err)
	}
	rec, err = t.tf.Next()
	if err == io.EOF {
		// Some warnings about the file are known only at its end (a PSKC signature).
		t.mu.Lock()
		for _, p := range t.tf.Problems[t.seen:] {
			t.fileProblems.add(p)
		}
		t.mu.Unlock()
		t.seen = len(t.tf.Problems)
		t.eof = true
		return nil, false, io.EOF
	}
	var invalid *tokenfile.InvalidError
	if errors.As(err, &invalid) {
		t.mu.Lock()
		for _, p := range invalid.Problems {
			t.fileProblems.add(p)
		}
		t.mu.Unlock()
		t.refused = true
		return nil, false, errRefused
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", t.name, err)
	}
	valid = true
	t.mu.Lock()
	t.rows++
	for _, p := range rec.Problems {
		t.fileProblems.add(p)
		valid = valid && !p.IsError()
	}
	if !valid {
		t.fileRejected++
	}
	t.mu.Unlock()
	if !valid {
		if t.firstBad == 0 {
			t.firstBad = rec.Line
		}
		if t.rej != nil {
			t.rej.reject(rec)
		}
	}
	return rec, valid, nil
}

// drain reads the rest of the file after the import was abandoned, for its problems.
func (t *tokenImport) drain(ctx context.Context) error {
	for !t.refused && !t.headerBad && !t.eof {
		_, _, err := t.next(ctx)
		if err == io.EOF || errors.Is(err, errRefused) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// counts is the store's SourceCounts: the rows read and those rejected by the file rules.
//
// The store calls it for the failure's audit event after it has rolled back, so the rest of a
// file abandoned at its first bad row is read here, without holding the write lock, for
// counts of the whole file (importRun then finds it read).
func (t *tokenImport) counts() (rows, rejected int) {
	if t.doomed {
		_ = t.drain(t.ctx) // an error (Ctrl-C) comes back from importRun's drain
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows, t.fileRejected
}

// onStoreProgress is called by the store after each batch with the rows it has processed.
func (t *tokenImport) onStoreProgress(processed int) {
	t.progress.update()
	if t.rej != nil {
		// The count may include the row the store is holding when it reports (it did so when
		// it read the source on the caller's goroutine): leave that one for the next time.
		t.rej.settle(processed - 1)
	}
}

func (t *tokenImport) onStoreProblem(rp directory.RowProblem) {
	severity := tokens.SeverityError
	if rp.Warning {
		severity = tokens.SeverityWarning
	}
	t.mu.Lock()
	t.storeProblems.add(tokens.Problem{
		Line: rp.Line, Column: rp.Column, Severity: severity, Code: rp.Code, Message: rp.Message,
	})
	t.mu.Unlock()
	if t.rej != nil && !rp.Warning {
		t.rej.storeRejected(rp.Line)
	}
}

func (t *tokenImport) invalidFileError() error {
	hint := "fix the rows and import again, or pass --skip-invalid to import the valid rows"
	if t.refused {
		err := fmt.Errorf("%s: the file was refused as a whole; nothing was imported", t.name)
		// Say how to give the key or password, as validate and convert do.
		for _, p := range t.fileProblems.list() {
			switch p.Code {
			case "pskc.key-required", "pskc.mac-missing":
				return cmdutil.WithHint(err, decryptHint(p.Code))
			case "pskc.wrong-key":
				return cmdutil.WithHint(err, "check that the key or password is the one the vendor sent for this file")
			}
		}
		return err
	}
	if t.headerBad && t.tf.Format == tokenfile.FormatCSV {
		return cmdutil.WithHint(fmt.Errorf("%s: the header is not usable; nothing was imported", t.name),
			"the first line must name the columns "+joinColumns())
	}
	if t.headerBad {
		return fmt.Errorf("%s: the file cannot be read as %s; nothing was imported", t.name, t.tf.Format)
	}
	return cmdutil.WithHint(fmt.Errorf("%s: %s of %d %s errors; nothing was imported",
		t.name, plural(t.fileRejected, "row"), t.rows, hasHave(t.fileRejected)), hint)
}

func joinColumns() string {
	s := ""
	for i, c := range tokens.Columns {
		if i > 0 {
			s += ","
		}
		s += c
	}
	return s
}

func hasHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

// rejectionHint suggests the fix for the first kind of problem the directory raised.
func rejectionHint(ps []tokens.Problem) string {
	for _, p := range ps {
		switch p.Code {
		case directory.CodeSerialExists:
			return "pass --on-duplicate skip to keep the tokens in the directory or --on-duplicate update to overwrite them, or --skip-invalid to import the other rows"
		case directory.CodeUserUnknown:
			return "add the users first (mfactl users add or mfactl users import), or import without --require-existing-users"
		case directory.CodeUserLimit:
			return fmt.Sprintf("a user may hold at most %d OATH methods; remove some first, or pass --skip-invalid to import the other rows", tokens.MaxMethods)
		}
	}
	return "pass --skip-invalid to import the other rows"
}

// report prints the problems (on stderr, or inside the JSON) and the summary.
func (t *tokenImport) report(sum importSummary) error {
	f := t.opts.f
	listed := len(sum.Problems)
	total := t.fileProblems.total + t.storeProblems.total
	if t.doomed {
		total = t.fileProblems.total
	}
	if t.opts.format == cmdutil.FormatJSON {
		if err := render.JSON(f.IO.Out, sum); err != nil {
			return err
		}
	} else {
		for _, p := range sum.Problems {
			if !p.IsError() && f.Quiet {
				continue
			}
			fmt.Fprintln(f.IO.ErrOut, p.Diagnostic(t.name))
		}
		yesNo := map[bool]string{true: "yes", false: "no"}
		if err := writeKeyValues(f.IO.Out, [][2]string{
			{"file", sum.File},
			{"rows", fmt.Sprint(sum.Rows)},
			{"imported", fmt.Sprint(sum.Imported)},
			{"unchanged", fmt.Sprint(sum.Unchanged)},
			{"updated", fmt.Sprint(sum.Updated)},
			{"skipped", fmt.Sprint(sum.Skipped)},
			{"rejected", fmt.Sprint(sum.Rejected)},
			{"users created", fmt.Sprint(sum.UsersCreated)},
			{"dry run", yesNo[sum.DryRun]},
		}); err != nil {
			return err
		}
	}
	if f.Quiet {
		return nil
	}
	if total > listed {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: %d more problems not listed (the first %d by line are)\n", total-listed, listed)
	}
	if t.rej != nil && t.rej.committed {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: wrote %s to %s\n", plural(t.rej.written, "rejected row"), t.rej.path)
		if n := t.rej.unwritable; n > 0 {
			// Name the lines: those rows must be fixed in the input itself.
			lines := make([]string, len(t.rej.lost))
			for i, l := range t.rej.lost {
				lines[i] = fmt.Sprint(l)
			}
			more := ""
			if n > len(lines) {
				more = ", ..."
			}
			isAre := map[bool]string{true: "is", false: "are"}[n == 1]
			fmt.Fprintf(f.IO.ErrOut, "mfactl: warning: %s could not be split into fields and %s not in %s; fix %s in %s (%s %s%s)\n",
				plural(n, "rejected row"), isAre, t.rej.path, map[bool]string{true: "it", false: "them"}[n == 1],
				t.name, map[bool]string{true: "line", false: "lines"}[n == 1], strings.Join(lines, ", "), more)
		}
	}
	if sum.DryRun && !t.doomed {
		fmt.Fprintln(f.IO.ErrOut, "mfactl: dry run: nothing was written to the directory")
	}
	return nil
}

// unneutralise undoes the formula neutralisation of mfactl's CSV listings (a model "-" or a
// manufacturer "=Vendor" is listed as "'-" and "'=Vendor"), so that "tokens list -o csv" with
// the secrets added imports as unchanged rather than as tokens with other data. It is the one
// users import uses too.
func unneutralise(s string) string { return csvdialect.Unneutralise(s) }

// inputSize is the size of a regular file, or -1 (standard input, a pipe).
func inputSize(r io.Reader) int64 {
	if file, ok := r.(*os.File); ok {
		if st, err := file.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return -1
}
