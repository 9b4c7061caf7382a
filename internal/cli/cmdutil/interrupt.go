package cmdutil

import (
	"context"
	"errors"
	"sync"
)

// ErrInterrupted is the error of a command stopped by a signal (Ctrl-C, SIGTERM, SIGHUP):
// printed as "interrupted", exit 130. It matches context.Canceled, so a command that returns
// its cancelled context's error is reported the same way.
var ErrInterrupted error = interruptedError{}

type interruptedError struct{}

func (interruptedError) Error() string        { return "interrupted" }
func (interruptedError) Is(target error) bool { return target == context.Canceled }

// ErrBrokenPipe is the cause of a context cancelled because the reader of standard output or
// error went away (mfactl ... | head -1): mfactl stops quietly, exit 141 like other tools.
var ErrBrokenPipe = errors.New("broken pipe")

// Interrupted reports whether ctx was cancelled by a signal that stops the run, so a command
// can say what state it leaves behind. A closed output pipe is not such a signal: the reader
// is gone and wants no message.
func Interrupted(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), ErrBrokenPipe)
}

var cleanups struct {
	sync.Mutex
	next int
	fns  map[int]func()
	ran  bool // the signal came: what registers later runs at once
}

// OnInterrupt registers fn to run as soon as a signal stops mfactl, before the command has
// returned (it may be stuck in a read or write that nothing can interrupt, and the process may
// then be ended without running its deferred calls). fn therefore runs concurrently with the
// command and must be safe to: removing a temporary file by name is. The returned function
// unregisters fn; call it once the command has cleaned up itself. A signal can come between
// the creation of what fn removes and this call: fn then runs at once, here.
func OnInterrupt(fn func()) (forget func()) {
	cleanups.Lock()
	defer cleanups.Unlock()
	if cleanups.ran {
		fn()
		return func() {}
	}
	if cleanups.fns == nil {
		cleanups.fns = map[int]func(){}
	}
	id := cleanups.next
	cleanups.next++
	cleanups.fns[id] = fn
	return func() {
		cleanups.Lock()
		defer cleanups.Unlock()
		delete(cleanups.fns, id)
	}
}

// RunInterruptCleanups runs, once, every function registered with OnInterrupt. Main calls it
// when a signal arrives.
func RunInterruptCleanups() {
	cleanups.Lock()
	fns := cleanups.fns
	cleanups.fns, cleanups.ran = nil, true
	cleanups.Unlock()
	for _, fn := range fns {
		fn()
	}
}
