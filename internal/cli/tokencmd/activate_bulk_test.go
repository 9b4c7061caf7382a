package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// bulkRecorder is a do function for runBulkRows that records what ran, when, and how many ran
// at once.
type bulkRecorder struct {
	mu       sync.Mutex
	inFlight int
	maxSeen  int
	started  []int // lines, in start order
	ended    map[int]int
	endSeq   int
	fail     map[int]bool
	delay    time.Duration
}

func (b *bulkRecorder) do(row bulkRow) bulkOutcome {
	b.mu.Lock()
	b.inFlight++
	b.maxSeen = max(b.maxSeen, b.inFlight)
	b.started = append(b.started, row.line)
	b.mu.Unlock()
	time.Sleep(b.delay)
	b.mu.Lock()
	b.inFlight--
	b.endSeq++
	b.ended[row.line] = b.endSeq
	b.mu.Unlock()
	if b.fail[row.line] {
		return bulkOutcome{err: fmt.Errorf("line %d broke", row.line)}
	}
	return bulkOutcome{view: bulkRowView{Line: row.line}, activated: true}
}

func bulkRowsOf(serials ...string) []bulkRow {
	rows := make([]bulkRow, len(serials))
	for i, s := range serials {
		rows[i] = bulkRow{line: i + 2, serial: s, code: "123456"}
	}
	return rows
}

// TestBulkRowsRunParallelInFileOrder: at most parallel rows at once, all of them run, the
// outcomes come back in file order, and the rows of one serial number (ignoring case) run one
// after the other in file order.
func TestBulkRowsRunParallelInFileOrder(t *testing.T) {
	var serials []string
	for i := range 40 {
		serials = append(serials, fmt.Sprintf("SN%02d", i))
	}
	serials[7], serials[9], serials[30] = "DUP", "dup", "Dup"
	rows := bulkRowsOf(serials...)
	for _, parallel := range []int{1, 4} {
		rec := &bulkRecorder{ended: map[int]int{}, delay: 5 * time.Millisecond}
		steps := 0
		var mu sync.Mutex
		outs := runBulkRows(context.Background(), rows, parallel, func() { mu.Lock(); steps++; mu.Unlock() }, rec.do)
		if rec.maxSeen != parallel {
			t.Errorf("parallel %d: %d rows ran at once", parallel, rec.maxSeen)
		}
		if steps != len(rows) {
			t.Errorf("parallel %d: %d steps, want %d", parallel, steps, len(rows))
		}
		for i, o := range outs {
			if !o.ran || o.view.Line != rows[i].line || !o.activated {
				t.Errorf("parallel %d: outcome %d = %+v", parallel, i, o)
			}
		}
		// DUP is on lines 9, 11, 32: each starts after the one before it ended.
		start := func(line int) int { return slices.Index(rec.started, line) }
		for _, pair := range [][2]int{{9, 11}, {11, 32}} {
			a, b := pair[0], pair[1]
			// b started after a ended: b's start comes after at least ended[a] endings.
			if start(b) < start(a) {
				t.Errorf("parallel %d: line %d started before line %d", parallel, b, a)
			}
		}
		if parallel == 1 && !slices.IsSorted(rec.started) {
			t.Errorf("sequential run out of order: %v", rec.started)
		}
	}
}

// TestBulkRowsSameSerialWaits: with many rows free to run, a row of a serial number already
// running waits for it.
func TestBulkRowsSameSerialWaits(t *testing.T) {
	rows := bulkRowsOf("A", "A", "B", "C", "D")
	var mu sync.Mutex
	var events []string
	do := func(row bulkRow) bulkOutcome {
		mu.Lock()
		events = append(events, fmt.Sprintf("start %d", row.line))
		mu.Unlock()
		if row.line == 2 {
			time.Sleep(50 * time.Millisecond)
		}
		mu.Lock()
		events = append(events, fmt.Sprintf("end %d", row.line))
		mu.Unlock()
		return bulkOutcome{view: bulkRowView{Line: row.line}}
	}
	runBulkRows(context.Background(), rows, 4, func() {}, do)
	if i, j := slices.Index(events, "end 2"), slices.Index(events, "start 3"); i < 0 || j < i {
		t.Errorf("line 3 (same serial as line 2) started before line 2 ended: %v", events)
	}
	if i, j := slices.Index(events, "end 2"), slices.Index(events, "end 4"); j > i {
		t.Errorf("line 4 waited for line 2 of another serial: %v", events)
	}
}

// TestBulkRowsStopAfterAFailure: a failure stops new rows; sequentially nothing after it runs,
// as before; in parallel only rows already started finish.
func TestBulkRowsStopAfterAFailure(t *testing.T) {
	rows := bulkRowsOf("A", "B", "C", "D", "E", "F", "G", "H", "I", "J")
	for _, parallel := range []int{1, 3} {
		rec := &bulkRecorder{ended: map[int]int{}, fail: map[int]bool{4: true}, delay: 10 * time.Millisecond}
		outs := runBulkRows(context.Background(), rows, parallel, func() {}, rec.do)
		ran := 0
		for _, o := range outs {
			if o.ran {
				ran++
			}
		}
		if !outs[0].ran || !outs[1].ran || !outs[2].ran || outs[2].err == nil {
			t.Errorf("parallel %d: outcomes %+v", parallel, outs)
		}
		if max := 3 + parallel - 1; ran > max {
			t.Errorf("parallel %d: %d rows ran after a failure on the third, want at most %d", parallel, ran, max)
		}
		if parallel == 1 && ran != 3 {
			t.Errorf("sequential: %d rows ran, want 3", ran)
		}
	}
}

// TestBulkRowsStopOnCancel is Ctrl-C: no new row starts once the context is cancelled.
func TestBulkRowsStopOnCancel(t *testing.T) {
	rows := bulkRowsOf("A", "B", "C", "D", "E", "F", "G", "H")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var mu sync.Mutex
	do := func(row bulkRow) bulkOutcome {
		mu.Lock()
		n++
		if n == 2 {
			cancel()
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		return bulkOutcome{view: bulkRowView{Line: row.line}}
	}
	outs := runBulkRows(ctx, rows, 2, func() {}, do)
	ran := 0
	for _, o := range outs {
		if o.ran {
			ran++
		}
	}
	if ran > 3 || !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("%d rows ran after Ctrl-C at the second, want at most 3", ran)
	}
}
