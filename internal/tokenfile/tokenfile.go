// Package tokenfile reads token seed files of either supported format, the Azure OATH CSV or
// PSKC XML, into one stream of records carrying their problems. validate, convert and import
// all read files through it, so they agree on every rule.
package tokenfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

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
}

// File is an open token file being read record by record.
type File struct {
	Format string
	// Problems found before the first record (header, encoding, container); more may be
	// added by Next for PSKC files, whose warnings are known only at the end.
	Problems []tokens.Problem

	next    func() (*tokens.Record, error)
	checker *tokens.Checker
	strict  bool
}

// Open starts reading r, detecting the format when opts.Format is auto.
func Open(r io.Reader, opts Options) (*File, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	format := opts.Format
	if format == "" || format == FormatAuto {
		format = Detect(br)
	}
	f := &File{Format: format, checker: tokens.NewChecker(opts.Checker), strict: opts.Strict}
	switch format {
	case FormatCSV:
		cr, err := tokens.NewCSVReader(br, opts.CSV)
		if err != nil {
			return nil, err
		}
		f.Problems = f.strictify(cr.HeaderProblems())
		f.next = cr.Next
	case FormatPSKC:
		return nil, errors.New("PSKC files are not supported yet")
	default:
		return nil, fmt.Errorf("unknown format %q (want auto, csv or pskc)", format)
	}
	return f, nil
}

// Detect decides the format by content, not by file name: XML (after an optional byte order
// mark and white space) is PSKC, anything else is CSV.
func Detect(br *bufio.Reader) string {
	head, _ := br.Peek(512)
	for _, bom := range [][]byte{{0xEF, 0xBB, 0xBF}, {0xFF, 0xFE}, {0xFE, 0xFF}} {
		if bytes.HasPrefix(head, bom) {
			head = head[len(bom):]
			break
		}
	}
	// UTF-16 text has a NUL beside every ASCII character; drop them to look at the characters.
	head = bytes.ReplaceAll(head, []byte{0}, nil)
	head = bytes.TrimLeft(head, " \t\r\n")
	if bytes.HasPrefix(head, []byte("<")) {
		return FormatPSKC
	}
	return FormatCSV
}

// Next returns the next record with its per-row and cross-row problems, or io.EOF.
func (f *File) Next() (*tokens.Record, error) {
	rec, err := f.next()
	if err != nil {
		return nil, err
	}
	f.checker.Check(rec)
	rec.Problems = f.strictify(rec.Problems)
	return rec, nil
}

func (f *File) strictify(ps []tokens.Problem) []tokens.Problem {
	if f.strict {
		for i := range ps {
			ps[i].Severity = tokens.SeverityError
		}
	}
	return ps
}
