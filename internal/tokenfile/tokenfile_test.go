package tokenfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/mfactl/mfactl/internal/csvdialect"
	"github.com/mfactl/mfactl/internal/pskc"
	"github.com/mfactl/mfactl/internal/tokens"
)

// The secret of every test key: "12345678901234567890" base64, the RFC 4226 test secret.
const testSecretB64 = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="

var testSecret = []byte("12345678901234567890")

// keyPackage is one plaintext KeyPackage; attrs are inserted verbatim so tests can drop or
// change one element at a time.
type keyPackage struct {
	serial, user, algorithm, suite, digits, interval, secret string
}

func (k keyPackage) xml() string {
	var b strings.Builder
	b.WriteString("<KeyPackage><DeviceInfo><Manufacturer>Feitian</Manufacturer>")
	if k.serial != "" {
		fmt.Fprintf(&b, "<SerialNo>%s</SerialNo>", k.serial)
	}
	b.WriteString("<Model>c200</Model></DeviceInfo>")
	alg := k.algorithm
	if alg == "" {
		alg = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
	}
	id := ""
	if k.serial != "" {
		id = ` Id="K` + k.serial + `"`
	}
	fmt.Fprintf(&b, `<Key%s Algorithm="%s"><AlgorithmParameters>`, id, alg)
	if k.suite != "" {
		fmt.Fprintf(&b, "<Suite>%s</Suite>", k.suite)
	}
	if k.digits != "-" {
		d := k.digits
		if d == "" {
			d = "6"
		}
		fmt.Fprintf(&b, `<ResponseFormat Length="%s" Encoding="DECIMAL"/>`, d)
	}
	b.WriteString("</AlgorithmParameters><Data>")
	secret := k.secret
	if secret == "" {
		secret = testSecretB64
	}
	if secret != "-" {
		fmt.Fprintf(&b, "<Secret><PlainValue>%s</PlainValue></Secret>", secret)
	}
	if k.interval != "-" {
		iv := k.interval
		if iv == "" {
			iv = "30"
		}
		fmt.Fprintf(&b, "<TimeInterval><PlainValue>%s</PlainValue></TimeInterval>", iv)
	}
	b.WriteString("</Data>")
	if k.user != "" {
		fmt.Fprintf(&b, "<UserId>%s</UserId>", k.user)
	}
	b.WriteString("</Key></KeyPackage>\n")
	return b.String()
}

func container(pkgs ...keyPackage) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">` + "\n")
	for _, p := range pkgs {
		b.WriteString(p.xml())
	}
	b.WriteString("</KeyContainer>\n")
	return b.String()
}

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func pskcOpts() Options {
	return Options{Format: FormatAuto, PSKC: pskc.Options{Now: now}}
}

// readAll reads a file the way validate does: file problems, records, late file problems.
func readAll(t *testing.T, doc string, opts Options) (*File, []*tokens.Record, error) {
	t.Helper()
	f, err := Open(strings.NewReader(doc), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	var recs []*tokens.Record
	for {
		rec, err := f.Next()
		if err == io.EOF {
			return f, recs, nil
		}
		if err != nil {
			return f, recs, err
		}
		recs = append(recs, rec)
	}
}

// codes lists "severity code package serial line" for each problem, to compare exactly.
func codes(ps []tokens.Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s %d %s %d", p.Severity, p.Code, p.Package, p.Serial, p.Line))
	}
	return out
}

func wantCodes(t *testing.T, what string, got []tokens.Problem, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if g := codes(got); !slices.Equal(g, want) {
		t.Errorf("%s problems:\n got %q\nwant %q", what, g, want)
	}
}

func TestPSKCValidKeyBecomesToken(t *testing.T) {
	doc := container(keyPackage{serial: "1000001", user: " alice@contoso.com ", suite: "HMAC-SHA1", interval: "60"})
	f, recs, err := readAll(t, doc, pskcOpts())
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != FormatPSKC {
		t.Errorf("format %q, want pskc", f.Format)
	}
	wantCodes(t, "file", f.Problems)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	rec := recs[0]
	want := tokens.Token{UPN: "alice@contoso.com", Serial: "1000001", Secret: testSecret, Period: 60, Digits: 6,
		Hash: tokens.HashSHA1, Manufacturer: "Feitian", Model: "c200"}
	if got := rec.Token; got.UPN != want.UPN || got.Serial != want.Serial || !bytes.Equal(got.Secret, want.Secret) ||
		got.Period != want.Period || got.Digits != want.Digits || got.Hash != want.Hash ||
		got.Manufacturer != want.Manufacturer || got.Model != want.Model {
		t.Errorf("token %+v, want %+v", withoutSecret(got), withoutSecret(want))
	}
	if rec.Line != 3 {
		t.Errorf("line %d, want 3 (the KeyPackage)", rec.Line)
	}
	// The RFC 4226 secret is ASCII digits: the reader warns, and only once per key.
	wantCodes(t, "record", rec.Problems, "warning pskc.secret-looks-hex 1 1000001 3")
	if !rec.Valid() {
		t.Error("record not valid")
	}
}

