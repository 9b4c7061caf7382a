package render

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"
)

// The -o formats a Stream knows; any other value is a table.
const (
	formatJSON = "json"
	formatCSV  = "csv"
)

// Stream renders a listing record by record in one of the -o formats, so that JSON and CSV
// listings of a directory with millions of rows, or of a long report, are written in constant
// memory. The output is byte for byte what JSON, CSV and Table print for the whole list
// (stream_test.go checks it); Table is this same layout. Table cells have their control
// characters replaced: a UPN or detail must not be able to move the cursor or recolour the
// admin's terminal.
//
// A table needs every row to size its columns, so it is kept until Close; WriteListing
// bounds that memory for listings it can read twice.
type Stream struct {
	format string
	header []string
	bw     *bufio.Writer
	n      int

	csv   *csv.Writer
	cells []string
	enc   *json.Encoder
	buf   bytes.Buffer

	table  *table
	rows   [][]string
	limit  int  // tables keep at most this many rows (0: all) ...
	long   bool // ... and are longer: the rows must come again
	replay bool // the header is out; Add writes table rows at once
}

// NewStream starts a listing on w with the table and CSV header. w is buffered unless it is a
// *bufio.Writer already (then what the stream wrote before an error stays in w's buffer for
// its owner to flush).
func NewStream(w io.Writer, format string, header []string) *Stream {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	s := &Stream{format: format, header: header, bw: bw}
	switch format {
	case formatJSON:
		s.enc = json.NewEncoder(&s.buf)
		s.enc.SetIndent("  ", "  ")
		s.enc.SetEscapeHTML(false)
	case formatCSV:
		s.csv = csv.NewWriter(bw)
	default:
		s.table = newTable(header)
	}
	return s
}

// Add writes one record: view for JSON, cells (in header order) for table and CSV. A table
// keeps the cells, which must not be changed afterwards.
func (s *Stream) Add(view any, cells []string) error {
	defer func() { s.n++ }()
	switch s.format {
	case formatJSON:
		s.buf.Reset()
		if s.n == 0 {
			s.buf.WriteString("[\n  ")
		} else {
			s.buf.WriteString(",\n  ")
		}
		if err := s.enc.Encode(view); err != nil {
			return err
		}
		s.buf.Truncate(s.buf.Len() - 1) // the encoder's newline
		_, err := s.bw.Write(s.buf.Bytes())
		return err
	case formatCSV:
		if s.n == 0 {
			if err := s.csv.Write(s.header); err != nil {
				return err
			}
		}
		s.cells = s.cells[:0]
		for _, c := range cells {
			s.cells = append(s.cells, NeutraliseFormula(c))
		}
		return s.csv.Write(s.cells)
	default:
		if s.replay {
			return s.table.writeRow(s.bw, cells, "")
		}
		s.table.fit(cells)
		if !s.long {
			s.rows = append(s.rows, cells)
			if s.limit > 0 && len(s.rows) > s.limit {
				s.long, s.rows = true, nil
			}
		}
		return nil
	}
}

// Close finishes the listing and flushes it: an empty listing is "[]" in JSON and the header
// alone in tables and CSV.
func (s *Stream) Close() error {
	switch s.format {
	case formatJSON:
		end := "\n]\n"
		if s.n == 0 {
			end = "[]\n"
		}
		if _, err := s.bw.WriteString(end); err != nil {
			return err
		}
	case formatCSV:
		if s.n == 0 {
			if err := s.csv.Write(s.header); err != nil {
				return err
			}
		}
		s.csv.Flush()
		if err := s.csv.Error(); err != nil {
			return err
		}
	default:
		if !s.replay {
			if err := s.table.writeHeader(s.bw); err != nil {
				return err
			}
			for _, cells := range s.rows {
				if err := s.table.writeRow(s.bw, cells, ""); err != nil {
					return err
				}
			}
		}
	}
	return s.bw.Flush()
}

// startReplay writes a long table's header, its columns now sized, so that the rows, added
// again, are written at once.
func (s *Stream) startReplay() error {
	s.replay, s.rows, s.n = true, nil, 0
	return s.table.writeHeader(s.bw)
}

