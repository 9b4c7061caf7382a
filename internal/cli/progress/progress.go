// Package progress draws the progress bar of long work on stderr: the import by bytes of its
// file and then by the writes a remote directory needs, bulk activation by rows, a bulk reset
// by users. It draws only on a terminal and when not --quiet (a bar in a log file or a pipe is
// noise), and only once the work has run longer than a delay (a flash of a bar for a short run
// is noise too).
//
// A Bar is safe for concurrent use: bulk work on Microsoft Entra ID reports from the goroutines
// that run its requests. Once the work has reported (so the command's own messages before
// the work are written), it is also redrawn on a timer, so that the bar appears after the
// delay and its time keeps moving while a slow or throttled request holds the count still.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// DefaultDelay is how long work runs before its bar appears.
const DefaultDelay = time.Second

// redrawEvery bounds how often the bar is drawn: updates in between only move the numbers.
const redrawEvery = 100 * time.Millisecond

// Bar is one command's progress bar. The zero of its state draws nothing: the caller says
// what is counted with Count or Bytes.
type Bar struct {
	w       io.Writer
	enabled bool
	delay   time.Duration
	start   time.Time
	now     func() time.Time

	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	drawn  time.Time // last draw
	set    bool      // a state was given
	bytes  bool      // the state counts bytes, not items
	label  string
	unit   string // what Count counts ("writes", "rows"); "" for Bytes
	done   int64
	total  int64     // -1: unknown
	since  time.Time // when the counted work began: rates are worked out from here
	closed bool

	stop    chan struct{}
	stopped chan struct{}
}

// New returns the bar of a command run through f: shown on stderr when it is a terminal and
// the command is not quiet, once delay has passed since New.
func New(f *cmdutil.Factory, delay time.Duration) *Bar {
	return NewWriter(f.IO.ErrOut, f.IO.IsStderrTTY() && !f.Quiet, delay)
}

// NewWriter returns a bar that draws on w when enabled, once delay has passed since the call.
func NewWriter(w io.Writer, enabled bool, delay time.Duration) *Bar {
	b := &Bar{w: w, enabled: enabled, delay: delay, now: time.Now}
	b.start = b.now()
	if enabled {
		b.stop, b.stopped = make(chan struct{}), make(chan struct{})
		go b.tick()
	}
	return b
}

func (b *Bar) tick() {
	defer close(b.stopped)
	t := time.NewTicker(redrawEvery)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.mu.Lock()
			b.draw(true)
			b.mu.Unlock()
		}
	}
}

// Count says that done of total items (unit: "writes", "rows", "users") of the work named by
// label are done. A new label or unit starts a new phase, whose rate counts from this call; a
// phase's counts only grow (a smaller done is ignored), so reports that arrive out of order
// from parallel requests do not move the bar back.
func (b *Bar) Count(label string, done, total int, unit string) {
	if !b.enabled {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.set || b.bytes || b.label != label || b.unit != unit {
		b.newPhase()
		b.set, b.bytes, b.label, b.unit, b.done, b.since = true, false, label, unit, 0, b.now()
	}
	b.done = max(b.done, int64(done))
	b.total = int64(total)
	b.draw(false)
}

// Bytes says that read bytes of size (-1: unknown) of the work named by label are done; the
// rate counts from the bar's start.
func (b *Bar) Bytes(label string, read, size int64) {
	if !b.enabled {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.set || !b.bytes || b.label != label {
		b.newPhase()
		b.set, b.bytes, b.label, b.unit, b.done, b.since = true, true, label, "", 0, b.start
	}
	b.done, b.total = max(b.done, read), size
	b.draw(false)
}

// newPhase removes the bar of the phase before, if shown: the next draw makes one for the new
// phase (its total, or a spinner for an unknown size). b.mu is held.
func (b *Bar) newPhase() {
	if b.bar != nil {
		_ = b.bar.Finish()
		b.bar = nil
	}
}

// draw creates the bar once the delay has passed and shows the state; b.mu is held. Updates
// within redrawEvery of the last draw wait for the timer, unless forced.
func (b *Bar) draw(timer bool) {
	if b.closed || !b.set {
		return
	}
	now := b.now()
	if now.Sub(b.start) < b.delay {
		return
	}
	if b.bar == nil {
		b.bar = progressbar.NewOptions64(b.total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionShowBytes(false),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionClearOnFinish(),
		)
	} else if !timer && now.Sub(b.drawn) < redrawEvery {
		return
	}
	b.drawn = now
	if b.bar.GetMax64() != b.total {
		b.bar.ChangeMax64(b.total)
	}
	elapsed := now.Sub(b.since)
	if b.bytes {
		b.bar.Describe(BytesStatus(b.label, b.done, b.total, elapsed))
	} else {
		b.bar.Describe(CountStatus(b.label, b.done, b.total, b.unit, elapsed))
	}
	_ = b.bar.Set64(b.done)
}

// Done removes the bar, so that what follows starts on a clean line. Later updates draw
// nothing. It is safe to call more than once.
func (b *Bar) Done() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	if b.stop != nil {
		close(b.stop)
		<-b.stopped
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		// The last state, which the throttle may have held back, then the line cleared.
		b.closed = false
		b.draw(true)
		b.closed = true
		_ = b.bar.Finish()
		b.bar = nil
	}
}

// Shown says whether the bar has been drawn and not yet removed.
func (b *Bar) Shown() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bar != nil
}

// CountStatus describes done of total items of unit in elapsed: "importing into contoso.com:
// 1,234/10,000 writes, about 40s left" (or "almost done"), without the time left until the
// first item is done.
func CountStatus(label string, done, total int64, unit string, elapsed time.Duration) string {
	s := fmt.Sprintf("%s: %s/%s %s", label, humanize.Comma(done), humanize.Comma(total), unit)
	secs := elapsed.Seconds()
	if done <= 0 || secs <= 0 || total <= 0 {
		return s
	}
	rate := float64(done) / secs
	left := time.Duration(float64(max(total-done, 0)) / rate * float64(time.Second)).Round(time.Second)
	if left < time.Second {
		return s + ", almost done"
	}
	return fmt.Sprintf("%s, about %s left", s, left)
}

// BytesStatus describes read bytes of size (-1: unknown) in elapsed: "importing 12 MB/s,
// about 4s left" (or "almost done"), or with an unknown size "importing 30 MB, 12 MB/s".
func BytesStatus(label string, read, size int64, elapsed time.Duration) string {
	secs := elapsed.Seconds()
	if secs <= 0 || read <= 0 {
		return label
	}
	rate := float64(read) / secs
	if size < 0 {
		return fmt.Sprintf("%s %s, %s/s", label, humanize.Bytes(uint64(read)), humanize.Bytes(uint64(rate)))
	}
	left := time.Duration(float64(max(size-read, 0)) / rate * float64(time.Second)).Round(time.Second)
	if left < time.Second {
		return fmt.Sprintf("%s %s/s, almost done", label, humanize.Bytes(uint64(rate)))
	}
	return fmt.Sprintf("%s %s/s, about %s left", label, humanize.Bytes(uint64(rate)), left)
}
