package report

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// The drift report finds the hardware tokens whose clock runs away. Verification accepts a code
// within Window steps of the token's learned drift, and every success moves the learned drift
// to where the token's clock is. A token used every day therefore keeps working however fast
// its clock drifts; the one that fails is the token left unused for a while (a holiday, a long
// weekend) whose clock moved by more than the window since its last use. From the rate at
// which its drift moved over the period, the report estimates when that happens: the last use
// plus the time the clock needs to move Window steps. Replacing the token, or having it used
// before then, avoids the Monday morning lockout.

// Defaults of the drift report.
const (
	DefaultDriftMinSteps = 2
	DefaultDriftWindow   = 1
)

// DriftQuery selects the tokens of the drift report.
type DriftQuery struct {
	// Since starts the period (zero: all history). The drift in force at Since (the last point
	// before it) is the period's first drift.
	Since time.Time
	// MinSteps is how far the drift must have moved over the period (0: DefaultDriftMinSteps).
	MinSteps int
	// Window is the verification window around the learned drift, in steps (0:
	// DefaultDriftWindow).
	Window int
}

// DriftToken is one token of the drift report.
type DriftToken struct {
	Serial     string
	UPN        string
	FirstDrift int       // the drift at the start of the period
	LastDrift  int       // the drift now
	From, To   time.Time // when the first and last drift were learned
	// StepsPer30Days is the rate of the drift over the period, signed (positive: the token's
	// clock runs ahead).
	StepsPer30Days float64
	LastUsed       time.Time // zero: never used since activation
	// LeavesWindow is the estimate of when the token's clock will be more than the window
	// away from its learned drift if it is not used before then; DaysLeft is the days from now
	// to then, negative when that time has passed (the next use will likely fail).
	LeavesWindow time.Time
	DaysLeft     float64
	// History is the drifts of the period in time order, the first one included.
	History []int
}

// Moved is how many steps the drift moved over the period.
func (t DriftToken) Moved() int {
	return abs(t.LastDrift - t.FirstDrift)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// Drift returns the tokens whose drift moved by q.MinSteps or more over the period, those
// closest to leaving the window first.
func (r *Reporter) Drift(ctx context.Context, q DriftQuery) ([]DriftToken, error) {
	if q.MinSteps < 0 {
		return nil, invalid("--min-steps", "%d is negative", q.MinSteps)
	}
	if q.Window < 0 {
		return nil, invalid("--window", "%d is negative", q.Window)
	}
	if q.MinSteps == 0 {
		q.MinSteps = DefaultDriftMinSteps
	}
	if q.Window == 0 {
		q.Window = DefaultDriftWindow
	}
	now := r.now().UTC()
	var out []DriftToken
	var cur []directory.DriftPoint
	flush := func() {
		if t, ok := driftToken(cur, q, now); ok {
			out = append(out, t)
		}
		cur = cur[:0]
	}
	for p, err := range r.store.DriftHistory(ctx) {
		if err != nil {
			return nil, err
		}
		if len(cur) > 0 && cur[0].TokenID != p.TokenID {
			flush()
		}
		cur = append(cur, p)
	}
	flush()
	slices.SortStableFunc(out, func(a, b DriftToken) int {
		return cmp.Or(cmp.Compare(a.DaysLeft, b.DaysLeft), cmp.Compare(a.Serial, b.Serial))
	})
	return out, nil
}

// driftToken summarises one token's points (in time order) over the period.
func driftToken(points []directory.DriftPoint, q DriftQuery, now time.Time) (DriftToken, bool) {
	// The period starts with the drift in force at Since: the last point before it.
	start := 0
	for i, p := range points {
		if p.Time.Before(q.Since) {
			start = i
		}
	}
	points = points[start:]
	if len(points) < 2 {
		return DriftToken{}, false
	}
	first, last := points[0], points[len(points)-1]
	t := DriftToken{Serial: last.Serial, UPN: last.UPN, FirstDrift: first.Drift, LastDrift: last.Drift,
		From: first.Time, To: last.Time, LastUsed: last.LastUsed}
	if t.Moved() < q.MinSteps {
		return DriftToken{}, false
	}
	for _, p := range points {
		t.History = append(t.History, p.Drift)
	}
	// A rate over less than a day says little; count at least one day.
	days := max(last.Time.Sub(first.Time).Hours()/24, 1)
	perDay := float64(last.Drift-first.Drift) / days
	t.StepsPer30Days = perDay * 30
	since := t.LastUsed
	if since.IsZero() || since.Before(last.Time) {
		since = last.Time
	}
	speed := perDay
	if speed < 0 {
		speed = -speed
	}
	leaves := float64(q.Window) / speed // days after the last use
	t.LeavesWindow = since.Add(time.Duration(leaves * 24 * float64(time.Hour))).UTC().Truncate(time.Second)
	t.DaysLeft = t.LeavesWindow.Sub(now).Hours() / 24
	return t, true
}
