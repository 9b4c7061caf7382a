// Package csvdialect is what every CSV file mfactl reads has in common, whatever its columns:
// the encodings spreadsheets save (UTF-8 with or without a byte-order mark, UTF-16 with one),
// Excel's "sep=;" first line, header names matched loosely, the hint for a file saved with
// another separator, and the apostrophe mfactl's own CSV output puts before a formula. The
// token, users, reset, activation and UPN-map readers all read through it, so that a file one
// of them accepts the others accept too.
package csvdialect

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encodings an Input may have been read in.
const (
	UTF8    = "UTF-8"
	UTF16LE = "UTF-16LE"
	UTF16BE = "UTF-16BE"
)

// Input is the text of a CSV file, decoded to UTF-8, after its byte-order mark and its
// "sep=" line.
type Input struct {
	// Reader reads the text. Its buffer is the size given to Open, so that encoding/csv,
	// which keeps a *bufio.Reader as it is, reads from it without another copy.
	Reader *bufio.Reader
	// Delimiter is the separator: the one given to Open, or the one the "sep=" line names.
	Delimiter rune
	// Encoding is UTF8, UTF16LE or UTF16BE (the last two from their byte-order mark).
	Encoding string
	// LineOffset is the number of lines read before Reader's text starts: 1 after a "sep="
	// line, else 0. Add it to the lines encoding/csv reports.
	LineOffset int
	// LooksUTF16 is set when the file has no byte-order mark but every other byte of its
	// start is NUL: UTF-16 without a byte-order mark, which is read (wrongly) as UTF-8. A
	// NUL byte elsewhere is only a NUL byte.
	LooksUTF16 bool
}

// DefaultBufferSize is the buffer of Input.Reader when Open is given 0.
const DefaultBufferSize = 64 << 10

// Open starts reading a CSV file from r: a UTF-8 byte-order mark is skipped, UTF-16 with a
// byte-order mark is decoded, and an Excel "sep=X" first line is consumed and overrides delim
// (0 means ','). bufSize is the size of Input.Reader's buffer (0: DefaultBufferSize). The
// error is for an invalid delim and failed reads.
func Open(r io.Reader, delim rune, bufSize int) (*Input, error) {
	if delim == 0 {
		delim = ','
	}
	if !ValidDelimiter(delim) {
		return nil, fmt.Errorf("invalid delimiter %q", delim)
	}
	if bufSize <= 0 {
		bufSize = DefaultBufferSize
	}
	br := bufio.NewReaderSize(r, bufSize)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("reading csv: %w", err)
	}
	in := &Input{Reader: br, Delimiter: delim, Encoding: UTF8}
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		in.Encoding = UTF16LE
		in.Reader = bufio.NewReaderSize(transform.NewReader(br,
			unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()), bufSize)
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		in.Encoding = UTF16BE
		in.Reader = bufio.NewReaderSize(transform.NewReader(br,
			unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()), bufSize)
	default:
		in.LooksUTF16 = looksUTF16(head)
	}
	if d, ok := sepLine(in.Reader); ok {
		in.Delimiter, in.LineOffset = d, 1
	}
	return in, nil
}

// sniffLen is how much of the start of a file decides that it looks like UTF-16 without a
// byte-order mark: a header line's worth.
const sniffLen = 64

// looksUTF16 reports whether every other byte of b (at least 4 bytes of it) is NUL, at even
// offsets (big-endian) or odd ones (little-endian), while the others are not: ASCII text saved
// as UTF-16 without a byte-order mark.
func looksUTF16(b []byte) bool {
	if len(b) > sniffLen {
		b = b[:sniffLen]
	}
	b = b[:len(b)&^1]
	if len(b) < 4 {
		return false
	}
	even, odd := true, true
	for i := 0; i < len(b); i += 2 {
		even = even && b[i] == 0 && b[i+1] != 0
		odd = odd && b[i+1] == 0 && b[i] != 0
	}
	return even || odd
}

// sepLine consumes Excel's "sep=X" first line, which names the separator, and returns X.
func sepLine(br *bufio.Reader) (rune, bool) {
	b, _ := br.Peek(16)
	if len(b) < 5 || !bytes.EqualFold(b[:4], []byte("sep=")) {
		return 0, false
	}
	d, size := utf8.DecodeRune(b[4:])
	rest := b[4+size:]
	n := 4 + size
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		n += 2
	case bytes.HasPrefix(rest, []byte("\n")):
		n++
	default:
		return 0, false
	}
	if !ValidDelimiter(d) {
		return 0, false
	}
	_, _ = br.Discard(n)
	return d, true
}

