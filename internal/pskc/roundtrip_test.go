package pskc

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

var (
	testKey16 = []byte("0123456789abcdef")
	testKey24 = []byte("0123456789abcdefghijklmn")
	testKey32 = []byte("0123456789abcdefghijklmnopqrstuv")
	testMAC   = []byte("mac key of twenty b!")
)

func encode(t testing.TB, keys []testKey, enc *testEnc) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writePSKC(&buf, keys, enc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripEncrypted(t *testing.T) {
	keys := genTOTP(3)
	keys[1].secret = []byte("32 byte secret for a SHA256 key!") // multiple of 8: plain RFC 3394 wrap
	keys[2].secret = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
	tests := []struct {
		name string
		enc  testEnc
		opts Options
	}{
		{"aes128-cbc hmac-sha1", testEnc{cipher: "aes128-cbc", key: testKey16, mac: "hmac-sha1", macKey: testMAC}, Options{Key: testKey16}},
		{"aes192-cbc hmac-sha256", testEnc{cipher: "aes192-cbc", key: testKey24, mac: "hmac-sha256", macKey: testMAC}, Options{Key: testKey24}},
		{"aes256-cbc hmac-sha512", testEnc{cipher: "aes256-cbc", key: testKey32, mac: "hmac-sha512", macKey: testMAC}, Options{Key: testKey32}},
		{"aes256-cbc hmac-sha384", testEnc{cipher: "aes256-cbc", key: testKey32, mac: "hmac-sha384", macKey: testMAC}, Options{Key: testKey32}},
		{"tripledes-cbc 2-key hmac-sha224", testEnc{cipher: "tripledes-cbc", key: testKey16, mac: "hmac-sha224", macKey: testMAC}, Options{Key: testKey16}},
		{"tripledes-cbc 3-key", testEnc{cipher: "tripledes-cbc", key: testKey24, mac: "hmac-sha1", macKey: testMAC}, Options{Key: testKey24}},
		{"kw-aes128", testEnc{cipher: "kw-aes128", key: testKey16}, Options{Key: testKey16}},
		{"kw-aes192", testEnc{cipher: "kw-aes192", key: testKey24}, Options{Key: testKey24}},
		{"kw-aes256", testEnc{cipher: "kw-aes256", key: testKey32}, Options{Key: testKey32}},
		{"kw-tripledes", testEnc{cipher: "kw-tripledes", key: testKey24}, Options{Key: testKey24}},
		{"pbkdf2 default prf", testEnc{cipher: "aes128-cbc", password: "correct horse", iterations: 1000, mac: "hmac-sha1", macKey: testMAC}, Options{Password: []byte("correct horse")}},
		{"pbkdf2 hmac-sha256 attribute", testEnc{cipher: "aes256-cbc", password: "pw", iterations: 500, prf: "hmac-sha256", mac: "hmac-sha256", macKey: testMAC}, Options{Password: []byte("pw")}},
		{"pbkdf2 hmac-sha512 text", testEnc{cipher: "aes128-cbc", password: "pw", iterations: 500, prf: "hmac-sha512", prfAsText: true, mac: "hmac-sha1", macKey: testMAC}, Options{Password: []byte("pw")}},
	}
	keys8 := keysBlock8()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys := keys
			if tc.enc.cipher == "kw-tripledes" {
				keys = keys8
			}
			doc := encode(t, keys, &tc.enc)
			got, warns, err := readAll(bytes.NewReader(doc), tc.opts)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if codes := warningCodes(warns); len(codes) != 0 {
				t.Errorf("unexpected warnings %v", codes)
			}
			if len(got) != len(keys) {
				t.Fatalf("%d keys, want %d", len(got), len(keys))
			}
			for i, k := range got {
				if !bytes.Equal(k.Secret, keys[i].secret) {
					t.Errorf("key %d: secret does not round-trip", i)
				}
				if k.SerialOrID() != keys[i].serial || *k.Hash != "SHA1" || *k.Digits != 6 || *k.TimeInterval != 30 || k.Kind != KindTOTP {
					t.Errorf("key %d: fields do not round-trip: %+v", i, k)
				}
				if k.Index != i || k.Package != i+1 {
					t.Errorf("key %d: index %d package %d", i, k.Index, k.Package)
				}
			}
		})
	}
}

// keysBlock8 has secrets of whole 8-byte blocks, as RFC 3217 wraps only those.
func keysBlock8() []testKey {
	keys := genTOTP(3)
	keys[0].secret = bytes.Repeat([]byte{0xA5}, 24)
	keys[1].secret = bytes.Repeat([]byte{0x5A, 0xC3}, 16)
	keys[2].secret = bytes.Repeat([]byte{0x3C}, 16)
	return keys
}

// lineOf is the line of the n-th (0-based) occurrence of s in doc.
func lineOf(doc []byte, s string, n int) int {
	off := 0
	for ; n >= 0; n-- {
		i := bytes.Index(doc[off:], []byte(s))
		if i < 0 {
			return -1
		}
		off += i + len(s)
	}
	return 1 + bytes.Count(doc[:off], []byte("\n"))
}

