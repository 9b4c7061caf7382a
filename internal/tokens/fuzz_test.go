package tokens

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCSVReader feeds arbitrary bytes to the reader and the checker. Whatever the input, it
// must not panic or fail, lines are positive and never go backwards, messages are one line,
// and no message contains a row's secret field.
func FuzzCSVReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(conformanceDir, "*.csv"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
	}
	f.Add([]byte(hdr+row("a@contoso.com", "1", sec1, "30")), uint8(1))
	f.Add([]byte("sep=;\n"+strings.ReplaceAll(hdr, ",", ";")), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		opts := CSVOptions{Delimiter: []rune{0, ';', '\t', '|'}[mode%4]}
		if mode&4 != 0 {
			opts.SecretEncoding = EncodingHex
		}
		cr, err := NewCSVReader(strings.NewReader(string(data)), opts)
		if err != nil {
			t.Fatalf("NewCSVReader: %v", err)
		}
		ps := cr.HeaderProblems()
		secretCol := -1
		for i, h := range cr.Header() {
			if headerKey(h) == "secretkey" {
				secretCol = i
			}
		}
		ch := NewChecker(CheckerOptions{})
		var secrets []string
		others := map[string]bool{} // every non-secret field: a message may legitimately name one
		last := 0
		for {
			rec, err := cr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if rec.Line <= 0 || rec.Line < last {
				t.Fatalf("record line %d after %d", rec.Line, last)
			}
			last = rec.Line
			ch.Check(rec)
			for i, fld := range rec.Fields {
				if i == secretCol {
					secrets = append(secrets, strings.TrimSpace(fld), NormalizeBase32(fld))
				} else {
					others[strings.TrimSpace(fld)] = true
				}
			}
			for _, p := range rec.Problems {
				if p.Line != rec.Line {
					t.Fatalf("problem line %d in record of line %d", p.Line, rec.Line)
				}
			}
			ps = append(ps, rec.Problems...)
		}
		for _, p := range ps {
			if p.Line <= 0 {
				t.Errorf("problem %s has line %d", p.Code, p.Line)
			}
			if p.Code == "" || p.Message == "" || strings.ContainsAny(p.Message, "\r\n") {
				t.Errorf("malformed problem %+v", p)
			}
			for _, s := range secrets {
				// Short strings occur in any text by chance, and a value that is also a
				// serial may be named as one.
				if len(s) >= 16 && !others[s] && strings.Contains(p.Message, s) {
					t.Errorf("message %q contains a secret field", p.Message)
				}
			}
		}
	})
}
