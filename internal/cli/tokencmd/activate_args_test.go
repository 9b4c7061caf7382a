package tokencmd_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
)

// Serials, UPNs and reasons reach the auth and audit logs; one with a control character (a
// newline forges a line in their reports) is refused before anything is written.
func TestTokenArgsRefuseControlCharacters(t *testing.T) {
	e := newActEnv(t)
	code := actCode(t, 0, 0)
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"tokens", "activate", "TOK0\nforged", code}, "serial number contains U+000A LINE FEED, a control character"},
		{[]string{"tokens", "activate", "TOK2", code, "--user", "bob@contoso.com\tx"}, "--user contains U+0009 CHARACTER TABULATION, a control character"},
		{[]string{"tokens", "activate", "  ", code}, "empty serial number"},
		{[]string{"tokens", "assign", "TOK2", "bob\u202e@contoso.com"}, "UPN contains U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control character"},
		{[]string{"tokens", "assign", "TOK2", "bob\n@contoso.com"}, "UPN contains U+000A LINE FEED, a control character"},
		{[]string{"tokens", "assign", "TOK2\x1b[31m", "bob@contoso.com"}, "serial number contains U+001B ESCAPE, a control character"},
		{[]string{"tokens", "unassign", "TOK\r0"}, "serial number contains U+000D CARRIAGE RETURN, a control character"},
		{[]string{"tokens", "enable", "TOK\x000"}, "serial number contains U+0000 NULL, a control character"},
		{[]string{"tokens", "disable", "TOK\n0"}, "serial number contains U+000A LINE FEED, a control character"},
		{[]string{"tokens", "disable", "TOK0", "--reason", "lost\nin a taxi"}, "--reason contains U+000A LINE FEED, a control character"},
	} {
		e.run("", false, c.args...).check(t, 2, "", "mfactl: error: "+c.err+"\nRun 'mfactl "+c.args[0]+" "+c.args[1]+" --help' for usage.\n")
	}
	file := filepath.Join(e.dir, "codes.csv")
	if err := os.WriteFile(file, []byte("serial number,code,upn\nTOK2,"+actCode(t, 2, 0)+",bob@contoso.com\n\"TOK3\nforged\",123456,\nTOK3,123456,\"bob@contoso.com\x07\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.run("", false, "tokens", "activate", "--from", file).check(t, 1, "", "mfactl: error: "+file+":3: serial number contains U+000A LINE FEED, a control character\n")
	if err := os.WriteFile(file, []byte("serial number,code,upn\nTOK3,123456,\"bob@contoso.com\x07\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.run("", false, "tokens", "activate", "--from", file).check(t, 1, "", "mfactl: error: "+file+":2: upn contains U+0007 BELL, a control character\n")

	// Nothing was written: no auth event, no audit row, the tokens as they were.
	db := e.db()
	ctx := context.Background()
	if evs, err := db.ListAuthEvents(ctx, directory.AuthEventFilter{}); err != nil || len(evs) != 0 {
		t.Fatalf("auth events %+v, %v", evs, err)
	}
	if evs, err := db.ListAudit(ctx, directory.AuditFilter{}); err != nil || len(evs) != 0 {
		t.Fatalf("audit events %+v, %v", evs, err)
	}
	if tok := e.token("TOK0"); tok.Status != directory.StatusAssigned || tok.DisabledReason != "" {
		t.Fatalf("TOK0 changed: %+v", tok)
	}
	if tok := e.token("TOK2"); tok.Status != directory.StatusAvailable {
		t.Fatalf("TOK2 changed: %+v", tok)
	}

	// Surrounding spaces are dropped, as the users commands do.
	e.run("", false, "tokens", "activate", " TOK0 ", code, "-o", "csv").check(t, 0,
		"serial number,upn,status,drift,failed attempts,result,result code,reason\nTOK0,ada@contoso.com,activated,0,0,success,SUCCESS_OATH_TOKEN_ACTIVATED,\n", "")
	e.run("", false, "tokens", "disable", "TOK0", "--reason", " lost ").check(t, 0, "", "disabled token TOK0\n")
	if tok := e.token("TOK0"); tok.DisabledReason != "lost" {
		t.Fatalf("reason %q", tok.DisabledReason)
	}
}
