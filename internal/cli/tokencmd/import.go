package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
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
	report        string
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
format of validate. A progress bar is shown on a terminal for long imports.

On Microsoft Entra ID (--db entra://TENANT) the whole file is checked before anything is sent,
but Graph has no transactions: a row Graph refuses is reported and the others go on, and
importing the same file again finishes the job without duplicates. Users are never created
(an unknown UPN is an error), secrets cannot be compared (Graph never returns them), and
--on-duplicate update changes unassigned tokens only.

--report writes a CSV (mode 0600, written whole at the end) of what became of every row of the
file, in file order: line, serial number, upn, outcome and detail; never a secret. Outcomes:
created, updated, unchanged, skipped, rejected (detail: the problem codes), and on Entra ID
assigned and failed (detail: Graph's error code and request ids). An import that wrote nothing
still writes it: the rejected rows, and the others not-imported with the detail import.refused
or import.failed. A dry run marks the rows it would write with the detail dry-run. An
interrupted import writes none and removes an older report of that name.`,
		Example: `  $ mfactl tokens import tokens.csv
  $ mfactl tokens import --dry-run tokens.csv
  $ mfactl tokens import --skip-invalid --rejected fix-me.csv tokens.csv
  $ mfactl tokens import --on-duplicate update -o json tokens.csv
  $ mfactl tokens import --report outcome.csv tokens.csv
  $ mfactl --db entra://contoso.onmicrosoft.com tokens import --report outcome.csv tokens.csv
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
			if err := checkReportPath(opts.report, opts.file); err != nil {
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
	fl.StringVar(&opts.report, "report", "", "write what became of every row to this CSV `file` (mode 0600)")
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

// importProgressDelay is how long an import runs before its progress bar appears (a bar for an
// import of under a second would only flicker); a variable so that tests can show it at once.
var importProgressDelay = time.Second

// importRun runs the import use case (tokenfile.Importer) with what the command adds around it:
// the progress bar, the rejected-rows file, the memory limit, and the report.
func importRun(ctx context.Context, cmd *cobra.Command, opts *importOptions) error {
	f := opts.f
	name := displayName(opts.file)
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
	// Set before the import runs, read by its callbacks.
	var rej *rejectedFile // nil without --rejected; locks itself
	var progress *importProgress
	var rep *outcomeReport // nil without --report; locks itself
	if opts.report != "" {
		if rep, err = newOutcomeReport(opts.report); err != nil {
			return err
		}
		defer rep.close()
	}
	workLabel := "importing" // into the tenant, on Entra ID
	im, err := tokenfile.OpenImport(r, tokenfile.ImportOptions{
		OnOutcome:            rep.onOutcome(),
		OnRow:                rep.onRow(),
		OnWork:               func(w directory.Work) { progress.work(workLabel, w) },
		SourceRead:           releaseImportMemory,
		Read:                 opts.read,
		Name:                 name,
		Source:               name,
		OnDuplicate:          opts.onDuplicate,
		RequireExistingUsers: opts.requireUsers,
		SkipInvalid:          opts.skipInvalid,
		DryRun:               opts.dryRun,
		Audit: &directory.AuditEvent{
			Actor:   cmdutil.Actor(),
			Host:    cmdutil.Host().Name,
			Command: cmdutil.CommandName(cmd),
			Target:  name,
		},
		Progress: func(processed int) {
			progress.update()
			if rej != nil {
				// The count may include the row the store is holding when it reports (it did
				// so when it read the source on the caller's goroutine): leave that one for
				// the next time.
				rej.settle(processed - 1)
			}
		},
		Rejected: func(rec *tokens.Record) {
			if rej != nil {
				rej.reject(rec)
			}
		},
		Sent: func(rec *tokens.Record) {
			if rej != nil {
				rej.sendRow(rec)
			}
		},
		DirectoryRejected: func(line int) {
			if rej != nil {
				rej.storeRejected(line)
			}
		},
	})
	if err != nil {
		return err
	}
	defer im.Close()
	if opts.rejected != "" {
		if im.Format() != tokenfile.FormatCSV {
			return cmdutil.Usagef("--rejected: %s is a %s file; rejected rows can be written for CSV files only", name, im.Format())
		}
		if rej, err = newRejectedFile(opts.rejected, head, opts.read.CSV); err != nil {
			return err
		}
		defer rej.abort()
	}
	size := inputSize(in)
	progress = newImportProgress(f, counter, size, opts.progressDelay)
	defer progress.done()
	defer limitImportMemory(size)()

	db, err := f.ImportDirectory(ctx, opts.dryRun)
	if err != nil {
		if rep != nil {
			// Nothing was imported: the report says so of every row.
			progress.done()
			if rerr := rep.finish(ctx, f, im, tokenfile.ImportSummary{}, err); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	onEntra := cmdutil.IsEntra(db)
	if t, ok := db.(interface{ Tenant() string }); ok && onEntra {
		workLabel = "importing into " + t.Tenant()
	}
	sum, ierr := im.Run(ctx, db)
	progress.done()
	if rep != nil {
		// Whatever the result, short of an interruption: a refused or failed import says what
		// became of each row too, and replaces the report of an earlier run.
		if err := rep.finish(ctx, f, im, sum, ierr); err != nil {
			if sum.Committed {
				err = fmt.Errorf("%s was imported, but %w", name, err)
			}
			return err
		}
	}

	var result error
	var (
		invalid  *tokenfile.InvalidFileError
		rejected *tokenfile.RejectedError
		none     *tokenfile.NoneImportedError
		dirErr   *tokenfile.DirectoryError
	)
	switch {
	case errors.As(ierr, &invalid):
		result = invalidFileError(invalid, sum.Problems)
	case errors.As(ierr, &rejected):
		result = cmdutil.WithHint(ierr, rejectionHint(sum.Problems, onEntra))
	case ierr == nil, errors.As(ierr, &none), errors.Is(ierr, tokenfile.ErrPartial):
		if rej != nil {
			if err := rej.commit(); err != nil {
				if sum.Committed {
					err = fmt.Errorf("%s was imported, but the rejected rows were not saved: %w", name, err)
				}
				return err
			}
		}
		switch {
		case none != nil:
			// Nothing of the file is in the directory: not a partial success (exit 1, as
			// bulk activation does when every row failed).
			result = ierr
		case ierr != nil:
			result = cmdutil.ErrPartial
		}
	default:
		if errors.As(ierr, &dirErr) && ctx.Err() != nil && !f.Quiet {
			// Main reports only "interrupted"; the admin who pressed Ctrl-C wants to know
			// what state the directory is in.
			fmt.Fprintf(f.IO.ErrOut, "mfactl: import of %s interrupted; nothing was written to the directory\n", name)
		}
		return ierr
	}
	if err := importReport(opts, name, sum, rej, invalid != nil); err != nil {
		return err
	}
	if onEntra && invalid == nil && !f.Quiet {
		// Graph never returns a token's secret: "unchanged" there cannot vouch for it.
		fmt.Fprintln(f.IO.ErrOut, "mfactl: secrets were not compared: Microsoft Graph never returns them; a token counted unchanged may hold another secret")
	}
	return result
}

// invalidFileError adds to the error of an invalid file the hint that fixes it.
func invalidFileError(e *tokenfile.InvalidFileError, problems []tokens.Problem) error {
	switch {
	case e.Refused:
		// Say how to give the key or password, as validate and convert do.
		for _, p := range problems {
			switch p.Code {
			case "pskc.key-required", "pskc.mac-missing":
				return cmdutil.WithHint(e, decryptHint(p.Code))
			case "pskc.wrong-key":
				return cmdutil.WithHint(e, "check that the key or password is the one the vendor sent for this file")
			}
		}
		return e
	case e.Header && e.Format == tokenfile.FormatCSV:
		return cmdutil.WithHint(e, "the first line must name the columns "+joinColumns())
	case e.Header:
		return e
	}
	return cmdutil.WithHint(e, "fix the rows and import again, or pass --skip-invalid to import the valid rows")
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

// rejectionHint suggests the fix for the first kind of problem the directory raised.
func rejectionHint(ps []tokens.Problem, onEntra bool) string {
	for _, p := range ps {
		switch {
		case onEntra && p.Code == directory.CodeUserUnknown:
			return "users come from the tenant: create them in Entra ID first, or pass --skip-invalid to import the other rows"
		case onEntra && p.Code == directory.CodeSerialExists:
			return "pass --on-duplicate skip to keep the tokens in the tenant or --on-duplicate update to change the unassigned ones, or --skip-invalid to import the other rows"
		}
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

// importReport prints the problems (on stderr, or inside the JSON) and the summary. abandoned
// says the file was invalid, so the directory was never written.
func importReport(opts *importOptions, name string, sum tokenfile.ImportSummary, rej *rejectedFile, abandoned bool) error {
	f := opts.f
	listed := len(sum.Problems)
	total := sum.ProblemCount
	if opts.format == cmdutil.FormatJSON {
		if err := render.JSON(f.IO.Out, sum); err != nil {
			return err
		}
	} else {
		for _, p := range sum.Problems {
			if !p.IsError() && f.Quiet {
				continue
			}
			fmt.Fprintln(f.IO.ErrOut, p.Diagnostic(name))
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
	if rej != nil && rej.committed {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: wrote %s to %s\n", plural(rej.written, "rejected row"), rej.path)
		if n := rej.unwritable; n > 0 {
			// Name the lines: those rows must be fixed in the input itself.
			lines := make([]string, len(rej.lost))
			for i, l := range rej.lost {
				lines[i] = fmt.Sprint(l)
			}
			more := ""
			if n > len(lines) {
				more = ", ..."
			}
			isAre := map[bool]string{true: "is", false: "are"}[n == 1]
			fmt.Fprintf(f.IO.ErrOut, "mfactl: warning: %s could not be split into fields and %s not in %s; fix %s in %s (%s %s%s)\n",
				plural(n, "rejected row"), isAre, rej.path, map[bool]string{true: "it", false: "them"}[n == 1],
				name, map[bool]string{true: "line", false: "lines"}[n == 1], strings.Join(lines, ", "), more)
		}
	}
	if sum.DryRun && !abandoned {
		fmt.Fprintln(f.IO.ErrOut, "mfactl: dry run: nothing was written to the directory")
	}
	return nil
}

// inputSize is the size of a regular file, or -1 (standard input, a pipe).
func inputSize(r io.Reader) int64 {
	if file, ok := r.(*os.File); ok {
		if st, err := file.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return -1
}

// checkReportPath refuses a --report file that would replace the input or go to standard
// output, where it would mix with the summary.
func checkReportPath(report, input string) error {
	if report == "" {
		return nil
	}
	if report == "-" {
		return cmdutil.Usagef("--report: want a file name")
	}
	if st, err := os.Stat(report); err == nil && st.IsDir() {
		return cmdutil.Usagef("--report: %s is a directory; want a file name", report)
	}
	if a, err := os.Stat(report); err == nil {
		if b, err := os.Stat(input); err == nil && os.SameFile(a, b) {
			return cmdutil.Usagef("--report: %s is the file being imported", report)
		}
	}
	return nil
}
