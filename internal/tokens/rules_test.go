package tokens

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mfactl/mfactl/internal/ident"
)

const hdr = "upn,serial number,secret key,time interval,manufacturer,model\n"

// A valid 20-byte Base32 secret and a second one, for rows that must not trip other rules.
const (
	sec1 = "XZ3DGG4V37BZTTLXNUX4NABB4DNQHTCP"
	sec2 = "UKK6BPO6DE4ND675GQ7FUPSWT2DI4FDF"
)

func row(upn, serial, secret, interval string) string {
	return upn + "," + serial + "," + secret + "," + interval + ",Contoso,HardwareKey\n"
}

// want is the part of a Problem a rule test pins down exactly.
type want struct {
	Line     int
	Column   string
	Severity Severity
	Code     string
}

func (w want) String() string {
	return fmt.Sprintf("%d/%s/%s/%s", w.Line, w.Column, w.Severity, w.Code)
}

func e(line int, col, code string) want { return want{line, col, SeverityError, code} }
func w(line int, col, code string) want { return want{line, col, SeverityWarning, code} }

func summarize(ps []Problem) []want {
	out := []want{}
	for _, p := range ps {
		out = append(out, want{p.Line, p.Column, p.Severity, p.Code})
	}
	return out
}

func TestRules(t *testing.T) {
	utf16NoBOM := func(s string) string {
		var b bytes.Buffer
		for _, u := range utf16.Encode([]rune(s)) {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
		return b.String()
	}
	tests := []struct {
		name    string
		in      string
		opts    CSVOptions
		chk     CheckerOptions
		want    []want
		message string // a substring the first problem's message must contain
	}{
		{name: "valid", in: hdr + row("a@contoso.com", "1", sec1, "30") + row("b@contoso.com", "2", sec2, "60"), want: []want{}},
		{name: "empty file", in: "", want: []want{e(1, "", CodeCSVHeader)}},
		{name: "only blank lines", in: "\n\r\n\n", want: []want{e(1, "", CodeCSVHeader)}},
		{name: "missing column", in: "upn,serial number,secret key,manufacturer,model\n",
			want: []want{e(1, ColInterval, CodeCSVHeader)}, message: "required column"},
		{name: "two missing columns", in: "upn,serial number,secret key,time interval\n",
			want: []want{e(1, ColManufacturer, CodeCSVHeader), e(1, ColModel, CodeCSVHeader)}},
		{name: "duplicate column", in: "upn,serial number,secret key,time interval,manufacturer,model,Serial_Number\n",
			want: []want{e(1, ColSerial, CodeCSVHeader)}, message: "appears twice"},
		{name: "data row instead of header", in: row("a@contoso.com", "1", sec1, "30"),
			want: []want{e(1, "", CodeCSVHeader)}, message: "not the header"},
		{name: "header after blank lines", in: "\n\n" + hdr + row("a@contoso.com", "1", sec1, "45"),
			want: []want{e(4, ColInterval, CodeIntervalInvalid)}},
		{name: "semicolon", in: strings.ReplaceAll(hdr, ",", ";"),
			want: []want{e(1, "", CodeCSVDelimiter)}, message: "--delimiter ';'"},
		{name: "tab", in: strings.ReplaceAll(hdr, ",", "\t"),
			want: []want{e(1, "", CodeCSVDelimiter)}, message: "--delimiter tab"},
		{name: "comma file read with semicolon", in: hdr, opts: CSVOptions{Delimiter: ';'},
			want: []want{e(1, "", CodeCSVDelimiter)}, message: "--delimiter ','"},
		{name: "tab file with tab delimiter", in: strings.ReplaceAll(hdr+row("a@contoso.com", "1", sec1, "30"), ",", "\t"),
			opts: CSVOptions{Delimiter: '\t'}, want: []want{}},
		{name: "excel sep line", in: "sep=;\r\n" + strings.ReplaceAll(hdr+row("a@contoso.com", "1", sec1, "45"), ",", ";"),
			want: []want{e(3, ColInterval, CodeIntervalInvalid)}},
		{name: "columns", in: hdr + "a@contoso.com,1," + sec1 + ",30,Contoso\n",
			want: []want{e(2, "", CodeCSVColumns)}, message: "5 fields, the header has 6"},
		{name: "columns then fine", in: hdr + "a@contoso.com,1," + sec1 + ",30,Contoso,Key,extra\n" + row("b@contoso.com", "2", sec2, "30"),
			want: []want{e(2, "", CodeCSVColumns)}},
		{name: "whole row quoted", in: hdr + `"` + strings.TrimSuffix(row("a@contoso.com", "1", sec1, "30"), "\n") + "\"\n",
			want: []want{e(2, "", CodeCSVColumns)}, message: "one quoted cell"},
		{name: "bare quote", in: hdr + "a@con\"toso.com,1," + sec1 + ",30,C,M\n" + row("b@contoso.com", "2", sec2, "45"),
			want: []want{e(2, "", CodeCSVQuote), e(3, ColInterval, CodeIntervalInvalid)}},
		{name: "invalid utf-8", in: hdr + "a@contoso.com,1," + sec1 + ",30,M\xfcller,M\n",
			want: []want{e(2, ColManufacturer, CodeCSVEncoding)}, message: "not valid UTF-8"},
		{name: "invalid utf-8 in header", in: "upn,serial number,secret key,time interval,manufacturer,model,n\xf6tes\n",
			want: []want{e(1, "", CodeCSVEncoding), w(1, "", CodeCSVColumnUnknown)}},
		{name: "utf-16 without bom", in: utf16NoBOM(hdr), want: []want{e(1, "", CodeCSVEncoding)}, message: "UTF-16"},
		{name: "replacement character", in: hdr + "a@contoso.com,1," + sec1 + ",30,M\uFFFDller,M\n",
			want: []want{e(2, ColManufacturer, CodeCSVEncoding)}},
		{name: "unknown column", in: "upn,serial number,secret key,time interval,manufacturer,model,notes\n" +
			"a@contoso.com,1," + sec1 + ",30,C,M,desk 4\n", want: []want{w(1, "notes", CodeCSVColumnUnknown)}},
		{name: "unnamed column", in: "upn,serial number,secret key,time interval,manufacturer,model,\n" +
			"a@contoso.com,1," + sec1 + ",30,C,M,\n", want: []want{w(1, "", CodeCSVColumnUnknown)}},
		{name: "secret-like column name not echoed", in: "upn,serial number,secret key,time interval,manufacturer,model," + sec1 + "\n",
			want: []want{w(1, "", CodeCSVColumnUnknown)}, message: "header field 7"},
		{name: "blank and empty rows skipped", in: hdr + "\n,,,,,\n  , ,,,,\n" + row("a@contoso.com", "1", sec1, "45") + ",,,,,\n",
			want: []want{e(5, ColInterval, CodeIntervalInvalid)}},
		// A line break inside a field is a control character; the next row keeps its real line.
		{name: "line after multi-line quoted field", in: hdr + "a@contoso.com,1," + sec1 + ",30,\"Con\ntoso\",M\n" + row("b@contoso.com", "2", sec2, "45"),
			want:    []want{e(2, ColManufacturer, CodeManufacturerControl), e(4, ColInterval, CodeIntervalInvalid)},
			message: "contains U+000A LINE FEED, a control character"},
		{name: "escape in manufacturer", in: hdr + "a@contoso.com,1," + sec1 + ",30,\x1b[31mContoso,M\n",
			want: []want{e(2, ColManufacturer, CodeManufacturerControl)}, message: "contains U+001B ESCAPE, a control character"},
		{name: "bell in model", in: hdr + "a@contoso.com,1," + sec1 + ",30,Contoso,Key\a\n",
			want: []want{e(2, ColModel, CodeModelControl)}, message: "contains U+0007 BELL, a control character"},
		{name: "C1 CSI in model", in: hdr + "a@contoso.com,1," + sec1 + ",30,Contoso,Key\u009b2J\n",
			want: []want{e(2, ColModel, CodeModelControl)}, message: "U+009B CONTROL SEQUENCE INTRODUCER"},
		{name: "bidi override in model", in: hdr + "a@contoso.com,1," + sec1 + ",30,Contoso,Key\u202e\n",
			want: []want{e(2, ColModel, CodeModelInvisible)}, message: "contains U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control character"},
		{name: "zero width space in manufacturer", in: hdr + "a@contoso.com,1," + sec1 + ",30,Con\u200btoso,M\n",
			want: []want{e(2, ColManufacturer, CodeManufacturerInvisible)}, message: "U+200B ZERO WIDTH SPACE"},
		{name: "escape in upn", in: hdr + row("a\x1b@contoso.com", "1", sec1, "30"),
			want: []want{e(2, ColUPN, CodeUPNInvalid)}, message: "contains U+001B ESCAPE, a control character"},
		{name: "bidi override in upn", in: hdr + row("admin\u202eoc.evil@contoso.com", "1", sec1, "30"),
			want: []want{e(2, ColUPN, CodeUPNInvisible)}, message: "contains U+202E RIGHT-TO-LEFT OVERRIDE"},
		{name: "bom inside upn", in: hdr + row("ada\ufeff@contoso.com", "1", sec1, "30"),
			want: []want{e(2, ColUPN, CodeUPNInvisible)}, message: "U+FEFF ZERO WIDTH NO-BREAK SPACE"},
		{name: "word joiner in upn", in: hdr + row("ada\u2060@contoso.com", "1", sec1, "30"),
			want: []want{e(2, ColUPN, CodeUPNInvisible)}, message: "U+2060 WORD JOINER"},
		{name: "private use in upn", in: hdr + row("ada\ue000@contoso.com", "1", sec1, "30"),
			want: []want{e(2, ColUPN, CodeUPNInvisible)}, message: "a private-use character"},
		{name: "space in upn", in: hdr + row("ada lovelace@contoso.com", "1", sec1, "30"),
			want: []want{e(2, ColUPN, CodeUPNInvalid)}, message: "contains a space"},
		{name: "mixed script upn", in: hdr + row("p\u0430ypal@contoso.com", "1", sec1, "30"),
			want: []want{w(2, ColUPN, CodeUPNMixedScript)}, message: "mixes Latin and Cyrillic letters in one label (U+0430 is Cyrillic)"},
		{name: "cyrillic upn", in: hdr + row("\u0430\u0434\u0430@contoso.com", "1", sec1, "30"), want: []want{}},
		{name: "zero width space in serial", in: hdr + row("a@contoso.com", "GALT\u200b1", sec1, "30"),
			want: []want{e(2, ColSerial, CodeSerialInvisible)}, message: "contains U+200B ZERO WIDTH SPACE"},
		{name: "escape in serial", in: hdr + row("a@contoso.com", "GALT\x1b1", sec1, "30"),
			want: []want{e(2, ColSerial, CodeSerialControl)}, message: "contains U+001B ESCAPE"},
		// NFD and NFC spellings are one serial and one user.
		{name: "nfd serial duplicates nfc", in: hdr + row("a@contoso.com", "S\u00e91", sec1, "30") + row("b@contoso.com", "Se\u03011", sec2, "30"),
			want: []want{e(3, ColSerial, CodeSerialDuplicate)}},
		{name: "nfd upn counts with nfc", chk: CheckerOptions{MaxMethods: 1},
			in:   hdr + row("ren\u00e9@contoso.com", "1", sec1, "30") + row("rene\u0301@contoso.com", "2", sec2, "30"),
			want: []want{e(3, ColUPN, CodeUserLimit)}},
		{name: "crlf", in: strings.ReplaceAll(hdr+row("", "1", sec1, "30"), "\n", "\r\n"),
			want: []want{e(2, ColUPN, CodeUPNEmpty)}},

		{name: "upn empty", in: hdr + row(" ", "1", sec1, "30"), want: []want{e(2, ColUPN, CodeUPNEmpty)}},
		{name: "upn no at", in: hdr + row("alice.contoso.com", "1", sec1, "30"), want: []want{e(2, ColUPN, CodeUPNInvalid)}},
		{name: "upn two at", in: hdr + row("a@b@contoso.com", "1", sec1, "30"), want: []want{e(2, ColUPN, CodeUPNInvalid)}},
		{name: "upn space", in: hdr + row("al ice@contoso.com", "1", sec1, "30"), want: []want{e(2, ColUPN, CodeUPNInvalid)}},
		{name: "upn no dot", in: hdr + row("alice@contoso", "1", sec1, "30"), want: []want{e(2, ColUPN, CodeUPNInvalid)}},
		{name: "upn empty label", in: hdr + row("alice@contoso..com", "1", sec1, "30"), want: []want{e(2, ColUPN, CodeUPNInvalid)}},
		{name: "upn no local", in: hdr + row("@contoso.com", "1", sec1, "30"), want: []want{e(2, ColUPN, CodeUPNInvalid)}},

		{name: "serial empty", in: hdr + row("a@contoso.com", "", sec1, "30"), want: []want{e(2, ColSerial, CodeSerialEmpty)}},
		{name: "serial excel", in: hdr + row("a@contoso.com", "1.23457E+06", sec1, "30"), want: []want{e(2, ColSerial, CodeSerialExcel)}},
		{name: "serial excel integer mantissa", in: hdr + row("a@contoso.com", "1E+11", sec1, "30"), want: []want{e(2, ColSerial, CodeSerialExcel)}},
		{name: "serial excel comma decimal", in: strings.ReplaceAll(hdr+row("a@contoso.com", "X", sec1, "30"), ",", ";") + "b@contoso.com;1,23457E+06;" + sec2 + ";30;C;M\n",
			opts: CSVOptions{Delimiter: ';'}, want: []want{e(3, ColSerial, CodeSerialExcel)}},
		{name: "serial float", in: hdr + row("a@contoso.com", "1000001.0", sec1, "30"), want: []want{e(2, ColSerial, CodeSerialExcel)}},
		{name: "serial alphanumeric kept", in: hdr + row("a@contoso.com", "12E5", sec1, "30") + row("b@contoso.com", "GALT1.5", sec2, "30"), want: []want{}},
		{name: "serial duplicate ignoring case", in: hdr + row("a@contoso.com", "abc1", sec1, "30") + row("b@contoso.com", "x", sec2, "30") +
			row("c@contoso.com", "ABC1", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "30") + row("d@contoso.com", "Abc1", "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK", "30"),
			want: []want{e(4, ColSerial, CodeSerialDuplicate), e(5, ColSerial, CodeSerialDuplicate)}, message: "line 2"},

		{name: "secret empty", in: hdr + row("a@contoso.com", "1", "", "30"), want: []want{e(2, ColSecret, CodeSecretEmpty)}},
		{name: "secret only padding", in: hdr + row("a@contoso.com", "1", "====", "30"), want: []want{e(2, ColSecret, CodeSecretEmpty)}},
		{name: "secret hex", in: hdr + row("a@contoso.com", "1", "1234567890abcdef1234567890abcdef", "30"),
			want: []want{e(2, ColSecret, CodeSecretHex)}, message: "--secret-encoding hex"},
		{name: "secret base32", in: hdr + row("a@contoso.com", "1", "XZ3DGG4V37BZTTLXNUX4NABB4DNQHT!Q", "30"),
			want: []want{e(2, ColSecret, CodeSecretBase32)}, message: "character 31"},
		{name: "secret base32 with 0", in: hdr + row("a@contoso.com", "1", "XZ3DGG4V37BZTTLXNUX4NABB4DNQHT0Q", "30"),
			want: []want{e(2, ColSecret, CodeSecretBase32)}},
		{name: "secret length", in: hdr + row("a@contoso.com", "1", sec1[:25], "30"), want: []want{e(2, ColSecret, CodeSecretLength)}},
		{name: "secret length 3", in: hdr + row("a@contoso.com", "1", sec1[:27], "30"), want: []want{e(2, ColSecret, CodeSecretLength)}},
		{name: "secret too long", in: hdr + row("a@contoso.com", "1", strings.Repeat(sec1, 4)+"AAAAAAAA", "30"),
			want: []want{e(2, ColSecret, CodeSecretTooLong)}},
		{name: "secret 128 ok", in: hdr + row("a@contoso.com", "1", strings.Repeat(sec1, 4), "30"), want: []want{}},
		{name: "secret short", in: hdr + row("a@contoso.com", "1", "UD2OU7MRJFO7SK52", "30"), want: []want{w(2, ColSecret, CodeSecretShort)}},
		{name: "secret normalised", in: hdr + row("a@contoso.com", "1", "xz3d gg4v-37bz ttlx nux4 nabb 4dnq htcp====", "30"), want: []want{}},
		{name: "secret looks hex", in: hdr + row("a@contoso.com", "1", "ABCDEF234567ABCDEF234567ABCDEF23", "30"),
			want: []want{w(2, ColSecret, CodeSecretLooksHex)}},
		{name: "secret reused", in: hdr + row("a@contoso.com", "1", sec1, "30") + row("b@contoso.com", "2", strings.ToLower(sec1), "30"),
			want: []want{w(3, ColSecret, CodeSecretReused)}, message: "line 2"},
		{name: "hex converted", in: hdr + row("a@contoso.com", "1", "1234567890abcdef1234567890abcdef", "30"),
			opts: CSVOptions{SecretEncoding: EncodingHex}, want: []want{}},
		{name: "hex with separators", in: hdr + row("a@contoso.com", "1", "0x12:34:56:78:90:ab:cd:ef 12 34 56 78 90 ab cd ef", "30"),
			opts: CSVOptions{SecretEncoding: EncodingHex}, want: []want{}},
		{name: "hex not hex", in: hdr + row("a@contoso.com", "1", sec1, "30"),
			opts: CSVOptions{SecretEncoding: EncodingHex}, want: []want{e(2, ColSecret, CodeSecretInvalidHex)}, message: "drop --secret-encoding hex"},
		{name: "hex odd", in: hdr + row("a@contoso.com", "1", "1234567890abcdef1234567890abcde", "30"),
			opts: CSVOptions{SecretEncoding: EncodingHex}, want: []want{e(2, ColSecret, CodeSecretInvalidHex)}},
		{name: "hex empty", in: hdr + row("a@contoso.com", "1", "", "30"),
			opts: CSVOptions{SecretEncoding: EncodingHex}, want: []want{e(2, ColSecret, CodeSecretEmpty)}},
		{name: "hex short", in: hdr + row("a@contoso.com", "1", "00112233445566778899", "30"),
			opts: CSVOptions{SecretEncoding: EncodingHex}, want: []want{w(2, ColSecret, CodeSecretShort)}},
		{name: "hex too long", in: hdr + row("a@contoso.com", "1", strings.Repeat("ab", 81), "30"),
			opts: CSVOptions{SecretEncoding: EncodingHex}, want: []want{e(2, ColSecret, CodeSecretTooLong)}},
		{name: "hex 80 bytes ok", in: hdr + row("a@contoso.com", "1", strings.Repeat("ab", 80), "30"),
			opts: CSVOptions{SecretEncoding: EncodingHex}, want: []want{}},

		{name: "interval 45", in: hdr + row("a@contoso.com", "1", sec1, "45"), want: []want{e(2, ColInterval, CodeIntervalInvalid)}, message: "45 is not allowed"},
		{name: "interval empty", in: hdr + row("a@contoso.com", "1", sec1, ""), want: []want{e(2, ColInterval, CodeIntervalInvalid)}},
		{name: "interval text", in: hdr + row("a@contoso.com", "1", sec1, "30s"), want: []want{e(2, ColInterval, CodeIntervalInvalid)}},
		{name: "interval decimal", in: hdr + row("a@contoso.com", "1", sec1, "30.0"), want: []want{e(2, ColInterval, CodeIntervalInvalid)}},
		{name: "manufacturer and model empty", in: hdr + "a@contoso.com,1," + sec1 + ",30,,\n",
			want: []want{w(2, ColManufacturer, CodeManufacturerEmpty), w(2, ColModel, CodeModelEmpty)}},

		{name: "user limit", in: hdr + row("a@contoso.com", "1", sec1, "30") + row("A@Contoso.com", "2", sec2, "30"),
			chk: CheckerOptions{MaxMethods: 1}, want: []want{e(3, ColUPN, CodeUserLimit)}},
		{name: "user limit counts the directory", in: hdr + row("a@contoso.com", "1", sec1, "30") + row("a@contoso.com", "2", sec2, "30"),
			chk: CheckerOptions{ExistingMethods: func(upn string) int {
				if upn == "a@contoso.com" {
					return 4
				}
				return 0
			}}, want: []want{e(3, ColUPN, CodeUserLimit)}, message: "6 OATH methods"},
		{name: "all bad rows reported", in: hdr + row("", "1", sec1, "30") + row("b@contoso.com", "", sec2, "30") + row("c@contoso.com", "3", "", "30"),
			want: []want{e(2, ColUPN, CodeUPNEmpty), e(3, ColSerial, CodeSerialEmpty), e(4, ColSecret, CodeSecretEmpty)}},
		{name: "every rule of one row", in: hdr + "alice,1.2E+06,12345678,31,,\n",
			want: []want{e(2, ColUPN, CodeUPNInvalid), e(2, ColSerial, CodeSerialExcel), e(2, ColSecret, CodeSecretHex),
				e(2, ColInterval, CodeIntervalInvalid), w(2, ColManufacturer, CodeManufacturerEmpty), w(2, ColModel, CodeModelEmpty)}},
	}
	for _, tt := range tests {
		for _, reuse := range []bool{false, true} {
			tt.opts.ReuseRecord = reuse
			t.Run(fmt.Sprintf("%s/reuse=%v", tt.name, reuse), func(t *testing.T) {
				checkRules(t, tt.in, tt.opts, tt.chk, tt.want, tt.message)
			})
		}
	}
}

// checkRules reads in with opts through a Checker and compares every problem with want.
func checkRules(t *testing.T, in string, opts CSVOptions, chk CheckerOptions, want []want, message string) {
	t.Helper()
	cr, err := NewCSVReader(strings.NewReader(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	ps := cr.HeaderProblems()
	ch := NewChecker(chk)
	for {
		rec, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ch.Check(rec)
		ps = append(ps, rec.Problems...)
	}
	for _, p := range ps {
		// A message names a refused character by code point; it never prints one.
		if d, bad := ident.CheckText(p.Message); bad {
			t.Errorf("message of %s contains %s", p.Code, d)
		}
	}
	if got := summarize(ps); !slices.Equal(got, want) {
		t.Errorf("problems = %v, want %v\n%s", got, want, problemList(ps))
	}
	if message != "" && (len(ps) == 0 || !strings.Contains(ps[0].Message, message)) {
		t.Errorf("first message does not contain %q:\n%s", message, problemList(ps))
	}
	for _, p := range ps {
		if strings.ContainsAny(p.Message, "\n\r") || p.Message != strings.TrimSpace(p.Message) || strings.HasSuffix(p.Message, ".") {
			t.Errorf("message %q is not one clean line", p.Message)
		}
		// Diagnostics print the column before the message ("7: model: empty; ...").
		if p.Column != "" && strings.HasPrefix(p.Message, p.Column+":") {
			t.Errorf("message %q repeats its column %q", p.Message, p.Column)
		}
	}
}

func TestReuseRecord(t *testing.T) {
	in := hdr + row("a@contoso.com", "1", sec1, "45") + row("b@contoso.com", "2", sec2, "30")
	cr, err := NewCSVReader(strings.NewReader(in), CSVOptions{ReuseRecord: true})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := cr.Next()
	if len(first.Problems) != 1 || first.Fields[0] != "a@contoso.com" {
		t.Fatalf("first record: %q %v", first.Fields, first.Problems)
	}
	upn := first.Token.UPN
	second, _ := cr.Next()
	if second != first {
		t.Error("ReuseRecord returned a new record")
	}
	if len(second.Problems) != 0 || second.Fields[0] != "b@contoso.com" || Base32(second.Token.Secret) != sec2 || second.Line != 3 {
		t.Errorf("second record not overwritten cleanly: %q %v line %d", second.Fields, second.Problems, second.Line)
	}
	if upn != "a@contoso.com" {
		t.Errorf("a string from the first record changed to %q", upn)
	}
}

func TestRecordToken(t *testing.T) {
	in := "\ufeffUPN,Serial_Number,SECRET-KEY,TimeInterval,Manufacturer,Model\r\n" +
		" Alice@Contoso.com , 0012345 ,xz3d gg4v 37bz ttlx nux4 nabb 4dnq htcp==,60, Contoso , HW \r\n"
	cr, err := NewCSVReader(strings.NewReader(in), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ps := cr.HeaderProblems(); len(ps) != 0 {
		t.Fatalf("header problems: %v", ps)
	}
	rec, err := cr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Valid() || rec.Line != 2 {
		t.Fatalf("record = line %d valid %v: %v", rec.Line, rec.Valid(), rec.Problems)
	}
	tok := rec.Token
	if tok.UPN != "Alice@Contoso.com" || tok.Serial != "0012345" || tok.Period != 60 || tok.Digits != 6 ||
		tok.Hash != HashSHA1 || tok.Manufacturer != "Contoso" || tok.Model != "HW" || Base32(tok.Secret) != sec1 {
		t.Errorf("token = %+v", tok)
	}
	if len(rec.Fields) != 6 || rec.Fields[1] != " 0012345 " {
		t.Errorf("fields not kept as read: %q", rec.Fields)
	}
	if _, err := cr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("second Next = %v, want io.EOF", err)
	}
}

// TestRecordTokenNFC checks that every text field of a record is in NFC, whichever form the
// file used, while Fields keep the row as read (for --rejected).
func TestRecordTokenNFC(t *testing.T) {
	in := hdr + "rene\u0301@contoso.com,Se\u03011," + sec1 + ",30,Societe\u0301,Mode\u0300le\n"
	cr, err := NewCSVReader(strings.NewReader(in), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cr.Next()
	if err != nil {
		t.Fatal(err)
	}
	tok := rec.Token
	if tok.UPN != "ren\u00e9@contoso.com" || tok.Serial != "S\u00e91" || tok.Manufacturer != "Societ\u00e9" || tok.Model != "Mod\u00e8le" {
		t.Errorf("token = %+q %+q %+q %+q, want NFC", tok.UPN, tok.Serial, tok.Manufacturer, tok.Model)
	}
	if rec.Fields[0] != "rene\u0301@contoso.com" {
		t.Errorf("fields not kept as read: %+q", rec.Fields[0])
	}
}

// TestRecordFieldsNotReused checks that the fields of an earlier record survive later reads
// (the reader reuses its buffers).
func TestRecordFieldsNotReused(t *testing.T) {
	cr, err := NewCSVReader(strings.NewReader(hdr+row("a@contoso.com", "1", sec1, "30")+row("b@contoso.com", "2", sec2, "30")), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := cr.Next()
	second, _ := cr.Next()
	if first.Fields[0] != "a@contoso.com" || second.Fields[0] != "b@contoso.com" {
		t.Errorf("fields = %q, %q", first.Fields, second.Fields)
	}
}

func TestUnusableHeaderStopsReading(t *testing.T) {
	cr, err := NewCSVReader(strings.NewReader("upn;serial number\n"+row("a@contoso.com", "1", sec1, "30")), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := cr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next = %v, %v; want io.EOF", rec, err)
	}
}

func TestUTF16(t *testing.T) {
	text := hdr + row("a@contoso.com", "1", sec1, "45")
	for _, order := range []string{"le", "be"} {
		var b bytes.Buffer
		if order == "le" {
			b.Write([]byte{0xFF, 0xFE})
		} else {
			b.Write([]byte{0xFE, 0xFF})
		}
		for _, u := range utf16.Encode([]rune(strings.ReplaceAll(text, "\n", "\r\n"))) {
			if order == "le" {
				b.Write([]byte{byte(u), byte(u >> 8)})
			} else {
				b.Write([]byte{byte(u >> 8), byte(u)})
			}
		}
		ps, _ := validateAll(t, &b, CSVOptions{})
		if got := summarize(ps); !slices.Equal(got, []want{e(2, ColInterval, CodeIntervalInvalid)}) {
			t.Errorf("%s: problems = %v", order, got)
		}
	}
}

func TestRecordTooLong(t *testing.T) {
	in := hdr + row("a@contoso.com", "1", sec1, "30") + "b@contoso.com,\"" + strings.Repeat("x\n", maxRecordBytes) + "\n"
	ps, recs := validateAll(t, strings.NewReader(in), CSVOptions{})
	if got := summarize(ps); !slices.Equal(got, []want{e(3, "", CodeCSVQuote)}) {
		t.Errorf("problems = %v", got)
	}
	if len(recs) != 2 {
		t.Errorf("records = %d, want 2", len(recs))
	}
}

func TestNewCSVReaderOptions(t *testing.T) {
	for _, opts := range []CSVOptions{{Delimiter: '"'}, {Delimiter: '\n'}, {SecretEncoding: "base64"}} {
		if _, err := NewCSVReader(strings.NewReader(hdr), opts); err == nil {
			t.Errorf("NewCSVReader(%+v) succeeded", opts)
		}
	}
}

func TestParseDelimiter(t *testing.T) {
	for in, want := range map[string]rune{",": ',', ";": ';', "tab": '\t', `\t`: '\t', "\t": '\t', "TAB": '\t', "|": '|', "semicolon": ';'} {
		if got, err := ParseDelimiter(in); err != nil || got != want {
			t.Errorf("ParseDelimiter(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ";;", `"`, "\n"} {
		if _, err := ParseDelimiter(in); err == nil {
			t.Errorf("ParseDelimiter(%q) succeeded", in)
		}
	}
}

func TestNormalizeBase32(t *testing.T) {
	for in, want := range map[string]string{
		sec1:                      sec1,
		"jbsw y3dp-ehpk 3pxp====": "JBSWY3DPEHPK3PXP",
		"JBSW\tY3DP\u00a0EHPK":    "JBSWY3DPEHPK",
		"AB=CD":                   "AB=CD", // padding only at the end; the rules reject the rest
		"":                        "",
	} {
		if got := NormalizeBase32(in); got != want {
			t.Errorf("NormalizeBase32(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Base32([]byte("Hello!\xde\xad\xbe\xef")); got != "JBSWY3DPEHPK3PXP" {
		t.Errorf("Base32 = %q", got)
	}
}

func TestCheckKey(t *testing.T) {
	good := KeyFacts{Kind: KindTOTP, Hash: "SHA1", Digits: 6, Period: 30, Secret: make([]byte, 20)}
	tests := []struct {
		name  string
		rules Rules
		mod   func(*KeyFacts)
		want  []want
	}{
		{"valid", Rules{}, func(*KeyFacts) {}, []want{}},
		{"hash spelling", Rules{}, func(k *KeyFacts) { k.Hash = "hmac-sha-1" }, []want{}},
		{"hash absent", Rules{}, func(k *KeyFacts) { k.Hash = "" }, []want{}},
		{"hotp", Rules{}, func(k *KeyFacts) { k.Kind = KindHOTP }, []want{e(0, "algorithm", CodeAlgorithmUnsupported)}},
		{"ocra", Rules{}, func(k *KeyFacts) { k.Kind = KindOCRA }, []want{e(0, "algorithm", CodeAlgorithmUnsupported)}},
		{"8 digits", Rules{}, func(k *KeyFacts) { k.Digits = 8 }, []want{e(0, "digits", CodeDigitsUnsupported)}},
		{"sha256", Rules{}, func(k *KeyFacts) { k.Hash = "SHA256" }, []want{e(0, "hash", CodeHashUnsupported)}},
		{"sha256 allowed", Rules{AllowSHA256: true}, func(k *KeyFacts) { k.Hash = "SHA-256" }, []want{}},
		{"sha512 never", Rules{AllowSHA256: true}, func(k *KeyFacts) { k.Hash = "SHA512" }, []want{e(0, "hash", CodeHashUnsupported)}},
		{"interval", Rules{}, func(k *KeyFacts) { k.Period = 45 }, []want{e(0, ColInterval, CodeIntervalInvalid)}},
		{"interval 60", Rules{}, func(k *KeyFacts) { k.Period = 60 }, []want{}},
		{"empty secret", Rules{}, func(k *KeyFacts) { k.Secret = nil }, []want{e(0, ColSecret, CodeSecretEmpty)}},
		{"long secret", Rules{}, func(k *KeyFacts) { k.Secret = make([]byte, 81) }, []want{e(0, ColSecret, CodeSecretTooLong)}},
		{"80 bytes", Rules{}, func(k *KeyFacts) { k.Secret = make([]byte, 80) }, []want{}},
		{"short secret", Rules{}, func(k *KeyFacts) { k.Secret = make([]byte, 10) }, []want{w(0, ColSecret, CodeSecretShort)}},
		{"hotp 8 digits sha256", Rules{}, func(k *KeyFacts) { k.Kind, k.Digits, k.Hash = KindHOTP, 8, "SHA256" },
			[]want{e(0, "algorithm", CodeAlgorithmUnsupported), e(0, "digits", CodeDigitsUnsupported), e(0, "hash", CodeHashUnsupported)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := good
			tt.mod(&k)
			if got := summarize(tt.rules.CheckKey(k)); !slices.Equal(got, tt.want) {
				t.Errorf("CheckKey = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDecodeCanonicalBase32 checks the fast decoder against encoding/base32 for every length
// and that it declines what the general path must explain.
func TestDecodeCanonicalBase32(t *testing.T) {
	for n := 1; n <= 80; n++ {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(i*37 + n)
		}
		s := Base32(raw)
		got, _, ok := decodeCanonicalBase32(nil, s)
		if Base32Len(n) > MaxSecretBase32 {
			if ok {
				t.Errorf("%d bytes: accepted a secret longer than %d characters", n, MaxSecretBase32)
			}
			continue
		}
		if !ok || !bytes.Equal(got, raw) {
			t.Errorf("%d bytes: decoded %x, %v; want %x", n, got, ok, raw)
		}
	}
	for _, s := range []string{"", "A", "ABC", "ABCDEF", "abcdefgh", "ABCD EFG", "ABCDEFG=", "ABCDEFG0"} {
		if _, _, ok := decodeCanonicalBase32(nil, s); ok {
			t.Errorf("decodeCanonicalBase32(%q) accepted", s)
		}
	}
	if _, hexish, _ := decodeCanonicalBase32(nil, "ABCDEF234567ABCD"); !hexish {
		t.Error("hex-only text not reported")
	}
	if _, hexish, _ := decodeCanonicalBase32(nil, "ABCDEF234567ABCG"); hexish {
		t.Error("G reported as hex")
	}
}

func TestEncodingDefect(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "plain ascii text, long enough": false, "Müller GmbH and Co": false,
		"0123456\x00abcdefgh": true, "abcdefghijklmno\xff": true, "abcdefgh\xc3": true, "ab\uFFFDcd": true,
		"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x01": false,
	} {
		if got := encodingDefect(s) != ""; got != want {
			t.Errorf("encodingDefect(%q) = %v, want %v", s, got, want)
		}
	}
}
