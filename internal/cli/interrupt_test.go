package cli

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/iostreams"
)

const hexCSV = "UPN,Serial Number,Secret Key,Time Interval,Manufacturer,Model\n" +
	"helga@contoso.com,1234567,1234567890abcdef1234567890abcdef,60,Contoso,HardwareKey\n"

// An interrupted command says "interrupted" in words, never Go's "context canceled", and
// exits 130; convert adds that it wrote nothing.
func TestInterruptedSaysSo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hex.csv")
	if err := os.WriteFile(file, []byte(hexCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	code := Run(ctx, f, []string{"tokens", "convert", "--secret-encoding", "hex", file, "--out", filepath.Join(dir, "out.csv")})
	want := "mfactl: conversion of " + file + " interrupted; nothing was written\nmfactl: error: interrupted\n"
	if code != 130 || errOut.String() != want || out.Len() != 0 {
		t.Errorf("exit %d, stderr %q, stdout %q; want 130, %q and nothing", code, errOut, out, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the folder holds %v, want the input alone", entries)
	}
}

// brokenPipe is standard output whose reader has gone.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}
}

// When the reader of standard output goes away (| head -1), mfactl stops without a word and
// exits 141, as a program killed by SIGPIPE does.
func TestBrokenPipeIsQuiet(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hex.csv")
	if err := os.WriteFile(file, []byte(hexCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := iostreams.Test()
	ios.Out = brokenPipe{}
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	code := Run(context.Background(), f, []string{"-q", "tokens", "convert", "--secret-encoding", "hex", file})
	if code != 141 || errOut.Len() != 0 {
		t.Errorf("exit %d, stderr %q; want 141 and nothing", code, errOut)
	}
}

// pipeClosingAfter is standard output whose reader goes away after n bytes: a write gets part
// of its bytes through, then EPIPE.
type pipeClosingAfter struct{ n int }

func (p *pipeClosingAfter) Write(b []byte) (int, error) {
	if len(b) <= p.n {
		p.n -= len(b)
		return len(b), nil
	}
	n := p.n
	p.n = 0
	return n, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}
}

// The reader of standard output goes away in the middle of the CSV (| head -1 on a file of a
// few rows): the same quiet exit 141.
func TestBrokenPipeMidOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hex.csv")
	if err := os.WriteFile(file, []byte(hexCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := iostreams.Test()
	ios.Out = &pipeClosingAfter{n: 70}
	f := cmdutil.NewFactory(ios, func(string) string { return "" })
	code := Run(context.Background(), f, []string{"tokens", "convert", "--secret-encoding", "hex", file})
	if code != 141 || errOut.Len() != 0 {
		t.Errorf("exit %d, stderr %q; want 141 and nothing", code, errOut)
	}
}
