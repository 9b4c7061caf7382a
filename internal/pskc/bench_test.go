package pskc

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// The workload of the convert target (docs/performance.md): 100,000 TOTP keys, plaintext and
// AES-128-CBC + HMAC-SHA1.
const benchKeys = 100_000

var benchKey = []byte("0123456789abcdef")

func benchEnc() *testEnc {
	return &testEnc{cipher: "aes128-cbc", key: benchKey, mac: "hmac-sha1", macKey: testMAC}
}

func writeBenchFile(tb testing.TB, path string, enc *testEnc) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := writePSKC(f, genTOTP(benchKeys), enc); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func countKeys(r io.Reader, opts Options) (int, error) {
	rd, err := NewReader(r, opts)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	n := 0
	for {
		_, err := rd.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func benchmarkRead(b *testing.B, enc *testEnc, opts Options) {
	path := filepath.Join(b.TempDir(), "bench.pskc")
	writeBenchFile(b, path, enc)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		n, err := countKeys(bufio.NewReaderSize(f, 64<<10), opts)
		f.Close()
		if err != nil || n != benchKeys {
			b.Fatalf("%d keys, %v", n, err)
		}
	}
	b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-sys-MiB")
}

// BenchmarkRead100kPlain reads 100,000 plaintext TOTP keys (~78 MB).
func BenchmarkRead100kPlain(b *testing.B) { benchmarkRead(b, nil, Options{}) }

// BenchmarkRead100kAES128CBC reads the same keys encrypted with AES-128-CBC + HMAC-SHA1.
func BenchmarkRead100kAES128CBC(b *testing.B) {
	benchmarkRead(b, benchEnc(), Options{Key: benchKey})
}

// TestWriteBenchFiles writes the benchmark files for comparisons with other tools:
//
//	PSKC_BENCH_DIR=/tmp/pskcbench go test -run TestWriteBenchFiles ./internal/pskc
//
// The pre-shared key of the encrypted file is printed.
func TestWriteBenchFiles(t *testing.T) {
	dir := os.Getenv("PSKC_BENCH_DIR")
	if dir == "" {
		t.Skip("set PSKC_BENCH_DIR to write the benchmark files")
	}
	writeBenchFile(t, filepath.Join(dir, "totp-100k-plain.pskc"), nil)
	writeBenchFile(t, filepath.Join(dir, "totp-100k-aes128cbc.pskc"), benchEnc())
	t.Logf("key for totp-100k-aes128cbc.pskc: %s", hex.EncodeToString(benchKey))
}

// TestReadFileForRSS reads one file, for peak-RSS measurements of a test binary:
//
//	go test -c -o /tmp/pskc.test ./internal/pskc
//	PSKC_READ_FILE=f.pskc PSKC_KEY_HEX=... /usr/bin/time -v /tmp/pskc.test -test.run TestReadFileForRSS -test.v
func TestReadFileForRSS(t *testing.T) {
	path := os.Getenv("PSKC_READ_FILE")
	if path == "" {
		t.Skip("set PSKC_READ_FILE to read a file")
	}
	var opts Options
	if k := os.Getenv("PSKC_KEY_HEX"); k != "" {
		opts.Key = unhex(t, k)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	n, err := countKeys(bufio.NewReaderSize(f, 64<<10), opts)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%d keys in %v\n", n, time.Since(start))
}
