package reportcmd

import (
	"bufio"
	"context"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/report"
	"github.com/mfactl/mfactl/internal/store"
)

// Reports can be long (millions of auth events), so listings are written as the rows come
// from the database with render.WriteListing, which streams JSON and CSV and reads a long
// table twice instead of keeping it.

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

// runReport opens the directory and a printer for -o format and runs write, then flushes
// what it printed, also after an error so that the rows already read are not lost.
func runReport(ctx context.Context, f *cmdutil.Factory, format string, write func(*report.Reporter, *printer) error) (err error) {
	return runReportOn(ctx, f, format, func() (reportSource, error) {
		db, err := openDirectory(ctx, f)
		if err != nil {
			return nil, err
		}
		return db, nil
	}, write)
}

// runReportAnywhere is runReport over any backend, Entra ID included (cmdutil.ReadDirectory).
func runReportAnywhere(ctx context.Context, f *cmdutil.Factory, format string, write func(*report.Reporter, *printer) error) error {
	return runReportOn(ctx, f, format, func() (reportSource, error) { return f.ReadDirectory(ctx) }, write)
}

// onEntra reports whether --db names a Microsoft Entra ID tenant, which some reports read
// differently (a bounded window of its sign-in log).
func onEntra(f *cmdutil.Factory) bool {
	value := f.DBPath
	if value == "" {
		value = f.Getenv("MFACTL_DB")
	}
	loc, err := store.ParseLocation(value)
	return err == nil && loc.Kind == store.KindEntra
}

// reportSource is what a report reads, and closes when done.
type reportSource interface {
	report.Store
	Close() error
}

// runReportOn is runReport over the directory open returns: the token report also reads
// Entra ID (cmdutil.ReadDirectory), the other reports only the SQL backends for now.
func runReportOn(ctx context.Context, f *cmdutil.Factory, format string, open func() (reportSource, error), write func(*report.Reporter, *printer) error) (err error) {
	db, err := open()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	p := newPrinter(f, format)
	defer func() {
		if ferr := p.flush(); err == nil {
			err = ferr
		}
	}()
	return write(report.New(db, f.Now), p)
}

// openDirectory opens the directory database a report reads. Unlike the commands that change
// the directory, a report neither creates the database nor reads or creates the master key:
// reports hold no secrets, and a report over a mistyped --db must fail rather than show the
// zeros of a new, empty directory (and leave a database and a key file behind).
func openDirectory(ctx context.Context, f *cmdutil.Factory) (*store.DB, error) {
	return f.ReadStore(ctx)
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

// timeCell is time for a time of a view (view.TimeJSON): nil is never.
func (p *printer) timeCell(s *string) string {
	if s == nil {
		return ""
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return *s
	}
	return p.time(t)
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
		return render.TableWithSuffixes(p.out, columns, rows, nil)
	}
}
