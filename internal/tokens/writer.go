package tokens

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/gocarina/gocsv"
)

// csvRow is one row of the Azure OATH CSV as written; the csv tags are the exact header.
type csvRow struct {
	UPN          string `csv:"upn"`
	Serial       string `csv:"serial number"`
	Secret       string `csv:"secret key"`
	Interval     int    `csv:"time interval"`
	Manufacturer string `csv:"manufacturer"`
	Model        string `csv:"model"`
}

// CSVWriter writes tokens as an Azure OATH CSV, one row at a time: the exact lower-case header
// of docs/formats.md, then one row per token with the secret as unpadded upper-case Base32.
// The output is the only place a secret is meant to appear; it is buffered, so call Flush.
type CSVWriter struct {
	buf    *bufio.Writer
	w      *gocsv.SafeCSVWriter
	header bool
	row    [1]csvRow
	err    error
}

// NewCSVWriter returns a writer to w. The header is written with the first row, or by Flush
// when there is none, so an empty token list still gives a valid file.
func NewCSVWriter(w io.Writer) *CSVWriter {
	// gocsv flushes its csv.Writer after every call; the bufio.Writer underneath keeps that
	// from becoming one write system call per row.
	buf := bufio.NewWriterSize(w, 64<<10)
	return &CSVWriter{buf: buf, w: gocsv.NewSafeCSVWriter(csv.NewWriter(buf))}
}

// Write writes one token.
func (w *CSVWriter) Write(t Token) error {
	if w.err != nil {
		return w.err
	}
	w.row[0] = csvRow{
		UPN: t.UPN, Serial: t.Serial, Secret: Base32(t.Secret), Interval: t.Period,
		Manufacturer: t.Manufacturer, Model: t.Model,
	}
	var err error
	if !w.header {
		err = gocsv.MarshalCSV(w.row[:], w.w)
		w.header = true
	} else {
		err = gocsv.MarshalCSVWithoutHeaders(w.row[:], w.w)
	}
	w.row[0] = csvRow{} // do not keep the secret around longer than needed
	if err != nil {
		w.err = fmt.Errorf("writing csv row: %w", err)
	}
	return w.err
}

// Flush writes the header if no row was written and flushes everything to the underlying
// writer.
func (w *CSVWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if !w.header {
		if err := gocsv.MarshalCSV([]csvRow{}, w.w); err != nil {
			w.err = fmt.Errorf("writing csv header: %w", err)
			return w.err
		}
		w.header = true
	}
	if err := w.buf.Flush(); err != nil {
		w.err = fmt.Errorf("writing csv: %w", err)
	}
	return w.err
}
