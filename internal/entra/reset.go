package entra

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
)

// resetKinds are the methods the portal's "Require re-register MFA" deletes (with the email
// method, which is a second factor too). FIDO2 keys, Windows Hello and passkeys are devices the
// user holds and stay; the password is never touched.
var resetKinds = map[graph.MethodKind]bool{
	graph.KindPhone: true, graph.KindEmail: true, graph.KindSoftwareOath: true, graph.KindMicrosoftAuthenticator: true,
}

// resetPlan is what a reset does to one user.
type resetPlan struct {
	id      string
	res     directory.RegistrationReset
	oath    []graph.HardwareOathMethod // the activated ones, to deactivate
	methods []graph.AuthMethod         // in deletion order
	// defaultLast: the last method is the user's default second factor.
	defaultLast bool
}

// ResetRegistrations does what ResetRegistrationsKeeping does, and revokes the sign-in
// sessions.
func (d *Directory) ResetRegistrations(ctx context.Context, upns []string, dryRun bool) ([]directory.RegistrationReset, error) {
	return d.ResetRegistrationsKeeping(ctx, upns, dryRun, false)
}

// ResetRegistrationsKeeping does what the portal's "Require re-register MFA" does, which Graph
// has no single call for: it deactivates the users' hardware OATH tokens (they stay assigned, so
// the user activates them again), deletes their software OATH, Microsoft Authenticator, phone
// and email methods, the default method last (Graph refuses to delete it while others exist),
// and then, unless keepSessions, revokes their sign-in sessions so the next sign-in asks them to
// register. Every user is read before anything is sent, Parallel at a time: an unknown user
// changes nothing (the error is the first such user's in the order given). Then the users are
// reset one after the other: Graph has no transactions, so a failure half-way leaves the users
// before it reset, and the error says which user it stopped at. (Resetting several users at
// once would leave others half-way at a failure, and the error could no longer say which
// users were reset by their position.) With dryRun it reads only. A progress callback in ctx
// (directory.WithWork) hears the reading and the resets as they go.
func (d *Directory) ResetRegistrationsKeeping(ctx context.Context, upns []string, dryRun, keepSessions bool) ([]directory.RegistrationReset, error) {
	onWork := directory.WorkFunc(ctx)
	plans := make([]resetPlan, len(upns))
	errs := make([]error, len(upns))
	work := beginWork(onWork, directory.WorkReading, len(upns))
	d.pool(len(upns), func(i int) {
		defer work.step(1)
		plans[i], errs[i] = d.resetPlan(ctx, upns[i])
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if !dryRun {
		work = beginWork(onWork, directory.WorkResetting, len(plans))
	}
	out := make([]directory.RegistrationReset, 0, len(plans))
	for i, p := range plans {
		if !dryRun {
			err := d.reset(ctx, p, keepSessions)
			work.step(1)
			if err != nil {
				if i > 0 {
					return nil, fmt.Errorf("%w (the %d users before it were reset)", err, i)
				}
				return nil, err
			}
		}
		out = append(out, p.res)
	}
	return out, nil
}

func (d *Directory) resetPlan(ctx context.Context, upn string) (resetPlan, error) {
	gu, err := d.c.GetUser(ctx, upn)
	if graph.IsNotFound(err) {
		return resetPlan{}, &directory.NotFoundError{Kind: "user", Name: upn}
	}
	if err != nil {
		return resetPlan{}, fmt.Errorf("reading user %s of %s: %w", upn, d.tenant, err)
	}
	p := resetPlan{id: gu.ID, res: directory.RegistrationReset{UPN: gu.UserPrincipalName, Tokens: []directory.ResetToken{}, AuthApps: []directory.AuthApp{}}}
	oath, err := d.c.ListUserOathMethods(ctx, gu.ID)
	if err != nil {
		return resetPlan{}, fmt.Errorf("reading the hardware tokens of %s: %w", p.res.UPN, err)
	}
	for _, m := range oath {
		if m.Device == nil {
			continue
		}
		st := tokenStatus(m.Device.Status)
		p.res.Tokens = append(p.res.Tokens, directory.ResetToken{Serial: m.Device.SerialNumber, Status: st, NewStatus: directory.StatusAssigned})
		if st != directory.StatusAssigned {
			p.oath = append(p.oath, m)
		}
	}
	slices.SortFunc(p.res.Tokens, func(a, b directory.ResetToken) int { return strings.Compare(a.Serial, b.Serial) })
	ms, err := d.c.ListAuthMethods(ctx, gu.ID)
	if err != nil {
		return resetPlan{}, fmt.Errorf("reading the authentication methods of %s: %w", p.res.UPN, err)
	}
	var prefs *graph.SignInPreferences
	if slices.ContainsFunc(ms, func(m graph.AuthMethod) bool { return resetKinds[m.Kind()] }) {
		// Without the preferences the order is a guess that DeleteAuthMethods corrects.
		prefs, _ = d.c.GetSignInPreferences(ctx, gu.ID)
	}
	for _, m := range graph.DeletionOrder(ms, prefs) {
		if !resetKinds[m.Kind()] {
			continue
		}
		p.methods = append(p.methods, m)
		p.res.Methods = append(p.res.Methods, describe(m))
		if m.Kind() == graph.KindSoftwareOath || m.Kind() == graph.KindMicrosoftAuthenticator {
			a := directory.AuthApp{ID: m.ID, UPN: p.res.UPN, Name: m.DisplayName}
			if m.CreatedDateTime != nil {
				a.CreatedAt = m.CreatedDateTime.UTC()
			}
			p.res.AuthApps = append(p.res.AuthApps, a)
		}
	}
	p.defaultLast = len(p.methods) > 0 && prefs != nil && prefs.IsDefault(p.methods[len(p.methods)-1])
	return p, nil
}

// describe names a method for the operator, without its phone number or address.
func describe(m graph.AuthMethod) string {
	switch m.Kind() {
	case graph.KindPhone:
		if m.PhoneType != "" {
			return "phone " + m.PhoneType
		}
		return "phone " + m.ID
	case graph.KindSoftwareOath:
		return "softwareOath " + m.ID
	case graph.KindMicrosoftAuthenticator:
		return "microsoftAuthenticator " + m.ID
	}
	return string(m.Kind()) + " " + m.ID
}

func (d *Directory) reset(ctx context.Context, p resetPlan, keepSessions bool) error {
	for _, m := range p.oath {
		if err := d.c.Deactivate(ctx, p.id, m.ID); err != nil {
			return fmt.Errorf("resetting %s: deactivating token %s: %w", p.res.UPN, m.Device.SerialNumber, err)
		}
	}
	// Every deletion is tried; the first failure is reported, with how many more failed.
	var first error
	failed := 0
	methods := p.methods
	var last []graph.AuthMethod
	if p.defaultLast && len(p.res.Tokens) > 0 {
		methods, last = methods[:len(methods)-1], methods[len(methods)-1:]
	}
	results := d.c.DeleteAuthMethods(ctx, p.id, methods)
	for _, m := range last {
		// The hardware tokens stay assigned, so Graph refuses to delete the default while
		// they are there: make a hardware token the default first.
		err := d.c.SetPreferredMethod(ctx, p.id, "oath")
		if err == nil {
			err = d.c.DeleteAuthMethod(ctx, p.id, m)
		}
		results = append(results, graph.MethodResult{Method: m, Err: err})
	}
	for _, r := range results {
		if graph.IsDefaultMethod(r.Err) && len(p.res.Tokens) > 0 {
			// A wrong guess of the default, with hardware tokens kept: as above.
			r.Err = d.c.SetPreferredMethod(ctx, p.id, "oath")
			if r.Err == nil {
				r.Err = d.c.DeleteAuthMethod(ctx, p.id, r.Method)
			}
		}
		if r.Err != nil {
			if failed++; first == nil {
				first = fmt.Errorf("deleting %s: %w", describe(r.Method), r.Err)
			}
		}
	}
	if failed > 1 {
		return fmt.Errorf("resetting %s: %w (and %d more methods failed)", p.res.UPN, first, failed-1)
	}
	if first != nil {
		return fmt.Errorf("resetting %s: %w", p.res.UPN, first)
	}
	if !keepSessions {
		if err := d.c.RevokeSignInSessions(ctx, p.id); err != nil {
			return fmt.Errorf("resetting %s: revoking the sign-in sessions: %w", p.res.UPN, err)
		}
	}
	return nil
}
