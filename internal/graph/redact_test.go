package graph_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
)

// TestSecretsNeverReachDebugOutputOrErrors runs calls that carry a known secret key and known
// codes (good and bad, in bodies, bulk bodies and a query) through successes and failures,
// and looks for them in the debug log and every error.
func TestSecretsNeverReachDebugOutputOrErrors(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.Timeout = 200 * time.Millisecond })
	alice := e.fake.AddUser(graph.User{UserPrincipalName: "alice@contoso.com"})
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	d := e.create(t, 1)
	_, err := e.c.CreateDevice(ctx, device(1)) // duplicate: an error for a body with the secret
	keep(err)
	bad := device(2)
	bad.SecretKey += "8" // refused: the error is about the secret
	_, err = e.c.CreateDevice(ctx, bad)
	keep(err)
	for _, r := range e.c.CreateDevices(ctx, []graph.Device{device(3), device(1)}) { // bulk 400, then per item
		keep(r.Err)
	}
	e.fake.Delay("POST", "/directory", time.Second) // a timeout with the secret in flight
	_, err = e.c.CreateDevice(ctx, device(4))
	keep(err)

	m, err := e.c.AssignDevice(ctx, alice, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	good := e.code(t, 1)
	wrong := wrongCode(good)
	keep(e.c.Activate(ctx, alice, m.ID, wrong, ""))
	e.fake.FailAt(len(e.fake.Requests())+1, graphfake.Fail504)
	keep(e.c.Activate(ctx, alice, m.ID, good, ""))
	keep(e.c.Activate(ctx, alice, m.ID, good, ""))
	keep(e.c.AssignAndActivateBySerialNumber(ctx, alice, "NOPE", good, ""))
	// A query that names a secret (nobody should, but a filter is free text).
	_, err = e.c.ListDevices(ctx, graph.ListOptions{Filter: graph.Eq("secretKey", secretFor(5)) + " and " + graph.Eq("verificationCode", "424242")})
	keep(err)

	if len(errs) < 7 {
		t.Fatalf("only %d errors: %v", len(errs), errs)
	}
	if e.status(t, d.ID) != graph.StatusActivated {
		t.Fatal("the good code did not activate")
	}
	log := e.debug.String()
	for _, want := range []string{"graph: --> POST", "graph: <-- 201 POST", "Authorization: [REDACTED]", `"secretKey":"[REDACTED]"`, `"verificationCode":"[REDACTED]"`, "client-request-id="} {
		if !strings.Contains(log, want) {
			t.Errorf("debug log lacks %q", want)
		}
	}
	secrets := []string{graphfake.Token, good, wrong, "424242"}
	for i := 1; i <= 5; i++ {
		secrets = append(secrets, secretFor(i))
	}
	for _, s := range secrets {
		if strings.Contains(log, s) {
			i := strings.Index(log, s)
			t.Errorf("debug log holds secret %q: ...%s...", s, log[max(0, i-200):min(len(log), i+50)])
		}
		for _, err := range errs {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error holds secret %q: %v", s, err)
			}
		}
	}
}

func TestSecretPrintsRedacted(t *testing.T) {
	d := device(1)
	for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%+v", d), fmt.Sprintf("%#v", d), fmt.Sprintf("%v", &d), fmt.Sprint(d.SecretKey)} {
		if strings.Contains(s, secretFor(1)) || !strings.Contains(s, "[REDACTED]") {
			t.Errorf("printed %s", s)
		}
	}
}

// TestEchoedRequestsNeverReachOutput runs the calls that carry secrets against a fake whose
// every error quotes the whole request back (body as sent and in lower case, Authorization
// header): neither the errors nor the debug log may show a secret key, a code or the token.
func TestEchoedRequestsNeverReachOutput(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.EchoRequests(true)
	alice := e.fake.AddUser(graph.User{UserPrincipalName: "alice@contoso.com"})
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	d := e.create(t, 1)
	_, err := e.c.CreateDevice(ctx, device(1)) // duplicate
	keep(err)
	bad := device(2)
	bad.SecretKey += "8"
	_, err = e.c.CreateDevice(ctx, bad)
	keep(err)
	for _, r := range e.c.CreateDevices(ctx, []graph.Device{device(3), device(1)}) { // bulk 400, then per item
		keep(r.Err)
	}
	e.fake.FailAt(len(e.fake.Requests())+1, graphfake.Fail500)
	_, err = e.c.CreateDevice(ctx, device(4))
	keep(err)
	m, err := e.c.AssignDevice(ctx, alice, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	good := e.code(t, 1)
	wrong := wrongCode(good)
	keep(e.c.Activate(ctx, alice, m.ID, wrong, ""))
	keep(e.c.AssignAndActivateBySerialNumber(ctx, alice, "NOPE", good, ""))
	e.fake.Deny("", "/users")
	keep(e.c.Activate(ctx, alice, m.ID, good, ""))
	if len(errs) < 7 {
		t.Fatalf("only %d errors: %v", len(errs), errs)
	}

	var secrets []string
	for _, s := range []string{graphfake.Token, good, wrong, secretFor(1), secretFor(2) + "8", secretFor(3), secretFor(4)} {
		secrets = append(secrets, s, strings.ToLower(s))
	}
	log := e.debug.String()
	if !strings.Contains(log, "Refused request") {
		t.Fatal("the fake did not echo")
	}
	for _, s := range secrets {
		if i := strings.Index(log, s); i >= 0 {
			t.Errorf("debug log holds secret %q: ...%s...", s, log[max(0, i-200):min(len(log), i+50)])
		}
		for _, err := range errs {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error holds secret %q: %v", s, err)
			}
		}
	}
}
