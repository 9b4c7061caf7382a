package report

import (
	"errors"
	"testing"
	"time"
)

var now = time.Date(2026, time.November, 22, 14, 30, 0, 0, time.UTC)

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"30d", 30 * 24 * time.Hour, ""},
		{"12h", 12 * time.Hour, ""},
		{"1w", 7 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"45s", 45 * time.Second, ""},
		{"0d", 0, ""},
		{"", 0, "empty duration"},
		{"30", 0, `"30": want whole numbers with a unit (s, m, h, d, w), like 30d or 1d12h`},
		{"d", 0, `"d": want whole numbers with a unit (s, m, h, d, w), like 30d or 1d12h`},
		{"1.5h", 0, `"1.5h": unknown unit '.' (want s, m, h, d or w)`},
		{"3y", 0, `"3y": unknown unit 'y' (want s, m, h, d or w)`},
		{"-1d", 0, `"-1d": want whole numbers with a unit (s, m, h, d, w), like 30d or 1d12h`},
		{"1d ", 0, `"1d ": want whole numbers with a unit (s, m, h, d, w), like 30d or 1d12h`},
		{"99999999999999999w", 0, `"99999999999999999w": too long`},
		{"15000w15000w", 0, `"15000w15000w": too long`},
	}
	for _, tt := range tests {
		got, err := ParseAge(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseAge(%q) error %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"30d", now.AddDate(0, 0, -30)},
		{"12h", now.Add(-12 * time.Hour)},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T08:00:00Z", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)},
		{"2026-11-01T09:00:00+01:00", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, now)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"yesterday", "2026-13-01", "2026-11-01 08:00", "-30d"} {
		_, err := ParseTime(bad, now)
		want := `"` + bad + `" is neither an RFC 3339 date or time (2026-11-01, 2026-11-01T08:00:00Z) nor an age like 30d or 12h`
		if err == nil || err.Error() != want {
			t.Errorf("ParseTime(%q) error %v", bad, err)
		}
	}
}

func TestParseWindow(t *testing.T) {
	w, err := ParseWindow("7d", "2026-11-20", now)
	if err != nil || !w.Since.Equal(now.AddDate(0, 0, -7)) || !w.Until.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("window %+v, %v", w, err)
	}
	if w, err := ParseWindow("", "", now); err != nil || !w.Since.IsZero() || !w.Until.IsZero() {
		t.Errorf("open window %+v, %v", w, err)
	}
	// A window in the future is empty, not an error.
	if _, err := ParseWindow("2030-01-01", "", now); err != nil {
		t.Errorf("future window: %v", err)
	}
	for _, tt := range []struct{ since, until, err string }{
		{"1d", "7d", "--since: 2026-11-21T14:30:00Z is after --until 2026-11-15T14:30:00Z"},
		{"soon", "", `--since: "soon" is neither an RFC 3339 date or time (2026-11-01, 2026-11-01T08:00:00Z) nor an age like 30d or 12h`},
		{"", "30x", `--until: "30x" is neither an RFC 3339 date or time (2026-11-01, 2026-11-01T08:00:00Z) nor an age like 30d or 12h`},
	} {
		_, err := ParseWindow(tt.since, tt.until, now)
		if err == nil || err.Error() != tt.err || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseWindow(%q, %q) error %v, want %s (ErrInvalid)", tt.since, tt.until, err, tt.err)
		}
	}
}
