package auth

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestResultCodesDocumented keeps docs/auth-events.md in step with Codes: every code has a row
// of the table, and the table names no code that does not exist.
func TestResultCodesDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/auth-events.md")
	if errors.Is(err, os.ErrNotExist) {
		t.Fatal("docs/auth-events.md is missing")
	}
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			c := strings.Trim(strings.TrimSpace(cells[1]), "`")
			if strings.HasPrefix(c, "SUCCESS_") || strings.HasPrefix(c, "FAILED_") {
				documented[c] = true
			}
		}
	}
	known := map[string]bool{}
	for _, c := range Codes {
		known[c] = true
		if !documented[c] {
			t.Errorf("result code %s has no row in docs/auth-events.md", c)
		}
	}
	for c := range documented {
		if !known[c] {
			t.Errorf("docs/auth-events.md documents %s, which mfactl does not produce", c)
		}
	}
}
