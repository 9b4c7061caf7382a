package report

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/mfactl/mfactl/internal/directory"
)

// The HTML report is one self-contained page for managers and auditors: the charts are inline
// SVG, the style is inline CSS, and nothing refers to anything outside the file (no script,
// font, image or style sheet), so it can be mailed, archived and printed to PDF as it is.
// Every text from the directory (UPNs, models, result codes) is escaped by html/template.

//go:embed html_template.html
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":  func(n int64) string { return humanize.Comma(n) },
	"f":    func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) },
	"time": htmlTime,
	"date": func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"days": func(d time.Duration) int64 { return int64(d / (24 * time.Hour)) },
	"add":  func(a, b float64) float64 { return a + b },
	"sub":  func(a, b int64) int64 { return a - b },
	// split cuts a legend entry "class:name" in two.
	"split": func(s string) []string { return strings.SplitN(s, ":", 2) },
	"pct": func(n, of int64) string {
		if of == 0 {
			return "0%"
		}
		return strconv.FormatFloat(float64(n)*100/float64(of), 'f', 1, 64) + "%"
	},
}).Parse(htmlTemplateText))

// MaxUnusedRows is how many of the unused tokens the HTML report lists; it counts them all.
const MaxUnusedRows = 50

// DefaultUnusedFor is the idle time after which the HTML report counts a token as unused.
const DefaultUnusedFor = 90 * 24 * time.Hour

// HTMLData is what the HTML report shows. HTMLData gathers it from the directory; the drift
// and audit-chain sections come from other parts of mfactl and are filled in by the caller
// when the directory has them.
type HTMLData struct {
	Title       string
	GeneratedAt time.Time
	Since       time.Time // start of the usage window; zero: all events

	Registration RegistrationTotals

	Inventory      []directory.InventoryRow
	InventoryTotal directory.InventoryRow

	Days    []Group  // auth events per UTC day with events, in day order
	Reasons []Reason // denied events of the window per result code, most frequent first

	UnusedFor    time.Duration
	UnusedCutoff time.Time
	UnusedCount  int64
	Unused       []directory.Token // the first MaxUnusedRows of them, longest idle first

	// Drift lists the tokens whose clock drift stands out. Nil means the directory cannot
	// tell (the section says so); an empty, non-nil slice means there is none.
	Drift []DriftRow
	// AuditChain is the result of checking the audit trail's hash chain; nil means the
	// directory has no chain to check (the section says so).
	AuditChain *ChainStatus
	// AuditChainNote says why AuditChain is nil (e.g. the check needs the master key).
	AuditChainNote string
	// DriftNote says why Drift is nil (a directory that keeps no drift).
	DriftNote string
}

// DriftRow is a token whose learned clock drift is an outlier: a row of the drift report
// (Reporter.Drift) over the last DriftPeriod.
type DriftRow = DriftToken

// DriftPeriod is how far back the HTML report looks for drifting tokens.
const DriftPeriod = 90 * 24 * time.Hour

// DriftRowsShown bounds the drift table of the HTML report: the most urgent first.
const DriftRowsShown = 50

// ChainStatus is the state of the audit trail's hash chain.
type ChainStatus struct {
	Intact    bool
	Events    int64     // audit events checked
	CheckedAt time.Time // when the chain was checked
	FirstBad  int64     // ID of the first event that breaks the chain; 0 when intact
	Detail    string    // what is wrong, or anything else worth saying
}

// HTMLQuery chooses what the HTML report covers.
type HTMLQuery struct {
	Title     string
	Since     time.Time     // start of the usage sections; zero: all events
	UnusedFor time.Duration // 0: DefaultUnusedFor
}