// Listing is a listing whose rows can be read twice, such as a report's query.
type Listing[T any] struct {
	Header []string                   // CSV header; the table header is its title case
	Rows   func() iter.Seq2[T, error] // runs the query; called twice for a long table
	Cells  func(T) []string           // table and CSV cells, in header order
	View   func(T) any                // the JSON object
}

// TableMemoryRows is how many rows WriteListing keeps in memory to size a table's columns. A
// longer table reads its rows twice: once to size the columns, once to print them. Tests
// lower it.
var TableMemoryRows = 5000

// WriteListing writes l to w in format and returns the number of rows. It stops at the first
// error of the rows.
func WriteListing[T any](w io.Writer, format string, l Listing[T]) (int, error) {
	s := NewStream(w, format, l.Header)
	table := s.table != nil
	if table {
		s.limit = TableMemoryRows
	}
	n := 0
	for v, err := range l.Rows() {
		if err != nil {
			if table {
				return 0, err
			}
			return n, err
		}
		// Each format needs only one of view and cells: build just that one.
		var view any
		var cells []string
		if format == formatJSON {
			view = l.View(v)
		} else {
			cells = l.Cells(v)
		}
		if err := s.Add(view, cells); err != nil {
			return n, err
		}
		n++
	}
	if !s.long {
		return n, s.Close()
	}
	if err := s.startReplay(); err != nil {
		return 0, err
	}
	n = 0
	for v, err := range l.Rows() {
		if err != nil {
			return n, err
		}
		if err := s.Add(nil, l.Cells(v)); err != nil {
			return n, err
		}
		n++
	}
	return n, s.Close()
}

// TableWithSuffixes writes a whole table of rows already in memory like a Stream does; the
// suffixes (nil, or one per row) go after each row, two spaces after the last column, and are
// not measured, so they may hold colour escapes (a report's bars).
func TableWithSuffixes(w io.Writer, header []string, rows [][]string, suffixes []string) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	t := newTable(header)
	for _, r := range rows {
		t.fit(r)
	}
	if err := t.writeHeader(bw); err != nil {
		return err
	}
	for i, r := range rows {
		suffix := ""
		if suffixes != nil {
			suffix = suffixes[i]
		}
		if err := t.writeRow(bw, r, suffix); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// table is the one table layout behind Table, TableWithSuffixes and Stream: left-aligned
// columns two spaces apart, the header in upper case (tablewriter's tw.Title), widths in
// terminal columns (tablewriter's twwidth), no trailing blanks. tablewriter's own renderer is
// not used: it needs every row before it writes one, while a streamed table writes its rows
// as they come once the widths are known, and a suffix (a report's coloured bar) must not be
// measured.
type table struct {
	header []string
	widths []int
}

func newTable(columns []string) *table {
	t := &table{header: make([]string, len(columns)), widths: make([]int, len(columns))}
	for i, c := range columns {
		t.header[i] = tw.Title(c)
	}
	t.fit(t.header)
	return t
}

// fit widens the columns for cells as writeRow will print them. The caller's cells are left
// alone: a row may be rendered again in another format.
func (t *table) fit(cells []string) {
	for i, c := range cells {
		if w := width(printable(c)); w > t.widths[i] {
			t.widths[i] = w
		}
	}
}

func (t *table) writeHeader(w *bufio.Writer) error { return t.writeRow(w, t.header, "") }

// writeRow writes the cells padded to the column widths, then suffix (which may hold colour
// escapes, so it is not measured) after two spaces.
func (t *table) writeRow(w *bufio.Writer, cells []string, suffix string) error {
	var line strings.Builder
	for i, c := range cells {
		c = printable(c)
		line.WriteString(c)
		if pad := t.widths[i] - width(c); pad > 0 {
			line.WriteString(strings.Repeat(" ", pad))
		}
		line.WriteString("  ")
	}
	s := line.String()
	if suffix != "" {
		s += suffix
	}
	_, err := w.WriteString(strings.TrimRight(s, " ") + "\n")
	return err
}

// width is the number of terminal columns s takes.
func width(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return twwidth.Width(s)
		}
	}
	return len(s)
}

// printable replaces control characters (escape sequences, newlines, tabs) with spaces or
// U+FFFD so that a table cell stays on its line and cannot drive the terminal.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if unicode.IsControl(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return utf8.RuneError
		}
		return r
	}, s)
}
