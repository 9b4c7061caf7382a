package users

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"testing"

	"github.com/pquerna/otp"
)

// The otpauth URI escapes what its readers would take for a delimiter: "&" and "=" of the
// issuer ended its query parameter, and "+" of a UPN reads as a space in some apps. A colon in
// the issuer cannot be expressed (apps split the label at it) and is refused.
func TestEnrollAppURIEscapes(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	addUsers(t, db, "o+x@contoso.com")
	e, err := EnrollApp(ctx, db, "o+x@contoso.com", EnrollOptions{Issuer: "IT & Co = #1 +/?"})
	if err != nil {
		t.Fatal(err)
	}
	uri := e.URI()
	const esc = `IT%20%26%20Co%20%3D%20%231%20%2B%2F%3F`
	if !regexp.MustCompile(`^otpauth://totp/` + esc + `:o%2Bx@contoso\.com\?algorithm=SHA1&digits=6&issuer=` + esc + `&period=30&secret=[A-Z2-7]{32}$`).MatchString(uri) {
		t.Fatalf("URI %s", uri)
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if len(q) != 5 || q.Get("issuer") != "IT & Co = #1 +/?" || u.Path != "/IT & Co = #1 +/?:o+x@contoso.com" {
		t.Fatalf("parsed back: path %q, query %v", u.Path, q)
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil || key.Issuer() != "IT & Co = #1 +/?" || key.AccountName() != "o+x@contoso.com" || key.URL() != uri {
		t.Fatalf("key %v: issuer %q, account %q, URL %q", err, key.Issuer(), key.AccountName(), key.URL())
	}
	if e.App.Issuer != "IT & Co = #1 +/?" {
		t.Fatalf("stored issuer %q", e.App.Issuer)
	}

	_, err = EnrollApp(ctx, db, "o+x@contoso.com", EnrollOptions{Issuer: "Contoso: IT"})
	if err == nil || err.Error() != "issuer contains a colon, which authenticator apps take for the end of the issuer" {
		t.Fatalf("colon in issuer: %v", err)
	}
	if apps, err := db.ListAuthApps(ctx, "o+x@contoso.com"); err != nil || len(apps) != 1 {
		t.Fatalf("apps %+v, %v", apps, errors.Join(err))
	}
}
