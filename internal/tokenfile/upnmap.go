package tokenfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mfactl/mfactl/internal/csvdialect"
	"github.com/mfactl/mfactl/internal/tokens"
)

// UPNMap gives the owner of each token by serial number (--upn-map), for files that do not
// name one: PSKC files rarely carry a UPN. Serials are compared ignoring case.
type UPNMap struct {
	m map[string]*upnEntry
}

type upnEntry struct {
	upn  string
	line int
	used bool
}

// UPNMapError is a defect in a UPN map file, with its 1-based line (0 for the file as a
// whole) and the column concerned.
type UPNMapError struct {
	Line   int
	Column string
	Msg    string
	Err    error // the cause, when there is a typed one (a *csvdialect.SeparatorError)
}

// Unwrap returns the cause.
func (e *UPNMapError) Unwrap() error { return e.Err }

func (e *UPNMapError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Column != "" {
		b.WriteString(e.Column + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ReadUPNMap reads a CSV with the columns "serial number" and "upn" (header required, names
// matched like the token CSV's: case, spaces, underscores and hyphens ignored; other columns
// ignored), read like every CSV file (csvdialect: UTF-8 with or without a byte-order mark,
// UTF-16 with one, an Excel "sep=" first line). Every UPN must be valid, and a serial may
// appear twice only with the same UPN. It returns a *UPNMapError for defects in the data; one
// for a header saved with another separator wraps a *csvdialect.SeparatorError.
func ReadUPNMap(r io.Reader) (*UPNMap, error) {
	in, err := csvdialect.Open(io.LimitReader(r, 256<<20), ',', 0)
	if err != nil {
		return nil, err
	}
	cr := in.NewReader()
	cr.ReuseRecord = true
	lineOf := func() int {
		l, _ := cr.FieldPos(0)
		return l + in.LineOffset
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &UPNMapError{Msg: "empty: want a header with serial number and upn columns"}
	}
	if err != nil {
		return nil, csvMapError(in.LineOffset, err)
	}
	hline := lineOf()
	known := func(folded string) bool { return folded == "serialnumber" || folded == "serial" || folded == "upn" }
	if err := csvdialect.CheckSeparator(hline, header, in.Delimiter, known); err != nil {
		return nil, &UPNMapError{Line: hline, Msg: err.Error(), Err: err}
	}
	width := len(header)
	serialCol, upnCol := -1, -1
	for i, name := range header {
		switch csvdialect.Fold(strings.TrimSpace(name)) {
		case "serialnumber", "serial":
			serialCol = i
		case "upn":
			upnCol = i
		}
	}
	if serialCol < 0 || upnCol < 0 {
		return nil, &UPNMapError{Line: hline, Msg: "the header needs the columns serial number and upn"}
	}
	m := &UPNMap{m: map[string]*upnEntry{}}
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, csvMapError(in.LineOffset, err)
		}
		line := lineOf()
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // blank line
		}
		if serialCol >= len(fields) || upnCol >= len(fields) {
			return nil, &UPNMapError{Line: line, Msg: fmt.Sprintf("%d fields, fewer than the header's %d", len(fields), width)}
		}
		serial, upn := tokens.Field(fields[serialCol]), tokens.Field(fields[upnCol])
		if serial == "" && upn == "" {
			continue
		}
		if serial == "" {
			return nil, &UPNMapError{Line: line, Column: tokens.ColSerial, Msg: "required"}
		}
		if p, bad := tokens.FirstError(tokens.CheckSerial(line, serial)); bad {
			return nil, &UPNMapError{Line: line, Column: tokens.ColSerial, Msg: p.Message}
		}
		if p, bad := tokens.FirstError(tokens.CheckUPN(line, upn)); bad {
			return nil, &UPNMapError{Line: line, Column: tokens.ColUPN, Msg: p.Message}
		}
		key := strings.ToUpper(serial)
		if prev, dup := m.m[key]; dup {
			if !strings.EqualFold(prev.upn, upn) {
				return nil, &UPNMapError{Line: line, Column: tokens.ColSerial,
					Msg: fmt.Sprintf("serial %s is already mapped to another UPN on line %d", serial, prev.line)}
			}
			continue
		}
		m.m[key] = &upnEntry{upn: upn, line: line}
	}
}

func csvMapError(lineOffset int, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &UPNMapError{Line: pe.StartLine + lineOffset, Msg: pe.Err.Error()}
	}
	return err
}

// Lookup returns the UPN mapped to serial (compared ignoring case).
func (m *UPNMap) Lookup(serial string) (string, bool) {
	if m == nil || serial == "" {
		return "", false
	}
	e, ok := m.m[strings.ToUpper(serial)]
	if !ok {
		return "", false
	}
	e.used = true
	return e.upn, true
}

// Len is the number of serials in the map.
func (m *UPNMap) Len() int {
	if m == nil {
		return 0
	}
	return len(m.m)
}

// Unused is the number of serials in the map that no Lookup asked for: serials of tokens
// that are not in the file, which usually means the wrong map or a typo.
func (m *UPNMap) Unused() int {
	if m == nil {
		return 0
	}
	n := 0
	for _, e := range m.m {
		if !e.used {
			n++
		}
	}
	return n
}
