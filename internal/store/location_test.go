package store

import (
	"errors"
	"testing"
)

// TestParseLocation: a value with a URL scheme is never a file name; a Windows drive is.
func TestParseLocation(t *testing.T) {
	for _, tt := range []struct {
		in   string
		kind Kind
		str  string
	}{
		{"mfactl.db", KindSQLite, "mfactl.db"},
		{"", KindSQLite, ""},
		{`C:\data\mfactl.db`, KindSQLite, `C:\data\mfactl.db`},
		{"C:/data/mfactl.db", KindSQLite, "C:/data/mfactl.db"},
		{"dir/postgres://x", KindSQLite, "dir/postgres://x"},
		{"postgres://x", KindPostgres, "postgres://x"},
		{"PostgreSQL://u:secret@h:5432/db?sslmode=verify-full", KindPostgres, "postgresql://u@h:5432/db?sslmode=verify-full"},
		{"entra://contoso.com", KindEntra, "entra://contoso.com"},
	} {
		loc, err := ParseLocation(tt.in)
		if err != nil || loc.Kind != tt.kind || loc.String() != tt.str {
			t.Errorf("ParseLocation(%q) = %v %q, %v; want %v %q", tt.in, loc.Kind, loc.String(), err, tt.kind, tt.str)
		}
	}
	for _, in := range []string{"x://y", "file:///tmp/x.db", "mysql+tcp://u:p@h/db", "c://data/mfactl.db"} {
		_, err := ParseLocation(in)
		var se *SchemeError
		if !errors.As(err, &se) {
			t.Errorf("ParseLocation(%q): %v, want a SchemeError", in, err)
		}
	}
	_, err := ParseLocation("x://y")
	if want := `unsupported scheme "x://": want a file path (SQLite) or a URL starting postgres://, postgresql://, entra://`; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
