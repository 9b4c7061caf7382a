package tokencmd

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// bulkProgressDelay is how long a bulk activation or reset runs before its progress bar
// appears; a variable so that tests can show it at once.
var bulkProgressDelay = time.Second

// bulkOutcome is what became of one row of a bulk activation.
type bulkOutcome struct {
	ran       bool // the row was tried; false for the rows after a stop
	view      bulkRowView
	activated bool
	err       error // a failure that stops the run (not a denial or a refused assignment)
}

// runBulkRows runs do for the rows, up to parallel at a time, and returns the outcomes in file
// order. Rows are started in file order, and a row naming the serial number of an earlier row
// waits for that row to finish, so the rows of one token run in file order relative to each
// other. After a row fails with err, or once ctx is cancelled (Ctrl-C), no new row is
// started; the rows already running finish. With parallel 1 it is the plain loop: one row
// after the other, stopping at the first failure. step is called after each row that ran.
func runBulkRows(ctx context.Context, rows []bulkRow, parallel int, step func(), do func(bulkRow) bulkOutcome) []bulkOutcome {
	out := make([]bulkOutcome, len(rows))
	finished := make([]chan struct{}, len(rows))
	prev := make([]int, len(rows)) // the row before with the same serial number, or -1
	last := map[string]int{}
	for i, r := range rows {
		finished[i] = make(chan struct{})
		k := directory.Key(r.serial)
		prev[i] = -1
		if j, ok := last[k]; ok {
			prev[i] = j
		}
		last[k] = i
	}
	var stop atomic.Bool
	stopped := func() bool { return stop.Load() || ctx.Err() != nil }
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range rows {
		sem <- struct{}{}
		if stopped() {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { close(finished[i]); <-sem; wg.Done() }()
			// A row only waits for a row started before it, so the waits always end.
			if p := prev[i]; p >= 0 {
				<-finished[p]
			}
			if stopped() {
				return
			}
			out[i] = do(rows[i])
			out[i].ran = true
			if out[i].err != nil {
				stop.Store(true)
			}
			step()
		}()
	}
	wg.Wait()
	return out
}
