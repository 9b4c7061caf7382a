package tokencmd

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/tokenfile"
)

type convertOptions struct {
	f           *cmdutil.Factory
	file        string
	out         string
	upnMap      string
	skipInvalid bool
	read        tokenfile.Options
}

func newConvertCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &convertOptions{f: f}
	var ff fileFlags
	cmd := &cobra.Command{
		Use:   "convert FILE",
		Short: "Convert a PSKC or hex-secret CSV file to the Azure OATH CSV",
		Long: `Convert a vendor seed file to the Azure OATH CSV (the exact header
"upn,serial number,secret key,time interval,manufacturer,model", Base32 secrets) that
"tokens import" and the Azure portal read. The input is a PSKC (RFC 6030) file, decrypted with
--pskc-key-file or --pskc-password-file (or MFACTL_PSKC_KEY / MFACTL_PSKC_PASSWORD), or a CSV
whose secrets are hex (--secret-encoding hex).

Every token goes through the rules of "tokens validate" and needs a UPN: PSKC files rarely name
one (Key or DeviceInfo UserId is used when it looks like a UPN), so --upn-map gives them from a
CSV with the columns "serial number,upn". A mapped UPN replaces the one in the file.

All or nothing: when a token is invalid nothing is written and the exit status is 1. With
--skip-invalid the valid tokens are written, the others reported, and the exit status is 3.

The output holds the secrets in clear. Nothing is written until the whole file is converted:
until then the CSV is held in memory or in an encrypted temporary file that is deleted as it
is created, so no copy is left behind. --out writes it atomically (a temporary file, mode
0600, filled and renamed into place at the end); it cannot name an input file. Without --out
it goes to standard output. The output is UTF-8: in Windows PowerShell use --out, because
redirecting with > re-encodes it as UTF-16.

Interrupted (Ctrl-C, SIGTERM, SIGHUP), convert writes nothing and exits 130; when the reader of
standard output goes away (| head), it stops quietly with exit status 141.`,
		Example: `  $ mfactl tokens convert --pskc-key-file vendor.key --upn-map owners.csv seeds.pskc --out tokens.csv
  $ mfactl tokens convert --pskc-password-file pw.txt seeds.xml --skip-invalid --out tokens.csv
  $ mfactl tokens convert --secret-encoding hex hex-seeds.csv > tokens.csv`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := f.OutputFormat(cmd, cmdutil.FormatCSV); err != nil {
				return err
			}
			opts.file = args[0]
			if opts.file == "-" && opts.upnMap == "-" {
				return cmdutil.Usagef("--upn-map -: standard input cannot hold both the token file and the UPN map")
			}
			if opts.out == "-" {
				opts.out = ""
			}
			if err := refuseOverwritingInput(opts.out, []namedInput{
				{"the token file", opts.file}, {"the --upn-map file", opts.upnMap},
				{"the --pskc-key-file", ff.pskcKeyFile}, {"the --pskc-password-file", ff.pskcPasswordFile},
			}); err != nil {
				return err
			}
			var err error
			if opts.read, err = ff.readOptions(f, []string{opts.file, opts.upnMap}); err != nil {
				return err
			}
			err = convertRun(cmd.Context(), opts)
			if err != nil && cmdutil.Interrupted(cmd.Context()) && !f.Quiet {
				// Main reports only "interrupted"; say what became of the output.
				var partial *stdoutError
				if errors.As(err, &partial) {
					fmt.Fprintf(f.IO.ErrOut, "mfactl: conversion of %s interrupted; the csv on standard output is incomplete\n", displayName(opts.file))
				} else {
					fmt.Fprintf(f.IO.ErrOut, "mfactl: conversion of %s interrupted; nothing was written\n", displayName(opts.file))
				}
			}
			return err
		},
	}
	ff.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.out, "out", "", "write the CSV to `FILE` (atomically, mode 0600) instead of standard output")
	fl.StringVar(&opts.upnMap, "upn-map", "", "CSV `FILE` with columns \"serial number,upn\" giving each token's owner")
	fl.BoolVar(&opts.skipInvalid, "skip-invalid", false, "write the valid tokens and report the others (exit 3)")
	return cmd
}

type namedInput struct{ what, path string }

// refuseOverwritingInput is the usage error of an --out that is one of the files the command
// reads, by whatever path or link it is named: the rename at the end would replace the
// vendor's file with the CSV.
func refuseOverwritingInput(out string, inputs []namedInput) error {
	if out == "" {
		return nil
	}
	ost, err := os.Stat(out)
	if err != nil {
		return nil // a new file cannot be an input; other errors show when it is created
	}
	for _, in := range inputs {
		if in.path == "" || in.path == "-" {
			continue
		}
		if ist, err := os.Stat(in.path); err == nil && os.SameFile(ost, ist) {
			return cmdutil.Usagef("--out %s is the same file as %s %s: refusing to overwrite an input; nothing was written", out, in.what, in.path)
		}
	}
	return nil
}

