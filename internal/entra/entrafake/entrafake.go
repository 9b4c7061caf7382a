// Package entrafake is test support for the Entra ID backend: the fake identity platform
// (idpfake, shared with the signin package's tests) set up for the command-line scripts, and
// Seed, a fixed small tenant put into a graphfake server.
package entrafake

import (
	"context"
	"encoding/base32"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/mfactl/mfactl/internal/entra/signin/idpfake"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
	"github.com/mfactl/mfactl/internal/tokens"
)

// The tenant and application the fake identity platform knows.
const (
	TenantID = idpfake.TenantID
	Domain   = idpfake.Domain
	ClientID = idpfake.ClientID
	Secret   = idpfake.Secret
)

// IDP is the fake identity platform. Its access tokens are graphfake.Token, so a client signed
// in through it is accepted by a graphfake server.
type IDP struct {
	*idpfake.Server
	// CAPEM is the certificate of the private authority that issued the server's certificate,
	// for SSL_CERT_FILE.
	CAPEM []byte
}

// NewIDP starts the fake, with a certificate from a private authority of its own. Close it
// when done.
func NewIDP() (*IDP, error) {
	ca, err := idpfake.NewCA("mfactl entrafake CA")
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue()
	if err != nil {
		return nil, err
	}
	return &IDP{Server: idpfake.New(cert, idpfake.Options{AccessToken: graphfake.Token}), CAPEM: ca.PEM()}, nil
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
