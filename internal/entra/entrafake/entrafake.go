// Package entrafake is test support for the Entra ID backend: a minimal fake of the Microsoft
// identity platform (the client credential flow with a secret, which is all the command-line
// tests sign in with) and Seed, a fixed small tenant put into a graphfake server. The full
// identity fake, with certificates and the device code flow, stays in the signin package's
// tests.
package entrafake

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
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
	"time"

	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
	"github.com/mfactl/mfactl/internal/tokens"
)

// The tenant and application the fake identity platform knows.
const (
	TenantID = "11111111-2222-3333-4444-555555555555"
	Domain   = "contoso.onmicrosoft.com"
	ClientID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	Secret   = "Sup3r~Secret.Value-123"
)

// IDP is the fake identity platform. Its access tokens are graphfake.Token, so a client signed
// in through it is accepted by a graphfake server.
type IDP struct {
	*httptest.Server
	// CAPEM is the certificate of the private authority that issued the server's certificate,
	// for SSL_CERT_FILE.
	CAPEM []byte
}

// NewIDP starts the fake. Close it when done.
func NewIDP() (*IDP, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mfactl entrafake CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "fake identity platform"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, err
	}
	f := &IDP{CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	f.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.StartTLS()
	return f, nil
}

// AuthorityHost is AZURE_AUTHORITY_HOST for this fake.
func (f *IDP) AuthorityHost() string { return f.URL + "/" }

func (f *IDP) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	if len(parts) != 2 || (parts[0] != TenantID && parts[0] != Domain) {
		oauthError(w, http.StatusBadRequest, "invalid_tenant", "AADSTS90002: Tenant not found.")
		return
	}
	base := "https://" + r.Host + "/" + parts[0]
	switch rest := "/" + parts[1]; {
	case r.Method == http.MethodGet && rest == "/v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
			"issuer":                                "https://" + r.Host + "/" + TenantID + "/v2.0",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post"},
		})
	case r.Method == http.MethodPost && rest == "/oauth2/v2.0/token":
		_ = r.ParseForm()
		if r.PostForm.Get("client_id") != ClientID || r.PostForm.Get("grant_type") != "client_credentials" {
			oauthError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
			return
		}
		if r.PostForm.Get("client_secret") != Secret {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": graphfake.Token})
	default:
		http.NotFound(w, r)
	}
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// GraphCAPEM is the certificate a graphfake server presents, for SSL_CERT_FILE.
func GraphCAPEM(s *graphfake.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// The users Seed creates.
const (
	Adele = "adele.vance@contoso.com"
	Megan = "megan.bowen@contoso.com"
	Alex  = "alex.wilber@contoso.com"
	Diego = "diego.siciliani@contoso.com"
)

// Seed puts a fixed tenant into s through Graph's own calls: four users (Megan's sign-in
// blocked, Alex with a software OATH method, Diego with nothing) and four hardware tokens, one
// in each state: GALT0001 available, GALT0002 activated by Adele, GALT0003 assigned to Megan,
// YK0004 (SHA256, 60 s, another maker) failedActivation for Alex.
func Seed(ctx context.Context, s *graphfake.Server) error {
	c := graph.New(graph.Options{BaseURL: s.URL, HTTPClient: s.Client(), Tokens: graph.StaticToken(graphfake.Token)})
	no := false
	ids := map[string]string{
		Adele: s.AddUser(graph.User{UserPrincipalName: Adele, DisplayName: "Adele Vance", Mail: Adele, MobilePhone: "+1 425 555 0109"}),
		Megan: s.AddUser(graph.User{UserPrincipalName: Megan, DisplayName: "Megan Bowen", Mail: Megan, AccountEnabled: &no}),
		Alex:  s.AddUser(graph.User{UserPrincipalName: Alex, DisplayName: "Alex Wilber"}),
		Diego: s.AddUser(graph.User{UserPrincipalName: Diego, DisplayName: "Diego Siciliani"}),
	}
	s.AddMethod(ids[Alex], graph.AuthMethod{ODataType: "#microsoft.graph.softwareOathAuthenticationMethod"}, false)
	type dev struct {
		serial, maker, model, hash string
		period                     int
		owner                      string
		activate, fail             bool
	}
	devs := []dev{
		{"GALT0001", "Gemalto", "GALT-100", graph.HashSHA1, 30, "", false, false},
		{"GALT0002", "Gemalto", "GALT-100", graph.HashSHA1, 30, Adele, true, false},
		{"GALT0003", "Gemalto", "GALT-100", graph.HashSHA1, 30, Megan, false, false},
		{"YK0004", "Yubico", "YubiKey OTP", graph.HashSHA256, 60, Alex, false, true},
	}
	for i, d := range devs {
		seed := []byte(fmt.Sprintf("entrafake-seed-%05d", i))
		secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(seed)
		created, err := c.CreateDevice(ctx, graph.Device{SerialNumber: d.serial, Manufacturer: d.maker, Model: d.model,
			SecretKey: graph.Secret(secret), TimeIntervalInSeconds: graph.Seconds(d.period), HashFunction: d.hash})
		if err != nil {
			return fmt.Errorf("seeding %s: %w", d.serial, err)
		}
		if d.owner == "" {
			continue
		}
		m, err := c.AssignDevice(ctx, ids[d.owner], created.ID)
		if err != nil {
			return fmt.Errorf("seeding %s: %w", d.serial, err)
		}
		if !d.activate && !d.fail {
			continue
		}
		hash := tokens.HashSHA1
		if d.hash == graph.HashSHA256 {
			hash = tokens.HashSHA256
		}
		code, err := tokens.TOTP(seed, tokens.OTPParams{Hash: hash, Digits: 6}, tokens.Step(time.Now(), d.period))
		if err != nil {
			return err
		}
		if d.fail {
			b := []byte(code)
			for j := range b {
				b[j] = '0' + (b[j]-'0'+5)%10
			}
			code = string(b)
		}
		err = c.Activate(ctx, ids[d.owner], m.ID, code, d.serial)
		if d.activate && err != nil {
			return fmt.Errorf("seeding %s: %w", d.serial, err)
		}
	}
	return nil
}
