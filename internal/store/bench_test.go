package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// benchRows is the size of the import benchmarks: 1,000,000 (docs/performance.md) unless
// MFACTL_BENCH_ROWS says otherwise (for a quick run).
func benchRows(b *testing.B) int {
	if testing.Short() {
		b.Skip("1M-row import benchmark skipped in -short mode")
	}
	if v := os.Getenv("MFACTL_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("MFACTL_BENCH_ROWS=%q is not a positive number", v)
		}
		return n
	}
	return 1_000_000
}

// peakRSSMiB reads the process's peak resident set size (Linux; 0 elsewhere). Run the
// benchmark alone (-run '^$' -bench Import1M) so the figure is the import's.
func peakRSSMiB() float64 {
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

// BenchmarkImport1M imports 1M tokens, each for its own new user (the worst case: 1M users
// are created too), into a new database. Rows come from a deterministic in-memory generator,
// so the figure is the store's alone; internal/store/testdata/bench-import.sh compares the
// whole path from a CSV file with the sqlite3 shell.
func BenchmarkImport1M(b *testing.B) {
	n := benchRows(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		d, err := Open(ctx, filepath.Join(dir, "mfactl.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := d.ImportTokens(ctx, genSource(0, n, n), ImportOptions{})
		if err != nil || res.Imported != n {
			b.Fatalf("%+v %v", res, err)
		}
		b.StopTimer()
		d.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkReimport1M imports the same 1M rows into a database that already holds them:
// every row is Unchanged and nothing is written.
func BenchmarkReimport1M(b *testing.B) {
	n := benchRows(b)
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(b.TempDir(), "mfactl.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, err := d.ImportTokens(ctx, genSource(0, n, n), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := d.ImportTokens(ctx, genSource(0, n, n), ImportOptions{})
		if err != nil || res.Unchanged != n {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}
