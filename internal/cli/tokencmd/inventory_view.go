package tokencmd

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/store"
)

// tokenDetailView is what `tokens show` adds to the listing view.
type tokenDetailView struct {
	view.Token
	DisabledReason string  `json:"disabled_reason"`
	SourceFile     string  `json:"source_file"`
	UpdatedAt      *string `json:"updated_at"`
}

func newTokenDetailView(t store.Token) tokenDetailView {
	return tokenDetailView{
		Token:          view.NewToken(t),
		DisabledReason: t.DisabledReason,
		SourceFile:     t.SourceFile,
		UpdatedAt:      view.TimeJSON(t.UpdatedAt),
	}
}

// writeKeyValues is render.KeyValues under the name import.go calls.
func writeKeyValues(w io.Writer, pairs [][2]string) error { return render.KeyValues(w, pairs) }

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
