package pskc

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"io"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// NamespaceRFC6030 is the namespace of RFC 6030 PSKC documents.
const NamespaceRFC6030 = "urn:ietf:params:xml:ns:keyprov:pskc"

// Reader streams the keys of one PSKC document. Keys are parsed (and decrypted) on
// background goroutines in document order; call Close when abandoning a Reader before
// Next has returned an error or io.EOF.
type Reader struct {
	opts Options
	now  time.Time

	warnings    []Warning
	pending     []*Key
	nextIndex   int
	final       error
	macVerified bool
	draftWarned bool
	seed        maphash.Seed
	seen        map[uint64]struct{}

	// Plain-text secrets in a file whose header declares no protection are judged here,
	// in document order: they are refused (or warned about) once an encrypted value shows
	// the file does protect its keys. heldPlain keeps those seen before the first encrypted
	// value, at most maxHeldPlain (beyond that heldMore counts them), so memory stays flat.
	encSeen   bool
	heldPlain []plainRef
	heldMore  int

	order    chan *job
	quit     chan struct{}
	stopOnce sync.Once
}

type jobKind int

const (
	jobPackage jobKind = iota
	jobWarning
	jobError
	jobEnd
)

type job struct {
	kind jobKind
	num  int
	line int
	data []byte
	done chan struct{}
	res  *pkgResult
	warn Warning
	err  *Error
	ctx  *cryptoCtx
}

