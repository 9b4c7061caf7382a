package tokencmd

import (
	"context"
	"encoding/base32"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
	"github.com/mfactl/mfactl/internal/tokens"
)

// inFlight counts the requests a client has open at once.
type inFlight struct {
	next     http.RoundTripper
	now, max atomic.Int64
}

func (c *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.now.Add(1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	defer c.now.Add(-1)
	return c.next.RoundTrip(r)
}

// bulkSecret is the secret of every token of entraBulk: one code activates them all.
var bulkSecret = []byte("12345678901234567890")

// entraBulk is a tenant in the Graph fake with n available tokens and users for them (five
// each, the method limit), every request delayed by delay, and the rows that activate them
// with --from, each assigning its token to its user. The directory counts requests in flight.
func entraBulk(t testing.TB, n, parallel int, delay time.Duration) (*entra.Directory, *inFlight, []bulkRow) {
	t.Helper()
	ctx := context.Background()
	g := graphfake.New()
	t.Cleanup(g.Close)
	var devs []graph.Device
	for i := range n {
		devs = append(devs, graph.Device{SerialNumber: fmt.Sprintf("BULK%05d", i), Manufacturer: "Gemalto", Model: "GALT-100",
			SecretKey: graph.Secret(secretEncodingForTest(bulkSecret)), TimeIntervalInSeconds: 30, HashFunction: graph.HashSHA1})
	}
	seed := graph.New(graph.Options{BaseURL: g.URL, HTTPClient: g.Client(), Tokens: graph.StaticToken(graphfake.Token)})
	for _, r := range seed.CreateDevices(ctx, devs) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	code, err := tokens.TOTP(bulkSecret, tokens.OTPParams{Hash: tokens.HashSHA1, Digits: 6}, tokens.Step(time.Now(), 30))
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]bulkRow, n)
	for i := range rows {
		upn := fmt.Sprintf("user%04d@contoso.com", i/5)
		if i%5 == 0 {
			g.AddUser(graph.User{UserPrincipalName: upn, DisplayName: upn})
		}
		rows[i] = bulkRow{line: i + 2, serial: devs[i].SerialNumber, code: code, upn: upn}
	}
	g.Delay("", "/", delay)
	client := g.Client()
	counter := &inFlight{next: client.Transport}
	client.Transport = counter
	d, err := entra.Open(ctx, "entra://contoso.com", entra.Options{GraphURL: g.URL, HTTPClient: client,
		Tokens: graph.StaticToken(graphfake.Token), Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	return d, counter, rows
}

func secretEncodingForTest(b []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// activateAll runs the rows as tokens activate --from does on Entra ID.
func activateAll(d *entra.Directory, rows []bulkRow, parallel int) []bulkOutcome {
	ctx := context.Background()
	return runBulkRows(ctx, rows, parallel, func() {}, func(row bulkRow) bulkOutcome {
		r, err := d.Activate(ctx, row.serial, row.code, auth.ActivateOptions{AssignTo: row.upn})
		if err != nil {
			return bulkOutcome{err: err}
		}
		return bulkOutcome{view: bulkRowView{Line: row.line, activationView: newActivationView(r)}, activated: r.Success}
	})
}

// TestBulkActivationOnEntraIsBounded: against the Graph fake, with every request slowed so
// that the rows overlap, at most --parallel requests are in flight, every row is activated,
// and the outcomes come back in file order.
func TestBulkActivationOnEntraIsBounded(t *testing.T) {
	for _, parallel := range []int{1, 3} {
		d, counter, rows := entraBulk(t, 12, parallel, 20*time.Millisecond)
		outs := activateAll(d, rows, parallel)
		for i, o := range outs {
			if o.err != nil || !o.activated || o.view.Line != rows[i].line || o.view.SerialNumber != rows[i].serial ||
				o.view.Status != string(directory.StatusActivated) {
				t.Errorf("parallel %d: row %d: %+v", parallel, i, o)
			}
		}
		if got := int(counter.max.Load()); got != parallel {
			t.Errorf("parallel %d: %d requests in flight at most", parallel, got)
		}
	}
}

// TestMeasureBulkActivationOnEntra measures a 1,000-row bulk activation against the Graph fake
// with every request delayed 50 ms, --parallel 1 and 4. It takes minutes: set
// MFACTL_MEASURE_BULK=1 and run with -v (docs/performance.md).
func TestMeasureBulkActivationOnEntra(t *testing.T) {
	if os.Getenv("MFACTL_MEASURE_BULK") == "" {
		t.Skip("set MFACTL_MEASURE_BULK=1 to measure")
	}
	n := 1000
	if s := os.Getenv("MFACTL_MEASURE_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var mu sync.Mutex
	var lines []string
	for _, parallel := range []int{1, 4} {
		d, counter, rows := entraBulk(t, n, parallel, 50*time.Millisecond)
		start := time.Now()
		outs := activateAll(d, rows, parallel)
		elapsed := time.Since(start)
		ok := slices.IndexFunc(outs, func(o bulkOutcome) bool { return !o.activated }) < 0
		mu.Lock()
		lines = append(lines, fmt.Sprintf("%d rows, --parallel %d: %v (%.1f rows/s), max %d in flight, all activated: %v",
			n, parallel, elapsed.Round(100*time.Millisecond), float64(n)/elapsed.Seconds(), counter.max.Load(), ok))
		mu.Unlock()
		t.Log(lines[len(lines)-1])
	}
}
