package reportcmd

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"iter"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
)

// Reports can be long (millions of auth events), so listings are written as the rows come
// from the database instead of through render.Table/CSV/JSON, which take them all at once.
// The output is byte for byte what those renderers print (output_test.go checks it), except
// that table cells have their control characters replaced (a UPN or detail must not be able
// to move the cursor or recolour the admin's terminal).

// printer writes one report in the format chosen with -o.
type printer struct {
	format string
	out    *bufio.Writer
	tty    bool // stdout is a terminal: tables show times for people
	color  bool
}

func newPrinter(f *cmdutil.Factory, format string) *printer {
	return &printer{
		format: format,
		out:    bufio.NewWriterSize(f.IO.Out, 64<<10),
		tty:    f.IO.IsStdoutTTY(),
		color:  f.IO.ColorEnabled(),
	}
}

// flush writes what is buffered; call it once at the end, also after an error so that the
// rows already read are not lost.
func (p *printer) flush() error { return p.out.Flush() }

// time formats a time for table and CSV cells: RFC 3339 UTC, or "2006-01-02 15:04:05" (UTC)
// in a table on a terminal; empty for the zero time ("never").
func (p *printer) time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if p.tty && p.format == cmdutil.FormatTable {
		return t.UTC().Format(time.DateTime)
	}
	return t.UTC().Format(time.RFC3339)
}

// listing is a report of rows of type T.
type listing[T any] struct {
	columns []string                   // JSON keys and CSV header; the table header is their title case
	rows    func() iter.Seq2[T, error] // runs the query; called twice for a long table
	cells   func(T) []string           // table and CSV cells, in column order
	view    func(T) any                // the JSON object
}

// tableMemoryRows is how many rows a table keeps in memory to size its columns. A longer
// table reads its rows twice: once to size the columns, once to print them. Tests lower it.
var tableMemoryRows = 5000

// write prints the listing and returns the number of rows.
func writeListing[T any](p *printer, l listing[T]) (int, error) {
	switch p.format {
	case cmdutil.FormatJSON:
		a := newJSONArray(p.out)
		n := 0
		for v, err := range l.rows() {
			if err != nil {
				return n, err
			}
			if err := a.add(l.view(v)); err != nil {
				return n, err
			}
			n++
		}
		return n, a.close()
	case cmdutil.FormatCSV:
		cw := csv.NewWriter(p.out)
		if err := cw.Write(l.columns); err != nil {
			return 0, err
		}
		n := 0
		for v, err := range l.rows() {
			if err != nil {
				return n, err
			}
			cells := l.cells(v)
			for i, c := range cells {
				cells[i] = render.NeutraliseFormula(c)
			}
			if err := cw.Write(cells); err != nil {
				return n, err
			}
			n++
		}
		cw.Flush()
		return n, cw.Error()
	default:
		return writeTableListing(p, l)
	}
}

func writeTableListing[T any](p *printer, l listing[T]) (int, error) {
	t := newTable(l.columns)
	var kept [][]string
	n, long := 0, false
	for v, err := range l.rows() {
		if err != nil {
			return 0, err
		}
		cells := l.cells(v)
		t.fit(cells)
		if !long {
			kept = append(kept, cells)
			long = len(kept) > tableMemoryRows
		}
		n++
	}
	if err := t.writeHeader(p.out); err != nil {
		return 0, err
	}
	if !long {
		for _, cells := range kept {
			if err := t.writeRow(p.out, cells, ""); err != nil {
				return 0, err
			}
		}
		return n, nil
	}
	kept = nil
	n = 0
	for v, err := range l.rows() {
		if err != nil {
			return n, err
		}
		if err := t.writeRow(p.out, l.cells(v), ""); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// table lays out rows like render.Table: left-aligned columns two spaces apart, the header in
// upper case, no trailing blanks.
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

// fit widens the columns for cells, which it makes printable.
func (t *table) fit(cells []string) {
	for i, c := range cells {
		c = printable(c)
		cells[i] = c
		if w := width(c); w > t.widths[i] {
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

// writeTable writes a whole table of rows already in memory; suffixes (nil, or one per row)
// go after each row.
func writeTable(w *bufio.Writer, columns []string, rows [][]string, suffixes []string) error {
	t := newTable(columns)
	for _, r := range rows {
		t.fit(r)
	}
	if err := t.writeHeader(w); err != nil {
		return err
	}
	for i, r := range rows {
		suffix := ""
		if suffixes != nil {
			suffix = suffixes[i]
		}
		if err := t.writeRow(w, r, suffix); err != nil {
			return err
		}
	}
	return nil
}

// writeRows writes rows already in memory in the printer's format (the token inventory, a
// handful of rows); view is the JSON value.
func (p *printer) writeRows(columns []string, rows [][]string, view any) error {
	switch p.format {
	case cmdutil.FormatJSON:
		return render.JSON(p.out, view)
	case cmdutil.FormatCSV:
		return render.CSV(p.out, columns, rows)
	default:
		return writeTable(p.out, columns, rows, nil)
	}
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

// jsonArray streams a JSON array formatted as render.JSON formats a slice.
type jsonArray struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
	n   int
}

func newJSONArray(w io.Writer) *jsonArray {
	a := &jsonArray{w: w}
	a.enc = json.NewEncoder(&a.buf)
	a.enc.SetIndent("  ", "  ")
	a.enc.SetEscapeHTML(false)
	return a
}

func (a *jsonArray) add(v any) error {
	a.buf.Reset()
	if a.n == 0 {
		a.buf.WriteString("[\n  ")
	} else {
		a.buf.WriteString(",\n  ")
	}
	if err := a.enc.Encode(v); err != nil {
		return err
	}
	a.buf.Truncate(a.buf.Len() - 1) // the encoder's newline
	a.n++
	_, err := a.w.Write(a.buf.Bytes())
	return err
}

func (a *jsonArray) close() error {
	end := "\n]\n"
	if a.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(a.w, end)
	return err
}
