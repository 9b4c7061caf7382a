package tokencmd

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/iostreams"
)

// The report names every row in file order across many batches of the store, the rows the
// file rules rejected among them, however far they are from the batch boundaries.
func TestImportReportEveryRowInOrder(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("upn,serial number,secret key,time interval,manufacturer,model\n")
	const n = 3000
	for i := range n {
		interval := 30
		if i%97 == 0 {
			interval = 45 // rejected by the file rules
		}
		fmt.Fprintf(&b, "user%d@contoso.com,SN%06d,%s,%d,Contoso,HardwareKey\n", i%1000, i, secretFor(i), interval)
	}
	src := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(src, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "out.csv")
	ios, _, _, errOut := iostreams.Test()
	err := runImport(t, context.Background(), ios, dir, false, "--skip-invalid", "--report", report, src)
	if err == nil {
		t.Fatal("want the partial import's error (exit 3)")
	}
	if !strings.Contains(errOut.String(), fmt.Sprintf("mfactl: wrote the outcome of %d rows to %s\n", n, report)) {
		t.Errorf("stderr: %s", errOut)
	}
	f, err := os.Open(report)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n+1 {
		t.Fatalf("%d lines, want %d", len(recs), n+1)
	}
	for i, rec := range recs[1:] {
		want := []string{fmt.Sprint(i + 2), fmt.Sprintf("SN%06d", i), fmt.Sprintf("user%d@contoso.com", i%1000), "created", ""}
		if i%97 == 0 {
			want[3], want[4] = "rejected", "interval.invalid"
		}
		if strings.Join(rec, ",") != strings.Join(want, ",") {
			t.Fatalf("row %d: %q, want %q", i, rec, want)
		}
	}
}

// An interrupted import writes no report, and removes the one an earlier run left, which
// would pass for this run's; no temporary file is left behind.
func TestImportReportInterrupted(t *testing.T) {
	dir := t.TempDir()
	src := writeTokens(t, dir, 3000)
	report := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(report, []byte("line,serial number,upn,outcome,detail\n2,SN000000,user0@contoso.com,created,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := importProgressDelay
	importProgressDelay = 0
	t.Cleanup(func() { importProgressDelay = old })
	ctx, cancel := context.WithCancel(context.Background())
	ios, _, _, errOut := iostreams.Test()
	ios.SetTTY(false, false, true)
	ios.ErrOut = cancelOnWrite{ios.ErrOut, cancel}
	err := runImport(t, ctx, ios, dir, false, "--report", report, src)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if want := "mfactl: no report: the import was interrupted; removed the earlier " + report + "\n"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q, want it to hold %q", errOut, want)
	}
	if _, err := os.Stat(report); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the earlier report is still there: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".out.csv") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}
