package pskc

import (
	"bytes"

	"github.com/beevik/etree"
)

// fastParse builds the etree tree of one element (a KeyPackage as cut by the scanner)
// without encoding/xml, which costs most of the reading time. It handles only the plain
// subset of XML that token files use: ASCII names, attributes, text with the predefined
// entities and character references. On anything else (comments, CDATA, processing
// instructions, non-ASCII or control bytes, duplicate attributes, any error) it returns
// nil and the caller parses the element with etree itself, so error reporting and the
// tree are exactly etree's, except that whitespace-only text between elements is left out
// (every text the reader uses is trimmed). FuzzFastParse checks the two agree.
//
// The tree is read, never changed, so it is built without etree's constructors: the
// elements, texts, attributes and child lists of one package are cut from four slices
// (reused from package to package by each worker), and names and plain texts are
// substrings of one copy of the element. A package then costs a handful of allocations instead of one or
// more per node. The nodes have no parent links, which the reader never follows.
func fastParse(b []byte) *etree.Element { return fastParseIn(nil, b) }

// treeArena keeps the node slices of fastParse for the next element, so a worker parsing
// package after package allocates only the copy of each package's text. A tree built in an
// arena is valid until the next fastParseIn with the same arena; the strings in it (which
// keys keep) are not in the arena and stay valid.
type treeArena struct {
	els   []etree.Element
	texts []etree.CharData
	toks  []etree.Token
	attrs []etree.Attr
}

// slab returns s emptied when it has room for n, else a new slice of capacity n.
func slab[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:0]
	}
	return make([]T, 0, n)
}

