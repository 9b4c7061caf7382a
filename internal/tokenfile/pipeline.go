package tokenfile

import (
	"errors"
	"sync"

	"github.com/mfactl/mfactl/internal/tokens"
)

// The CSV pipeline. Reading a row (encoding/csv and the per-row rules) and the cross-row
// rules (the Checker, whose tables miss the cache on every row) cost about the same, so a
// large file is read on a goroutine of its own, a batch of records ahead of the caller, while
// the caller's goroutine runs the Checker and whatever the caller does with each record. The
// records come out in file order with the same problems as without the pipeline; the
// Checker and its ExistingMethods callback run on the caller's goroutine as before.
//
// A few batches circulate between the two goroutines, so that with ReuseRecord nothing is
// allocated per row beyond what encoding/csv allocates.

const (
	pipeBatch   = 512 // records in a batch: enough to make the hand-over cost nothing
	pipeBatches = 4   // batches in circulation: one being read, the rest waiting or in use
)

type batchResult struct {
	b   *tokens.Batch
	err error // after b's records: io.EOF at the end, or a read error
}

// csvPipe reads batches of a CSVReader on its own goroutine.
type csvPipe struct {
	full chan batchResult
	free chan *tokens.Batch
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once

	cur  batchResult // the batch being handed out
	i    int         // the next record of cur
	err  error       // the error that ended the stream, returned from then on
	rows int         // records read up to the end of cur
}

func newCSVPipe(cr *tokens.CSVReader) *csvPipe {
	p := &csvPipe{
		full: make(chan batchResult, pipeBatches),
		free: make(chan *tokens.Batch, pipeBatches),
		stop: make(chan struct{}),
	}
	for range pipeBatches {
		p.free <- tokens.NewBatch(pipeBatch)
	}
	p.done.Add(1)
	go p.read(cr)
	return p
}

func (p *csvPipe) read(cr *tokens.CSVReader) {
	defer p.done.Done()
	for {
		var b *tokens.Batch
		select {
		case b = <-p.free:
		case <-p.stop:
			return
		}
		err := cr.ReadBatch(b)
		// The channel has room for every batch, so this send never blocks.
		p.full <- batchResult{b, err}
		if err != nil {
			return
		}
	}
}

// next returns the next record, or the error that ended the stream.
func (p *csvPipe) next() (*tokens.Record, error) {
	for {
		if p.cur.b != nil && p.i < len(p.cur.b.Records) {
			rec := p.cur.b.Records[p.i]
			p.i++
			return rec, nil
		}
		if p.err != nil {
			return nil, p.err
		}
		if p.cur.b != nil {
			// The caller is done with the last record of cur: it asked for the next one.
			if p.cur.err != nil {
				p.err = p.cur.err
				return nil, p.err
			}
			p.free <- p.cur.b
		}
		p.cur, p.i = <-p.full, 0
		p.rows += len(p.cur.b.Records)
	}
}

// progress reports how many records the reader has read, and the bytes it consumed for them.
func (p *csvPipe) progress() (int, int64) {
	if p.cur.b == nil {
		return 0, 0
	}
	return p.rows, p.cur.b.InputOffset
}

var errClosed = errors.New("reading csv: the file was closed")

// close stops the reading goroutine and waits for it, so that the caller may close the
// underlying reader afterwards. It waits at most for one batch being read.
func (p *csvPipe) close() error {
	p.once.Do(func() { close(p.stop) })
	p.done.Wait()
	if p.err == nil {
		p.err = errClosed
		p.cur = batchResult{}
	}
	return nil
}
