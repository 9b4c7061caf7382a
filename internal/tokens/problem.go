package tokens

import "fmt"

// Severity says whether a Problem makes a file invalid.
type Severity string

// The two severities. Warnings become errors under --strict.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is one finding about a token file: where it is, how bad it is and a stable code
// (SPEC section 5). Messages never contain secret material.
type Problem struct {
	Line     int      `json:"line"`
	Column   string   `json:"column,omitempty"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	// Package and Serial are set for PSKC files: the 1-based KeyPackage number and its serial.
	Package int    `json:"package,omitempty"`
	Serial  string `json:"serial,omitempty"`
}

// IsError reports whether p is an error (as opposed to a warning).
func (p Problem) IsError() bool { return p.Severity == SeverityError }

// String formats p like a compiler diagnostic without the file name: "12: secret key: message".
func (p Problem) String() string {
	s := ""
	if p.Line > 0 {
		s = fmt.Sprintf("%d: ", p.Line)
	}
	if p.Column != "" {
		s += p.Column + ": "
	}
	return s + p.Message + " [" + p.Code + "]"
}
