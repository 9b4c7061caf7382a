package entra

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
)

const (
	benchUsers     = 2000
	benchPerUser   = 5 // the per-user limit of OATH methods: the import stays valid
	benchTokens    = benchUsers * benchPerUser
	benchPerSecond = 500 // about 12,000 requests: a floor near 24 s
)

// BenchmarkImportThrottled imports 10,000 tokens, each assigned, into a Graph fake that allows
// benchPerSecond requests a second and answers 429 with Retry-After beyond that, on the real
// clock. The floor is what the throttle allows for the requests the import needed (the bucket
// starts full, so its first benchPerSecond requests are free); the ratio says how much of the
// allowance the client wasted waiting too long or too little.
func BenchmarkImportThrottled(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		f := graphfake.New()
		upns := make([]string, benchUsers)
		ids := map[string]string{}
		for i := range upns {
			upns[i] = fmt.Sprintf("bench%04d@contoso.com", i)
			ids[f.AddUser(graph.User{UserPrincipalName: upns[i], DisplayName: upns[i]})] = upns[i]
		}
		rows := make([]directory.ImportRow, benchTokens)
		for i := range rows {
			rows[i] = galt(fmt.Sprintf("BENCH%05d", i), upns[i/benchPerUser])
		}
		d, err := Open(ctx, "entra://contoso.com", Options{GraphURL: f.URL, HTTPClient: f.Client(),
			Tokens: graph.StaticToken(graphfake.Token), Parallel: 8})
		if err != nil {
			b.Fatal(err)
		}
		f.Throttle(benchPerSecond)
		b.StartTimer()

		start := time.Now()
		res, err := d.ImportTokens(ctx, rowsOf(rows...), directory.ImportOptions{})
		elapsed := time.Since(start)

		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.Imported != benchTokens || res.Rejected != 0 || len(res.Problems) != 0 {
			b.Fatalf("result %+v", res)
		}
		reqs := f.Requests()
		admitted, throttled := 0, 0
		for _, r := range reqs {
			if r.Status == http.StatusTooManyRequests {
				throttled++
			} else {
				admitted++
			}
		}
		floor := time.Duration(float64(max(admitted-benchPerSecond, 0)) / benchPerSecond * float64(time.Second))
		b.ReportMetric(elapsed.Seconds(), "s/import")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(elapsed.Seconds()/floor.Seconds(), "ratio")
		b.ReportMetric(float64(admitted), "requests")
		b.ReportMetric(float64(throttled), "429s")
		if elapsed > floor*5/4 {
			b.Errorf("import took %v, over 1.25 times the floor of %v", elapsed, floor)
		}

		if n := f.DeviceCount(); n != benchTokens {
			b.Errorf("%d devices, want %d", n, benchTokens)
		}
		perUser := map[string]int{}
		for i, r := range rows {
			dev, ok := f.Device(r.Serial)
			switch {
			case !ok:
				b.Errorf("token %s was lost", r.Serial)
			case dev.AssignedTo == nil:
				b.Errorf("token %s is not assigned", r.Serial)
			case ids[dev.AssignedTo.ID] != upns[i/benchPerUser]:
				b.Errorf("token %s assigned to %s, want %s", r.Serial, ids[dev.AssignedTo.ID], upns[i/benchPerUser])
			default:
				perUser[dev.AssignedTo.ID]++
			}
		}
		for id, upn := range ids {
			if got, _ := f.Methods(id); len(got) != benchPerUser || perUser[id] != benchPerUser {
				b.Errorf("%s holds %d methods (%d of the rows' tokens), want %d", upn, len(got), perUser[id], benchPerUser)
			}
		}

		before := len(reqs)
		res, err = d.ImportTokens(ctx, rowsOf(rows...), directory.ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Unchanged != benchTokens || res.Imported != 0 {
			b.Errorf("second run: %+v", res)
		}
		for _, r := range f.Requests()[before:] {
			if r.Method != http.MethodGet {
				b.Errorf("the second run wrote: %s %s", r.Method, r.Path)
				break
			}
		}
		f.Close()
	}
}
