package graph_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
)

func wantBadRequest(t *testing.T, what string, err error, message string) {
	t.Helper()
	if !graph.IsBadRequest(err) || !strings.Contains(graphErr(t, err).Message, message) {
		t.Errorf("%s: err = %v, want 400 with %q", what, err, message)
	}
}

func TestHardwareTokenLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.fake.AddUser(graph.User{UserPrincipalName: "alice@contoso.com", DisplayName: "Alice"})
	bob := e.fake.AddUser(graph.User{UserPrincipalName: "bob@contoso.com", DisplayName: "Bob"})
	d := e.create(t, 1)
	if d.Status != graph.StatusAvailable || d.AssignedTo != nil || d.SecretKey != "" || d.HashFunction != "hmacsha1" {
		t.Fatalf("created %+v", d)
	}

	// assign -> assigned (by UPN)
	m, err := e.c.AssignDevice(ctx, "alice@contoso.com", d.ID)
	if err != nil || m.ID != d.ID || m.CreatedDateTime == nil {
		t.Fatalf("assign: %v %+v", err, m)
	}
	got, _ := e.c.GetDevice(ctx, d.ID)
	if got.Status != graph.StatusAssigned || got.AssignedTo == nil || got.AssignedTo.ID != alice || got.AssignedTo.DisplayName != "Alice" {
		t.Fatalf("after assign %+v", got)
	}
	// Refusals while assigned: another user, update, delete.
	_, err = e.c.AssignDevice(ctx, bob, d.ID)
	wantBadRequest(t, "assign to another user", err, "already assigned to another user")
	name := "renamed"
	wantBadRequest(t, "update assigned", e.c.UpdateDevice(ctx, d.ID, graph.DeviceUpdate{DisplayName: &name}), "cannot be updated")
	wantBadRequest(t, "delete assigned", e.c.DeleteDevice(ctx, d.ID), "cannot be deleted")

	// activate with a wrong code -> failedActivation; with the right one -> activated
	right := e.code(t, 1)
	wantBadRequest(t, "wrong code", e.c.Activate(ctx, alice, m.ID, wrongCode(right), ""), "verification code is not valid")
	if s := e.status(t, d.ID); s != graph.StatusFailedActivation {
		t.Errorf("after a wrong code: %s", s)
	}
	if err := e.c.Activate(ctx, alice, m.ID, right, "Alice's token"); err != nil {
		t.Fatal(err)
	}
	got, _ = e.c.GetDevice(ctx, d.ID)
	if got.Status != graph.StatusActivated || got.DisplayName != "Alice's token" {
		t.Errorf("after activation %+v", got)
	}
	ms, err := e.c.ListUserOathMethods(ctx, alice)
	if err != nil || len(ms) != 1 || ms[0].Device == nil || ms[0].Device.SerialNumber != "TOTP000001" || ms[0].Device.Status != graph.StatusActivated {
		t.Fatalf("user's methods: %v %+v", err, ms)
	}
	// Another user cannot act on it.
	if err := e.c.Deactivate(ctx, bob, m.ID); !graph.IsNotFound(err) {
		t.Errorf("bob deactivating: %v", err)
	}

	// deactivate -> assigned (stays with the user)
	if err := e.c.Deactivate(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	if s := e.status(t, d.ID); s != graph.StatusAssigned {
		t.Errorf("after deactivate: %s", s)
	}
	// unassign -> available
	if err := e.c.UnassignDevice(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = e.c.GetDevice(ctx, d.ID)
	if got.Status != graph.StatusAvailable || got.AssignedTo != nil {
		t.Errorf("after unassign %+v", got)
	}
	// update and delete once unassigned
	sixty := graph.Seconds(60)
	if err := e.c.UpdateDevice(ctx, d.ID, graph.DeviceUpdate{DisplayName: &name, TimeIntervalInSeconds: &sixty}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.c.GetDevice(ctx, d.ID)
	if got.DisplayName != "renamed" || got.TimeIntervalInSeconds != 60 {
		t.Errorf("after update %+v", got)
	}
	if err := e.c.DeleteDevice(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetDevice(ctx, d.ID); !graph.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
}

func TestAssignAndActivate(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.fake.AddUser(graph.User{UserPrincipalName: "alice@contoso.com"})
	bob := e.fake.AddUser(graph.User{UserPrincipalName: "bob@contoso.com"})
	d1, d2 := e.create(t, 1), e.create(t, 2)

	if err := e.c.AssignAndActivate(ctx, alice, d1.ID, e.code(t, 1), ""); err != nil {
		t.Fatal(err)
	}
	if s := e.status(t, d1.ID); s != graph.StatusActivated {
		t.Errorf("by id: %s", s)
	}
	// By serial number, the serial in any letter case.
	if err := e.c.AssignAndActivateBySerialNumber(ctx, "bob@contoso.com", "totp000002", e.code(t, 2), "Bob"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.c.GetDevice(ctx, d2.ID)
	if got.Status != graph.StatusActivated || got.AssignedTo.ID != bob || got.DisplayName != "Bob" {
		t.Errorf("by serial: %+v", got)
	}
	// A code from 20 hours ago is inside the documented ±1 day at activation.
	d3 := e.create(t, 3)
	old := e.code(t, 3)
	e.clock.mu.Lock()
	e.clock.t = e.clock.t.Add(20 * time.Hour)
	e.clock.mu.Unlock()
	if err := e.c.AssignAndActivate(ctx, alice, d3.ID, old, ""); err != nil {
		t.Errorf("code 20 h old: %v", err)
	}
	// Refusals: someone else's token, an unknown serial, a wrong code.
	err := e.c.AssignAndActivateBySerialNumber(ctx, alice, "TOTP000002", e.code(t, 2), "")
	wantBadRequest(t, "someone else's", err, "already assigned to another user")
	if err := e.c.AssignAndActivateBySerialNumber(ctx, alice, "NOPE", "123456", ""); !graph.IsNotFound(err) {
		t.Errorf("unknown serial: %v", err)
	}
	d4 := e.create(t, 4)
	err = e.c.AssignAndActivate(ctx, bob, d4.ID, wrongCode(e.code(t, 4)), "")
	wantBadRequest(t, "wrong code", err, "verification code is not valid")
	got, _ = e.c.GetDevice(ctx, d4.ID)
	if got.Status != graph.StatusFailedActivation || got.AssignedTo == nil || got.AssignedTo.ID != bob {
		t.Errorf("after a wrong code: %+v", got)
	}
}

func TestCreateRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.create(t, 1)
	_, err := e.c.CreateDevice(ctx, device(1))
	if !graph.IsConflict(err) {
		t.Errorf("duplicate serial: %v", err)
	}
	dup := device(2)
	dup.SerialNumber = "totp000001" // serials compare ignoring case
	if _, err := e.c.CreateDevice(ctx, dup); !graph.IsConflict(err) {
		t.Errorf("duplicate serial in other case: %v", err)
	}
	bad := device(3)
	bad.SecretKey = "JBSWY3DP8HPK3PXP"
	_, err = e.c.CreateDevice(ctx, bad)
	wantBadRequest(t, "non-Base32 secret", err, "secretKey must be a Base32 string")
	bad = device(4)
	bad.TimeIntervalInSeconds = 45
	_, err = e.c.CreateDevice(ctx, bad)
	wantBadRequest(t, "45 s", err, "timeIntervalInSeconds must be 30 or 60")

	// Create and assign in one call; a guest cannot get a token.
	alice := e.fake.AddUser(graph.User{UserPrincipalName: "alice@contoso.com"})
	guest := e.fake.AddUser(graph.User{UserPrincipalName: "g_ext#EXT#@contoso.com", UserType: "Guest"})
	d := device(5)
	d.AssignTo = &graph.Ref{ID: alice}
	got, err := e.c.CreateDevice(ctx, d)
	if err != nil || got.Status != graph.StatusAssigned || got.AssignedTo.ID != alice {
		t.Fatalf("create and assign: %v %+v", err, got)
	}
	d = device(6)
	d.AssignTo = &graph.Ref{ID: guest}
	_, err = e.c.CreateDevice(ctx, d)
	wantBadRequest(t, "guest", err, "guest users")
}

func TestFiveOathMethodsPerUser(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.fake.AddUser(graph.User{UserPrincipalName: "alice@contoso.com"})
	e.fake.AddMethod(alice, graph.AuthMethod{ODataType: "#microsoft.graph.softwareOathAuthenticationMethod"}, false)
	for i := range 4 {
		if _, err := e.c.AssignDevice(ctx, alice, e.create(t, i).ID); err != nil {
			t.Fatalf("token %d: %v", i+2, err)
		}
	}
	_, err := e.c.AssignDevice(ctx, alice, e.create(t, 9).ID)
	wantBadRequest(t, "sixth OATH token", err, "maximum number of OATH tokens (5)")
}

func TestSecretKeyIsNullOnRead(t *testing.T) {
	e := newEnv(t, nil)
	d := e.create(t, 1)
	for _, path := range []string{"/beta/directory/authenticationMethodDevices/hardwareOathDevices", "/beta/directory/authenticationMethodDevices/hardwareOathDevices/" + d.ID} {
		req, _ := http.NewRequest("GET", e.fake.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+graphfake.Token)
		resp, err := e.fake.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"secretKey":null`) || strings.Contains(string(b), secretFor(1)) {
			t.Errorf("%s: %s", path, b)
		}
	}
}

func TestHardwareOathIsBetaOnly(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest("GET", e.fake.URL+"/v1.0/directory/authenticationMethodDevices/hardwareOathDevices", nil)
	req.Header.Set("Authorization", "Bearer "+graphfake.Token)
	resp, err := e.fake.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("v1.0 hardware OATH answered %d", resp.StatusCode)
	}
	e.create(t, 1)
	if last := e.fake.Requests()[len(e.fake.Requests())-1]; !strings.HasPrefix(last.Path, "/beta/") {
		t.Errorf("create went to %s", last.Path)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 10 {
		e.fake.AddUser(graph.User{UserPrincipalName: fmt.Sprintf("user%02d@contoso.com", i), DisplayName: fmt.Sprint("User ", i)})
	}
	e.fake.SetPageSize(3)
	us, err := e.c.ListUsers(ctx, graph.ListOptions{})
	if err != nil || len(us) != 10 || us[9].UserPrincipalName != "user09@contoso.com" || us[9].AccountEnabled == nil || !*us[9].AccountEnabled {
		t.Fatalf("%v %+v", err, us)
	}
	if !strings.Contains(e.fake.Requests()[0].Query, "%24select=id%2CuserPrincipalName") {
		t.Errorf("query %s", e.fake.Requests()[0].Query)
	}
	u, err := e.c.GetUser(ctx, "USER03@contoso.com")
	if err != nil || u.ID != us[3].ID {
		t.Fatalf("by UPN: %v %+v", err, u)
	}
	if _, err := e.c.GetUser(ctx, "nobody@contoso.com"); !graph.IsNotFound(err) {
		t.Errorf("unknown user: %v", err)
	}
	if err := e.c.SetAccountEnabled(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.c.GetUser(ctx, u.ID); *u.AccountEnabled {
		t.Error("still enabled")
	}
	for _, answer204 := range []bool{false, true} {
		e.fake.RevokeAnswers204(answer204)
		if err := e.c.RevokeSignInSessions(ctx, u.UserPrincipalName); err != nil {
			t.Fatalf("revoke (204: %v): %v", answer204, err)
		}
	}
	if n := e.fake.Revocations(u.ID); n != 2 {
		t.Errorf("%d revocations", n)
	}
}

// seedMethods gives a user a mobile phone (the default), an alternate mobile, an email
// address, the Authenticator app and a software OATH token.
func seedMethods(e *env) string {
	id := e.fake.AddUser(graph.User{UserPrincipalName: "carol@contoso.com"})
	e.fake.AddMethod(id, graph.AuthMethod{ODataType: "#microsoft.graph.phoneAuthenticationMethod", PhoneNumber: "+1 5555550100", PhoneType: "mobile"}, true)
	e.fake.AddMethod(id, graph.AuthMethod{ODataType: "#microsoft.graph.phoneAuthenticationMethod", PhoneNumber: "+1 5555550101", PhoneType: "alternateMobile"}, false)
	e.fake.AddMethod(id, graph.AuthMethod{ODataType: "#microsoft.graph.emailAuthenticationMethod", EmailAddress: "carol@example.com"}, false)
	e.fake.AddMethod(id, graph.AuthMethod{ODataType: "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", DisplayName: "Carol's phone"}, false)
	e.fake.AddMethod(id, graph.AuthMethod{ODataType: "#microsoft.graph.softwareOathAuthenticationMethod"}, false)
	return id
}

func TestResetDeletesTheDefaultMethodLast(t *testing.T) {
	e := newEnv(t, nil)
	carol := seedMethods(e)
	ms, err := e.c.ListAuthMethods(ctx, carol)
	if err != nil || len(ms) != 6 || ms[0].Kind() != graph.KindPassword || ms[0].Deletable() || ms[1].ID != graph.PhoneMobileID || ms[1].PhoneNumber != "+1 5555550100" {
		t.Fatalf("%v %+v", err, ms)
	}
	// Deleting the default first is refused with Graph's message.
	err = e.c.DeleteAuthMethod(ctx, carol, ms[1])
	if !graph.IsDefaultMethod(err) || graphErr(t, err).Message != "Cannot delete default method with other methods configured. Please change default method before deletion." {
		t.Fatalf("default first: %v", err)
	}
	if err := e.c.DeleteAuthMethod(ctx, carol, ms[0]); err == nil || err.Error() != "graph: a password method cannot be deleted through graph" {
		t.Errorf("password: %v", err)
	}
	prefs, err := e.c.GetSignInPreferences(ctx, carol)
	if err != nil || prefs.UserPreferredMethodForSecondaryAuthentication != "voiceMobile" {
		t.Fatalf("prefs %v %+v", err, prefs)
	}
	order := graph.DeletionOrder(ms, prefs)
	var kinds []string
	for _, m := range order {
		kinds = append(kinds, string(m.Kind()))
	}
	if strings.Join(kinds, ",") != "phone,email,microsoftAuthenticator,softwareOath,phone" || order[0].ID != graph.PhoneAlternateMobileID || order[4].ID != graph.PhoneMobileID {
		t.Fatalf("order %v", kinds)
	}
	for _, r := range e.c.DeleteAuthMethods(ctx, carol, order) {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Method.Kind(), r.Err)
		}
	}
	if ids, def := e.fake.Methods(carol); len(ids) != 0 || def != "" {
		t.Errorf("left %v, default %q", ids, def)
	}
}

func TestDeleteAuthMethodsRecoversFromAWrongGuessOfTheDefault(t *testing.T) {
	e := newEnv(t, nil)
	carol := seedMethods(e)
	ms, _ := e.c.ListAuthMethods(ctx, carol)
	// Default in the middle: put the email last, as if it were the default.
	res := e.c.DeleteAuthMethods(ctx, carol, []graph.AuthMethod{ms[2], ms[1], ms[4], ms[5], ms[3]})
	for _, r := range res {
		if r.Err != nil {
			t.Errorf("%s %s: %v", r.Method.Kind(), r.Method.ID, r.Err)
		}
	}
	if res[len(res)-1].Method.ID != graph.PhoneMobileID {
		t.Errorf("the default was not deleted last: %+v", res[len(res)-1].Method)
	}
	if ids, _ := e.fake.Methods(carol); len(ids) != 0 {
		t.Errorf("left %v", ids)
	}
}

func TestChangeTheDefaultMethod(t *testing.T) {
	e := newEnv(t, nil)
	carol := seedMethods(e)
	if err := e.c.SetPreferredMethod(ctx, carol, "push"); err != nil {
		t.Fatal(err)
	}
	p, _ := e.c.GetSignInPreferences(ctx, carol)
	if p.UserPreferredMethodForSecondaryAuthentication != "push" {
		t.Fatalf("%+v", p)
	}
	if err := e.c.DeleteAuthMethod(ctx, carol, graph.AuthMethod{ODataType: "#microsoft.graph.phoneAuthenticationMethod", ID: graph.PhoneAlternateMobileID}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteAuthMethod(ctx, carol, graph.AuthMethod{ODataType: "#microsoft.graph.phoneAuthenticationMethod", ID: graph.PhoneMobileID}); err != nil {
		t.Errorf("the mobile phone, no longer the default: %v", err)
	}
}

func TestReports(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		e.fake.AddSignIn(graph.SignIn{
			ID: fmt.Sprint("s", i), CreatedDateTime: now.Add(-time.Duration(i) * 24 * time.Hour), UserID: fmt.Sprint("u", i%2),
			AuthenticationDetails: []graph.AuthenticationDetail{{AuthenticationMethod: "OATH verification code", Succeeded: true}},
		})
		e.fake.AddRegistration(graph.RegistrationDetails{ID: fmt.Sprint("u", i), UserPrincipalName: fmt.Sprint("u", i, "@contoso.com"), MethodsRegistered: []string{"hardwareOneTimePasscode"}, IsMfaRegistered: true})
		e.fake.AddAudit(graph.DirectoryAudit{ID: fmt.Sprint("a", i), ActivityDateTime: now, ActivityDisplayName: "User registered security info", Category: "UserManagement"})
	}
	e.fake.SetPageSize(3)
	sis, err := e.c.ListSignIns(ctx, graph.SignInFilter{Since: now.Add(-7 * 24 * time.Hour), UserID: "u0"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range sis {
		ids = append(ids, s.ID)
		if len(s.AuthenticationDetails) != 1 || !s.AuthenticationDetails[0].Succeeded {
			t.Errorf("sign-in %s lost its details", s.ID)
		}
	}
	if strings.Join(ids, ",") != "s0,s2,s4,s6" {
		t.Errorf("sign-ins %v", ids)
	}
	if q := e.fake.Requests()[0]; q.Path != "/beta/auditLogs/signIns" || !strings.Contains(q.Query, "createdDateTime%20ge%202026-11-24T12%3A00%3A00Z%20and%20userId%20eq%20%27u0%27") {
		t.Errorf("request %s?%s", q.Path, q.Query)
	}
	regs, err := e.c.ListRegistrationDetails(ctx, graph.ListOptions{})
	if err != nil || len(regs) != 10 || !regs[9].IsMfaRegistered || regs[9].MethodsRegistered[0] != "hardwareOneTimePasscode" {
		t.Errorf("registrations %v %+v", err, regs)
	}
	audits, err := e.c.ListDirectoryAudits(ctx, graph.ListOptions{Filter: graph.Eq("category", "UserManagement")})
	if err != nil || len(audits) != 10 {
		t.Errorf("audits %v %d", err, len(audits))
	}
}