func withoutSecret(t tokens.Token) tokens.Token { t.Secret = nil; return t }

func TestPSKCTokenRules(t *testing.T) {
	tests := []struct {
		name  string
		pkg   keyPackage
		rules tokens.Rules
		want  []string // codes of the record's problems besides pskc.secret-looks-hex
	}{
		{"hotp 8 digits", keyPackage{serial: "S", suite: "SHA1", digits: "8", algorithm: "urn:ietf:params:xml:ns:keyprov:pskc:hotp"},
			tokens.Rules{}, []string{"error algorithm.unsupported", "error digits.unsupported"}},
		{"ocra", keyPackage{serial: "S", digits: "6", algorithm: "urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1:HOTP-SHA1-6:QN08"},
			tokens.Rules{}, []string{"error algorithm.unsupported"}},
		{"sha256", keyPackage{serial: "S", suite: "HMAC-SHA256"}, tokens.Rules{}, []string{"error hash.unsupported"}},
		{"sha256 allowed", keyPackage{serial: "S", suite: "HMAC-SHA256"}, tokens.Rules{AllowSHA256: true}, nil},
		{"sha512 never", keyPackage{serial: "S", suite: "SHA512"}, tokens.Rules{AllowSHA256: true}, []string{"error hash.unsupported"}},
		{"hash defaulted", keyPackage{serial: "S"}, tokens.Rules{}, []string{"warning pskc.hash-defaulted"}},
		{"interval 45", keyPackage{serial: "S", suite: "SHA1", interval: "45"}, tokens.Rules{}, []string{"error interval.invalid"}},
		{"interval absent", keyPackage{serial: "S", suite: "SHA1", interval: "-"}, tokens.Rules{}, []string{"warning pskc.interval-defaulted"}},
		{"digits absent", keyPackage{serial: "S", suite: "SHA1", digits: "-"}, tokens.Rules{}, []string{"error digits.unsupported"}},
		{"no serial", keyPackage{suite: "SHA1"}, tokens.Rules{}, []string{"error serial.empty"}},
		{"no secret", keyPackage{serial: "S", suite: "SHA1", secret: "-"}, tokens.Rules{}, []string{"error secret.empty"}},
		{"short secret", keyPackage{serial: "S", suite: "SHA1", secret: "MTIzNDU2Nzg5MA=="}, tokens.Rules{}, []string{"warning pskc.secret-short"}},
		{"long secret", keyPackage{serial: "S", suite: "SHA1", secret: strings.Repeat("QUFB", 30)}, tokens.Rules{}, []string{"error secret.too-long", "warning pskc.secret-looks-base32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := pskcOpts()
			opts.Rules = tt.rules
			_, recs, err := readAll(t, container(tt.pkg), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			got := []string{}
			for _, p := range recs[0].Problems {
				if p.Code == "pskc.secret-looks-hex" {
					continue
				}
				if p.Line != 3 || p.Package != 1 || p.Serial != tt.pkg.serial {
					t.Errorf("%s at line %d package %d serial %q, want 3, 1, %q", p.Code, p.Line, p.Package, p.Serial, tt.pkg.serial)
				}
				if strings.Contains(p.Message, "1234567890") || strings.Contains(p.Message, testSecretB64) {
					t.Errorf("%s message shows the secret: %q", p.Code, p.Message)
				}
				got = append(got, string(p.Severity)+" "+p.Code)
			}
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems %q, want %q", got, want)
			}
		})
	}
}

