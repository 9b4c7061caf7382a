package tokens

import "testing"

// Every command prints a problem in these two forms; their bytes are part of the interface
// (scripts grep them, GitHub turns the second into annotations).
func TestProblemFormats(t *testing.T) {
	for _, c := range []struct {
		p                Problem
		diag, annotation string
	}{
		{
			Problem{Line: 12, Column: ColSecret, Severity: SeverityError, Code: "secret.hex", Message: "looks like hex, not Base32"},
			"tokens.csv:12: error: secret key: looks like hex, not Base32 [secret.hex]",
			"::error file=tokens.csv,line=12::secret.hex: secret key: looks like hex, not Base32",
		},
		{
			Problem{Line: 14, Column: "digits", Severity: SeverityWarning, Code: "digits.unsupported", Message: "8-digit codes", Package: 3, Serial: "1234"},
			"tokens.csv:14: warning: key package 3 (serial 1234): digits: 8-digit codes [digits.unsupported]",
			"::warning file=tokens.csv,line=14::digits.unsupported: key package 3 (serial 1234): digits: 8-digit codes",
		},
		{
			Problem{Severity: SeverityError, Code: "csv.header", Message: "100% wrong\r\nreally"},
			"tokens.csv: error: 100% wrong\r\nreally [csv.header]",
			"::error file=tokens.csv::csv.header: 100%25 wrong%0D%0Areally",
		},
	} {
		if got := c.p.Diagnostic("tokens.csv"); got != c.diag {
			t.Errorf("Diagnostic: %q, want %q", got, c.diag)
		}
		if got := c.p.Annotation("tokens.csv"); got != c.annotation {
			t.Errorf("Annotation: %q, want %q", got, c.annotation)
		}
	}
	if got := (Problem{Line: 1, Severity: SeverityError, Code: "x", Message: "m"}).Annotation("a:b,c.csv"); got != "::error file=a%3Ab%2Cc.csv,line=1::x: m" {
		t.Errorf("property escaping: %q", got)
	}
}
