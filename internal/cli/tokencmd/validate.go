package tokencmd

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/tokenfile"
	"github.com/mfactl/mfactl/internal/tokens"
)

type validateOptions struct {
	f      *cmdutil.Factory
	files  []string
	format string // output format
	read   tokenfile.Options
}

func newValidateCmd(f *cmdutil.Factory, runF func(*validateOptions) error) *cobra.Command {
	opts := &validateOptions{f: f}
	var ff fileFlags
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check token files without importing them",
		Long: `Check token seed files (Azure OATH CSV or PSKC XML) against the import rules and report every
problem with its line, column and a stable code. No database is needed, so this fits CI.

The format is recognised by content (--format auto): a file starting with an XML element is
PSKC (RFC 6030), anything else CSV. Problems in PSKC files also name the key package and its
serial; the PSKC reader's own findings have codes "pskc.<class>" (pskc.wrong-key,
pskc.mac-mismatch, pskc.hash-defaulted...). Keys of an encrypted PSKC file are decrypted
with --pskc-key-file or --pskc-password-file, or MFACTL_PSKC_KEY / MFACTL_PSKC_PASSWORD;
secrets are never taken as flag values.

Exits 0 when every file is valid (warnings allowed unless --strict), 1 when not.
"-" reads standard input.`,
		Example: `  $ mfactl tokens validate tokens.csv
  $ mfactl tokens validate --strict -o json tokens.csv
  $ mfactl tokens validate -o github seeds/*.csv
  $ mfactl tokens validate --delimiter ';' excel-export.csv
  $ mfactl tokens validate --pskc-key-file vendor.key seeds.pskc
  $ MFACTL_PSKC_PASSWORD="$(pass show vendor/pskc)" mfactl tokens validate seeds.xml`,
		Args: cmdutil.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatText, cmdutil.FormatJSON, cmdutil.FormatGitHub); err != nil {
				return err
			}
			if opts.read, err = ff.readOptions(f, args); err != nil {
				return err
			}
			// validate keeps problems, never records: one record is reused for every row.
			opts.read.CSV.ReuseRecord = true
			opts.files = args
			if runF != nil {
				return runF(opts)
			}
			return validateRun(opts)
		},
	}
	ff.register(cmd)
	return cmd
}

// fileReport is the JSON view of one validated file (docs/formats.md).
type fileReport struct {
	File     string           `json:"file"`
	Format   string           `json:"format"`
	Rows     int              `json:"rows"`
	Valid    bool             `json:"valid"`
	Errors   int              `json:"errors"`
	Warnings int              `json:"warnings"`
	Problems []tokens.Problem `json:"problems"` // written from log

	log  problemLog // every problem, in memory or spilled to a temporary file
	hint string     // how to give decryption material, when a problem says it is needed
}

// validateMemory is the soft heap limit of validate: the cross-row checker's tables for a
// million rows are about 38 MB when sized from the file size (more when they grow, for
// standard input), and the collector may not let garbage double that. The room left for
// garbage sets how often the collector runs: at 48 MiB it ran 55 times on a million rows, at
// 52 MiB 20 times, for a peak RSS of 58 MB (the target of docs/performance.md is 64 MiB).
const validateMemory = 52 << 20

func validateRun(opts *validateOptions) error {
	cmdutil.SetMemoryBudget(validateMemory)
	out := opts.f.IO.Out
	valid, hint := true, ""
	js := &jsonReport{w: out}
	for _, name := range opts.files {
		fr := validateFile(opts, name)
		valid = valid && fr.Valid
		hint = cmp.Or(hint, fr.hint)
		var err error
		switch opts.format {
		case cmdutil.FormatText:
			err = writeText(out, fr)
		case cmdutil.FormatGitHub:
			err = writeGitHub(out, fr)
		case cmdutil.FormatJSON:
			err = js.file(fr)
		}
		fr.log.close()
		if err != nil {
			return err
		}
	}
	if opts.format == cmdutil.FormatJSON {
		if err := js.end(valid); err != nil {
			return err
		}
	}
	if hint != "" && !opts.f.Quiet {
		fmt.Fprintf(opts.f.IO.ErrOut, "mfactl: hint: %s\n", hint)
	}
	if !valid {
		return cmdutil.ErrSilent
	}
	return nil
}

