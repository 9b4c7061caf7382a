package usercmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/users"
)

type createdAppPassword struct {
	ID        string `json:"id"`
	UPN       string `json:"upn"`
	Name      string `json:"name"`
	Password  string `json:"password"`
	CreatedAt string `json:"created_at"`
}

func TestAppPasswordCommands(t *testing.T) {
	e := newRegEnv(t)
	db := e.db()
	ctx := context.Background()
	seedUsers(t, db, "Ada@contoso.com", "bob@contoso.com")

	// create: the password once, on stdout, in the JSON result.
	r := e.run("", false, "users", "app-passwords", "create", "ada@contoso.com", "--name", "Outlook 2013", "-o", "json")
	if r.code != 0 || r.errOut != "mfactl: the password is shown only this once; mfactl keeps only a hash of it\n" {
		t.Fatalf("create: %d %s", r.code, r.errOut)
	}
	var mail createdAppPassword
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mail); err != nil {
		t.Fatal(err)
	}
	if mail.UPN != "Ada@contoso.com" || mail.Name != "Outlook 2013" || mail.CreatedAt != "2026-03-01T12:00:00Z" ||
		!regexp.MustCompile(`^[a-z2-7]{16}$`).MatchString(mail.ID) || !regexp.MustCompile(`^[a-km-zA-HJ-NP-Z2-9]{16}$`).MatchString(mail.Password) {
		t.Fatalf("created %+v", mail)
	}
	// The table has the same columns, the password among them.
	r = e.run("", false, "users", "app-passwords", "create", "ada@contoso.com", "-q")
	lines := strings.Split(r.out, "\n")
	if r.code != 0 || r.errOut != "" || len(lines) != 3 || !regexp.MustCompile(`^ID +UPN +NAME +PASSWORD +CREATED AT$`).MatchString(lines[0]) {
		t.Fatalf("create table: %d %q %q", r.code, r.out, r.errOut)
	}
	fields := regexp.MustCompile(`  +`).Split(lines[1], -1)
	if len(fields) != 5 || fields[1] != "Ada@contoso.com" || fields[2] != users.DefaultAppPasswordName || len(fields[3]) != 16 || fields[4] != "2026-03-01T12:00:00Z" {
		t.Fatalf("create table row %q", fields)
	}
	second := createdAppPassword{ID: fields[0], Password: fields[3]}
	bob := createdAppPassword{}
	r = e.mustRun("users", "app-passwords", "create", "bob@contoso.com", "-o", "json", "-q")
	if err := json.Unmarshal([]byte(r.out), &bob); err != nil {
		t.Fatal(err)
	}

	// The stored hash verifies the printed password, and only it.
	u, _ := db.GetUser(ctx, "ada@contoso.com")
	hashes, err := db.AppPasswordHashes(ctx, u.ID)
	if err != nil || len(hashes) != 2 {
		t.Fatalf("hashes %v %v", hashes, err)
	}
	for _, h := range hashes {
		want := map[string]string{mail.ID: mail.Password, second.ID: second.Password}[h.ID]
		if ok, err := users.VerifyAppPassword(h.Hash, want); !ok || err != nil {
			t.Errorf("%s: the stored hash does not verify the printed password: %v", h.ID, err)
		}
		if ok, _ := users.VerifyAppPassword(h.Hash, bob.Password); ok {
			t.Errorf("%s verifies bob's password", h.ID)
		}
	}

	// Signing in: the printed password works for its user only, and a wrong one fails.
	for _, c := range []struct {
		upn, pw string
		code    int
		result  string
	}{
		{"ada@contoso.com", mail.Password, 0, "SUCCESS"},
		{"ADA@contoso.com", second.Password + "\n", 0, "SUCCESS"},
		{"ada@contoso.com", bob.Password, 1, "FAILED"},
		{"bob@contoso.com", bob.Password, 0, "SUCCESS"},
		{"ada@contoso.com", strings.ToLower(mail.Password), 1, "FAILED"},
	} {
		r := e.run(c.pw, false, "auth", "verify", c.upn, "--app-password", "-o", "json")
		if r.code != c.code || !strings.Contains(r.out, `"result_code": "`+c.result) || !strings.Contains(r.out, `"mode": "app-password"`) {
			t.Errorf("auth verify %s --app-password: %d\n%s%s", c.upn, r.code, r.out, r.errOut)
		}
	}

	// list never shows a password.
	wantList := `[
  {
    "id": "` + mail.ID + `",
    "upn": "Ada@contoso.com",
    "name": "Outlook 2013",
    "created_at": "2026-03-01T12:00:00Z"
  },
  {
    "id": "` + second.ID + `",
    "upn": "Ada@contoso.com",
    "name": "app password",
    "created_at": "2026-03-01T12:00:00Z"
  }
]
`
	// Both were created in the same second: the order between them is by id.
	if second.ID < mail.ID {
		wantList = `[
  {
    "id": "` + second.ID + `",
    "upn": "Ada@contoso.com",
    "name": "app password",
    "created_at": "2026-03-01T12:00:00Z"
  },
  {
    "id": "` + mail.ID + `",
    "upn": "Ada@contoso.com",
    "name": "Outlook 2013",
    "created_at": "2026-03-01T12:00:00Z"
  }
]
`
	}
	expect(t, "list ada", e.run("", false, "users", "app-passwords", "list", "ADA@contoso.com", "-o", "json"), 0, wantList, "")
	r = e.mustRun("users", "app-passwords", "list")
	if !strings.HasPrefix(r.out, "ID                UPN              NAME          CREATED AT\n") || strings.Count(r.out, "\n") != 4 {
		t.Errorf("list all:\n%s", r.out)
	}
	r = e.mustRun("users", "app-passwords", "list", "-o", "csv")
	if !strings.HasPrefix(r.out, "id,upn,name,created at\n") || strings.Count(r.out, "\n") != 4 {
		t.Errorf("list csv:\n%s", r.out)
	}
	for _, out := range []string{r.out, e.mustRun("users", "app-passwords", "list", "-o", "json").out} {
		for _, pw := range []string{mail.Password, second.Password, bob.Password} {
			if strings.Contains(out, pw) {
				t.Error("a listing shows a password")
			}
		}
	}
	expect(t, "list empty", e.run("", false, "users", "app-passwords", "list", "nobody@contoso.com"), 1, "", "mfactl: error: user nobody@contoso.com not found\n")

	// revoke one, then the rest; revoking none is not an error.
	expect(t, "revoke bob's id as ada's", e.run("", false, "users", "app-passwords", "revoke", "ada@contoso.com", "--id", bob.ID), 1, "",
		"mfactl: error: app password "+bob.ID+" of user Ada@contoso.com not found\n")
	r = e.mustRun("users", "app-passwords", "revoke", "ada@contoso.com", "--id", strings.ToUpper(mail.ID), "-o", "json")
	if !strings.Contains(r.out, `"id": "`+mail.ID+`"`) || strings.Count(r.out, `"id"`) != 1 {
		t.Errorf("revoke one:\n%s", r.out)
	}
	// Revoking all asks first: on a terminal only "y" goes ahead; elsewhere --yes is needed.
	expect(t, "revoke all without --yes", e.run("", false, "users", "app-passwords", "revoke", "ada@contoso.com"), 2, "",
		"mfactl: error: refusing to revoke all of a user's app passwords without confirmation: pass --yes\nRun 'mfactl users app-passwords revoke --help' for usage.\n")
	expect(t, "revoke all declined", e.run("n\n", true, "users", "app-passwords", "revoke", "ada@contoso.com"), 1, "",
		"Revoke all 1 app password of user Ada@contoso.com? [y/N] mfactl: revoke cancelled; nothing was changed\n")
	if hashes, _ := db.AppPasswordHashes(ctx, u.ID); len(hashes) != 1 {
		t.Fatalf("%d hashes left after the refusals, want 1", len(hashes))
	}
	r = e.run("y\n", true, "users", "app-passwords", "revoke", "ada@contoso.com", "-o", "csv")
	if r.code != 0 || r.errOut != "Revoke all 1 app password of user Ada@contoso.com? [y/N] " ||
		r.out != "id,upn,name,created at\n"+second.ID+",Ada@contoso.com,app password,2026-03-01T12:00:00Z\n" {
		t.Errorf("revoke all: %d\n%s%s", r.code, r.out, r.errOut)
	}
	// A user without app passwords is not asked about them.
	expect(t, "revoke none", e.run("", true, "users", "app-passwords", "revoke", "ada@contoso.com", "-o", "json"), 0, "[]\n",
		"mfactl: user ada@contoso.com has no app passwords; nothing to revoke\n")
	expect(t, "revoke none --yes", e.run("", false, "users", "app-passwords", "revoke", "ada@contoso.com", "--yes", "-o", "json"), 0, "[]\n",
		"mfactl: user ada@contoso.com has no app passwords; nothing to revoke\n")
	expect(t, "empty --id", e.run("", false, "users", "app-passwords", "revoke", "ada@contoso.com", "--id", ""), 2, "",
		"mfactl: error: --id: empty id (omit --id to revoke all of the user's app passwords)\nRun 'mfactl users app-passwords revoke --help' for usage.\n")
	if hashes, _ := db.AppPasswordHashes(ctx, u.ID); len(hashes) != 0 {
		t.Errorf("%d hashes left", len(hashes))
	}
	// A revoked password no longer signs in.
	if r := e.run(second.Password, false, "auth", "verify", "ada@contoso.com", "--app-password"); r.code != 1 {
		t.Errorf("revoked password: exit %d", r.code)
	}

	// The audit log names the passwords by id, never by value; refusals are failures.
	equalLines(t, "audit", auditRows(t, db), []string{
		"users app-passwords create|Ada@contoso.com|success|created app password " + mail.ID + " (Outlook 2013)",
		"users app-passwords create|Ada@contoso.com|success|created app password " + second.ID + " (app password)",
		"users app-passwords create|bob@contoso.com|success|created app password " + bob.ID + " (app password)",
		"users app-passwords revoke|ada@contoso.com|failure|app password " + bob.ID + " of user Ada@contoso.com not found",
		"users app-passwords revoke|Ada@contoso.com|success|revoked app password " + mail.ID + " (Outlook 2013)",
		"users app-passwords revoke|Ada@contoso.com|success|revoked app password " + second.ID + " (app password)",
	})

	// Nothing on disk holds a password: the database and its WAL while open, the database
	// after the last close (checkpointed), the key file.
	scan := func(when string, names ...string) {
		var all []byte
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, data...)
		}
		if !bytes.Contains(all, []byte("bob@contoso.com")) {
			t.Fatalf("%s: the scan does not see the directory's rows", when) // it would prove nothing
		}
		for _, pw := range []string{mail.Password, second.Password, bob.Password} {
			if bytes.Contains(all, []byte(pw)) {
				t.Errorf("%s: the files hold an app password", when)
			}
		}
	}
	scan("open", e.dbPath, e.dbPath+"-wal", e.key)
	db.Close()
	scan("closed", e.dbPath, e.dbPath+"-wal", e.key)
}
