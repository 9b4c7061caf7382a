package usercmd

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/csvdialect"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
	"github.com/mfactl/mfactl/internal/users"
)

type userImportOptions struct {
	f         *cmdutil.Factory
	file      string
	format    string
	delimiter rune
	dryRun    bool
	update    bool
}

func newImportCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &userImportOptions{f: f}
	var delimiter, onDuplicate string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Add users from a CSV file",
		Long: `Add the users of a CSV file ("-" reads standard input) with the header
upn,display name,email,phone (any order; names match ignoring case, spaces, underscores and
hyphens, so "users list -o csv" can be imported again; other columns are ignored with a
warning). Phone numbers are written +CountryCode Number, e.g. +1 4255551234.

The whole file is checked first and the users are written in one transaction: any problem
and nothing is written (exit 1), with every problem listed as file:line: error: column: message
[code]. A user already in the directory with the same data is left alone; one with other data
is skipped unless --on-duplicate update.`,
		Example: `  $ mfactl users import users.csv
  $ mfactl users import --dry-run -o json users.csv
  $ mfactl users list -o csv | mfactl users import --on-duplicate update -`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
				return err
			}
			if opts.delimiter, err = tokens.ParseDelimiter(delimiter); err != nil {
				return cmdutil.Usagef("--delimiter: %v", err)
			}
			switch onDuplicate {
			case "skip":
			case "update":
				opts.update = true
			default:
				return cmdutil.Usagef("--on-duplicate: unknown policy %q (want skip or update)", onDuplicate)
			}
			opts.file = args[0]
			return userImportRun(cmd.Context(), cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.dryRun, "dry-run", false, "check everything against the directory, write nothing")
	fl.StringVar(&onDuplicate, "on-duplicate", "skip", "`policy` for a user already in the directory with other data: skip or update")
	fl.StringVar(&delimiter, "delimiter", ",", "CSV field separator: one `character`, or \"tab\"")
	return cmd
}

// userImportSummary is the result of `users import -o json`. For a dry run the counts say what
// would have happened; when the file was refused nothing was written and they are 0.
type userImportSummary struct {
	File      string           `json:"file"`
	Rows      int              `json:"rows"`
	Created   int              `json:"created"`
	Updated   int              `json:"updated"`
	Unchanged int              `json:"unchanged"`
	Skipped   int              `json:"skipped"`
	Rejected  int              `json:"rejected"`
	DryRun    bool             `json:"dry_run"`
	Problems  []tokens.Problem `json:"problems"`
}

// errUsersInvalid abandons the transaction when the file has problems.
var errUsersInvalid = errors.New("the users file has errors")

