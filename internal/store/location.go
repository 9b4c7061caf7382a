package store

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Kind is the backend a directory location names.
type Kind int

// The backends a location can name: SQLite (Open), PostgreSQL (OpenPostgres) and Entra ID,
// which is recognised so that its URL is never taken for a file name.
const (
	KindSQLite Kind = iota
	KindPostgres
	KindEntra
)

func (k Kind) String() string {
	switch k {
	case KindPostgres:
		return "PostgreSQL"
	case KindEntra:
		return "Microsoft Entra ID"
	}
	return "SQLite"
}

// Location is where a directory lives: a SQLite file (Path, empty for the default file) or a
// URL of another backend (URL, as given).
type Location struct {
	Kind Kind
	Path string
	URL  string
}

// String names the location for messages, with any password in a URL replaced by "xxxxx".
func (l Location) String() string {
	if l.Kind == KindSQLite {
		return l.Path
	}
	return RedactURL(l.URL)
}

// schemeRE matches the start of a URL. A Windows path (C:\x, C:/x) has a single slash
// or a backslash after the colon and stays a path.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// SupportedSchemes are the URL schemes a location may use, for messages.
var SupportedSchemes = []string{"postgres://", "postgresql://", "entra://"}

// SchemeError reports a location whose URL scheme no backend handles.
type SchemeError struct {
	Scheme string
}

func (e *SchemeError) Error() string {
	return fmt.Sprintf("unsupported scheme %q: want a file path (SQLite) or a URL starting %s",
		e.Scheme+"://", strings.Join(SupportedSchemes, ", "))
}

// ParseLocation tells a directory location's backend: a value starting with a URL scheme
// ("postgres://...") is never a file name, anything else is a SQLite file. This is the one
// place that decides it, so that every backend is chosen the same way.
func ParseLocation(s string) (Location, error) {
	m := schemeRE.FindStringSubmatch(s)
	if m == nil {
		if libpqKeywordRE.MatchString(s) {
			return postgresLocation(s)
		}
		return Location{Kind: KindSQLite, Path: s}, nil
	}
	switch strings.ToLower(m[1]) {
	case "postgres", "postgresql":
		return postgresLocation(s)
	case "entra":
		return Location{Kind: KindEntra, URL: s}, nil
	}
	return Location{}, &SchemeError{Scheme: m[1]}
}

// libpqKeywordRE recognises a libpq keyword/value connection string ("host=db dbname=mfa"):
// it starts with one of the connection keywords a file name would hardly start with.
var libpqKeywordRE = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|sslrootcert|connect_timeout|application_name|options|target_session_attrs)\s*=`)

// URLError reports a PostgreSQL location that does not parse. It names the location without
// its password, and so does its message.
type URLError struct {
	Location string // redacted
	Err      string // redacted
}

func (e *URLError) Error() string {
	return fmt.Sprintf("%s is not a valid PostgreSQL connection URL or keyword string: %s", e.Location, e.Err)
}

// postgresLocation checks a PostgreSQL URL or keyword string as the driver will read it, so that
// a malformed one is a usage error before anything is opened.
func postgresLocation(s string) (Location, error) {
	if _, err := pgx.ParseConfig(s); err != nil {
		return Location{}, &URLError{Location: RedactURL(s), Err: redactErr(err, s)}
	}
	return Location{Kind: KindPostgres, URL: s}, nil
}
