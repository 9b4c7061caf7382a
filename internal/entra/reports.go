package entra

import (
	"cmp"
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
)

// ErrNotPremium is the refusal of a tenant without Entra ID P1 or P2: Graph answers the
// registration report and the sign-in log only for those.
var ErrNotPremium = errors.New("the tenant has no Microsoft Entra ID P1 or P2 licence: the registration and sign-in reports need one")

// DefaultUsageWindow is how far back the usage report reads the sign-in log when no start is
// given: the log is Microsoft's and can be large, so "everything" is never asked for.
const DefaultUsageWindow = 7 * 24 * time.Hour

// premium turns Graph's 403 for a tenant without P1/P2 into ErrNotPremium.
func premium(err error) error {
	if graph.IsNotPremium(err) {
		return ErrNotPremium
	}
	return err
}

// hardwareMethod is the methodsRegistered value of a hardware OATH token.
const hardwareMethod = "hardwareOneTimePasscode"

// registrationUser maps a userRegistrationDetails row to the user of the registration report.
// The report knows which kinds of method a user has registered, not how many of each, so a
// hardware token counts as one activated token and every kind as one method. It has neither
// the account state nor app passwords (Graph has no API for those).
func registrationUser(r graph.RegistrationDetails) directory.User {
	u := directory.User{UPN: r.UserPrincipalName, DisplayName: r.UserDisplayName, State: directory.UserActive}
	for _, m := range r.MethodsRegistered {
		u.Methods++
		if strings.EqualFold(m, hardwareMethod) {
			u.TokensActivated++
		}
	}
	return u
}

// RegistrationUsers reads the userRegistrationDetails report: users without any method first,
// then the others, each part by UPN, as the SQL backends order them.
func (d *Directory) RegistrationUsers(ctx context.Context) iter.Seq2[directory.User, error] {
	return func(yield func(directory.User, error) bool) {
		regs, err := d.c.ListRegistrationDetails(ctx, graph.ListOptions{Top: d.top})
		if err != nil {
			yield(directory.User{}, premium(err))
			return
		}
		users := make([]directory.User, 0, len(regs))
		for _, r := range regs {
			users = append(users, registrationUser(r))
		}
		slices.SortFunc(users, func(a, b directory.User) int {
			if (a.Methods == 0) != (b.Methods == 0) {
				if a.Methods == 0 {
					return -1
				}
				return 1
			}
			return cmp.Compare(strings.ToLower(a.UPN), strings.ToLower(b.UPN))
		})
		for _, u := range users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

// ModeOATHHardware is the mode of a sign-in whose MFA step was an OATH code.
const ModeOATHHardware = "oath-hardware"

// mfaStep picks a sign-in's MFA step: the step of an OATH method if there is one, else the
// last step required for multifactor authentication; ok is false for a sign-in without MFA.
func mfaStep(si graph.SignIn) (graph.AuthenticationDetail, bool) {
	var step graph.AuthenticationDetail
	found := false
	for _, a := range si.AuthenticationDetails {
		if isOATH(a.AuthenticationMethod) {
			return a, true
		}
		if strings.EqualFold(a.AuthenticationStepRequirement, "multiFactorAuthentication") {
			step, found = a, true
		}
	}
	return step, found
}

// isOATH says whether Graph's method string names an OATH code. The string Graph logs for a
// hardware token is not documented ("OATH verification code", "Hardware token", ...), so it is
// matched loosely.
func isOATH(method string) bool {
	m := strings.ToLower(method)
	return strings.Contains(m, "oath") || strings.Contains(m, "hardware")
}

// signInEvent maps a sign-in to the auth event of its MFA step.
func signInEvent(si graph.SignIn) (directory.AuthEvent, bool) {
	a, ok := mfaStep(si)
	if !ok {
		return directory.AuthEvent{}, false
	}
	e := directory.AuthEvent{Time: si.CreatedDateTime.UTC(), UPN: si.UserPrincipalName, ResultCode: a.AuthenticationStepResultDetail,
		ClientIP: si.IPAddress, ServerName: si.AppDisplayName, Result: "denied"}
	if isOATH(a.AuthenticationMethod) {
		e.Mode = ModeOATHHardware
	} else {
		e.Mode = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(a.AuthenticationMethod)), " ", "-")
	}
	if a.Succeeded {
		e.Result = "success"
	} else if si.Status != nil {
		e.Reason = si.Status.FailureReason
	}
	return e, true
}

