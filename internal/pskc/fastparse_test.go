package pskc

import (
	"bytes"
	"testing"

	"github.com/beevik/etree"
)

// sameTree reports whether two etree trees have the same names, attributes (in order),
// child elements and character data, ignoring whitespace-only text (which fastParse
// leaves out).
func sameTree(a, b *etree.Element) bool {
	ac, bc := significant(a.Child), significant(b.Child)
	if a.Space != b.Space || a.Tag != b.Tag || len(a.Attr) != len(b.Attr) || len(ac) != len(bc) {
		return false
	}
	for i := range a.Attr {
		if a.Attr[i].Space != b.Attr[i].Space || a.Attr[i].Key != b.Attr[i].Key || a.Attr[i].Value != b.Attr[i].Value {
			return false
		}
	}
	for i := range ac {
		switch x := ac[i].(type) {
		case *etree.Element:
			y, ok := bc[i].(*etree.Element)
			if !ok || !sameTree(x, y) {
				return false
			}
		case *etree.CharData:
			y, ok := bc[i].(*etree.CharData)
			if !ok || x.Data != y.Data {
				return false
			}
		default:
			return false // the fast path never makes comments, PIs or directives
		}
	}
	return true
}

func significant(ts []etree.Token) []etree.Token {
	var out []etree.Token
	for _, t := range ts {
		if cd, ok := t.(*etree.CharData); ok && isBlank([]byte(cd.Data)) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// checkFastParse fails when fastParse accepts something etree rejects or builds a
// different tree.
func checkFastParse(t *testing.T, data []byte) {
	fast := fastParse(data)
	if fast == nil {
		return // falls back to etree: always correct
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil || doc.Root() == nil {
		t.Fatalf("fastParse accepted what etree rejects (%v): %q", err, data)
	}
	if !sameTree(fast, doc.Root()) {
		t.Fatalf("fastParse and etree disagree on %q", data)
	}
}

func TestFastParseMatchesEtree(t *testing.T) {
	var n, fast int
	for _, c := range loadCases(t) {
		data := readCorpus(t, c.File)
		// Every top-level element of every corpus file, as the scanner cuts them.
		for _, el := range topLevelElements(data) {
			n++
			if fastParse(el) != nil {
				fast++
			}
			checkFastParse(t, el)
		}
	}
	for _, el := range topLevelElements(encode(t, genTOTP(3), &testEnc{cipher: "aes128-cbc", key: testKey16, mac: "hmac-sha1", macKey: testMAC})) {
		if fastParse(el) == nil {
			t.Errorf("writer output takes the slow path: %q", el)
		}
		checkFastParse(t, el)
	}
	if fast < n/2 {
		t.Errorf("only %d of %d corpus elements take the fast path", fast, n)
	}
	for _, s := range []string{
		`<a x="1" x="2"/>`, `<a><b></a></b>`, `<a>&bogus;</a>`, `<a>x]]>y</a>`, `<a b='<'/>`,
		"<a>\r\nx\ry</a>", `<a><!-- c --></a>`, `<p:a xmlns:p="u"><p:b/></p:a>`, `<a>&#38;&#x3C;&lt;</a>`, `<a/><b/>`, `<a>&#0;</a>`,
	} {
		checkFastParse(t, []byte(s))
	}
}

// topLevelElements cuts a document with the scanner, as the reader does.
func topLevelElements(doc []byte) [][]byte {
	s := newScanner(bytes.NewReader(doc))
	if k, err := s.skipMisc(); err != nil || k != tokStart {
		return nil
	}
	end, err := s.tagEnd(s.pos)
	if err != nil {
		return nil
	}
	s.advance(end)
	var out [][]byte
	for {
		k, err := s.skipMisc()
		if err != nil || k != tokStart {
			return out
		}
		el, _, e := s.element()
		if e != nil {
			return out
		}
		out = append(out, append([]byte(nil), el...))
	}
}

func FuzzFastParse(f *testing.F) {
	for _, s := range []string{`<a x="1"><b>t&amp;</b></a>`, "<p:a\r\n y='2'>x\r</p:a>", `<a/>`, `<a><b/><c>1</c></a>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFastParse(t, data) })
}
