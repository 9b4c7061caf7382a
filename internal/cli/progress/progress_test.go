package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/iostreams"
)

// syncBuffer is a buffer the bar's timer and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCountStatus(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		elapsed     time.Duration
		want        string
	}{
		{0, 10_000, 0, "importing into contoso.onmicrosoft.com: 0/10,000 writes"},
		{1_234, 10_000, 5 * time.Second, "importing into contoso.onmicrosoft.com: 1,234/10,000 writes, about 36s left"},
		{9_999, 10_000, 20 * time.Second, "importing into contoso.onmicrosoft.com: 9,999/10,000 writes, almost done"},
		{10_000, 10_000, 20 * time.Second, "importing into contoso.onmicrosoft.com: 10,000/10,000 writes, almost done"},
	} {
		if got := CountStatus("importing into contoso.onmicrosoft.com", tc.done, tc.total, "writes", tc.elapsed); got != tc.want {
			t.Errorf("CountStatus(%d, %d, %v) = %q, want %q", tc.done, tc.total, tc.elapsed, got, tc.want)
		}
	}
}

// TestBytesStatus: the rate and the time left count from the start of the work, not from when
// the bar appeared (which once showed the bytes read before as read in an instant).
func TestBytesStatus(t *testing.T) {
	for _, tc := range []struct {
		read, size int64
		elapsed    time.Duration
		want       string
	}{
		{0, 100, 0, "importing"},
		{50_000_000, 200_000_000, 5 * time.Second, "importing 10 MB/s, about 15s left"},
		{199_000_000, 200_000_000, 20 * time.Second, "importing 10 MB/s, almost done"},
		{30_000_000, -1, 3 * time.Second, "importing 30 MB, 10 MB/s"},
	} {
		if got := BytesStatus("importing", tc.read, tc.size, tc.elapsed); got != tc.want {
			t.Errorf("BytesStatus(%d, %d, %v) = %q, want %q", tc.read, tc.size, tc.elapsed, got, tc.want)
		}
	}
}

// TestBarOnlyOnATerminal: the bar is drawn on stderr when it is a terminal and the command is
// not quiet, never otherwise.
func TestBarOnlyOnATerminal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stderrTTY bool
		quiet     bool
		want      bool
	}{
		{"terminal", true, false, true},
		{"pipe", false, false, false},
		{"quiet terminal", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, out, _ := iostreams.Test()
			errOut := &syncBuffer{}
			ios.ErrOut = errOut
			ios.SetTTY(false, false, tc.stderrTTY)
			f := cmdutil.NewFactory(ios, func(string) string { return "" })
			f.Quiet = tc.quiet
			b := New(f, 0)
			b.Count("activating", 3, 10, "rows")
			shown := b.Shown()
			b.Done()
			if got := strings.Contains(errOut.String(), "activating: 3/10 rows"); got != tc.want || shown != tc.want {
				t.Errorf("bar shown: %v (Shown %v), want %v; stderr:\n%q", got, shown, tc.want, errOut)
			}
			if out.Len() != 0 {
				t.Errorf("progress on stdout: %q", out)
			}
		})
	}
}

// TestBarWaitsForTheDelay: nothing is drawn before the delay, and after Done nothing more.
func TestBarWaitsForTheDelay(t *testing.T) {
	w := &syncBuffer{}
	b := NewWriter(w, true, time.Hour)
	b.Count("activating", 1, 10, "rows")
	if b.Shown() || w.String() != "" {
		t.Errorf("drawn before the delay: %q", w)
	}
	b.Done()
	b.Count("activating", 2, 10, "rows")
	if w.String() != "" {
		t.Errorf("drawn after Done: %q", w)
	}
}

// TestBarCountsOnlyGrow: reports from parallel requests may arrive out of order; the bar does
// not move back. A new phase starts its count afresh.
func TestBarCountsOnlyGrow(t *testing.T) {
	w := &syncBuffer{}
	now := time.Unix(1000, 0)
	b := NewWriter(w, true, 0)
	b.mu.Lock()
	b.now = func() time.Time { return now }
	b.start = now
	b.mu.Unlock()
	b.Count("importing", 5, 10, "writes")
	b.mu.Lock()
	now = now.Add(time.Second)
	b.mu.Unlock()
	b.Count("importing", 4, 10, "writes")
	b.mu.Lock()
	done := b.done
	b.mu.Unlock()
	if done != 5 {
		t.Errorf("done = %d after a late report of 4, want 5", done)
	}
	b.Count("assigning", 1, 3, "tokens")
	b.mu.Lock()
	done = b.done
	b.mu.Unlock()
	if done != 1 {
		t.Errorf("done = %d in a new phase, want 1", done)
	}
	b.Done()
	if !strings.Contains(w.String(), "importing: 5/10 writes") {
		t.Errorf("stderr %q", w)
	}
}

// TestBarAppearsOnTheTimer: a count reported before the delay is drawn by the timer once the
// delay has passed, without another report.
func TestBarAppearsOnTheTimer(t *testing.T) {
	w := &syncBuffer{}
	b := NewWriter(w, true, 150*time.Millisecond)
	b.Count("activating", 1, 10, "rows")
	if w.String() != "" {
		t.Fatalf("drawn before the delay: %q", w)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !b.Shown() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.Done()
	if !strings.Contains(w.String(), "activating: 1/10 rows") {
		t.Errorf("stderr %q", w)
	}
}
