package signin

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test process trusts one private certificate authority, through SSL_CERT_FILE, set before
// anything reads the system roots (Go reads them once per process). Every fake server's
// certificate is issued by it, for 127.0.0.1 and for the public clouds' sign-in hosts, so a
// request that a redirecting dialer sends to a fake instead of Microsoft still verifies.
var (
	testCA      *x509.Certificate
	testCAKey   crypto.Signer
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
	testCA, testCAKey = newCA("mfactl test CA")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testCA.Raw}), 0o600); err != nil {
		panic(err)
	}
	os.Setenv("SSL_CERT_FILE", caFile)
	os.Unsetenv("SSL_CERT_DIR")
	// azidentity reads these from the process environment, beside the env func New is given.
	os.Unsetenv("AZURE_AUTHORITY_HOST")
	os.Unsetenv("AZURE_REGIONAL_AUTHORITY_NAME")
	serverCert = issue(testCA, testCAKey)
	rogueCA, rogueKey := newCA("rogue CA")
	rogueCert = issue(rogueCA, rogueKey)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newCA(name string) (*x509.Certificate, crypto.Signer) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert, key
}

func issue(ca *x509.Certificate, caKey crypto.Signer) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "fake identity platform"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost", "login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

const (
	fakeTenantID  = "11111111-2222-3333-4444-555555555555"
	fakeDomain    = "contoso.onmicrosoft.com"
	fakeClientID  = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	fakeSecret    = "Sup3r~Secret.Value-123"
	fakeUserCode  = "FAKECODE1"
	fakeDevice    = "device-code-opaque-value"
	graphDefault  = "https://graph.microsoft.com/.default"
	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// fakeIDP plays the Microsoft identity platform for one tenant, known by its id and its
// domain: the tenant's OpenID configuration, the v2.0 token endpoint (client credentials with
// a secret or a certificate's signed assertion, and the device code grant) and the device code
// endpoint. It records every request, including any that should never be made.
type fakeIDP struct {
	srv      *httptest.Server
	clientID string
	secret   string
	cert     *x509.Certificate // the application's certificate, nil when it has none

	mu       sync.Mutex
	requests []string // "METHOD host path"
	scopes   []string
	polls    int
}

func newFakeIDP(t *testing.T, cert tls.Certificate) *fakeIDP {
	t.Helper()
	f := &fakeIDP{clientID: fakeClientID, secret: fakeSecret}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// host is AZURE_AUTHORITY_HOST for this fake.
func (f *fakeIDP) host() string { return f.srv.URL + "/" }

func (f *fakeIDP) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// redirectingClient sends every connection, whatever its host, to the fake, as a resolver
// would that points Microsoft's names at it; TLS still verifies the host name against the
// system roots (our CA). So a request meant for login.microsoftonline.com is seen and recorded.
func (f *fakeIDP) redirectingClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	addr := f.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func (f *fakeIDP) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.Host+" "+r.URL.Path)
	f.mu.Unlock()

	if r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance" {
		// What login.microsoftonline.com answers: where the tenant's configuration is and
		// which hosts are the same cloud.
		writeJSON(w, http.StatusOK, map[string]any{
			"tenant_discovery_endpoint": "https://" + r.Host + "/{tenant}/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata": []map[string]any{{
				"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
				"aliases": []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"},
			}},
		})
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := parts[0], "/"+parts[1]
	if tenant != fakeTenantID && tenant != fakeDomain {
		oauthError(w, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := "https://" + r.Host + "/" + tenant
	switch {
	case r.Method == http.MethodGet && rest == "/v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
			"issuer":                                "https://" + r.Host + "/" + fakeTenantID + "/v2.0",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		})
	case r.Method == http.MethodPost && rest == "/oauth2/v2.0/devicecode":
		_ = r.ParseForm()
		if r.PostForm.Get("client_id") != f.clientID {
			oauthError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+r.PostForm.Get("client_id")+"' was not found in the directory 'Contoso'.")
			return
		}
		f.noteScope(r.PostForm.Get("scope"))
		writeJSON(w, http.StatusOK, map[string]any{
			"user_code":        fakeUserCode,
			"device_code":      fakeDevice,
			"verification_uri": "https://microsoft.com/devicelogin",
			"expires_in":       900,
			"interval":         1,
			"message":          "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code " + fakeUserCode + " to authenticate.",
		})
	case r.Method == http.MethodPost && rest == "/oauth2/v2.0/token":
		f.token(w, r, base+"/oauth2/v2.0/token")
	default:
		http.NotFound(w, r)
	}
}

// setCert registers the application's certificate; the server goroutines read it under f.mu.
func (f *fakeIDP) setCert(c *x509.Certificate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cert = c
}

// counts returns how often the device code was polled and the scopes asked for.
func (f *fakeIDP) counts() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls, append([]string(nil), f.scopes...)
}

