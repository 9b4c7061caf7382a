package tokencmd_test

import (
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
)

// Assigning a disabled token fails whatever --force says, so the hint to unassign it or pass
// --force (right for a token owned by someone else) must not be given for it.
func TestAssignDisabledTokenHasNoForceHint(t *testing.T) {
	e := newActEnv(t)
	e.run("", false, "tokens", "disable", "TOK2", "--reason", "broken").check(t, 0, "", "disabled token TOK2\n")
	const refused = "mfactl: error: assigning token TOK2: token TOK2 is disabled; enable it first\n"
	e.run("", false, "tokens", "assign", "TOK2", "bob@contoso.com").check(t, 1, "", refused)
	e.run("", false, "tokens", "assign", "--force", "TOK2", "bob@contoso.com").check(t, 1, "", refused)
	e.run("", false, "tokens", "activate", "TOK2", actCode(t, 2, 0), "--user", "bob@contoso.com").check(t, 1, "",
		"mfactl: error: assigning token TOK2 to bob@contoso.com: token TOK2 is disabled; enable it first\n")
	if tok := e.token("TOK2"); tok.Status != directory.StatusDisabled || tok.UPN != "" {
		t.Fatalf("TOK2 changed: %+v", tok)
	}
	// Owned by someone else: the hint is right there.
	e.run("", false, "tokens", "assign", "TOK0", "bob@contoso.com").check(t, 1, "",
		"mfactl: error: assigning token TOK0: token TOK0 is already assigned to ada@contoso.com\nmfactl: hint: unassign it first, or pass --force to move it\n")
	e.run("", false, "tokens", "activate", "TOK0", actCode(t, 0, 0), "--user", "bob@contoso.com").check(t, 1, "",
		"mfactl: error: assigning token TOK0 to bob@contoso.com: token TOK0 is already assigned to ada@contoso.com\nmfactl: hint: unassign it first, or move it with mfactl tokens assign --force\n")
}
