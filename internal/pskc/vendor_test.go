package pskc

import (
	"bytes"
	"crypto/aes"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
)

// Regressions found by a differential audit against python-pskc with files shaped like
// other vendors' output (not in the conformance corpus).

// vendorDoc wraps key packages in an RFC 6030 container.
func vendorDoc(packages string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<pskc:KeyContainer xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0">
` + packages + `
</pskc:KeyContainer>
`
}

func readOne(t *testing.T, doc string) *Key {
	t.Helper()
	keys, _, err := readAll(strings.NewReader(doc), Options{Now: judged})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("got %d keys, want 1", len(keys))
	}
	return keys[0]
}

// An attribute in a vendor's namespace is not the PSKC attribute of the same local name:
// v:Id must not replace Id (it would become the serial), nor v:Algorithm the algorithm.
func TestForeignNamespaceAttributesIgnored(t *testing.T) {
	k := readOne(t, vendorDoc(`<pskc:KeyPackage>
  <pskc:Key xmlns:v="urn:vendor:ext" v:Id="batch-7" v:Algorithm="urn:vendor:hotp" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp" Id="TOK123">
   <pskc:AlgorithmParameters><pskc:ResponseFormat v:Length="8" Length="6"/></pskc:AlgorithmParameters>
   <pskc:Data><pskc:Secret><pskc:PlainValue>Fll+zlGSCO/cwg2OUH+esdsRqko=</pskc:PlainValue></pskc:Secret></pskc:Data>
  </pskc:Key>
 </pskc:KeyPackage>`))
	if k.KeyID == nil || *k.KeyID != "TOK123" || k.SerialOrID() != "TOK123" {
		t.Errorf("key id %s, serial %q; want TOK123", show(k.KeyID), k.SerialOrID())
	}
	if k.Kind != KindTOTP || k.Digits == nil || *k.Digits != 6 {
		t.Errorf("kind %s, digits %v; want totp, 6", k.Kind, showInt(k.Digits))
	}

	// With only the foreign attribute there is no Key Id at all.
	k = readOne(t, vendorDoc(`<pskc:KeyPackage>
  <pskc:Key xmlns:v="urn:vendor:ext" v:Id="batch-7" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
   <pskc:Data><pskc:Secret><pskc:PlainValue>Fll+zlGSCO/cwg2OUH+esdsRqko=</pskc:PlainValue></pskc:Secret></pskc:Data>
  </pskc:Key>
 </pskc:KeyPackage>`))
	if k.KeyID != nil {
		t.Errorf("key id %s from a foreign attribute, want none", show(k.KeyID))
	}

	// The element's own prefix is still accepted on an attribute (sloppy but unambiguous).
	k = readOne(t, vendorDoc(`<pskc:KeyPackage>
  <pskc:Key pskc:Id="P1" pskc:Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
   <pskc:Data><pskc:Secret><pskc:PlainValue>Fll+zlGSCO/cwg2OUH+esdsRqko=</pskc:PlainValue></pskc:Secret></pskc:Data>
  </pskc:Key>
 </pskc:KeyPackage>`))
	if k.KeyID == nil || *k.KeyID != "P1" || k.Kind != KindTOTP {
		t.Errorf("key id %s, kind %s; want P1, totp", show(k.KeyID), k.Kind)
	}
}

// A Key Id with surrounding whitespace is the serial without it, as SerialNo text is, so
// the serial matches an --upn-map entry and duplicates are found; KeyID stays as written.
func TestKeyIDSerialTrimmed(t *testing.T) {
	pkg := `<pskc:KeyPackage>
  <pskc:Key Id=" 0123456 " Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
   <pskc:Data><pskc:Secret><pskc:PlainValue>Fll+zlGSCO/cwg2OUH+esdsRqko=</pskc:PlainValue></pskc:Secret></pskc:Data>
  </pskc:Key>
 </pskc:KeyPackage>`
	k := readOne(t, vendorDoc(pkg))
	if k.SerialOrID() != "0123456" || *k.KeyID != " 0123456 " {
		t.Errorf("serial %q, key id %q; want 0123456 and the Id as written", k.SerialOrID(), *k.KeyID)
	}
	_, ws, err := readAll(strings.NewReader(vendorDoc(pkg+strings.Replace(pkg, `" 0123456 "`, `"0123456"`, 1))), Options{Now: judged})
	if err != nil {
		t.Fatal(err)
	}
	if codes := warningCodes(ws); !strings.Contains(strings.Join(codes, ","), WarnDuplicateSerial) {
		t.Errorf("warnings %v; want %s", codes, WarnDuplicateSerial)
	}
}

// A Latin-1 export without an XML declaration is not well-formed XML (undeclared files
// are UTF-8), and is refused; the message says what is wrong instead of a bare syntax error.
func TestUndeclaredLatin1Explained(t *testing.T) {
	doc := vendorDoc(`<pskc:KeyPackage>
  <pskc:DeviceInfo><pskc:Manufacturer>S` + "\xe9" + `curit` + "\xe9" + `</pskc:Manufacturer><pskc:SerialNo>L1</pskc:SerialNo></pskc:DeviceInfo>
  <pskc:Key Id="L1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
   <pskc:Data><pskc:Secret><pskc:PlainValue>Fll+zlGSCO/cwg2OUH+esdsRqko=</pskc:PlainValue></pskc:Secret></pskc:Data>
  </pskc:Key>
 </pskc:KeyPackage>`)
	e := mustFail(t, []byte(doc), Options{Now: judged}, ClassXML)
	if !strings.Contains(e.Msg, "not UTF-8") || !strings.Contains(e.Msg, "encoding=") || e.Package != 1 || e.Line != 3 {
		t.Errorf("got %q (package %d, line %d); want a not-UTF-8 explanation for package 1, line 3", e.Msg, e.Package, e.Line)
	}

	// Declared, the same bytes read.
	k := readOne(t, strings.Replace(doc, `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1))
	if k.Manufacturer == nil || *k.Manufacturer != "Sécurité" {
		t.Errorf("manufacturer %s, want Sécurité", show(k.Manufacturer))
	}
}