func convertRun(ctx context.Context, opts *convertOptions) error {
	f := opts.f
	name := displayName(opts.file)
	if opts.upnMap != "" {
		m, err := readUPNMap(f, opts.upnMap)
		if err != nil {
			return err
		}
		opts.read.UPNs = m
	}
	in, err := openInput(f, opts.file)
	if err != nil {
		return err
	}
	defer in.Close()

	var out outputSink
	if opts.out != "" {
		if out, err = newFileSink(opts.out); err != nil {
			return err
		}
	} else {
		out = &stdoutSink{w: f.IO.Out}
	}
	defer out.Abort()

	res, err := tokenfile.Convert(ctx, in, out, tokenfile.ConvertOptions{Read: opts.read, SkipInvalid: opts.skipInvalid})
	if err != nil {
		return fmt.Errorf("converting %s: %w", name, err)
	}
	reportConvertProblems(f, name, res)

	switch {
	case res.Refused:
		return refusalError(name, res)
	case !res.OK(opts.skipInvalid):
		err := fmt.Errorf("%s: %d of %d tokens are invalid; nothing written", name, res.Invalid, res.Rows)
		if opts.skipInvalid {
			return err
		}
		return cmdutil.WithHint(err, "fix them, or pass --skip-invalid to write the valid ones")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if !f.Quiet {
		dest := ""
		if opts.out != "" {
			dest = " to " + opts.out
		}
		msg := fmt.Sprintf("converted %s%s", plural(res.Written, "token"), dest)
		if res.Invalid > 0 {
			msg += fmt.Sprintf("; skipped %s", plural(res.Invalid, "invalid token"))
		}
		fmt.Fprintf(f.IO.ErrOut, "mfactl: %s\n", msg)
		if m := opts.read.UPNs; m != nil && m.Unused() > 0 {
			fmt.Fprintf(f.IO.ErrOut, "mfactl: note: %d of the %d serials in %s are not in %s\n", m.Unused(), m.Len(), opts.upnMap, name)
		}
	}
	if res.Invalid > 0 {
		return cmdutil.ErrPartial
	}
	return nil
}

func readUPNMap(f *cmdutil.Factory, path string) (*tokenfile.UPNMap, error) {
	in, err := openInput(f, path)
	if err != nil {
		return nil, fmt.Errorf("reading --upn-map: %w", errors.Unwrap(err))
	}
	defer in.Close()
	m, err := tokenfile.ReadUPNMap(in)
	if err != nil {
		return nil, cmdutil.CSVSeparatorHint(fmt.Errorf("reading --upn-map %s: %w", displayName(path), err), "")
	}
	return m, nil
}

// reportConvertProblems prints the problems to stderr like `tokens validate` does, errors
// always, warnings unless --quiet; a code seen very often is summed up in one line.
func reportConvertProblems(f *cmdutil.Factory, name string, res *tokenfile.ConvertResult) {
	w := f.IO.ErrOut
	for _, p := range res.Problems {
		if p.IsError() || !f.Quiet {
			fmt.Fprintln(w, p.Diagnostic(name))
		}
	}
	codes := make([]string, 0, len(res.Omitted))
	for code := range res.Omitted {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		fmt.Fprintf(w, "%s: ... and %d more [%s]\n", name, res.Omitted[code], code)
	}
}

// refusalError explains a file refused as a whole, with a hint where the fix is known.
func refusalError(name string, res *tokenfile.ConvertResult) error {
	code := ""
	for _, p := range res.Problems {
		if p.IsError() {
			code = p.Code
			break
		}
	}
	err := fmt.Errorf("%s: the file is refused [%s]; nothing written", name, code)
	switch code {
	case "pskc.key-required", "pskc.mac-missing":
		return cmdutil.WithHint(err, decryptHint(code))
	case "pskc.wrong-key":
		return cmdutil.WithHint(err, "check that the key or password is the one the vendor sent for this file")
	}
	return err
}

// outputSink is where the converted CSV goes until the run knows whether to keep it.
type outputSink interface {
	io.Writer
	Commit() error
	Abort()
}

// holdInMemory is how much converted CSV heldOutput holds in memory before it moves it to a
// temporary file (about 10,000 rows), so memory does not grow with the file.
const holdInMemory = 1 << 20

// heldOutput holds the converted CSV until the run succeeds: a file refused at its last key
// must not have printed anything, standard output cannot be taken back, and a file on disk
// holding secrets must exist for as short a time as possible. Up to holdInMemory it is held in
// memory, past that in a spillFile (unlinked at once and encrypted under a key only this
// process knows, so nothing readable is left behind however the run ends).
type heldOutput struct {
	limit int // 0 means holdInMemory
	buf   bytes.Buffer
	spill *spillFile
	err   error
}

func (h *heldOutput) Write(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	if h.spill == nil && h.buf.Len()+len(p) <= cmp.Or(h.limit, holdInMemory) {
		return h.buf.Write(p)
	}
	if h.spill == nil {
		if h.spill, h.err = newSpillFile("mfactl-convert-*.csv"); h.err != nil {
			h.err = fmt.Errorf("holding the csv in a temporary file: %w", h.err)
			return 0, h.err
		}
		_, h.err = h.buf.WriteTo(h.spill)
		h.wipe()
	}
	if h.err == nil {
		_, h.err = h.spill.Write(p)
	}
	if h.err != nil {
		h.err = fmt.Errorf("holding the csv in a temporary file: %w", h.err)
		return 0, h.err
	}
	return len(p), nil
}

// writeTo writes everything held to w.
func (h *heldOutput) writeTo(w io.Writer) error {
	if h.spill == nil {
		// Write, not WriteTo: the buffer must stay whole, even after a partial write, for
		// wipe to reach all of it.
		_, err := w.Write(h.buf.Bytes())
		return err
	}
	r, err := h.spill.reader()
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}

// discard forgets the CSV: the memory is wiped and the temporary file removed.
func (h *heldOutput) discard() {
	h.wipe()
	if h.spill != nil {
		h.spill.remove()
		h.spill = nil
	}
}

func (h *heldOutput) wipe() {
	b := h.buf.Bytes()
	clear(b[:cap(b)])
	h.buf.Reset()
}

// stdoutSink writes the held CSV to standard output on Commit.
type stdoutSink struct {
	heldOutput
	w io.Writer
}

func (s *stdoutSink) Commit() error {
	defer s.Abort()
	if s.err != nil {
		return s.err
	}
	if err := s.writeTo(s.w); err != nil {
		return &stdoutError{fmt.Errorf("writing the csv: %w", err)}
	}
	return nil
}

func (s *stdoutSink) Abort() { s.discard() }

// stdoutError is a failure while the CSV was being written to standard output: part of it
// may have been.
type stdoutError struct{ error }

func (e *stdoutError) Unwrap() error { return e.error }

// fileSink writes the held CSV to --out on Commit. Its temporary file is created at the start
// (so an unwritable folder fails at once) and stays empty until Commit: killed at any point
// before then, mfactl leaves at most an empty file behind.
type fileSink struct {
	heldOutput
	file *atomicFile
}

func newFileSink(path string) (*fileSink, error) {
	a, err := newAtomicFile(path)
	if err != nil {
		return nil, err
	}
	return &fileSink{file: a}, nil
}

func (s *fileSink) Commit() error {
	defer s.Abort()
	if s.err != nil {
		return s.err
	}
	if err := s.writeTo(s.file.File); err != nil {
		return fmt.Errorf("writing %s: %w", s.file.path, err)
	}
	return s.file.Commit()
}

func (s *fileSink) Abort() {
	s.discard()
	s.file.Abort()
}

// atomicFile writes a file beside its destination, readable only by the owner (it holds
// secrets), and renames it into place on Commit, so a failed run leaves no partial output.
// A signal that stops the run removes it at once (cmdutil.OnInterrupt); only SIGKILL or a
// crash between its first write and the rename can leave it behind.
type atomicFile struct {
	*os.File
	path   string
	forget func()
	done   bool
}

func newAtomicFile(path string) (*atomicFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// os.CreateTemp creates the file with mode 0600.
	tmp, err := os.CreateTemp(dir, "."+strings.TrimPrefix(base, ".")+".tmp-*")
	if err != nil {
		// Name the file asked for, not the temporary one.
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	name := tmp.Name()
	return &atomicFile{File: tmp, path: path, forget: cmdutil.OnInterrupt(func() { os.Remove(name) })}, nil
}

func (a *atomicFile) Commit() error {
	err := a.Sync()
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(a.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(a.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.Name())
		a.done = true
		a.forget()
		return fmt.Errorf("writing %s: %w", a.path, err)
	}
	a.done = true
	a.forget()
	return nil
}

func (a *atomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.Close()
	os.Remove(a.Name())
	a.forget()
}
