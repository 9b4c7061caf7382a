package tokens

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"strings"
)

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// MaxMethods is the number of OATH methods a user may hold; 0 means MaxMethods (5).
	MaxMethods int
	// ExistingMethods returns how many OATH methods the directory already holds for upn
	// (compared case-insensitively by the callee). It is called once per distinct UPN, on
	// the first row naming it. Nil means none (validating a file on its own).
	ExistingMethods func(upn string) int
}

// Checker applies the rules that compare rows (SPEC section 5): serial.duplicate (naming the
// first line), secret.reused (naming the other line, never the secret) and user.limit. Feed it
// every Record in file order.
//
// To keep memory flat at a million rows it stores no strings: only a 64-bit hash of each
// case-folded serial, secret and UPN with a line number or count, about 40 bytes per row.
// The hashes are keyed with a random per-Checker seed, so nobody can craft colliding serials;
// two different values share a hash with probability about n²/2⁶⁵ for n rows (3·10⁻⁸ for a
// million), which is the chance of a false duplicate report.
type Checker struct {
	max      int
	existing func(string) int
	seed     maphash.Seed
	serials  hashTable // serial hash -> first line
	secrets  hashTable // secret hash -> first line
	upns     hashTable // UPN hash -> methods counted so far
}

// NewChecker returns a Checker with empty state.
func NewChecker(opts CheckerOptions) *Checker {
	c := &Checker{max: opts.MaxMethods, existing: opts.ExistingMethods, seed: maphash.MakeSeed()}
	if c.max <= 0 {
		c.max = MaxMethods
	}
	return c
}

// Check applies the cross-row rules to rec and appends their problems to rec.Problems. Rows
// whose fields failed their own rules take part as far as they can: a serial counts for
// duplicates whenever it is present, a secret only when it decoded, a UPN only when valid.
func (c *Checker) Check(rec *Record) {
	t := &rec.Token
	if t.Serial != "" {
		h := c.foldHash(t.Serial)
		if first, found := c.serials.lookupOrInsert(h, lineValue(rec.Line)); found {
			rec.Problems = append(rec.Problems, errorAt(rec.Line, ColSerial, CodeSerialDuplicate,
				fmt.Sprintf("already on line %d (serial numbers are compared ignoring case)", first)))
			// The same token twice: counting its secret or its user again would only repeat
			// the duplicate as other problems.
			return
		}
	}
	if len(t.Secret) > 0 {
		h := maphash.Bytes(c.seed, t.Secret)
		if first, found := c.secrets.lookupOrInsert(h, lineValue(rec.Line)); found {
			rec.Problems = append(rec.Problems, warningAt(rec.Line, ColSecret, CodeSecretReused,
				fmt.Sprintf("the same secret as the token on line %d; every token needs its own", first)))
		}
	}
	if t.UPN != "" && !hasErrorIn(rec.Problems, ColUPN) {
		h := c.foldHash(t.UPN)
		i, found := c.upns.slot(h)
		var n uint32
		if found {
			n = c.upns.vals[i] + 1
			c.upns.vals[i] = n
		} else {
			n = 1
			if c.existing != nil {
				n += uint32(max(c.existing(t.UPN), 0))
			}
			c.upns.insertAt(i, h, n)
		}
		if int(n) > c.max {
			rec.Problems = append(rec.Problems, errorAt(rec.Line, ColUPN, CodeUserLimit, fmt.Sprintf(
				"this row gives the user %d OATH methods (this file and the directory together); at most %d are allowed",
				n, c.max)))
		}
	}
}

func hasErrorIn(ps []Problem, column string) bool {
	for _, p := range ps {
		if p.Column == column && p.IsError() {
			return true
		}
	}
	return false
}

func lineValue(line int) uint32 {
	if line < 0 || line > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(line)
}

// foldHash hashes s case-insensitively without allocating for the usual short ASCII value.
func (c *Checker) foldHash(s string) uint64 {
	var buf [64]byte
	if len(s) <= len(buf) {
		ascii := true
		for i := 0; i < len(s); i++ {
			b := s[i]
			if b >= 0x80 {
				ascii = false
				break
			}
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			buf[i] = b
		}
		if ascii {
			return maphash.Bytes(c.seed, buf[:len(s)])
		}
	}
	return maphash.String(c.seed, strings.ToLower(s))
}

// hashTable maps 64-bit hashes to 32-bit values with open addressing (linear probing) in two
// flat arrays: 12 bytes a slot and no pointers, so the garbage collector never scans it. It
// grows by half when 85% full; the capacity need not be a power of two because the home slot
// is taken from the high bits of the hash by multiplication.
type hashTable struct {
	keys []uint64 // 0 marks an empty slot; a hash of 0 is stored as 1
	vals []uint32
	n    int
}

func (t *hashTable) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(t.keys)))
	return int(hi)
}

// slot returns the index holding h (found) or the empty slot where h belongs, growing the table
// first when an insertion would make it too full.
func (t *hashTable) slot(h uint64) (int, bool) {
	if h == 0 {
		h = 1
	}
	if (t.n+1)*100 > len(t.keys)*85 {
		t.grow()
	}
	i := t.home(h)
	for {
		switch t.keys[i] {
		case h:
			return i, true
		case 0:
			return i, false
		}
		i++
		if i == len(t.keys) {
			i = 0
		}
	}
}

func (t *hashTable) insertAt(i int, h uint64, v uint32) {
	if h == 0 {
		h = 1
	}
	t.keys[i], t.vals[i] = h, v
	t.n++
}

// lookupOrInsert returns the value stored for h, or stores v and reports not found.
func (t *hashTable) lookupOrInsert(h uint64, v uint32) (uint32, bool) {
	i, found := t.slot(h)
	if found {
		return t.vals[i], true
	}
	t.insertAt(i, h, v)
	return v, false
}

func (t *hashTable) grow() {
	size := len(t.keys) + len(t.keys)/2
	if size < 1024 {
		size = 1024
	}
	old, oldVals := t.keys, t.vals
	t.keys, t.vals = make([]uint64, size), make([]uint32, size)
	for j, h := range old {
		if h == 0 {
			continue
		}
		i := t.home(h)
		for t.keys[i] != 0 {
			i++
			if i == len(t.keys) {
				i = 0
			}
		}
		t.keys[i], t.vals[i] = h, oldVals[j]
	}
}
