package graph

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is a failed Graph request: a response with an error status, or a request whose outcome
// is unknown because it timed out or its connection broke. It always carries the
// client-request-id the client sent, and the request-id of the response when there was one:
// Microsoft support needs them to trace a call.
type Error struct {
	Method string // HTTP method
	Path   string // path and query of the URL, without the host, secrets redacted
	// StatusCode is the HTTP status, 0 when no response was received.
	StatusCode int
	// Code and Message are Graph's error.code and error.message (Message on one line, any
	// secret the request carried removed).
	Code    string
	Message string
	// ClientRequestID is the id this client sent; RequestID the one Graph returned
	// (request-id header or error.innerError.request-id).
	ClientRequestID string
	RequestID       string
	// Permission and Role name what the call needs, as the caller declared it; they are shown
	// with a 403 so the operator knows which permission to grant and which role to hold.
	Permission string
	Role       string
	// OutcomeUnknown is set when a request that changes something got no answer (timeout,
	// broken connection, 504 on a POST): it may or may not have been applied, and was
	// therefore not retried.
	OutcomeUnknown bool
	// Err is the transport error when there was no response.
	Err error
	// Interrupted is the context's error when the caller gave up while the client waited to
	// send the request again: the error is the last answer, and the request was not retried.
	Interrupted error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s %s: ", e.Method, e.Path)
	switch {
	case e.StatusCode == 0 && e.OutcomeUnknown:
		fmt.Fprintf(&b, "outcome unknown, the request may have been applied: %v", e.Err)
	case e.StatusCode == 0:
		fmt.Fprintf(&b, "%v", e.Err)
	default:
		fmt.Fprintf(&b, "%d %s", e.StatusCode, strings.ToLower(http.StatusText(e.StatusCode)))
		if e.Code != "" {
			fmt.Fprintf(&b, ": %s", e.Code)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
		if e.OutcomeUnknown {
			b.WriteString(" (outcome unknown, the request may have been applied)")
		}
	}
	if e.Interrupted != nil {
		fmt.Fprintf(&b, "; stopped waiting to retry: %v", e.Interrupted)
	}
	if e.StatusCode == http.StatusForbidden && e.Permission != "" {
		fmt.Fprintf(&b, " (needs permission %s", e.Permission)
		if e.Role != "" {
			fmt.Fprintf(&b, " and role %s", e.Role)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " (client-request-id %s", e.ClientRequestID)
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", request-id %s", e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap gives the transport error and the context's error, so errors.Is finds
// context.Canceled in a request interrupted while it waited to be retried.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Err, e.Interrupted} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Graph error codes the helpers and callers test for.
const (
	CodeRequestDenied = "Authorization_RequestDenied"
	CodeNonPremium    = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
)

func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func hasStatus(err error, status int) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == status
}

// IsNotFound reports whether err is a Graph 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsThrottled reports whether err is a Graph 429 (left after the retries).
func IsThrottled(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsUnauthorized reports whether err is a 401: the token was missing, expired or for another
// audience.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether err is a 403: a permission or role is missing, or the tenant
// lacks the licence (see IsNotPremium).
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsNotPremium reports whether err says the tenant has no Entra ID P1/P2 licence, which the
// reports and sign-in logs require.
func IsNotPremium(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == http.StatusForbidden && strings.EqualFold(e.Code, CodeNonPremium)
}

// IsBadRequest reports whether err is a Graph 400 (a refused change: wrong state, invalid
// value, limit reached).
func IsBadRequest(err error) bool { return hasStatus(err, http.StatusBadRequest) }

// IsConflict reports whether err says the object already exists: a 409, or the 400 "Another
// object with the same value for property ... already exists" that directory objects answer.
// Graph documents no code for a duplicate hardware token serial number, so both are accepted.
func IsConflict(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	return e.StatusCode == http.StatusConflict ||
		e.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "already exists")
}

// IsDefaultMethod reports whether err is Graph's refusal to delete the user's default
// authentication method while other methods exist.
func IsDefaultMethod(err error) bool {
	e, ok := asError(err)
	if !ok || e.StatusCode != http.StatusBadRequest {
		return false
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "default method") || strings.Contains(m, "default authentication method")
}

// IsOutcomeUnknown reports whether err is a change that may or may not have been applied.
func IsOutcomeUnknown(err error) bool {
	e, ok := asError(err)
	return ok && e.OutcomeUnknown
}
