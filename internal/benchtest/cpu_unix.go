//go:build unix

package benchtest

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time (user and system) the process used so far: on a shared machine the
// wall time of a benchmark says more about the neighbours than about the code.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
