package report

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Window is a time range of events: Since inclusive, Until exclusive; a zero bound is open.
type Window struct {
	Since, Until time.Time
}

// ErrInvalid marks a bad report parameter (a time, a duration, a filter value); the CLI turns
// it into a usage error.
var ErrInvalid = errors.New("invalid report parameter")

// InvalidError says which parameter is wrong and why.
type InvalidError struct {
	Param string // e.g. "--since"
	Msg   string
}

func (e *InvalidError) Error() string { return e.Param + ": " + e.Msg }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(param, format string, args ...any) error {
	return &InvalidError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// ParseWindow reads the --since and --until values (either may be empty: open) relative to now;
// see ParseTime. Since after Until is an error; an empty window (for example in the future) is
// not.
func ParseWindow(since, until string, now time.Time) (Window, error) {
	var w Window
	var err error
	if since != "" {
		if w.Since, err = ParseTime(since, now); err != nil {
			return Window{}, &InvalidError{Param: "--since", Msg: err.Error()}
		}
	}
	if until != "" {
		if w.Until, err = ParseTime(until, now); err != nil {
			return Window{}, &InvalidError{Param: "--until", Msg: err.Error()}
		}
	}
	if !w.Since.IsZero() && !w.Until.IsZero() && w.Since.After(w.Until) {
		return Window{}, invalid("--since", "%s is after --until %s", w.Since.Format(time.RFC3339), w.Until.Format(time.RFC3339))
	}
	return w, nil
}

// ParseTime reads a point in time: an RFC 3339 date and time ("2026-11-01T08:00:00Z",
// "2026-11-01T09:00:00+01:00"), an RFC 3339 date ("2026-11-01", midnight UTC), or an age
// before now ("30d", "12h", "1w", "1d12h"; see ParseAge). The result is in UTC.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := ParseAge(s); err == nil {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 date or time (2026-11-01, 2026-11-01T08:00:00Z) nor an age like 30d or 12h", s)
}

// ageUnits are the units of ParseAge.
var ageUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
}

// ParseAge reads a duration written as whole numbers with units: s (seconds), m (minutes),
// h (hours), d (days of 24 hours), w (weeks), combined as in "1d12h". Go's time.ParseDuration
// has no days, which is what people mean by "30d".
func ParseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var total time.Duration
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || j == len(s) {
			return 0, fmt.Errorf("%q: want whole numbers with a unit (s, m, h, d, w), like 30d or 1d12h", s)
		}
		unit, ok := ageUnits[s[j]]
		if !ok {
			return 0, fmt.Errorf("%q: unknown unit %q (want s, m, h, d or w)", s, s[j])
		}
		var n int64
		for _, c := range s[i:j] {
			n = n*10 + int64(c-'0')
			if n > math.MaxInt64/int64(unit) {
				return 0, fmt.Errorf("%q: too long", s)
			}
		}
		d := time.Duration(n) * unit
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("%q: too long", s)
		}
		total += d
		i = j + 1
	}
	return total, nil
}
