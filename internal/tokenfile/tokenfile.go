// Package tokenfile reads token seed files of either supported format, the Azure OATH CSV or
// PSKC XML, into one stream of records carrying their problems. validate, convert and import
// all read files through it, so they agree on every rule.
package tokenfile

import (
	"bufio"
	"fmt"
	"io"

	"github.com/mfactl/mfactl/internal/pskc"
	"github.com/mfactl/mfactl/internal/tokens"
)

// Formats.
const (
	FormatAuto = "auto"
	FormatCSV  = "csv"
	FormatPSKC = "pskc"
)

// Options say how to read a file.
type Options struct {
	Format string // auto (by content), csv or pskc
	CSV    tokens.CSVOptions
	Rules  tokens.Rules
	// Strict turns warnings into errors.
	Strict bool
	// Checker configures the cross-row rules (duplicates, reused secrets, the method limit).
	Checker tokens.CheckerOptions
	// PSKC configures the PSKC reader: the pre-shared key or password, the legacy IV,
	// AllowMissingMAC, AllowPlainValue and the time policy expiry is judged at.
	PSKC pskc.Options
	// UPNs, when set, gives tokens the UPN mapped to their serial (--upn-map). A mapped UPN
	// replaces the one in the file.
	UPNs *UPNMap
	// RequireUPN makes a token without a UPN an error (upn.empty). The Azure CSV needs one
	// on every row; a directory import does not (the token is unassigned stock).
	RequireUPN bool
	// NoPipeline reads a CSV file on the caller's goroutine only. By default it is read on a
	// goroutine of its own, a few hundred records ahead of the caller (pipeline.go); the
	// records and their problems are the same either way.
	NoPipeline bool
	// SizeHint is the size of the file in bytes, 0 when unknown (a pipe). When it is known
	// the cross-row tables are sized once for the number of rows it suggests, instead of
	// growing step by step (less memory and time for large files).
	SizeHint int64
}

// File is an open token file being read record by record.
//
// Next returns records until io.EOF. A record is usable when it has no error problem and
// the file as a whole is valid: Problems holds no error and Next ended with io.EOF. Next
// returns an *InvalidError when the file is refused after records were already returned (a
// PSKC file whose 50th KeyPackage fails its MAC check): every record read must then be
// discarded.
type File struct {
	Format string
	// Problems concern the file rather than one record (the CSV header, the PSKC container).
	// Errors among them are all known when Open returns. Warnings may be added while
	// reading PSKC files (a signature or a package without keys found later), so read the
	// list again after Next has returned io.EOF.
	Problems []tokens.Problem

	next    func() (*tokens.Record, error)
	close   func() error
	checker *tokens.Checker
	opts    Options
	pkg     int // PSKC: the key package of the record Next is building

	// Sizing the Checker's tables from SizeHint, once reserveAt records were read.
	rows      int
	reserveAt int
	progress  func() (rows int, offset int64) // records read so far and their bytes
}

// reserveAfter is how many records show the average length of a row well enough to estimate
// the number of rows from the file size.
const reserveAfter = 512

// InvalidError refuses a whole file after some of its records were returned: the caller
// must discard them. Problems are the reasons, ready to report (codes such as
// pskc.mac-mismatch); Err is the underlying error when there is one (a *pskc.Error).
type InvalidError struct {
	Problems []tokens.Problem
	Err      error
}

func (e *InvalidError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	if len(e.Problems) > 0 {
		return e.Problems[0].String()
	}
	return "the file is invalid"
}

func (e *InvalidError) Unwrap() error { return e.Err }

// Open starts reading r, detecting the format when opts.Format is auto. Problems that make
// the whole file unreadable as a token file (a CSV header without the required columns, a
// PSKC file that is not XML or cannot be decrypted at the start) are returned in
// File.Problems, and Next then returns io.EOF at once; the error is for bad options and
// failed reads.
func Open(r io.Reader, opts Options) (*File, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	format := opts.Format
	if format == "" || format == FormatAuto {
		format = Detect(br)
	}
	f := &File{Format: format, checker: tokens.NewChecker(opts.Checker), opts: opts}
	switch format {
	case FormatCSV:
		cr, err := tokens.NewCSVReader(br, opts.CSV)
		if err != nil {
			return nil, err
		}
		f.Problems = f.strictify(cr.HeaderProblems())
		f.next = cr.Next
		f.progress = func() (int, int64) { return f.rows, cr.InputOffset() }
		if !opts.NoPipeline {
			pipe := newCSVPipe(cr)
			f.next, f.close, f.progress = pipe.next, pipe.close, pipe.progress
		}
		if opts.SizeHint > 0 {
			f.reserveAt = reserveAfter
		}
	case FormatPSKC:
		if err := f.openPSKC(br); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown format %q (want auto, csv or pskc)", format)
	}
	return f, nil
}

