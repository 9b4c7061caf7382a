// Package signin signs mfactl in to a Microsoft Entra ID tenant and hands out bearer tokens for
// Microsoft Graph. It chooses the flow from the variables Azure tooling already uses
// (AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH for an
// application, AZURE_CLIENT_ID alone on a terminal for an administrator with a device code) and
// leaves the protocol and the token cache to azidentity. Secrets only ever come from the
// environment, and no error or prompt carries one.
package signin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// The variables New reads. They are azidentity's EnvironmentCredential's, so a pipeline that
// already signs Azure tools in needs nothing new.
const (
	EnvClientID             = "AZURE_CLIENT_ID"
	EnvClientSecret         = "AZURE_CLIENT_SECRET"
	EnvCertificatePath      = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvCertificatePassword  = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvSendCertificateChain = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"
	EnvTenantID             = "AZURE_TENANT_ID"
	EnvAuthorityHost        = "AZURE_AUTHORITY_HOST"
	EnvGraphURL             = "MFACTL_GRAPH_URL"
)

// DefaultGraphURL is the Microsoft Graph endpoint of the global cloud.
const DefaultGraphURL = "https://graph.microsoft.com"

// requestTimeout bounds each request to the identity platform. A device code sign-in as a
// whole takes as long as the person needs; each poll is one short request.
const requestTimeout = 30 * time.Second

// publicAuthorityHosts are the sign-in hosts of the clouds whose instance metadata
// login.microsoftonline.com publishes. Any other host is a disconnected cloud or a private
// server, which instance discovery would refuse.
var publicAuthorityHosts = []string{
	cloud.AzurePublic.ActiveDirectoryAuthorityHost,
	cloud.AzureGovernment.ActiveDirectoryAuthorityHost,
	cloud.AzureChina.ActiveDirectoryAuthorityHost,
}

// Flow is the way a Source signs in.
type Flow int

const (
	FlowClientSecret      Flow = iota + 1 // an application with a client secret
	FlowClientCertificate                 // an application with a certificate
	FlowDeviceCode                        // a person, with a device code shown on the terminal
)

func (f Flow) String() string {
	switch f {
	case FlowClientSecret:
		return "client secret"
	case FlowClientCertificate:
		return "client certificate"
	case FlowDeviceCode:
		return "device code"
	}
	return "unknown"
}

// ErrNoCredentials reports an environment that names no way to sign in.
var ErrNoCredentials = errors.New("no credentials to sign in with: set " + EnvClientID + " with " +
	EnvClientSecret + " or " + EnvCertificatePath + " to sign in as an application, or " +
	EnvClientID + " alone on a terminal to sign in as an administrator with a device code")

// Options are what the caller knows and the environment does not.
type Options struct {
	// Interactive says a person is at a terminal who can complete a device code sign-in.
	Interactive bool
	// Prompt receives the device code instructions (the URL and the code). Give it stderr:
	// stdout carries the command's data.
	Prompt io.Writer
	// HTTPClient sends the sign-in requests. Nil means a client over a clone of
	// http.DefaultTransport, which trusts the system roots (and SSL_CERT_FILE).
	HTTPClient *http.Client

	retry *policy.RetryOptions // tests shorten the retries of a failing server
}

// Source signs in to one tenant and returns bearer tokens for Microsoft Graph. Its Token
// method satisfies the Graph client's TokenSource. It is safe for concurrent use.
type Source struct {
	tenant        string
	clientID      string
	flow          Flow
	authorityHost string
	scope         string
	cred          azcore.TokenCredential
	// secrets are the credentials read from the environment, removed from any text of the
	// identity platform's that a message quotes.
	secrets []string
	// expectTenantID is AZURE_TENANT_ID when it is a tenant id and the location a domain: only
	// the token can tell whether they are the same tenant.
	expectTenantID string
}

