package pskc

import (
	"bytes"
	"errors"
	"io"
)

// The scanner cuts the document into its top-level parts without building a tree: the
// root start tag, then each child of the root as one byte slice, which is parsed on its
// own. Only one child is held at a time, so memory does not grow with the file. It checks
// what a tree parser would for the parts it does not hand on (prolog, root tag, nesting
// balance) and refuses DOCTYPEs and entity declarations outright.

const (
	readChunk  = 256 << 10
	maxElement = 16 << 20 // a KeyPackage larger than this is refused rather than buffered
)

type scanner struct {
	r    io.Reader
	buf  []byte
	pos  int // next unread byte in buf
	eof  bool
	rerr error
	line int // line number at buf[pos]
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, 0, readChunk), line: 1}
}

// fill reads more input, keeping buf[keep:]; it returns how far existing offsets moved
// (subtract from them), and an error at the end of input. The shift is returned with the
// error too: the buffer may have moved before the read found the end, and a caller that
// goes on with what it already holds (element, near the end of a short file) must adjust.
func (s *scanner) fill(keep int) (int, error) {
	if s.eof {
		if s.rerr != nil {
			return 0, s.rerr
		}
		return 0, io.ErrUnexpectedEOF
	}
	shift := 0
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:])
		s.buf = s.buf[:n]
		s.pos -= keep
		shift = keep
	}
	if len(s.buf) >= maxElement {
		return 0, errTooLarge
	}
	if cap(s.buf)-len(s.buf) < readChunk/2 {
		nb := make([]byte, len(s.buf), 2*cap(s.buf)+readChunk)
		copy(nb, s.buf)
		s.buf = nb
	}
	for {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.rerr = err
			}
			if n == 0 {
				if s.rerr != nil {
					return shift, s.rerr
				}
				return shift, io.ErrUnexpectedEOF
			}
			return shift, nil
		}
		if n > 0 {
			return shift, nil
		}
	}
}

var errTooLarge = errors.New("element too large")

// advance moves pos to end, counting lines.
func (s *scanner) advance(end int) {
	s.line += bytes.Count(s.buf[s.pos:end], nl)
	s.pos = end
}

var nl = []byte{'\n'}

// ensure makes at least n bytes available from pos; false at end of input.
func (s *scanner) ensure(n int) bool {
	for len(s.buf)-s.pos < n {
		if _, err := s.fill(s.pos); err != nil {
			return false
		}
	}
	return true
}

// tokKind is what comes next at the top level.
type tokKind int

const (
	tokEOF tokKind = iota
	tokStart
	tokEnd
	tokText // non-whitespace character data
)

// skipMisc skips whitespace, comments and processing instructions and reports what
// follows. DOCTYPE and other declarations are refused; CDATA is reported as text.
func (s *scanner) skipMisc() (tokKind, *Error) {
	for {
		if !s.ensure(1) {
			return tokEOF, s.eofErr()
		}
		c := s.buf[s.pos]
		if isXMLSpace(c) {
			if c == '\n' {
				s.line++
			}
			s.pos++
			continue
		}
		if c != '<' {
			return tokText, nil
		}
		if !s.ensure(2) {
			return tokEOF, s.eofErr()
		}
		switch s.buf[s.pos+1] {
		case '/':
			return tokEnd, nil
		case '?':
			if err := s.skipTo(2, "?>"); err != nil {
				return tokEOF, err
			}
		case '!':
			s.ensure(9)
			rest := s.buf[s.pos:]
			switch {
			case bytes.HasPrefix(rest, []byte("<!--")):
				if err := s.skipTo(4, "-->"); err != nil {
					return tokEOF, err
				}
			case bytes.HasPrefix(rest, []byte("<![CDATA[")):
				return tokText, nil
			default:
				return tokEOF, s.declErr()
			}
		default:
			return tokStart, nil
		}
	}
}

func (s *scanner) declErr() *Error {
	rest := s.buf[s.pos:]
	if len(rest) > 10 {
		rest = rest[:10]
	}
	up := bytes.ToUpper(rest)
	e := newError(ClassXML, "unexpected markup declaration")
	if bytes.HasPrefix(up, []byte("<!DOCTYPE")) || bytes.HasPrefix(up, []byte("<!ENTITY")) || bytes.HasPrefix(up, []byte("<!")) {
		e = newError(ClassDoctype, "DOCTYPE and entity declarations are refused (they are never resolved)")
	}
	e.Line = s.line
	return e
}

func (s *scanner) eofErr() *Error {
	if s.rerr != nil {
		return &Error{Class: ClassXML, Line: s.line, Msg: "reading the file: " + s.rerr.Error()}
	}
	return nil
}

