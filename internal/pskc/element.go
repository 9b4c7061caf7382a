package pskc

import (
	"strings"

	"github.com/beevik/etree"
)

// Elements are matched by local name only: the prefix (and so the namespace) a vendor used
// does not matter, which is how pre-RFC and oddly-prefixed files stay readable.

func child(el *etree.Element, names ...string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.Child {
		if e, ok := c.(*etree.Element); ok {
			for _, n := range names {
				if e.Tag == n {
					return e
				}
			}
		}
	}
	return nil
}

func children(el *etree.Element, names ...string) []*etree.Element {
	var out []*etree.Element
	if el == nil {
		return nil
	}
	for _, c := range el.Child {
		if e, ok := c.(*etree.Element); ok {
			for _, n := range names {
				if e.Tag == n {
					out = append(out, e)
					break
				}
			}
		}
	}
	return out
}

// path follows a chain of child names.
func path(el *etree.Element, names ...string) *etree.Element {
	for _, n := range names {
		el = child(el, n)
	}
	return el
}

// rawText is the concatenated character data directly inside el (comments skipped).
func rawText(el *etree.Element) string {
	var parts []string
	for _, c := range el.Child {
		if cd, ok := c.(*etree.CharData); ok {
			parts = append(parts, cd.Data)
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts, "")
}

// textPtr is el's trimmed text, nil when el is absent.
func textPtr(el *etree.Element) *string {
	if el == nil {
		return nil
	}
	s := trimXML(rawText(el))
	return &s
}

// attrValue applies XML attribute-value normalisation (XML 1.0 section 3.3.3): a literal
// tab or line end in an attribute is a space, so Id="A\n B" is the Id "A  B". (The tree keeps
// them raw; a &#10; reference, which should survive, is not told apart: no PSKC attribute
// needs one.)
func attrValue(v string) string {
	if !strings.ContainsAny(v, "\t\n\r") {
		return v
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, v)
}

// attr returns the first present attribute among names and whether it was found. PSKC
// attributes are unqualified (RFC 6030's schema), so an unprefixed attribute is taken first;
// a prefixed one only when its prefix is the element's own (<pskc:Key pskc:Id=...>, a
// sloppy writer's spelling). An attribute in another namespace (a vendor's v:Id, xml:lang)
// is a different attribute and never stands in for a PSKC one.
func attr(el *etree.Element, names ...string) (string, bool) {
	if el == nil {
		return "", false
	}
	for _, n := range names {
		for _, a := range el.Attr {
			if a.Key == n && a.Space == "" {
				return attrValue(a.Value), true
			}
		}
	}
	if el.Space == "" {
		return "", false
	}
	for _, n := range names {
		for _, a := range el.Attr {
			if a.Key == n && a.Space == el.Space {
				return attrValue(a.Value), true
			}
		}
	}
	return "", false
}
