package tokencmd

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/mfactl/mfactl/internal/tokens"
)

// headCaptureLimit is how much of the start of the input is kept to read the header again for
// the rejected-rows file: more than the longest header the CSV reader accepts (1 MiB) plus its
// read-ahead buffers.
const headCaptureLimit = 1<<20 + 256<<10

// headCapture keeps a copy of the first bytes read through it. The token file reader does not
// hand out the header it read; reading the copy with the same CSV reader gives the header
// exactly as the import saw it (byte-order mark, UTF-16, "sep=" line and all).
type headCapture struct {
	r     io.Reader
	limit int
	buf   []byte
}

func (h *headCapture) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := h.limit - len(h.buf); room > 0 && n > 0 {
		h.buf = append(h.buf, p[:min(n, room)]...)
	}
	return n, err
}

// rejectedFile writes the rows an import rejected, as they were read and with the file's
// header, to a CSV file that can be fixed and imported again. It holds secrets, so it is
// created with mode 0600, and it is written to a temporary file renamed into place only when
// the import succeeded: a failed run leaves nothing half-written.
//
// Rows rejected by the file rules are known at once; rows the directory rejects are known
// only when the store has processed their batch. Rows wait in pending until everything before
// them is settled, so that the file keeps the order of the input. The store may run the row
// source on a goroutine of its own while it reports problems and progress on the caller's, so
// every method takes the lock.
type rejectedFile struct {
	mu        sync.Mutex
	path      string
	tmp       *os.File
	bw        *bufio.Writer
	w         *csv.Writer
	pending   []rejectedRow
	base      int         // rows removed from the front of pending so far
	index     map[int]int // line -> base-relative position in pending of a row sent to the store
	sent      int         // rows sent to the store so far
	committed bool
	err       error // the first write error, reported by commit

	written    int
	unwritable int   // rows that could not be split into fields (csv.quote)
	lost       []int // the lines of the first of them, for the warning
}

// maxLostLines bounds the lines named in the warning about rows left out of the file.
const maxLostLines = 10

type rejectedRow struct {
	line     int
	fields   []string
	seq      int // 1-based number among the rows sent to the store; 0: rejected by the file rules
	rejected bool
}

// newRejectedFile starts the rejected-rows file with the header of the input, read again from
// the captured start of the input.
func newRejectedFile(path string, head *headCapture, opts tokens.CSVOptions) (*rejectedFile, error) {
	cr, err := tokens.NewCSVReader(bytes.NewReader(head.buf), opts)
	head.buf, head.limit = nil, 0 // not needed any more
	if err != nil {
		return nil, fmt.Errorf("reading the header for --rejected: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating rejected-rows file: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("creating rejected-rows file: %w", err)
	}
	r := &rejectedFile{path: path, tmp: tmp, bw: bufio.NewWriter(tmp), index: map[int]int{}}
	r.w = csv.NewWriter(r.bw)
	delim := cr.Delimiter()
	r.w.Comma = delim
	want := opts.Delimiter
	if want == 0 {
		want = ','
	}
	if delim != want {
		// The separator came from the file's own "sep=" line: keep it, so the rejected rows
		// are read back the way the original was.
		fmt.Fprintf(r.bw, "sep=%c\n", delim)
	}
	if header := cr.Header(); header != nil {
		if err := r.w.Write(header); err != nil {
			r.abort()
			return nil, fmt.Errorf("writing rejected-rows file: %w", err)
		}
	}
	return r, nil
}

// reject books a row the file rules rejected.
func (r *rejectedFile) reject(rec *tokens.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, rejectedRow{line: rec.Line, fields: rec.Fields, rejected: true})
}

// sendRow books a row handed to the store, whose fate is known later.
func (r *rejectedFile) sendRow(rec *tokens.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	r.index[rec.Line] = r.base + len(r.pending)
	r.pending = append(r.pending, rejectedRow{line: rec.Line, fields: rec.Fields, seq: r.sent})
}

// storeRejected marks a row the directory rejected.
func (r *rejectedFile) storeRejected(line int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, ok := r.index[line]; ok {
		r.pending[i-r.base].rejected = true
	}
}

// settle writes out the rows whose fate is known: those rejected by the file rules and the
// first processed rows sent to the store, in input order. A write error is kept for commit,
// since the store's callbacks cannot return one.
func (r *rejectedFile) settle(processed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for ; n < len(r.pending); n++ {
		row := r.pending[n]
		if row.seq > processed {
			break
		}
		if row.seq > 0 {
			delete(r.index, row.line)
		}
		if !row.rejected || r.err != nil {
			continue
		}
		if row.fields == nil {
			r.unwritable++
			if len(r.lost) < maxLostLines {
				r.lost = append(r.lost, row.line)
			}
			continue
		}
		if err := r.w.Write(row.fields); err != nil {
			r.err = err
			continue
		}
		r.written++
	}
	rest := copy(r.pending, r.pending[n:])
	clear(r.pending[rest:])
	r.pending = r.pending[:rest]
	r.base += n
}

// commit writes the remaining rows and moves the file into place.
func (r *rejectedFile) commit() error {
	r.settle(math.MaxInt)
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.err
	if err == nil {
		r.w.Flush()
		err = r.w.Error()
	}
	if err == nil {
		err = r.bw.Flush()
	}
	if err == nil {
		err = r.tmp.Sync()
	}
	if cerr := r.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(r.tmp.Name(), r.path)
	}
	if err != nil {
		os.Remove(r.tmp.Name())
		return fmt.Errorf("writing rejected-rows file %s: %w", r.path, err)
	}
	r.committed = true
	return nil
}

// abort removes the temporary file unless commit moved it into place.
func (r *rejectedFile) abort() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.committed {
		return
	}
	r.tmp.Close()
	os.Remove(r.tmp.Name())
}