// fastParseIn is fastParse building the tree in a (nil: fresh slices).
func fastParseIn(a *treeArena, b []byte) *etree.Element {
	if a == nil {
		a = &treeArena{}
	}
	// Every element and every text run starts at or ends before a '<', so counting them
	// bounds the nodes. Elements and texts are taken by address, so their slices must not
	// grow; child lists and attributes are cut as sub-slices and may (the ones already cut
	// keep the old array).
	tags := bytes.Count(b, []byte{'<'})
	if tags == 0 {
		return nil
	}
	src := string(b)
	els := slab(a.els, tags)
	texts := slab(a.texts, tags)
	toks := slab(a.toks, 2*tags)
	attrs := slab(a.attrs, 16)
	defer func() { a.els, a.texts, a.toks, a.attrs = els, texts, toks, attrs }()

	type open struct {
		el    *etree.Element
		name  string
		first int // index in pending of the element's first child
	}
	var stackBuf [16]open
	stack := stackBuf[:0]
	// pending holds the children of the open elements in document order; when an element
	// closes its children move to toks.
	var pendingBuf [64]etree.Token
	pending := pendingBuf[:0]
	var root *etree.Element

	closeTop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if kids := pending[top.first:]; len(kids) > 0 {
			s := len(toks)
			toks = append(toks, kids...)
			top.el.Child = toks[s:len(toks):len(toks)]
		}
		pending = pending[:top.first]
		if len(stack) > 0 {
			pending = append(pending, top.el)
		}
	}

	i := 0
	n := len(b)
	for i < n {
		if b[i] != '<' {
			// Character data up to the next tag.
			j := i
			hasAmp, hasCR := false, false
			for j < n && b[j] != '<' {
				c := b[j]
				switch {
				case c == '&':
					hasAmp = true
				case c == '\r':
					hasCR = true
				case c >= 0x80 || c < 0x20 && c != '\t' && c != '\n':
					return nil
				case c == '>' && j >= 2 && b[j-1] == ']' && b[j-2] == ']':
					return nil
				}
				j++
			}
			if len(stack) == 0 {
				return nil
			}
			if !hasAmp && isBlank(b[i:j]) {
				// Indentation between elements: the reader trims all text, so the
				// tree leaves it out.
				i = j
				continue
			}
			text, ok := src[i:j], true
			if hasAmp || hasCR {
				text, ok = charData(b[i:j], hasAmp, hasCR)
			}
			if !ok || len(texts) == cap(texts) {
				return nil
			}
			texts = append(texts, etree.CharData{Data: text})
			pending = append(pending, &texts[len(texts)-1])
			i = j
			continue
		}
		if i+1 >= n {
			return nil
		}
		if b[i+1] == '/' {
			// End tag.
			j := i + 2
			nameEnd := scanName(b, j)
			if nameEnd == j || len(stack) == 0 {
				return nil
			}
			k := nameEnd
			for k < n && isXMLSpace(b[k]) {
				k++
			}
			if k >= n || b[k] != '>' {
				return nil
			}
			if stack[len(stack)-1].name != src[j:nameEnd] {
				return nil
			}
			closeTop()
			i = k + 1
			if len(stack) == 0 {
				if i != n {
					return nil
				}
				return root
			}
			continue
		}
		// Start tag.
		j := i + 1
		nameEnd := scanName(b, j)
		if nameEnd == j {
			return nil // comment, CDATA, PI, declaration or a bad name
		}
		if len(stack) == 0 && root != nil || len(els) == cap(els) {
			return nil
		}
		name := src[j:nameEnd]
		els = append(els, etree.Element{})
		el := &els[len(els)-1]
		el.Space, el.Tag = splitName(name)
		if root == nil {
			root = el
		}
		k := nameEnd
		selfClose := false
		firstAttr := len(attrs)
		for {
			sp := k
			for k < n && isXMLSpace(b[k]) {
				k++
			}
			if k >= n {
				return nil
			}
			if b[k] == '>' {
				k++
				break
			}
			if b[k] == '/' {
				if k+1 < n && b[k+1] == '>' {
					selfClose = true
					k += 2
					break
				}
				return nil
			}
			if sp == k {
				return nil // attributes must be separated by whitespace
			}
			an := k
			ae := scanName(b, an)
			if ae == an {
				return nil
			}
			k = ae
			for k < n && isXMLSpace(b[k]) {
				k++
			}
			if k >= n || b[k] != '=' {
				return nil
			}
			k++
			for k < n && isXMLSpace(b[k]) {
				k++
			}
			if k >= n || b[k] != '"' && b[k] != '\'' {
				return nil
			}
			q := b[k]
			vs := k + 1
			ve := vs
			hasAmp, hasCR := false, false
			for ve < n && b[ve] != q {
				c := b[ve]
				switch {
				case c == '&':
					hasAmp = true
				case c == '\r':
					hasCR = true
				case c == '<' || c >= 0x80 || c < 0x20 && c != '\t' && c != '\n':
					return nil
				}
				ve++
			}
			if ve >= n {
				return nil
			}
			val, ok := src[vs:ve], true
			if hasAmp || hasCR {
				val, ok = charData(b[vs:ve], hasAmp, hasCR)
			}
			if !ok {
				return nil
			}
			space, key := splitName(src[an:ae])
			for _, a := range attrs[firstAttr:] {
				if a.Space == space && a.Key == key {
					return nil // duplicate attribute: etree's error
				}
			}
			attrs = append(attrs, etree.Attr{Space: space, Key: key, Value: val})
			k = ve + 1
		}
		if len(attrs) > firstAttr {
			el.Attr = attrs[firstAttr:len(attrs):len(attrs)]
		}
		i = k
		if selfClose {
			if len(stack) == 0 {
				if i != n {
					return nil
				}
				return root
			}
			pending = append(pending, el)
			continue
		}
		stack = append(stack, open{el: el, name: name, first: len(pending)})
	}
	return nil
}

// scanName returns the end of an ASCII XML name (with at most one colon) starting at i;
// i when there is none.
func scanName(b []byte, i int) int {
	j := i
	colons := 0
	for j < len(b) {
		c := b[j]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
		case c >= '0' && c <= '9' || c == '-' || c == '.':
			if j == i {
				return i
			}
		case c == ':':
			if j == i {
				return i
			}
			colons++
		default:
			goto done
		}
		j++
	}
done:
	if colons > 1 || j > i && b[j-1] == ':' {
		return i
	}
	return j
}

// charData decodes text as encoding/xml does: CR LF and lone CR become LF, and the
// predefined entities and character references are resolved.
func charData(b []byte, hasAmp, hasCR bool) (string, bool) {
	if !hasAmp && !hasCR {
		return string(b), true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			out = append(out, '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			continue
		}
		out = append(out, c)
	}
	if !hasAmp {
		return string(out), true
	}
	s, ok := unescape(string(out))
	if !ok {
		return "", false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x80 {
			return "", false // let encoding/xml judge unusual character references
		}
	}
	return s, true
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isXMLSpace(c) {
			return false
		}
	}
	return true
}
