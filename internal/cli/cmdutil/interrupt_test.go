package cmdutil

import "testing"

// TestOnInterruptAfterSignal: a cleanup registered after the signal came (the file was created
// just before it) runs at once, since nothing would run it later.
func TestOnInterruptAfterSignal(t *testing.T) {
	t.Cleanup(func() {
		cleanups.Lock()
		cleanups.ran, cleanups.fns = false, nil
		cleanups.Unlock()
	})
	before := 0
	OnInterrupt(func() { before++ })
	RunInterruptCleanups()
	if before != 1 {
		t.Fatalf("cleanup registered before the signal ran %d times, want 1", before)
	}
	after := 0
	forget := OnInterrupt(func() { after++ })
	if after != 1 {
		t.Fatalf("cleanup registered after the signal ran %d times, want 1 (at once)", after)
	}
	forget()
	RunInterruptCleanups()
	if before != 1 || after != 1 {
		t.Fatalf("cleanups ran again: before %d, after %d", before, after)
	}
}
