package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mfactl/mfactl/internal/benchtest"
)

// BenchmarkImport1M imports 1M tokens (MFACTL_BENCH_ROWS for another size: internal/benchtest),
// each for its own new user (the worst case: 1M users are created too), into a new database.
// Rows come from a deterministic in-memory generator, so the figure is the store's alone; internal/store/testdata/bench-import.sh compares the
// whole path from a CSV file with the sqlite3 shell.
func BenchmarkImport1M(b *testing.B) {
	n := benchtest.Rows(b)
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
	b.ReportMetric(benchtest.PeakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkReimport1M imports the same 1M rows into a database that already holds them:
// every row is Unchanged and nothing is written.
func BenchmarkReimport1M(b *testing.B) {
	n := benchtest.Rows(b)
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
	b.ReportMetric(benchtest.PeakRSSMiB(), "peak-RSS-MiB")
}
