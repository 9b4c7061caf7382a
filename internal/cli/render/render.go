// Package render writes command results in the formats behind -o: aligned tables for people,
// JSON for programs and CSV for spreadsheets. Each listing gives one header and one set of rows
// so that the table and CSV show the same columns, and a view value for JSON.
package render

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mfactl/mfactl/internal/csvdialect"
)

// JSON writes v as indented JSON followed by a newline. Callers pass view structs with
// snake_case tags and non-nil slices, so an empty list is [] and never null.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// CSV writes the header and rows. Cells that a spreadsheet would run as a formula (starting
// with =, +, -, @, tab or carriage return) are neutralised with a leading apostrophe.
func CSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	cell := make([]string, 0, len(header))
	for _, row := range rows {
		cell = cell[:0]
		for _, c := range row {
			cell = append(cell, NeutraliseFormula(c))
		}
		if err := cw.Write(cell); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// NeutraliseFormula prefixes s with an apostrophe when a spreadsheet would treat it as a
// formula (OWASP "CSV injection"). It is csvdialect's, whose Unneutralise the importers use to
// read a listing back exactly.
func NeutraliseFormula(s string) string { return csvdialect.NeutraliseFormula(s) }

// Table writes an aligned table without borders: upper-case header, one row per line, columns
// separated by two spaces, no trailing blanks. Empty rows print only the header. It is the
// streamed table's layout (TableWithSuffixes), so that a listing looks the same however it
// was produced: control characters in cells are shown as U+FFFD (tabs and line breaks as
// spaces) and cannot drive the terminal.
func Table(w io.Writer, header []string, rows [][]string) error {
	return TableWithSuffixes(w, header, rows, nil)
}

// KeyValues writes one "name  value" line per pair with the values aligned: the table form of
// a single record (a summary, one token, one user).
func KeyValues(w io.Writer, pairs [][2]string) error {
	width := 0
	for _, p := range pairs {
		width = max(width, len(p[0]))
	}
	var b strings.Builder
	for _, p := range pairs {
		b.WriteString(strings.TrimRight(fmt.Sprintf("%-*s  %s", width, p[0], p[1]), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Rows writes a result already in memory in format (an -o value): v as JSON, or the header
// and rows as CSV or, for any other format, as a table.
func Rows(w io.Writer, format string, v any, header []string, rows [][]string) error {
	switch format {
	case formatJSON:
		return JSON(w, v)
	case formatCSV:
		return CSV(w, header, rows)
	default:
		return Table(w, header, rows)
	}
}

// Record writes one record (a token, a user) in format: v as JSON, the header and cells as
// CSV, or, for any other format, one aligned "name  value" line per column (KeyValues).
func Record(w io.Writer, format string, v any, header, cells []string) error {
	switch format {
	case formatJSON:
		return JSON(w, v)
	case formatCSV:
		return CSV(w, header, [][]string{cells})
	}
	pairs := make([][2]string, len(header))
	for i := range header {
		pairs[i] = [2]string{header[i], cells[i]}
	}
	return KeyValues(w, pairs)
}
