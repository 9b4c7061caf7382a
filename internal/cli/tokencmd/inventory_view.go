package tokencmd

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/store"
)

// tokenView is a token in listings (SPEC section 10). The secret is not part of it: no output
// format can carry it. Times are RFC 3339 UTC; null means never.
type tokenView struct {
	SerialNumber   string  `json:"serial_number"`
	UPN            string  `json:"upn"`
	Status         string  `json:"status"`
	Manufacturer   string  `json:"manufacturer"`
	Model          string  `json:"model"`
	TimeInterval   int     `json:"time_interval"`
	Hash           string  `json:"hash"`
	Digits         int     `json:"digits"`
	Drift          int     `json:"drift"`
	FailedAttempts int     `json:"failed_attempts"`
	CreatedAt      *string `json:"created_at"`
	ActivatedAt    *string `json:"activated_at"`
	LastUsedAt     *string `json:"last_used_at"`
}

// tokenDetailView is what `tokens show` adds to the listing view.
type tokenDetailView struct {
	tokenView
	DisabledReason string  `json:"disabled_reason"`
	SourceFile     string  `json:"source_file"`
	UpdatedAt      *string `json:"updated_at"`
}

func newTokenView(t store.Token) tokenView {
	return tokenView{
		SerialNumber:   t.Serial,
		UPN:            t.UPN,
		Status:         string(t.Status),
		Manufacturer:   t.Manufacturer,
		Model:          t.Model,
		TimeInterval:   t.Period,
		Hash:           t.Hash,
		Digits:         t.Digits,
		Drift:          t.Drift,
		FailedAttempts: t.FailedAttempts,
		CreatedAt:      rfc3339OrNull(t.CreatedAt),
		ActivatedAt:    rfc3339OrNull(t.ActivatedAt),
		LastUsedAt:     rfc3339OrNull(t.LastUsedAt),
	}
}

func newTokenDetailView(t store.Token) tokenDetailView {
	return tokenDetailView{
		tokenView:      newTokenView(t),
		DisabledReason: t.DisabledReason,
		SourceFile:     t.SourceFile,
		UpdatedAt:      rfc3339OrNull(t.UpdatedAt),
	}
}

// tokenHeader names the columns of the table and CSV listings, in the order of the JSON
// fields. The columns the importer reads carry the importer's names (upn, serial number,
// time interval, manufacturer, model), so a listing joined with the vendor's secrets can be
// imported again; the secret key column is never written.
var tokenHeader = []string{
	"serial number", "upn", "status", "manufacturer", "model", "time interval", "hash", "digits", "drift",
	"failed attempts", "created at", "activated at", "last used at",
}

// tokenRow is v as table or CSV cells; times use tokenTimeCell.
func tokenRow(v tokenView, human bool) []string {
	return []string{
		v.SerialNumber, v.UPN, v.Status, v.Manufacturer, v.Model, strconv.Itoa(v.TimeInterval), v.Hash,
		strconv.Itoa(v.Digits), strconv.Itoa(v.Drift), strconv.Itoa(v.FailedAttempts),
		tokenTimeCell(v.CreatedAt, human), tokenTimeCell(v.ActivatedAt, human), tokenTimeCell(v.LastUsedAt, human),
	}
}

// rfc3339OrNull is t in RFC 3339 UTC, or nil (JSON null) for the zero time ("never").
func rfc3339OrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// tokenTimeCell formats a time for a table or CSV cell: empty for never, RFC 3339 UTC for programs
// and files, and a shorter local time for a person at a terminal (human).
func tokenTimeCell(s *string, human bool) string {
	if s == nil {
		return ""
	}
	if !human {
		return *s
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return *s
	}
	return t.Local().Format("2006-01-02 15:04")
}

// writeKeyValues writes one "name  value" line per pair with the values aligned: the table form of
// a single record (a summary, one token).
func writeKeyValues(w io.Writer, pairs [][2]string) error {
	width := 0
	for _, p := range pairs {
		width = max(width, len(p[0]))
	}
	var b strings.Builder
	for _, p := range pairs {
		line := fmt.Sprintf("%-*s  %s", width, p[0], p[1])
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// inventoryWriter renders a listing row by row in one of the -o formats, so that JSON and CSV
// stream in constant memory however large the directory. Tables need every row to align
// their columns, so they are buffered until close.
type inventoryWriter struct {
	format string
	header []string
	human  bool // table on a terminal: local times

	bw    *bufio.Writer
	csv   *csv.Writer
	rows  [][]string
	n     int
	enc   *json.Encoder
	buf   bytes.Buffer
	cells []string
}

func newInventoryWriter(w io.Writer, format string, header []string, human bool) *inventoryWriter {
	lw := &inventoryWriter{format: format, header: header, human: human, bw: bufio.NewWriterSize(w, 64<<10)}
	lw.enc = json.NewEncoder(&lw.buf)
	lw.enc.SetIndent("  ", "  ")
	lw.enc.SetEscapeHTML(false)
	if format == cmdutil.FormatCSV {
		lw.csv = csv.NewWriter(lw.bw)
	}
	return lw
}

// add writes one record: view for JSON, cells for table and CSV.
func (lw *inventoryWriter) add(view any, cells []string) error {
	defer func() { lw.n++ }()
	switch lw.format {
	case cmdutil.FormatJSON:
		lw.buf.Reset()
		if err := lw.enc.Encode(view); err != nil {
			return err
		}
		sep := ",\n  "
		if lw.n == 0 {
			sep = "[\n  "
		}
		lw.bw.WriteString(sep)
		_, err := lw.bw.Write(bytes.TrimSuffix(lw.buf.Bytes(), []byte("\n")))
		return err
	case cmdutil.FormatCSV:
		if lw.n == 0 {
			if err := lw.csv.Write(lw.header); err != nil {
				return err
			}
		}
		lw.cells = lw.cells[:0]
		for _, c := range cells {
			lw.cells = append(lw.cells, render.NeutraliseFormula(c))
		}
		return lw.csv.Write(lw.cells)
	default:
		lw.rows = append(lw.rows, cells)
		return nil
	}
}

// close finishes the output; an empty listing is "[]" in JSON and the header alone in tables
// and CSV.
func (lw *inventoryWriter) close() error {
	switch lw.format {
	case cmdutil.FormatJSON:
		if lw.n == 0 {
			lw.bw.WriteString("[]\n")
		} else {
			lw.bw.WriteString("\n]\n")
		}
	case cmdutil.FormatCSV:
		if lw.n == 0 {
			if err := lw.csv.Write(lw.header); err != nil {
				return err
			}
		}
		lw.csv.Flush()
		if err := lw.csv.Error(); err != nil {
			return err
		}
	default:
		header := make([]string, len(lw.header))
		for i, h := range lw.header {
			header[i] = strings.ToUpper(h)
		}
		if err := render.Table(lw.bw, header, lw.rows); err != nil {
			return err
		}
	}
	return lw.bw.Flush()
}
