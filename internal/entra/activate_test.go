package entra

import (
	"context"
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/tokens"
)

// code is the code the token shows now, from the secret the fake holds.
func (e *env) code(t *testing.T, serial string) string {
	t.Helper()
	dev, ok := e.fake.Device(serial)
	if !ok {
		t.Fatalf("token %s is not in the fake", serial)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(dev.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	hash := tokens.HashSHA1
	if dev.HashFunction == graph.HashSHA256 {
		hash = tokens.HashSHA256
	}
	c, err := tokens.TOTP(secret, tokens.OTPParams{Hash: hash, Digits: 6}, tokens.Step(time.Now(), int(dev.TimeIntervalInSeconds)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wrong(code string) string {
	b := []byte(code)
	for i := range b {
		b[i] = '0' + (b[i]-'0'+5)%10
	}
	return string(b)
}

func TestActivate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	// An available token with --user: assigned and activated in one call.
	code := e.code(t, "GALT0001")
	spaced := code[:3] + " " + code[3:]
	r, err := e.d.Activate(ctx, "GALT0001", spaced, auth.ActivateOptions{AssignTo: entrafake.Diego})
	if err != nil || !r.Success || r.Code != auth.CodeActivated || r.Status != directory.StatusActivated || r.UPN != entrafake.Diego || !r.Assigned || r.Drift != 0 {
		t.Fatalf("assign and activate: %+v, %v", r, err)
	}
	w := e.fake.Requests()
	if last := w[len(w)-1]; !strings.HasSuffix(last.Path, "/assignAndActivateBySerialNumber") {
		t.Errorf("sent %s %s, want assignAndActivateBySerialNumber", last.Method, last.Path)
	}
	if e.owner(t, "GALT0001") != entrafake.Diego {
		t.Errorf("owner %q", e.owner(t, "GALT0001"))
	}

	// An assigned token, wrong code: failedActivation, FAILED_OATH_CODE_INCORRECT.
	r, err = e.d.Activate(ctx, "GALT0003", wrong(e.code(t, "GALT0003")), auth.ActivateOptions{})
	if err != nil || r.Success || r.Code != auth.CodeIncorrect || r.Status != directory.StatusFailedActivation || r.UPN != entrafake.Megan {
		t.Fatalf("wrong code: %+v, %v", r, err)
	}
	if dev, _ := e.fake.Device("GALT0003"); dev.Status != graph.StatusFailedActivation {
		t.Errorf("fake status %s", dev.Status)
	}
	// Then the right one, on the owner's method.
	r, err = e.d.Activate(ctx, "GALT0003", e.code(t, "GALT0003"), auth.ActivateOptions{})
	if err != nil || !r.Success || r.Code != auth.CodeActivated || r.Status != directory.StatusActivated {
		t.Fatalf("activate: %+v, %v", r, err)
	}
	w = e.fake.Requests()
	if last := w[len(w)-1]; !strings.HasSuffix(last.Path, "/activate") {
		t.Errorf("sent %s %s, want .../activate", last.Method, last.Path)
	}

	// Denials that send nothing.
	before := len(e.fake.Requests())
	for _, c := range []struct {
		serial, user, code string
	}{
		{"NOPE1", "", auth.CodeTokenUnknown},
		{"GALT0002", "", auth.CodeTokenIsActivated},
	} {
		r, err := e.d.Activate(ctx, c.serial, "123456", auth.ActivateOptions{AssignTo: c.user})
		if err != nil || r.Success || r.Code != c.code {
			t.Errorf("%s: %+v, %v; want %s", c.serial, r, err, c.code)
		}
	}
	if _, err := e.d.UnassignToken(ctx, "YK0004"); err != nil {
		t.Fatal(err)
	}
	before = len(e.fake.Requests())
	r, err = e.d.Activate(ctx, "YK0004", "123456", auth.ActivateOptions{})
	if err != nil || r.Code != auth.CodeTokenUnassigned {
		t.Errorf("unassigned: %+v, %v", r, err)
	}
	_, err = e.d.Activate(ctx, "GALT0002", "123456", auth.ActivateOptions{AssignTo: entrafake.Diego})
	if !errors.Is(err, directory.ErrConflict) || err.Error() != "assigning token GALT0002 to "+entrafake.Diego+": token GALT0002 is already assigned to "+entrafake.Adele {
		t.Errorf("another user's token: %v", err)
	}
	_, err = e.d.Activate(ctx, "YK0004", "123456", auth.ActivateOptions{AssignTo: "nobody@contoso.com"})
	if !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	_, err = e.d.Activate(ctx, "YK0004", "12a456", auth.ActivateOptions{})
	if !errors.Is(err, tokens.ErrMalformedCode) || strings.Contains(err.Error(), "12a456") {
		t.Errorf("malformed code: %v", err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("denials wrote: %+v", w)
	}
}

// Graph answers 400 for more than a wrong code (a guest user, the 5-method limit, the policy
// off). Only a token Graph left failedActivation is an incorrect code; any other 400 is the
// error it is, with Graph's reason, and the token's status is not made up.
func TestActivateBadRequestThatIsNotTheCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	guest := "guest_fabrikam.com#EXT#@" + entrafake.Domain
	e.fake.AddUser(graph.User{UserPrincipalName: guest, DisplayName: "Guest", UserType: "Guest"})
	r, err := e.d.Activate(ctx, "GALT0001", e.code(t, "GALT0001"), auth.ActivateOptions{AssignTo: guest})
	if !errors.Is(err, directory.ErrRefused) {
		t.Fatalf("activation for a guest: %+v, %v; want Graph's refusal (ErrRefused)", r, err)
	}
	if !strings.Contains(err.Error(), "guest users") || strings.Contains(err.Error(), "incorrect code") {
		t.Errorf("error %q: want Graph's reason (guest users)", err)
	}
	if dev, _ := e.fake.Device("GALT0001"); dev.Status != graph.StatusAvailable {
		t.Errorf("token status %s, want available", dev.Status)
	}

	// A wrong code is still a denial, not an error.
	r, err = e.d.Activate(ctx, "GALT0001", wrong(e.code(t, "GALT0001")), auth.ActivateOptions{AssignTo: entrafake.Diego})
	if err != nil || r.Success || r.Code != auth.CodeIncorrect || r.Status != directory.StatusFailedActivation {
		t.Errorf("wrong code: %+v, %v", r, err)
	}
}
