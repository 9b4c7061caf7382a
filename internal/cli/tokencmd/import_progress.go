package tokencmd

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/progress"
	"github.com/mfactl/mfactl/internal/directory"
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

// importProgress shows the import's progress bar on stderr (a terminal, not quiet, after the
// delay: internal/cli/progress). It goes by bytes of the file read, and then, on a directory
// whose writes take long after the file is read (Microsoft Entra ID, through Graph), by the
// work done there, phase by phase: "importing into contoso.onmicrosoft.com: 1,234/10,000
// tokens assigned, about 40s left", the rate counted from when the phase began.
type importProgress struct {
	bar  *progress.Bar
	read *countingReader
	size int64 // -1: unknown (standard input)

	mu      sync.Mutex
	working bool // the directory reports its work: the bytes no longer say anything
}

func newImportProgress(f *cmdutil.Factory, read *countingReader, size int64, delay time.Duration) *importProgress {
	return &importProgress{bar: progress.New(f, delay), read: read, size: size}
}

// update moves the bar to the bytes read so far, until the directory reports its work. The SQL
// store calls it after each batch; a directory that reads the whole file first (Entra ID)
// calls it once at the end, and reports its work meanwhile.
func (p *importProgress) update() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.working {
		p.bar.Bytes("importing", p.read.n.Load(), p.size)
	}
}

// workUnits says what a step of each phase of directory.Work is, in the bar.
var workUnits = map[string]string{
	directory.WorkChecking:  "users checked",
	directory.WorkCreating:  "tokens created",
	directory.WorkUpdating:  "tokens updated",
	directory.WorkAssigning: "tokens assigned",
}

// work shows how far the directory's work (label: "importing into TENANT") has come.
func (p *importProgress) work(label string, w directory.Work) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.working = true
	unit, ok := workUnits[w.Phase]
	if !ok {
		unit = w.Phase
	}
	p.bar.Count(label, w.Done, w.Total, unit)
}

// done removes the bar, so that what follows starts on a clean line.
func (p *importProgress) done() { p.bar.Done() }
