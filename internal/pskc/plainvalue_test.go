package pskc

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var encryptedValueRE = regexp.MustCompile(`(?s)<pskc:EncryptedValue>.*?</pskc:EncryptedValue>`)

// withPlainSecret replaces the n-th (0-based) EncryptedValue of doc, the secret of the n-th
// key, with a PlainValue of the attacker's choosing; the ValueMAC stays.
func withPlainSecret(t *testing.T, doc []byte, n int, secret []byte) []byte {
	t.Helper()
	locs := encryptedValueRE.FindAllIndex(doc, -1)
	if n >= len(locs) {
		t.Fatalf("no EncryptedValue %d", n)
	}
	l := locs[n]
	plain := "<pskc:PlainValue>" + base64.StdEncoding.EncodeToString(secret) + "</pskc:PlainValue>"
	return append(append(append([]byte(nil), doc[:l[0]]...), plain...), doc[l[1]:]...)
}

// keyLines is the line of each KeyPackage start tag of doc.
func keyLines(doc []byte, n int) []int {
	var ls []int
	for i := range n {
		ls = append(ls, lineOf(doc, "<pskc:KeyPackage>", i))
	}
	return ls
}

// A PlainValue is not covered by the MAC: putting one in place of an encrypted secret let
// anyone who could edit the file choose a token's secret, and the file still verified.
func TestPlainValueSecretInProtectedFileRefused(t *testing.T) {
	keys := genTOTP(3)
	evil := []byte("attacker's secret of 20b")
	for _, enc := range []testEnc{
		{cipher: "aes128-cbc", key: testKey16, mac: "hmac-sha1", macKey: testMAC},
		{cipher: "kw-aes128", key: testKey16}, // EncryptionKey, no MAC
	} {
		t.Run(enc.cipher, func(t *testing.T) {
			doc := encode(t, keys, &enc)
			bad := withPlainSecret(t, doc, 1, evil)
			lines := keyLines(bad, 3)
			e := mustFail(t, bad, Options{Key: testKey16}, ClassPlainValue)
			want := `key package 2 (serial 2600000000001): line ` + itoa(lines[1]) +
				`: the secret of key "2600000000001" is in plain text (PlainValue) in a file that encrypts or MACs its keys: the MAC does not cover it, so it may have been swapped [pskc.plain-value]`
			if e.Error() != want {
				t.Errorf("got  %s\nwant %s", e.Error(), want)
			}
			noSecrets(t, e.Error(), [][]byte{evil, keys[1].secret})

			got, warns, err := readAll(bytes.NewReader(bad), Options{Key: testKey16, AllowPlainValue: true})
			if err != nil || len(got) != 3 {
				t.Fatalf("allowed: %v, %d keys", err, len(got))
			}
			if !bytes.Equal(got[1].Secret, evil) || !bytes.Equal(got[0].Secret, keys[0].secret) {
				t.Error("allowed: secrets not as written")
			}
			if len(warns) != 1 || warns[0].Code != WarnPlainValue || warns[0].Package != 2 || warns[0].Line != lines[1] ||
				warns[0].Message != `the secret of key "2600000000001" is in plain text (PlainValue) in a file that encrypts or MACs its keys: the MAC does not cover it; accepted as allowed` {
				t.Errorf("allowed: warnings %+v", warns)
			}
		})
	}
}

// A PlainValue added next to the EncryptedValue (which the reader preferred) is refused too.
func TestPlainValueBesideEncryptedValueRefused(t *testing.T) {
	doc := encode(t, genTOTP(2), &testEnc{cipher: "aes128-cbc", key: testKey16, mac: "hmac-sha1", macKey: testMAC})
	i := bytes.LastIndex(doc, []byte("<pskc:EncryptedValue>"))
	bad := append(append(append([]byte(nil), doc[:i]...), "<pskc:PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</pskc:PlainValue>"...), doc[i:]...)
	e := mustFail(t, bad, Options{Key: testKey16}, ClassPlainValue)
	if e.Package != 2 {
		t.Errorf("package %d, want 2", e.Package)
	}
}

// The tree of a package with a comment is built by etree, not fastParse: the check is on the
// tree, so both paths refuse.
func TestPlainValueRefusedOnEtreePath(t *testing.T) {
	doc := encode(t, genTOTP(2), &testEnc{cipher: "aes128-cbc", key: testKey16, mac: "hmac-sha1", macKey: testMAC})
	bad := withPlainSecret(t, doc, 0, []byte("attacker's secret of 20b"))
	bad = bytes.Replace(bad, []byte("<pskc:PlainValue>"), []byte("<!-- vendor note --><pskc:PlainValue>"), 1)
	pkgs := topLevelElements(bad)
	if len(pkgs) < 3 || fastParse(pkgs[len(pkgs)-2]) != nil {
		t.Fatal("the tampered package should need the etree path")
	}
	if fastParse(pkgs[len(pkgs)-1]) == nil {
		t.Fatal("the clean package should take the fast path")
	}
	mustFail(t, bad, Options{Key: testKey16}, ClassPlainValue)
}

// Without EncryptionKey or MACMethod in the header, encrypted values elsewhere in the file
// still make a plain secret suspect, before or after them.
func TestPlainValueBesideEncryptedKeysRefused(t *testing.T) {
	keys := genTOTP(3)
	doc := encode(t, keys, &testEnc{cipher: "kw-aes128", key: testKey16})
	doc = regexp.MustCompile(`(?s)\s*<pskc:EncryptionKey>.*?</pskc:EncryptionKey>`).ReplaceAll(doc, nil)
	if _, _, err := readAll(bytes.NewReader(doc), Options{Key: testKey16}); err != nil {
		t.Fatalf("file without EncryptionKey: %v", err)
	}
	evil := []byte("attacker's secret of 20b")
	first := withPlainSecret(t, doc, 0, evil)
	last := withPlainSecret(t, doc, 2, evil)
	both := withPlainSecret(t, withPlainSecret(t, doc, 2, evil), 0, evil)
	const other = "a file whose other keys are encrypted"

	e := mustFail(t, first, Options{Key: testKey16}, ClassPlainValue)
	if e.Package != 1 || e.Line != keyLines(first, 1)[0] || !strings.Contains(e.Msg, other) {
		t.Errorf("plain first: %v", e)
	}
	e = mustFail(t, last, Options{Key: testKey16}, ClassPlainValue)
	if e.Package != 3 || !strings.Contains(e.Msg, other) {
		t.Errorf("plain last: %v", e)
	}

	got, warns, err := readAll(bytes.NewReader(both), Options{Key: testKey16, AllowPlainValue: true})
	if err != nil || len(got) != 3 {
		t.Fatalf("allowed: %v, %d keys", err, len(got))
	}
	var pkgs []int
	for _, w := range warns {
		if w.Code == WarnPlainValue && strings.Contains(w.Message, other) {
			pkgs = append(pkgs, w.Package)
		}
	}
	if len(pkgs) != 2 || pkgs[0] != 1 || pkgs[1] != 3 {
		t.Errorf("allowed: plain-value warnings on packages %v, want [1 3]; all: %v", pkgs, warningCodes(warns))
	}

	// A file with no encrypted value at all is a plain file: nothing to say.
	plain := encode(t, keys, nil)
	if _, warns, err := readAll(bytes.NewReader(plain), Options{}); err != nil || len(warns) != 0 {
		t.Errorf("plain file: %v %v", err, warningCodes(warns))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
