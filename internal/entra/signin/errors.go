package signin

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Error reports a sign-in the identity platform refused. Its message is one line: who signed
// in where, what went wrong in words, and the AADSTS code that Microsoft's documentation and
// support know it by. The response body is left out: it is long, and the code and the words
// already say what support needs.
type Error struct {
	Tenant   string
	ClientID string
	Flow     Flow
	Code     int    // the AADSTS number, 0 when the answer had none
	OAuth    string // the OAuth error ("invalid_client"), when the answer had one
	Status   int    // the HTTP status of the answer
	Reason   string
	who      string
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s: %s (AADSTS%d)", e.who, e.Reason, e.Code)
	}
	return fmt.Sprintf("%s: %s", e.who, e.Reason)
}

// reasons put the codes people meet most in words. The rest keep the platform's first sentence.
var reasons = map[int]string{
	7000215: "the client secret was refused",
	7000222: "the client secret has expired",
	700027:  "the client certificate was refused: it is not one of the application's certificates, or has expired",
	700016:  "the application was not found in the tenant",
	90002:   "the tenant was not found",
	900023:  "the tenant was not found",
	50034:   "the user was not found in the tenant",
	53003:   "conditional access blocked the sign-in",
	65001:   "the application has no consent for the permissions it asks for: an administrator must grant consent",
	7000218: "the application does not allow public client flows, which a device code sign-in needs",
	70020:   "the device code expired before the sign-in was completed",
	70000:   "the sign-in was declined",
}

var (
	aadstsRE   = regexp.MustCompile(`^AADSTS(\d+):\s*`)
	traceTagRE = regexp.MustCompile(`\s*(Trace ID|Correlation ID|Timestamp):.*$`)
)

// explain turns what azidentity returned into one line without its diagnostics dump. A refusal
// by the platform becomes an *Error; a failure to reach it names the host and the cause.
func (s *Source) explain(ctx context.Context, err error, transportErr error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", s.who(), ctx.Err())
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		return s.refusal(afe.RawResponse)
	}
	if transportErr != nil {
		return fmt.Errorf("%s: %s", s.who(), s.redact(unreachable(transportErr)))
	}
	return fmt.Errorf("%s: %s", s.who(), s.redact(oneLine(strings.TrimPrefix(err.Error(), "DeviceCodeCredential: "))))
}

// refusal reads the OAuth error answer: {"error":"invalid_client","error_description":
// "AADSTS7000215: Invalid client secret provided. ... Trace ID: ...","error_codes":[7000215]}.
func (s *Source) refusal(resp *http.Response) error {
	e := s.refusalOf(resp)
	e.Reason = s.redact(e.Reason)
	return e
}

func (s *Source) refusalOf(resp *http.Response) *Error {
	e := &Error{Tenant: s.tenant, ClientID: s.clientID, Flow: s.flow, Status: resp.StatusCode, who: s.who()}
	body, _ := runtime.Payload(resp)
	var ans struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if json.Unmarshal(body, &ans) != nil || (ans.Error == "" && ans.Description == "") {
		e.Reason = fmt.Sprintf("the sign-in server answered HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		return e
	}
	e.OAuth = ans.Error
	desc := oneLine(ans.Description)
	if len(ans.Codes) > 0 {
		e.Code = ans.Codes[0]
	} else if m := aadstsRE.FindStringSubmatch(desc); m != nil {
		e.Code, _ = strconv.Atoi(m[1])
	}
	if r, ok := reasons[e.Code]; ok {
		e.Reason = r
		return e
	}
	desc = traceTagRE.ReplaceAllString(aadstsRE.ReplaceAllString(desc, ""), "")
	if i := strings.Index(desc, ". "); i >= 0 {
		desc = desc[:i]
	}
	desc = strings.TrimSuffix(desc, ".")
	switch {
	case desc != "" && ans.Error != "":
		e.Reason = fmt.Sprintf("the sign-in was refused (%s): %s", ans.Error, desc)
	case desc != "":
		e.Reason = "the sign-in was refused: " + desc
	default:
		e.Reason = fmt.Sprintf("the sign-in was refused (%s)", ans.Error)
	}
	return e
}

// secretParamRE finds the OAuth parameters that carry a credential, as a refusal might quote
// them ("client_secret=...", "device_code: ..."); jwtRE finds a signed token (a client
// assertion, an access or ID token), whose header always starts "eyJ".
var (
	secretParamRE = regexp.MustCompile(`(?i)\b(client_secret|client_assertion|device_code|refresh_token|access_token|id_token|assertion|password|code)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;"')]+)`)
	jwtRE         = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)
)

// redact removes from text that came from the identity platform the credentials this Source
// sends (the client secret, the certificate's password), any credential-carrying parameter it
// quotes, and any signed token. The platform's real answers quote none of these; the text is
// printed, so it is not trusted to keep to that.
func (s *Source) redact(text string) string {
	for _, v := range s.secrets {
		if len(v) >= 4 {
			text = strings.ReplaceAll(text, v, "[REDACTED]")
		}
	}
	text = jwtRE.ReplaceAllString(text, "[REDACTED]")
	return secretParamRE.ReplaceAllString(text, "$1$2[REDACTED]")
}

// unreachable says why a request did not get an answer. An untrusted certificate gets the one
// hint that fixes it for a private authority.
func unreachable(err error) string {
	host := ""
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		err = ue.Err
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci):
		return fmt.Sprintf("the certificate of the sign-in server %s is not trusted: %s "+
			"(for a private certificate authority, set SSL_CERT_FILE to a file holding its certificate)", host, oneLine(err.Error()))
	case host != "":
		return fmt.Sprintf("cannot reach the sign-in server %s: %s", host, oneLine(err.Error()))
	}
	return "cannot reach the sign-in server: " + oneLine(err.Error())
}

// oneLine keeps the first line of a message, which is where every library puts its point.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// transport sends azidentity's requests with the caller's client and remembers the last
// failure to get an answer: azidentity flattens that error into text, and the message wants
// its cause (an untrusted certificate, a refused connection).
type transport struct {
	client *http.Client
}

func (t *transport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.client.Do(req)
	if err != nil {
		if rec, ok := req.Context().Value(lastErrorKey{}).(*lastError); ok {
			rec.set(err)
		}
	}
	return resp, err
}

type lastErrorKey struct{}

type lastError struct {
	mu  sync.Mutex
	err error
}

func (l *lastError) set(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

func (l *lastError) get() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
