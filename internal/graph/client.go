package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultBaseURL    = "https://graph.microsoft.com"
	DefaultTimeout    = 60 * time.Second // authentication-method calls time out after 60 s on Graph's side
	DefaultMaxRetries = 4
	DefaultParallel   = 4
	DefaultBulkSize   = 100 // Graph documents no maximum for the bulk PATCH; refusals fall back per item
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 30 * time.Second
	// MaxRetryAfter caps a Retry-After the client is willing to wait for; a longer one ends the
	// retries with the 429 so the operator can decide.
	MaxRetryAfter = 5 * time.Minute
)

// API versions. Hardware OATH and the sign-in log's MFA details exist only in beta.
const (
	v1   = "/v1.0"
	beta = "/beta"
)

// TokenSource gives the bearer token of a request. It is asked before every attempt, so it can
// refresh; azidentity sits behind it in the binary.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource that always returns the same token (tests, pre-fetched tokens).
type StaticToken string

// Token returns the token.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// Options configure a Client. Zero values take the defaults.
type Options struct {
	BaseURL    string       // Graph endpoint without version, default DefaultBaseURL
	HTTPClient *http.Client // default http.DefaultClient
	Tokens     TokenSource  // required for a real tenant; nil sends no Authorization header
	Timeout    time.Duration
	// MaxRetries is the number of retries after the first attempt: 0 means DefaultMaxRetries,
	// a negative value none.
	MaxRetries int
	// Parallel bounds the concurrent requests of the bulk helpers (default DefaultParallel).
	Parallel int
	// BulkSize is the number of devices per bulk PATCH (default DefaultBulkSize).
	BulkSize int
	// Backoff and MaxBackoff shape the capped exponential backoff used without Retry-After:
	// attempt n waits a random duration in [0, min(MaxBackoff, Backoff*2^n)) ("full jitter").
	Backoff, MaxBackoff time.Duration
	// Debug receives a log of every request and response, secrets redacted. Nil logs nothing.
	Debug io.Writer

	// Test seams. Now is the clock (for Retry-After dates), Sleep waits between retries and
	// returns early with the context's error, Rand returns a number in [0, 1) for the jitter.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
}

// Client is a Microsoft Graph client. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	http       *http.Client
	tokens     TokenSource
	timeout    time.Duration
	maxRetries int
	parallel   int
	bulkSize   int
	backoff    time.Duration
	maxBackoff time.Duration
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	rand       func() float64

	debugMu sync.Mutex
	debug   io.Writer

	// bulkRefused is set once the service answered 405 or 501 to a bulk PATCH: every later
	// chunk goes straight to one POST per device.
	bulkRefused atomic.Bool
}

