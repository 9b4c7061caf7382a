package users

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mfactl/mfactl/internal/tokens"
)

// readAll reads a users file with the reader of an import and returns its records and the
// header problems.
func readAll(t *testing.T, data []byte, delim rune) ([]FileRecord, []tokens.Problem) {
	t.Helper()
	r, err := ReadFile(bytes.NewReader(data), FileOptions{Delimiter: delim})
	if err != nil {
		t.Fatal(err)
	}
	var recs []FileRecord
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		recs = append(recs, rec)
	}
	return recs, r.HeaderProblems()
}

func bomUTF16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func bomUTF16BE(s string) []byte {
	b := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

// A header of many unknown columns is summed up after tokens.MaxProblemsPerCode warnings.
func TestUsersFileHeaderProblemsCapped(t *testing.T) {
	_, header := readAll(t, []byte("upn,display name,email,phone"+strings.Repeat(",x", 1000)+"\n"), ',')
	if len(header) != tokens.MaxProblemsPerCode+1 {
		t.Fatalf("%d header problems", len(header))
	}
	want := tokens.Problem{Line: 1, Severity: tokens.SeverityWarning, Code: tokens.CodeCSVColumnUnknown,
		Message: "900 more csv.column-unknown problems not shown"}
	if header[len(header)-1] != want {
		t.Errorf("summary %+v", header[len(header)-1])
	}
}

func TestUsersFileEncodingsAndHeaders(t *testing.T) {
	const text = "Phone;E_MAIL;display-name;UPN\r\n+1 4255551234;anne@contoso.com;Anne;anne@contoso.com\r\n\r\n;;;bob@contoso.com\r\n"
	for name, data := range map[string][]byte{
		"utf-8":          []byte(text),
		"utf-8 with BOM": append([]byte{0xEF, 0xBB, 0xBF}, text...),
		"utf-16le":       bomUTF16LE(text),
		"utf-16be":       bomUTF16BE(text),
		// The delimiter option says ',' but the file's "sep=;" line wins; lines count it.
		"sep line": []byte("sep=;\r\n" + text),
	} {
		delim, first := ';', 2
		if name == "sep line" {
			delim, first = ',', 3
		}
		recs, header := readAll(t, data, delim)
		if first == 3 {
			if len(recs) != 2 || recs[0].Line != 3 || recs[1].Line != 5 {
				t.Fatalf("%s: records %+v, want lines 3 and 5", name, recs)
			}
			recs[0].Line, recs[1].Line = 2, 4
		}
		if len(header) != 0 {
			t.Errorf("%s: header problems %+v", name, header)
		}
		if len(recs) != 2 || recs[0].Line != 2 || recs[1].Line != 4 {
			t.Fatalf("%s: records %+v, want lines 2 and 4 (the blank line skipped)", name, recs)
		}
		u := recs[0].User
		if u.UPN != "anne@contoso.com" || u.DisplayName != "Anne" || u.Email != "anne@contoso.com" || u.Phone != "+1 4255551234" || !recs[0].Valid() {
			t.Errorf("%s: %+v", name, recs[0])
		}
	}
}

func TestUsersFileRules(t *testing.T) {
	data := "upn,display name,email,phone,notes\n" +
		"a@contoso.com,A,,'+44 2079460000,x\n" + // a neutralised phone from a listing
		"b@contoso.com,B,b@,+44 207946,x\n" +
		"A@CONTOSO.COM,,,,x\n" +
		"c@contoso.com,\"C\x01\",,+1 4255551234x12,x\n"
	recs, header := readAll(t, []byte(data), ',')
	if len(header) != 1 || header[0].Code != tokens.CodeCSVColumnUnknown || header[0].Column != "notes" {
		t.Errorf("header problems %+v, want one csv.column-unknown for notes", header)
	}
	codes := func(r FileRecord) string {
		var cs []string
		for _, p := range r.Problems {
			cs = append(cs, p.Column+":"+p.Code)
		}
		return strings.Join(cs, " ")
	}
	want := []string{
		"",
		"email:email.invalid",
		"upn:user.duplicate",
		"display name:name.invalid",
	}
	for i, w := range want {
		if got := codes(recs[i]); got != w {
			t.Errorf("line %d: problems %q, want %q", recs[i].Line, got, w)
		}
	}
	if recs[0].User.Phone != "+44 2079460000" {
		t.Errorf("phone %q: the listing's apostrophe must be undone", recs[0].User.Phone)
	}
	for _, msg := range []string{recs[1].Problems[0].Message, recs[3].Problems[0].Message} {
		if strings.Contains(msg, "b@") || strings.Contains(msg, "\x01") {
			t.Errorf("message %q echoes the value", msg)
		}
	}
	if _, header := readAll(t, []byte("upn,email\n"), ','); len(header) != 2 {
		t.Errorf("missing columns: %+v, want display name and phone named", header)
	}
}

// TestUsersFileOtherSeparator: a header read as one field because the file uses another
// separator names it and the flag, as tokens import does (csv.delimiter), instead of reporting
// every column missing.
func TestUsersFileOtherSeparator(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string
	}{
		{"UPN;Display Name;Email;Phone\r\nk@contoso.com;K;;\r\n",
			"the header is one field: the file seems to use ';' as separator (Excel does in many locales); pass --delimiter ';'"},
		{"upn\tdisplay name\temail\tphone\nk@contoso.com\tK\t\t\n",
			"the header is one field: the file seems to use tab as separator (Excel does in many locales); pass --delimiter tab"},
	} {
		recs, header := readAll(t, []byte(tc.text), ',')
		if len(recs) != 0 || len(header) != 1 || header[0].Code != tokens.CodeCSVDelimiter ||
			header[0].Line != 1 || header[0].Message != tc.want {
			t.Errorf("%q: records %+v, header problems %+v\nwant one csv.delimiter: %s", tc.text, recs, header, tc.want)
		}
	}
}
