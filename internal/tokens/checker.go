package tokens

import (
	"fmt"
	"hash/maphash"
	"math"
	"strings"
)

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// MaxMethods is the number of OATH methods a user may hold; 0 means MaxMethods.
	MaxMethods int
	// ExistingMethods returns how many OATH methods the directory already holds for upn
	// (compared case-insensitively by the callee). It is called once per distinct UPN, on
	// the first row naming it. Nil means none (validating a file on its own).
	ExistingMethods func(upn string) int
}

// Checker applies the rules that compare rows (docs/formats.md): serial.duplicate (naming the
// first line), secret.reused (naming the other line, never the secret) and user.limit. Feed it
// every Record in file order.
//
// To keep memory small at a million rows it stores no strings: only a 64-bit hash of each
// case-folded serial, secret and UPN with a line number or count, in flat tables of 45 to 50
// bytes per row in all (hashtable.go): about 47 MB for a million distinct rows.
// The hashes are keyed with a random per-Checker seed, so nobody can craft colliding serials;
// two different values share a hash with probability about n²/2⁶⁵ for n rows (3·10⁻⁸ for a
// million), which is the chance of a false duplicate report.
type Checker struct {
	max      int
	existing func(string) int
	seed     maphash.Seed
	t        *checkerTables
	sink     uint64 // keeps the loads of Check's prefetch from being optimised away
}

// NewChecker returns a Checker with empty state.
func NewChecker(opts CheckerOptions) *Checker {
	c := &Checker{max: opts.MaxMethods, existing: opts.ExistingMethods, seed: maphash.MakeSeed()}
	c.t = newCheckerTables()
	if c.max <= 0 {
		c.max = MaxMethods
	}
	return c
}

// Reserve sizes the tables for rows rows in all, so that they need not grow while the file is
// read: growing copies a table, leaves the old one as garbage and makes memory jump. Readers
// call it with an estimate from the file size; a wrong estimate costs only growth, or memory
// for rows that never come (about 38 bytes a row).
func (c *Checker) Reserve(rows int) {
	if rows <= 0 {
		return
	}
	c.t.serials.reserve(rows)
	c.t.secrets.reserve(rows)
	c.t.upns.reserve(rows)
}

// Check applies the cross-row rules to rec and appends their problems to rec.Problems. Rows
// whose fields failed their own rules take part as far as they can: a serial counts for
// duplicates whenever it is present, a secret only when it decoded, a UPN only when valid.
func (c *Checker) Check(rec *Record) {
	t := &rec.Token
	var serialHash, secretHash, upnHash uint64
	countUPN := t.UPN != "" && !hasErrorIn(rec.Problems, ColUPN)
	if t.Serial != "" {
		serialHash = c.foldHash(t.Serial)
	}
	if len(t.Secret) > 0 {
		secretHash = maphash.Bytes(c.seed, t.Secret)
	}
	if countUPN {
		upnHash = c.foldHash(t.UPN)
	}
	// Each lookup below is a cache miss in a large table. Loading the three home slots first,
	// independently of each other, lets the processor wait for the misses together.
	c.sink += c.t.serials.peek(serialHash) + c.t.secrets.peek(secretHash) + c.t.upns.peek(upnHash)

	if t.Serial != "" {
		if first, found := c.t.serials.lookupOrInsert(serialHash, lineValue(rec.Line)); found {
			rec.Problems = append(rec.Problems, errorAt(rec.Line, ColSerial, CodeSerialDuplicate,
				fmt.Sprintf("already on line %d (serial numbers are compared ignoring case)", first)))
			// The same token twice: counting its secret or its user again would only repeat
			// the duplicate as other problems.
			return
		}
	}
	if len(t.Secret) > 0 {
		if first, found := c.t.secrets.lookupOrInsert(secretHash, lineValue(rec.Line)); found {
			rec.Problems = append(rec.Problems, warningAt(rec.Line, ColSecret, CodeSecretReused,
				fmt.Sprintf("the same secret as the token on line %d; every token needs its own", first)))
		}
	}
	if countUPN {
		n := c.t.upns.increment(upnHash, func() int {
			if c.existing == nil {
				return 0
			}
			return c.existing(t.UPN)
		})
		if n > c.max {
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
	if line < 0 || uint64(line) > math.MaxUint32 {
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
