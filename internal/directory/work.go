package directory

import "context"

// Work is how far one phase of long work with a remote directory (Microsoft Entra ID, one or
// more Graph requests a step) has come, for a progress bar: Done of its Total steps. Each
// phase is first reported with Done 0 when it begins, with its Total known; then as its steps
// complete, failed or not, so Done grows up to Total. The calls never overlap, though they
// may come from the goroutines that run the requests in parallel. A phase with nothing to do
// is not reported. The SQL store, whose work is quick, reports none.
type Work struct {
	Phase string // one of the Work constants
	Done  int
	Total int
}

// The phases of Work and what a step of each is. An import goes through WorkChecking,
// WorkCreating, WorkUpdating and WorkAssigning in that order (a dry run only the first); a
// reset of registrations through WorkReading, then WorkResetting.
const (
	WorkChecking  = "checking"  // a user the rows name looked up
	WorkCreating  = "creating"  // a new token created
	WorkUpdating  = "updating"  // an existing token's data updated (DuplicateUpdate)
	WorkAssigning = "assigning" // a token assigned to its row's user
	WorkReading   = "reading"   // a user and their methods read
	WorkResetting = "resetting" // a user's registrations reset
)

type workKey struct{}

// WithWork returns a context that asks the directory operations run with it to report their
// work to fn (see Work), for the operations whose options have no place for it (a reset).
func WithWork(ctx context.Context, fn func(Work)) context.Context {
	return context.WithValue(ctx, workKey{}, fn)
}

// WorkFunc is the function WithWork put in ctx, or nil.
func WorkFunc(ctx context.Context) func(Work) {
	fn, _ := ctx.Value(workKey{}).(func(Work))
	return fn
}
