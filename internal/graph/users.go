package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// GetUser returns a user by object id or user principal name.
func (c *Client) GetUser(ctx context.Context, idOrUPN string) (*User, error) {
	var u User
	q := url.Values{"$select": {userSelect}}
	if _, err := c.do(ctx, call{method: http.MethodGet, path: v1 + "/users/" + escape(idOrUPN), query: q, idempotent: true, perm: permUsersRead}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// ListUsers returns every user that matches opts, all pages. Without Select it asks for the
// fields of User.
func (c *Client) ListUsers(ctx context.Context, opts ListOptions) ([]User, error) {
	q := opts.values()
	if len(opts.Select) == 0 {
		q.Set("$select", userSelect)
	}
	return all[User](ctx, c, call{method: http.MethodGet, path: v1 + "/users", query: q, idempotent: true, perm: permUsersRead})
}

// SetAccountEnabled blocks (false) or unblocks (true) a user's sign-in.
func (c *Client) SetAccountEnabled(ctx context.Context, user string, enabled bool) error {
	_, err := c.do(ctx, call{method: http.MethodPatch, path: v1 + "/users/" + escape(user), body: map[string]bool{"accountEnabled": enabled}, idempotent: true, perm: permUsersEnable}, nil)
	return err
}

// RevokeSignInSessions invalidates the user's refresh tokens and session cookies, so every
// application asks them to sign in again (within minutes). Graph answers 200 {"value":true},
// or, by a known issue, 204: both are success.
func (c *Client) RevokeSignInSessions(ctx context.Context, user string) error {
	// Revoking twice is harmless, so it is retried like a read.
	_, err := c.do(ctx, call{method: http.MethodPost, path: v1 + "/users/" + escape(user) + "/revokeSignInSessions", idempotent: true, perm: permRevoke}, nil)
	return err
}

// ListAuthMethods returns all of a user's authentication methods (v1.0, so hardware OATH
// methods, beta only, are not among them: see ListUserOathMethods).
func (c *Client) ListAuthMethods(ctx context.Context, user string) ([]AuthMethod, error) {
	return all[AuthMethod](ctx, c, call{method: http.MethodGet, path: v1 + "/users/" + escape(user) + "/authentication/methods", idempotent: true, perm: permMethodsRead})
}

// DeleteAuthMethod deletes one method through its kind's collection
// (/authentication/phoneMethods/{id}, ...). The generic /methods/{id} DELETE is delegated only
// and not used. A method that is not Deletable is refused without a request.
func (c *Client) DeleteAuthMethod(ctx context.Context, user string, m AuthMethod) error {
	if !m.Deletable() {
		return fmt.Errorf("graph: a %s method cannot be deleted through graph", m.Kind())
	}
	p := v1 + "/users/" + escape(user) + "/authentication/" + string(m.Kind()) + "Methods/" + escape(m.ID)
	_, err := c.do(ctx, call{method: http.MethodDelete, path: p, idempotent: true, perm: permMethodsWrite}, nil)
	return err
}

// GetSignInPreferences returns the user's default second factor (beta).
func (c *Client) GetSignInPreferences(ctx context.Context, user string) (*SignInPreferences, error) {
	var p SignInPreferences
	if _, err := c.do(ctx, call{method: http.MethodGet, path: beta + "/users/" + escape(user) + "/authentication/signInPreferences", idempotent: true, perm: permMethodsRead}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetPreferredMethod changes the user's default second factor (push, oath, voiceMobile,
// voiceAlternateMobile, voiceOffice, sms), the other way to delete the current default.
func (c *Client) SetPreferredMethod(ctx context.Context, user, method string) error {
	body := map[string]string{"userPreferredMethodForSecondaryAuthentication": method}
	_, err := c.do(ctx, call{method: http.MethodPatch, path: beta + "/users/" + escape(user) + "/authentication/signInPreferences", body: body, idempotent: true, perm: permMethodsWrite}, nil)
	return err
}

// IsDefault reports whether m is the method a preferred second factor names: push is the
// Authenticator app, oath a software OATH token, sms and voiceMobile the mobile phone,
// voiceAlternateMobile and voiceOffice the other phones.
func (p SignInPreferences) IsDefault(m AuthMethod) bool {
	switch p.UserPreferredMethodForSecondaryAuthentication {
	case "push":
		return m.Kind() == KindMicrosoftAuthenticator
	case "oath":
		return m.Kind() == KindSoftwareOath
	case "sms", "voiceMobile":
		return m.Kind() == KindPhone && m.ID == PhoneMobileID
	case "voiceAlternateMobile":
		return m.Kind() == KindPhone && m.ID == PhoneAlternateMobileID
	case "voiceOffice":
		return m.Kind() == KindPhone && m.ID == PhoneOfficeID
	}
	return false
}

// DeletionOrder returns the deletable methods of a user in the order Graph accepts their
// deletion: the default method last (Graph refuses to delete it while others exist), and the
// mobile phone after the alternate mobile (which cannot exist without it). prefs may be nil
// when the default is unknown; DeleteAuthMethods copes with a wrong guess.
func DeletionOrder(methods []AuthMethod, prefs *SignInPreferences) []AuthMethod {
	rank := func(m AuthMethod) int {
		switch {
		case prefs != nil && prefs.IsDefault(m):
			return 2
		case m.Kind() == KindPhone && m.ID == PhoneMobileID:
			return 1
		}
		return 0
	}
	var out []AuthMethod
	for _, m := range methods {
		if m.Deletable() {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b AuthMethod) int { return rank(a) - rank(b) })
	return out
}

// MethodResult is the outcome of deleting one method.
type MethodResult struct {
	Method AuthMethod
	Err    error
}

// DeleteAuthMethods deletes methods in the order given (see DeletionOrder). A method Graph
// refuses as the default while others exist is tried again once all the others are gone, so a
// wrong guess of the default still ends with every method deleted. It returns one result per
// method, in the order they were finally tried.
func (c *Client) DeleteAuthMethods(ctx context.Context, user string, methods []AuthMethod) []MethodResult {
	var out []MethodResult
	var later []AuthMethod
	for _, m := range methods {
		err := c.DeleteAuthMethod(ctx, user, m)
		if IsDefaultMethod(err) {
			later = append(later, m)
			continue
		}
		out = append(out, MethodResult{Method: m, Err: err})
	}
	for _, m := range later {
		out = append(out, MethodResult{Method: m, Err: c.DeleteAuthMethod(ctx, user, m)})
	}
	return out
}