// validateFile reads one file to the end and gathers its problems. A file that cannot be read
// is reported as a problem of that file, so the other files are still checked.
func validateFile(opts *validateOptions, name string) *fileReport {
	fr := &fileReport{File: displayName(name), Format: opts.read.Format, Valid: true}
	fail := func(code string, err error) *fileReport {
		fr.add(tokens.Problem{Severity: tokens.SeverityError, Code: code, Message: err.Error()})
		return fr
	}
	in, err := openInput(opts.f, name)
	if err != nil {
		return fail("file.open", errors.Unwrap(err))
	}
	defer in.Close()
	read := opts.read
	read.SizeHint = sizeHint(in)
	tf, err := tokenfile.Open(in, read)
	if err != nil {
		return fail("file.read", err)
	}
	defer tf.Close()
	fr.Format = tf.Format
	for _, p := range tf.Problems {
		fr.add(p)
	}
	seen := len(tf.Problems)
	for {
		rec, err := tf.Next()
		if err == io.EOF {
			break
		}
		var invalid *tokenfile.InvalidError
		if errors.As(err, &invalid) {
			// The file is refused as a whole (a PSKC MAC failure, a wrong key): say why.
			// Problems of the keys read before are kept: they are true of those keys.
			for _, p := range invalid.Problems {
				fr.add(p)
			}
			break
		}
		if err != nil {
			return fail("file.read", err)
		}
		fr.Rows++
		for _, p := range rec.Problems {
			fr.add(p)
		}
	}
	// A PSKC reader knows some file warnings only at the end (a signature after the keys).
	for _, p := range tf.Problems[seen:] {
		fr.add(p)
	}
	if tf.Format == tokenfile.FormatPSKC {
		// A PSKC reader finds some problems of the file's header only at its end.
		fr.log.sortByLine()
	}
	return fr
}

// sizeHint is the size of a regular file, 0 for anything else (standard input).
func sizeHint(in io.Reader) int64 {
	f, ok := in.(*os.File)
	if !ok {
		return 0
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	return fi.Size()
}

// decryptHint says how to give decryption material when a problem with code says it is needed.
func decryptHint(code string) string {
	switch code {
	case "pskc.key-required":
		return "give the key with --pskc-key-file FILE or " + envPSKCKey + ", or the password with --pskc-password-file FILE or " + envPSKCPassword
	case "pskc.mac-missing":
		return "--allow-missing-mac accepts encrypted values without a MAC, if you trust how the file reached you"
	case "pskc.plain-value":
		return "--allow-plain-value accepts plain-text secrets in an encrypted file, if you trust how the file reached you"
	}
	return ""
}

func (fr *fileReport) add(p tokens.Problem) {
	fr.log.add(p)
	fr.hint = cmp.Or(fr.hint, decryptHint(p.Code))
	if p.IsError() {
		fr.Errors++
	} else {
		fr.Warnings++
	}
	fr.Valid = fr.Errors == 0
}

// writeText prints problems like a compiler, then one summary line per file:
//
//	tokens.csv:2: error: secret key: looks like hex, not Base32 [secret.hex]
//	tokens.csv: invalid: 1 row, 1 error, 0 warnings
func writeText(w io.Writer, fr *fileReport) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	err := fr.log.each(func(p tokens.Problem) error {
		_, err := fmt.Fprintln(bw, p.Diagnostic(fr.File))
		return err
	})
	if err != nil {
		return err
	}
	verdict := "valid"
	if !fr.Valid {
		verdict = "invalid"
	}
	fmt.Fprintf(bw, "%s: %s: %s, %s, %s\n", fr.File, verdict,
		plural(fr.Rows, "row"), plural(fr.Errors, "error"), plural(fr.Warnings, "warning"))
	return bw.Flush()
}

// writeGitHub prints GitHub Actions workflow commands, which turn into annotations on the file.
func writeGitHub(w io.Writer, fr *fileReport) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	err := fr.log.each(func(p tokens.Problem) error {
		_, err := fmt.Fprintln(bw, p.Annotation(fr.File))
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
