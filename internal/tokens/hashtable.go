package tokens

import (
	"math"
	"math/bits"
)

// The Checker's memory. A million rows mean three million distinct keys (serial, secret, UPN),
// so the tables are flat arrays of integers: no pointers for the garbage collector to scan,
// one cache line touched per lookup (the commands that read large files also set a soft memory
// limit, so that the collector does not let garbage grow as large as the tables). They grow by
// half when 85% full;
// the capacity need not be a power of two because the home slot is taken from the high bits
// of the hash by multiplication (Lemire's fastrange).
//
// Each table is split into shards that start at staggered sizes, so that they grow at
// different moments: growing copies one shard, not the whole table, and the memory in use
// follows the number of rows smoothly instead of jumping by half at once.

const (
	tableMinSlots = 64
	tableMaxLoad  = 85 // percent
	tableShards   = 16
)

// shardOf picks a shard from bits that neither fastrange (the high bits) nor countTable's
// count (the low 8) use.
func shardOf(h uint64) int { return int(h>>8) & (tableShards - 1) }

// firstCapacity staggers the shards' sizes over one growth step (a factor of 1.5).
func firstCapacity(shard int) int {
	return int(tableMinSlots * math.Pow(1.5, float64(shard)/tableShards))
}

func fastrange(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// slotsFor is the capacity that holds n keys below the maximum load.
func slotsFor(n int) int { return n*100/tableMaxLoad + 1 }

func nextCapacity(n, first int) int {
	if n < first {
		return first
	}
	return n + n/2
}

// lineTable maps a 64-bit hash to a 32-bit value (a line number): 12 bytes a slot.
type lineTable struct {
	keys  []uint64 // 0 marks an empty slot; a hash of 0 is stored as 1
	vals  []uint32
	n     int
	first int // the capacity of the first allocation
}

// peek loads the home slot of h, to bring it into the cache ahead of a lookup.
func (t *lineTable) peek(h uint64) uint64 {
	if len(t.keys) == 0 {
		return 0
	}
	return t.keys[fastrange(h, len(t.keys))]
}

// lookupOrInsert returns the value stored for h, or stores v and reports not found.
func (t *lineTable) lookupOrInsert(h uint64, v uint32) (uint32, bool) {
	if h == 0 {
		h = 1
	}
	if (t.n+1)*100 > len(t.keys)*tableMaxLoad {
		t.grow()
	}
	i := fastrange(h, len(t.keys))
	for {
		switch t.keys[i] {
		case h:
			return t.vals[i], true
		case 0:
			t.keys[i], t.vals[i] = h, v
			t.n++
			return v, false
		}
		if i++; i == len(t.keys) {
			i = 0
		}
	}
}

func (t *lineTable) grow() { t.resize(nextCapacity(len(t.keys), max(t.first, tableMinSlots))) }

// reserve makes room for n keys in all without growing.
func (t *lineTable) reserve(n int) {
	if size := slotsFor(n); size > len(t.keys) {
		t.resize(size)
	}
}

func (t *lineTable) resize(size int) {
	keys, vals := make([]uint64, size), make([]uint32, size)
	for j, h := range t.keys {
		if h == 0 {
			continue
		}
		i := fastrange(h, size)
		for keys[i] != 0 {
			if i++; i == size {
				i = 0
			}
		}
		keys[i], vals[i] = h, t.vals[j]
	}
	t.keys, t.vals = keys, vals
}

// countTable counts occurrences of 64-bit hashes in one word a slot: the top 56 bits of the
// hash and an 8-bit count that saturates at 255. A count is at least 1, so a stored word is
// never 0, the empty mark. Two keys are confused only when 56 bits agree, about n²/2⁵⁷ for n
// keys, and for UPNs that only matters if the merged count passes the limit.
type countTable struct {
	words []uint64
	n     int
	first int // the capacity of the first allocation
}

const countMask = 0xFF

// peek loads the home slot of h, to bring it into the cache ahead of a lookup.
func (t *countTable) peek(h uint64) uint64 {
	if len(t.words) == 0 {
		return 0
	}
	return t.words[fastrange(h&^countMask, len(t.words))]
}

// increment adds one to the count of h; first, called only when h is new, gives the count a
// new key starts from (before the increment). It returns the new count.
func (t *countTable) increment(h uint64, first func() int) int {
	key := h &^ countMask
	if (t.n+1)*100 > len(t.words)*tableMaxLoad {
		t.grow()
	}
	i := fastrange(key, len(t.words))
	for {
		w := t.words[i]
		if w == 0 {
			n := min(max(first(), 0)+1, countMask)
			t.words[i] = key | uint64(n)
			t.n++
			return n
		}
		if w&^countMask == key {
			n := int(w & countMask)
			if n < countMask {
				n++
				t.words[i] = key | uint64(n)
			}
			return n
		}
		if i++; i == len(t.words) {
			i = 0
		}
	}
}

func (t *countTable) grow() { t.resize(nextCapacity(len(t.words), max(t.first, tableMinSlots))) }

// reserve makes room for n keys in all without growing.
func (t *countTable) reserve(n int) {
	if size := slotsFor(n); size > len(t.words) {
		t.resize(size)
	}
}

func (t *countTable) resize(size int) {
	words := make([]uint64, size)
	for _, w := range t.words {
		if w == 0 {
			continue
		}
		i := fastrange(w&^countMask, size)
		for words[i] != 0 {
			if i++; i == size {
				i = 0
			}
		}
		words[i] = w
	}
	t.words = words
}

// lineShards is a lineTable split into tableShards shards.
type lineShards [tableShards]lineTable

func (t *lineShards) peek(h uint64) uint64 { return t[shardOf(h)].peek(h) }

func (t *lineShards) lookupOrInsert(h uint64, v uint32) (uint32, bool) {
	return t[shardOf(h)].lookupOrInsert(h, v)
}

// reserve makes room for n keys spread over the shards.
func (t *lineShards) reserve(n int) {
	for i := range t {
		t[i].reserve(perShard(n))
	}
}

// perShard is how many of n keys one shard must hold: its share and a margin of a few
// standard deviations, since the hash spreads keys over shards at random.
func perShard(n int) int {
	share := n / tableShards
	return share + 4*int(math.Sqrt(float64(share))) + 1
}

// countShards is a countTable split into tableShards shards.
type countShards [tableShards]countTable

func (t *countShards) peek(h uint64) uint64 { return t[shardOf(h)].peek(h) }

func (t *countShards) increment(h uint64, first func() int) int {
	return t[shardOf(h)].increment(h, first)
}

func (t *countShards) reserve(n int) {
	for i := range t {
		t[i].reserve(perShard(n))
	}
}

// checkerTables are the Checker's tables, in their own allocation so that a cleanup attached
// to the Checker can release them (it must not reference the Checker itself).
type checkerTables struct {
	serials lineShards  // serial hash -> first line
	secrets lineShards  // secret hash -> first line
	upns    countShards // UPN hash -> methods counted so far
}

func newCheckerTables() *checkerTables {
	t := &checkerTables{}
	for i := range tableShards {
		f := firstCapacity(i)
		t.serials[i].first, t.secrets[i].first, t.upns[i].first = f, f, f
	}
	return t
}
