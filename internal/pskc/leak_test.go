package pskc

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

func TestNoGoroutineLeak(t *testing.T) {
	cases := loadCases(t)
	before := runtime.NumGoroutine()
	for range 5 {
		for _, c := range cases {
			readAll(bytes.NewReader(readCorpus(t, c.File)), c.options(t))
		}
	}
	// Abandoned readers must stop too once closed.
	doc := encode(t, genTOTP(200), nil)
	for range 20 {
		rd, err := NewReader(bytes.NewReader(doc), Options{})
		if err != nil {
			t.Fatal(err)
		}
		rd.Next()
		rd.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left running (was %d):\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
