package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

// TestDriftHistoryFollowsLearnedDrift: activation records the first drift, each verification
// that learns another drift records it, one that learns the same drift records nothing; the
// points carry the token's serial, owner and last use.
func TestDriftHistoryFollowsLearnedDrift(t *testing.T) {
	ctx := context.Background()
	clock := t0
	e := newHostsEnv(t, &clock) // TOK0 activated at t0 with drift 0
	svc := e.host(t, 1)
	// The token's clock runs one step ahead every ten days.
	for _, c := range []struct {
		days, ahead int
	}{{10, 1}, {12, 1}, {20, 2}, {30, 3}} {
		clock = t0.Add(time.Duration(c.days) * 24 * time.Hour)
		r, err := svc.Verify(ctx, "ada@contoso.com", code(t, clock.Add(time.Duration(c.ahead)*30*time.Second)), auth.Options{})
		if err != nil || !r.Success {
			t.Fatalf("day %d: %+v %v", c.days, r, err)
		}
	}
	d := store.OpenTestDB(t, e.dir, store.Options{Mode: store.ModeReadOnly, NoKey: true})
	var got []directory.DriftPoint
	for p, err := range d.DriftHistory(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	last := t0.Add(30 * 24 * time.Hour)
	want := []struct {
		day, drift int
	}{{0, 0}, {10, 1}, {20, 2}, {30, 3}}
	if len(got) != len(want) {
		t.Fatalf("%d drift points, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		p := got[i]
		at := t0.Add(time.Duration(w.day) * 24 * time.Hour)
		if p.Serial != "TOK0" || p.UPN != "ada@contoso.com" || p.Period != 30 || p.Drift != w.drift ||
			!p.Time.Equal(at) || p.Step != at.Unix()/30+int64(w.drift) || !p.LastUsed.Equal(last) {
			t.Errorf("point %d: %+v, want day %d drift %d", i, p, w.day, w.drift)
		}
	}
}
