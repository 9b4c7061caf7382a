package tokenfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mfactl/mfactl/internal/conformancetest"
	"github.com/mfactl/mfactl/internal/tokens"
	"github.com/mfactl/mfactl/internal/tokens/tokenstest"
)

// snapshot is a deep copy of what Next returned, taken before the next call (with ReuseRecord
// the record is overwritten).
type snapshot struct {
	Line     int
	Fields   []string
	Token    tokens.Token
	Problems []tokens.Problem
}

// readSnapshots reads data to the end and returns the file problems, the records and the error that
// ended reading.
func readSnapshots(t *testing.T, data []byte, opts Options) ([]tokens.Problem, []snapshot, error) {
	t.Helper()
	f, err := Open(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	var recs []snapshot
	for {
		rec, err := f.Next()
		if err != nil {
			return f.Problems, recs, err
		}
		s := snapshot{Line: rec.Line, Fields: slices.Clone(rec.Fields), Token: rec.Token,
			Problems: slices.Clone(rec.Problems)}
		s.Token.Secret = slices.Clone(rec.Token.Secret)
		recs = append(recs, s)
	}
}

// samePipelined reads data with and without the pipeline, with and without ReuseRecord, with
// and without SizeHint, and fails unless all agree on every record and problem. It returns
// the records.
func samePipelined(t *testing.T, name string, data []byte, base Options) []snapshot {
	t.Helper()
	var want []snapshot
	var wantFile []tokens.Problem
	modes := []struct{ plain, reuse, sized bool }{
		{true, false, false}, {false, false, false}, {true, true, false}, {false, true, false},
		{true, true, true}, {false, true, true}, {false, false, true},
	}
	for i, mode := range modes {
		opts := base
		opts.NoPipeline, opts.CSV.ReuseRecord = mode.plain, mode.reuse
		if mode.sized {
			opts.SizeHint = int64(len(data))
		}
		fileProblems, recs, err := readSnapshots(t, data, opts)
		if err != io.EOF {
			t.Fatalf("%s (plain=%v reuse=%v): reading ended with %v, want io.EOF", name, mode.plain, mode.reuse, err)
		}
		if i == 0 {
			want, wantFile = recs, fileProblems
			continue
		}
		if !slices.EqualFunc(fileProblems, wantFile, func(a, b tokens.Problem) bool { return a == b }) {
			t.Errorf("%s (plain=%v reuse=%v): file problems %v, want %v", name, mode.plain, mode.reuse, fileProblems, wantFile)
		}
		if len(recs) != len(want) {
			t.Fatalf("%s (plain=%v reuse=%v): %d records, want %d", name, mode.plain, mode.reuse, len(recs), len(want))
		}
		for j := range recs {
			if d := diffSnapshot(recs[j], want[j]); d != "" {
				t.Fatalf("%s (plain=%v reuse=%v): record %d (line %d): %s", name, mode.plain, mode.reuse, j, want[j].Line, d)
			}
		}
	}
	return want
}

func diffSnapshot(got, want snapshot) string {
	switch {
	case got.Line != want.Line:
		return fmt.Sprintf("line %d, want %d", got.Line, want.Line)
	case !slices.Equal(got.Fields, want.Fields):
		return "different fields"
	case !slices.Equal(got.Token.Secret, want.Token.Secret):
		return "different secret"
	}
	g, w := got.Token, want.Token
	g.Secret, w.Secret = nil, nil
	if fmt.Sprint(g) != fmt.Sprint(w) {
		return fmt.Sprintf("token %+v, want %+v", g, w)
	}
	if !slices.Equal(got.Problems, want.Problems) {
		return fmt.Sprintf("problems %v, want %v", got.Problems, want.Problems)
	}
	return ""
}

func TestPipelineConformanceCSV(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(conformancetest.Dir(t, "csv"), "*.csv"))
	if len(files) == 0 {
		t.Fatal("no CSV files in the conformance folder")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, strict := range []bool{false, true} {
			samePipelined(t, fmt.Sprintf("%s strict=%v", filepath.Base(name), strict), data,
				Options{Format: FormatCSV, Strict: strict, RequireUPN: true})
		}
	}
}

