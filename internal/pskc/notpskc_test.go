package pskc

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// A small non-PSKC XML document was reported as truncated: when the scanner had to read
// more near the end of a short file, the buffer moved but the shift was lost, so the root
// element looked cut off. It must be not-pskc, naming the root and its namespace.
func TestNotPSKCSmallDocument(t *testing.T) {
	tests := []struct{ doc, msg string }{
		{"<?xml version=\"1.0\"?>\n<foo>\n<bar/></foo>\n",
			`not a PSKC file: the root element is <foo> in no namespace, not <KeyContainer> in urn:ietf:params:xml:ns:keyprov:pskc`},
		{`<?xml version="1.0"?><foo><bar/></foo>`,
			`not a PSKC file: the root element is <foo> in no namespace, not <KeyContainer> in urn:ietf:params:xml:ns:keyprov:pskc`},
		{"<?xml version=\"1.0\"?>\n<x:doc xmlns:x=\"urn:example:other\"><x:a/></x:doc>",
			`not a PSKC file: the root element is <doc> in namespace "urn:example:other", not <KeyContainer> in urn:ietf:params:xml:ns:keyprov:pskc`},
		{`<?xml version="1.0"?><KeyContainerX xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>`,
			`not a PSKC file: the root element is <KeyContainerX> in namespace "urn:ietf:params:xml:ns:keyprov:pskc", not <KeyContainer> in urn:ietf:params:xml:ns:keyprov:pskc`},
	}
	for _, tc := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.doc)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			_, err := NewReader(r, Options{})
			e, ok := err.(*Error)
			if !ok || e.Class != ClassNotPSKC || e.Msg != tc.msg {
				t.Errorf("%q (one-byte reads %v): got %v", tc.doc, oneByte, err)
			}
		}
	}
	// Really truncated documents stay xml.
	for _, doc := range []string{`<?xml version="1.0"?><foo><bar/></fo`, `<?xml version="1.0"?><foo><bar/>`} {
		_, err := NewReader(strings.NewReader(doc), Options{})
		if e, ok := err.(*Error); !ok || e.Class != ClassXML {
			t.Errorf("%q: got %v, want pskc.xml", doc, err)
		}
	}
}
