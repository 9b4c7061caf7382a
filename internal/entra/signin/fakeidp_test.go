package signin

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/mfactl/mfactl/internal/entra/signin/idpfake"
)

// The test process trusts one private certificate authority, through SSL_CERT_FILE, set before
// anything reads the system roots (Go reads them once per process). Every fake server's
// certificate is issued by it, for 127.0.0.1 and for the public clouds' sign-in hosts, so a
// request that a redirecting dialer sends to a fake instead of Microsoft still verifies.
var (
	testCA      *idpfake.CA
	serverCert  tls.Certificate
	rogueCert   tls.Certificate // issued by a CA nobody trusts
	testDataDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "signin-test-")
	if err != nil {
		panic(err)
	}
	testDataDir = dir
	if testCA, err = idpfake.NewCA("mfactl test CA"); err != nil {
		panic(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, testCA.PEM(), 0o600); err != nil {
		panic(err)
	}
	os.Setenv("SSL_CERT_FILE", caFile)
	os.Unsetenv("SSL_CERT_DIR")
	// azidentity reads these from the process environment, beside the env func New is given.
	os.Unsetenv("AZURE_AUTHORITY_HOST")
	os.Unsetenv("AZURE_REGIONAL_AUTHORITY_NAME")
	serverCert = must(testCA.Issue())
	rogueCA := must(idpfake.NewCA("rogue CA"))
	rogueCert = must(rogueCA.Issue())
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

const (
	fakeTenantID = idpfake.TenantID
	fakeDomain   = idpfake.Domain
	fakeClientID = idpfake.ClientID
	fakeSecret   = idpfake.Secret
	fakeUserCode = idpfake.UserCode
	graphDefault = idpfake.GraphScope
)

// fakeIDP is the shared fake of the identity platform (idpfake) under the names these tests
// use.
type fakeIDP struct {
	*idpfake.Server
	srv *httptest.Server
}

func newFakeIDP(t *testing.T, cert tls.Certificate) *fakeIDP {
	t.Helper()
	s := idpfake.New(cert, idpfake.Options{})
	t.Cleanup(s.Close)
	return &fakeIDP{Server: s, srv: s.Server}
}

// host is AZURE_AUTHORITY_HOST for this fake.
func (f *fakeIDP) host() string { return f.AuthorityHost() }

func (f *fakeIDP) log() []string { return f.Requests() }

func (f *fakeIDP) redirectingClient() *http.Client { return f.RedirectingClient() }

func (f *fakeIDP) setCert(c *x509.Certificate) { f.SetCertificate(c) }

// counts returns how often the device code was polled and the scopes asked for.
func (f *fakeIDP) counts() (int, []string) { return f.Polls(), f.Scopes() }
