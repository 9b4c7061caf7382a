package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
)

var ctx = context.Background()

func TestListDevicesFollowsEveryPage(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.BulkSize = 50 })
	devs := make([]graph.Device, 30)
	for i := range devs {
		devs[i] = device(i)
	}
	for _, r := range e.c.CreateDevices(ctx, devs) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	e.fake.SetPageSize(3)
	before := e.fake.CountRequests("GET", "/beta/directory")
	got, err := e.c.ListDevices(ctx, graph.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Fatalf("listed %d devices, want 30", len(got))
	}
	for i, d := range got {
		if d.SerialNumber != devs[i].SerialNumber || d.Status != graph.StatusAvailable || d.SecretKey != "" {
			t.Errorf("device %d = %+v", i, d)
		}
	}
	if n := e.fake.CountRequests("GET", "/beta/directory") - before; n != 10 {
		t.Errorf("%d page requests, want 10", n)
	}

	// A filter travels with the next links: 30 serials, filtered to one.
	one, err := e.c.DevicesBySerial(ctx, "totp000017")
	if err != nil || len(one) != 1 || one[0].SerialNumber != "TOTP000017" {
		t.Fatalf("by serial: %v %+v", err, one)
	}
	// $top smaller than the page, with a filter that matches all: every page still followed.
	all, err := e.c.ListDevices(ctx, graph.ListOptions{Filter: graph.Eq("manufacturer", "Contoso"), Top: 2})
	if err != nil || len(all) != 30 {
		t.Fatalf("filtered listing: %v, %d devices", err, len(all))
	}
}