func (f *fakeIDP) noteScope(s string) {
	f.mu.Lock()
	f.scopes = append(f.scopes, s)
	f.mu.Unlock()
}

func (f *fakeIDP) token(w http.ResponseWriter, r *http.Request, endpoint string) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	form := r.PostForm
	if form.Get("client_id") != f.clientID {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '"+form.Get("client_id")+"' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.")
		return
	}
	f.noteScope(strings.Fields(form.Get("scope"))[0])
	switch form.Get("grant_type") {
	case "client_credentials":
		switch {
		case form.Get("client_secret") != "":
			if form.Get("client_secret") != f.secret {
				oauthError(w, http.StatusUnauthorized, "invalid_client", 7000215,
					"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+f.clientID+"'.")
				return
			}
		case form.Get("client_assertion_type") == assertionType:
			if err := f.checkAssertion(form.Get("client_assertion"), endpoint); err != nil {
				oauthError(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation. "+err.Error())
				return
			}
		default:
			oauthError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
			"access_token": fakeJWT(map[string]any{"aud": "https://graph.microsoft.com", "tid": fakeTenantID, "appid": f.clientID, "roles": []string{"Policy.ReadWrite.AuthenticationMethod"}}),
		})
	case "device_code":
		if form.Get("device_code") != fakeDevice {
			oauthError(w, http.StatusBadRequest, "invalid_grant", 70019, "Verification code expired.")
			return
		}
		f.mu.Lock()
		f.polls++
		first := f.polls == 1
		f.mu.Unlock()
		if first {
			oauthError(w, http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
			return
		}
		clientInfo := base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"99999999-0000-0000-0000-000000000001","utid":"` + fakeTenantID + `"}`))
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "scope": graphDefault,
			"access_token":  fakeJWT(map[string]any{"aud": "https://graph.microsoft.com", "tid": fakeTenantID, "upn": "admin@" + fakeDomain}),
			"refresh_token": "refresh-opaque",
			"client_info":   clientInfo,
			"id_token": fakeJWT(map[string]any{
				"aud": f.clientID, "iss": "https://" + r.Host + "/" + fakeTenantID + "/v2.0", "tid": fakeTenantID,
				"oid": "99999999-0000-0000-0000-000000000001", "preferred_username": "admin@" + fakeDomain,
				"iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
			}),
		})
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+form.Get("grant_type")+"'.")
	}
}

// checkAssertion verifies a client assertion as the platform does: a JWT signed by the key of
// the registered certificate (PS256, named by its SHA-256 thumbprint), for this token endpoint,
// issued by and about the application, and not expired.
func (f *fakeIDP) checkAssertion(assertion, endpoint string) error {
	f.mu.Lock()
	cert := f.cert
	f.mu.Unlock()
	if cert == nil {
		return fmt.Errorf("no certificate registered")
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		X5t string `json:"x5t#S256"`
	}
	var claims struct {
		Aud string  `json:"aud"`
		Iss string  `json:"iss"`
		Sub string  `json:"sub"`
		Exp float64 `json:"exp"`
		Jti string  `json:"jti"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return err
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return err
	}
	thumb := sha256.Sum256(cert.Raw)
	switch {
	case header.Alg != "PS256":
		return fmt.Errorf("alg %q", header.Alg)
	case header.X5t != base64.StdEncoding.EncodeToString(thumb[:]):
		return fmt.Errorf("unknown certificate thumbprint")
	case claims.Aud != endpoint:
		return fmt.Errorf("aud %q, want %q", claims.Aud, endpoint)
	case claims.Iss != f.clientID || claims.Sub != f.clientID:
		return fmt.Errorf("iss %q sub %q", claims.Iss, claims.Sub)
	case time.Unix(int64(claims.Exp), 0).Before(time.Now()):
		return fmt.Errorf("expired")
	case claims.Jti == "":
		return fmt.Errorf("no jti")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("not an RSA certificate")
	}
	return rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// oauthError answers as the platform does, with the code in the description and in error_codes.
func oauthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	now := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	writeJSON(w, status, map[string]any{
		"error": code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: 0f0e0d0c-0000-4000-8000-000000000001 "+
			"Correlation ID: 0f0e0d0c-0000-4000-8000-000000000002 Timestamp: %s", aadsts, desc, now),
		"error_codes":    []int{aadsts},
		"timestamp":      now,
		"trace_id":       "0f0e0d0c-0000-4000-8000-000000000001",
		"correlation_id": "0f0e0d0c-0000-4000-8000-000000000002",
		"error_uri":      "https://login.microsoftonline.com/error?code=" + fmt.Sprint(aadsts),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeJWT builds an unsigned-looking token with the given claims: the client reads claims from
// it (tid) but never verifies it, as Graph is the one that does.
func fakeJWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2lnbmF0dXJl"
}
