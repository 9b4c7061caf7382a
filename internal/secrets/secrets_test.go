package secrets

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKeyCreates0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "mfactl.key")
	key, created, err := LoadOrCreateKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if !created || len(key) != KeySize {
		t.Fatalf("created=%v len=%d, want true %d", created, len(key), KeySize)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Dir(path)); runtime.GOOS != "windows" && st.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %04o, want 0700", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if got := strings.TrimSpace(string(data)); got != hex.EncodeToString(key) {
		t.Errorf("file does not hold the key as hex")
	}
	again, created, err := LoadOrCreateKey(path, true)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second load: created=%v err=%v same=%v", created, err, bytes.Equal(again, key))
	}
}

func TestLoadOrCreateKeyErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.key")
	_, created, err := LoadOrCreateKey(missing, false)
	if !errors.Is(err, ErrKeyNotFound) || created {
		t.Fatalf("missing key: err=%v created=%v, want ErrKeyNotFound", err, created)
	}
	if _, statErr := os.Stat(missing); statErr == nil {
		t.Fatal("key file created although allowCreate was false")
	}
	if want := "key file " + missing + " not found"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}

	bad := filepath.Join(dir, "bad.key")
	secretish := "not-a-key-JBSWY3DPEHPK3PXP"
	os.WriteFile(bad, []byte(secretish), 0o600)
	_, _, err = LoadOrCreateKey(bad, true)
	if !errors.Is(err, ErrKeyInvalid) {
		t.Fatalf("bad key: %v, want ErrKeyInvalid", err)
	}
	if strings.Contains(err.Error(), "JBSWY3DP") {
		t.Errorf("error message leaks file content: %v", err)
	}

	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte(strings.Repeat("ab", KeySize-1)+"\n"), 0o600)
	if _, _, err := LoadOrCreateKey(short, true); !errors.Is(err, ErrKeyInvalid) {
		t.Fatalf("short key: %v, want ErrKeyInvalid", err)
	}

	if runtime.GOOS != "windows" {
		open := filepath.Join(dir, "open.key")
		os.WriteFile(open, []byte(strings.Repeat("ab", KeySize)+"\n"), 0o600)
		os.Chmod(open, 0o644)
		_, _, err := LoadOrCreateKey(open, true)
		if !errors.Is(err, ErrKeyInsecure) {
			t.Fatalf("world-readable key: %v, want ErrKeyInsecure", err)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("message %q gives no fix", err)
		}
	}
}

func newSealer(t *testing.T, b byte) *Sealer {
	t.Helper()
	s, err := NewSealer(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	s := newSealer(t, 1)
	secret := []byte("12345678901234567890")
	a := s.Seal(secret, "SN-1")
	b := s.Seal(secret, "SN-1")
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are equal: nonce reused")
	}
	if bytes.Contains(a, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	if len(a) != 1+12+len(secret)+16 {
		t.Errorf("sealed length %d", len(a))
	}
	got, err := s.Open(a, "sn-1") // serials are case-insensitive
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %v", err)
	}
	if _, err := s.Open(a, "SN-2"); !errors.Is(err, ErrOpen) {
		t.Errorf("open under another serial: %v, want ErrOpen", err)
	}
	if _, err := newSealer(t, 2).Open(a, "SN-1"); !errors.Is(err, ErrOpen) {
		t.Errorf("open under another key: %v, want ErrOpen", err)
	}
	tampered := append([]byte(nil), a...)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open(tampered, "SN-1"); !errors.Is(err, ErrOpen) {
		t.Errorf("open tampered: %v, want ErrOpen", err)
	}
	if _, err := s.Open(a[:10], "SN-1"); !errors.Is(err, ErrOpen) {
		t.Errorf("open truncated: %v, want ErrOpen", err)
	}
}

func TestFingerprintAndCheckValue(t *testing.T) {
	s1, s2 := newSealer(t, 1), newSealer(t, 2)
	x, y := []byte("secret-one-16byt"), []byte("secret-two-16byt")
	if len(s1.Fingerprint(x)) != FingerprintSize {
		t.Fatalf("fingerprint size %d", len(s1.Fingerprint(x)))
	}
	if !bytes.Equal(s1.Fingerprint(x), s1.Fingerprint(x)) {
		t.Error("fingerprint not deterministic")
	}
	if bytes.Equal(s1.Fingerprint(x), s1.Fingerprint(y)) {
		t.Error("different secrets share a fingerprint")
	}
	if bytes.Equal(s1.Fingerprint(x), s2.Fingerprint(x)) {
		t.Error("fingerprint does not depend on the key")
	}
	if !s1.MatchesCheckValue(s1.CheckValue()) || s2.MatchesCheckValue(s1.CheckValue()) {
		t.Error("check value does not identify the key")
	}
	if bytes.Equal(s1.CheckValue(), s1.Fingerprint([]byte("mfactl key check value"))) {
		t.Error("check value and fingerprints share a key")
	}
}

// Processes that start at the same moment on a new directory race to create the key: every one
// gets the same whole key, exactly one created it, and no temporary file is left.
func TestLoadOrCreateKeyRace(t *testing.T) {
	for round := range 50 {
		dir := t.TempDir()
		path := filepath.Join(dir, "mfactl.key")
		const racers = 8
		keys := make([][]byte, racers)
		created := make([]bool, racers)
		errs := make([]error, racers)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range racers {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				keys[i], created[i], errs[i] = LoadOrCreateKey(path, true)
			}()
		}
		start.Done()
		done.Wait()
		creators := 0
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d, racer %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: racers got different keys", round)
			}
			if created[i] {
				creators++
			}
		}
		if creators != 1 {
			t.Fatalf("round %d: %d racers say they created the key, want 1", round, creators)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("round %d: directory holds %d files, want the key alone", round, len(entries))
		}
	}
}