var xmlDeclEncoding = regexp.MustCompile(`^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// NewReader reads the prolog and the root element of a PSKC document and starts reading
// its packages. It returns an *Error for a document refused outright (not XML, a DOCTYPE,
// not a PSKC container, an unsupported charset).
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	rd := &Reader{opts: opts, now: opts.Now, seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}
	if rd.now.IsZero() {
		rd.now = time.Now()
	}
	src, err := rd.decodeCharset(r)
	if err != nil {
		return nil, err
	}
	s := newScanner(&crReader{r: src})
	kind, perr := s.skipMisc()
	if perr != nil {
		return nil, perr
	}
	switch kind {
	case tokEOF:
		return nil, &Error{Class: ClassXML, Line: s.line, Msg: "not XML: the file has no root element"}
	case tokText, tokEnd:
		return nil, &Error{Class: ClassXML, Line: s.line, Msg: "not XML: the file does not start with an XML element"}
	}
	rootLine := s.line
	end, perr := s.tagEnd(s.pos)
	if perr != nil {
		return nil, perr
	}
	rawTag := append([]byte(nil), s.buf[s.pos:end]...)
	prefix, local, attrs, selfClose, ok := parseStartTag(rawTag)
	if !ok {
		return nil, &Error{Class: ClassXML, Line: rootLine, Msg: "not well-formed: bad root start tag"}
	}
	ns, version, hasVersion := "", "", false
	for _, a := range attrs {
		switch {
		case a.prefix == "xmlns" && a.local == prefix, a.prefix == "" && a.local == "xmlns" && prefix == "":
			ns = a.value
		case a.prefix == "" && (a.local == "Version" || a.local == "version"):
			version, hasVersion = a.value, true
		}
	}
	if local != "KeyContainer" && local != "SecretContainer" {
		return nil, notPSKC(s, local, ns, rootLine)
	}
	s.advance(end)

	if ns != NamespaceRFC6030 {
		what := "no namespace"
		if ns != "" {
			what = fmt.Sprintf("namespace %q", limit(ns))
		}
		rd.containerWarn(WarnNamespace, rootLine, "the container is in %s, not %s; read by element names", what, NamespaceRFC6030)
	}
	if !hasVersion {
		rd.containerWarn(WarnNoVersion, rootLine, "the container has no Version attribute")
	}
	draftRoot := local == "SecretContainer"
	if draftRoot {
		rd.warnDraft(rootLine)
	}

	rd.order = make(chan *job, 32)
	rd.quit = make(chan struct{})
	p := &producer{rd: rd, s: s, rootName: string(rawTag[1 : 1+len(prefix)+len(local)+boolInt(prefix != "")]),
		selfClose: selfClose, draftRoot: draftRoot, version: version, hasVersion: hasVersion}
	if prefix == "" {
		p.rootName = local
	}
	workers := min(max(runtime.GOMAXPROCS(0), 1), 4)
	p.work = make(chan *job, workers*2)
	for range workers {
		go worker(p.work, rd)
	}
	go p.run()
	return rd, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// notPSKC tells a well-formed non-PSKC document (not-pskc) from one that is not even
// well-formed XML (xml), reading the rest of the root element to decide.
// The message names the root and its namespace (as declared on the root itself), so an
// administrator who picked the wrong file sees which document it is.
func notPSKC(s *scanner, local, ns string, line int) *Error {
	el, _, err := s.element()
	if err != nil {
		return err
	}
	doc := etree.NewDocument()
	if e := doc.ReadFromBytes(el); e != nil {
		return &Error{Class: ClassXML, Line: line, Msg: "not well-formed XML"}
	}
	if kind, err := s.skipMisc(); err != nil || kind != tokEOF {
		return &Error{Class: ClassXML, Line: s.line, Msg: "not well-formed: content after the root element"}
	}
	where := "in no namespace"
	if ns != "" {
		where = fmt.Sprintf("in namespace %q", limit(ns))
	}
	return &Error{Class: ClassNotPSKC, Line: line, Msg: fmt.Sprintf("not a PSKC file: the root element is <%s> %s, not <KeyContainer> in %s", limit(local), where, NamespaceRFC6030)}
}

func (rd *Reader) containerWarn(code string, line int, format string, args ...any) {
	rd.warnings = append(rd.warnings, Warning{Code: code, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (rd *Reader) warnDraft(line int) {
	if !rd.draftWarned {
		rd.draftWarned = true
		rd.containerWarn(WarnDraftFormat, line, "the file uses a pre-RFC 6030 draft layout")
	}
}

// decodeCharset returns r as UTF-8: a UTF-8 BOM is dropped; UTF-16 (by BOM or by its
// first bytes) and declared non-UTF-8 encodings are converted, with a charset warning.
func (rd *Reader) decodeCharset(r io.Reader) (io.Reader, *Error) {
	head := make([]byte, 1024)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, &Error{Class: ClassXML, Msg: "reading the file: " + err.Error()}
	}
	if n == 0 {
		return nil, &Error{Class: ClassXML, Msg: "not XML: the file is empty"}
	}
	rest := io.MultiReader(bytes.NewReader(head), r)
	var enc encoding.Encoding
	var name string
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0x3C, 0x00, 0x3F, 0x00}):
		enc, name = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), "UTF-16LE"
		if head[0] != 0xFF {
			enc = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
		}
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}), bytes.HasPrefix(head, []byte{0x00, 0x3C, 0x00, 0x3F}):
		enc, name = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), "UTF-16BE"
		if head[0] != 0xFE {
			enc = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
		}
	default:
		if bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) {
			rest = io.MultiReader(bytes.NewReader(head[3:]), r)
			head = head[3:]
		}
		decl := bytes.TrimLeft(head, " \t\r\n")
		m := xmlDeclEncoding.FindSubmatch(decl)
		if m == nil {
			return rest, nil
		}
		name = string(m[1])
		switch strings.ToLower(name) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return rest, nil
		case "utf-16", "utf-16le", "utf-16be", "ucs-2":
			// Declared UTF-16 but stored in 8-bit form: the declaration is wrong, the bytes
			// are read as UTF-8 (which a tree parser would also do).
			return rest, nil
		}
		e, lerr := ianaindex.IANA.Encoding(name)
		if lerr != nil || e == nil {
			return nil, &Error{Class: ClassXML, Line: 1, Msg: fmt.Sprintf("unsupported character encoding %q", limit(name))}
		}
		enc = e
	}
	rd.containerWarn(WarnCharset, 1, "the file is encoded in %s; converted to UTF-8", name)
	return transform.NewReader(rest, enc.NewDecoder()), nil
}

// producer runs the scanner: it resolves the header, hands packages to the workers and
// queues every event in document order.
type producer struct {
	rd         *Reader
	s          *scanner
	work       chan *job
	rootName   string
	selfClose  bool
	draftRoot  bool
	version    string
	hasVersion bool
	hdr        header
	ctx        *cryptoCtx
	num        int
}

func (p *producer) send(j *job) bool {
	select {
	case p.rd.order <- j:
		return true
	case <-p.rd.quit:
		return false
	}
}

func (p *producer) fail(e *Error) {
	p.send(&job{kind: jobError, err: e})
}

func (p *producer) run() {
	defer close(p.rd.order)
	defer close(p.work)
	if !p.selfClose {
		if !p.body() {
			return
		}
	}
	// Trailing misc after the root element.
	kind, err := p.s.skipMisc()
	if err != nil {
		p.fail(err)
		return
	}
	if kind != tokEOF {
		p.fail(&Error{Class: ClassXML, Line: p.s.line, Msg: "not well-formed: content after the root element"})
		return
	}
	if p.ctx == nil && !p.freeze(false, 0) {
		return
	}
	p.send(&job{kind: jobEnd})
}

// freeze ends the header: it checks the version against the layout and resolves the keys.
func (p *producer) freeze(device bool, line int) bool {
	if !p.draftRoot && !device && p.hasVersion {
		if v := trimXML(p.version); v != "1" && v != "1.0" {
			p.fail(&Error{Class: ClassVersion, Line: 1, Msg: fmt.Sprintf("unsupported PSKC version %q (RFC 6030 is version 1.0)", limit(p.version))})
			return false
		}
	}
	p.ctx = p.hdr.resolve(&p.rd.opts)
	return true
}

// body reads the children of the root up to its end tag; false when it failed.
func (p *producer) body() bool {
	s := p.s
	for {
		kind, err := s.skipMisc()
		if err != nil {
			p.fail(err)
			return false
		}
		switch kind {
		case tokEOF:
			p.fail(&Error{Class: ClassXML, Line: s.line, Msg: "unexpected end of file (truncated document)"})
			return false
		case tokText:
			if err := p.skipText(); err != nil {
				p.fail(err)
				return false
			}
			continue
		case tokEnd:
			end, err := s.tagEnd(s.pos)
			if err != nil {
				p.fail(err)
				return false
			}
			name := strings.TrimRight(string(s.buf[s.pos+2:end-1]), " \t\r\n")
			if name != p.rootName {
				p.fail(&Error{Class: ClassXML, Line: s.line, Msg: "not well-formed: mismatched end tag of the root element"})
				return false
			}
			s.advance(end)
			return true
		}
		el, line, err := s.element()
		if err != nil {
			p.fail(err)
			return false
		}
		if !p.child(el, line) {
			return false
		}
	}
}

// skipText skips character data (and CDATA sections) between the root's children.
func (p *producer) skipText() *Error {
	s := p.s
	for {
		if !s.ensure(9) && len(s.buf)-s.pos == 0 {
			return &Error{Class: ClassXML, Line: s.line, Msg: "unexpected end of file (truncated document)"}
		}
		if bytes.HasPrefix(s.buf[s.pos:], []byte("<![CDATA[")) {
			if err := s.skipTo(9, "]]>"); err != nil {
				return err
			}
			continue
		}
		if s.buf[s.pos] == '<' {
			return nil
		}
		i := bytes.IndexByte(s.buf[s.pos:], '<')
		if i < 0 {
			s.advance(len(s.buf))
			continue
		}
		s.advance(s.pos + i)
	}
}

func elementName(el []byte) string {
	i := 1
	for i < len(el) && !isXMLSpace(el[i]) && el[i] != '>' && el[i] != '/' {
		i++
	}
	_, local := splitName(string(el[1:i]))
	return local
}

func parseFragment(el []byte, line int) (*etree.Element, *Error) {
	return parseFragmentIn(nil, el, line)
}

// parseFragmentIn is parseFragment building the tree in a (see fastParseIn).
func parseFragmentIn(a *treeArena, el []byte, line int) (*etree.Element, *Error) {
	if root := fastParseIn(a, el); root != nil {
		return root, nil
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(el); err != nil || doc.Root() == nil {
		if !utf8.Valid(el) {
			// Most often a Latin-1 or Windows-1252 export without an XML declaration:
			// say so rather than leave the administrator to hunt for a syntax error.
			return nil, &Error{Class: ClassXML, Line: line, Msg: "the text is not UTF-8: a file in another encoding (ISO-8859-1, Windows-1252...) must name it in its XML declaration, e.g. <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"}
		}
		return nil, &Error{Class: ClassXML, Line: line, Msg: "not well-formed XML in this element"}
	}
	return doc.Root(), nil
}

func (p *producer) child(el []byte, line int) bool {
	name := elementName(el)
	switch name {
	case "KeyPackage", "Device":
		p.num++
		if p.ctx == nil && !p.freeze(name == "Device", line) {
			return false
		}
		buf := dataPool.Get().(*[]byte)
		*buf = append((*buf)[:0], el...)
		j := &job{kind: jobPackage, num: p.num, line: line, data: *buf, done: make(chan struct{}), ctx: p.ctx}
		if !p.send(j) {
			return false
		}
		select {
		case p.work <- j:
			return true
		case <-p.rd.quit:
			return false
		}
	}
	root, err := parseFragment(el, line)
	if err != nil {
		p.fail(err)
		return false
	}
	switch name {
	case "EncryptionKey", "EncryptionMethod", "MACMethod", "DigestMethod", "MACAlgorithm":
		if p.ctx != nil {
			p.fail(&Error{Class: ClassXML, Line: line, Msg: fmt.Sprintf("<%s> after the first key package (RFC 6030 puts it before them)", name)})
			return false
		}
		switch name {
		case "EncryptionKey", "MACMethod", "MACAlgorithm":
			p.hdr.protected = true
		}
		switch name {
		case "EncryptionKey", "EncryptionMethod":
			p.hdr.encryptionKey(root)
		case "MACMethod", "DigestMethod":
			p.hdr.macMethod(root)
		case "MACAlgorithm":
			p.hdr.macAlg = trimXML(rawText(root))
		}
	case "Signature":
		return p.send(&job{kind: jobWarning, warn: Warning{Code: WarnSignatureUnverified, Line: line, Message: "the file's XML signature is not verified"}})
	}
	return true
}

// dataPool recycles the buffers that carry a package from the scanner to a worker.
var dataPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func worker(work <-chan *job, rd *Reader) {
	var arena treeArena
	for j := range work {
		// The tree is dropped before the next package: keys keep only strings and bytes.
		root, err := parseFragmentIn(&arena, j.data, j.line)
		if err != nil {
			err.Package = j.num
			j.res = &pkgResult{err: err}
		} else {
			j.res = parsePackage(root, j.num, j.line, j.ctx, &rd.opts, rd.now)
		}
		// The tree holds copies of every string, so the package bytes can be reused.
		if cap(j.data) <= 64<<10 {
			b := j.data[:0]
			dataPool.Put(&b)
		}
		j.data = nil
		close(j.done)
	}
}

// Next returns the next key in document order, io.EOF after the last one, or an *Error
// that refuses the whole file. Keys returned before an error must be discarded: the file
// is valid only when Next reaches io.EOF.
func (rd *Reader) Next() (*Key, error) {
	for len(rd.pending) == 0 {
		if rd.final != nil {
			return nil, rd.final
		}
		j, ok := <-rd.order
		if !ok {
			rd.finish(&Error{Class: ClassXML, Msg: "reader closed"})
			continue
		}
		switch j.kind {
		case jobWarning:
			rd.warnings = append(rd.warnings, j.warn)
		case jobError:
			rd.finish(j.err)
		case jobEnd:
			rd.final = io.EOF
			rd.Close()
		case jobPackage:
			<-j.done
			rd.takePackage(j)
		}
	}
	k := rd.pending[0]
	rd.pending[0] = nil
	rd.pending = rd.pending[1:]
	return k, nil
}

func (rd *Reader) finish(e *Error) {
	rd.final = e
	rd.pending = nil
	rd.Close()
}

func (rd *Reader) takePackage(j *job) {
	res := j.res
	if res.err != nil {
		e := res.err
		if res.macAmbiguous && rd.macVerified {
			// An earlier value verified with the same key, so the key is right and this
			// value was altered.
			e.Class = ClassMACMismatch
			e.Msg = strings.TrimSuffix(e.Msg, keyForPasswordHint)
			e.Msg = strings.Replace(e.Msg, "wrong key or password (the ValueMAC does not verify)", "the ValueMAC does not verify although earlier values did: the file was altered", 1)
		}
		rd.finish(e)
		return
	}
	rd.macVerified = rd.macVerified || res.macVerified
	if e := rd.checkPlain(res); e != nil {
		rd.finish(e)
		return
	}
	if res.draft {
		rd.warnDraft(j.line)
	}
	rd.warnings = append(rd.warnings, res.warnings...)
	if res.serial != "" {
		h := maphash.String(rd.seed, res.serial)
		if _, dup := rd.seen[h]; dup {
			rd.warnings = append(rd.warnings, Warning{Code: WarnDuplicateSerial, Package: j.num, Serial: res.serial, Line: j.line,
				Message: fmt.Sprintf("serial %q already appeared in an earlier key package", res.serial)})
		} else {
			rd.seen[h] = struct{}{}
		}
	}
	for _, k := range res.keys {
		k.Index = rd.nextIndex
		rd.nextIndex++
		rd.pending = append(rd.pending, k)
	}
}

// maxHeldPlain bounds the plain-text secrets remembered before the first encrypted value.
const maxHeldPlain = 1000

// checkPlain judges the package's plain-text secrets against the rest of the file (see
// Reader.encSeen): a plain-value error, or warnings when they are allowed.
func (rd *Reader) checkPlain(res *pkgResult) *Error {
	const other = "a file whose other keys are encrypted"
	if res.encrypted && !rd.encSeen {
		rd.encSeen = true
		if len(rd.heldPlain) > 0 {
			if !rd.opts.AllowPlainValue {
				return plainError(rd.heldPlain[0], other)
			}
			for _, r := range rd.heldPlain {
				rd.warnings = append(rd.warnings, plainWarning(r, other))
			}
			if rd.heldMore > 0 {
				r := rd.heldPlain[len(rd.heldPlain)-1]
				rd.warnings = append(rd.warnings, Warning{Code: WarnPlainValue, Package: r.pkg, Serial: r.serial, Line: r.line,
					Message: fmt.Sprintf("%d more keys after this one also have their secret in plain text (PlainValue) in %s", rd.heldMore, other)})
			}
			rd.heldPlain, rd.heldMore = nil, 0
		}
	}
	for _, r := range res.plain {
		switch {
		case rd.encSeen && !rd.opts.AllowPlainValue:
			return plainError(r, other)
		case rd.encSeen:
			rd.warnings = append(rd.warnings, plainWarning(r, other))
		case len(rd.heldPlain) < maxHeldPlain:
			rd.heldPlain = append(rd.heldPlain, r)
		default:
			rd.heldMore++
		}
	}
	return nil
}

func plainError(r plainRef, where string) *Error {
	return &Error{Class: ClassPlainValue, Package: r.pkg, Serial: r.serial, Line: r.line, Msg: fmt.Sprintf(plainValueRefused, r.name, where)}
}

func plainWarning(r plainRef, where string) Warning {
	return Warning{Code: WarnPlainValue, Package: r.pkg, Serial: r.serial, Line: r.line, Message: fmt.Sprintf(plainValueAllowed, r.name, where)}
}

// Warnings returns the warnings found so far; the list is complete once Next has
// returned io.EOF.
func (rd *Reader) Warnings() []Warning {
	return append([]Warning(nil), rd.warnings...)
}

// Close stops the background goroutines. It is safe to call more than once, and is done
// automatically when Next returns io.EOF or an error.
func (rd *Reader) Close() error {
	rd.stopOnce.Do(func() { close(rd.quit) })
	return nil
}
