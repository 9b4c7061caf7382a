// Package graphfake is an in-process fake of the Microsoft Graph endpoints the graph package
// calls, for tests: hardware OATH inventory and assignment (beta), users, their
// authentication methods and sign-in preferences, session revocation, and the registration,
// sign-in and audit reports.
//
// It serves HTTPS (httptest.NewTLSServer: use Server.Client) and keeps an in-memory store
// that follows the documented lifecycle of a hardware token: created available; assigned;
// activated with a code checked as a real TOTP against the token's secret (failedActivation
// otherwise); deactivated back to assigned; unassigned back to available; deleted or updated
// only while unassigned. Secrets are never returned. A user's default method cannot be
// deleted while others exist, and a user holds at most 5 OATH tokens (hardware and software).
//
// Knobs make it misbehave the ways Graph does: small pages, throttling with Retry-After, a
// refused bulk create, the Nth request failing (500, 503, 504, a dropped connection before or
// after the change), slow answers, a tenant without P1/P2, a missing permission. Every request
// is recorded for assertions.
//
// Where Graph's behaviour is not documented the fake picks one answer, said at the place it
// does so; docs/entra.md lists these choices.
package graphfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/mfactl/mfactl/internal/graph"
)

// Token is the only bearer token the fake accepts; anything else gets 401.
const Token = "graphfake-token"

// DefaultPageSize is the page size when none is set: Graph's usual default for these lists.
const DefaultPageSize = 100

// Failure is how a request chosen with FailAt fails.
type Failure int

// Failures.
const (
	Fail500 Failure = iota + 1
	Fail503
	Fail504
	// FailDrop closes the connection before the request does anything.
	FailDrop
	// FailDropAfter applies the request, then closes the connection without an answer: the
	// client cannot know the outcome.
	FailDropAfter
)

// Request is one request the fake received.
type Request struct {
	N               int    // 1-based order of arrival
	Method          string // HTTP method
	Path            string // URL path, e.g. /beta/directory/...
	Query           string // raw query
	ClientRequestID string // the client-request-id header ("" when absent)
	Status          int    // status answered (0 for a dropped connection)
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	now      func() time.Time
	pageSize int
	window   int64 // activation window in steps each way; 0 means ActivationWindow

	devices []*device // in creation order
	users   []*user
	signIns []graph.SignIn
	audits  []graph.DirectoryAudit
	regs    []graph.RegistrationDetails

	requests   []Request
	failures   map[int]Failure
	throttleN  int
	throttleRA string
	bucket     *bucket
	bulkStatus int
	noPremium  bool
	denied     []rule
	delays     []delay
	revoke204  bool
	echo       bool
}

type rule struct{ method, prefix string }

type delay struct {
	rule
	d time.Duration
}

// New starts a fake. Close it when done (t.Cleanup(s.Close)).
func New() *Server {
	s := &Server{now: time.Now, pageSize: DefaultPageSize, failures: map[int]Failure{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Clients that give up (the timeout tests) make the server log handshake errors: noise.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	return s
}

// SetActivationWindow narrows the steps each way within which an activation code is
// accepted (ActivationWindow by default, as documented for Entra ID). Tests that send a wrong
// code on the real clock narrow it: over 5,761 steps a wrong 6-digit code matches about once
// in 170 tries.
func (s *Server) SetActivationWindow(steps int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.window = int64(steps)
}

// SetNow replaces the fake's clock (throttling, activation window, timestamps).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetPageSize sets the number of items per page of every listing.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = max(n, 1)
}

// Throttle limits the fake to perSecond requests per second (a token bucket of that size,
// refilled continuously on the fake's clock); a request over the limit gets 429 with a
// Retry-After of the seconds until a token is free. 0 turns throttling off.
func (s *Server) Throttle(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond <= 0 {
		s.bucket = nil
		return
	}
	s.bucket = &bucket{size: float64(perSecond), tokens: float64(perSecond), at: s.now()}
}

// ThrottleNext answers the next n requests with 429 and the given Retry-After header (none
// when retryAfter is empty).
func (s *Server) ThrottleNext(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleN, s.throttleRA = n, retryAfter
}

// FailAt makes the nth request (1-based, counted over all requests since New) fail.
func (s *Server) FailAt(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[n] = f
}

// RefuseBulk answers the bulk create (PATCH of the device collection) with status (405 when
// 0), as a tenant or API version without it would.
func (s *Server) RefuseBulk(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		status = http.StatusMethodNotAllowed
	}
	s.bulkStatus = status
}

// SetPremium says whether the tenant has Entra ID P1/P2; without, the reports and the sign-in
// log answer 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant. Premium is on by
// default.
func (s *Server) SetPremium(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noPremium = !on
}

// Deny answers 403 Authorization_RequestDenied to requests of method ("" for any) whose path,
// without the version, starts with prefix (e.g. "/directory/authenticationMethodDevices"): the
// app lacks the permission.
func (s *Server) Deny(method, prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied = append(s.denied, rule{method, prefix})
}

// Delay makes requests of method ("" for any) whose path without the version starts with
// prefix wait d before they are handled (the change is applied after the wait, if the client
// is still there).
func (s *Server) Delay(method, prefix string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, delay{rule{method, prefix}, d})
}

// RevokeAnswers204 makes revokeSignInSessions answer 204 instead of 200, as a known issue says
// Graph sometimes does.
func (s *Server) RevokeAnswers204(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoke204 = on
}

// EchoRequests makes every error answer quote the request it refuses in its message: the
// method and URL, the body as sent and in lower case (with any secret key or code in it), and
// the Authorization header. Graph's messages may quote what they refuse; the fake quotes
// everything, so that a test can prove the client shows none of it.
func (s *Server) EchoRequests(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo = on
}

func (s *Server) echoing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.echo
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// CountRequests counts the requests received with method and a path (with version) that
// starts with prefix.
func (s *Server) CountRequests(method, prefix string) int {
	n := 0
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

type bucket struct {
	size, tokens float64
	at           time.Time
}

// take takes a token, or says how long until one is free.
func (b *bucket) take(now time.Time) (time.Duration, bool) {
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = min(b.size, b.tokens+el*b.size)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / b.size * float64(time.Second)), false
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// gerror is Graph's error body.
type gerror struct {
	status        int
	code, message string
	header        map[string]string
}

func (e *gerror) write(w http.ResponseWriter, r *http.Request, reqID string) {
	for k, v := range e.header {
		w.Header().Set(k, v)
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{
		"code": e.code, "message": e.message,
		"innerError": map[string]any{
			"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": reqID,
			"client-request-id": r.Header.Get("client-request-id"),
		},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(code, msg string) *gerror { return &gerror{status: 400, code: code, message: msg} }
func notFound(msg string) *gerror {
	return &gerror{status: 404, code: "Request_ResourceNotFound", message: msg}
}
