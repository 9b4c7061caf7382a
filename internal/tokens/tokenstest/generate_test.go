package tokenstest

import (
	"bytes"
	"strings"
	"testing"
)

func TestGenerateCSV(t *testing.T) {
	var a, b bytes.Buffer
	if err := GenerateCSV(&a, 10, 7); err != nil {
		t.Fatal(err)
	}
	if err := GenerateCSV(&b, 10, 7); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("same seed gave different files")
	}
	lines := strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n")
	if len(lines) != 11 || lines[0]+"\n" != Header {
		t.Fatalf("got %d lines, header %q", len(lines), lines[0])
	}
	f := strings.Split(lines[10], ",")
	if len(f) != 6 || f[0] != "user0000010@contoso.com" || f[1] != "10000010" || len(f[2]) != 32 || f[3] != "60" ||
		f[4] != "Contoso" || f[5] != "HardwareKey" {
		t.Errorf("row 10 = %q", f)
	}
	var c bytes.Buffer
	if err := GenerateCSV(&c, 10, 8); err != nil {
		t.Fatal(err)
	}
	if c.String() == a.String() {
		t.Error("different seeds gave the same file")
	}
}
