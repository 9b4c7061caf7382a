package users

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strconv"
	"strings"

	"github.com/pquerna/otp"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

// EnrollStore is what enrolment needs of the directory.
type EnrollStore interface {
	GetUser(ctx context.Context, upn string) (directory.User, error)
	AddAuthApp(ctx context.Context, upn string, app directory.NewAuthApp, maxMethods int) (directory.AuthApp, error)
}

// Parameters of enrolled authenticator apps: the RFC 6238 defaults, which every
// authenticator app reads from the URI.
const (
	AppSecretSize = 20 // bytes: 160 bits, as RFC 4226 recommends for HMAC-SHA1
	AppDigits     = 6
	AppPeriod     = 30 // seconds
	AppHash       = "SHA1"
)

// DefaultAppName names authenticator apps enrolled without a name.
const DefaultAppName = "authenticator app"

// FallbackIssuer is the issuer for a UPN without a domain part.
const FallbackIssuer = "mfactl"

// QRCodeSize is the width and height in pixels of the QR code PNG: large enough for a phone
// camera to read from a screen or a printout.
const QRCodeSize = 256

// EnrollOptions adjust an enrolment; the zero value is the normal one.
type EnrollOptions struct {
	Name string // shown to admins; empty: DefaultAppName
	// Issuer labels the entry in the user's authenticator app. Empty: the UPN's domain, the
	// organisation the user recognises, or FallbackIssuer for a UPN without one.
	Issuer string
	// MaxMethods is the per-user limit of OATH methods; 0 means tokens.MaxMethods.
	MaxMethods int
	// AuditNote is added to the audit row of the registration (e.g. where the QR code went).
	AuditNote string
}

// Enrollment is an authenticator app being enrolled. It holds the new shared secret: show its
// URI or QR code to the user once and drop it; nothing else keeps the secret in the clear.
type Enrollment struct {
	// App is the stored registration; Register fills it in.
	App directory.AuthApp

	upn    string // as stored
	opts   EnrollOptions
	secret []byte
	key    *otp.Key
}

// PrepareEnrollment generates a new TOTP secret (AppSecretSize random bytes, SHA1, 6 digits,
// 30 s) for the user's authenticator app without storing anything, so that a caller can write
// the QR code first and Register only once it has. It fails early, with the store's
// *LimitError, when the user already has the maximum of OATH methods; Register checks again.
func PrepareEnrollment(ctx context.Context, st EnrollStore, upn string, opts EnrollOptions) (*Enrollment, error) {
	if opts.Name == "" {
		opts.Name = DefaultAppName
	}
	if err := CheckText("name", opts.Name); err != nil {
		return nil, err
	}
	if err := CheckText("issuer", opts.Issuer); err != nil {
		return nil, err
	}
	if strings.Contains(opts.Issuer, ":") {
		// The URI's label is issuer:account; apps split it at the first colon, encoded or not.
		return nil, errors.New("issuer contains a colon, which authenticator apps take for the end of the issuer")
	}
	if opts.MaxMethods <= 0 {
		opts.MaxMethods = tokens.MaxMethods
	}
	u, err := st.GetUser(ctx, upn)
	if err != nil {
		return nil, wrap("enrolling an authenticator app for", upn, err)
	}
	if u.Methods >= opts.MaxMethods {
		return nil, &directory.LimitError{UPN: u.UPN, Limit: opts.MaxMethods}
	}
	if opts.Issuer == "" {
		opts.Issuer = DefaultIssuer(u.UPN)
	}
	secret := make([]byte, AppSecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generating a secret: %w", err)
	}
	// The URI is built here rather than by totp.Generate, which leaves "&", "=" and "+" of the
	// issuer and UPN unescaped: "Contoso IT & Co" ended the issuer parameter at "&", and apps
	// that decode "+" as a space showed o+x@contoso.com as "o x@contoso.com".
	uri := "otpauth://totp/" + uriEscape(opts.Issuer, "") + ":" + uriEscape(u.UPN, "@") +
		"?algorithm=" + AppHash + "&digits=" + strconv.Itoa(AppDigits) + "&issuer=" + uriEscape(opts.Issuer, "") +
		"&period=" + strconv.Itoa(AppPeriod) + "&secret=" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("generating the TOTP key: %w", err)
	}
	return &Enrollment{upn: u.UPN, opts: opts, secret: secret, key: key}, nil
}

// uriEscape percent-encodes every byte of s but the unreserved characters of RFC 3986 and
// those in keep, so that no reader of the URI can take it for a delimiter or a space.
func uriEscape(s, keep string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// DefaultIssuer is the issuer for a UPN: its domain, or FallbackIssuer when it has none.
func DefaultIssuer(upn string) string {
	if i := strings.LastIndexByte(upn, '@'); i >= 0 && i < len(upn)-1 {
		return upn[i+1:]
	}
	return FallbackIssuer
}

// URI returns the otpauth:// URI an authenticator app reads (it contains the secret).
func (e *Enrollment) URI() string { return e.key.String() }

// Issuer returns the issuer in the URI.
func (e *Enrollment) Issuer() string { return e.opts.Issuer }

// QRCodePNG returns the URI as a QR code PNG of QRCodeSize pixels (it contains the secret).
func (e *Enrollment) QRCodePNG() ([]byte, error) {
	img, err := e.key.Image(QRCodeSize, QRCodeSize)
	if err != nil {
		return nil, fmt.Errorf("drawing the QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding the QR code: %w", err)
	}
	return buf.Bytes(), nil
}

// ErrRegistered means Register was called twice on one Enrollment.
var ErrRegistered = errors.New("enrolment already registered")

// Register stores the authenticator app: its secret sealed under the master key, its
// parameters, and the method limit checked in the same transaction. On success e.App holds
// the registration.
func (e *Enrollment) Register(ctx context.Context, st EnrollStore) (directory.AuthApp, error) {
	if e.App.ID != "" {
		return directory.AuthApp{}, ErrRegistered
	}
	app, err := st.AddAuthApp(ctx, e.upn, directory.NewAuthApp{
		Name: e.opts.Name, Issuer: e.opts.Issuer, Secret: e.secret,
		Hash: AppHash, Digits: AppDigits, Period: AppPeriod, AuditNote: e.opts.AuditNote,
	}, e.opts.MaxMethods)
	if err != nil {
		return directory.AuthApp{}, wrap("enrolling an authenticator app for", e.upn, err)
	}
	e.App = app
	return app, nil
}

// EnrollApp prepares and registers an authenticator app in one step.
func EnrollApp(ctx context.Context, st EnrollStore, upn string, opts EnrollOptions) (*Enrollment, error) {
	e, err := PrepareEnrollment(ctx, st, upn, opts)
	if err != nil {
		return nil, err
	}
	if _, err := e.Register(ctx, st); err != nil {
		return nil, err
	}
	return e, nil
}
