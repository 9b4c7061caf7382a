package pskc

import (
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
func fastParse(b []byte) *etree.Element {
	var stack []*etree.Element
	var root *etree.Element
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
				// tree leaves it out (one allocation per run saved).
				i = j
				continue
			}
			text, ok := charData(b[i:j], hasAmp, hasCR)
			if !ok {
				return nil
			}
			stack[len(stack)-1].CreateText(text)
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
			name := b[j:nameEnd]
			k := nameEnd
			for k < n && isXMLSpace(b[k]) {
				k++
			}
			if k >= n || b[k] != '>' {
				return nil
			}
			top := stack[len(stack)-1]
			if !sameName(top, name) {
				return nil
			}
			stack = stack[:len(stack)-1]
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
		var el *etree.Element
		if len(stack) == 0 {
			if root != nil {
				return nil
			}
			el = etree.NewElement(internName(b[j:nameEnd]))
			root = el
		} else {
			el = stack[len(stack)-1].CreateElement(internName(b[j:nameEnd]))
		}
		k := nameEnd
		selfClose := false
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
			val, ok := charData(b[vs:ve], hasAmp, hasCR)
			if !ok {
				return nil
			}
			key := internName(b[an:ae])
			if el.SelectAttr(key) != nil {
				return nil
			}
			el.CreateAttr(key, val)
			k = ve + 1
		}
		i = k
		if selfClose {
			if len(stack) == 0 {
				if i != n {
					return nil
				}
				return root
			}
			continue
		}
		stack = append(stack, el)
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

func sameName(el *etree.Element, name []byte) bool {
	if el.Space == "" {
		return string(name) == el.Tag
	}
	return len(name) == len(el.Space)+1+len(el.Tag) && string(name[:len(el.Space)]) == el.Space &&
		name[len(el.Space)] == ':' && string(name[len(el.Space)+1:]) == el.Tag
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

// Interning the names and indentation that every package repeats saves most of the
// allocations of building a tree (the map lookup with string(b) does not allocate).
var internNames = func() map[string]string {
	names := []string{"KeyPackage", "Device", "DeviceInfo", "Manufacturer", "SerialNo", "Model", "IssueNo",
		"UserId", "CryptoModuleInfo", "Id", "Key", "Issuer", "AlgorithmParameters", "Suite", "ResponseFormat",
		"ChallengeFormat", "Data", "Secret", "PlainValue", "EncryptedValue", "EncryptionMethod", "CipherData",
		"CipherValue", "ValueMAC", "Counter", "Time", "TimeInterval", "TimeDrift", "Policy", "KeyUsage",
		"StartDate", "ExpiryDate", "FriendlyName", "Algorithm", "Length", "Encoding", "CheckDigits"}
	m := make(map[string]string)
	for _, p := range []string{"", "pskc:", "xenc:"} {
		for _, n := range names {
			m[p+n] = p + n
		}
	}
	return m
}()

func internName(b []byte) string {
	if s, ok := internNames[string(b)]; ok {
		return s
	}
	return string(b)
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isXMLSpace(c) {
			return false
		}
	}
	return true
}
