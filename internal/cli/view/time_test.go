package view

import (
	"testing"
	"time"
)

func TestTimeCells(t *testing.T) {
	if got := TimeJSON(time.Time{}); got != nil {
		t.Errorf("zero time = %q, want nil (JSON null)", *got)
	}
	s := TimeJSON(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)))
	if s == nil || *s != "2026-01-02T02:04:05Z" {
		t.Fatalf("got %v, want 2026-01-02T02:04:05Z", s)
	}
	if got := TimeCell(nil, true); got != "" {
		t.Errorf("never = %q, want empty", got)
	}
	if got := TimeCell(s, false); got != *s {
		t.Errorf("for programs %q, want RFC 3339", got)
	}
	if got, want := TimeCell(s, true), time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC).Local().Format("2006-01-02 15:04"); got != want {
		t.Errorf("for people %q, want %q", got, want)
	}
}
