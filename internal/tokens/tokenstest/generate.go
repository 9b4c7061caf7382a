// Package tokenstest generates Azure OATH CSV files for tests and benchmarks of the token
// file commands (validate, import, reports), so every package measures the same data.
package tokenstest

import (
	"bufio"
	"encoding/base32"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Header is the header line GenerateCSV writes.
const Header = "upn,serial number,secret key,time interval,manufacturer,model\n"

// GenerateCSV writes a valid Azure OATH CSV of n token rows to w: the header, then rows with
// one user each (user0000001@contoso.com, ...), serials 10000001 upwards, distinct random
// 20-byte secrets in Base32 (32 characters), a 30-second interval (60 on every tenth row),
// manufacturer Contoso and model HardwareKey. The same seed gives the same bytes. Every
// value is distinct, which is the worst case for the cross-row checks' memory. The secrets
// are random test data, not real seeds.
func GenerateCSV(w io.Writer, n int, seed int64) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d6661637463746c))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	var secret [20]byte
	line := make([]byte, 0, 128)
	if _, err := bw.WriteString(Header); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		for j := 0; j < len(secret); j += 8 {
			v := rng.Uint64()
			for k := j; k < j+8 && k < len(secret); k++ {
				secret[k] = byte(v)
				v >>= 8
			}
		}
		line = line[:0]
		line = append(line, "user"...)
		line = appendPadded(line, i, 7)
		line = append(line, "@contoso.com,"...)
		line = strconv.AppendInt(line, int64(10000000+i), 10)
		line = append(line, ',')
		line = enc.AppendEncode(line, secret[:])
		if i%10 == 0 {
			line = append(line, ",60,"...)
		} else {
			line = append(line, ",30,"...)
		}
		line = append(line, "Contoso,HardwareKey\n"...)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendPadded(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// CachedCSV returns the path of a file made by GenerateCSV(n, seed), generating it once into
// the system temporary directory and reusing it afterwards (a million rows take a few
// seconds to write and are 70 MB). Meant for benchmarks.
func CachedCSV(tb testing.TB, n int, seed int64) string {
	tb.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("mfactl-tokens-%d-%d.csv", n, seed))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	f, err := os.CreateTemp(filepath.Dir(path), "mfactl-tokens-*.tmp")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(f.Name())
	if err := GenerateCSV(f, n, seed); err != nil {
		f.Close()
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	// Rename so a concurrent or interrupted run never sees half a file.
	if err := os.Rename(f.Name(), path); err != nil {
		tb.Fatal(err)
	}
	return path
}
