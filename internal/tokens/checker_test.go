package tokens

import (
	"math/rand/v2"
	"testing"
)

// TestHashTable checks the table against a Go map over enough keys to grow it several times,
// including the key 0 that marks empty slots.
func TestHashTable(t *testing.T) {
	var tab hashTable
	ref := map[uint64]uint32{}
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []uint64{0, 1, ^uint64(0)}
	for range 20000 {
		keys = append(keys, rng.Uint64())
	}
	for i, k := range keys {
		v, found := tab.lookupOrInsert(k, uint32(i))
		norm := k
		if norm == 0 {
			norm = 1 // 0 and 1 share a slot by design
		}
		if old, ok := ref[norm]; ok {
			if !found || v != old {
				t.Fatalf("key %d: got %d,%v want %d,true", k, v, found, old)
			}
			continue
		}
		if found {
			t.Fatalf("key %d found before insertion", k)
		}
		ref[norm] = uint32(i)
	}
	if tab.n != len(ref) {
		t.Errorf("n = %d, want %d", tab.n, len(ref))
	}
	for k, want := range ref {
		if got, found := tab.lookupOrInsert(k, 0); !found || got != want {
			t.Fatalf("key %d: got %d,%v want %d", k, got, found, want)
		}
	}
	if load := float64(tab.n) / float64(len(tab.keys)); load > 0.85 || load < 0.5 {
		t.Errorf("load factor %.2f outside [0.5, 0.85]", load)
	}
}

// TestCheckerUnicodeCase checks that serials and UPNs compare case-insensitively beyond ASCII
// and beyond the stack buffer of foldHash.
func TestCheckerUnicodeCase(t *testing.T) {
	c := NewChecker(CheckerOptions{MaxMethods: 1})
	long := "serial-ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for i, pair := range [][2]string{{"ÄBC", "äbc"}, {long, "SERIAL-abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"}} {
		a := &Record{Line: 10 * (i + 1), Token: Token{Serial: pair[0], UPN: "u" + pair[0] + "@x.com"}}
		b := &Record{Line: 10*(i+1) + 1, Token: Token{Serial: pair[1]}}
		u := &Record{Line: 10*(i+1) + 2, Token: Token{Serial: "other" + pair[0], UPN: "U" + pair[1] + "@X.COM"}}
		c.Check(a)
		c.Check(b)
		c.Check(u)
		if got := summarize(append(append(a.Problems, b.Problems...), u.Problems...)); len(got) != 2 ||
			got[0] != e(b.Line, ColSerial, CodeSerialDuplicate) || got[1] != e(u.Line, ColUPN, CodeUserLimit) {
			t.Errorf("%q: problems %v", pair[0], got)
		}
	}
}
