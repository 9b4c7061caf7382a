package tokens

import (
	"fmt"
	"strconv"
	"strings"
)

// Severity says whether a Problem makes a file invalid.
type Severity string

// The two severities. Warnings become errors under --strict.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is one finding about a token file: where it is, how bad it is and a stable code
// (docs/formats.md lists them). Messages never contain secret material.
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

// Diagnostic formats p as one line like a compiler diagnostic about file, the form every
// command that reads a file prints its problems in (validate, convert, import):
//
//	tokens.csv:12: error: secret key: looks like hex, not Base32 [secret.hex]
//	seeds.pskc:14: error: key package 3 (serial 1234): digits: ... [digits.unsupported]
func (p Problem) Diagnostic(file string) string {
	loc := file
	if p.Line > 0 {
		loc = file + ":" + strconv.Itoa(p.Line)
	}
	return loc + ": " + string(p.Severity) + ": " + p.text() + " [" + p.Code + "]"
}

// Annotation formats p as a GitHub Actions workflow command about file, which the Actions
// runner turns into an annotation on the file's line:
//
//	::error file=tokens.csv,line=12::secret.hex: secret key: looks like hex, not Base32
func (p Problem) Annotation(file string) string {
	props := "file=" + propertyEscaper.Replace(file)
	if p.Line > 0 {
		props += ",line=" + strconv.Itoa(p.Line)
	}
	return "::" + string(p.Severity) + " " + props + "::" + dataEscaper.Replace(p.Code+": "+p.text())
}

// The escapes of workflow commands: a message must not end the command early, a property
// value must not start another property.
var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// text is the message prefixed with where it is: the PSKC key package and the column.
func (p Problem) text() string {
	where := ""
	if p.Package > 0 {
		where = "key package " + strconv.Itoa(p.Package)
		if p.Serial != "" {
			where += " (serial " + p.Serial + ")"
		}
		where += ": "
	}
	if p.Column != "" {
		where += p.Column + ": "
	}
	return where + p.Message
}
