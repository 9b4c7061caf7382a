package tokencmd

import (
	"os"
	"runtime/debug"
)

// releaseImportMemory returns to the system the memory the file's cross-row tables held, once
// the file is read (tokenfile.ImportOptions.SourceRead). The directory's last work, the index
// rebuild and the commit, then runs in that room: without it the freed pages stayed with the
// process and the rebuild came on top, the peak of a million-row import.
func releaseImportMemory() { debug.FreeOSMemory() }

// importMemoryFloor is the Go heap the import is held to at least (docs/performance.md: a
// 1,000,000-row import in at most 128 MiB of peak RSS, of which SQLite's page cache and the
// program take about 60 MiB outside the Go heap).
const importMemoryFloor = 64 << 20

// limitImportMemory sets a soft limit on the Go heap for an import of a file of size bytes and
// returns a function restoring the previous limit. Most of the import's live heap is the
// file rules' cross-row tables (tokens.Checker: about 48 bytes per row, some 40 MiB for a
// million rows); with the default GOGC=100 the runtime lets the heap grow to twice that before
// collecting, which alone took the peak RSS of a million-row import from about 120 to 160 MiB.
// A soft limit makes the collector run earlier instead, at no measurable CPU cost since those
// tables hold no pointers. The limit grows with the file (3/4 of its size, above the floor), so
// that a much larger file is never squeezed below its live heap, where the collector would run
// without pause. Standard input (size unknown) and a GOMEMLIMIT set by the user are left alone.
func limitImportMemory(size int64) (restore func()) {
	if size < 0 || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	limit := max(int64(importMemoryFloor), size/4*3)
	old := debug.SetMemoryLimit(limit)
	return func() { debug.SetMemoryLimit(old) }
}
