package reportcmd

import (
	"bufio"
	"bytes"
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/report"
)

var sampleColumns = []string{"upn", "display_name", "methods"}

var sampleRows = [][]string{
	{"helga@contoso.com", "Helga Lindqvist", "2"},
	{"ivan@contoso.com", "", "0"},
	{"kenji@contoso.com", "田中 健二", "10"},
	{"", "Zoë", ""},
}

type sample struct{ upn, name, methods string }

func sampleListing(reads *int) listing[sample] {
	return listing[sample]{
		columns: sampleColumns,
		rows: func() iter.Seq2[sample, error] {
			*reads++
			return func(yield func(sample, error) bool) {
				for _, r := range sampleRows {
					if !yield(sample{r[0], r[1], r[2]}, nil) {
						return
					}
				}
			}
		},
		cells: func(s sample) []string { return []string{s.upn, s.name, s.methods} },
		view: func(s sample) any {
			return struct {
				UPN         string `json:"upn"`
				DisplayName string `json:"display_name"`
				Methods     string `json:"methods"`
			}{s.upn, s.name, s.methods}
		},
	}
}

// The streamed listings print exactly what the render package prints for the same rows, in
// every format, whether the table fits in memory or takes two passes.
func TestStreamedListingsMatchRender(t *testing.T) {
	for _, format := range []string{cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV} {
		for _, memory := range []int{5000, 2} {
			t.Run(fmt.Sprintf("%s/memory %d", format, memory), func(t *testing.T) {
				defer func(n int) { tableMemoryRows = n }(tableMemoryRows)
				tableMemoryRows = memory
				var want, got bytes.Buffer
				var err error
				switch format {
				case cmdutil.FormatTable:
					err = render.Table(&want, sampleColumns, sampleRows)
				case cmdutil.FormatCSV:
					err = render.CSV(&want, sampleColumns, sampleRows)
				case cmdutil.FormatJSON:
					l := sampleListing(new(int))
					var views []any
					for s := range l.rows() {
						views = append(views, l.view(s))
					}
					err = render.JSON(&want, views)
				}
				if err != nil {
					t.Fatal(err)
				}
				p := &printer{format: format, out: bufio.NewWriter(&got)}
				reads := 0
				n, err := writeListing(p, sampleListing(&reads))
				p.flush()
				if err != nil || n != len(sampleRows) {
					t.Fatalf("%d rows, %v", n, err)
				}
				if got.String() != want.String() {
					t.Errorf("got:\n%s\nwant:\n%s", got.String(), want.String())
				}
				wantReads := 1
				if format == cmdutil.FormatTable && memory < len(sampleRows) {
					wantReads = 2
				}
				if reads != wantReads {
					t.Errorf("read the rows %d times, want %d", reads, wantReads)
				}
			})
		}
	}
}

func TestEmptyListings(t *testing.T) {
	for format, want := range map[string]string{
		cmdutil.FormatTable: "UPN  DISPLAY NAME  METHODS\n",
		cmdutil.FormatJSON:  "[]\n",
		cmdutil.FormatCSV:   "upn,display_name,methods\n",
	} {
		var out bytes.Buffer
		p := &printer{format: format, out: bufio.NewWriter(&out)}
		l := sampleListing(new(int))
		l.rows = func() iter.Seq2[sample, error] { return func(func(sample, error) bool) {} }
		if n, err := writeListing(p, l); err != nil || n != 0 {
			t.Fatalf("%s: %d, %v", format, n, err)
		}
		p.flush()
		if out.String() != want {
			t.Errorf("%s: %q, want %q", format, out.String(), want)
		}
	}
}

// A listing stops at the first error and returns it.
func TestListingError(t *testing.T) {
	for _, format := range []string{cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV} {
		p := &printer{format: format, out: bufio.NewWriter(&bytes.Buffer{})}
		l := sampleListing(new(int))
		l.rows = func() iter.Seq2[sample, error] {
			return func(yield func(sample, error) bool) {
				if yield(sample{upn: "a"}, nil) {
					yield(sample{}, fmt.Errorf("database is busy"))
				}
			}
		}
		if _, err := writeListing(p, l); err == nil || err.Error() != "database is busy" {
			t.Errorf("%s: %v", format, err)
		}
	}
}

func TestTableCellsCannotDriveTheTerminal(t *testing.T) {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	err := writeTable(w, []string{"target", "detail"}, [][]string{
		{"\x1b[2Jevil@contoso.com", "line one\nline two\ttabbed\r"},
		{"ok", "\u009b31m"},
	}, nil)
	w.Flush()
	want := fmt.Sprintf("%-22s%s\n%-22s%s\n%-22s%s\n", "TARGET", "DETAIL",
		"\uFFFD[2Jevil@contoso.com", "line one line two tabbed", "ok", "\uFFFD31m")
	if err != nil || out.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", out.String(), want)
	}
}

func TestDayBars(t *testing.T) {
	groups := []report.Group{
		{Group: "2026-11-16", Success: 30, Denied: 10, Total: 40},
		{Group: "2026-11-17", Success: 1000, Denied: 0, Total: 1000},
		{Group: "2026-11-18", Success: 0, Denied: 1, Total: 1},
		{Group: "2026-11-19", Total: 3}, // neither success nor denied
	}
	got := dayBars(groups, false)
	want := []string{
		"█", // 30 of 1000 at 40 columns is 1.2 blocks; the one denial is still shown
		strings.Repeat("█", 40),
		"░",
		"",
	}
	want[0] += "░"
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bar %d: %q, want %q", i, got[i], want[i])
		}
	}
	colored := dayBars(groups, true)
	if want := "\x1b[32m█\x1b[0m\x1b[31m█\x1b[0m"; colored[0] != want {
		t.Errorf("colour bar %q, want %q", colored[0], want)
	}
}
