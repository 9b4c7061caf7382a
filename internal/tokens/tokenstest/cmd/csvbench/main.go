//go:build linux

// Command csvbench measures `tokens validate` on a large Azure OATH CSV against the baseline of
// the validate target of docs/performance.md (reading the file with encoding/csv and
// Base32-decoding the secrets), with the CPU time and peak resident memory of this process.
// Each mode should run in its own process so the peak memory belongs to it alone:
//
//	go run ./internal/tokens/tokenstest/cmd/csvbench -gen 1000000 -out /tmp/t.csv
//	go run ./internal/tokens/tokenstest/cmd/csvbench -mode baseline /tmp/t.csv
//	go run ./internal/tokens/tokenstest/cmd/csvbench -mode validate /tmp/t.csv
//
// Modes: baseline; read (the CSV reader with its per-row rules, no Checker); plain (the
// token file reader on one goroutine, every rule); validate (the token file reader as
// `tokens validate` uses it: pipelined over two goroutines, every rule).
//
// CPU time (user+system) is reported beside wall time because shared machines make wall time
// noisy. Peak RSS is VmHWM from /proc/self/status, hence Linux only.
package main

import (
	"bufio"
	"encoding/base32"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/mfactl/mfactl/internal/tokenfile"
	"github.com/mfactl/mfactl/internal/tokens"
	"github.com/mfactl/mfactl/internal/tokens/tokenstest"
)

func main() {
	gen := flag.Int("gen", 0, "generate a file of this many rows into -out and exit")
	out := flag.String("out", "", "file to generate")
	seed := flag.Int64("seed", 1, "generator seed")
	mode := flag.String("mode", "validate", "validate, plain (validate on one goroutine), read (per-row rules only) or baseline")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "csvbench: error:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*gen, *out, *seed, *mode, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "csvbench: error:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(gen int, out string, seed int64, mode string, args []string) error {
	if gen > 0 {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if err := tokenstest.GenerateCSV(f, gen, seed); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if len(args) != 1 {
		return errors.New("want one file")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	var rows, problems int
	switch mode {
	case "baseline":
		rows, err = baseline(f)
	case "validate", "plain":
		// As `tokens validate` does: the heap limit and the size hint.
		debug.SetMemoryLimit(52 << 20)
		var size int64
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		rows, problems, err = validate(f, size, mode == "plain")
	case "read":
		rows, problems, err = read(f)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		return err
	}
	wall := time.Since(start)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("mode=%s rows=%d problems=%d wall=%.2fs cpu=%.2fs rows/cpu-s=%.0f peak_rss=%s go_sys=%.1fMiB heap_alloc=%.1fMiB gc=%d\n",
		mode, rows, problems, wall.Seconds(), cpu.Seconds(), float64(rows)/cpu.Seconds(), vmHWM(),
		float64(ms.Sys)/(1<<20), float64(ms.HeapAlloc)/(1<<20), ms.NumGC)
	return nil
}

func baseline(r io.Reader) (int, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return 0, err
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	var buf [128]byte
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		if _, err := enc.Decode(buf[:], []byte(rec[2])); err != nil {
			return rows, err
		}
		rows++
	}
}

// validate reads the file with every rule as `tokens validate` does, on one goroutine when
// plain is set.
func validate(r io.Reader, size int64, plain bool) (rows, problems int, err error) {
	tf, err := tokenfile.Open(r, tokenfile.Options{Format: tokenfile.FormatCSV, NoPipeline: plain, SizeHint: size,
		CSV: tokens.CSVOptions{ReuseRecord: true}})
	if err != nil {
		return 0, 0, err
	}
	defer tf.Close()
	problems = len(tf.Problems)
	for {
		rec, err := tf.Next()
		if errors.Is(err, io.EOF) {
			return rows, problems, nil
		}
		if err != nil {
			return rows, problems, err
		}
		rows++
		problems += len(rec.Problems)
	}
}

// read reads the file with the per-row rules only (no Checker), to see the split between
// per-row and cross-row costs.
func read(r io.Reader) (rows, problems int, err error) {
	cr, err := tokens.NewCSVReader(r, tokens.CSVOptions{ReuseRecord: true})
	if err != nil {
		return 0, 0, err
	}
	problems = len(cr.HeaderProblems())
	for {
		rec, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return rows, problems, nil
		}
		if err != nil {
			return rows, problems, err
		}
		rows++
		problems += len(rec.Problems)
	}
}

func vmHWM() string {
	if os.Getenv("CSVBENCH_SMAPS") != "" {
		if b, err := os.ReadFile("/proc/self/smaps_rollup"); err == nil {
			fmt.Fprint(os.Stderr, string(b))
		}
	}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return "n/a"
}
