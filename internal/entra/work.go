package entra

import (
	"sync"

	"github.com/mfactl/mfactl/internal/directory"
)

// workMeter tells a progress callback how far a phase has come (directory.Work), one call at
// a time although the steps complete on the goroutines of d.pool.
type workMeter struct {
	fn          func(directory.Work)
	mu          sync.Mutex
	phase       string
	done, total int
}

// beginWork starts a phase of total steps: reported at once with Done 0, unless fn is nil or
// there are no steps.
func beginWork(fn func(directory.Work), phase string, total int) *workMeter {
	m := &workMeter{phase: phase, total: total}
	if fn != nil && total > 0 {
		m.fn = fn
		m.fn(directory.Work{Phase: phase, Total: total})
	}
	return m
}

// step reports n more steps of the phase done.
func (m *workMeter) step(n int) {
	if m.fn == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done += n
	m.fn(directory.Work{Phase: m.phase, Done: m.done, Total: m.total})
}
