package report

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
)

// TestDriftEstimate: a token whose clock gained 3 steps in 30 days (1 step per 10 days) and
// was last used on day 30 leaves a window of 1 step 10 days after that use; with a window of
// 2, 20 days. The drift in force at the start of the period (the last point before --since)
// is its first drift.
func TestDriftEstimate(t *testing.T) {
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return day0.Add(time.Duration(d) * 24 * time.Hour) }
	pts := []directory.DriftPoint{
		{TokenID: 1, Serial: "TOK1", UPN: "ada@contoso.com", Time: at(-50), Drift: -4},
		{TokenID: 1, Serial: "TOK1", UPN: "ada@contoso.com", Time: at(-10), Drift: 0},
		{TokenID: 1, Serial: "TOK1", UPN: "ada@contoso.com", Time: at(10), Drift: 1},
		{TokenID: 1, Serial: "TOK1", UPN: "ada@contoso.com", Time: at(20), Drift: 3, LastUsed: at(25)},
	}
	now := at(30)
	got, ok := driftToken(pts, DriftQuery{Since: at(0), MinSteps: 2, Window: 1}, now)
	if !ok {
		t.Fatal("token not reported")
	}
	// From day -10 (drift 0, in force at day 0) to day 20 (drift 3): 3 steps in 30 days.
	if got.FirstDrift != 0 || got.LastDrift != 3 || got.Moved() != 3 || math.Abs(got.StepsPer30Days-3) > 1e-9 ||
		!got.From.Equal(at(-10)) || !got.To.Equal(at(20)) || len(got.History) != 3 {
		t.Errorf("summary %+v", got)
	}
	// Last used day 25; 1 step takes 10 days: day 35, 5 days from now.
	if !got.LeavesWindow.Equal(at(35)) || math.Abs(got.DaysLeft-5) > 1e-9 {
		t.Errorf("leaves the window %s (%.2f days), want %s (5 days)", got.LeavesWindow, got.DaysLeft, at(35))
	}
	got, _ = driftToken(pts, DriftQuery{Since: at(0), MinSteps: 2, Window: 2}, now)
	if !got.LeavesWindow.Equal(at(45)) {
		t.Errorf("window 2: leaves %s, want %s", got.LeavesWindow, at(45))
	}
	if _, ok := driftToken(pts, DriftQuery{Since: at(0), MinSteps: 4, Window: 1}, now); ok {
		t.Error("a token that moved 3 steps reported with --min-steps 4")
	}
	// Over all history: -4 to 3, 7 steps in 70 days; the same rate.
	got, _ = driftToken(pts, DriftQuery{MinSteps: 2, Window: 1}, now)
	if got.FirstDrift != -4 || got.Moved() != 7 || math.Abs(got.StepsPer30Days-3) > 1e-9 {
		t.Errorf("all history: %+v", got)
	}
}

// TestDriftReport runs the report on a directory whose token's clock runs ahead, learned by
// real verifications.
func TestDriftReport(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	nowf := func() time.Time { return clock }
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "d.db"), store.Options{Now: nowf})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secret := []byte("12345678901234567890")
	code := func(at time.Time) string {
		c, err := tokens.TOTP(secret, tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(at, 30))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := db.AddUser(ctx, directory.User{UPN: "ada@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	for _, serial := range []string{"FAST", "GOOD"} {
		row := directory.ImportRow{Line: 2, Serial: serial, UPN: "ada@contoso.com", Secret: secret, Manufacturer: "C", Model: "K"}
		if _, err := db.ImportTokens(ctx, seq(row), directory.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := auth.New(db, nowf, auth.Server{Name: "h"})
	for _, serial := range []string{"FAST", "GOOD"} {
		if r, err := svc.Activate(ctx, serial, code(clock), auth.ActivateOptions{Window: auth.DefaultActivationWindow}); err != nil || !r.Success {
			t.Fatalf("activating %s: %+v %v", serial, r, err)
		}
	}
	start := clock
	for d := 1; d <= 3; d++ {
		clock = start.Add(time.Duration(d*10) * 24 * time.Hour)
		// Both tokens share the secret: the first that fits (FAST, by serial) learns the drift.
		if r, err := svc.Verify(ctx, "ada@contoso.com", code(clock.Add(time.Duration(d)*30*time.Second)), auth.Options{}); err != nil || !r.Success {
			t.Fatalf("day %d: %+v %v", d*10, r, err)
		}
	}
	clock = start.Add(35 * 24 * time.Hour)
	rep := New(db, nowf)
	got, err := rep.Drift(ctx, DriftQuery{Since: start.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Serial != "FAST" || got[0].FirstDrift != 0 || got[0].LastDrift != 3 ||
		!got[0].LeavesWindow.Equal(start.Add(40*24*time.Hour)) || math.Abs(got[0].DaysLeft-5) > 1e-9 {
		t.Fatalf("drift report %+v", got)
	}
	if _, err := rep.Drift(ctx, DriftQuery{MinSteps: -1}); err == nil || err.Error() != "--min-steps: -1 is negative" {
		t.Errorf("negative --min-steps: %v", err)
	}
}
