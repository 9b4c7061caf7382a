package tokens

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLineTable checks the table against a Go map over enough keys to grow it past the size
// where its arrays leave the Go heap, including the key 0 that marks empty slots.
func TestLineTable(t *testing.T) {
	var tab lineTable
	ref := map[uint64]uint32{}
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []uint64{0, 1, ^uint64(0)}
	for range 200_000 {
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
	if tab.n != len(ref) || len(tab.keys)*8 < bigArrayBytesForTest {
		t.Errorf("n = %d, want %d; %d slots", tab.n, len(ref), len(tab.keys))
	}
	for k, want := range ref {
		if got, found := tab.lookupOrInsert(k, 0); !found || got != want {
			t.Fatalf("key %d: got %d,%v want %d", k, got, found, want)
		}
	}
	if load := float64(tab.n) / float64(len(tab.keys)); load > 0.85 || load < 0.55 {
		t.Errorf("load factor %.2f outside [0.5, 0.85]", load)
	}
}

const bigArrayBytesForTest = 256 << 10

func TestCountTable(t *testing.T) {
	var tab countTable
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]uint64, 150_000)
	for i := range keys {
		keys[i] = rng.Uint64() | 0xFF // the count bits of a hash are ignored
	}
	firsts := 0
	for round := 1; round <= 3; round++ {
		for i, k := range keys {
			got := tab.increment(k, func() int { firsts++; return i % 3 })
			if want := i%3 + round; got != want {
				t.Fatalf("round %d key %d: count %d, want %d", round, i, got, want)
			}
		}
	}
	if firsts != len(keys) {
		t.Errorf("first called %d times, want %d", firsts, len(keys))
	}
	var sat countTable
	for range 300 {
		sat.increment(42<<8, func() int { return 0 })
	}
	if got := sat.increment(42<<8|7, func() int { return 0 }); got != 255 {
		t.Errorf("saturated count = %d, want 255", got)
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

// After Reserve(n) the tables hold n distinct rows without growing, keep what they held
// before, and the rules give the same answers.
func TestCheckerReserve(t *testing.T) {
	const n = 50_000
	rec := func(i int) *Record {
		return &Record{Line: i + 2, Token: Token{UPN: fmt.Sprintf("u%d@contoso.com", i%(n/2)),
			Serial: fmt.Sprintf("S%d", i), Secret: []byte(fmt.Sprintf("secret-%d", i))}}
	}
	c := NewChecker(CheckerOptions{})
	for i := range 100 {
		c.Check(rec(i))
	}
	c.Reserve(n)
	slots := func() (s int) {
		for i := range tableShards {
			s += len(c.t.serials[i].keys) + len(c.t.secrets[i].keys) + len(c.t.upns[i].words)
		}
		return s
	}
	before := slots()
	if before < 3*n*100/tableMaxLoad {
		t.Fatalf("%d slots after Reserve(%d), want at least %d", before, n, 3*n*100/tableMaxLoad)
	}
	r := rec(5) // a serial from before Reserve
	c.Check(r)
	if len(r.Problems) != 1 || r.Problems[0].Code != CodeSerialDuplicate || !strings.Contains(r.Problems[0].Message, "line 7") {
		t.Fatalf("serial from before Reserve: %v, want serial.duplicate naming line 7", r.Problems)
	}
	for i := 100; i < n; i++ {
		r := rec(i)
		c.Check(r)
		if len(r.Problems) != 0 {
			t.Fatalf("row %d: %v", i, r.Problems)
		}
	}
	if after := slots(); after != before {
		t.Errorf("the tables grew from %d to %d slots after Reserve", before, after)
	}
}
