package reportcmd

import (
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/report"
)

func TestDayBars(t *testing.T) {
	groups := []report.Group{
		{Group: "2026-11-16", Success: 30, Denied: 10, Total: 40},
		{Group: "2026-11-17", Success: 1000, Denied: 0, Total: 1000},
		{Group: "2026-11-18", Success: 0, Denied: 1, Total: 1},
		{Group: "2026-11-19", Total: 3}, // neither success nor denied
	}
	got := dayBars(groups, false)
	want := []string{
		"█", // 30 of 1000 at 40 columns is 1.2 blocks; the one denial is still shown
		strings.Repeat("█", 40),
		"░",
		"",
	}
	want[0] += "░"
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bar %d: %q, want %q", i, got[i], want[i])
		}
	}
	colored := dayBars(groups, true)
	if want := "\x1b[32m█\x1b[0m\x1b[31m█\x1b[0m"; colored[0] != want {
		t.Errorf("colour bar %q, want %q", colored[0], want)
	}
}
