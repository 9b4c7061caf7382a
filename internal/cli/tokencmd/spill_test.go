package tokencmd

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// spillData is n bytes of CSV-like rows, each carrying marker, so a test can look for the
// plaintext in the file.
func spillData(n int, marker string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "user%07d@contoso.com,%d,%s,30,Contoso,HardwareKey\n", i, 10000000+i, marker)
	}
	return b.Bytes()[:n]
}

// A spill file is gone from its folder as soon as it is created (where the system allows it),
// so that even SIGKILL leaves nothing; what it holds is encrypted; and it reads back what was
// written, across chunk boundaries, written in pieces of any size, any number of times.
func TestSpillFileUnlinkedEncryptedRoundTrip(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("TMP", tmp) // Windows
	const marker = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for _, n := range []int{0, 1, spillChunk - 1, spillChunk, spillChunk + 1, 3*spillChunk + 77} {
		for _, piece := range []int{1 << 20, 100, 7} {
			if n > 100_000 && piece < 100 {
				continue
			}
			name := fmt.Sprintf("%d bytes in pieces of %d", n, piece)
			data := spillData(n, marker)
			s, err := newSpillFile("mfactl-test-*.csv")
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" {
				if left, _ := os.ReadDir(tmp); len(left) != 0 {
					t.Errorf("%s: the spill file is in the folder: %v", name, left)
				}
			}
			for p := data; len(p) > 0; {
				k := min(piece, len(p))
				if w, err := s.Write(p[:k]); err != nil || w != k {
					t.Fatalf("%s: Write = %d, %v", name, w, err)
				}
				p = p[k:]
			}
			for range 2 {
				r, err := s.reader()
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("%s: reading back: %v", name, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("%s: read back %d bytes, want the %d written", name, len(got), len(data))
				}
			}
			raw, err := io.ReadAll(io.NewSectionReader(s.f, 0, 1<<40))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(marker)) || bytes.Contains(raw, []byte("contoso")) {
				t.Errorf("%s: the file holds the plaintext", name)
			}
			if want := n + (n+spillChunk-1)/spillChunk*16; len(raw) != want {
				t.Errorf("%s: the file holds %d bytes, want %d", name, len(raw), want)
			}
			s.remove()
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("%s: left after remove: %v", name, left)
			}
		}
	}
}

// A spill file changed behind mfactl's back fails to read instead of feeding back other rows.
func TestSpillFileAltered(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	for _, alter := range []string{"flip", "truncate"} {
		s, err := newSpillFile("mfactl-test-*.csv")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(spillData(2*spillChunk+10, "X")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.reader(); err != nil { // seals the last chunk
			t.Fatal(err)
		}
		switch alter {
		case "flip":
			if _, err := s.f.WriteAt([]byte{0xff}, spillChunk+40); err != nil {
				t.Fatal(err)
			}
		case "truncate":
			if err := s.f.Truncate(spillChunk + 16 + 5); err != nil {
				t.Fatal(err)
			}
		}
		r, err := s.reader()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r); err == nil || !strings.Contains(err.Error(), "the temporary file was altered") {
			t.Errorf("%s: reading back: %v, want the file reported altered", alter, err)
		}
		s.remove()
	}
}

// --out: the temporary file beside the output stays empty while the CSV is held (killed then,
// mfactl leaves no secret behind), gets the CSV only on Commit, and is gone after Abort.
func TestFileSinkHoldsUntilCommit(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.csv")
	for _, commit := range []bool{false, true} {
		for _, limit := range []int{0, 10} {
			s, err := newFileSink(path)
			if err != nil {
				t.Fatal(err)
			}
			s.limit = limit
			data := spillData(3*spillChunk, "JBSWY3DPEHPK3PXP")
			if _, err := s.Write(data); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".tokens.csv.tmp-") {
				t.Fatalf("limit %d: the folder holds %v, want the temporary file alone", limit, entries)
			}
			if info, _ := entries[0].Info(); info.Size() != 0 {
				t.Errorf("limit %d: the temporary file holds %d bytes before Commit, want 0", limit, info.Size())
			}
			if commit {
				if err := s.Commit(); err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
					t.Errorf("limit %d: the output holds %d bytes, want the %d written", limit, len(got), len(data))
				}
			} else {
				s.Abort()
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Errorf("limit %d: the output exists after Abort (%v)", limit, err)
				}
			}
			entries, _ = os.ReadDir(dir)
			if want := map[bool]int{false: 0, true: 1}[commit]; len(entries) != want {
				t.Errorf("limit %d, commit %t: the folder holds %v", limit, commit, entries)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("limit %d, commit %t: temporary files left: %v", limit, commit, left)
			}
			os.Remove(path)
		}
	}
}
