package tokens

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/conformancetest"
)

var conformanceDir = conformancetest.Path("csv")

type conformanceCase struct {
	File     string   `json:"file"`
	Args     []string `json:"args"`
	Valid    bool     `json:"valid"`
	Problems []struct {
		Line int    `json:"line"`
		Code string `json:"code"`
	} `json:"problems"`
}

func loadConformance(t testing.TB) []conformanceCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(conformancetest.Dir(t, "csv"), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []conformanceCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("cases.json holds no case")
	}
	return cases
}

// caseOptions turns the CLI flags of a case into reader options.
func caseOptions(t testing.TB, args []string) (CSVOptions, bool) {
	t.Helper()
	var opts CSVOptions
	strict := false
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--strict":
			strict = true
		case "--delimiter":
			i++
			d, err := ParseDelimiter(args[i])
			if err != nil {
				t.Fatal(err)
			}
			opts.Delimiter = d
		case "--secret-encoding":
			i++
			opts.SecretEncoding = args[i]
		default:
			t.Fatalf("unknown flag %q in cases.json", args[i])
		}
	}
	return opts, strict
}

// validateAll reads a whole file the way `tokens validate` does: header problems, then every
// row through the per-row rules and one Checker. It returns the problems, the records and
// the number of rows.
func validateAll(t testing.TB, r io.Reader, opts CSVOptions) ([]Problem, []*Record) {
	t.Helper()
	cr, err := NewCSVReader(r, opts)
	if err != nil {
		t.Fatalf("NewCSVReader: %v", err)
	}
	ps := cr.HeaderProblems()
	var recs []*Record
	ch := NewChecker(CheckerOptions{})
	for {
		rec, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		ch.Check(rec)
		ps = append(ps, rec.Problems...)
		recs = append(recs, rec)
	}
	return ps, recs
}

func fileValid(ps []Problem, strict bool) bool {
	for _, p := range ps {
		if p.IsError() || strict {
			return false
		}
	}
	return true
}

func TestConformanceCSV(t *testing.T) {
	for _, c := range loadConformance(t) {
		t.Run(c.File, func(t *testing.T) {
			f, err := os.Open(filepath.Join(conformanceDir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			opts, strict := caseOptions(t, c.Args)
			ps, _ := validateAll(t, f, opts)
			if got := fileValid(ps, strict); got != c.Valid {
				t.Errorf("valid = %v, want %v; problems:\n%s", got, c.Valid, problemList(ps))
			}
			for _, want := range c.Problems {
				found := false
				for _, p := range ps {
					found = found || (p.Line == want.Line && p.Code == want.Code)
				}
				if !found {
					t.Errorf("missing problem %s at line %d; got:\n%s", want.Code, want.Line, problemList(ps))
				}
			}
			if c.Valid && !strict {
				// A valid file may carry warnings, but only those the case lists.
				for _, p := range ps {
					listed := false
					for _, want := range c.Problems {
						listed = listed || (p.Line == want.Line && p.Code == want.Code)
					}
					if !listed {
						t.Errorf("unexpected problem in a valid file: %s", p)
					}
				}
			}
		})
	}
}

// TestConformanceNoSecretInMessages checks, for every conformance file, that no problem
// message contains the secret field (raw or normalised) of any row.
func TestConformanceNoSecretInMessages(t *testing.T) {
	for _, c := range loadConformance(t) {
		t.Run(c.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(conformanceDir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			opts, _ := caseOptions(t, c.Args)
			for _, o := range []CSVOptions{opts, {Delimiter: opts.Delimiter}, {Delimiter: opts.Delimiter, SecretEncoding: EncodingHex}} {
				cr, err := NewCSVReader(strings.NewReader(string(data)), o)
				if err != nil {
					t.Fatal(err)
				}
				ps, recs := validateAll(t, strings.NewReader(string(data)), o)
				col := -1
				for i, h := range cr.Header() {
					if headerKey(h) == "secretkey" {
						col = i
					}
				}
				if col < 0 {
					continue
				}
				for _, rec := range recs {
					if col >= len(rec.Fields) {
						continue
					}
					for _, s := range []string{rec.Fields[col], NormalizeBase32(rec.Fields[col])} {
						if len(s) < 8 {
							continue
						}
						for _, p := range ps {
							if strings.Contains(p.Message, s) || strings.Contains(strings.ToUpper(p.Message), strings.ToUpper(s)) {
								t.Errorf("message %q contains the secret of line %d", p.Message, rec.Line)
							}
						}
					}
				}
			}
		})
	}
}

func problemList(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + " (" + string(p.Severity) + ")\n")
	}
	return b.String()
}