func userImportRun(ctx context.Context, cmd *cobra.Command, opts *userImportOptions) error {
	f := opts.f
	name := opts.file
	var in io.Reader = f.IO.In
	if name == "-" {
		name = "<stdin>"
	} else {
		file, err := os.Open(opts.file)
		if err != nil {
			return fmt.Errorf("opening users file: %w", err)
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil && st.IsDir() {
			return fmt.Errorf("opening users file: %s is a directory, not a file", opts.file)
		}
		in = file
	}
	ur, err := newUserCSVReader(in, opts.delimiter)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	sum := userImportSummary{File: name, DryRun: opts.dryRun, Problems: append([]tokens.Problem{}, ur.header...)}
	rejected := 0
	next := func() (userRecord, error) {
		if err := ctx.Err(); err != nil {
			return userRecord{}, fmt.Errorf("import cancelled; nothing was written: %w", err)
		}
		rec, err := ur.next()
		if err == nil {
			sum.Rows++
			sum.Problems = append(sum.Problems, rec.problems...)
			if !rec.valid() {
				rejected++
			}
		}
		return rec, err
	}
	// The rows go to the store as they are read; the first problem abandons the transaction,
	// and the rest of the file is read afterwards for its problems only.
	src := func(yield func(directory.User, error) bool) {
		if ur.headerBad() {
			yield(directory.User{}, errUsersInvalid)
			return
		}
		for {
			rec, err := next()
			if err == io.EOF {
				return
			}
			if err == nil && !rec.valid() {
				err = errUsersInvalid
			}
			if err != nil {
				yield(directory.User{}, err)
				return
			}
			if !yield(rec.user, nil) {
				return
			}
		}
	}

	db, err := f.ImportStore(ctx, opts.dryRun)
	if err != nil {
		return err
	}
	res, ierr := db.ImportUsers(ctx, src, directory.UserImportOptions{Update: opts.update, DryRun: opts.dryRun,
		// The audit row is written in the import's transaction, counting the file's rows.
		AuditTarget: name, SourceRows: func() int { return sum.Rows }})
	var result error
	switch {
	case errors.Is(ierr, errUsersInvalid):
		for {
			_, err := next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		sum.Rejected = rejected
		if ur.headerBad() {
			result = cmdutil.WithHint(fmt.Errorf("%s: the header is not usable; nothing was imported", name),
				"the first line must name the columns upn,display name,email,phone")
		} else {
			rows, have := fmt.Sprintf("%d rows", rejected), "have"
			if rejected == 1 {
				rows, have = "1 row", "has"
			}
			result = cmdutil.WithHint(fmt.Errorf("%s: %s of %d %s errors; nothing was imported", name, rows, sum.Rows, have),
				"fix the rows and import again")
		}
		if !opts.dryRun {
			_ = db.RecordFailure(context.WithoutCancel(ctx), name, fmt.Sprintf("rows=%d rejected=%d", sum.Rows, rejected))
		}
	case ierr != nil:
		return fmt.Errorf("importing %s: %w", name, ierr)
	default:
		sum.Created, sum.Updated, sum.Unchanged, sum.Skipped = res.Created, res.Updated, res.Unchanged, res.Skipped

	}

	if opts.format == cmdutil.FormatJSON {
		if err := render.JSON(f.IO.Out, sum); err != nil {
			return err
		}
	} else {
		for _, p := range sum.Problems {
			if p.IsError() || !f.Quiet {
				fmt.Fprintln(f.IO.ErrOut, p.Diagnostic(name))
			}
		}
		yesNo := map[bool]string{true: "yes", false: "no"}
		if err := render.KeyValues(f.IO.Out, [][2]string{
			{"file", sum.File},
			{"rows", fmt.Sprint(sum.Rows)},
			{"created", fmt.Sprint(sum.Created)},
			{"updated", fmt.Sprint(sum.Updated)},
			{"unchanged", fmt.Sprint(sum.Unchanged)},
			{"skipped", fmt.Sprint(sum.Skipped)},
			{"rejected", fmt.Sprint(sum.Rejected)},
			{"dry run", yesNo[sum.DryRun]},
		}); err != nil {
			return err
		}
	}
	if opts.dryRun && result == nil && !f.Quiet {
		fmt.Fprintln(f.IO.ErrOut, "mfactl: dry run: nothing was written to the directory")
	}
	return result
}

// Problem codes of the users file, beside the csv.* and upn.* codes it shares with token files.
const (
	codeUserDuplicate = "user.duplicate"
	codeNameInvalid   = "name.invalid"
	codeEmailInvalid  = "email.invalid"
	codePhoneInvalid  = "phone.invalid"
)

// The columns of the users file, in their canonical order.
var userColumns = []string{"upn", "display name", "email", "phone"}

// listingOnly are the columns `users list -o csv` adds to the four above. They describe the
// directory's state rather than the user, so a listing imported again ignores them without
// a warning each.
var listingOnly = map[string]bool{}

func init() {
	for _, c := range view.UserHeader[len(userColumns):] {
		listingOnly[csvdialect.Fold(c)] = true
	}
}

// userCSVReader reads a users file row by row. The users file is small and simple next to a
// token file, but follows the same reading rules: UTF-8 with or without byte-order mark or
// UTF-16 with one, CRLF or LF, blank lines ignored, header names matched loosely, problems with
// their line, column and code.
type userCSVReader struct {
	cr         *csv.Reader
	lineOffset int // the "sep=" line, when there is one
	col        [4]int
	width      int
	header     []tokens.Problem
	seen       map[string]int // folded UPN -> line
}

type userRecord struct {
	line     int
	user     directory.User
	problems []tokens.Problem
}

func (r userRecord) valid() bool {
	for _, p := range r.problems {
		if p.IsError() {
			return false
		}
	}
	return true
}

func newUserCSVReader(r io.Reader, delim rune) (*userCSVReader, error) {
	in, err := csvdialect.Open(r, delim, 0)
	if err != nil {
		return nil, err
	}
	ur := &userCSVReader{cr: in.NewReader(), lineOffset: in.LineOffset, seen: map[string]int{}}
	return ur, ur.readHeader()
}

func (r *userCSVReader) headerBad() bool {
	for _, p := range r.header {
		if p.IsError() {
			return true
		}
	}
	return false
}

func (r *userCSVReader) readHeader() error {
	for i := range r.col {
		r.col[i] = -1
	}
	var fields []string
	for {
		f, err := r.cr.Read()
		if errors.Is(err, io.EOF) {
			r.header = append(r.header, userErr(1+r.lineOffset, "", tokens.CodeCSVHeader, "the file is empty: the header upn,display name,email,phone is required"))
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			r.header = append(r.header, userErr(pe.StartLine+r.lineOffset, "", tokens.CodeCSVHeader, "the header cannot be parsed: "+pe.Err.Error()))
			return nil
		}
		if err != nil {
			return err
		}
		if !blank(f) {
			fields = f
			break
		}
	}
	line, _ := r.cr.FieldPos(0)
	line += r.lineOffset
	r.width = len(fields)
	if err := csvdialect.CheckSeparator(line, fields, r.cr.Comma, knownUserColumn); err != nil {
		var se *csvdialect.SeparatorError
		errors.As(err, &se)
		r.header = append(r.header, userErr(line, "", tokens.CodeCSVDelimiter,
			err.Error()+"; pass --delimiter "+csvdialect.FlagValue(se.Sep)))
		return nil
	}
	// A header of many unknown or repeated columns is summed up past tokens.MaxProblemsPerCode
	// of a code, like the token file's.
	var limit tokens.ProblemLimit
	defer func() { r.header = append(r.header, limit.Summaries(line)...) }()
	for i, name := range fields {
		if !utf8.ValidString(name) {
			r.header = append(r.header, userErr(line, "", tokens.CodeCSVEncoding, "the header is not valid UTF-8; save the file as UTF-8"))
			return nil
		}
		folded := csvdialect.Fold(name)
		k := slices.IndexFunc(userColumns, func(c string) bool { return csvdialect.Fold(c) == folded })
		switch {
		case k < 0 && listingOnly[folded]:
		case k < 0:
			if limit.Allow(tokens.CodeCSVColumnUnknown, tokens.SeverityWarning) {
				r.header = append(r.header, tokens.Problem{Line: line, Column: strings.TrimSpace(name), Severity: tokens.SeverityWarning,
					Code: tokens.CodeCSVColumnUnknown, Message: "not one of the columns upn, display name, email, phone; it is ignored"})
			}
		case r.col[k] >= 0:
			r.header = limit.Add(r.header, userErr(line, userColumns[k], tokens.CodeCSVHeader,
				fmt.Sprintf("the column appears twice in the header (fields %d and %d)", r.col[k]+1, i+1)))
		default:
			r.col[k] = i
		}
	}
	for k, i := range r.col {
		if i < 0 {
			r.header = append(r.header, userErr(line, userColumns[k], tokens.CodeCSVHeader, "required column missing from the header"))
		}
	}
	return nil
}

// knownUserColumn reports whether a folded header name is one of userColumns.
func knownUserColumn(folded string) bool {
	return slices.ContainsFunc(userColumns, func(c string) bool { return csvdialect.Fold(c) == folded })
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func userErr(line int, column, code, msg string) tokens.Problem {
	return tokens.Problem{Line: line, Column: column, Severity: tokens.SeverityError, Code: code, Message: msg}
}

// next returns the next data row with its problems, or io.EOF (at once when the header is
// unusable); the error is for failed reads only.
func (r *userCSVReader) next() (userRecord, error) {
	if r.headerBad() {
		return userRecord{}, io.EOF
	}
	for {
		fields, err := r.cr.Read()
		if errors.Is(err, io.EOF) {
			return userRecord{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line := pe.StartLine + r.lineOffset
			return userRecord{line: line, problems: []tokens.Problem{
				userErr(line, "", tokens.CodeCSVQuote, "row cannot be split into fields: "+pe.Err.Error())}}, nil
		}
		if err != nil {
			return userRecord{}, fmt.Errorf("reading csv: %w", err)
		}
		if blank(fields) {
			continue
		}
		line, _ := r.cr.FieldPos(0)
		return r.check(line+r.lineOffset, fields), nil
	}
}

// phonePattern is Azure's phone format: +CountryCode, a space, the number, e.g. +1 4255551234,
// with an optional extension (x123).
var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{0,2} [0-9]{4,14}(x[0-9]{1,10})?$`)

func (r *userCSVReader) check(line int, fields []string) userRecord {
	rec := userRecord{line: line}
	add := func(column, code, msg string) { rec.problems = append(rec.problems, userErr(line, column, code, msg)) }
	if len(fields) != r.width {
		add("", tokens.CodeCSVColumns, fmt.Sprintf("the row has %d fields, the header has %d", len(fields), r.width))
		return rec
	}
	for i, v := range fields {
		if !utf8.ValidString(v) {
			add("", tokens.CodeCSVEncoding, fmt.Sprintf("field %d is not valid UTF-8; save the file as UTF-8", i+1))
			return rec
		}
	}
	// A listing (users list -o csv) imports again as the values it lists.
	get := func(k int) string { return csvdialect.Unneutralise(users.Text(fields[r.col[k]])) }
	u := &rec.user
	u.UPN, u.DisplayName, u.Email, u.Phone = get(0), get(1), get(2), get(3)
	upnProblems := tokens.CheckUPN(line, u.UPN)
	_, upnBad := tokens.FirstError(upnProblems)
	if err := users.CheckText("the UPN", u.UPN); err != nil && !upnBad {
		upnProblems = append(upnProblems, userErr(line, "upn", tokens.CodeUPNInvalid, err.Error()))
		upnBad = true
	}
	rec.problems = append(rec.problems, upnProblems...)
	if !upnBad {
		if first, dup := r.seen[directory.Key(u.UPN)]; dup {
			add("upn", codeUserDuplicate, fmt.Sprintf("already on line %d (UPNs are compared ignoring case)", first))
		} else {
			r.seen[directory.Key(u.UPN)] = line
		}
	}
	if err := users.CheckText("the display name", u.DisplayName); err != nil {
		add("display name", codeNameInvalid, err.Error())
	}
	if msg := emailDefect(u.Email); msg != "" {
		add("email", codeEmailInvalid, msg)
	}
	if u.Phone != "" && !phonePattern.MatchString(u.Phone) {
		add("phone", codePhoneInvalid, "want +CountryCode Number, e.g. +1 4255551234")
	}
	return rec
}

// emailDefect says why a non-empty email address is not one (same shape as a UPN).
func emailDefect(email string) string {
	if email == "" {
		return ""
	}
	if len(email) > users.MaxTextLen {
		return fmt.Sprintf("longer than %d bytes", users.MaxTextLen)
	}
	if p, bad := tokens.FirstError(tokens.CheckUPN(0, email)); bad {
		return strings.Replace(p.Message, "local@domain", "name@domain", 1)
	}
	return ""
}
