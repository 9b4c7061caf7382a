package tokens

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/mfactl/mfactl/internal/tokens/tokenstest"
)

// The validate target of docs/performance.md: validating a million-row CSV stays within 3x of
// only reading it and Base32-decoding the secrets. Run both with
//
//	go test -run '^$' -bench 1M -benchtime 3x ./internal/tokens
//
// The file is generated once into the temporary directory by tokenstest.CachedCSV.

const benchRows = 1_000_000

// BenchmarkReadDecodeBaseline1M is the floor: encoding/csv with a reused record, decoding
// the secret column into a reused buffer, nothing else.
func BenchmarkReadDecodeBaseline1M(b *testing.B) {
	path := tokenstest.CachedCSV(b, benchRows, 1)
	b.SetBytes(fileSize(b, path))
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
		r.ReuseRecord = true
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
		var buf [128]byte
		rows := 0
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rawBase32.Decode(buf[:], []byte(rec[2])); err != nil {
				b.Fatal(err)
			}
			rows++
		}
		f.Close()
		if rows != benchRows {
			b.Fatalf("read %d rows", rows)
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkValidate1M is `tokens validate` without the rendering: the reader with every
// per-row rule and the Checker with the cross-row rules.
func BenchmarkValidate1M(b *testing.B) {
	path := tokenstest.CachedCSV(b, benchRows, 1)
	b.SetBytes(fileSize(b, path))
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rows, problems, err := validateFile(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if rows != benchRows || problems != 0 {
			b.Fatalf("rows %d, problems %d", rows, problems)
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func validateFile(r io.Reader) (rows, problems int, err error) {
	cr, err := NewCSVReader(r, CSVOptions{ReuseRecord: true})
	if err != nil {
		return 0, 0, err
	}
	problems = len(cr.HeaderProblems())
	ch := NewChecker(CheckerOptions{})
	for {
		rec, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return rows, problems, nil
		}
		if err != nil {
			return rows, problems, err
		}
		ch.Check(rec)
		rows++
		problems += len(rec.Problems)
	}
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}
