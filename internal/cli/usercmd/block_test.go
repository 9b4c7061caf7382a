package usercmd_test

import (
	"context"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
)

func TestBlockUnblockCommands(t *testing.T) {
	e := newRegEnv(t)
	db := e.db()
	ctx := context.Background()
	seedUsers(t, db, "Ada@contoso.com")

	expect(t, "block", e.run("", false, "users", "block", "ada@contoso.com", "--reason", "left the company"), 0,
		"UPN              STATE    BLOCKED REASON    FAILED ATTEMPTS  LOCKED  CHANGED\nAda@contoso.com  blocked  left the company  0                false   true\n", "")
	if u, _ := db.GetUser(ctx, "ada@contoso.com"); u.State != directory.UserBlocked || u.BlockedReason != "left the company" {
		t.Fatalf("after block %+v", u)
	}
	// Again with the same reason: nothing changes and nothing is audited.
	expect(t, "block again", e.run("", false, "users", "block", "ADA@contoso.com", "--reason", "left the company", "-o", "json"), 0, `{
  "upn": "Ada@contoso.com",
  "state": "blocked",
  "blocked_reason": "left the company",
  "failed_attempts": 0,
  "locked": false,
  "changed": false
}
`, "mfactl: user Ada@contoso.com was already blocked for that reason; nothing changed\n")

	// A blocked user who also failed too often: unblock lifts both.
	err := db.InAuthTx(ctx, func(tx directory.AuthTx) error {
		u, err := db.GetUser(ctx, "ada@contoso.com")
		if err != nil {
			return err
		}
		for range 10 {
			if _, _, err := tx.RecordFailure(u.ID, 10); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "unblock", e.run("", false, "users", "unblock", "ada@contoso.com", "-o", "csv"), 0,
		"upn,state,blocked reason,failed attempts,locked,changed\nAda@contoso.com,active,,0,false,true\n", "")
	if u, _ := db.GetUser(ctx, "ada@contoso.com"); u.State != directory.UserActive || u.BlockedReason != "" || u.FailedAttempts != 0 || u.Locked {
		t.Fatalf("after unblock %+v", u)
	}
	expect(t, "unblock again", e.run("", false, "users", "unblock", "ada@contoso.com", "-q"), 0,
		"UPN              STATE   BLOCKED REASON  FAILED ATTEMPTS  LOCKED  CHANGED\nAda@contoso.com  active                  0                false   false\n", "")

	// Locked out without being blocked.
	err = db.InAuthTx(ctx, func(tx directory.AuthTx) error {
		u, _ := db.GetUser(ctx, "ada@contoso.com")
		_, _, err := tx.RecordFailure(u.ID, 3)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mustRun("users", "unblock", "ada@contoso.com")
	e.mustRun("users", "block", "ada@contoso.com")

	expect(t, "unknown user", e.run("", false, "users", "block", "nobody@contoso.com"), 1, "", "mfactl: error: user nobody@contoso.com not found\n")
	expect(t, "unknown user", e.run("", false, "users", "unblock", "nobody@contoso.com"), 1, "", "mfactl: error: user nobody@contoso.com not found\n")
	expect(t, "control character", e.run("", false, "users", "block", "ada@contoso.com", "--reason", "a\x1b[2Jb"), 2, "",
		"mfactl: error: --reason contains U+001B ESCAPE, a control character\nRun 'mfactl users block --help' for usage.\n")
	expect(t, "no UPN", e.run("", false, "users", "block"), 2, "",
		"mfactl: error: accepts 1 arg(s), received 0\nRun 'mfactl users block --help' for usage.\n")
	expect(t, "empty UPN", e.run("", false, "users", "unblock", " "), 2, "",
		"mfactl: error: empty UPN\nRun 'mfactl users unblock --help' for usage.\n")

	equalLines(t, "audit", auditRows(t, db), []string{
		"users block|Ada@contoso.com|success|blocked: left the company",
		"users unblock|Ada@contoso.com|success|unblocked; lockout cleared (locked=true, failed attempts=10)",
		"users unblock|Ada@contoso.com|success|was not blocked; lockout cleared (locked=false, failed attempts=1)",
		"users block|Ada@contoso.com|success|blocked",
		"users block|nobody@contoso.com|failure|user nobody@contoso.com not found",
		"users unblock|nobody@contoso.com|failure|user nobody@contoso.com not found",
	})
}
