package entra

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
	"github.com/mfactl/mfactl/internal/graph"
)

// addPhones gives Adele (who holds the activated GALT0002) a default mobile phone, an alternate
// mobile, an email address, the Authenticator app and a software OATH token.
func addPhones(t *testing.T, e *env) string {
	t.Helper()
	u, err := e.d.c.GetUser(context.Background(), entrafake.Adele)
	if err != nil {
		t.Fatal(err)
	}
	e.fake.AddMethod(u.ID, graph.AuthMethod{ODataType: "#microsoft.graph.phoneAuthenticationMethod", PhoneNumber: "+1 5555550100", PhoneType: "mobile"}, true)
	e.fake.AddMethod(u.ID, graph.AuthMethod{ODataType: "#microsoft.graph.phoneAuthenticationMethod", PhoneNumber: "+1 5555550101", PhoneType: "alternateMobile"}, false)
	e.fake.AddMethod(u.ID, graph.AuthMethod{ODataType: "#microsoft.graph.emailAuthenticationMethod", EmailAddress: "adele@example.com"}, false)
	e.fake.AddMethod(u.ID, graph.AuthMethod{ODataType: "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", DisplayName: "Adele's phone"}, false)
	e.fake.AddMethod(u.ID, graph.AuthMethod{ODataType: "#microsoft.graph.softwareOathAuthenticationMethod"}, false)
	return u.ID
}

func TestResetRegistrationsDryRunSendsNoWrite(t *testing.T) {
	e := newEnv(t)
	addPhones(t, e)
	before := len(e.fake.Requests())
	res, err := e.d.ResetRegistrations(context.Background(), []string{entrafake.Adele}, true)
	if err != nil || len(res) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("dry run wrote %+v", w)
	}
	r := res[0]
	if got := strings.Join(r.Methods, ","); !strings.HasPrefix(got, "phone alternateMobile,email ") || !strings.HasSuffix(got, ",phone mobile") || len(r.Methods) != 5 {
		t.Errorf("methods %q", got)
	}
	if len(r.Tokens) != 1 || r.Tokens[0] != (directory.ResetToken{Serial: "GALT0002", Status: directory.StatusActivated, NewStatus: directory.StatusAssigned}) {
		t.Errorf("tokens %+v", r.Tokens)
	}
	if len(r.AuthApps) != 2 || r.AuthApps[0].Name != "Adele's phone" {
		t.Errorf("apps %+v", r.AuthApps)
	}
}

func TestResetRegistrationsDeletesDefaultLastDeactivatesAndRevokes(t *testing.T) {
	e := newEnv(t)
	id := addPhones(t, e)
	before := len(e.fake.Requests())
	if _, err := e.d.ResetRegistrations(context.Background(), []string{entrafake.Adele}, false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range e.writes(before) {
		got = append(got, w.Method+" "+w.Path[strings.LastIndex(w.Path[:strings.LastIndex(w.Path, "/")], "/")+1:])
	}
	if len(got) != 8 {
		t.Fatalf("writes %q", got)
	}
	if !strings.HasSuffix(got[0], "/deactivate") || !strings.HasPrefix(got[0], "POST ") {
		t.Errorf("first write %q, want the deactivation", got[0])
	}
	if got[1] != "DELETE phoneMethods/"+graph.PhoneAlternateMobileID || got[5] != "PATCH authentication/signInPreferences" || got[6] != "DELETE phoneMethods/"+graph.PhoneMobileID {
		t.Errorf("phones not in order: %q", got)
	}
	if got[7] != "POST "+id+"/revokeSignInSessions" {
		t.Errorf("last write %q", got[7])
	}
	if n := e.fake.Revocations(id); n != 1 {
		t.Errorf("%d revocations", n)
	}
	dev, _ := e.fake.Device("GALT0002")
	if ids, def := e.fake.Methods(id); len(ids) != 1 || ids[0] != dev.ID || def != dev.ID {
		t.Errorf("methods left: %v, default %q; want only the hardware token", ids, def)
	}
	if dev.Status != graph.StatusAssigned || dev.AssignedTo == nil || dev.AssignedTo.ID != id {
		t.Errorf("token %+v, want still assigned, deactivated", dev)
	}
	// The password stays.
	if ms, _ := e.d.c.ListAuthMethods(context.Background(), id); len(ms) != 1 || ms[0].Kind() != graph.KindPassword {
		t.Errorf("left %+v", ms)
	}
}

func TestResetRegistrationsKeepingSessions(t *testing.T) {
	e := newEnv(t)
	id := addPhones(t, e)
	if _, err := e.d.ResetRegistrationsKeeping(context.Background(), []string{entrafake.Adele}, false, true); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Revocations(id); n != 0 {
		t.Errorf("%d revocations", n)
	}
}

func TestResetRegistrationsUnknownUserChangesNothing(t *testing.T) {
	e := newEnv(t)
	addPhones(t, e)
	before := len(e.fake.Requests())
	_, err := e.d.ResetRegistrations(context.Background(), []string{entrafake.Adele, "nobody@contoso.com"}, false)
	if !errors.Is(err, directory.ErrNotFound) || err.Error() != "user nobody@contoso.com not found" {
		t.Fatalf("%v", err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("wrote %+v", w)
	}
}

// TestResetRegistrationsReadsInParallelAndReportsWork: the users are read Parallel at a time
// (all before anything is sent), then reset one after the other; a progress callback in the
// context hears both phases step by step. The error for two unknown users is the first's.
func TestResetRegistrationsReadsInParallelAndReportsWork(t *testing.T) {
	e := newEnv(t)
	addPhones(t, e)
	var got []directory.Work
	ctx := directory.WithWork(context.Background(), func(w directory.Work) { got = append(got, w) })
	upns := []string{entrafake.Adele, entrafake.Alex, entrafake.Diego}
	if _, err := e.d.ResetRegistrations(ctx, upns, false); err != nil {
		t.Fatal(err)
	}
	want := []directory.Work{
		{Phase: directory.WorkReading, Total: 3}, {Phase: directory.WorkReading, Done: 1, Total: 3},
		{Phase: directory.WorkReading, Done: 2, Total: 3}, {Phase: directory.WorkReading, Done: 3, Total: 3},
		{Phase: directory.WorkResetting, Total: 3}, {Phase: directory.WorkResetting, Done: 1, Total: 3},
		{Phase: directory.WorkResetting, Done: 2, Total: 3}, {Phase: directory.WorkResetting, Done: 3, Total: 3},
	}
	if !slices.Equal(got, want) {
		t.Errorf("work:\n%v\nwant\n%v", got, want)
	}
	_, err := e.d.ResetRegistrations(context.Background(), []string{entrafake.Adele, "nobody1@contoso.com", "nobody2@contoso.com"}, true)
	if err == nil || err.Error() != "user nobody1@contoso.com not found" {
		t.Errorf("err = %v", err)
	}
}