func usageMatches(e directory.AuthEvent, f directory.UsageFilter) bool {
	switch {
	case !f.Since.IsZero() && e.Time.Before(f.Since), !f.Until.IsZero() && !e.Time.Before(f.Until):
		return false
	case f.Result != "" && e.Result != f.Result, f.Mode != "" && e.Mode != f.Mode:
		return false
	case len(f.UPNs) > 0 || f.UPNAnyCase != "":
		return slices.Contains(f.UPNs, e.UPN) || f.UPNAnyCase != "" && strings.EqualFold(f.UPNAnyCase, e.UPN)
	}
	return true
}

// usageEvents reads the sign-ins of f (beta, for the authentication details) and returns the
// MFA events in time order. A filter without start reads DefaultUsageWindow back from now.
func (d *Directory) usageEvents(ctx context.Context, f directory.UsageFilter) ([]directory.AuthEvent, error) {
	if f.Since.IsZero() {
		f.Since = time.Now().Add(-DefaultUsageWindow)
	}
	var out []directory.AuthEvent
	err := d.c.EachSignIn(ctx, graph.SignInFilter{Since: f.Since, Top: d.top}, func(si graph.SignIn) error {
		if e, ok := signInEvent(si); ok && usageMatches(e, f) {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, premium(err)
	}
	slices.SortStableFunc(out, func(a, b directory.AuthEvent) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// UsageEvents lists the MFA steps of the sign-in log in time order.
func (d *Directory) UsageEvents(ctx context.Context, f directory.UsageFilter) iter.Seq2[directory.AuthEvent, error] {
	return func(yield func(directory.AuthEvent, error) bool) {
		events, err := d.usageEvents(ctx, f)
		if err != nil {
			yield(directory.AuthEvent{}, err)
			return
		}
		for _, e := range events {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// UsageCounts groups the events of UsageEvents here, since Graph cannot: days in calendar
// order, other groups by total descending, then by key.
func (d *Directory) UsageCounts(ctx context.Context, f directory.UsageFilter, by directory.UsageDimension) iter.Seq2[directory.UsageCount, error] {
	return func(yield func(directory.UsageCount, error) bool) {
		events, err := d.usageEvents(ctx, f)
		if err != nil {
			yield(directory.UsageCount{}, err)
			return
		}
		groups := map[string]*directory.UsageCount{}
		for _, e := range events {
			var key string
			switch by {
			case directory.ByDay:
				key = e.Time.UTC().Format(time.DateOnly)
			case directory.ByUser:
				key = e.UPN
			case directory.ByMode:
				key = e.Mode
			case directory.ByResultCode:
				key = e.ResultCode
			default:
				yield(directory.UsageCount{}, errors.New("usage counts: unknown dimension "+string(by)))
				return
			}
			g := groups[key]
			if g == nil {
				g = &directory.UsageCount{Key: key}
				groups[key] = g
			}
			g.Total++
			switch e.Result {
			case "success":
				g.Success++
			case "denied":
				g.Denied++
			}
		}
		out := make([]directory.UsageCount, 0, len(groups))
		for _, g := range groups {
			out = append(out, *g)
		}
		slices.SortFunc(out, func(a, b directory.UsageCount) int {
			if by == directory.ByDay {
				return cmp.Compare(a.Key, b.Key)
			}
			return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Key, b.Key))
		})
		for _, c := range out {
			if !yield(c, nil) {
				return
			}
		}
	}
}
