//go:build !linux

package tokens

// Elsewhere the Checker's tables live on the Go heap (see bigmem_linux.go for why Linux maps
// them): correct, with a higher peak memory at a million rows.

func allocWords(n int) []uint64     { return make([]uint64, n) }
func allocHalfWords(n int) []uint32 { return make([]uint32, n) }
func freeWords([]uint64)            {}
func freeHalfWords([]uint32)        {}
