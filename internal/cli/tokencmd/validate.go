package tokencmd

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
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

Exits 0 when every file is valid (warnings allowed unless --strict), 1 when not.
"-" reads standard input.`,
		Example: `  $ mfactl tokens validate tokens.csv
  $ mfactl tokens validate --strict -o json tokens.csv
  $ mfactl tokens validate -o github seeds/*.csv
  $ mfactl tokens validate --delimiter ';' excel-export.csv`,
		Args: cmdutil.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatText, cmdutil.FormatJSON, cmdutil.FormatGitHub); err != nil {
				return err
			}
			if opts.read, err = ff.options(); err != nil {
				return err
			}
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

// fileReport is the JSON view of one validated file (SPEC section 10).
type fileReport struct {
	File     string           `json:"file"`
	Format   string           `json:"format"`
	Rows     int              `json:"rows"`
	Valid    bool             `json:"valid"`
	Errors   int              `json:"errors"`
	Warnings int              `json:"warnings"`
	Problems []tokens.Problem `json:"problems"`
}

type validateReport struct {
	Files []*fileReport `json:"files"`
	Valid bool          `json:"valid"`
}

func validateRun(opts *validateOptions) error {
	out := opts.f.IO.Out
	report := validateReport{Files: []*fileReport{}, Valid: true}
	for _, name := range opts.files {
		fr := validateFile(opts, name)
		report.Files = append(report.Files, fr)
		report.Valid = report.Valid && fr.Valid
		switch opts.format {
		case cmdutil.FormatText:
			writeText(out, fr)
		case cmdutil.FormatGitHub:
			writeGitHub(out, fr)
		}
	}
	if opts.format == cmdutil.FormatJSON {
		if err := render.JSON(out, report); err != nil {
			return err
		}
	}
	if !report.Valid {
		return cmdutil.ErrSilent
	}
	return nil
}

// validateFile reads one file to the end and gathers its problems. A file that cannot be read
// is reported as a problem of that file, so the other files are still checked.
func validateFile(opts *validateOptions, name string) *fileReport {
	fr := &fileReport{File: displayName(name), Format: opts.read.Format, Valid: true, Problems: []tokens.Problem{}}
	fail := func(code string, err error) *fileReport {
		fr.add(tokens.Problem{Severity: tokens.SeverityError, Code: code, Message: err.Error()})
		return fr
	}
	in, err := openInput(opts.f, name)
	if err != nil {
		return fail("file.open", errors.Unwrap(err))
	}
	defer in.Close()
	tf, err := tokenfile.Open(in, opts.read)
	if err != nil {
		return fail("file.read", err)
	}
	fr.Format = tf.Format
	for _, p := range tf.Problems {
		fr.add(p)
	}
	for {
		rec, err := tf.Next()
		if err == io.EOF {
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
	return fr
}

func (fr *fileReport) add(p tokens.Problem) {
	fr.Problems = append(fr.Problems, p)
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
func writeText(w io.Writer, fr *fileReport) {
	for _, p := range fr.Problems {
		loc := fr.File
		if p.Line > 0 {
			loc = fmt.Sprintf("%s:%d", fr.File, p.Line)
		}
		where := ""
		if p.Package > 0 {
			where = fmt.Sprintf("key package %d", p.Package)
			if p.Serial != "" {
				where += fmt.Sprintf(" (serial %s)", p.Serial)
			}
			where += ": "
		}
		if p.Column != "" {
			where += p.Column + ": "
		}
		fmt.Fprintf(w, "%s: %s: %s%s [%s]\n", loc, p.Severity, where, p.Message, p.Code)
	}
	verdict := "valid"
	if !fr.Valid {
		verdict = "invalid"
	}
	fmt.Fprintf(w, "%s: %s: %s, %s, %s\n", fr.File, verdict,
		plural(fr.Rows, "row"), plural(fr.Errors, "error"), plural(fr.Warnings, "warning"))
}

// writeGitHub prints GitHub Actions workflow commands, which turn into annotations on the file.
func writeGitHub(w io.Writer, fr *fileReport) {
	for _, p := range fr.Problems {
		props := "file=" + escapeProperty(fr.File)
		if p.Line > 0 {
			props += fmt.Sprintf(",line=%d", p.Line)
		}
		msg := p.Message
		if p.Column != "" {
			msg = p.Column + ": " + msg
		}
		fmt.Fprintf(w, "::%s %s::%s\n", p.Severity, props, escapeData(p.Code+": "+msg))
	}
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func escapeData(s string) string     { return dataEscaper.Replace(s) }
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