// Line ends are normalised as XML does (CR LF and a lone CR become LF), whatever the read
// sizes, so a CR-only file has lines and a CR LF split across reads counts once.
func TestCRReader(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb\rc\n\rd\r": "a\nb\nc\n\nd\n",
		"\r\n\r\n":         "\n\n",
		"\r\r\n\n":         "\n\n\n",
		"no line ends":     "no line ends",
	} {
		for _, r := range []func(string) io.Reader{
			func(s string) io.Reader { return strings.NewReader(s) },
			func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
			func(s string) io.Reader { return iotest.DataErrReader(iotest.HalfReader(strings.NewReader(s))) },
		} {
			got, err := io.ReadAll(&crReader{r: r(in)})
			if err != nil || string(got) != want {
				t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
			}
		}
	}
}

func TestCROnlyFileLines(t *testing.T) {
	pkg := `<pskc:KeyPackage>
  <pskc:DeviceInfo><pskc:SerialNo>M%d</pskc:SerialNo></pskc:DeviceInfo>
  <pskc:Key Id="M%d" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
   <pskc:Data><pskc:Secret><pskc:PlainValue>Fll+zlGSCO/cwg2OUH+esdsRqko=</pskc:PlainValue></pskc:Secret></pskc:Data>
  </pskc:Key>
 </pskc:KeyPackage>
`
	doc := vendorDoc(fmt.Sprintf(pkg, 1, 1) + fmt.Sprintf(pkg, 2, 2))
	for _, eol := range []string{"\n", "\r\n", "\r"} {
		keys, _, err := readAll(strings.NewReader(strings.ReplaceAll(doc, "\n", eol)), Options{Now: judged})
		if err != nil || len(keys) != 2 {
			t.Fatalf("%q: %d keys, %v", eol, len(keys), err)
		}
		if keys[0].Line != 3 || keys[1].Line != 9 {
			t.Errorf("%q: packages on lines %d and %d, want 3 and 9", eol, keys[0].Line, keys[1].Line)
		}
	}
}

