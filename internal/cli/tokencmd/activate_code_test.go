package tokencmd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
)

// TestActivateCodeInput: the code given to tokens activate is read like every code (white
// space around it, grouping spaces and full-width digits are not part of it); one that still
// is not 6 digits is a usage error before anything happens: no auth event, no failed
// activation, no assignment, and the message does not repeat it.
func TestActivateCodeInput(t *testing.T) {
	e := newActEnv(t)
	e.run("", false, "tokens", "activate", "TOK0", actCode(t, 0, 0)+"\n", "-o", "csv").check(t, 0,
		"serial number,upn,status,drift,failed attempts,result,result code,reason\nTOK0,ada@contoso.com,activated,0,0,success,SUCCESS_OATH_TOKEN_ACTIVATED,\n", "")
	e.run("\u00a0"+actCode(t, 1, 1)+"\t\n", false, "tokens", "activate", "TOK1", "-", "-o", "csv").check(t, 0,
		"serial number,upn,status,drift,failed attempts,result,result code,reason\nTOK1,ada@contoso.com,activated,1,0,success,SUCCESS_OATH_TOKEN_ACTIVATED,\n", "")
	for _, c := range []struct{ code, msg string }{
		{"12345", "malformed code: 5 digits, want 6 to 8"},
		{"1234567", "activating token TOK2: malformed code: 7 digits, want 6"},
		{"12345x", "malformed code: it holds a character other than a digit"},
	} {
		e.run("", false, "tokens", "activate", "TOK2", c.code, "--user", "bob@contoso.com").check(t, 2, "",
			"mfactl: error: "+c.msg+"\nRun 'mfactl tokens activate --help' for usage.\n")
	}
	evs, _ := e.db().ListAuthEvents(context.Background(), directory.AuthEventFilter{})
	if len(evs) != 2 {
		t.Errorf("%d auth events, want the two activations", len(evs))
	}
	if tok := e.token("TOK2"); tok.UPN != "" || tok.FailedAttempts != 0 {
		t.Errorf("a malformed code changed TOK2: %+v", tok)
	}
}

// TestActivateBulkCodeCells: code cells are read as typed codes are: a no-break space or a tab
// around the code (pasted from a web page or a spreadsheet) and the space apps group digits
// with are not part of it; a cell that still is not 6 digits stops the file before anything
// is tried, naming the line but not the cell.
func TestActivateBulkCodeCells(t *testing.T) {
	e := newActEnv(t)
	c2 := actCode(t, 2, 0)
	path := e.file("codes.csv", "serial number,code,upn\n"+
		"TOK0,\u00a0"+actCode(t, 0, 0)+",\n"+
		"TOK1,"+actCode(t, 1, 0)+"\t,\n"+
		"TOK2,\""+c2[:3]+" "+c2[3:]+"\",bob@contoso.com\n")
	r := e.run("", false, "tokens", "activate", "--from", path, "-o", "csv")
	if r.code != 0 || strings.Count(r.out, "SUCCESS_OATH_TOKEN_ACTIVATED") != 3 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	bad := "x" + actCode(t, 3, 0)[1:]
	path = e.file("bad.csv", "serial number,code,upn\nTOK3,"+actCode(t, 3, 0)+",bob@contoso.com\nTOK3,"+bad+",\n")
	e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "",
		"mfactl: error: "+path+":3: malformed code: it holds a character other than a digit\n")
	path = e.file("long.csv", "serial number,code\nTOK3,1234567\n")
	e.run("", false, "tokens", "activate", "--from", path).check(t, 1, "",
		"mfactl: error: "+path+":2: malformed code: 7 digits, want 6\n")
	if tok := e.token("TOK3"); tok.UPN != "" || tok.FailedAttempts != 0 {
		t.Errorf("a malformed file changed TOK3: %+v", tok)
	}
}
