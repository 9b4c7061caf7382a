package tokencmd

import (
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/tokenfile"
	"github.com/mfactl/mfactl/internal/tokens"
)

// fileFlags are the flags of every command that reads token files (validate, convert, import).
type fileFlags struct {
	format         string
	strict         bool
	delimiter      string
	secretEncoding string
}

func (ff *fileFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&ff.format, "format", "auto", "file `format`: auto (by content), csv or pskc")
	fl.BoolVar(&ff.strict, "strict", false, "treat warnings as errors")
	fl.StringVar(&ff.delimiter, "delimiter", ",", "CSV field separator: one `character`, or \"tab\"")
	fl.StringVar(&ff.secretEncoding, "secret-encoding", "base32", "CSV secret `encoding`: base32, or hex (converted to Base32)")
}

// options checks the flag values (usage errors) and turns them into reader options.
func (ff *fileFlags) options() (tokenfile.Options, error) {
	var o tokenfile.Options
	switch ff.format {
	case tokenfile.FormatAuto, tokenfile.FormatCSV, tokenfile.FormatPSKC:
		o.Format = ff.format
	default:
		return o, cmdutil.Usagef("--format: unknown format %q (want auto, csv or pskc)", ff.format)
	}
	d := ff.delimiter
	if d == "tab" || d == `\t` {
		d = "\t"
	}
	r, size := utf8.DecodeRuneInString(d)
	if d == "" || size != len(d) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
		return o, cmdutil.Usagef("--delimiter: want one character other than a quote or newline, or \"tab\", not %q", ff.delimiter)
	}
	o.CSV.Delimiter = r
	switch ff.secretEncoding {
	case "base32", "hex":
		o.CSV.SecretEncoding = ff.secretEncoding
	default:
		return o, cmdutil.Usagef("--secret-encoding: unknown encoding %q (want base32 or hex)", ff.secretEncoding)
	}
	o.Strict = ff.strict
	o.Checker = tokens.CheckerOptions{MaxMethods: tokens.MaxMethods}
	return o, nil
}

// openInput opens a named file, or standard input for "-".
func openInput(f *cmdutil.Factory, name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(f.IO.In), nil
	}
	file, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("opening token file: %w", err)
	}
	return file, nil
}

// displayName is how a file is named in problems.
func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}
