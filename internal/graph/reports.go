package graph

import (
	"context"
	"net/http"
	"time"
)

// ListRegistrationDetails returns the userRegistrationDetails report (v1.0), all pages. It
// needs Entra ID P1/P2: without, the error matches IsNotPremium.
func (c *Client) ListRegistrationDetails(ctx context.Context, opts ListOptions) ([]RegistrationDetails, error) {
	return all[RegistrationDetails](ctx, c, call{method: http.MethodGet, path: v1 + "/reports/authenticationMethods/userRegistrationDetails", query: opts.values(), idempotent: true, perm: permAuditLog})
}

// SignInFilter selects sign-ins: from Since (inclusive) and, when UserID is set, of one user.
// Filtering on the authentication details is done by the caller, since Graph's support for
// any() over them is not documented.
type SignInFilter struct {
	Since  time.Time
	UserID string
	Top    int // page size, at most 1000
}

func (f SignInFilter) options() ListOptions {
	var clauses []string
	if !f.Since.IsZero() {
		clauses = append(clauses, "createdDateTime ge "+f.Since.UTC().Format(time.RFC3339))
	}
	if f.UserID != "" {
		clauses = append(clauses, Eq("userId", f.UserID))
	}
	return ListOptions{Filter: And(clauses...), Top: f.Top}
}

// EachSignIn calls fn for every sign-in that matches f, newest first, page by page (the log
// can be large). The beta endpoint is used: only it has the MFA details.
func (c *Client) EachSignIn(ctx context.Context, f SignInFilter, fn func(SignIn) error) error {
	return each(ctx, c, call{method: http.MethodGet, path: beta + "/auditLogs/signIns", query: f.options().values(), idempotent: true, perm: permAuditLog}, fn)
}

// ListSignIns returns every sign-in that matches f.
func (c *Client) ListSignIns(ctx context.Context, f SignInFilter) ([]SignIn, error) {
	return all[SignIn](ctx, c, call{method: http.MethodGet, path: beta + "/auditLogs/signIns", query: f.options().values(), idempotent: true, perm: permAuditLog})
}

// ListDirectoryAudits returns the directory audit entries that match opts (v1.0), all pages;
// e.g. Filter: And("activityDateTime ge 2026-01-01T00:00:00Z", Eq("category", "UserManagement")).
func (c *Client) ListDirectoryAudits(ctx context.Context, opts ListOptions) ([]DirectoryAudit, error) {
	return all[DirectoryAudit](ctx, c, call{method: http.MethodGet, path: v1 + "/auditLogs/directoryAudits", query: opts.values(), idempotent: true, perm: permAuditLog})
}