// New returns a client. A BaseURL that does not parse falls back to the default and is
// reported by the first request (it cannot be, since url.Parse accepts nearly anything; the
// CLI validates MFACTL_GRAPH_URL before calling New).
func New(opts Options) *Client {
	c := &Client{
		http: opts.HTTPClient, tokens: opts.Tokens, timeout: opts.Timeout,
		maxRetries: opts.MaxRetries, parallel: opts.Parallel, bulkSize: opts.BulkSize,
		backoff: opts.Backoff, maxBackoff: opts.MaxBackoff, debug: opts.Debug,
		now: opts.Now, sleep: opts.Sleep, rand: opts.Rand,
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		u, _ = url.Parse(DefaultBaseURL)
	}
	c.base = u
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.parallel <= 0 {
		c.parallel = DefaultParallel
	}
	if c.bulkSize <= 0 {
		c.bulkSize = DefaultBulkSize
	}
	if c.backoff <= 0 {
		c.backoff = DefaultBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	return c
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// call describes one logical request; do sends it, with retries.
type call struct {
	method string
	path   string // version and path, e.g. "/beta/directory/..."; or a full URL (nextLink)
	query  url.Values
	body   any
	// idempotent requests may be retried after a timeout or a 504; the others only when the
	// status proves they were not applied (429, 503) or the connection was never made.
	idempotent bool
	perm       permission
}

// permission is what a call needs, named in a 403.
type permission struct{ name, role string }

// url resolves the call's path against the base URL. A full URL (an @odata.nextLink) must point
// at the same scheme and host as the base, so the bearer token is never sent elsewhere.
func (c *Client) url(cl call) (*url.URL, error) {
	if strings.HasPrefix(cl.path, "https://") || strings.HasPrefix(cl.path, "http://") {
		u, err := url.Parse(cl.path)
		if err != nil {
			return nil, fmt.Errorf("graph: next link: %w", err)
		}
		if u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) {
			return nil, fmt.Errorf("graph: next link points at %s://%s, not at %s://%s", u.Scheme, u.Host, c.base.Scheme, c.base.Host)
		}
		return u, nil
	}
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + cl.path
	u.RawPath = ""
	if len(cl.query) > 0 {
		// Graph wants %20 for spaces in $filter; url.Values.Encode writes '+'.
		u.RawQuery = strings.ReplaceAll(cl.query.Encode(), "+", "%20")
	}
	return &u, nil
}

// escape escapes one path segment (a UPN may hold characters that need it).
func escape(s string) string { return url.PathEscape(s) }

// do sends cl and decodes a successful response's JSON body into out (when out is not nil).
// It returns the HTTP status of the success.
func (c *Client) do(ctx context.Context, cl call, out any) (int, error) {
	u, err := c.url(cl)
	if err != nil {
		return 0, err
	}
	var body []byte
	if cl.body != nil {
		if body, err = json.Marshal(cl.body); err != nil {
			return 0, fmt.Errorf("graph: encoding %s body: %w", cl.method, err)
		}
	}
	red := newRedactor(body)
	for attempt := 0; ; attempt++ {
		status, wait, retry, err := c.attempt(ctx, cl, u, body, red, out, attempt)
		if !retry || attempt >= c.maxRetries {
			return status, err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			if e, ok := asError(err); ok && e.Interrupted == nil && !errors.Is(e.Err, serr) {
				e.Interrupted = serr
			}
			return status, err
		}
	}
}

// attempt sends one HTTP request. It returns whether to retry and after how long.
func (c *Client) attempt(ctx context.Context, cl call, u *url.URL, body []byte, red *redactor, out any, n int) (status int, wait time.Duration, retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, u.String(), rd)
	if err != nil {
		return 0, 0, false, fmt.Errorf("graph: %w", err)
	}
	crid := newRequestID()
	req.Header.Set("client-request-id", crid)
	req.Header.Set("return-client-request-id", "true")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.tokens != nil {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return 0, 0, false, fmt.Errorf("graph: getting a token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		red.add(tok) // an answer quoting the header must not show it
	}
	gerr := &Error{Method: cl.method, Path: red.path(u), ClientRequestID: crid, Permission: cl.perm.name, Role: cl.perm.role}
	c.logRequest(req, body, red, n)
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.logf("graph: <-- %s %s: %s (%s) client-request-id=%s\n", cl.method, red.url(u), red.text(err.Error()), c.now().Sub(start).Round(time.Millisecond), crid)
		if ctx.Err() != nil {
			// The caller gave up; never retried.
			gerr.Err = ctx.Err()
			gerr.OutcomeUnknown = !cl.idempotent
			return 0, 0, false, gerr
		}
		gerr.Err = errors.New(red.text(transportMessage(err, c.timeout)))
		if notSent(err) {
			return 0, c.backoffFor(n), true, gerr
		}
		if !cl.idempotent {
			gerr.OutcomeUnknown = true
			return 0, 0, false, gerr
		}
		return 0, c.backoffFor(n), true, gerr
	}
	defer resp.Body.Close()
	respBody, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	gerr.StatusCode = resp.StatusCode
	gerr.RequestID = resp.Header.Get("request-id")
	c.logResponse(cl.method, u, resp, respBody, red, c.now().Sub(start), crid)
	if rerr != nil && resp.StatusCode < 300 {
		gerr.Err = errors.New(red.text(transportMessage(rerr, c.timeout)))
		gerr.OutcomeUnknown = !cl.idempotent
		return resp.StatusCode, c.backoffFor(n), cl.idempotent, gerr
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && len(bytes.TrimSpace(respBody)) > 0 {
			if err := json.Unmarshal(respBody, out); err != nil {
				return resp.StatusCode, 0, false, fmt.Errorf("graph %s %s: decoding the response (client-request-id %s): %w", cl.method, gerr.Path, crid, err)
			}
		}
		return resp.StatusCode, 0, false, nil
	}
	parseErrorBody(gerr, respBody, red)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		// Both say the request was not processed: safe to send again, even a POST.
		w, ok := c.retryAfter(resp.Header.Get("Retry-After"))
		if !ok {
			w = c.backoffFor(n)
		}
		if w > MaxRetryAfter {
			return resp.StatusCode, 0, false, gerr
		}
		return resp.StatusCode, w, true, gerr
	case http.StatusGatewayTimeout:
		if !cl.idempotent {
			gerr.OutcomeUnknown = true
			return resp.StatusCode, 0, false, gerr
		}
		w, ok := c.retryAfter(resp.Header.Get("Retry-After"))
		if !ok {
			w = c.backoffFor(n)
		}
		if w > MaxRetryAfter {
			return resp.StatusCode, 0, false, gerr
		}
		return resp.StatusCode, w, true, gerr
	}
	return resp.StatusCode, 0, false, gerr
}