// NewReader returns an encoding/csv reader of in with its delimiter, that returns rows with
// any number of fields (a row with the wrong count is the caller's problem to report, not the
// end of the file).
func (in *Input) NewReader() *csv.Reader {
	cr := csv.NewReader(in.Reader)
	cr.Comma = in.Delimiter
	cr.FieldsPerRecord = -1
	return cr
}

// ValidDelimiter reports whether r can separate CSV fields.
func ValidDelimiter(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// ParseDelimiter parses the name of a delimiter: one character, or the names "tab" and "\t"
// for a tab (which is awkward to type in a shell), "comma", "semicolon" and "pipe".
func ParseDelimiter(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "tab", `\t`:
		return '\t', nil
	case "comma":
		return ',', nil
	case "semicolon":
		return ';', nil
	case "pipe":
		return '|', nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || size != len(s) || !ValidDelimiter(r) {
		return 0, fmt.Errorf("invalid delimiter %q: want one character such as ';' or the word tab", s)
	}
	return r, nil
}

// Name names a delimiter in a message: tab, or the character in quotes (';').
func Name(d rune) string {
	if d == '\t' {
		return "tab"
	}
	return "'" + string(d) + "'"
}

// Fold folds a header name for matching: case, spaces, tabs, underscores and hyphens are
// ignored ("Serial Number", "serial_number" and "serialnumber" are one name), and so is a
// byte-order mark left at its start by files concatenated together. A name with nothing to
// fold is returned as it is, without allocating.
func Fold(name string) string {
	clean := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= utf8.RuneSelf || c == ' ' || c == '\t' || c == '_' || c == '-' || (c >= 'A' && c <= 'Z') {
			clean = false
			break
		}
	}
	if clean {
		return name
	}
	name = strings.TrimPrefix(name, "\uFEFF")
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		switch c {
		case ' ', '\t', '_', '-':
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// candidateSeparators are the separators spreadsheets write CSV files with.
var candidateSeparators = []rune{';', '\t', ',', '|'}

// OtherSeparator reports which common separator other than delim a header read as one field
// holds (';', tab, ',' or '|'): the file was saved with another separator, as Excel does in
// many locales. known tells whether a folded name is one of the file's columns; of several
// separators the one that splits the field into the most known names wins.
func OtherSeparator(field string, delim rune, known func(folded string) bool) (rune, bool) {
	best, bestN := rune(0), -1
	for _, sep := range candidateSeparators {
		if sep == delim || !strings.ContainsRune(field, sep) {
			continue
		}
		n := 0
		for part := range strings.SplitSeq(field, string(sep)) {
			if known(Fold(strings.Trim(part, `" `))) {
				n++
			}
		}
		if n > bestN {
			best, bestN = sep, n
		}
	}
	return best, bestN >= 0
}

// SeparatorError says that the header is one field holding another separator: the file was
// saved with Sep. The command line adds how to read it so (a delimiter option, or a "sep="
// first line).
type SeparatorError struct {
	Line int  // the header's line
	Sep  rune // the separator the file seems to use
}

func (e *SeparatorError) Error() string {
	return fmt.Sprintf("the header is one field: the file seems to use %s as separator (Excel does in many locales)", Name(e.Sep))
}

// CheckSeparator returns a *SeparatorError when header is one field that holds another
// separator than delim (see OtherSeparator), else nil.
func CheckSeparator(line int, header []string, delim rune, known func(folded string) bool) error {
	if len(header) != 1 {
		return nil
	}
	if sep, ok := OtherSeparator(header[0], delim, known); ok {
		return &SeparatorError{Line: line, Sep: sep}
	}
	return nil
}

// NULDefect returns "" when s holds no NUL byte, else why it does: the file is UTF-16 without
// a byte-order mark when looksUTF16 (see Input.LooksUTF16), else it holds a NUL byte, and line
// (the line s starts on) tells where.
func NULDefect(s string, line int, looksUTF16 bool) string {
	i := strings.IndexByte(s, 0)
	if i < 0 {
		return ""
	}
	if looksUTF16 {
		return MsgUTF16NoBOM
	}
	return fmt.Sprintf("contains a NUL byte at line %d", line+strings.Count(s[:i], "\n"))
}

// MsgUTF16NoBOM is the message for NUL bytes in a file that looks like UTF-16 without a
// byte-order mark.
const MsgUTF16NoBOM = "NUL bytes: the file looks like UTF-16 without a byte-order mark; save it as UTF-8"

// FlagValue writes a delimiter as a command-line value: tab, or the character in single
// quotes for a shell (';').
func FlagValue(d rune) string { return Name(d) }