// A key given for a file protected with a password says the file wants the password; a
// wrong password (or a key for a pre-shared-key file) keeps the plain message.
func TestKeyGivenForPasswordFile(t *testing.T) {
	for _, cipher := range []string{"aes128-cbc", "kw-aes128"} {
		doc := encode(t, genTOTP(2), &testEnc{cipher: cipher, password: "Tr0ub4dor&3", iterations: 100, mac: "hmac-sha1", macKey: testMAC})
		e := mustFail(t, doc, Options{Key: testKey16}, ClassWrongKey)
		if !strings.HasSuffix(e.Msg, keyForPasswordHint) {
			t.Errorf("%s, key given: %q; want the password hint", cipher, e.Msg)
		}
		e = mustFail(t, doc, Options{Password: []byte("wrong")}, ClassWrongKey)
		if strings.Contains(e.Msg, "PBKDF2") {
			t.Errorf("%s, wrong password: %q; want no password hint", cipher, e.Msg)
		}
		if keys, _, err := readAll(bytes.NewReader(doc), Options{Password: []byte("Tr0ub4dor&3")}); err != nil || len(keys) != 2 {
			t.Errorf("%s, right password: %d keys, %v", cipher, len(keys), err)
		}
	}
	doc := encode(t, genTOTP(1), &testEnc{cipher: "aes128-cbc", key: testKey16, mac: "hmac-sha1", macKey: testMAC})
	wrong := bytes.Repeat([]byte{7}, 16)
	if e := mustFail(t, doc, Options{Key: wrong}, ClassWrongKey); strings.Contains(e.Msg, "PBKDF2") {
		t.Errorf("wrong pre-shared key: %q; want no password hint", e.Msg)
	}
}

// Attribute values are normalised as XML requires: a literal tab or line end is a space, so
// a wrapped attribute never puts a line end into a Key Id (the serial) or a message.
func TestAttributeWhitespaceNormalised(t *testing.T) {
	k := readOne(t, vendorDoc("<pskc:KeyPackage>\n  <pskc:Key Id=\"AB\n\tCD\" Algorithm=\"\n   urn:ietf:params:xml:ns:keyprov:pskc:totp\n\">\n"+
		"   <pskc:AlgorithmParameters><pskc:ResponseFormat Length=\"\t6\n\"/></pskc:AlgorithmParameters>\n"+
		"   <pskc:Data><pskc:Secret><pskc:PlainValue>Fll+zlGSCO/cwg2OUH+esdsRqko=</pskc:PlainValue></pskc:Secret></pskc:Data>\n  </pskc:Key>\n </pskc:KeyPackage>"))
	if *k.KeyID != "AB  CD" || k.SerialOrID() != "AB  CD" {
		t.Errorf("key id %q, serial %q; want \"AB  CD\"", *k.KeyID, k.SerialOrID())
	}
	if k.Algorithm != "    urn:ietf:params:xml:ns:keyprov:pskc:totp " || k.Kind != KindTOTP || k.Digits == nil || *k.Digits != 6 {
		t.Errorf("algorithm %q (%s), digits %v", k.Algorithm, k.Kind, showInt(k.Digits))
	}
}

// A wrong pre-shared key decrypts the CBC-encrypted MAC key to noise whose last byte is 0x01
// about once in 256 files: one byte of valid padding. That must not count as proof that the
// key is right, or the wrong key is reported as an altered file. The test searches for such a
// file (a new random IV each time) so that it does not depend on chance.
func TestWrongKeyWithOneByteOfValidPadding(t *testing.T) {
	wrong := bytes.Repeat([]byte{7}, 16)
	alg, err := lookupCipher(xmlencNS + "aes128-cbc")
	if err != nil {
		t.Fatal(err)
	}
	macKey := regexp.MustCompile(`(?s)<pskc:MACKey>.*?<xenc:CipherValue>([^<]+)</xenc:CipherValue>`)
	for i := 0; i < 20000; i++ {
		doc := encode(t, genTOTP(1), &testEnc{cipher: "aes128-cbc", key: testKey16, mac: "hmac-sha1", macKey: testMAC})
		m := macKey.FindSubmatch(doc)
		if m == nil {
			t.Fatalf("no MAC key in the test file:\n%s", doc)
		}
		ct, err := base64.StdEncoding.DecodeString(string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		if pt, pad := decryptCBC(alg, wrong, nil, ct); pad != padStrict || len(ct)-aes.BlockSize-len(pt) != 1 {
			continue
		}
		e := mustFail(t, doc, Options{Key: wrong}, ClassWrongKey)
		if strings.Contains(e.Msg, "altered") {
			t.Errorf("wrong key reported as an altered file: %q", e.Msg)
		}
		return
	}
	t.Fatal("no file whose MAC key decrypts with one byte of valid padding in 20,000 tries")
}