// HTMLData reads what the HTML report shows from the directory. It reads every user once and
// every unused token once (to count them), and counts the events in SQL.
func (r *Reporter) HTMLData(ctx context.Context, q HTMLQuery) (*HTMLData, error) {
	d := &HTMLData{Title: q.Title, GeneratedAt: r.now().UTC(), Since: q.Since, UnusedFor: q.UnusedFor}
	if d.UnusedFor == 0 {
		d.UnusedFor = DefaultUnusedFor
	}
	for u, err := range r.Registration(ctx) {
		if err != nil {
			return nil, fmt.Errorf("reading registration: %w", err)
		}
		d.Registration.Add(u)
	}
	var err error
	if d.Inventory, d.InventoryTotal, err = r.Inventory(ctx); err != nil {
		return nil, fmt.Errorf("reading the token inventory: %w", err)
	}
	uq := UsageQuery{Window: Window{Since: q.Since}}
	groups, err := r.Groups(ctx, uq, ByDay)
	if err != nil {
		return nil, err
	}
	d.Days = []Group{}
	for g, err := range groups {
		if err != nil {
			return nil, fmt.Errorf("counting usage per day: %w", err)
		}
		d.Days = append(d.Days, g)
	}
	if d.Reasons, err = r.DenialReasons(ctx, uq); err != nil {
		return nil, fmt.Errorf("counting denial reasons: %w", err)
	}
	tokens, cutoff, err := r.UnusedTokens(ctx, d.UnusedFor)
	if err != nil {
		return nil, err
	}
	d.UnusedCutoff = cutoff
	d.Unused = []directory.Token{}
	for t, err := range tokens {
		if err != nil {
			return nil, fmt.Errorf("reading unused tokens: %w", err)
		}
		d.UnusedCount++
		if len(d.Unused) < MaxUnusedRows {
			d.Unused = append(d.Unused, t)
		}
	}
	drift, err := r.Drift(ctx, DriftQuery{Since: d.GeneratedAt.Add(-DriftPeriod)})
	switch {
	case errors.Is(err, directory.ErrUnsupported):
		// A directory that keeps no drift (Entra ID): the section says why.
		d.DriftNote = "Not available: " + err.Error() + "."
	case err != nil:
		return nil, fmt.Errorf("reading drift history: %w", err)
	default:
		d.Drift = append([]DriftRow{}, drift[:min(len(drift), DriftRowsShown)]...)
	}
	return d, nil
}

// htmlPage is what the template renders: the data and the charts drawn from it.
type htmlPage struct {
	*HTMLData
	FirstDay, LastDay time.Time
	DaySuccess        int64
	DayDenied         int64
	Usage             columnChart
	Coverage          hbarChart
	Stock             hbarChart
	Denials           hbarChart
}

// DriftAvailable tells the template whether the drift section has data (see HTMLData.Drift).
func (p htmlPage) DriftAvailable() bool { return p.Drift != nil }

// Series of the charts; their classes are those of the style sheet in the template.
var (
	coverageSeries = []hbarSeries{{"hbar-registered", "with a method"}, {"hbar-unregistered", "without any method"}}
	stockSeries    = []hbarSeries{{"hbar-available", "available"}, {"hbar-assigned", "assigned"},
		{"hbar-activated", "activated"}, {"hbar-failed", "failed activation"}, {"hbar-disabled", "disabled"}}
	denialSeries = []hbarSeries{{"hbar-denied", "denied"}}
)

// WriteHTML writes d as one HTML page. The page is rendered whole before anything is written,
// so a template error leaves w untouched.
func WriteHTML(w io.Writer, d *HTMLData) error {
	p := htmlPage{HTMLData: d}
	p.LastDay = day(d.GeneratedAt)
	p.FirstDay = day(d.Since)
	if d.Since.IsZero() {
		p.FirstDay = p.LastDay
	}
	for _, g := range d.Days {
		if t, err := time.Parse(time.DateOnly, g.Group); err == nil {
			if t.Before(p.FirstDay) {
				p.FirstDay = t
			}
			if t.After(p.LastDay) {
				p.LastDay = t
			}
		}
		p.DaySuccess += g.Success
		p.DayDenied += g.Denied
	}
	p.Usage = usageChart(d.Days, p.FirstDay, p.LastDay)

	reg := d.Registration
	p.Coverage = hbars([]string{"users"}, coverageSeries, [][]int64{{reg.Users - reg.NoMethod, reg.NoMethod}})

	labels := make([]string, len(d.Inventory))
	values := make([][]int64, len(d.Inventory))
	for i, x := range d.Inventory {
		labels[i] = x.Manufacturer + " " + x.Model
		values[i] = []int64{x.Available, x.Assigned, x.Activated, x.FailedActivation, x.Disabled}
	}
	p.Stock = hbars(labels, stockSeries, values)

	labels = make([]string, len(d.Reasons))
	values = make([][]int64, len(d.Reasons))
	for i, x := range d.Reasons {
		labels[i], values[i] = x.ResultCode, []int64{x.Count}
	}
	p.Denials = hbars(labels, denialSeries, values)

	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, p); err != nil {
		return fmt.Errorf("rendering the html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// day is the UTC day of t, at midnight.
func day(t time.Time) time.Time {
	y, m, dd := t.UTC().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}

// htmlTime writes a time for people: UTC to the minute, or "never".
func htmlTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04") + " UTC"
}
