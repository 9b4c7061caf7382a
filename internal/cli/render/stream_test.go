package render

import (
	"bytes"
	"fmt"
	"iter"
	"testing"
)

var sampleColumns = []string{"upn", "display_name", "methods"}

var sampleRows = [][]string{
	{"helga@contoso.com", "Helga Lindqvist", "2"},
	{"ivan@contoso.com", "", "0"},
	{"kenji@contoso.com", "田中 健二", "10"},
	{"", "Zoë", ""},
}

type sample struct{ upn, name, methods string }

func sampleListing(reads *int) Listing[sample] {
	return Listing[sample]{
		Header: sampleColumns,
		Rows: func() iter.Seq2[sample, error] {
			*reads++
			return func(yield func(sample, error) bool) {
				for _, r := range sampleRows {
					if !yield(sample{r[0], r[1], r[2]}, nil) {
						return
					}
				}
			}
		},
		Cells: func(s sample) []string { return []string{s.upn, s.name, s.methods} },
		View: func(s sample) any {
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
	for _, format := range []string{"table", formatJSON, formatCSV} {
		for _, memory := range []int{5000, 2} {
			t.Run(fmt.Sprintf("%s/memory %d", format, memory), func(t *testing.T) {
				defer func(n int) { TableMemoryRows = n }(TableMemoryRows)
				TableMemoryRows = memory
				var want, got bytes.Buffer
				var err error
				switch format {
				case "table":
					err = Table(&want, sampleColumns, sampleRows)
				case formatCSV:
					err = CSV(&want, sampleColumns, sampleRows)
				case formatJSON:
					l := sampleListing(new(int))
					var views []any
					for s := range l.Rows() {
						views = append(views, l.View(s))
					}
					err = JSON(&want, views)
				}
				if err != nil {
					t.Fatal(err)
				}
				reads := 0
				n, err := WriteListing(&got, format, sampleListing(&reads))
				if err != nil || n != len(sampleRows) {
					t.Fatalf("%d rows, %v", n, err)
				}
				if got.String() != want.String() {
					t.Errorf("got:\n%s\nwant:\n%s", got.String(), want.String())
				}
				wantReads := 1
				if format == "table" && memory < len(sampleRows) {
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
		"table":    "UPN  DISPLAY NAME  METHODS\n",
		formatJSON: "[]\n",
		formatCSV:  "upn,display_name,methods\n",
	} {
		var out bytes.Buffer
		l := sampleListing(new(int))
		l.Rows = func() iter.Seq2[sample, error] { return func(func(sample, error) bool) {} }
		if n, err := WriteListing(&out, format, l); err != nil || n != 0 {
			t.Fatalf("%s: %d, %v", format, n, err)
		}
		if out.String() != want {
			t.Errorf("%s: %q, want %q", format, out.String(), want)
		}
	}
}

// A listing stops at the first error and returns it.
func TestListingError(t *testing.T) {
	for _, format := range []string{"table", formatJSON, formatCSV} {
		l := sampleListing(new(int))
		l.Rows = func() iter.Seq2[sample, error] {
			return func(yield func(sample, error) bool) {
				if yield(sample{upn: "a"}, nil) {
					yield(sample{}, fmt.Errorf("database is busy"))
				}
			}
		}
		if _, err := WriteListing(&bytes.Buffer{}, format, l); err == nil || err.Error() != "database is busy" {
			t.Errorf("%s: %v", format, err)
		}
	}
}

func TestTableCellsCannotDriveTheTerminal(t *testing.T) {
	var out bytes.Buffer
	err := TableWithSuffixes(&out, []string{"target", "detail"}, [][]string{
		{"\x1b[2Jevil@contoso.com", "line one\nline two\ttabbed\r"},
		{"ok", "\u009b31m"},
	}, nil)
	want := fmt.Sprintf("%-22s%s\n%-22s%s\n%-22s%s\n", "TARGET", "DETAIL",
		"\uFFFD[2Jevil@contoso.com", "line one line two tabbed", "ok", "\uFFFD31m")
	if err != nil || out.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", out.String(), want)
	}
}

// Table and the streamed table are one renderer: the same rows, control characters and
// header punctuation included, print the same bytes whichever entry point a command uses,
// and Table leaves the caller's cells alone.
func TestTableAndStreamAgree(t *testing.T) {
	header := []string{"target", "last-used at", "display_name"}
	rows := func() [][]string {
		return [][]string{
			{"\x1b[2Jevil@contoso.com", "2026-01-01", "line one\nline two\ttabbed\r"},
			{"kenji@contoso.com", "", "田中 健二\u009b31m"},
		}
	}
	// The first column is 20 wide (U+FFFD takes one column), the second 12.
	want := "TARGET                LAST-USED AT  DISPLAY NAME\n" +
		"\uFFFD[2Jevil@contoso.com  2026-01-01    line one line two tabbed\n" +
		"kenji@contoso.com                   田中 健二\uFFFD31m\n"

	var table bytes.Buffer
	in := rows()
	if err := Table(&table, header, in); err != nil {
		t.Fatal(err)
	}
	if table.String() != want {
		t.Errorf("Table:\n%q\nwant\n%q", table.String(), want)
	}
	if in[0][0] != rows()[0][0] {
		t.Errorf("Table changed the caller's cells: %q", in[0][0])
	}
	for _, memory := range []int{5000, 1} {
		defer func(n int) { TableMemoryRows = n }(TableMemoryRows)
		TableMemoryRows = memory
		var streamed bytes.Buffer
		_, err := WriteListing(&streamed, "table", Listing[[]string]{
			Header: header,
			Rows: func() iter.Seq2[[]string, error] {
				return func(yield func([]string, error) bool) {
					for _, r := range rows() {
						if !yield(r, nil) {
							return
						}
					}
				}
			},
			Cells: func(r []string) []string { return r },
		})
		if err != nil || streamed.String() != want {
			t.Errorf("streamed (memory %d rows): %v\n%q\nwant\n%q", memory, err, streamed.String(), want)
		}
	}
}
