package tokenfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

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
}

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
// ignored), UTF-8 with or without a byte order mark. Every UPN must be valid, and a serial
// may appear twice only with the same UPN. It returns a *UPNMapError for defects in the data.
func ReadUPNMap(r io.Reader) (*UPNMap, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &UPNMapError{Msg: "empty: want a header with serial number and upn columns"}
	}
	if err != nil {
		return nil, csvMapError(err)
	}
	serialCol, upnCol := -1, -1
	for i, name := range header {
		switch headerKey(name) {
		case "serialnumber", "serial":
			serialCol = i
		case "upn":
			upnCol = i
		}
	}
	if serialCol < 0 || upnCol < 0 {
		return nil, &UPNMapError{Line: 1, Msg: "the header needs the columns serial number and upn"}
	}
	m := &UPNMap{m: map[string]*upnEntry{}}
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, csvMapError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // blank line
		}
		if serialCol >= len(fields) || upnCol >= len(fields) {
			return nil, &UPNMapError{Line: line, Msg: fmt.Sprintf("%d fields, fewer than the header's %d", len(fields), len(header))}
		}
		serial, upn := strings.TrimSpace(fields[serialCol]), strings.TrimSpace(fields[upnCol])
		if serial == "" && upn == "" {
			continue
		}
		if serial == "" {
			return nil, &UPNMapError{Line: line, Column: tokens.ColSerial, Msg: "required"}
		}
		if ps := tokens.CheckUPN(line, upn); len(ps) > 0 {
			return nil, &UPNMapError{Line: line, Column: tokens.ColUPN, Msg: ps[0].Message}
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

func csvMapError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &UPNMapError{Line: pe.StartLine, Msg: pe.Err.Error()}
	}
	return err
}

// headerKey folds a header name for matching: case, spaces, underscores and hyphens ignored.
func headerKey(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '\t':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(name)))
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