// notSent reports whether a transport error happened before the request could reach the
// server (the connection was refused or never made), so even a POST may be sent again.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func transportMessage(err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no response within %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is already in the error's Path
	}
	return err.Error()
}

// parseErrorBody fills code, message and request-id from Graph's error shape
// {"error":{"code","message","innerError":{"request-id","client-request-id","date"}}}.
func parseErrorBody(e *Error, body []byte, red *redactor) {
	var eb struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil {
		e.Code = eb.Error.Code
		e.Message = oneLine(red.text(eb.Error.Message))
		if e.RequestID == "" {
			e.RequestID = eb.Error.InnerError.RequestID
		}
	}
	if e.Message == "" && e.Code == "" && len(body) > 0 {
		m := oneLine(red.text(string(body)))
		if len(m) > 200 {
			m = m[:200] + "..."
		}
		e.Message = m
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date. A number of seconds
// too large for a time.Duration is returned as just beyond MaxRetryAfter.
func (c *Client) retryAfter(h string) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if isDigits(h) {
		s, err := strconv.ParseInt(h, 10, 64)
		if err != nil || s > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter + time.Second, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		d := t.Sub(c.now())
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// backoffFor is the full-jitter wait before retry n+1: uniform in [0, min(max, base*2^n)).
func (c *Client) backoffFor(n int) time.Duration {
	d := c.backoff
	for i := 0; i < n && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	return time.Duration(c.rand() * float64(d))
}

func (c *Client) logf(format string, args ...any) {
	if c.debug == nil {
		return
	}
	c.debugMu.Lock()
	defer c.debugMu.Unlock()
	fmt.Fprintf(c.debug, format, args...)
}

func (c *Client) logRequest(req *http.Request, body []byte, red *redactor, n int) {
	if c.debug == nil {
		return
	}
	retry := ""
	if n > 0 {
		retry = fmt.Sprintf(" (retry %d)", n)
	}
	c.logf("graph: --> %s %s%s\n%s%s", req.Method, red.url(req.URL), retry, red.header(req.Header), bodyLine(red.body(body)))
}

func (c *Client) logResponse(method string, u *url.URL, resp *http.Response, body []byte, red *redactor, d time.Duration, crid string) {
	if c.debug == nil {
		return
	}
	c.logf("graph: <-- %d %s %s (%s) client-request-id=%s request-id=%s\n%s%s", resp.StatusCode, method, red.url(u),
		d.Round(time.Millisecond), crid, resp.Header.Get("request-id"), red.header(resp.Header), bodyLine(red.body(body)))
}

func bodyLine(s string) string {
	if s == "" {
		return ""
	}
	const max = 16 << 10
	if len(s) > max {
		s = s[:max] + "...(truncated)"
	}
	return "  body: " + s + "\n"
}
