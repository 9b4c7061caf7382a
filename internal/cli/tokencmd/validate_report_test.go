package tokencmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/tokens"
)

// The streamed JSON report is byte for byte what render.JSON prints for the whole report,
// whether a file's problems are in memory or spilled to a temporary file.
func TestJSONReportMatchesRender(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	problems := []tokens.Problem{
		{Line: 2, Column: "secret key", Severity: tokens.SeverityError, Code: "secret.hex", Message: `looks like hex <&> "quoted"`},
		{Line: 3, Severity: tokens.SeverityWarning, Code: "pskc.hash-defaulted", Message: "no hash", Package: 1, Serial: "SN<1>"},
		{Line: 4, Column: "time interval", Severity: tokens.SeverityError, Code: "interval.invalid", Message: "45 is not 30 or 60"},
	}
	for _, limit := range []int{0, 1} {
		var streamed bytes.Buffer
		js := &jsonReport{w: &streamed}
		var whole struct {
			Files []*fileReport `json:"files"`
			Valid bool          `json:"valid"`
		}
		whole.Valid = true
		for i, n := range []int{0, 3, 1} {
			fr := &fileReport{File: fmt.Sprintf("f%d.csv", i), Format: "csv", Rows: 10 + i, Valid: true}
			fr.log.limit = limit
			for _, p := range problems[:n] {
				fr.add(p)
			}
			if err := js.file(fr); err != nil {
				t.Fatal(err)
			}
			fr.log.close()
			copy := *fr
			copy.Problems = append([]tokens.Problem{}, problems[:n]...)
			whole.Files = append(whole.Files, &copy)
			whole.Valid = whole.Valid && fr.Valid
		}
		if err := js.end(whole.Valid); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := render.JSON(&want, whole); err != nil {
			t.Fatal(err)
		}
		if streamed.String() != want.String() {
			t.Errorf("limit %d: streamed\n%s\nwant\n%s", limit, streamed.String(), want.String())
		}
		if left, _ := os.ReadDir(os.Getenv("TMPDIR")); len(left) != 0 {
			t.Errorf("limit %d: temporary files left: %v", limit, left)
		}
	}
}

// A file with more problems than validate keeps in memory gets every one of them, in line
// order, in every output format, and the temporary file is gone afterwards.
func TestValidateReportsEveryProblemOfAHugeFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	rows := problemsInMemory + 50
	var b strings.Builder
	b.WriteString("upn,serial number,secret key,time interval,manufacturer,model\n")
	for i := range rows {
		fmt.Fprintf(&b, "user%d@contoso.com,SN%06d,%s,45,Contoso,HardwareKey\n", i, i, secretFor(i))
	}
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(format string) string {
		ios, _, out, _ := iostreams.Test()
		f := cmdutil.NewFactory(ios, func(string) string { return "" })
		defer f.Close()
		f.Output = format
		cmd := newValidateCmd(f, nil)
		cmd.SetArgs([]string{path})
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.ExecuteContext(context.Background()); err != cmdutil.ErrSilent {
			t.Fatalf("-o %s: got %v, want the silent failure of an invalid file", format, err)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("-o %s: temporary files left: %v", format, left)
		}
		return out.String()
	}

	text := strings.Split(strings.TrimSuffix(run("text"), "\n"), "\n")
	if len(text) != rows+1 {
		t.Fatalf("text: %d lines, want %d", len(text), rows+1)
	}
	for i, line := range text[:rows] {
		if want := fmt.Sprintf("%s:%d: error: time interval: ", path, i+2); !strings.HasPrefix(line, want) || !strings.HasSuffix(line, "[interval.invalid]") {
			t.Fatalf("text line %d: %q, want %q...[interval.invalid]", i+1, line, want)
		}
	}
	if want := fmt.Sprintf("%s: invalid: %d rows, %d errors, 0 warnings", path, rows, rows); text[rows] != want {
		t.Errorf("text summary %q, want %q", text[rows], want)
	}

	var report struct {
		Files []struct {
			Rows, Errors int
			Problems     []tokens.Problem
		}
		Valid *bool
	}
	if err := json.Unmarshal([]byte(run("json")), &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Files) != 1 || report.Valid == nil || *report.Valid {
		t.Fatalf("json: %+v", report)
	}
	fr := report.Files[0]
	if fr.Rows != rows || fr.Errors != rows || len(fr.Problems) != rows {
		t.Fatalf("json: rows %d, errors %d, problems %d; want %d each", fr.Rows, fr.Errors, len(fr.Problems), rows)
	}
	for i, p := range fr.Problems {
		if p.Line != i+2 || p.Code != "interval.invalid" || p.Column != "time interval" {
			t.Fatalf("json problem %d: %+v", i, p)
		}
	}

	if gh := strings.Count(run("github"), "::error file="); gh != rows {
		t.Errorf("github: %d annotations, want %d", gh, rows)
	}
}