// New prepares the sign-in to tenant (a tenant id, a domain or an entra:// location) from the
// variables env returns. It reads files (the certificate) but sends nothing: the first Token
// call signs in.
func New(tenant string, env func(string) string, opts Options) (*Source, error) {
	tenant, err := ParseTenant(tenant)
	if err != nil {
		return nil, err
	}
	get := func(name string) string { return strings.TrimSpace(env(name)) }
	s := &Source{tenant: tenant, clientID: get(EnvClientID)}

	if err := s.checkTenantID(get(EnvTenantID)); err != nil {
		return nil, err
	}
	host, err := authorityHost(get(EnvAuthorityHost))
	if err != nil {
		return nil, err
	}
	s.authorityHost = host
	if s.scope, err = graphScope(get(EnvGraphURL)); err != nil {
		return nil, err
	}

	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: requestTimeout}
	}
	co := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: host, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}},
		Transport: &transport{client: client},
		Telemetry: policy.TelemetryOptions{ApplicationID: "mfactl"},
	}
	if opts.retry != nil {
		co.Retry = *opts.retry
	}
	noDiscovery := !isPublicAuthorityHost(host)

	secret, certPath := env(EnvClientSecret), get(EnvCertificatePath)
	for _, v := range []string{secret, env(EnvCertificatePassword)} {
		if v != "" {
			s.secrets = append(s.secrets, v, strings.TrimSpace(v), url.QueryEscape(v))
		}
	}
	switch {
	case s.clientID == "" && secret != "":
		return nil, fmt.Errorf("signing in to %s: %s is set but %s is not: it names the application to sign in as",
			tenant, EnvClientSecret, EnvClientID)
	case s.clientID == "" && certPath != "":
		return nil, fmt.Errorf("signing in to %s: %s is set but %s is not: it names the application to sign in as",
			tenant, EnvCertificatePath, EnvClientID)
	case s.clientID == "":
		return nil, fmt.Errorf("signing in to %s: %w", tenant, ErrNoCredentials)
	case secret != "" && certPath != "":
		return nil, fmt.Errorf("signing in to %s as application %s: both %s and %s are set: keep the one to sign in with",
			tenant, s.clientID, EnvClientSecret, EnvCertificatePath)
	case secret != "":
		s.flow = FlowClientSecret
		s.cred, err = azidentity.NewClientSecretCredential(tenant, s.clientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: noDiscovery})
	case certPath != "":
		s.flow = FlowClientCertificate
		s.cred, err = s.certificateCredential(certPath, env(EnvCertificatePassword), get(EnvSendCertificateChain), co, noDiscovery)
	case !opts.Interactive:
		return nil, fmt.Errorf("signing in to %s as application %s: neither %s nor %s is set, and a device code sign-in needs a terminal",
			tenant, s.clientID, EnvClientSecret, EnvCertificatePath)
	case opts.Prompt == nil:
		return nil, errors.New("signin: a device code sign-in needs a writer for its prompt")
	default:
		s.flow = FlowDeviceCode
		prompt := opts.Prompt
		s.cred, err = azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions:            co,
			ClientID:                 s.clientID,
			TenantID:                 tenant,
			DisableInstanceDiscovery: noDiscovery,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				// The server's words (localised) when they are printable and hold the code;
				// the terminal gets no control sequence from a server.
				msg := printable(m.Message)
				if msg == "" || !strings.Contains(msg, m.UserCode) {
					msg = printable(fmt.Sprintf("To sign in, open %s and enter the code %s.", m.VerificationURL, m.UserCode))
				}
				_, err := fmt.Fprintln(prompt, msg)
				return err
			},
		})
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.who(), err)
	}
	return s, nil
}

func (s *Source) certificateCredential(path, password, sendChain string, co azcore.ClientOptions, noDiscovery bool) (azcore.TokenCredential, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the certificate of %s: %w", EnvCertificatePath, err)
	}
	certs, key, err := azidentity.ParseCertificates(data, []byte(password))
	if err != nil {
		// The parser's message never contains the password; it says what it could not read.
		return nil, fmt.Errorf("reading the certificate %s: it must be PEM (certificate and private key) or PKCS#12 "+
			"(with %s if it has a password, and legacy 3DES encryption): %s", path, EnvCertificatePassword, oneLine(err.Error()))
	}
	return azidentity.NewClientCertificateCredential(s.tenant, s.clientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{
			ClientOptions:            co,
			DisableInstanceDiscovery: noDiscovery,
			SendCertificateChain:     sendChain == "1" || strings.EqualFold(sendChain, "true"),
		})
}

