package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mfactl/mfactl/internal/cli"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/conformancetest"
	"github.com/mfactl/mfactl/internal/iostreams"
)

// TestCSVConformance runs every case of ../shared/conformance/csv/cases.json through the CLI
// (`mfactl tokens validate -o json` with the case's flags) and checks the exit code and that
// every expected problem is reported at its line with its code.
func TestCSVConformance(t *testing.T) {
	dir := conformancetest.Dir(t, "csv")
	data, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		File     string   `json:"file"`
		Args     []string `json:"args"`
		Valid    bool     `json:"valid"`
		Problems []struct {
			Line int    `json:"line"`
			Code string `json:"code"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			f := cmdutil.NewFactory(ios, func(string) string { return "" })
			args := append([]string{"tokens", "validate", "-o", "json"}, c.Args...)
			code := cli.Run(context.Background(), f, append(args, filepath.Join(dir, c.File)))
			want := 0
			if !c.Valid {
				want = 1
			}
			if code != want {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, want, out, errOut)
			}
			var report struct {
				Valid bool `json:"valid"`
				Files []struct {
					Problems []struct {
						Line     int    `json:"line"`
						Code     string `json:"code"`
						Severity string `json:"severity"`
					} `json:"problems"`
				} `json:"files"`
			}
			if err := json.Unmarshal(out.Bytes(), &report); err != nil {
				t.Fatalf("bad JSON %q: %v", out, err)
			}
			if report.Valid != c.Valid || len(report.Files) != 1 {
				t.Fatalf("valid=%v files=%d, want valid=%v and 1 file", report.Valid, len(report.Files), c.Valid)
			}
			for _, p := range c.Problems {
				found := false
				for _, got := range report.Files[0].Problems {
					found = found || (got.Line == p.Line && got.Code == p.Code)
				}
				if !found {
					t.Errorf("missing problem %s at line %d; got %+v", p.Code, p.Line, report.Files[0].Problems)
				}
			}
		})
	}
}