// skipTo skips from pos past the terminator, starting the search at pos+from.
func (s *scanner) skipTo(from int, term string) *Error {
	end, err := s.find(s.pos+from, term)
	if err != nil {
		return err
	}
	s.advance(end)
	return nil
}

// find returns the offset just past term, searching from off and reading more as needed
// (keeping buf from pos).
func (s *scanner) find(off int, term string) (int, *Error) {
	t := []byte(term)
	for {
		if i := bytes.Index(s.buf[off:], t); i >= 0 {
			return off + i + len(t), nil
		}
		if n := len(s.buf) - len(t) + 1; n > off {
			off = n
		}
		shift, err := s.fill(s.pos)
		if err != nil {
			return 0, s.truncated(err)
		}
		off -= shift
	}
}

func (s *scanner) truncated(err error) *Error {
	if errors.Is(err, errTooLarge) {
		return &Error{Class: ClassXML, Line: s.line, Msg: "an element is larger than 16 MiB"}
	}
	if s.rerr != nil {
		return &Error{Class: ClassXML, Line: s.line, Msg: "reading the file: " + s.rerr.Error()}
	}
	return &Error{Class: ClassXML, Line: s.line, Msg: "unexpected end of file (truncated document)"}
}

// tagEnd returns the offset just past the '>' closing the tag starting at off, honouring
// quoted attribute values.
func (s *scanner) tagEnd(off int) (int, *Error) {
	i := off + 1
	// Fast path, with IndexByte (vectorised) rather than a loop over every byte: find the
	// next '>' and accept it when no quote or '<' comes before it; a quoted value is skipped
	// whole. When the buffer runs out the byte loop below takes over, reading more.
	for {
		gt := bytes.IndexByte(s.buf[i:], '>')
		if gt < 0 {
			break
		}
		seg := s.buf[i : i+gt]
		q := -1
		if k := bytes.IndexByte(seg, '"'); k >= 0 {
			q = k
		}
		if k := bytes.IndexByte(seg, '\''); k >= 0 && (q < 0 || k < q) {
			q = k
		}
		if lt := bytes.IndexByte(seg, '<'); lt >= 0 && (q < 0 || lt < q) {
			return 0, &Error{Class: ClassXML, Line: s.line, Msg: "not well-formed: '<' inside a tag"}
		}
		if q < 0 {
			return i + gt + 1, nil
		}
		end := bytes.IndexByte(s.buf[i+q+1:], seg[q])
		if end < 0 {
			break
		}
		i += q + 1 + end + 1
	}
	var quote byte
	for {
		for ; i < len(s.buf); i++ {
			c := s.buf[i]
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '>':
				return i + 1, nil
			case c == '<':
				return 0, &Error{Class: ClassXML, Line: s.line, Msg: "not well-formed: '<' inside a tag"}
			}
		}
		shift, err := s.fill(s.pos)
		if err != nil {
			return 0, s.truncated(err)
		}
		i -= shift
		off -= shift
	}
}

// element returns the complete element starting at pos (a start tag) and moves past it.
// The returned slice is valid until the next scanner call.
func (s *scanner) element() ([]byte, int, *Error) {
	startLine := s.line
	depth := 0
	i := s.pos
	for {
		j := bytes.IndexByte(s.buf[i:], '<')
		if j < 0 {
			i = len(s.buf)
			shift, err := s.fill(s.pos)
			if err != nil {
				return nil, 0, s.truncated(err)
			}
			i -= shift
			continue
		}
		i += j
		for len(s.buf)-i < 9 {
			shift, err := s.fill(s.pos)
			i -= shift
			if err != nil {
				if len(s.buf)-i >= 2 {
					break
				}
				return nil, 0, s.truncated(err)
			}
		}
		rest := s.buf[i:]
		var end int
		var err *Error
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end, err = s.find(i+4, "-->")
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end, err = s.find(i+9, "]]>")
		case bytes.HasPrefix(rest, []byte("<?")):
			end, err = s.find(i+2, "?>")
		case bytes.HasPrefix(rest, []byte("<!")):
			save := s.pos
			s.pos = i
			e := s.declErr()
			s.pos = save
			return nil, 0, e
		case bytes.HasPrefix(rest, []byte("</")):
			end, err = s.tagEnd(i)
			depth--
		default:
			end, err = s.tagEnd(i)
			if err == nil && s.buf[end-2] != '/' {
				depth++
			}
		}
		if err != nil {
			return nil, 0, err
		}
		i = end // find and tagEnd return offsets in the (possibly moved) current buffer
		if depth == 0 {
			el := s.buf[s.pos:end]
			s.advance(end)
			return el, startLine, nil
		}
		if depth < 0 {
			return nil, 0, &Error{Class: ClassXML, Line: s.line, Msg: "not well-formed: unexpected end tag"}
		}
	}
}
