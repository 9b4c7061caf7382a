package tokencmd

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
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
//
// The bar appears part-way through the file, so the library's own rate and time estimate,
// which start when the bar does, would count everything read before as read in an instant
// (hundreds of GB/s and "0s" left). The rate and the time left are worked out here from the
// start of the import instead, and shown as the bar's description.
func (p *importProgress) update() {
	if !p.enabled {
		return
	}
	elapsed := time.Since(p.start)
	if p.bar == nil {
		if elapsed < p.delay {
			return
		}
		p.bar = progressbar.NewOptions64(p.size,
			progressbar.OptionSetWriter(p.f.IO.ErrOut),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowBytes(false),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionClearOnFinish(),
		)
	}
	read := p.read.n.Load()
	_ = p.bar.Set64(read)
	p.bar.Describe(progressStatus(read, p.size, elapsed))
}

// progressStatus describes an import that has read read bytes of size (-1: unknown) in
// elapsed: "importing 12 MB/s, about 4s left" (or "almost done"), or with an unknown size "importing 30 MB,
// 12 MB/s".
func progressStatus(read, size int64, elapsed time.Duration) string {
	secs := elapsed.Seconds()
	if secs <= 0 || read <= 0 {
		return "importing"
	}
	rate := float64(read) / secs
	if size < 0 {
		return fmt.Sprintf("importing %s, %s/s", humanize.Bytes(uint64(read)), humanize.Bytes(uint64(rate)))
	}
	left := time.Duration(float64(max(size-read, 0)) / rate * float64(time.Second)).Round(time.Second)
	if left < time.Second {
		return fmt.Sprintf("importing %s/s, almost done", humanize.Bytes(uint64(rate)))
	}
	return fmt.Sprintf("importing %s/s, about %s left", humanize.Bytes(uint64(rate)), left)
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
