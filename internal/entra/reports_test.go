package entra

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
)

func TestRegistrationUsers(t *testing.T) {
	e := newEnv(t)
	e.fake.AddRegistration(graph.RegistrationDetails{ID: "1", UserPrincipalName: "b@contoso.com", UserDisplayName: "B",
		MethodsRegistered: []string{"hardwareOneTimePasscode", "microsoftAuthenticatorPush"}})
	e.fake.AddRegistration(graph.RegistrationDetails{ID: "2", UserPrincipalName: "c@contoso.com", UserDisplayName: "C"})
	e.fake.AddRegistration(graph.RegistrationDetails{ID: "3", UserPrincipalName: "a@contoso.com", UserDisplayName: "A",
		MethodsRegistered: []string{"softwareOneTimePasscode"}})
	var got []directory.User
	for u, err := range e.d.RegistrationUsers(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, u)
	}
	want := []directory.User{
		{UPN: "c@contoso.com", DisplayName: "C", State: directory.UserActive},
		{UPN: "a@contoso.com", DisplayName: "A", State: directory.UserActive, Methods: 1},
		{UPN: "b@contoso.com", DisplayName: "B", State: directory.UserActive, Methods: 2, TokensActivated: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("user %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestReportsNotPremium(t *testing.T) {
	e := newEnv(t)
	e.fake.SetPremium(false)
	ctx := context.Background()
	for _, err := range e.d.RegistrationUsers(ctx) {
		if !errors.Is(err, ErrNotPremium) || err.Error() != "the tenant has no Microsoft Entra ID P1 or P2 licence: the registration and sign-in reports need one" {
			t.Errorf("registration: %v", err)
		}
	}
	for _, err := range e.d.UsageEvents(ctx, directory.UsageFilter{}) {
		if !errors.Is(err, ErrNotPremium) {
			t.Errorf("usage events: %v", err)
		}
	}
	for _, err := range e.d.UsageCounts(ctx, directory.UsageFilter{}, directory.ByUser) {
		if !errors.Is(err, ErrNotPremium) {
			t.Errorf("usage counts: %v", err)
		}
	}
}

func signIn(id, upn string, at time.Time, details ...graph.AuthenticationDetail) graph.SignIn {
	return graph.SignIn{ID: id, UserPrincipalName: upn, CreatedDateTime: at, IPAddress: "10.0.0.1", AuthenticationDetails: details}
}

func TestUsage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	pw := graph.AuthenticationDetail{AuthenticationMethod: "Password", AuthenticationStepRequirement: "singleFactorAuthentication", Succeeded: true}
	e.fake.AddSignIn(signIn("1", "a@contoso.com", now.Add(-2*time.Hour), pw,
		graph.AuthenticationDetail{AuthenticationMethod: "OATH verification code", AuthenticationStepRequirement: "multiFactorAuthentication",
			AuthenticationStepResultDetail: "MFA successfully completed", Succeeded: true}))
	e.fake.AddSignIn(signIn("2", "b@contoso.com", now.Add(-1*time.Hour), pw,
		graph.AuthenticationDetail{AuthenticationMethod: "Hardware token", AuthenticationStepRequirement: "multiFactorAuthentication",
			AuthenticationStepResultDetail: "Invalid verification code", Succeeded: false}))
	e.fake.AddSignIn(signIn("3", "a@contoso.com", now.Add(-30*time.Minute), pw,
		graph.AuthenticationDetail{AuthenticationMethod: "Mobile app notification", AuthenticationStepRequirement: "multiFactorAuthentication",
			AuthenticationStepResultDetail: "MFA successfully completed", Succeeded: true}))
	e.fake.AddSignIn(signIn("4", "a@contoso.com", now.Add(-20*time.Minute), pw))                            // no MFA: no event
	e.fake.AddSignIn(signIn("5", "a@contoso.com", now.Add(-8*24*time.Hour), pw, graph.AuthenticationDetail{ // before the default week
		AuthenticationMethod: "OATH verification code", AuthenticationStepRequirement: "multiFactorAuthentication", Succeeded: true}))

	var got []directory.AuthEvent
	for ev, err := range e.d.UsageEvents(ctx, directory.UsageFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != 3 {
		t.Fatalf("events %+v", got)
	}
	want := directory.AuthEvent{Time: now.Add(-2 * time.Hour), UPN: "a@contoso.com", Mode: "oath-hardware", Result: "success",
		ResultCode: "MFA successfully completed", ClientIP: "10.0.0.1"}
	if got[0] != want {
		t.Errorf("first %+v, want %+v", got[0], want)
	}
	if got[1].Mode != "oath-hardware" || got[1].Result != "denied" || got[1].ResultCode != "Invalid verification code" {
		t.Errorf("second %+v", got[1])
	}
	if got[2].Mode != "mobile-app-notification" || got[2].Result != "success" {
		t.Errorf("third %+v", got[2])
	}

	count := func(f directory.UsageFilter, by directory.UsageDimension) []directory.UsageCount {
		var out []directory.UsageCount
		for c, err := range e.d.UsageCounts(ctx, f, by) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		return out
	}
	users := count(directory.UsageFilter{}, directory.ByUser)
	if len(users) != 2 || users[0] != (directory.UsageCount{Key: "a@contoso.com", Success: 2, Total: 2}) ||
		users[1] != (directory.UsageCount{Key: "b@contoso.com", Denied: 1, Total: 1}) {
		t.Errorf("by user %+v", users)
	}
	modes := count(directory.UsageFilter{Mode: "oath-hardware", Since: now.Add(-9 * 24 * time.Hour)}, directory.ByMode)
	if len(modes) != 1 || modes[0] != (directory.UsageCount{Key: "oath-hardware", Success: 2, Denied: 1, Total: 3}) {
		t.Errorf("by mode with a longer window %+v", modes)
	}
	codes := count(directory.UsageFilter{Result: "denied", UPNAnyCase: "B@Contoso.com"}, directory.ByResultCode)
	if len(codes) != 1 || codes[0] != (directory.UsageCount{Key: "Invalid verification code", Denied: 1, Total: 1}) {
		t.Errorf("denied by code %+v", codes)
	}
}

func TestAuditEvents(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	admin := &graph.AuditInitiator{User: &struct {
		ID                string `json:"id,omitempty"`
		UserPrincipalName string `json:"userPrincipalName,omitempty"`
		DisplayName       string `json:"displayName,omitempty"`
	}{UserPrincipalName: "admin@contoso.com"}}
	e.fake.AddAudit(graph.DirectoryAudit{ID: "2", ActivityDateTime: at.Add(time.Hour), ActivityDisplayName: "Admin deleted security info",
		LoggedByService: "Authentication Methods", Result: "success", InitiatedBy: admin,
		TargetResources: []graph.AuditTarget{{UserPrincipalName: "b@contoso.com"}}})
	e.fake.AddAudit(graph.DirectoryAudit{ID: "1", ActivityDateTime: at, ActivityDisplayName: "User registered security info",
		LoggedByService: "Authentication Methods", Result: "failure", ResultReason: "bad code",
		TargetResources: []graph.AuditTarget{{UserPrincipalName: "a@contoso.com"}}})
	e.fake.AddAudit(graph.DirectoryAudit{ID: "3", ActivityDateTime: at, ActivityDisplayName: "Update user",
		LoggedByService: "Core Directory", Result: "success"}) // not a method change
	e.fake.AddAudit(graph.DirectoryAudit{ID: "4", ActivityDateTime: at.Add(-48 * time.Hour), ActivityDisplayName: "User registered security info",
		LoggedByService: "Authentication Methods", Result: "success"}) // before the window
	got, err := e.d.ListAudit(context.Background(), directory.AuditFilter{Since: at.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := []directory.AuditEvent{
		{Time: at, Command: "User registered security info", Target: "a@contoso.com", Result: "failure", Detail: "bad code"},
		{Time: at.Add(time.Hour), Actor: "admin@contoso.com", Command: "Admin deleted security info", Target: "b@contoso.com", Result: "success"},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
