package tokens

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// readProblems reads the whole CSV and returns the header problems and those of every row.
func readProblems(t *testing.T, in string, opts CSVOptions) []Problem {
	t.Helper()
	r, err := NewCSVReader(strings.NewReader(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	ps := r.HeaderProblems()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return ps
		}
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, rec.Problems...)
	}
}

// A NUL byte in a UTF-8 file used to be blamed on UTF-16 without a byte-order mark; only a
// file whose start has a NUL every other byte is that.
func TestCSVNULByteIsNotUTF16(t *testing.T) {
	tests := []struct {
		name, in string
		want     Problem
	}{
		{"in a row", hdr + row("a@contoso.com", "S1", sec1, "30") + "b@contoso.com,S\x002," + sec2 + ",30,Contoso,HardwareKey\n",
			Problem{Line: 3, Column: ColSerial, Severity: SeverityError, Code: CodeCSVEncoding, Message: "contains a NUL byte at line 3"}},
		{"in a quoted multi-line field", hdr + "a@contoso.com,S1," + sec1 + ",30,\"Con\ntoso\x00\",HardwareKey\n",
			Problem{Line: 2, Column: ColManufacturer, Severity: SeverityError, Code: CodeCSVEncoding, Message: "contains a NUL byte at line 3"}},
		{"in the header", strings.Replace(hdr, "model", "mo\x00del", 1),
			Problem{Line: 1, Severity: SeverityError, Code: CodeCSVEncoding, Message: "header: contains a NUL byte at line 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := readProblems(t, tc.in, CSVOptions{})
			if len(ps) == 0 || ps[0] != tc.want {
				t.Errorf("problems %+v\nwant first %+v", ps, tc.want)
			}
		})
	}
}

// The first data row over 1 MiB used to be reported on line 1 (the header's), and a long row
// after blank lines too early.
func TestCSVLongRowLine(t *testing.T) {
	long := "a@contoso.com,S9," + strings.Repeat("A", 2<<20) + ",30,Contoso,HardwareKey\n"
	tests := []struct {
		name, in string
		line     int
	}{
		{"first row", hdr + long, 2},
		{"after blank lines", hdr + row("a@contoso.com", "S1", sec1, "30") + "\n\n\n" + long, 6},
		{"after a sep line", "sep=,\n" + hdr + "\n" + long, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := readProblems(t, tc.in, CSVOptions{})
			last := ps[len(ps)-1]
			if last.Code != CodeCSVQuote || last.Line != tc.line {
				t.Errorf("last problem %+v, want %s on line %d", last, CodeCSVQuote, tc.line)
			}
		})
	}
}

// A header with 900,000 empty columns used to give 900,000 warnings (95 MB of output, 503 MB
// of memory): past MaxProblemsPerCode of a code there is one summary.
func TestCSVHeaderProblemsCapped(t *testing.T) {
	const empty = 900_000
	in := strings.TrimSuffix(hdr, "\n") + strings.Repeat(",", empty) + "\n"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := NewCSVReader(strings.NewReader(in), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	ps := r.HeaderProblems()
	if len(ps) != MaxProblemsPerCode+1 {
		t.Fatalf("%d header problems, want %d", len(ps), MaxProblemsPerCode+1)
	}
	if got := ps[0]; got.Code != CodeCSVColumnUnknown || got.Message != "header field 7 has no name; the column is ignored" {
		t.Errorf("first problem %+v", got)
	}
	sum := ps[len(ps)-1]
	want := Problem{Line: 1, Severity: SeverityWarning, Code: CodeCSVColumnUnknown,
		Message: "899900 more csv.column-unknown problems not shown"}
	if sum != want {
		t.Errorf("summary %+v\nwant %+v", sum, want)
	}
	// encoding/csv's own record is all that grows with the columns: a string header, an index
	// and a position per field, in slices grown by doubling (about 165 bytes a field allocated
	// in all). A problem per column would be over 300 more.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200*empty {
		t.Errorf("reading the header allocated %d bytes, %d a column", alloc, alloc/empty)
	}
}

func TestProblemLimit(t *testing.T) {
	var l ProblemLimit
	var ps []Problem
	for i := range 250 {
		ps = l.Add(ps, warningAt(1, "", CodeCSVColumnUnknown, "x"))
		if i%2 == 0 {
			ps = l.Add(ps, errorAt(1, "", CodeCSVHeader, "y"))
		}
	}
	ps = append(ps, l.Summaries(1)...)
	if len(ps) != 2*MaxProblemsPerCode+2 {
		t.Fatalf("%d problems", len(ps))
	}
	got := ps[len(ps)-2:]
	if got[0].Message != "150 more csv.column-unknown problems not shown" || got[0].Severity != SeverityWarning ||
		got[1].Message != "25 more csv.header problems not shown" || got[1].Severity != SeverityError {
		t.Errorf("summaries %+v", got)
	}
}
