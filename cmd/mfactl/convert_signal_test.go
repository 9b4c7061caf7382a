package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/tokens/tokenstest"
)

// The tests of how `tokens convert` ends when it is stopped: by a signal, by SIGKILL, by the
// reader of its output going away. The converted CSV holds seeds in clear, so whatever
// happens, no readable copy may stay on disk: not in $TMPDIR (where the CSV held for
// standard output spills past 1 MiB), not beside --out.
//
// Rather than guess how long the conversion takes, the tests feed the token file through a
// pipe on standard input, so they know how far mfactl has read, and hold it there.

// convertRows is the size of the token file: some 3.6 MB of CSV, well past the 1 MiB that
// convert holds in memory.
const convertRows = 40000

// convertInput is tokenstest's file of convertRows rows (its secrets are random test data).
func convertInput(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tokenstest.GenerateCSV(&b, convertRows, 11); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// runningConvert is an mfactl tokens convert reading its token file from standard input.
type runningConvert struct {
	cmd    *exec.Cmd
	stdin  *os.File // the test's end of standard input
	fed    chan error
	stderr bytes.Buffer
	exited chan struct{}
	code   int
}

// startConvert starts `mfactl tokens convert - args...` in dir with $TMPDIR set to tmp and
// writes input to its standard input from another goroutine, without closing it.
func startConvert(t *testing.T, dir, tmp string, input []byte, args ...string) *runningConvert {
	t.Helper()
	r := &runningConvert{
		cmd:    mfactlProcess(t, dir, append([]string{"tokens", "convert", "-"}, args...)...),
		fed:    make(chan error, 1),
		exited: make(chan struct{}),
	}
	r.cmd.Env = append(r.cmd.Env, "TMPDIR="+tmp)
	r.cmd.Stderr = &r.stderr
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdin, r.stdin = in, w
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	t.Cleanup(func() {
		r.stdin.Close()
		r.cmd.Process.Kill()
		<-r.exited
	})
	go func() {
		r.cmd.Wait()
		r.code = r.cmd.ProcessState.ExitCode()
		close(r.exited)
	}()
	go func() {
		_, err := w.Write(input)
		r.fed <- err
	}()
	return r
}

// waitFed waits until mfactl has read all but the last pipe buffer's worth of the input.
func (r *runningConvert) waitFed(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.fed:
		if err != nil {
			t.Fatalf("feeding the token file: %v", err)
		}
	case <-r.exited:
		t.Fatalf("mfactl exited %d while reading its input; stderr:\n%s", r.code, &r.stderr)
	case <-time.After(time.Minute):
		t.Fatal("mfactl did not read its input in a minute")
	}
}

// wait waits for mfactl to exit.
func (r *runningConvert) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(time.Minute):
		t.Fatal("mfactl did not exit in a minute")
	}
}

// until polls cond until it holds or mfactl has exited or 10 s have passed, and reports
// whether it held.
func (r *runningConvert) until(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		select {
		case <-r.exited:
			return cond()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return false
}

// tempFiles lists the names in dir that start with prefix.
func tempFiles(dir, prefix string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// assertNoSecretsLeft checks that tmp is empty and that dir holds no file with any of the
// converted CSV in it: nothing but the files in keep.
func assertNoSecretsLeft(t *testing.T, dir, tmp string, keep ...string) {
	t.Helper()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		names := make([]string, len(left))
		for i, e := range left {
			names[i] = e.Name()
		}
		t.Errorf("left in $TMPDIR: %v", names)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() || strings.Contains(strings.Join(keep, "\n"), e.Name()) {
			continue
		}
		info, _ := e.Info()
		t.Errorf("left beside --out: %s (%d bytes)", e.Name(), info.Size())
	}
}

// TestConvertSignalLeavesNothing stops `tokens convert --out` with SIGINT, SIGTERM and SIGHUP
// in the middle of the conversion: the temporary file beside --out goes as soon as the signal
// arrives, nothing is written, and mfactl says it was interrupted and that nothing was
// written, and exits 130.
func TestConvertSignalLeavesNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("signals are tested on unix")
	}
	input := convertInput(t)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			r := startConvert(t, dir, tmp, input, "--out", "out.csv")
			r.waitFed(t)
			if len(tempFiles(dir, ".out.csv.tmp-")) != 1 {
				t.Fatalf("no temporary file beside --out while converting: %v", tempFiles(dir, ""))
			}
			if err := r.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// The signal removes the temporary file at once, while mfactl is still blocked
			// reading standard input; once it is gone, the context is cancelled.
			if !r.until(func() bool { return len(tempFiles(dir, ".out.csv.tmp-")) == 0 }) {
				t.Errorf("the temporary file beside --out is still there after %v", sig)
			}
			r.stdin.Close()
			r.wait(t)
			if r.code != 130 {
				t.Errorf("exit %d after %v, want 130", r.code, sig)
			}
			if got, want := r.stderr.String(), "mfactl: conversion of <stdin> interrupted; nothing was written\nmfactl: error: interrupted\n"; got != want {
				t.Errorf("stderr %q, want %q", got, want)
			}
			assertNoSecretsLeft(t, dir, tmp)
		})
	}
}

