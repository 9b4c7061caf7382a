package tokencmd

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// countingReader counts the bytes read through it: the import's progress through its file.
// The count is atomic because the store may read the file on a goroutine of its own while
// the progress bar is drawn on the caller's.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// importProgress shows a progress bar on stderr, by bytes of the file read, for an import that
// runs longer than delay, and only on a terminal when not quiet (SPEC section 10): a bar in a
// log file or a pipe is noise.
type importProgress struct {
	enabled bool
	f       *cmdutil.Factory
	read    *countingReader
	size    int64 // -1: unknown (standard input)
	start   time.Time
	delay   time.Duration
	bar     *progressbar.ProgressBar
}

func newImportProgress(f *cmdutil.Factory, read *countingReader, size int64, delay time.Duration) *importProgress {
	return &importProgress{
		enabled: f.IO.IsStderrTTY() && !f.Quiet,
		f:       f, read: read, size: size, start: time.Now(), delay: delay,
	}
}

// update moves the bar to the bytes read so far, creating it once the delay has passed.
func (p *importProgress) update() {
	if !p.enabled {
		return
	}
	if p.bar == nil {
		if time.Since(p.start) < p.delay {
			return
		}
		p.bar = progressbar.NewOptions64(p.size,
			progressbar.OptionSetWriter(p.f.IO.ErrOut),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = p.bar.Set64(p.read.n.Load())
}

// done removes the bar, so that what follows starts on a clean line.
func (p *importProgress) done() {
	if p.bar == nil {
		return
	}
	_ = p.bar.Finish()
	p.bar = nil
	p.enabled = false
}