func TestNextLinkToAnotherHostIsRefused(t *testing.T) {
	srv := http.NewServeMux()
	srv.HandleFunc("/beta/directory/authenticationMethodDevices/hardwareOathDevices", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"value":[],"@odata.nextLink":"https://evil.example/beta/steal"}`)
	})
	f := graphfake.New()
	defer f.Close()
	f.Config.Handler = srv
	c := graph.New(graph.Options{BaseURL: f.URL, HTTPClient: f.Client(), Tokens: graph.StaticToken("t")})
	_, err := c.ListDevices(ctx, graph.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "next link points at https://evil.example") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryHonoursRetryAfterSeconds(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.ThrottleNext(2, "7")
	if _, err := e.c.ListDevices(ctx, graph.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := e.clock.Waits(); !slices.Equal(w, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Errorf("waits %v, want [7s 7s]", w)
	}
	if n := len(e.fake.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetryHonoursRetryAfterDate(t *testing.T) {
	e := newEnv(t, nil)
	at := e.clock.Now().Add(12 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	e.fake.ThrottleNext(1, at.Format(http.TimeFormat))
	if _, err := e.c.ListDevices(ctx, graph.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	w := e.clock.Waits()
	if len(w) != 1 || w[0] != at.Sub(e.clock.Now().Add(-w[0])) || w[0] < 12*time.Second || w[0] > 14*time.Second {
		t.Errorf("waits %v, want the time until %v", w, at)
	}
}

func TestBackoffWithoutRetryAfter(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) {
		o.Backoff, o.MaxBackoff, o.MaxRetries = time.Second, 3*time.Second, 4
	})
	e.fake.ThrottleNext(4, "")
	if _, err := e.c.ListDevices(ctx, graph.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	// Full jitter with Rand = 0.5: half of 1s, 2s, then the 3s cap twice.
	want := []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond}
	if w := e.clock.Waits(); !slices.Equal(w, want) {
		t.Errorf("waits %v, want %v", w, want)
	}
}

func TestRetriesEndAfterMaxRetries(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.MaxRetries = 2 })
	e.fake.ThrottleNext(10, "1")
	_, err := e.c.ListDevices(ctx, graph.ListOptions{})
	if !graph.IsThrottled(err) {
		t.Fatalf("err = %v, want throttled", err)
	}
	if n := len(e.fake.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
	}
	if !strings.Contains(err.Error(), "429 too many requests: TooManyRequests") {
		t.Errorf("err = %v", err)
	}
}

func TestTokenBucketThrottleIsRiddenOut(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 6 {
		e.create(t, i)
	}
	e.fake.SetPageSize(1)
	e.fake.Throttle(2) // 2 requests per second of the fake's clock
	got, err := e.c.ListDevices(ctx, graph.ListOptions{})
	if err != nil || len(got) != 6 {
		t.Fatalf("%v, %d devices", err, len(got))
	}
	w := e.clock.Waits()
	if len(w) == 0 {
		t.Fatal("never throttled")
	}
	for _, d := range w {
		if d != time.Second {
			t.Errorf("waited %v, want the fake's Retry-After of 1s", d)
		}
	}
}

func TestPostRetriedOnlyWhenNotApplied(t *testing.T) {
	e := newEnv(t, nil)
	// 429 and 503 prove the create was not applied: sent again, created once.
	e.fake.ThrottleNext(1, "1")
	e.create(t, 1)
	e.fake.FailAt(len(e.fake.Requests())+1, graphfake.Fail503)
	e.create(t, 2)
	if n := e.fake.CountRequests("POST", "/beta/directory"); n != 4 {
		t.Errorf("%d POSTs, want 4", n)
	}
	if n := e.fake.DeviceCount(); n != 2 {
		t.Errorf("%d devices, want 2", n)
	}

	// A 504 on a POST may have been applied: not sent again, outcome unknown.
	e.fake.FailAt(len(e.fake.Requests())+1, graphfake.Fail504)
	_, err := e.c.CreateDevice(ctx, device(3))
	if !graph.IsOutcomeUnknown(err) || !strings.Contains(err.Error(), "outcome unknown") {
		t.Fatalf("err = %v", err)
	}
	if n := e.fake.CountRequests("POST", "/beta/directory"); n != 5 {
		t.Errorf("%d POSTs, want 5", n)
	}
}

func TestPostNotRetriedOnTimeout(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.Timeout = 100 * time.Millisecond })
	e.fake.Delay("POST", "/directory", time.Second)
	_, err := e.c.CreateDevice(ctx, device(1))
	if !graph.IsOutcomeUnknown(err) {
		t.Fatalf("err = %v, want outcome unknown", err)
	}
	ge := graphErr(t, err)
	want := "graph POST /beta/directory/authenticationMethodDevices/hardwareOathDevices: outcome unknown, the request may have been applied: no response within 100ms (client-request-id " + ge.ClientRequestID + ")"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if n := e.fake.CountRequests("POST", ""); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
	if w := e.clock.Waits(); len(w) != 0 {
		t.Errorf("waited %v before a retry that must not happen", w)
	}
}

func TestDroppedConnection(t *testing.T) {
	e := newEnv(t, nil)
	// A GET whose connection drops is sent again.
	e.create(t, 1)
	e.fake.FailAt(len(e.fake.Requests())+1, graphfake.FailDrop)
	if got, err := e.c.ListDevices(ctx, graph.ListOptions{}); err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	// A POST applied and then dropped: not sent again; the device exists.
	e.fake.FailAt(len(e.fake.Requests())+1, graphfake.FailDropAfter)
	_, err := e.c.CreateDevice(ctx, device(2))
	if !graph.IsOutcomeUnknown(err) {
		t.Fatalf("err = %v, want outcome unknown", err)
	}
	if _, ok := e.fake.Device("TOTP000002"); !ok {
		t.Error("the dropped create was not applied by the fake")
	}
	if n := e.fake.CountRequests("POST", ""); n != 2 {
		t.Errorf("%d POSTs, want 2", n)
	}
}

func TestCreateDevicesInBulk(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.BulkSize = 3 })
	devs := []graph.Device{device(1), device(2), device(3), device(4), device(5), device(6), device(7)}
	devs[1].TimeIntervalInSeconds = 60
	res := e.c.CreateDevices(ctx, devs)
	for i, r := range res {
		if r.Err != nil || !r.Bulk || r.Index != i || r.Device == nil || r.Device.SerialNumber != devs[i].SerialNumber || r.Device.ID == "" {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if res[1].Device.TimeIntervalInSeconds != 60 {
		t.Errorf("interval %d", res[1].Device.TimeIntervalInSeconds)
	}
	if n := e.fake.CountRequests("PATCH", "/beta/directory"); n != 3 {
		t.Errorf("%d bulk PATCHes, want 3", n)
	}
	if n := e.fake.CountRequests("POST", ""); n != 0 {
		t.Errorf("%d POSTs, want 0", n)
	}
	if d, _ := e.fake.Device("TOTP000004"); string(d.SecretKey) != secretFor(4) {
		t.Error("the fake did not receive the secret")
	}
}

func TestCreateDevicesFallsBackWhenBulkIsRefused(t *testing.T) {
	for _, status := range []int{405, 501, 400} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t, func(o *graph.Options) { o.BulkSize, o.Parallel = 2, 1 })
			e.fake.RefuseBulk(status)
			devs := []graph.Device{device(1), device(2), device(3), device(4), device(5)}
			res := e.c.CreateDevices(ctx, devs)
			for i, r := range res {
				if r.Err != nil || r.Bulk || r.Device == nil || r.Device.SerialNumber != devs[i].SerialNumber {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			// After 405/501 the client stops trying bulk; a 400 is per chunk.
			wantPatches := 1
			if status == 400 {
				wantPatches = 3
			}
			if n := e.fake.CountRequests("PATCH", ""); n != wantPatches {
				t.Errorf("%d PATCHes, want %d", n, wantPatches)
			}
			if n := e.fake.CountRequests("POST", ""); n != 5 {
				t.Errorf("%d POSTs, want 5", n)
			}
		})
	}
}

func TestCreateDevicesOneBadDeviceInAChunk(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.BulkSize = 10 })
	e.create(t, 2) // already in the inventory
	res := e.c.CreateDevices(ctx, []graph.Device{device(1), device(2), device(3)})
	if res[0].Err != nil || res[2].Err != nil {
		t.Fatalf("results %+v", res)
	}
	if !graph.IsConflict(res[1].Err) {
		t.Errorf("duplicate: %v", res[1].Err)
	}
	if n := e.fake.DeviceCount(); n != 3 {
		t.Errorf("%d devices, want 3", n)
	}
}

func TestCreateDevicesFailingHalfWay(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.BulkSize, o.Parallel = 2, 1 })
	e.fake.FailAt(2, graphfake.Fail500) // the second chunk
	devs := []graph.Device{device(1), device(2), device(3), device(4), device(5)}
	res := e.c.CreateDevices(ctx, devs)
	for i, r := range res {
		failed := i == 2 || i == 3
		if (r.Err != nil) != failed {
			t.Errorf("result %d = %+v", i, r)
		}
		if failed && !strings.Contains(fmt.Sprint(r.Err), "500 internal server error: UnknownError") {
			t.Errorf("result %d error %v", i, r.Err)
		}
	}
	// Running again with what is missing finishes the job.
	res = e.c.CreateDevices(ctx, devs[2:4])
	if res[0].Err != nil || res[1].Err != nil || e.fake.DeviceCount() != 5 {
		t.Fatalf("second run: %+v, %d devices", res, e.fake.DeviceCount())
	}
}

func TestSecondsAcceptsAString(t *testing.T) {
	var d graph.Device
	if err := json.Unmarshal([]byte(`{"timeIntervalInSeconds":"60","secretKey":null}`), &d); err != nil || d.TimeIntervalInSeconds != 60 {
		t.Fatalf("%v %d", err, d.TimeIntervalInSeconds)
	}
	if err := json.Unmarshal([]byte(`{"timeIntervalInSeconds":30}`), &d); err != nil || d.TimeIntervalInSeconds != 30 {
		t.Fatalf("%v %d", err, d.TimeIntervalInSeconds)
	}
	if err := json.Unmarshal([]byte(`{"timeIntervalInSeconds":"x"}`), &d); err == nil {
		t.Fatal("accepted x")
	}
	b, _ := json.Marshal(graph.Device{TimeIntervalInSeconds: 30})
	if string(b) != `{"timeIntervalInSeconds":30}` {
		t.Errorf("marshalled %s", b)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestEveryRequestHasItsOwnClientRequestID(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.ThrottleNext(1, "1")
	e.create(t, 1)
	_, err := e.c.GetDevice(ctx, "no-such-id")
	if !graph.IsNotFound(err) {
		t.Fatalf("err = %v", err)
	}
	reqs := e.fake.Requests()
	seen := map[string]bool{}
	for _, r := range reqs {
		if !uuidRE.MatchString(r.ClientRequestID) || seen[r.ClientRequestID] {
			t.Errorf("request %d: client-request-id %q", r.N, r.ClientRequestID)
		}
		seen[r.ClientRequestID] = true
	}
	ge := graphErr(t, err)
	last := reqs[len(reqs)-1]
	if ge.ClientRequestID != last.ClientRequestID || ge.RequestID == "" || ge.StatusCode != 404 || ge.Code != "Request_ResourceNotFound" {
		t.Errorf("error %+v", ge)
	}
	want := "graph GET /beta/directory/authenticationMethodDevices/hardwareOathDevices/no-such-id: 404 not found: Request_ResourceNotFound: Hardware OATH token 'no-such-id' not found. (client-request-id " + last.ClientRequestID + ", request-id " + ge.RequestID + ")"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestForbiddenNamesThePermission(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.Deny("POST", "/directory/authenticationMethodDevices")
	_, err := e.c.CreateDevice(ctx, device(1))
	ge := graphErr(t, err)
	if !graph.IsForbidden(err) || ge.Code != graph.CodeRequestDenied || ge.Permission != "Policy.ReadWrite.AuthenticationMethod" || ge.Role != "Authentication Policy Administrator" {
		t.Fatalf("error %+v", ge)
	}
	want := "graph POST /beta/directory/authenticationMethodDevices/hardwareOathDevices: 403 forbidden: Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs permission Policy.ReadWrite.AuthenticationMethod and role Authentication Policy Administrator) (client-request-id " + ge.ClientRequestID + ", request-id " + ge.RequestID + ")"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	// Reading is allowed; assigning on create needs more.
	if _, err := e.c.ListDevices(ctx, graph.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	d := device(2)
	d.AssignTo = &graph.Ref{ID: "u"}
	_, err = e.c.CreateDevice(ctx, d)
	if ge := graphErr(t, err); ge.Permission != "Policy.ReadWrite.AuthenticationMethod and UserAuthenticationMethod.ReadWrite.All" {
		t.Errorf("permission %q", ge.Permission)
	}
	if n := e.fake.CountRequests("POST", ""); n != 2 {
		t.Errorf("a 403 was retried: %d POSTs", n)
	}
}

func TestNonPremiumTenant(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.SetPremium(false)
	_, err := e.c.ListRegistrationDetails(ctx, graph.ListOptions{})
	if !graph.IsNotPremium(err) || graphErr(t, err).Permission != "AuditLog.Read.All" {
		t.Errorf("registration: %v", err)
	}
	_, err = e.c.ListSignIns(ctx, graph.SignInFilter{})
	if !graph.IsNotPremium(err) {
		t.Errorf("sign-ins: %v", err)
	}
	if _, err := e.c.ListDirectoryAudits(ctx, graph.ListOptions{}); err != nil {
		t.Errorf("audits need no premium in the fake: %v", err)
	}
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.Tokens = graph.StaticToken("stolen-or-expired") })
	_, err := e.c.ListDevices(ctx, graph.ListOptions{})
	if !graph.IsUnauthorized(err) || graphErr(t, err).Code != "InvalidAuthenticationToken" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(e.debug.String(), "stolen-or-expired") {
		t.Error("the bearer token reached the debug log")
	}
}

type failingTokens struct{}

func (failingTokens) Token(context.Context) (string, error) {
	return "", errors.New("sign-in cancelled")
}

func TestTokenSourceFailure(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.Tokens = failingTokens{} })
	_, err := e.c.ListDevices(ctx, graph.ListOptions{})
	if err == nil || err.Error() != "graph: getting a token: sign-in cancelled" {
		t.Fatalf("err = %v", err)
	}
	if len(e.fake.Requests()) != 0 {
		t.Error("a request went out without a token")
	}
}

// A Retry-After beyond what the client waits for (MaxRetryAfter) ends the retries at once,
// including one so large that it overflows a time.Duration.
func TestRetryAfterBeyondTheCapIsNotWaited(t *testing.T) {
	for _, ra := range []string{"301", "10000000000", "99999999999999999999"} {
		e := newEnv(t, nil)
		e.fake.ThrottleNext(1, ra)
		_, err := e.c.ListDevices(ctx, graph.ListOptions{})
		if !graph.IsThrottled(err) {
			t.Errorf("Retry-After %s: err = %v, want the 429", ra, err)
		}
		if n := len(e.fake.Requests()); n != 1 {
			t.Errorf("Retry-After %s: %d requests, want 1", ra, n)
		}
		if w := e.clock.Waits(); len(w) != 0 {
			t.Errorf("Retry-After %s: waited %v", ra, w)
		}
	}
}

// Cancelling the context (an interrupted command) stops the wait for a Retry-After at once,
// sends nothing more, and says it was cancelled.
func TestCancelStopsTheRetryAfterWait(t *testing.T) {
	e := newEnv(t, func(o *graph.Options) { o.Sleep = nil }) // the real wait
	e.fake.ThrottleNext(1, "60")
	c, cancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.c.ListDevices(c, graph.ListOptions{})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("returned after %v", d)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want one that is context.Canceled", err)
	}
	if !graph.IsThrottled(err) || !strings.Contains(err.Error(), "429 too many requests") || !strings.Contains(err.Error(), "stopped waiting to retry: context canceled") {
		t.Errorf("err = %v", err)
	}
	if n := len(e.fake.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// A service that answers a page with a link to the same page would be listed forever: the
// client stops with an error instead.
func TestNextLinkThatGoesNowhereIsRefused(t *testing.T) {
	f := graphfake.New()
	defer f.Close()
	n := 0
	srv := http.NewServeMux()
	srv.HandleFunc("/beta/directory/authenticationMethodDevices/hardwareOathDevices", func(w http.ResponseWriter, r *http.Request) {
		n++
		if n > 5 {
			http.Error(w, "too many", http.StatusTeapot)
			return
		}
		fmt.Fprintf(w, `{"value":[],"@odata.nextLink":"%s/beta/directory/authenticationMethodDevices/hardwareOathDevices?$skiptoken=same"}`, f.URL)
	})
	f.Config.Handler = srv
	c := graph.New(graph.Options{BaseURL: f.URL, HTTPClient: f.Client(), Tokens: graph.StaticToken("t")})
	_, err := c.ListDevices(ctx, graph.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "next link repeats the page just read") {
		t.Fatalf("err = %v", err)
	}
	if n != 2 {
		t.Errorf("%d pages asked, want 2", n)
	}
}
