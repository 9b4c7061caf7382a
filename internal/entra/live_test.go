package entra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
	"github.com/mfactl/mfactl/internal/entra/signin"
)

// The live test's variables (docs/entra.md, "Live test"). The sign-in reads the usual AZURE_*
// variables.
const (
	envLiveTenant = "MFACTL_LIVE_TENANT"
	envLiveUPN    = "MFACTL_LIVE_UPN"
)

// TestLive runs the token lifecycle against a real test tenant: import, assign, list, unassign,
// delete. It is opt-in: without its variables it skips, as it does in CI. Whatever it created
// is deleted in a cleanup that runs even when a step fails.
func TestLive(t *testing.T) {
	tenant, upn := os.Getenv(envLiveTenant), os.Getenv(envLiveUPN)
	if tenant == "" || upn == "" {
		t.Skipf("live test off: set %s (a test tenant), %s (a test user) and the AZURE_* sign-in variables (docs/entra.md, Live test)", envLiveTenant, envLiveUPN)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	src, err := signin.New(tenant, os.Getenv, signin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, tenant, Options{GraphURL: os.Getenv(signin.EnvGraphURL), Tokens: src})
	if err != nil {
		t.Fatal(err)
	}

	liveLifecycle(ctx, t, d, upn)
}

// liveLifecycle is the live test's body; TestLiveLifecycleOnFake runs it against the Graph fake
// so that it is known to work, and to clean up, before anyone points it at a tenant.
func liveLifecycle(ctx context.Context, t testing.TB, d *Directory, upn string) {
	t.Helper()
	before, err := d.ListTokens(ctx, directory.TokenFilter{})
	if err != nil {
		t.Fatalf("listing the tokens: %v", err)
	}
	t.Logf("%s holds %d hardware tokens", d.Tenant(), len(before))

	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "MFACTL-LIVE-" + hex.EncodeToString(suffix[:])
	serials := []string{prefix + "-1", prefix + "-2"}
	t.Cleanup(func() {
		// Its own context: the test's may have expired. Only the serials of this run.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, s := range serials {
			_, err := d.GetToken(ctx, s)
			if errors.Is(err, directory.ErrNotFound) {
				continue
			}
			if err == nil {
				err = d.DeleteTokensForce(ctx, s)
			}
			if err != nil {
				t.Errorf("cleanup: token %s may be left in %s: %v", s, d.Tenant(), err)
			}
		}
	})

	// The first row names the user (the import assigns it), the second is stock assigned after.
	rows := make([]directory.ImportRow, len(serials))
	for i, s := range serials {
		secret := make([]byte, 20)
		if _, err := rand.Read(secret); err != nil {
			t.Fatal(err)
		}
		rows[i] = directory.ImportRow{Line: i + 2, Serial: s, Secret: secret, Manufacturer: "mfactl", Model: "live-test", Period: 30, Hash: "SHA1"}
	}
	rows[0].UPN = upn
	res, err := d.ImportTokens(ctx, func(yield func(directory.ImportRow, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}, directory.ImportOptions{RequireExistingUsers: true})
	if err != nil {
		t.Fatalf("importing: %v (problems %+v)", err, res.Problems)
	}
	if res.Imported != 2 || res.Rejected != 0 {
		t.Fatalf("import result %+v, want 2 imported", res)
	}
	if prev, err := d.AssignToken(ctx, serials[1], upn, false, 0); err != nil || prev != "" {
		t.Fatalf("assigning %s to %s: previous %q, %v", serials[1], upn, prev, err)
	}

	assigned, err := d.ListTokens(ctx, directory.TokenFilter{UPN: upn})
	if err != nil {
		t.Fatalf("listing %s's tokens: %v", upn, err)
	}
	for _, s := range serials {
		i := slices.IndexFunc(assigned, func(tok directory.Token) bool { return tok.Serial == s })
		if i < 0 {
			t.Fatalf("%s is not listed among %s's tokens", s, upn)
		}
		if tok := assigned[i]; tok.Status != directory.StatusAssigned || directory.Key(tok.UPN) != directory.Key(upn) {
			t.Errorf("%s listed as %+v, want assigned to %s", s, tok, upn)
		}
	}

	for _, s := range serials {
		prev, err := d.UnassignToken(ctx, s)
		if err != nil {
			t.Fatalf("unassigning %s: %v", s, err)
		}
		if directory.Key(prev) != directory.Key(upn) {
			t.Errorf("unassigning %s: previous owner %q, want %s", s, prev, upn)
		}
	}
	if err := d.DeleteTokens(ctx, serials...); err != nil {
		t.Fatalf("deleting: %v", err)
	}
	for _, s := range serials {
		if _, err := d.GetToken(ctx, s); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("%s after its deletion: %v, want not found", s, err)
		}
	}
}

func TestLiveLifecycleOnFake(t *testing.T) {
	e := newEnv(t)
	n := e.fake.DeviceCount()
	liveLifecycle(context.Background(), t, e.d, entrafake.Adele)
	if got := e.fake.DeviceCount(); got != n {
		t.Errorf("%d devices after the test, want the %d before it", got, n)
	}
}

// failingTB lets the lifecycle fail without failing the test that watches it: failures are
// logged and remembered, and the cleanups are run by the caller.
type failingTB struct {
	testing.TB
	failed   bool
	cleanups []func()
}

func (f *failingTB) Helper() {}
func (f *failingTB) Errorf(format string, args ...any) {
	f.failed = true
	f.TB.Logf("lifecycle failed as intended: "+format, args...)
}
func (f *failingTB) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *failingTB) Fatal(args ...any)                 { f.Errorf("%s", fmt.Sprint(args...)); runtime.Goexit() }
func (f *failingTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }

func TestLiveCleansUpAfterAFailure(t *testing.T) {
	e := newEnv(t)
	n := e.fake.DeviceCount()
	// Assignments are refused: the lifecycle stops half-way with both tokens created.
	e.fake.Deny(http.MethodPost, "/users/")
	f := &failingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		liveLifecycle(context.Background(), f, e.d, entrafake.Adele)
	}()
	<-done
	if !f.failed {
		t.Fatal("the lifecycle passed with the assignments refused")
	}
	if c := e.fake.CountRequests(http.MethodPatch, "/beta/directory/authenticationMethodDevices/hardwareOathDevices"); c != 1 {
		t.Errorf("%d bulk creates, want the 1 that created the tokens", c)
	}
	if e.fake.DeviceCount() != n+2 {
		t.Fatalf("%d devices when the lifecycle stopped, want the %d before it and its 2", e.fake.DeviceCount(), n)
	}
	for _, fn := range slices.Backward(f.cleanups) {
		fn()
	}
	if got := e.fake.DeviceCount(); got != n {
		t.Errorf("%d devices after the cleanup, want the %d before the test", got, n)
	}
}
