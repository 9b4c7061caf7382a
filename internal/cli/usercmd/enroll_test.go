package usercmd_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/mfactl/mfactl/internal/directory"
)

type enrolled struct {
	ID        string `json:"id"`
	UPN       string `json:"upn"`
	Name      string `json:"name"`
	Issuer    string `json:"issuer"`
	URI       string `json:"uri"`
	CreatedAt string `json:"created_at"`
}

func TestEnrollAppCommand(t *testing.T) {
	e := newRegEnv(t)
	db := e.db()
	ctx := context.Background()
	seedUsers(t, db, "Ada@contoso.com")
	seedTokens(t, db, "ada@contoso.com", 1, 3)
	e.mustRun("users", "reset", "--yes", "ada@contoso.com")
	seedTokens(t, db, "ada@contoso.com", 10, 3)

	qrPath := filepath.Join(e.dir, "ada.png")
	r := e.run("", false, "users", "enroll-app", "ADA@contoso.com", "--name", "Ada's phone", "--qr", qrPath, "-o", "json")
	wantErr := "mfactl: wrote the QR code to " + qrPath + "; delete it once the user has scanned it\nmfactl: the URI holds the secret and is shown only this once\n"
	if r.code != 0 || r.errOut != wantErr {
		t.Fatalf("enroll: %d\n%s", r.code, r.errOut)
	}
	var got enrolled
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.UPN != "Ada@contoso.com" || got.Name != "Ada's phone" || got.Issuer != "contoso.com" || got.CreatedAt != "2026-03-01T12:00:00Z" ||
		!regexp.MustCompile(`^[a-z2-7]{16}$`).MatchString(got.ID) {
		t.Fatalf("enrolled %+v", got)
	}
	key, err := otp.NewKeyFromURL(got.URI)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^otpauth://totp/contoso\.com:Ada@contoso\.com\?algorithm=SHA1&digits=6&issuer=contoso\.com&period=30&secret=[A-Z2-7]{32}$`).MatchString(got.URI) {
		t.Errorf("URI %s", regexp.MustCompile(`secret=\w+`).ReplaceAllString(got.URI, "secret=..."))
	}

	// The app verifies: the directory holds the URI's secret (sealed) for the verifier, with
	// the URI's parameters, and a code from the user's app matches it.
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret())
	if err != nil || len(secret) != 20 {
		t.Fatalf("secret: %d bytes, %v", len(secret), err)
	}
	subj, err := db.AuthSubject(ctx, "ada@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	var app *directory.OATHMethod
	for i, m := range subj.Methods {
		if m.Kind == directory.MethodApp && m.AppID == got.ID {
			app = &subj.Methods[i]
		}
	}
	if app == nil || !bytes.Equal(app.Secret, secret) || app.Hash != "SHA1" || app.Digits != 6 || app.Period != 30 || app.LastStep != 0 {
		t.Fatalf("the verifier's view of the app: %+v", app)
	}
	code, _ := totp.GenerateCode(key.Secret(), regNow)
	ok, _ := totp.ValidateCustom(code, base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(app.Secret), regNow,
		totp.ValidateOpts{Period: uint(app.Period), Digits: otp.Digits(app.Digits), Algorithm: otp.AlgorithmSHA1})
	if !ok {
		t.Error("a code from the enrolled app does not verify against the stored secret")
	}
	if u, _ := db.GetUser(ctx, "ada@contoso.com"); u.MustRegister || u.Methods != 4 {
		t.Errorf("after enrolment %+v", u)
	}
	// And through the command line, as a sign-in would: once, not twice.
	r = e.run("", false, "auth", "verify", "ada@contoso.com", code, "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"result_code": "SUCCESS_OATH_CODE_VERIFIED"`) || !strings.Contains(r.out, `"device_token": "`+got.ID+`"`) {
		t.Errorf("auth verify with a code from the app: %d\n%s%s", r.code, r.out, r.errOut)
	}
	r = e.run("", false, "auth", "verify", "ada@contoso.com", code, "-o", "json")
	if r.code != 1 || !strings.Contains(r.out, `"result_code": "FAILED_OATH_CODE_DUPLICATE"`) {
		t.Errorf("the same code again: %d\n%s%s", r.code, r.out, r.errOut)
	}

	// The QR code: mode 0600, a PNG of the URI, no temporary file left beside it.
	st, err := os.Stat(qrPath)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("QR code mode %v", st.Mode().Perm())
	}
	data, _ := os.ReadFile(qrPath)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := key.Image(256, 256)
	if !sameImage(img, want) {
		t.Error("the QR code is not the URI's")
	}
	if entries, _ := os.ReadDir(e.dir); len(entries) != 5 { // db, wal, shm, key, png
		t.Errorf("files left in the directory: %v", entries)
	}

	// The fifth method in table form; the sixth is refused before any QR code is written.
	r = e.run("", false, "users", "enroll-app", "ada@contoso.com", "-q")
	lines := strings.Split(r.out, "\n")
	if r.code != 0 || r.errOut != "" || len(lines) != 3 || !regexp.MustCompile(`^ID +UPN +NAME +ISSUER +URI +CREATED AT$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^[a-z2-7]{16}  Ada@contoso\.com  authenticator app  contoso\.com  otpauth://totp/\S+  2026-03-01T12:00:00Z$`).MatchString(lines[1]) {
		t.Fatalf("fifth: %d %q %q", r.code, r.out, r.errOut)
	}
	second := strings.Fields(lines[1])[0]
	sixth := filepath.Join(e.dir, "sixth.png")
	expect(t, "sixth", e.run("", false, "users", "enroll-app", "ada@contoso.com", "--qr", sixth), 1, "",
		"mfactl: error: user Ada@contoso.com already has 5 OATH methods (the limit)\n")
	if _, err := os.Stat(sixth); !os.IsNotExist(err) {
		t.Errorf("a refused enrolment wrote its QR code: %v", err)
	}

	// A QR code that cannot be written: nothing is registered.
	seedUsers(t, db, "bob@contoso.com")
	expect(t, "unwritable QR", e.run("", false, "users", "enroll-app", "bob@contoso.com", "--qr", filepath.Join(e.dir, "nodir", "x.png")), 1, "",
		"mfactl: error: writing the QR code "+filepath.Join(e.dir, "nodir", "x.png")+": no such file or directory\n")
	if n, _ := db.CountMethods(ctx, "bob@contoso.com"); n != 0 {
		t.Errorf("bob has %d methods after a failed enrolment", n)
	}

	// One that fails only after the app is registered (the name is a directory): the URI is
	// still printed, since it is the only copy, and the error says what happened.
	var bobApp string
	if runtime.GOOS == "linux" {
		dirAsFile := filepath.Join(e.dir, "adir")
		if err := os.MkdirAll(filepath.Join(dirAsFile, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		r := e.run("", false, "users", "enroll-app", "bob@contoso.com", "--qr", dirAsFile, "-q", "-o", "json")
		if r.code != 1 || !strings.Contains(r.out, `"uri": "otpauth://totp/contoso.com:bob@contoso.com?`) ||
			r.errOut != "mfactl: error: the app was registered but writing the QR code "+dirAsFile+" failed (use the URI): file exists\n" {
			t.Errorf("late QR failure: %d\n%s%s", r.code, r.out, r.errOut)
		}
		apps, _ := db.ListAuthApps(ctx, "bob@contoso.com")
		if len(apps) != 1 || !strings.Contains(r.out, `"id": "`+apps[0].ID+`"`) {
			t.Fatalf("bob's apps %+v", apps)
		}
		bobApp = apps[0].ID
		if entries, _ := os.ReadDir(e.dir); len(entries) != 6 { // a temporary file would be a seventh
			t.Errorf("files left in the directory: %v", entries)
		}
		if _, err := db.ResetRegistrations(ctx, []string{"bob@contoso.com"}, false); err != nil {
			t.Fatal(err)
		}
	}

	expect(t, "unknown user", e.run("", false, "users", "enroll-app", "nobody@contoso.com"), 1, "", "mfactl: error: user nobody@contoso.com not found\n")
	expect(t, "QR to stdout", e.run("", false, "users", "enroll-app", "bob@contoso.com", "--qr", "-"), 2, "",
		"mfactl: error: --qr: want a file name for the PNG (it is never written to standard output)\nRun 'mfactl users enroll-app --help' for usage.\n")
	expect(t, "bad issuer", e.run("", false, "users", "enroll-app", "bob@contoso.com", "--issuer", "a\tb"), 2, "",
		"mfactl: error: --issuer contains U+0009 CHARACTER TABULATION, a control character\nRun 'mfactl users enroll-app --help' for usage.\n")
	expect(t, "colon in issuer", e.run("", false, "users", "enroll-app", "bob@contoso.com", "--issuer", "Contoso: IT"), 2, "",
		"mfactl: error: --issuer: contains a colon, which authenticator apps take for the end of the issuer\nRun 'mfactl users enroll-app --help' for usage.\n")

	// Audit: the enrolments and the refusal, never the URI or secret.
	wantAudit := []string{
		"users reset|Ada@contoso.com|success|must_register set; tokens unassigned: SN0001 (assigned), SN0002 (assigned), SN0003 (assigned); authenticator apps removed: none; app passwords kept: 0",
		"users enroll-app|Ada@contoso.com|success|enrolled authenticator app " + got.ID + " (Ada's phone), issuer contoso.com, QR code written to " + qrPath,
		"users enroll-app|Ada@contoso.com|success|enrolled authenticator app " + second + " (authenticator app), issuer contoso.com",
		"users enroll-app|ada@contoso.com|failure|user Ada@contoso.com already has 5 OATH methods (the limit)",
	}
	if runtime.GOOS == "linux" {
		// Registered with the code written to its temporary name, which then could not take
		// the place of a folder: a second row says so.
		wantAudit = append(wantAudit,
			"users enroll-app|bob@contoso.com|success|enrolled authenticator app "+bobApp+" (authenticator app), issuer contoso.com, QR code written to "+filepath.Join(e.dir, "adir"),
			"users enroll-app|bob@contoso.com|failure|QR code not written to "+filepath.Join(e.dir, "adir"))
	}
	wantAudit = append(wantAudit, "users enroll-app|nobody@contoso.com|failure|user nobody@contoso.com not found")
	equalLines(t, "audit", auditRows(t, db), wantAudit)
	// The secret is on disk only sealed.
	var all []byte
	for _, name := range []string{e.dbPath, e.dbPath + "-wal"} {
		data, _ := os.ReadFile(name)
		all = append(all, data...)
	}
	if !bytes.Contains(all, []byte("Ada's phone")) || bytes.Contains(all, secret) || bytes.Contains(all, []byte(key.Secret())) {
		t.Error("the database holds the authenticator secret in the clear (or the scan sees nothing)")
	}
}

// TestEnrollCountsTowardTheLimit adds methods through every path the command line has and
// checks the limit of five holds across them.
func TestEnrollCountsTowardTheLimit(t *testing.T) {
	e := newRegEnv(t)
	db := e.db()
	ctx := context.Background()
	seedUsers(t, db, "Ada@contoso.com")
	for range 5 {
		e.mustRun("users", "enroll-app", "ada@contoso.com", "-q")
	}
	// Five apps: no hardware token may be added by assignment or import either.
	seedTokens(t, db, "", 1, 1)
	if _, err := db.AssignToken(ctx, "SN0001", "ada@contoso.com", false, 0); err == nil || err.Error() != "user Ada@contoso.com already has 5 OATH methods (the limit)" {
		t.Errorf("assign: %v", err)
	}
	src := func(yield func(directory.ImportRow, error) bool) {
		yield(directory.ImportRow{Line: 2, Serial: "SN0002", UPN: "ada@contoso.com", Secret: []byte("another-secret-12345"), Period: 30, Digits: 6, Hash: "SHA1"}, nil)
	}
	res, err := db.ImportTokens(ctx, src, directory.ImportOptions{})
	if err == nil || len(res.Problems) != 1 || res.Problems[0].Code != directory.CodeUserLimit {
		t.Errorf("import: %+v %v", res, err)
	}
	// A reset frees the slots for a new registration.
	e.mustRun("users", "reset", "--yes", "ada@contoso.com")
	e.mustRun("users", "enroll-app", "ada@contoso.com")
	if n, _ := db.CountMethods(ctx, "ada@contoso.com"); n != 1 {
		t.Errorf("%d methods", n)
	}
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}