func TestRoundTripPlainLarge(t *testing.T) {
	// Big enough that packages straddle the scanner's read chunks many times.
	keys := genTOTP(5000)
	doc := encode(t, keys, nil)
	if len(doc) < 3*readChunk {
		t.Fatalf("document of %d bytes is too small for this test", len(doc))
	}
	got, warns, err := readAll(bytes.NewReader(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("unexpected warnings %v", warningCodes(warns))
	}
	if len(got) != len(keys) {
		t.Fatalf("%d keys, want %d", len(got), len(keys))
	}
	lastLine := 0
	for i, k := range got {
		if !bytes.Equal(k.Secret, keys[i].secret) || *k.Serial != keys[i].serial || *k.User != keys[i].user {
			t.Fatalf("key %d does not round-trip", i)
		}
		if k.Line <= lastLine {
			t.Fatalf("key %d: line %d not after %d", i, k.Line, lastLine)
		}
		lastLine = k.Line
	}
	for _, i := range []int{0, 1, 4321, 4999} {
		if want := lineOf(doc, "<pskc:KeyPackage>", i); got[i].Line != want {
			t.Errorf("key %d: line %d, want %d", i, got[i].Line, want)
		}
	}
}

func mustFail(t *testing.T, doc []byte, opts Options, class string) *Error {
	t.Helper()
	_, _, err := readAll(bytes.NewReader(doc), opts)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("want *Error %s, got %v", class, err)
	}
	if pe.Class != class {
		t.Fatalf("class %s, want %s: %v", pe.Class, class, pe)
	}
	return pe
}

func TestEncryptedFailures(t *testing.T) {
	keys := genTOTP(3)
	cbc := testEnc{cipher: "aes128-cbc", key: testKey16, mac: "hmac-sha1", macKey: testMAC}
	doc := encode(t, keys, &cbc)
	secrets := [][]byte{testKey16, testMAC, []byte("wrong key 16 b!!")}
	for _, k := range keys {
		secrets = append(secrets, k.secret)
	}

	t.Run("wrong key", func(t *testing.T) {
		e := mustFail(t, doc, Options{Key: []byte("wrong key 16 b!!")}, ClassWrongKey)
		noSecrets(t, e.Error(), secrets)
		line := lineOf(doc, "<pskc:KeyPackage>", 0)
		if e.Package != 1 || e.Serial != keys[0].serial || e.Line != line {
			t.Errorf("error location package %d serial %q line %d; want 1 %q %d", e.Package, e.Serial, e.Line, keys[0].serial, line)
		}
		want := fmt.Sprintf("key package 1 (serial %s): line %d: ", keys[0].serial, line)
		if !strings.HasPrefix(e.Error(), want) || !strings.HasSuffix(e.Error(), "[pskc.wrong-key]") {
			t.Errorf("message %q", e.Error())
		}
	})
	t.Run("wrong key length", func(t *testing.T) {
		mustFail(t, doc, Options{Key: testKey24}, ClassWrongKey)
	})
	t.Run("no key", func(t *testing.T) {
		mustFail(t, doc, Options{}, ClassKeyRequired)
	})
	t.Run("password for a pre-shared key file", func(t *testing.T) {
		mustFail(t, doc, Options{Password: []byte("pw")}, ClassKeyRequired)
	})
	t.Run("wrong password", func(t *testing.T) {
		pdoc := encode(t, keys, &testEnc{cipher: "aes128-cbc", password: "Tr0ub4dor&3", iterations: 100, mac: "hmac-sha1", macKey: testMAC})
		e := mustFail(t, pdoc, Options{Password: []byte("hunter2-xyz")}, ClassWrongKey)
		noSecrets(t, e.Error(), append(secrets, []byte("Tr0ub4dor&3"), []byte("hunter2-xyz")))
	})
	t.Run("missing ValueMAC", func(t *testing.T) {
		nomac := cbc
		nomac.noMACValue = true
		ndoc := encode(t, keys, &nomac)
		mustFail(t, ndoc, Options{Key: testKey16}, ClassMACMissing)
		got, _, err := readAll(bytes.NewReader(ndoc), Options{Key: testKey16, AllowMissingMAC: true})
		if err != nil || len(got) != 3 || !bytes.Equal(got[2].Secret, keys[2].secret) {
			t.Fatalf("AllowMissingMAC: %v, %d keys", err, len(got))
		}
	})
	t.Run("tampered third value", func(t *testing.T) {
		// Change the last ValueMAC: the MAC key decrypts and earlier values verify.
		i := bytes.LastIndex(doc, []byte("<pskc:ValueMAC>")) + len("<pskc:ValueMAC>")
		bad := append([]byte(nil), doc...)
		if bad[i] == 'A' {
			bad[i] = 'B'
		} else {
			bad[i] = 'A'
		}
		e := mustFail(t, bad, Options{Key: testKey16}, ClassMACMismatch)
		if e.Package != 3 {
			t.Errorf("package %d, want 3", e.Package)
		}
	})
	t.Run("wrapped value does not unwrap", func(t *testing.T) {
		kw := encode(t, keys, &testEnc{cipher: "kw-aes128", key: testKey16})
		mustFail(t, kw, Options{Key: []byte("wrong key 16 b!!")}, ClassWrongKey)
		kw3 := encode(t, keysBlock8(), &testEnc{cipher: "kw-tripledes", key: testKey24})
		mustFail(t, kw3, Options{Key: []byte("wrong key 16 b!!wrong ke")}, ClassWrongKey)
	})
}

