package benchtest

import (
	"runtime"
	"testing"
)

func TestRows(t *testing.T) {
	if testing.Short() {
		t.Skip("Rows skips in -short mode")
	}
	t.Setenv(SizeVar, "")
	if got := Rows(t); got != DefaultRows {
		t.Errorf("Rows without %s = %d, want %d", SizeVar, got, DefaultRows)
	}
	t.Setenv(SizeVar, "1000")
	if got := Rows(t); got != 1000 {
		t.Errorf("Rows with %s=1000 = %d, want 1000", SizeVar, got)
	}
}

func TestPeakRSSAndCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	if rss := PeakRSSMiB(); rss <= 0 || rss > 1<<20 {
		t.Errorf("PeakRSSMiB = %v, want a positive size in MiB", rss)
	}
	if CPUTime() <= 0 {
		t.Error("CPUTime = 0 after running the test binary")
	}
}
