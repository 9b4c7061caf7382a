package store

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Kind is the backend a directory location names.
type Kind int

// The backends a location can name. Only SQLite is implemented by Open; the others are
// recognised so that a URL is never taken for a file name.
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
	return redactURL(l.URL)
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
		return Location{Kind: KindSQLite, Path: s}, nil
	}
	switch strings.ToLower(m[1]) {
	case "postgres", "postgresql":
		return Location{Kind: KindPostgres, URL: s}, nil
	case "entra":
		return Location{Kind: KindEntra, URL: s}, nil
	}
	return Location{}, &SchemeError{Scheme: m[1]}
}

// redactURL hides the password of a URL; a value that does not parse is reduced to its
// scheme, since it might hold one in a form url.Parse does not recognise.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if m := schemeRE.FindString(s); m != "" {
			return m + "..."
		}
		return "..."
	}
	return u.Redacted()
}
