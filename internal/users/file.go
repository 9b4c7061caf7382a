package users

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mfactl/mfactl/internal/csvdialect"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

// Problem codes of the users file, beside the csv.* and upn.* codes it shares with token files.
const (
	codeUserDuplicate = "user.duplicate"
	codeNameInvalid   = "name.invalid"
	codeEmailInvalid  = "email.invalid"
	codePhoneInvalid  = "phone.invalid"
)

// FileColumns are the columns of the users file, in their canonical order.
var FileColumns = []string{"upn", "display name", "email", "phone"}

// FileReader reads a users file row by row. The users file is small and simple next to a
// token file, but follows the same reading rules: UTF-8 with or without byte-order mark or
// UTF-16 with one, CRLF or LF, blank lines ignored, header names matched loosely, problems with
// their line, column and code.
type FileReader struct {
	cr         *csv.Reader
	lineOffset int // the "sep=" line, when there is one
	col        [4]int
	width      int
	header     []tokens.Problem
	seen       map[string]int  // folded UPN -> line
	ignored    map[string]bool // folded names of columns ignored without a warning
}

// FileRecord is a data row of a users file: the user it names and its problems.
type FileRecord struct {
	Line     int
	User     directory.User
	Problems []tokens.Problem
}

// Valid says that the row has no error.
func (r FileRecord) Valid() bool {
	for _, p := range r.Problems {
		if p.IsError() {
			return false
		}
	}
	return true
}

// FileOptions say how to read a users file.
type FileOptions struct {
	// Delimiter is the field separator; 0 means ','. A "sep=" line in the file wins.
	Delimiter rune
	// Ignore names columns that are ignored without a warning, beside the ones of the file:
	// those a listing of users adds, which describe the directory's state rather than the
	// user, so that a listing imported again is not warned about each.
	Ignore []string
}

// ReadFile starts reading a users file and reads its header. Problems of the header are in
// HeaderProblems; the error is for failed reads.
func ReadFile(r io.Reader, opts FileOptions) (*FileReader, error) {
	delim := opts.Delimiter
	if delim == 0 {
		delim = ','
	}
	in, err := csvdialect.Open(r, delim, 0)
	if err != nil {
		return nil, err
	}
	ur := &FileReader{cr: in.NewReader(), lineOffset: in.LineOffset, seen: map[string]int{}, ignored: map[string]bool{}}
	for _, c := range opts.Ignore {
		ur.ignored[csvdialect.Fold(c)] = true
	}
	return ur, ur.readHeader()
}

// HeaderProblems are the problems of the header line.
func (r *FileReader) HeaderProblems() []tokens.Problem { return r.header }

// HeaderBad says that the header is unusable: Next returns io.EOF at once.
func (r *FileReader) HeaderBad() bool {
	for _, p := range r.header {
		if p.IsError() {
			return true
		}
	}
	return false
}

func (r *FileReader) readHeader() error {
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
		k := slices.IndexFunc(FileColumns, func(c string) bool { return csvdialect.Fold(c) == folded })
		switch {
		case k < 0 && r.ignored[folded]:
		case k < 0:
			if limit.Allow(tokens.CodeCSVColumnUnknown, tokens.SeverityWarning) {
				r.header = append(r.header, tokens.Problem{Line: line, Column: strings.TrimSpace(name), Severity: tokens.SeverityWarning,
					Code: tokens.CodeCSVColumnUnknown, Message: "not one of the columns upn, display name, email, phone; it is ignored"})
			}
		case r.col[k] >= 0:
			r.header = limit.Add(r.header, userErr(line, FileColumns[k], tokens.CodeCSVHeader,
				fmt.Sprintf("the column appears twice in the header (fields %d and %d)", r.col[k]+1, i+1)))
		default:
			r.col[k] = i
		}
	}
	for k, i := range r.col {
		if i < 0 {
			r.header = append(r.header, userErr(line, FileColumns[k], tokens.CodeCSVHeader, "required column missing from the header"))
		}
	}
	return nil
}

// knownUserColumn reports whether a folded header name is one of FileColumns.
func knownUserColumn(folded string) bool {
	return slices.ContainsFunc(FileColumns, func(c string) bool { return csvdialect.Fold(c) == folded })
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

// Next returns the next data row with its problems, or io.EOF (at once when the header is
// unusable); the error is for failed reads only.
func (r *FileReader) Next() (FileRecord, error) {
	if r.HeaderBad() {
		return FileRecord{}, io.EOF
	}
	for {
		fields, err := r.cr.Read()
		if errors.Is(err, io.EOF) {
			return FileRecord{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line := pe.StartLine + r.lineOffset
			return FileRecord{Line: line, Problems: []tokens.Problem{
				userErr(line, "", tokens.CodeCSVQuote, "row cannot be split into fields: "+pe.Err.Error())}}, nil
		}
		if err != nil {
			return FileRecord{}, fmt.Errorf("reading csv: %w", err)
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

// ValidPhone says that a phone number is empty or in Azure's format, +CountryCode Number.
func ValidPhone(phone string) bool { return phone == "" || phonePattern.MatchString(phone) }

func (r *FileReader) check(line int, fields []string) FileRecord {
	rec := FileRecord{Line: line}
	add := func(column, code, msg string) { rec.Problems = append(rec.Problems, userErr(line, column, code, msg)) }
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
	get := func(k int) string { return csvdialect.Unneutralise(Text(fields[r.col[k]])) }
	u := &rec.User
	u.UPN, u.DisplayName, u.Email, u.Phone = get(0), get(1), get(2), get(3)
	upnProblems := tokens.CheckUPN(line, u.UPN)
	_, upnBad := tokens.FirstError(upnProblems)
	if err := CheckText("the UPN", u.UPN); err != nil && !upnBad {
		upnProblems = append(upnProblems, userErr(line, "upn", tokens.CodeUPNInvalid, err.Error()))
		upnBad = true
	}
	rec.Problems = append(rec.Problems, upnProblems...)
	if !upnBad {
		if first, dup := r.seen[directory.Key(u.UPN)]; dup {
			add("upn", codeUserDuplicate, fmt.Sprintf("already on line %d (UPNs are compared ignoring case)", first))
		} else {
			r.seen[directory.Key(u.UPN)] = line
		}
	}
	if err := CheckText("the display name", u.DisplayName); err != nil {
		add("display name", codeNameInvalid, err.Error())
	}
	if msg := EmailDefect(u.Email); msg != "" {
		add("email", codeEmailInvalid, msg)
	}
	if !ValidPhone(u.Phone) {
		add("phone", codePhoneInvalid, "want +CountryCode Number, e.g. +1 4255551234")
	}
	return rec
}

// EmailDefect says why a non-empty email address is not one (same shape as a UPN), or "".
func EmailDefect(email string) string {
	if email == "" {
		return ""
	}
	if len(email) > MaxTextLen {
		return fmt.Sprintf("longer than %d bytes", MaxTextLen)
	}
	if p, bad := tokens.FirstError(tokens.CheckUPN(0, email)); bad {
		return strings.Replace(p.Message, "local@domain", "name@domain", 1)
	}
	return ""
}