// checkTenantID holds AZURE_TENANT_ID to the location's tenant. The location wins: it is what
// the person typed for this command. Two ids or two domains must be equal; a tenant id against
// a domain can only be compared once a token names its tenant.
func (s *Source) checkTenantID(v string) error {
	if v == "" {
		return nil
	}
	id, err := ParseTenant(v)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvTenantID, err)
	}
	switch {
	case id == s.tenant:
	case IsTenantID(id) == IsTenantID(s.tenant):
		return fmt.Errorf("the location names tenant %s but %s is %s: unset %s or make them agree",
			s.tenant, EnvTenantID, id, EnvTenantID)
	case IsTenantID(id):
		s.expectTenantID = id
	}
	return nil
}

// authorityHost checks AZURE_AUTHORITY_HOST, a bare https origin; a path would be read as the
// tenant by the sign-in library.
func authorityHost(v string) (string, error) {
	if v == "" {
		return cloud.AzurePublic.ActiveDirectoryAuthorityHost, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s %q is not an https URL of a sign-in host such as %s",
			EnvAuthorityHost, v, cloud.AzurePublic.ActiveDirectoryAuthorityHost)
	}
	return "https://" + strings.ToLower(u.Host) + "/", nil
}

func isPublicAuthorityHost(host string) bool {
	for _, h := range publicAuthorityHosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// graphScope is the Graph origin's ".default" scope: the application's configured permissions
// (or the administrator's consented ones) for that resource.
func graphScope(v string) (string, error) {
	if v == "" {
		v = DefaultGraphURL
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%s %q is not an https URL such as %s", EnvGraphURL, v, DefaultGraphURL)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host) + "/.default", nil
}

// escapeRE finds terminal escape sequences: CSI (colours, cursor, clearing) and OSC (window
// title, hyperlinks), each up to its end.
var escapeRE = regexp.MustCompile("\x1b\\[[0-?]*[ -/]*[@-~]|\x1b\\][^\x07\x1b]*(\x07|\x1b\\\\)?|\x1b.?")

// printable makes text from a server one line of printable characters: escape sequences
// removed, other control characters (line breaks included) turned into spaces.
func printable(s string) string {
	s = escapeRE.ReplaceAllString(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Tenant is the tenant signed in to, as the location names it.
func (s *Source) Tenant() string { return s.tenant }

// ClientID is the application signed in as, or through for a device code.
func (s *Source) ClientID() string { return s.clientID }

// Flow is the way the Source signs in.
func (s *Source) Flow() Flow { return s.flow }

// AuthorityHost is the sign-in host, with a trailing slash.
func (s *Source) AuthorityHost() string { return s.authorityHost }

// Scope is the scope tokens are asked for.
func (s *Source) Scope() string { return s.scope }

// String says who signs in where, for --debug and messages. It holds no secret.
func (s *Source) String() string {
	return fmt.Sprintf("application %s in tenant %s by %s at %s", s.clientID, s.tenant, s.flow, s.authorityHost)
}

func (s *Source) who() string {
	if s.flow == FlowDeviceCode {
		return fmt.Sprintf("signing in to %s with a device code for application %s", s.tenant, s.clientID)
	}
	return fmt.Sprintf("signing in to %s as application %s", s.tenant, s.clientID)
}

// Token returns a bearer token for Graph. azidentity keeps it in memory and renews it shortly
// before it expires, so calling Token before every request costs nothing.
func (s *Source) Token(ctx context.Context) (string, error) {
	rec := &lastError{}
	tok, err := s.cred.GetToken(context.WithValue(ctx, lastErrorKey{}, rec),
		policy.TokenRequestOptions{Scopes: []string{s.scope}})
	if err != nil {
		return "", s.explain(ctx, err, rec.get())
	}
	if s.expectTenantID != "" {
		if tid := tokenTenant(tok.Token); tid != "" && !strings.EqualFold(tid, s.expectTenantID) {
			return "", fmt.Errorf("%s: the location names tenant %s (id %s) but %s is %s: unset %s or make them agree",
				s.who(), s.tenant, tid, EnvTenantID, s.expectTenantID, EnvTenantID)
		}
	}
	return tok.Token, nil
}

// tokenTenant reads the tid claim of a JWT access token without verifying it (Graph verifies;
// this only compares). A token that is not a JWT yields "".
func tokenTenant(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		TID string `json:"tid"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.TID
}
