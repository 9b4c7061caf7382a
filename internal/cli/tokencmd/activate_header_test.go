package tokencmd_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mfactl/mfactl/internal/directory"
)

// The --from header is matched like the token and user files' headers: case, spaces,
// underscores and hyphens ignored, so a sheet exported with serial_number or Serial-Number
// columns activates.
func TestActivateBulkHeaderSpellings(t *testing.T) {
	e := newActEnv(t)
	for i, header := range []string{"serial_number,CODE", "Serial-Number,Code,U_P_N", "\ufeffSerialNumber, code "} {
		serial := []string{"TOK0", "TOK2", "TOK1"}[i]
		n := []int{0, 2, 1}[i]
		row := serial + "," + actCode(t, n, 0)
		if strings.Count(header, ",") == 2 {
			row += ",bob@contoso.com"
		}
		path := e.file("codes.csv", header+"\n"+row+"\n")
		r := e.run("", false, "tokens", "activate", "--from", path, "-o", "csv")
		if r.code != 0 || !strings.Contains(r.out, ","+serial+",") || !strings.Contains(r.out, ",success,SUCCESS_OATH_TOKEN_ACTIVATED,") {
			t.Fatalf("header %q: exit %d\n%s%s", header, r.code, r.out, r.errOut)
		}
		if tok := e.token(serial); tok.Status != directory.StatusActivated {
			t.Fatalf("header %q: %+v", header, tok)
		}
	}
	path := e.file("codes.csv", "serial number,code,Serial_Number\n")
	e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "", "mfactl: error: "+path+":1: column serial number appears twice\n")
}

// A file saved by Excel with semicolons (or as tab-separated text) is named as such, not
// reported as an unknown column, with the hint that reads it.
func TestActivateBulkOtherSeparator(t *testing.T) {
	e := newActEnv(t)
	for _, c := range []struct{ content, sep, sepLine string }{
		{"serial number;code\nTOK0;" + actCode(t, 0, 0) + "\n", "';'", "sep=;"},
		{"Serial Number\tCode\tUPN\nTOK0\t" + actCode(t, 0, 0) + "\t\n", "tab", "sep=\t"},
	} {
		path := e.file("codes.csv", c.content)
		e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "",
			"mfactl: error: "+path+":1: the header is one field: the file seems to use "+c.sep+" as separator (Excel does in many locales)\n"+
				"mfactl: hint: add the line \""+c.sepLine+"\" at the top of the file, or save it as comma-separated CSV\n")
	}
	if tok := e.token("TOK0"); tok.Status != directory.StatusAssigned {
		t.Fatalf("TOK0 changed: %+v", tok)
	}
}

// The --from file is read like every CSV file: UTF-16 with a byte-order mark (Excel's "Unicode
// text"), and a "sep=;" first line naming the separator.
func TestActivateBulkDialect(t *testing.T) {
	e := newActEnv(t)
	for i, content := range []string{
		utf16LE("\uFEFFserial number,code\r\nTOK0," + actCode(t, 0, 0) + "\r\n"),
		"sep=;\nSerial Number;Code\nTOK1;" + actCode(t, 1, 0) + "\n",
	} {
		serial := []string{"TOK0", "TOK1"}[i]
		path := e.file("codes.csv", content)
		r := e.run("", false, "tokens", "activate", "--from", path, "-o", "csv")
		if r.code != 0 || !strings.Contains(r.out, ","+serial+",") {
			t.Fatalf("file %d: exit %d\n%s%s", i, r.code, r.out, r.errOut)
		}
		if tok := e.token(serial); tok.Status != directory.StatusActivated {
			t.Fatalf("%s: %+v", serial, tok)
		}
	}
	// Lines count the sep= line: the row is on line 3.
	path := e.file("codes.csv", "sep=;\nserial number;code\nTOK2;12345\n")
	e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "",
		"mfactl: error: "+path+":3: code: 5 digits, want 6; a spreadsheet drops leading zeros unless the column is formatted as text\n")
}

func utf16LE(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

// A code that lost its leading zero in a spreadsheet (012345 saved as 12345) is reported before
// anything is tried, instead of counting a failed activation against the token.
func TestActivateBulkShortCode(t *testing.T) {
	e := newActEnv(t)
	path := e.file("codes.csv", "serial number,code\nTOK0,"+actCode(t, 0, 0)+"\nTOK1,12345\n")
	e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "",
		"mfactl: error: "+path+":3: code: 5 digits, want 6; a spreadsheet drops leading zeros unless the column is formatted as text\n")
	for _, s := range []string{"TOK0", "TOK1"} {
		if tok := e.token(s); tok.Status != directory.StatusAssigned || tok.FailedAttempts != 0 {
			t.Fatalf("%s changed: %+v", s, tok)
		}
	}
}
