package users

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base32"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// openDB opens a new directory whose clock reads testNow plus one second per reading, so rows
// created one after another have distinct, ordered times.
func openDB(t *testing.T) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d.db")
	now := testNow
	db, err := store.Open(context.Background(), path, store.Options{Now: func() time.Time {
		now = now.Add(time.Second)
		return now
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func addUsers(t *testing.T, db *store.DB, upns ...string) {
	t.Helper()
	for _, upn := range upns {
		if _, err := db.AddUser(context.Background(), directory.User{UPN: upn}); err != nil {
			t.Fatal(err)
		}
	}
}

// rawBytes returns the database file and its WAL as they are on disk.
func rawBytes(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if len(all) == 0 {
		t.Fatal("no database bytes to scan")
	}
	return all
}

// storedHash reads an app password's hash straight from the file, as an attacker with a copy
// of the database would.
func storedHash(t *testing.T, path, id string) string {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var h string
	if err := raw.QueryRow(`SELECT hash FROM app_passwords WHERE id = ?`, id).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestReset(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	addUsers(t, db, "Ada@contoso.com", "bob@contoso.com")
	if _, err := EnrollApp(ctx, db, "ada@contoso.com", EnrollOptions{}); err != nil {
		t.Fatal(err)
	}

	_, err := Reset(ctx, db, []string{"x@contoso.com", "ada@contoso.com", "y@contoso.com", "X@contoso.com"}, false)
	var ue *UnknownUsersError
	if !errors.As(err, &ue) || !errors.Is(err, directory.ErrNotFound) || err.Error() != "2 users not found: x@contoso.com, y@contoso.com" {
		t.Fatalf("unknown users: %v", err)
	}
	if _, err := Reset(ctx, db, []string{"nobody@contoso.com"}, false); err == nil || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("one unknown user: %v", err)
	}
	if n, _ := db.CountMethods(ctx, "ada@contoso.com"); n != 1 {
		t.Fatalf("a refused reset changed something: %d methods", n)
	}

	plan, err := Reset(ctx, db, []string{"ADA@contoso.com", "bob@contoso.com", "ada@contoso.com"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 2 || plan[0].UPN != "Ada@contoso.com" || len(plan[0].AuthApps) != 1 || plan[1].UPN != "bob@contoso.com" {
		t.Fatalf("plan %+v", plan)
	}
	if n, _ := db.CountMethods(ctx, "ada@contoso.com"); n != 1 {
		t.Fatal("the dry run removed the app")
	}
	done, err := Reset(ctx, db, []string{"ADA@contoso.com", "bob@contoso.com", "ada@contoso.com"}, false)
	if err != nil || !reflect.DeepEqual(done, plan) {
		t.Fatalf("reset %+v, plan %+v, %v", done, plan, err)
	}
	if u, _ := db.GetUser(ctx, "ada@contoso.com"); !u.MustRegister || u.Methods != 0 {
		t.Errorf("after reset %+v", u)
	}

	many := make([]string, 12)
	for i := range many {
		many[i] = string(rune('a'+i)) + "@x"
	}
	_, err = Reset(ctx, db, many, true)
	if err == nil || err.Error() != "12 users not found: a@x, b@x, c@x, d@x, e@x, f@x, g@x, h@x, i@x, j@x and 2 more" {
		t.Errorf("many unknown: %v", err)
	}
}

func utf16LE(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

func utf16BE(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u >> 8))
		b.WriteByte(byte(u))
	}
	return b.String()
}

func TestReadUPNs(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      string
	}{
		{"upn only", "upn\nada@contoso.com\nbob@contoso.com\n", []string{"ada@contoso.com", "bob@contoso.com"}, ""},
		{"users file", "\ufeffUPN,display name,email,phone\n ada@contoso.com ,Ada,,\n\"bob@contoso.com\",Bob,b@x,+1 425\n",
			[]string{"ada@contoso.com", "bob@contoso.com"}, ""},
		{"later column, short rows", "serial number,upn\n1,ada@contoso.com\n2\n", nil, "f.csv:3: empty upn"},
		{"header only", "upn\n", []string{}, ""},
		{"empty", "", nil, "f.csv: empty file; want a header row with a upn column"},
		{"no column", "user,name\nada,Ada\n", nil, "f.csv:1: no upn column in the header"},
		{"blank cell", "upn,name\nada@contoso.com,a\n,b\n", nil, "f.csv:3: empty upn"},
		{"control character", "upn\n\"ada@contoso.com\x1b[2J\"\n", nil, "f.csv:2: upn contains U+001B ESCAPE, a control character"},
		{"bidi override", "upn\nada\u202e@contoso.com\n", nil, "f.csv:2: upn contains U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control character"},
		{"nfd", "upn\nrene\u0301@contoso.com\n", []string{"ren\u00e9@contoso.com"}, ""},
		{"bad quotes", "upn\n\"ada\n", nil, "f.csv:2: extraneous or missing \" in quoted-field"},
		{"semicolons", "UPN;Name\nada@contoso.com;Ada\n", nil, `f.csv:1: the header is one field: the file seems to use ';' as separator (Excel does in many locales)`},
		{"tabs", "upn\tname\nada@contoso.com\tAda\n", nil, `f.csv:1: the header is one field: the file seems to use tab as separator (Excel does in many locales)`},
		{"semicolons with a sep line", "sep=;\r\nName;U_P_N\r\nAda;ada@contoso.com\r\n;\r\n", nil, "f.csv:4: empty upn"},
		{"semicolons with a sep line, valid", "sep=;\nName;U_P_N\nAda;ada@contoso.com\n", []string{"ada@contoso.com"}, ""},
		{"utf-16le", utf16LE("\uFEFFupn,name\r\nada@contoso.com,Äda\r\n"), []string{"ada@contoso.com"}, ""},
		{"utf-16be", utf16BE("\uFEFFupn\nbob@contoso.com\n"), []string{"bob@contoso.com"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadUPNs(strings.NewReader(tt.in), "f.csv")
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v %v, want %#v", got, err, tt.want)
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	for s, want := range map[string]string{
		"":                            "",
		"Ada's phone — Köln":          "",
		"tab\there":                   "name contains U+0009 CHARACTER TABULATION, a control character",
		"esc\x1b[31m":                 "name contains U+001B ESCAPE, a control character",
		"c1\u0085":                    "name contains U+0085 NEXT LINE, a control character",
		"rtl\u202egnp.exe":            "name contains U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control character",
		"zero\u200bwidth":             "name contains U+200B ZERO WIDTH SPACE, an invisible character",
		"نیم\u200cفاصله":              "",
		"bad\xff":                     "name is not valid UTF-8",
		strings.Repeat("x", 257):      "name is longer than 256 bytes",
		strings.Repeat("x", 256):      "",
		"del\x7f":                     "name contains U+007F DELETE, a control character",
		"newline\nsecond line":        "name contains U+000A LINE FEED, a control character",
		"emoji \U0001F511 is fine ok": "",
	} {
		err := CheckText("name", s)
		if (err == nil) != (want == "") || (err != nil && err.Error() != want) {
			t.Errorf("CheckText(%q) = %v, want %q", s, err, want)
		}
	}
}

// TestText checks that a name typed in NFD enters the domain in NFC, the form stored.
func TestText(t *testing.T) {
	if got := Text(" rene\u0301@contoso.com "); got != "ren\u00e9@contoso.com" {
		t.Errorf("Text = %+q, want NFC without the spaces", got)
	}
}

func TestBlockUnblock(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	addUsers(t, db, "Ada@contoso.com")
	if _, _, err := Block(ctx, db, "ada@contoso.com", "bad\nreason"); err == nil || err.Error() != "reason contains U+000A LINE FEED, a control character" {
		t.Errorf("control character in reason: %v", err)
	}
	u, changed, err := Block(ctx, db, "ada@contoso.com", "lost laptop")
	if err != nil || !changed || u.State != directory.UserBlocked || u.BlockedReason != "lost laptop" {
		t.Fatalf("block %+v %v %v", u, changed, err)
	}
	u, changed, err = Unblock(ctx, db, "ADA@contoso.com")
	if err != nil || !changed || u.State != directory.UserActive || u.BlockedReason != "" {
		t.Fatalf("unblock %+v %v %v", u, changed, err)
	}
	if _, _, err := Block(ctx, db, "nobody@contoso.com", ""); err == nil || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("unknown user: %v", err)
	}
}

func TestAppPasswordLifecycle(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	addUsers(t, db, "Ada@contoso.com")
	created, err := CreateAppPassword(ctx, db, "ada@contoso.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != DefaultAppPasswordName || created.UPN != "Ada@contoso.com" || len(created.Password) != AppPasswordLength || !created.CreatedAt.After(testNow) {
		t.Fatalf("created %+v", created.AppPassword)
	}
	second, err := CreateAppPassword(ctx, db, "ada@contoso.com", "vpn")
	if err != nil {
		t.Fatal(err)
	}
	if second.Password == created.Password {
		t.Fatal("two app passwords are equal")
	}

	// Only the hash is stored, and it verifies the password and nothing else.
	hash := storedHash(t, path, created.ID)
	if ok, err := VerifyAppPassword(hash, created.Password); !ok || err != nil {
		t.Errorf("stored hash does not verify the password: %v %v", ok, err)
	}
	if ok, _ := VerifyAppPassword(hash, second.Password); ok {
		t.Error("the hash verifies another password")
	}
	raw := rawBytes(t, path)
	if !bytes.Contains(raw, []byte("Ada@contoso.com")) || !bytes.Contains(raw, []byte(hash)) {
		t.Fatal("the scan does not see the rows just written") // the check below would prove nothing
	}
	for _, pw := range []string{created.Password, second.Password} {
		if bytes.Contains(raw, []byte(pw)) || bytes.Contains(bytes.ToLower(raw), []byte(strings.ToLower(pw))) {
			t.Errorf("the database holds an app password in the clear")
		}
	}

	list, err := ListAppPasswords(ctx, db, "ada@contoso.com")
	if err != nil || len(list) != 2 || list[0] != created.AppPassword || list[1] != second.AppPassword {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, err := ListAppPasswords(ctx, db, "nobody@contoso.com"); err == nil || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("list unknown: %v", err)
	}
	if _, err := CreateAppPassword(ctx, db, "ada@contoso.com", "a\tb"); err == nil || err.Error() != "name contains U+0009 CHARACTER TABULATION, a control character" {
		t.Errorf("control character in name: %v", err)
	}

	revoked, err := RevokeAppPasswords(ctx, db, "ada@contoso.com", second.ID)
	if err != nil || len(revoked) != 1 || revoked[0] != second.AppPassword {
		t.Fatalf("revoke one %+v %v", revoked, err)
	}
	if _, err := RevokeAppPasswords(ctx, db, "ada@contoso.com", second.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	revoked, err = RevokeAppPasswords(ctx, db, "ada@contoso.com", "")
	if err != nil || len(revoked) != 1 || revoked[0].ID != created.ID {
		t.Fatalf("revoke all %+v %v", revoked, err)
	}
	if list, _ := ListAppPasswords(ctx, db, ""); len(list) != 0 {
		t.Errorf("left %+v", list)
	}
}

func TestVerifyAppPasswordRejectsBadHashes(t *testing.T) {
	good, err := HashAppPassword("password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, h := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key, // 4 GiB
		"$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1,x=3$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,t=3$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:10],
		"x$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
	} {
		if ok, err := VerifyAppPassword(h, "password"); ok || !errors.Is(err, ErrBadHash) {
			t.Errorf("%q: %v %v", h, ok, err)
		}
	}
	if ok, err := VerifyAppPassword(good, "password"); !ok || err != nil {
		t.Errorf("good hash: %v %v", ok, err)
	}
}

func TestEnrollApp(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	addUsers(t, db, "Ada@contoso.com", "root")
	if _, err := db.ResetRegistrations(ctx, []string{"ada@contoso.com"}, false); err != nil {
		t.Fatal(err)
	}
	e, err := EnrollApp(ctx, db, "ADA@contoso.com", EnrollOptions{Name: "Ada's phone"})
	if err != nil {
		t.Fatal(err)
	}
	want := directory.AuthApp{ID: e.App.ID, UPN: "Ada@contoso.com", Name: "Ada's phone", Issuer: "contoso.com", Hash: "SHA1", Digits: 6, Period: 30, CreatedAt: e.App.CreatedAt}
	if e.App != want || !e.App.CreatedAt.After(testNow) {
		t.Fatalf("app %+v", e.App)
	}
	key, err := otp.NewKeyFromURL(e.URI())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URI(), "otpauth://totp/contoso.com:Ada@contoso.com?") || key.Issuer() != "contoso.com" ||
		key.AccountName() != "Ada@contoso.com" || key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
		t.Errorf("URI %s", key)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret())
	if err != nil || len(secret) != AppSecretSize {
		t.Fatalf("secret of %d bytes: %v", len(secret), err)
	}
	stored, err := db.AuthAppSecret(ctx, e.App.ID)
	if err != nil || !bytes.Equal(stored, secret) {
		t.Fatalf("stored secret differs from the URI's: %v", err)
	}
	// A code from the user's app verifies against what is stored.
	code, _ := totp.GenerateCode(key.Secret(), testNow)
	if ok, _ := totp.ValidateCustom(code, base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(stored), testNow,
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}); !ok {
		t.Error("code from the URI's secret does not validate with the stored secret")
	}
	if u, _ := db.GetUser(ctx, "ada@contoso.com"); u.MustRegister || u.Methods != 1 {
		t.Errorf("user after enrolment %+v", u)
	}

	// The QR code decodes as a PNG of the documented size.
	pngData, err := e.QRCodePNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil || img.Bounds().Dx() != QRCodeSize || img.Bounds().Dy() != QRCodeSize {
		t.Errorf("QR code: %v %v", err, img)
	}
	if _, err := e.Register(ctx, db); !errors.Is(err, ErrRegistered) {
		t.Errorf("second Register: %v", err)
	}

	// The secret is in the database only sealed.
	raw := rawBytes(t, path)
	if !bytes.Contains(raw, []byte("Ada's phone")) {
		t.Fatal("the scan does not see the rows just written")
	}
	if bytes.Contains(raw, secret) || bytes.Contains(raw, []byte(key.Secret())) || bytes.Contains(raw, []byte(strings.ToLower(key.Secret()))) {
		t.Error("the database holds the authenticator secret in the clear")
	}

	// Issuer: the flag, or the fallback for a UPN without a domain.
	e2, err := EnrollApp(ctx, db, "ada@contoso.com", EnrollOptions{Issuer: "Contoso Ltd"})
	if err != nil || e2.App.Issuer != "Contoso Ltd" || e2.App.Name != DefaultAppName || !strings.HasPrefix(e2.URI(), "otpauth://totp/Contoso%20Ltd:Ada@contoso.com?") {
		t.Errorf("issuer flag: %+v %v %s", e2.App, err, e2.URI())
	}
	e3, err := EnrollApp(ctx, db, "root", EnrollOptions{})
	if err != nil || e3.App.Issuer != "mfactl" {
		t.Errorf("fallback issuer: %+v %v", e3, err)
	}
	if _, err := EnrollApp(ctx, db, "nobody@contoso.com", EnrollOptions{}); err == nil || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := EnrollApp(ctx, db, "ada@contoso.com", EnrollOptions{Issuer: "a\x00b"}); err == nil || err.Error() != "issuer contains U+0000 NULL, a control character" {
		t.Errorf("bad issuer: %v", err)
	}
}

func TestEnrollLimit(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	addUsers(t, db, "Ada@contoso.com")
	for range 5 {
		if _, err := EnrollApp(ctx, db, "ada@contoso.com", EnrollOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Refused before a secret is generated (and any QR code written)...
	_, err := PrepareEnrollment(ctx, db, "ada@contoso.com", EnrollOptions{})
	if !errors.Is(err, directory.ErrLimit) || err.Error() != "user Ada@contoso.com already has 5 OATH methods (the limit)" {
		t.Errorf("prepare over the limit: %v", err)
	}
	// ...and again at registration, when a method arrived in between.
	addUsers(t, db, "bob@contoso.com")
	e, err := PrepareEnrollment(ctx, db, "bob@contoso.com", EnrollOptions{MaxMethods: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnrollApp(ctx, db, "bob@contoso.com", EnrollOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Register(ctx, db); !errors.Is(err, directory.ErrLimit) {
		t.Errorf("register over the limit: %v", err)
	}
	if n, _ := db.CountMethods(ctx, "bob@contoso.com"); n != 1 {
		t.Errorf("bob has %d methods", n)
	}
}

func TestDefaultIssuer(t *testing.T) {
	for upn, want := range map[string]string{
		"ada@contoso.com":      "contoso.com",
		"a@b@fabrikam.example": "fabrikam.example",
		"root":                 "mfactl",
		"trailing@":            "mfactl",
		"@onlydomain.example":  "onlydomain.example",
	} {
		if got := DefaultIssuer(upn); got != want {
			t.Errorf("DefaultIssuer(%q) = %q, want %q", upn, got, want)
		}
	}
}
