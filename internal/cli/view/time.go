// Package view holds the shapes in which commands show directory records:
// the JSON view structs, the table and CSV header and cells of each, and the time helpers they
// share, so that every command that prints a token or a user prints it the same way.
package view

import "time"

// TimeJSON is t in RFC 3339 UTC, or nil (JSON null) for the zero time ("never").
func TimeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := RFC3339(t)
	return &s
}

// RFC3339 is a time that is always set (an event's) in JSON: RFC 3339 UTC.
func RFC3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TimeCell formats a JSON time (TimeJSON) for a table or CSV cell: empty for never, RFC 3339
// UTC for programs and files, and a shorter local time for a person at a terminal (human).
func TimeCell(s *string, human bool) string {
	if s == nil {
		return ""
	}
	if !human {
		return *s
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return *s
	}
	return t.Local().Format("2006-01-02 15:04")
}

// TimeCells is TimeCell for the cells methods of the views, which take the time format as a
// function so that a report can print its own.
func TimeCells(human bool) func(*string) string {
	return func(s *string) string { return TimeCell(s, human) }
}
