package csvdialect

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var b bytes.Buffer
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if bigEndian {
			b.WriteByte(byte(u >> 8))
			b.WriteByte(byte(u))
		} else {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
	}
	return b.Bytes()
}

// TestOpen reads one small file in every form a spreadsheet saves it.
func TestOpen(t *testing.T) {
	const text = "upn,Display Name\r\na@contoso.com,Äda\r\n"
	tests := []struct {
		name       string
		in         []byte
		delim      rune
		enc        string
		lineOffset int
		utf16      bool
	}{
		{"utf-8", []byte(text), ',', UTF8, 0, false},
		{"utf-8 bom", append([]byte{0xEF, 0xBB, 0xBF}, text...), ',', UTF8, 0, false},
		{"utf-16le bom", utf16Bytes(text, false, true), ',', UTF16LE, 0, false},
		{"utf-16be bom", utf16Bytes(text, true, true), ',', UTF16BE, 0, false},
		{"sep line", []byte("sep=;\n" + strings.ReplaceAll(text, ",", ";")), ';', UTF8, 1, false},
		{"sep line crlf, utf-16le", utf16Bytes("SEP=;\r\n"+strings.ReplaceAll(text, ",", ";"), false, true), ';', UTF16LE, 1, false},
		{"utf-16le without bom", utf16Bytes(text, false, false), ',', UTF8, 0, true},
		{"utf-16be without bom", utf16Bytes(text, true, false), ',', UTF8, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Open(bytes.NewReader(tc.in), 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if in.Delimiter != tc.delim || in.Encoding != tc.enc || in.LineOffset != tc.lineOffset || in.LooksUTF16 != tc.utf16 {
				t.Fatalf("got delimiter %q encoding %s offset %d looksUTF16 %v", in.Delimiter, in.Encoding, in.LineOffset, in.LooksUTF16)
			}
			if tc.utf16 {
				return
			}
			rows, err := in.NewReader().ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0][1] != "Display Name" || rows[1][1] != "Äda" {
				t.Errorf("rows %q", rows)
			}
		})
	}
}

func TestLooksUTF16(t *testing.T) {
	for in, want := range map[string]bool{
		"a\x00b\x00c\x00":         true,
		"\x00a\x00b\x00c":         true,
		"ab\x00cd,ef":             false, // a NUL byte in UTF-8 text
		"a\x00":                   false, // too short to tell
		"a\x00b\x00\x00\x00c\x00": false,
	} {
		if got := looksUTF16([]byte(in)); got != want {
			t.Errorf("looksUTF16(%q) = %v", in, got)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"serial number": "serialnumber", "Serial_Number": "serialnumber", "serial-number": "serialnumber",
		"\uFEFFUPN": "upn", "upn": "upn", "Display\tName": "displayname", "": "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckSeparator(t *testing.T) {
	known := func(f string) bool { return f == "upn" || f == "displayname" }
	tests := []struct {
		header []string
		delim  rune
		want   string
	}{
		{[]string{"upn;display name"}, ',', "the header is one field: the file seems to use ';' as separator (Excel does in many locales)"},
		{[]string{"upn\tdisplay name"}, ',', "the header is one field: the file seems to use tab as separator (Excel does in many locales)"},
		{[]string{"upn,display name"}, ';', "the header is one field: the file seems to use ',' as separator (Excel does in many locales)"},
		{[]string{"upn"}, ',', ""},
		{[]string{"upn", "a;b"}, ',', ""},
	}
	for _, tc := range tests {
		err := CheckSeparator(4, tc.header, tc.delim, known)
		got := ""
		if err != nil {
			got = err.Error()
			var se *SeparatorError
			if !errors.As(err, &se) || se.Line != 4 {
				t.Errorf("%q: %#v is not a *SeparatorError on line 4", tc.header, err)
			}
		}
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestNULDefect(t *testing.T) {
	if got := NULDefect("ab\ncd\x00", 7, false); got != "contains a NUL byte at line 8" {
		t.Errorf("got %q", got)
	}
	if got := NULDefect("a\x00", 7, true); got != MsgUTF16NoBOM {
		t.Errorf("got %q", got)
	}
	if got := NULDefect("abc", 7, false); got != "" {
		t.Errorf("got %q", got)
	}
}

// TestUnneutraliseUndoesNeutraliseFormula: a listing read back gives the values listed, also
// for values that start with an apostrophe themselves.
func TestUnneutraliseUndoesNeutraliseFormula(t *testing.T) {
	for _, s := range []string{"", "'", "''", "=x", "'=already", "''=a", "+1", "+1 4255551234", "-x", "-7", "'-7", "@x",
		"\tx", "plain", "'plain", "O'Brien", "=", "'+"} {
		n := NeutraliseFormula(s)
		if got := Unneutralise(n); got != s {
			t.Errorf("Unneutralise(NeutraliseFormula(%q) = %q) = %q", s, n, got)
		}
	}
	for s, want := range map[string]string{"=x": "'=x", "'=already": "''=already", "+1 4255551234": "'+1 4255551234", "-7": "-7", "plain": "plain"} {
		if got := NeutraliseFormula(s); got != want {
			t.Errorf("NeutraliseFormula(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestOpenReadError(t *testing.T) {
	_, err := Open(io.MultiReader(strings.NewReader("ab"), errReader{}), 0, 0)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }
