package tokencmd_test

import (
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/store"
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
		if tok := e.token(serial); tok.Status != store.StatusActivated {
			t.Fatalf("header %q: %+v", header, tok)
		}
	}
	path := e.file("codes.csv", "serial number,code,Serial_Number\n")
	e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "", "mfactl: error: "+path+":1: column serial number appears twice\n")
}

// A file saved by Excel with semicolons (or as tab-separated text) is named as such, not
// reported as an unknown column.
func TestActivateBulkOtherSeparator(t *testing.T) {
	e := newActEnv(t)
	for _, c := range []struct{ content, sep string }{
		{"serial number;code\nTOK0;" + actCode(t, 0, 0) + "\n", `";"`},
		{"Serial Number\tCode\tUPN\nTOK0\t" + actCode(t, 0, 0) + "\t\n", `"\t"`},
	} {
		path := e.file("codes.csv", c.content)
		e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "",
			"mfactl: error: "+path+":1: the file is separated by "+c.sep+", not commas (Excel saves CSV so in many locales); save it as comma-separated CSV\n")
	}
	if tok := e.token("TOK0"); tok.Status != store.StatusAssigned {
		t.Fatalf("TOK0 changed: %+v", tok)
	}
}

// A code that lost its leading zero in a spreadsheet (012345 saved as 12345) is reported before
// anything is tried, instead of counting a failed activation against the token.
func TestActivateBulkShortCode(t *testing.T) {
	e := newActEnv(t)
	path := e.file("codes.csv", "serial number,code\nTOK0,"+actCode(t, 0, 0)+"\nTOK1,12345\n")
	e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "",
		"mfactl: error: "+path+":3: code: 5 digits, want 6; a spreadsheet drops leading zeros unless the column is formatted as text\n")
	for _, s := range []string{"TOK0", "TOK1"} {
		if tok := e.token(s); tok.Status != store.StatusAssigned || tok.FailedAttempts != 0 {
			t.Fatalf("%s changed: %+v", s, tok)
		}
	}
}