// injectedCSV is a generated file of rows rows with defects at lines chosen around batch
// boundaries (batches hold pipeBatch records, pipeBatches of them circulate).
func injectedCSV(t *testing.T, rows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := tokenstest.GenerateCSV(&buf, rows, 7); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	field := func(line, col int) string { return strings.Split(lines[line-1], ",")[col] }
	set := func(line, col int, v string) {
		f := strings.Split(lines[line-1], ",")
		f[col] = v
		lines[line-1] = strings.Join(f, ",")
	}
	set(700, 1, strings.ToLower(field(10, 1))+"x") // not a duplicate: a different serial
	set(701, 1, field(10, 1))                      // duplicate of line 10
	set(pipeBatch+1, 1, field(pipeBatch, 1))       // duplicate across a batch boundary
	set(2100, 2, field(3, 2))                      // reused secret
	set(3*pipeBatch+2, 2, field(pipeBatch*pipeBatches+5, 2))
	for line := 1500; line < 1506; line++ { // six tokens for one user
		set(line, 0, "Same.User@contoso.com")
	}
	set(1900, 0, "same.user@CONTOSO.com") // and a seventh, in another case
	for _, line := range []int{2, pipeBatch, pipeBatch + 1, pipeBatch + 2, 2 * pipeBatch, pipeBatch*pipeBatches + 1, rows, rows + 1} {
		set(line, 2, "1234567890abcdef1234567890abcdef") // hex
	}
	set(1200, 2, "ABCDEFGHI")   // impossible length
	set(1201, 2, "JBSWY3DP")    // short
	set(1202, 2, "abc!defghij") // not Base32
	set(1203, 2, "")
	set(1204, 3, "45")
	set(1205, 1, "1.23457E+06")
	set(1206, 0, "not-a-upn")
	lines[3000-1] = `x"y,1,2,3,4,5` // a bare quote
	lines[4096-1] += ",extra"
	lines[2500-1] = ""
	return []byte(strings.Join(lines, "\n") + "\n")
}

func TestPipelineInjectedErrors(t *testing.T) {
	const rows = 5000
	data := injectedCSV(t, rows)
	recs := samePipelined(t, "injected", data, Options{Format: FormatCSV})
	samePipelined(t, "injected strict", data, Options{Format: FormatCSV, Strict: true,
		Checker: tokens.CheckerOptions{ExistingMethods: func(upn string) int {
			if strings.HasPrefix(upn, "user00001") {
				return 5
			}
			return 0
		}}})

	// The defects were found where they were put, so the comparison above covers them.
	codes := map[int][]string{}
	for _, r := range recs {
		for _, p := range r.Problems {
			codes[p.Line] = append(codes[p.Line], p.Code)
		}
	}
	for line, want := range map[int]string{
		701: tokens.CodeSerialDuplicate, pipeBatch + 1: tokens.CodeSerialDuplicate,
		2100: tokens.CodeSecretReused, 1505: tokens.CodeUserLimit, 1900: tokens.CodeUserLimit,
		2: tokens.CodeSecretHex, rows + 1: tokens.CodeSecretHex, 1200: tokens.CodeSecretLength,
		1201: tokens.CodeSecretShort, 1202: tokens.CodeSecretBase32, 1203: tokens.CodeSecretEmpty,
		1204: tokens.CodeIntervalInvalid, 1205: tokens.CodeSerialExcel, 1206: tokens.CodeUPNInvalid,
		3000: tokens.CodeCSVQuote, 4096: tokens.CodeCSVColumns,
	} {
		if !slices.Contains(codes[line], want) {
			t.Errorf("line %d: codes %v, want %s among them", line, codes[line], want)
		}
	}
	if n := len(codes[1504]); n != 0 {
		t.Errorf("line 1504 (the user's fifth token): codes %v, want none", codes[1504])
	}
	if len(recs) != rows-1 { // the blank line is skipped
		t.Errorf("%d records, want %d", len(recs), rows-1)
	}
}

// A read error comes after every record read before it, and stays.
func TestPipelineReadError(t *testing.T) {
	var buf bytes.Buffer
	if err := tokenstest.GenerateCSV(&buf, 3000, 1); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()[:buf.Len()/2]
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	wantRows := bytes.Count(data, []byte("\n")) - 1
	boom := errors.New("boom")
	for _, plain := range []bool{true, false} {
		f, err := Open(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)),
			Options{Format: FormatCSV, NoPipeline: plain, CSV: tokens.CSVOptions{ReuseRecord: true}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err = f.Next()
			if err != nil {
				break
			}
			n++
		}
		if n != wantRows || !errors.Is(err, boom) {
			t.Errorf("plain=%v: %d records then %v, want %d then boom", plain, n, err, wantRows)
		}
		if _, err := f.Next(); plain == false && !errors.Is(err, boom) {
			t.Errorf("plain=%v: Next after the error: %v, want boom again", plain, err)
		}
		f.Close()
	}
}

// Close stops the reading goroutine of a file abandoned half way; Next then fails.
func TestPipelineClose(t *testing.T) {
	var buf bytes.Buffer
	if err := tokenstest.GenerateCSV(&buf, 20000, 1); err != nil {
		t.Fatal(err)
	}
	r := &countingReader{r: bytes.NewReader(buf.Bytes())}
	f, err := Open(r, Options{Format: FormatCSV, CSV: tokens.CSVOptions{ReuseRecord: true}})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := f.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	read := r.n
	if read >= int64(buf.Len()) {
		t.Errorf("read %d of %d bytes for 10 records: the pipeline read far ahead", read, buf.Len())
	}
	if _, err := f.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after Close: %v, want an error", err)
	}
	if r.n != read {
		t.Errorf("the reader was read after Close (%d bytes, then %d)", read, r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