func TestPSKCUserIDOnlyWhenUPN(t *testing.T) {
	for user, want := range map[string]string{
		"bob@contoso.com":                "bob@contoso.com",
		"bob":                            "",
		"CN=Bob Smith,OU=Users,DC=corp":  "",
		"bob@localhost":                  "",
		"":                               "",
		"Bob.Smith@sub.contoso.example ": "Bob.Smith@sub.contoso.example",
	} {
		_, recs, err := readAll(t, container(keyPackage{serial: "S", suite: "SHA1", user: user}), pskcOpts())
		if err != nil || len(recs) != 1 {
			t.Fatalf("%q: %d records, %v", user, len(recs), err)
		}
		if recs[0].Token.UPN != want {
			t.Errorf("UserId %q gave UPN %q, want %q", user, recs[0].Token.UPN, want)
		}
	}
}

func TestPSKCRequireUPNAndMap(t *testing.T) {
	doc := container(keyPackage{serial: "S1", suite: "SHA1"}, keyPackage{serial: "s2", suite: "SHA1", user: "old@contoso.com"},
		keyPackage{serial: "S3", suite: "SHA1"})
	m, err := ReadUPNMap(strings.NewReader("\uFEFFSerial_Number,UPN,note\nS2,new@contoso.com,x\nS9,other@contoso.com,\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := pskcOpts()
	opts.RequireUPN = true
	opts.UPNs = m
	_, recs, err := readAll(t, doc, opts)
	if err != nil || len(recs) != 3 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if got := []string{recs[0].Token.UPN, recs[1].Token.UPN, recs[2].Token.UPN}; !slices.Equal(got, []string{"", "new@contoso.com", ""}) {
		t.Errorf("UPNs %q", got)
	}
	wantCodes(t, "record 1", recs[0].Problems, "warning pskc.secret-looks-hex 1 S1 3", "error upn.empty 1 S1 3")
	wantCodes(t, "record 2", recs[1].Problems, "warning pskc.secret-looks-hex 2 s2 4", "warning secret.reused 2 s2 4")
	if m.Len() != 2 || m.Unused() != 1 {
		t.Errorf("map len %d unused %d, want 2 and 1", m.Len(), m.Unused())
	}
}

func TestReadUPNMapErrors(t *testing.T) {
	tests := map[string]string{
		"":                              "empty: want a header with serial number and upn columns",
		"serial,user\n1,a@b.com\n":      "line 1: the header needs the columns serial number and upn",
		"serial number,upn\n1,nobody\n": "line 2: upn: not of the form local@domain (no @)",
		"serial number,upn\n,a@b.com\n": "line 2: serial number: required",
		"upn,serial number\na@b.com,1\nc@b.com,1\n": "line 3: serial number: serial 1 is already mapped to another UPN on line 2",
		"serial number,upn\n1\n":                    "line 2: 1 fields, fewer than the header's 2",
		"serial number,upn\n\"1,a@b.com\n":          "line 2: extraneous or missing \" in quoted-field",
	}
	for in, want := range tests {
		_, err := ReadUPNMap(strings.NewReader(in))
		var me *UPNMapError
		if !errors.As(err, &me) || err.Error() != want {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
	m, err := ReadUPNMap(strings.NewReader("upn,serial number\na@b.com,X1\na@b.com,x1\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if upn, ok := m.Lookup("x1"); !ok || upn != "a@b.com" || m.Len() != 1 {
		t.Errorf("Lookup = %q %v, len %d", upn, ok, m.Len())
	}
}

func TestPSKCRefusedAtOpen(t *testing.T) {
	doc := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><KeyContainer/>`
	f, recs, err := readAll(t, doc, pskcOpts())
	if err != nil || len(recs) != 0 {
		t.Fatalf("%d records, %v; want none and io.EOF", len(recs), err)
	}
	wantCodes(t, "file", f.Problems, "error pskc.doctype 0  1")
}

// figure6 is RFC 6030 Figure 6 (AES-128-CBC, HMAC-SHA1, pre-shared key
// 12345678901234567890123456789012) with its KeyPackage as %s.
const figure6 = `<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
<EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></EncryptionKey>
<MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"><MACKey>
<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
<xenc:CipherData><xenc:CipherValue>ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX</xenc:CipherValue></xenc:CipherData>
</MACKey></MACMethod>
%s</KeyContainer>
`

func figure6Package(serial, mac string) string {
	return `<KeyPackage><DeviceInfo><Manufacturer>Manufacturer</Manufacturer><SerialNo>` + serial + `</SerialNo><Model>m</Model></DeviceInfo>
<Key Id="` + serial + `" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp"><AlgorithmParameters><Suite>HMAC-SHA1</Suite><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
<Data><Secret><EncryptedValue><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
<xenc:CipherData><xenc:CipherValue>AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv</xenc:CipherValue></xenc:CipherData></EncryptedValue>
<ValueMAC>` + mac + `</ValueMAC></Secret><TimeInterval><PlainValue>30</PlainValue></TimeInterval></Data></Key></KeyPackage>
`
}

const figure6MAC = "Su+NvtQfmvfJzF6bmQiJqoLRExc="

func figure6Key(t *testing.T) []byte {
	k, err := hex.DecodeString("12345678901234567890123456789012")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPSKCEncrypted(t *testing.T) {
	doc := fmt.Sprintf(figure6, figure6Package("A1", figure6MAC))
	opts := pskcOpts()
	opts.PSKC.Key = figure6Key(t)
	_, recs, err := readAll(t, doc, opts)
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if !bytes.Equal(recs[0].Token.Secret, testSecret) {
		t.Error("secret not decrypted to the RFC 4226 test secret")
	}

	// Without the key the file is refused at its first package, before any record.
	f, err := Open(strings.NewReader(doc), pskcOpts())
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Next()
	var invalid *InvalidError
	var pe *pskc.Error
	if !errors.As(err, &invalid) || !errors.As(err, &pe) || pe.Class != pskc.ClassKeyRequired {
		t.Fatalf("Next: %v, want an InvalidError wrapping pskc key-required", err)
	}
	wantCodes(t, "invalid", invalid.Problems, "error pskc.key-required 1 A1 8")
	if _, err := f.Next(); err != io.EOF {
		t.Errorf("Next after the refusal: %v, want io.EOF", err)
	}
}

// A MAC failure after a package verified is tampering, found after records were returned:
// Next reports it as an InvalidError so the caller drops what it read.
func TestPSKCRefusedAfterRecords(t *testing.T) {
	tampered := "Tu+NvtQfmvfJzF6bmQiJqoLRExc="
	doc := fmt.Sprintf(figure6, figure6Package("A1", figure6MAC)+figure6Package("A2", tampered))
	opts := pskcOpts()
	opts.PSKC.Key = figure6Key(t)
	_, recs, err := readAll(t, doc, opts)
	var invalid *InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("err %v, want *InvalidError", err)
	}
	if len(recs) != 1 {
		t.Errorf("%d records before the refusal, want 1", len(recs))
	}
	wantCodes(t, "invalid", invalid.Problems, "error pskc.mac-mismatch 2 A2 13")
	if strings.Contains(err.Error(), tampered) {
		t.Errorf("error shows the MAC: %v", err)
	}
}

func TestPSKCStrict(t *testing.T) {
	// No namespace, no version: container warnings, known at Open.
	doc := strings.Replace(container(keyPackage{serial: "S", suite: "SHA1"}), ` Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"`, "", 1)
	f, recs, err := readAll(t, doc, pskcOpts())
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	wantCodes(t, "file", f.Problems, "warning pskc.namespace 0  2", "warning pskc.no-version 0  2")
	opts := pskcOpts()
	opts.Strict = true
	f, recs, err = readAll(t, doc, opts)
	if err != nil || len(recs) != 1 {
		t.Fatalf("strict: %d records, %v", len(recs), err)
	}
	wantCodes(t, "strict file", f.Problems, "error pskc.namespace 0  2", "error pskc.no-version 0  2")
	wantCodes(t, "strict record", recs[0].Problems, "error pskc.secret-looks-hex 1 S 3")
}

// A container signature comes after the keys: a file warning known only at the end, added to
// File.Problems, or refusing the file under --strict (an error may not appear late there).
func TestPSKCLateFileWarning(t *testing.T) {
	doc := strings.Replace(container(keyPackage{serial: "S", suite: "SHA1"}), "</KeyContainer>",
		`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature></KeyContainer>`, 1)
	f, err := Open(strings.NewReader(doc), pskcOpts())
	if err != nil {
		t.Fatal(err)
	}
	wantCodes(t, "file at open", f.Problems)
	_, recs, err := readAll(t, doc, pskcOpts())
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	f, _, _ = readAll(t, doc, pskcOpts())
	wantCodes(t, "file at end", f.Problems, "warning pskc.signature-unverified 0  4")

	opts := pskcOpts()
	opts.Strict = true
	_, recs, err = readAll(t, doc, opts)
	var invalid *InvalidError
	if !errors.As(err, &invalid) || len(recs) != 1 {
		t.Fatalf("strict: %d records, %v; want 1 then *InvalidError", len(recs), err)
	}
	wantCodes(t, "strict", invalid.Problems, "error pskc.signature-unverified 0  4")
}

func TestPSKCDuplicateSerials(t *testing.T) {
	doc := container(keyPackage{serial: "S", suite: "SHA1"}, keyPackage{serial: "s", suite: "SHA1", secret: "QUJDREVGR0hJSktMTU5PUFFSU1Q="})
	_, recs, err := readAll(t, doc, pskcOpts())
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	// Serials are unique in the directory (ignoring case): the second is an error, besides
	// the reader's own (case-sensitive) duplicate warning, which this pair does not trigger.
	wantCodes(t, "second", recs[1].Problems, "warning pskc.secret-looks-base32 2 s 4", "error serial.duplicate 2 s 4")
}

func TestDetect(t *testing.T) {
	utf16 := []byte{0xFF, 0xFE}
	for _, c := range "<?xml?>" {
		utf16 = append(utf16, byte(c), 0)
	}
	for in, want := range map[string]string{
		"\uFEFF  <?xml version='1.0'?>": FormatPSKC,
		"\n\t<KeyContainer>":            FormatPSKC,
		string(utf16):                   FormatPSKC,
		"upn,serial number":             FormatCSV,
		"":                              FormatCSV,
		"sep=;\n<not xml":               FormatCSV,
	} {
		if got := Detect(bufio.NewReader(strings.NewReader(in))); got != want {
			t.Errorf("Detect(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestConvert(t *testing.T) {
	good := keyPackage{serial: "G1", suite: "SHA1", user: "a@contoso.com"}
	bad := keyPackage{serial: "B1", suite: "SHA1", digits: "8", user: "b@contoso.com"}
	good2 := keyPackage{serial: "G2", suite: "SHA1", user: "c@contoso.com", secret: "QUJDREVGR0hJSktMTU5PUFFSU1Q="}
	const header = "upn,serial number,secret key,time interval,manufacturer,model\n"
	tests := []struct {
		name    string
		doc     string
		skip    bool
		ok      bool
		out     string
		written int
		invalid int
	}{
		{"all valid", container(good, good2), false, true,
			header + "a@contoso.com,G1,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,30,Feitian,c200\n" +
				"c@contoso.com,G2,IFBEGRCFIZDUQSKKJNGE2TSPKBIVEU2U,30,Feitian,c200\n", 2, 0},
		{"all or nothing", container(good, bad, good2), false, false, "", 1, 1},
		{"skip invalid", container(good, bad, good2), true, true,
			header + "a@contoso.com,G1,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,30,Feitian,c200\n" +
				"c@contoso.com,G2,IFBEGRCFIZDUQSKKJNGE2TSPKBIVEU2U,30,Feitian,c200\n", 2, 1},
		{"nothing valid", container(bad), true, false, "", 0, 1},
		{"empty container", container(), false, true, header, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := Convert(context.Background(), strings.NewReader(tt.doc), &out,
				ConvertOptions{Read: pskcOpts(), SkipInvalid: tt.skip})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK(tt.skip) != tt.ok || res.Written != tt.written || res.Invalid != tt.invalid || res.Refused {
				t.Errorf("ok %v written %d invalid %d refused %v, want %v %d %d false",
					res.OK(tt.skip), res.Written, res.Invalid, res.Refused, tt.ok, tt.written, tt.invalid)
			}
			if tt.ok && out.String() != tt.out {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), tt.out)
			}
		})
	}
}

func TestConvertRefused(t *testing.T) {
	doc := fmt.Sprintf(figure6, figure6Package("A1", figure6MAC)+figure6Package("A2", "Tu+NvtQfmvfJzF6bmQiJqoLRExc="))
	opts := pskcOpts()
	opts.PSKC.Key = figure6Key(t)
	res, err := Convert(context.Background(), strings.NewReader(doc), io.Discard, ConvertOptions{Read: opts, SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Refused || res.OK(true) {
		t.Errorf("refused %v ok %v, want refused", res.Refused, res.OK(true))
	}
	// Only the refusal is reported: the problems of the keys read before it (A1 has no UPN)
	// are about keys that are discarded.
	wantCodes(t, "result", res.Problems, "error pskc.mac-mismatch 2 A2 13")
	if res.Errors != 1 || res.Warnings != 0 {
		t.Errorf("%d errors %d warnings, want 1 and 0", res.Errors, res.Warnings)
	}
}

func TestConvertHexCSV(t *testing.T) {
	in := "upn,serial number,secret key,time interval,manufacturer,model\n" +
		"helga@contoso.com,1234567,1234567890abcdef1234567890abcdef,60,Contoso,HardwareKey\n"
	var out bytes.Buffer
	opts := Options{Format: FormatAuto, CSV: tokens.CSVOptions{SecretEncoding: tokens.EncodingHex}}
	res, err := Convert(context.Background(), strings.NewReader(in), &out, ConvertOptions{Read: opts})
	if err != nil {
		t.Fatal(err)
	}
	want := "upn,serial number,secret key,time interval,manufacturer,model\n" +
		"helga@contoso.com,1234567,CI2FM6EQVPG66ERUKZ4JBK6N54,60,Contoso,HardwareKey\n"
	if !res.OK(false) || res.Format != FormatCSV || out.String() != want {
		t.Errorf("ok %v format %s output:\n%s\nwant:\n%s", res.OK(false), res.Format, out.String(), want)
	}
}

// A file with many warnings keeps a bounded number of each code and counts the rest.
func TestConvertKeepsBoundedProblems(t *testing.T) {
	var pkgs []keyPackage
	for i := range 30 {
		pkgs = append(pkgs, keyPackage{serial: fmt.Sprintf("S%02d", i), suite: "SHA1", user: "u@contoso.com",
			secret: "MTIzNDU2Nzg5MA=="})
	}
	res, err := Convert(context.Background(), strings.NewReader(container(pkgs...)), io.Discard,
		ConvertOptions{Read: pskcOpts(), KeepPerCode: 5})
	if err != nil {
		t.Fatal(err)
	}
	// Per key: secret-looks-hex, secret-short, secret.reused (all but the first); user.limit
	// errors from the sixth key on.
	if got := len(res.Problems); got != 20 {
		t.Errorf("%d problems kept, want 20 (5 for each of 4 codes)", got)
	}
	want := map[string]int{"pskc.secret-looks-hex": 25, "pskc.secret-short": 25, "secret.reused": 24, "user.limit": 20}
	for code, n := range want {
		if res.Omitted[code] != n {
			t.Errorf("omitted %s = %d, want %d", code, res.Omitted[code], n)
		}
	}
	if res.Errors != 25 || res.Warnings != 30+30+29 {
		t.Errorf("%d errors %d warnings, want 25 and 89", res.Errors, res.Warnings)
	}
}

func TestConvertCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Convert(ctx, strings.NewReader(container(keyPackage{serial: "S", suite: "SHA1", user: "a@b.com"})), io.Discard,
		ConvertOptions{Read: pskcOpts()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// The UPN map is read like every CSV file: UTF-16 with a byte-order mark, a "sep=;" line, and a
// header saved with semicolons named as such.
func TestReadUPNMapDialect(t *testing.T) {
	utf16LE := func(s string) string {
		var b strings.Builder
		for _, u := range utf16.Encode([]rune(s)) {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
		return b.String()
	}
	for _, in := range []string{
		utf16LE("\uFEFFSerial Number,UPN\r\nX1,a@b.com\r\n"),
		"sep=;\nserial_number;upn\nX1;a@b.com\n",
	} {
		m, err := ReadUPNMap(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if upn, ok := m.Lookup("x1"); !ok || upn != "a@b.com" {
			t.Errorf("%q: Lookup = %q %v", in, upn, ok)
		}
	}
	_, err := ReadUPNMap(strings.NewReader("sep=;\nserial number;upn\nX1;nobody\n"))
	if err == nil || err.Error() != "line 3: upn: not of the form local@domain (no @)" {
		t.Errorf("sep line: error %v", err)
	}
	_, err = ReadUPNMap(strings.NewReader("serial number;upn\nX1;a@b.com\n"))
	var se *csvdialect.SeparatorError
	if !errors.As(err, &se) || se.Sep != ';' ||
		err.Error() != "line 1: the header is one field: the file seems to use ';' as separator (Excel does in many locales)" {
		t.Errorf("semicolons: error %v", err)
	}
}
