package finder

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/benchtest"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
)

// BenchmarkFind1M searches a directory of 1,000,000 tokens (MFACTL_BENCH_ROWS for another
// size) for the two codes one of them shows now, as `mfactl tokens find` does. Every token is
// stock that never verified a code. window=1 is the default (the usual verification window, 3
// steps each, the same cost as a directory of activated tokens); window=10 is the wider search
// for stock whose clock drifted in a drawer (21 steps each).
//
//	go test ./internal/finder -run '^$' -bench Find1M -benchtime 5x
//
// The directory is built once with the store's importer (about a minute) and cached in
// $TMPDIR/mfactl-bench/find-<n>; remove it to build it again.
func BenchmarkFind1M(b *testing.B) {
	n := benchtest.Rows(b)
	db := benchDir(b, n)
	ctx := context.Background()
	target := n * 7 / 9
	for _, window := range []int{DefaultWindow, 10} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			q := Query{Codes: []string{benchCode(b, target, 0), benchCode(b, target, 1)}, Now: benchNow, Window: window}
			cpu0 := benchtest.CPUTime()
			for b.Loop() {
				r, err := Find(ctx, db, q)
				if err != nil {
					b.Fatal(err)
				}
				if r.Searched != n || len(r.Matches) != 1 || r.Matches[0].Serial != benchSerial(target) {
					b.Fatalf("searched %d, matches %+v", r.Searched, r.Matches)
				}
			}
			b.ReportMetric(float64(benchtest.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(benchtest.PeakRSSMiB(), "peak-RSS-MiB")
		})
	}
}

var benchNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func benchSerial(i int) string { return fmt.Sprintf("FND%07d", i) }

func benchSecret(i int) []byte { return []byte(fmt.Sprintf("find-bench-secret-%07d", i)) }

func benchCode(b *testing.B, i, offset int) string {
	c, err := tokens.TOTP(benchSecret(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(benchNow, 30)+int64(offset))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

var benchDB struct {
	sync.Mutex
	dbs map[int]*store.DB
}

// benchDir opens the cached directory of n stock tokens, building it first when it is absent:
// in a folder beside it that is renamed into place when complete, so an interrupted build never
// leaves a half-filled cache.
func benchDir(b *testing.B, n int) *store.DB {
	benchDB.Lock()
	defer benchDB.Unlock()
	if db := benchDB.dbs[n]; db != nil {
		return db
	}
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), "mfactl-bench", fmt.Sprintf("find-%d", n))
	if _, err := os.Stat(filepath.Join(dir, store.DefaultDBName)); err != nil {
		tmp := dir + ".tmp"
		if err := os.RemoveAll(tmp); err != nil {
			b.Fatal(err)
		}
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		db, err := store.Open(ctx, filepath.Join(tmp, store.DefaultDBName), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.ImportTokens(ctx, benchSource(n), directory.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			b.Fatal(err)
		}
		b.Logf("built a directory of %d tokens in %v", n, time.Since(start).Round(time.Second))
	}
	db, err := store.Open(ctx, filepath.Join(dir, store.DefaultDBName), store.Options{Mode: store.ModeExisting})
	if err != nil {
		b.Fatal(err)
	}
	if benchDB.dbs == nil {
		benchDB.dbs = map[int]*store.DB{}
	}
	benchDB.dbs[n] = db
	return db
}

func benchSource(n int) iter.Seq2[directory.ImportRow, error] {
	return func(yield func(directory.ImportRow, error) bool) {
		for i := range n {
			if !yield(directory.ImportRow{Line: i + 2, Serial: benchSerial(i), Secret: benchSecret(i),
				Period: 30, Digits: 6, Hash: "SHA1", Manufacturer: "Contoso", Model: "K1"}, nil) {
				return
			}
		}
	}
}
