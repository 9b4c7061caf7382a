// Package benchtest is what the large benchmarks share: their size, and the peak memory and
// CPU time they report. It imports nothing of mfactl, so that every package's own tests (the
// store's included) may use it.
package benchtest

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// SizeVar names the environment variable that sets the size of the large benchmarks, for a
// quick run: MFACTL_BENCH_ROWS=1000.
const SizeVar = "MFACTL_BENCH_ROWS"

// DefaultRows is the size of the large benchmarks: the million rows or tokens of the targets
// in docs/performance.md.
const DefaultRows = 1_000_000

// Rows is the size of a large benchmark: SizeVar when set, else DefaultRows. It skips the
// benchmark in -short mode and fails it when SizeVar is not a positive number.
func Rows(b testing.TB) int {
	b.Helper()
	if testing.Short() {
		b.Skip("large benchmark skipped in -short mode")
	}
	if v := os.Getenv(SizeVar); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q is not a positive number", SizeVar, v)
		}
		return n
	}
	return DefaultRows
}

// PeakRSSMiB is the process's peak resident set size in MiB (VmHWM, Linux; 0 elsewhere). It is
// the whole process's: run the benchmark alone (-run '^$' -bench NAME) so the figure is its.
func PeakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