// noSecrets fails when msg contains any secret in raw, hex or base64 form.
func noSecrets(t *testing.T, msg string, secrets [][]byte) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range []string{string(s), hex.EncodeToString(s), base64.StdEncoding.EncodeToString(s)} {
			if strings.Contains(msg, form) {
				t.Fatalf("message %q contains secret material", msg)
			}
		}
	}
}

func TestTruncationNeverAccepted(t *testing.T) {
	doc := encode(t, genTOTP(40), nil)
	end := bytes.LastIndex(doc, []byte("</pskc:KeyContainer>"))
	for cut := 1; cut < end; cut += 97 {
		_, _, err := readAll(bytes.NewReader(doc[:cut]), Options{})
		var pe *Error
		if !errors.As(err, &pe) || pe.Class != ClassXML {
			t.Fatalf("cut at %d: got %v, want a pskc.xml error", cut, err)
		}
	}
}

func TestDoctypeAnywhere(t *testing.T) {
	base := string(encode(t, genTOTP(2), nil))
	for name, doc := range map[string]string{
		"after a comment":  strings.Replace(base, "<pskc:KeyContainer", "<!-- c --><!DOCTYPE x [<!ENTITY a 'b'>]><pskc:KeyContainer", 1),
		"inside a package": strings.Replace(base, "<pskc:DeviceInfo>", "<pskc:DeviceInfo><!ENTITY a 'b'>", 1),
		"lower case":       strings.Replace(base, "<pskc:KeyContainer", "<!doctype x><pskc:KeyContainer", 1),
	} {
		t.Run(name, func(t *testing.T) { mustFail(t, []byte(doc), Options{}, ClassDoctype) })
	}
	t.Run("undeclared entity", func(t *testing.T) {
		doc := strings.Replace(base, "<pskc:Model>c200", "<pskc:Model>&x;", 1)
		mustFail(t, []byte(doc), Options{}, ClassXML)
	})
	t.Run("predefined entities are fine", func(t *testing.T) {
		doc := strings.Replace(base, "<pskc:Model>c200", "<pskc:Model>A&amp;B&#x21;", 1)
		keys, _, err := readAll(strings.NewReader(doc), Options{})
		if err != nil || *keys[0].Model != "A&B!" {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDuplicateSerialLocation(t *testing.T) {
	keys := genTOTP(3)
	keys[2].serial = keys[0].serial
	doc := encode(t, keys, nil)
	_, warns, err := readAll(bytes.NewReader(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || warns[0].Code != WarnDuplicateSerial || warns[0].Package != 3 || warns[0].Serial != keys[0].serial || warns[0].Line != lineOf(doc, "<pskc:KeyPackage>", 2) {
		t.Fatalf("warnings %+v", warns)
	}
}

func TestPolicyExpiredUsesNow(t *testing.T) {
	doc := `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage><Key Id="1">` +
		`<Policy><ExpiryDate>2030-01-01T00:00:00Z</ExpiryDate></Policy></Key></KeyPackage></KeyContainer>`
	for _, tc := range []struct {
		now  time.Time
		want int
	}{{time.Date(2029, 12, 31, 0, 0, 0, 0, time.UTC), 0}, {time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), 1}} {
		keys, warns, err := readAll(strings.NewReader(doc), Options{Now: tc.now})
		if err != nil || len(keys) != 1 || len(warns) != tc.want {
			t.Errorf("now %v: err %v, warnings %v", tc.now, err, warningCodes(warns))
		}
	}
}

func TestCloseEarly(t *testing.T) {
	rd, err := NewReader(bytes.NewReader(encode(t, genTOTP(500), nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	rd.Close()
	rd.Close()
}

func TestOneByteReads(t *testing.T) {
	// Reading a byte at a time exercises every buffer boundary of the scanner.
	for _, c := range loadCases(t) {
		data := readCorpus(t, c.File)
		k1, w1, e1 := readAll(bytes.NewReader(data), c.options(t))
		k2, w2, e2 := readAll(oneByteReader{bytes.NewReader(data)}, c.options(t))
		if errString(e1) != errString(e2) || len(k1) != len(k2) || len(w1) != len(w2) {
			t.Errorf("%s: one-byte reads differ: %v / %v, %d / %d keys", c.File, e1, e2, len(k1), len(k2))
			continue
		}
		for i := range k1 {
			if !bytes.Equal(k1[i].Secret, k2[i].Secret) || k1[i].Line != k2[i].Line {
				t.Errorf("%s: key %d differs", c.File, i)
			}
		}
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
