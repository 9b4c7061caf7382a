package tokencmd

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/pskc"
	"github.com/mfactl/mfactl/internal/tokenfile"
	"github.com/mfactl/mfactl/internal/tokens"
)

// Environment variables that carry PSKC decryption material, for scripts that keep secrets
// in the environment rather than in files. The flags take precedence.
const (
	envPSKCKey      = "MFACTL_PSKC_KEY"
	envPSKCPassword = "MFACTL_PSKC_PASSWORD"
)

// fileFlags are the flags of every command that reads token files (validate, convert, import).
type fileFlags struct {
	format         string
	strict         bool
	delimiter      string
	secretEncoding string

	// PSKC decryption. Secrets are only ever read from files (or stdin) and the environment,
	// never taken as flag values: those land in shell history and the process list.
	pskcKeyFile      string
	pskcPasswordFile string
	pskcIV           string
	allowMissingMAC  bool
	allowPlainValue  bool
}

func (ff *fileFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&ff.format, "format", "auto", "file `format`: auto (by content), csv or pskc")
	fl.BoolVar(&ff.strict, "strict", false, "treat warnings as errors")
	fl.StringVar(&ff.delimiter, "delimiter", ",", "CSV field separator: one `character`, or \"tab\"")
	fl.StringVar(&ff.secretEncoding, "secret-encoding", "base32", "CSV secret `encoding`: base32, or hex (converted to Base32)")
	fl.StringVar(&ff.pskcKeyFile, "pskc-key-file", "", "read the PSKC pre-shared key (hex, or 16/24/32 raw bytes) from `FILE` (\"-\": stdin; env "+envPSKCKey+")")
	fl.StringVar(&ff.pskcPasswordFile, "pskc-password-file", "", "read the PSKC password from `FILE`, without its trailing newline (\"-\": stdin; env "+envPSKCPassword+")")
	fl.StringVar(&ff.pskcIV, "pskc-iv", "", "legacy PSKC files whose encrypted values carry no IV: the IV in `hex`")
	fl.BoolVar(&ff.allowMissingMAC, "allow-missing-mac", false, "accept PSKC values encrypted in CBC mode without a MAC (RFC 6030 requires one)")
	fl.BoolVar(&ff.allowPlainValue, "allow-plain-value", false, "accept PSKC secrets in plain text (PlainValue) in a file that encrypts or MACs its keys; the MAC does not cover them")
}

// options checks the flag values (usage errors) and turns them into reader options. It
// does not read PSKC decryption material: readOptions does.
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
	o.PSKC.AllowMissingMAC = ff.allowMissingMAC
	o.PSKC.AllowPlainValue = ff.allowPlainValue
	if ff.pskcIV != "" {
		iv, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(ff.pskcIV), "0x"))
		if err != nil || (len(iv) != 8 && len(iv) != 16) {
			return o, cmdutil.Usagef("--pskc-iv: want 16 or 32 hex digits (an 8- or 16-byte IV)")
		}
		o.PSKC.IV = iv
	}
	return o, nil
}

// readOptions is options plus the PSKC decryption material: --pskc-key-file or
// --pskc-password-file, else MFACTL_PSKC_KEY or MFACTL_PSKC_PASSWORD, and the clock policy
// expiry is judged at. files are the token files the command reads: standard input cannot
// be both a token file and the key.
func (ff *fileFlags) readOptions(f *cmdutil.Factory, files []string) (tokenfile.Options, error) {
	o, err := ff.options()
	if err != nil {
		return o, err
	}
	o.PSKC.Now = f.Now()
	if ff.pskcKeyFile != "" && ff.pskcPasswordFile != "" {
		return o, cmdutil.Usagef("--pskc-key-file and --pskc-password-file exclude each other: a file is encrypted with a key or with a password")
	}
	for _, flag := range []struct{ name, value string }{{"--pskc-key-file", ff.pskcKeyFile}, {"--pskc-password-file", ff.pskcPasswordFile}} {
		if flag.value == "-" && slices.Contains(files, "-") {
			return o, cmdutil.Usagef("%s -: standard input cannot hold both the token file and the secret; put one of them in a file", flag.name)
		}
	}
	switch {
	case ff.pskcKeyFile != "":
		b, err := readSecretFile(f, ff.pskcKeyFile)
		if err != nil {
			return o, fmt.Errorf("reading --pskc-key-file: %w", err)
		}
		if o.PSKC.Key, err = pskc.ParseKeyMaterial(b); err != nil {
			return o, fmt.Errorf("reading --pskc-key-file %s: %w", displayName(ff.pskcKeyFile), err)
		}
		clear(b)
	case ff.pskcPasswordFile != "":
		b, err := readSecretFile(f, ff.pskcPasswordFile)
		if err != nil {
			return o, fmt.Errorf("reading --pskc-password-file: %w", err)
		}
		if o.PSKC.Password, err = passwordFrom(b); err != nil {
			return o, fmt.Errorf("reading --pskc-password-file %s: %w", displayName(ff.pskcPasswordFile), err)
		}
	default:
		key, password := f.Getenv(envPSKCKey), f.Getenv(envPSKCPassword)
		if key != "" && password != "" {
			return o, cmdutil.Usagef("%s and %s are both set; set only the one the file needs", envPSKCKey, envPSKCPassword)
		}
		if key != "" {
			// An environment variable cannot carry arbitrary bytes (no NUL): hex only.
			if !isHexKey(key) {
				return o, fmt.Errorf("reading %s: want the key in hex", envPSKCKey)
			}
			if o.PSKC.Key, err = pskc.ParseKeyMaterial([]byte(key)); err != nil {
				return o, fmt.Errorf("reading %s: %w", envPSKCKey, err)
			}
		}
		if password != "" {
			o.PSKC.Password = []byte(password)
		}
	}
	return o, nil
}

// isHexKey reports whether s is a key in hex: digits with optional white space and 0x prefix.
func isHexKey(s string) bool {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	n := 0
	for _, c := range s {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
			n++
		default:
			return false
		}
	}
	return n > 0
}

// maxSecretFile bounds what is read from a key or password file: a key is at most 32 bytes
// (64 hex digits) and no password is a megabyte, so anything larger is the wrong file.
const maxSecretFile = 1 << 20

// readSecretFile reads a key or password file, or standard input for "-". Errors never
// quote the content.
func readSecretFile(f *cmdutil.Factory, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = f.IO.In
	} else {
		file, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		r = file
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, errors.New("larger than 1 MiB: not a key or password file")
	}
	return b, nil
}

// passwordFrom takes the password from a file's content: one trailing newline (LF or CRLF,
// as editors and `echo` leave it) is not part of it.
func passwordFrom(b []byte) ([]byte, error) {
	if bytes.HasSuffix(b, []byte("\r\n")) {
		b = b[:len(b)-2]
	} else {
		b = bytes.TrimSuffix(b, []byte("\n"))
	}
	if len(b) == 0 {
		return nil, errors.New("the password is empty")
	}
	return b, nil
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
	// A directory opens; its reads fail deep in the CSV reader ("reading csv: read x: is a
	// directory"). Say it here.
	if st, err := file.Stat(); err == nil && st.IsDir() {
		file.Close()
		return nil, fmt.Errorf("opening token file: %w", &fs.PathError{Op: "open", Path: name, Err: errIsDir})
	}
	return file, nil
}

var errIsDir = errors.New("is a directory, not a file")

// displayName is how a file is named in problems.
func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}