// TestConvertStuckSignalExits sends SIGINT, SIGTERM and SIGHUP to `tokens convert --out`
// while it is stuck reading a standard input that stays silent: nothing can wake that read, so
// mfactl removes its temporary file at once and exits after its grace period of 3 s, with 130
// and "interrupted".
func TestConvertStuckSignalExits(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("signals are tested on unix")
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel() // each waits out the grace period
			dir, tmp := t.TempDir(), t.TempDir()
			r := startConvert(t, dir, tmp, nil, "--out", "out.csv")
			// The temporary file is created just before the token file is read: mfactl is
			// then waiting for its first line, and catching signals.
			if !r.until(func() bool { return len(tempFiles(dir, ".out.csv.tmp-")) == 1 }) {
				t.Fatalf("no temporary file beside --out; stderr:\n%s", &r.stderr)
			}
			start := time.Now()
			if err := r.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if !r.until(func() bool { return len(tempFiles(dir, ".out.csv.tmp-")) == 0 }) {
				t.Errorf("the temporary file beside --out is still there after %v", sig)
			}
			r.wait(t)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("mfactl took %v to exit", took)
			}
			if r.code != 130 || r.stderr.String() != "mfactl: error: interrupted\n" {
				t.Errorf("exit %d, stderr %q; want 130 and \"mfactl: error: interrupted\"", r.code, &r.stderr)
			}
			assertNoSecretsLeft(t, dir, tmp)
		})
	}
}

// TestConvertKill9LeavesNoSecret kills mfactl with SIGKILL once it has converted most of the
// file: the CSV held for standard output was in a temporary file that is already deleted, so
// $TMPDIR is empty; --out's temporary file may be left behind, but empty, as it gets the CSV
// only once the conversion has succeeded.
func TestConvertKill9LeavesNoSecret(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL is tested on unix")
	}
	input := convertInput(t)
	for _, toFile := range []bool{false, true} {
		t.Run(map[bool]string{true: "--out", false: "stdout"}[toFile], func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			var args []string
			if toFile {
				args = []string{"--out", "out.csv"}
			}
			r := startConvert(t, dir, tmp, input, args...)
			r.waitFed(t)
			if !toFile && runtime.GOOS == "linux" {
				// The CSV is past 1 MiB: it is in a spill file, open but deleted.
				if spills := openFilesUnder(r.cmd.Process.Pid, tmp); len(spills) != 1 || !strings.HasSuffix(spills[0], " (deleted)") {
					t.Errorf("mfactl has %q open in $TMPDIR, want one deleted file", spills)
				}
			}
			if err := r.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			r.wait(t)
			for _, name := range tempFiles(dir, ".out.csv.tmp-") {
				if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Size() != 0 {
					t.Errorf("--out's temporary file %s holds %d bytes after SIGKILL, want 0", name, st.Size())
				}
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left in $TMPDIR after SIGKILL: %v", left)
			}
		})
	}
}

// openFilesUnder lists the targets of process pid's open files that are under dir (Linux).
func openFilesUnder(pid int, dir string) []string {
	fds := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, _ := os.ReadDir(fds)
	var files []string
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			files = append(files, target)
		}
	}
	return files
}

// TestConvertReaderGone is `mfactl tokens convert big.csv | head -1`: the reader of standard
// output reads a line and goes. mfactl stops without a word, exit 141 (as a program killed by
// SIGPIPE), and leaves nothing in $TMPDIR.
func TestConvertReaderGone(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGPIPE is unix")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	file := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(file, convertInput(t), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := mfactlProcess(t, dir, "tokens", "convert", file)
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "upn,serial number,secret key,time interval,manufacturer,model\n" {
		t.Errorf("first line %q (%v)", line, err)
	}
	out.Close()
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 141 {
		t.Errorf("exit %d (%v), want 141", code, cmd.ProcessState)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q, want nothing", &stderr)
	}
	assertNoSecretsLeft(t, dir, tmp, "tokens.csv")
}