// Detect decides the format by content, not by file name: XML (after an optional byte order
// mark and white space, in UTF-8 or UTF-16) is PSKC, anything else is CSV.
func Detect(br *bufio.Reader) string {
	head, _ := br.Peek(512)
	if pskc.Sniff(head) {
		return FormatPSKC
	}
	return FormatCSV
}

// Next returns the next record with its per-row and cross-row problems, io.EOF after the
// last one, or an *InvalidError when the file is refused as a whole (discard every record).
func (f *File) Next() (*tokens.Record, error) {
	rec, err := f.next()
	if err == io.EOF && f.checker != nil {
		// The cross-row tables (about 40 bytes a row) are the largest allocation of a long
		// file, and of no use once it is read: let them go before the caller's last work.
		f.checker = nil
	}
	if err != nil {
		return nil, err
	}
	f.rows++
	if f.rows == f.reserveAt {
		f.reserve()
	}
	if f.opts.UPNs != nil {
		f.applyUPNMap(rec)
	}
	if f.opts.RequireUPN && rec.Token.UPN == "" && !hasCode(rec.Problems, tokens.CodeUPNEmpty) {
		msg := "required"
		if f.Format == FormatPSKC {
			msg = "the file names no user that looks like a UPN for this token; give one with --upn-map"
		}
		rec.Problems = append(rec.Problems, tokens.Problem{Line: rec.Line, Column: tokens.ColUPN,
			Severity: tokens.SeverityError, Code: tokens.CodeUPNEmpty, Message: msg})
	}
	f.checker.Check(rec)
	f.fillPSKCLocation(rec)
	rec.Problems = f.strictify(rec.Problems)
	return rec, nil
}

// reserve sizes the Checker for the rows the file seems to hold: its size over the average
// length of the rows read so far.
func (f *File) reserve() {
	rows, offset := f.progress()
	if rows <= 0 || offset <= 0 || offset >= f.opts.SizeHint {
		return
	}
	f.checker.Reserve(int(float64(rows) * float64(f.opts.SizeHint) / float64(offset)))
}

// Close stops reading. It is needed only when a file is abandoned before Next has returned
// io.EOF or an error (both readers read ahead on background goroutines: a PSKC file is
// decrypted ahead, a CSV file read a few batches ahead); it is always safe to call. Once it
// returns, nothing reads from the reader given to Open any more.
func (f *File) Close() error {
	if f.close != nil {
		return f.close()
	}
	return nil
}

// applyUPNMap gives rec the UPN mapped to its serial, replacing the UPN (and its problems)
// from the file.
func (f *File) applyUPNMap(rec *tokens.Record) {
	upn, ok := f.opts.UPNs.Lookup(rec.Token.Serial)
	if !ok {
		return
	}
	kept := rec.Problems[:0]
	for _, p := range rec.Problems {
		if p.Column != tokens.ColUPN {
			kept = append(kept, p)
		}
	}
	rec.Problems = kept
	rec.Token.UPN = upn
}

// fillPSKCLocation names the key package and serial on problems added after a PSKC record
// was built (cross-row rules, a missing UPN).
func (f *File) fillPSKCLocation(rec *tokens.Record) {
	if f.Format != FormatPSKC || len(rec.Problems) == 0 {
		return
	}
	for i := range rec.Problems {
		p := &rec.Problems[i]
		if p.Package == 0 {
			p.Package = f.pkg
		}
		if p.Serial == "" {
			p.Serial = printableSerial(rec.Token.Serial)
		}
	}
}

func hasCode(ps []tokens.Problem, code string) bool {
	for _, p := range ps {
		if p.Code == code {
			return true
		}
	}
	return false
}

func (f *File) strictify(ps []tokens.Problem) []tokens.Problem {
	if f.opts.Strict {
		for i := range ps {
			ps[i].Severity = tokens.SeverityError
		}
	}
	return ps
}
