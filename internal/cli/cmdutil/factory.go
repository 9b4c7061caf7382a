// Package cmdutil holds what every mfactl command shares: the factory of lazily opened
// dependencies, the exit-code table and typed errors, output-format and argument helpers.
package cmdutil

import (
	"os"
	"runtime/debug"
	"time"

	"github.com/mfactl/mfactl/internal/entra"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/store"
)

// Factory gives commands their dependencies. Anything expensive (the database, the key file)
// is opened lazily, so `version`, `help` and `completion` never touch them.
type Factory struct {
	IO  *iostreams.IOStreams
	Now func() time.Time

	// Global flag values, filled in by the root command.
	DBPath  string
	KeyFile string
	Output  string
	NoColor bool
	Quiet   bool
	// Debug logs the Graph requests and responses (Entra ID only) to standard error.
	Debug bool
	// Parallel bounds the concurrent Graph requests of bulk work (Entra ID only).
	Parallel int

	// Getenv reads the environment; tests replace it.
	Getenv func(string) string

	// Command is the running command's path without "mfactl" ("tokens assign"), set by the
	// root command before it runs: the directory's changes are audited in its name.
	Command string

	// BusyTimeout is how long a write waits for another process's write lock (zero: the
	// store's default). Tests shorten it; there is no flag.
	BusyTimeout time.Duration

	db     *store.DB
	dbMode store.Mode
	// dbKeyed: the directory was opened with the master key; wantKey asks OpenStore for it.
	dbKeyed, wantKey bool
	dbPath           string // the database file opened, for messages
	entra            *entra.Directory
}

// NewFactory returns a factory over the process's streams, clock and environment.
func NewFactory(io *iostreams.IOStreams, getenv func(string) string) *Factory {
	return &Factory{IO: io, Now: time.Now, Getenv: getenv}
}

// SetMemoryBudget sets a soft limit on the Go heap for a command that streams large files, so
// that peak memory stays near what the command really holds instead of twice that (the
// collector's default). GOMEMLIMIT, when set, wins.
func SetMemoryBudget(bytes int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(bytes)
	}
}
