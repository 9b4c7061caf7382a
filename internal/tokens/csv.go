package tokens

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mfactl/mfactl/internal/csvdialect"
)

// The Azure OATH CSV reader. It is built on encoding/csv rather than gocsv's unmarshalling:
// the rules need what gocsv hides (the physical line of each row, the raw fields for
// --rejected, rows with the wrong number of fields reported instead of aborting, header names
// matched loosely), and it runs with ReuseRecord so that reading allocates one string per row.

// CSVOptions configure a CSVReader.
type CSVOptions struct {
	// Delimiter separates fields; 0 means ','. A first line "sep=X" (written by Excel)
	// overrides it.
	Delimiter rune
	// SecretEncoding is EncodingBase32 (the default when empty) or EncodingHex; hex secrets
	// are decoded to raw bytes like Base32 ones, so writing them out converts them.
	SecretEncoding string
	// ReuseRecord makes Next return the same *Record every time, overwritten by the next
	// call: its Fields, Problems and Token.Secret included (the strings stay valid). It saves
	// an allocation per row for callers that finish with a row before reading the next, such
	// as validation; by default every Record is the caller's to keep.
	ReuseRecord bool
}

// Record is one data row of the CSV.
type Record struct {
	// Line is the 1-based physical line where the row starts (blank lines are counted).
	Line int
	// Fields are the fields as read, for writing rejected rows verbatim. The slice is the
	// record's own. It is nil when the row could not be split into fields (csv.quote).
	Fields []string
	// Token holds the parsed values. Fields that failed their rule are left zero; Secret is
	// set only when the secret is usable. Use it only when Valid reports true.
	Token Token
	// Problems found in this row, in column order, then those added by a Checker.
	Problems []Problem
}

// Valid reports whether the record has no error-severity problem.
func (r Record) Valid() bool {
	for _, p := range r.Problems {
		if p.IsError() {
			return false
		}
	}
	return true
}

// maxRecordBytes bounds the memory one row may take. A token row is under 1 KiB; a larger one
// is an unterminated quote swallowing the rest of the file, which encoding/csv would otherwise
// buffer whole.
const maxRecordBytes = 1 << 20

var errRecordTooLong = errors.New("record longer than 1 MiB")

// CSVReader reads an Azure OATH CSV row by row, applying the per-row rules of docs/formats.md.
// Memory does not grow with the file. Rules that compare rows are applied by a Checker.
type CSVReader struct {
	cr          *csv.Reader
	lim         *limitedReader
	delim       rune
	encoding    string
	lineOffset  int  // lines consumed before encoding/csv saw the input (a "sep=" line)
	looksUTF16  bool // no byte-order mark, but every other byte of the start is NUL
	header      []string
	col         [6]int // field index of each of Columns
	headerPs    []Problem
	headerLimit ProblemLimit
	done        bool
	lastLine    int
	reuse       bool
	last        *recordAlloc // the record handed out last, when reuse is set
	err         error        // what ReadBatch returned last, once it is an error
}

// NewCSVReader reads the header of an Azure OATH CSV from r. A UTF-8 byte-order mark is
// skipped and UTF-16 with a byte-order mark is decoded. Problems with the header are returned
// by HeaderProblems, not as an error; the error is for bad options and failed reads.
func NewCSVReader(r io.Reader, opts CSVOptions) (*CSVReader, error) {
	delim := opts.Delimiter
	if delim == 0 {
		delim = ','
	}
	if !validDelimiter(delim) {
		return nil, fmt.Errorf("invalid delimiter %q", delim)
	}
	enc := opts.SecretEncoding
	switch enc {
	case "":
		enc = EncodingBase32
	case EncodingBase32, EncodingHex:
	default:
		return nil, fmt.Errorf("unknown secret encoding %q (want %s or %s)", enc, EncodingBase32, EncodingHex)
	}

	// The limit sits under the buffers so that encoding/csv reads straight from a
	// *bufio.Reader (it reuses one of 4 KiB or more) without another copy.
	lim := &limitedReader{r: r}
	in, err := csvdialect.Open(lim, delim, 64<<10)
	if err != nil {
		return nil, err
	}
	cr := &CSVReader{delim: in.Delimiter, encoding: enc, reuse: opts.ReuseRecord,
		lineOffset: in.LineOffset, looksUTF16: in.LooksUTF16}
	cr.lim = lim
	cr.cr = in.NewReader()
	cr.cr.ReuseRecord = true
	if err := cr.readHeader(); err != nil {
		return nil, err
	}
	return cr, nil
}

func validDelimiter(r rune) bool { return csvdialect.ValidDelimiter(r) }

// ParseDelimiter parses a --delimiter value: one character, or the names "tab" and "\t" for
// a tab (which is awkward to type in a shell), "comma", "semicolon" and "pipe".
func ParseDelimiter(s string) (rune, error) { return csvdialect.ParseDelimiter(s) }

// delimiterFlag is how the hint names a delimiter on the command line.
func delimiterFlag(d rune) string {
	if d == '\t' {
		return "--delimiter tab"
	}
	return "--delimiter '" + string(d) + "'"
}

// HeaderProblems returns the problems found in the header line. When one of them is an error
// the header is unusable and Next returns io.EOF at once: nothing else can be checked.
func (r *CSVReader) HeaderProblems() []Problem { return slices.Clone(r.headerPs) }

// Header returns the header fields as read (for writing rejected rows with their header).
func (r *CSVReader) Header() []string { return slices.Clone(r.header) }

// Delimiter returns the field separator in use (the option, or the file's "sep=" line).
func (r *CSVReader) Delimiter() rune { return r.delim }

var headerKeys = map[string]int{
	"upn": 0, "serialnumber": 1, "secretkey": 2, "timeinterval": 3, "manufacturer": 4, "model": 5,
}

// headerKey folds a header name for matching: case, spaces, underscores and hyphens ignored.
func headerKey(name string) string { return csvdialect.Fold(name) }

func knownColumn(folded string) bool {
	_, ok := headerKeys[folded]
	return ok
}

func (r *CSVReader) headerError(line int, column, msg string) {
	r.addHeaderProblem(errorAt(line, column, CodeCSVHeader, msg))
	r.done = true
}

// addHeaderProblem adds p to the header's problems unless its code already has
// MaxProblemsPerCode there: a header of many empty or repeated columns is then one summary
// problem, built without a message per column.
func (r *CSVReader) addHeaderProblem(p Problem) {
	r.headerPs = r.headerLimit.Add(r.headerPs, p)
}

func (r *CSVReader) readHeader() error {
	var fields []string
	line := 1 + r.lineOffset
	// The header is the reader's own (not overwritten by the next row), so that a header of
	// a million columns is not copied.
	r.cr.ReuseRecord = false
	defer func() { r.cr.ReuseRecord = true }()
	for {
		r.lim.reset()
		f, err := r.cr.Read()
		if errors.Is(err, io.EOF) {
			r.headerError(line, "", "the file is empty: the header "+strings.Join(Columns, ",")+" is required")
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			r.headerError(pe.StartLine+r.lineOffset, "", "the header cannot be parsed: "+quoteDefect(pe))
			return nil
		}
		if errors.Is(err, errRecordTooLong) {
			if len(f) > 0 {
				l, _ := r.cr.FieldPos(0)
				line = l + r.lineOffset
			}
			r.headerError(line, "", "the header is longer than 1 MiB: this is not a token CSV")
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading csv header: %w", err)
		}
		l, _ := r.cr.FieldPos(0)
		line = l + r.lineOffset
		if !allBlank(f) {
			fields = f
			break
		}
	}
	r.header = fields
	defer func() { r.headerPs = append(r.headerPs, r.headerLimit.Summaries(line)...) }()

	// Encoding first: a UTF-16 file without BOM shows as NUL bytes in every name.
	for i, f := range fields {
		if d := encodingDefect(f); d != "" {
			if d == msgNUL {
				d = csvdialect.NULDefect(f, r.fieldLine(i), r.looksUTF16)
			}
			r.addHeaderProblem(errorAt(line, "", CodeCSVEncoding, "header: "+d))
			break
		}
	}

	if err := csvdialect.CheckSeparator(line, fields, r.delim, knownColumn); err != nil {
		var se *csvdialect.SeparatorError
		errors.As(err, &se)
		r.addHeaderProblem(errorAt(line, "", CodeCSVDelimiter, err.Error()+"; pass "+delimiterFlag(se.Sep)))
		r.done = true
		return nil
	}

	for i := range r.col {
		r.col[i] = -1
	}
	matched, unknown := 0, 0
	for i, f := range fields {
		k, ok := headerKeys[headerKey(f)]
		if !ok {
			unknown++
			continue
		}
		if r.col[k] >= 0 {
			r.headerError(line, Columns[k], fmt.Sprintf("the column appears twice in the header (fields %d and %d)",
				r.col[k]+1, i+1))
			continue
		}
		r.col[k] = i
		matched++
	}
	if matched == 0 && len(r.headerPs) > 0 {
		r.done = true // the encoding problem above says why nothing matched
		return nil
	}
	if matched == 0 && len(fields) > 1 {
		// Probably a data row: its fields are not echoed, one of them may be a secret.
		r.headerError(line, "", "the first line is not the header (none of the six columns found); the file must start with "+
			strings.Join(Columns, ","))
		return nil
	}
	for k, i := range r.col {
		if i < 0 {
			r.headerError(line, Columns[k], "required column missing from the header")
		}
	}
	for i := 0; i < len(fields) && unknown > 0; i++ {
		if _, ok := headerKeys[headerKey(fields[i])]; ok {
			continue
		}
		unknown--
		if !r.headerLimit.Allow(CodeCSVColumnUnknown, SeverityWarning) {
			continue // counted for the summary; no message built
		}
		name := strings.TrimSpace(fields[i])
		var msg string
		switch {
		case name == "":
			msg = fmt.Sprintf("header field %d has no name; the column is ignored", i+1)
		case echoSafe(name):
			msg = "not one of the six columns; it is ignored"
		default:
			msg = fmt.Sprintf("header field %d is not one of the six columns; it is ignored", i+1)
			name = ""
		}
		r.headerPs = append(r.headerPs, warningAt(line, name, CodeCSVColumnUnknown, msg))
	}
	return nil
}

// fieldLine is the line where field i of the row read last starts.
func (r *CSVReader) fieldLine(i int) int {
	l, _ := r.cr.FieldPos(i)
	return l + r.lineOffset
}

// echoSafe reports whether an unknown header name may be quoted in a message: short, printable
// and not shaped like a secret (long runs of Base32 or hex characters).
func echoSafe(name string) bool {
	if len(name) > 40 || encodingDefect(name) != "" {
		return false
	}
	secretish := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if isBase32Char(c) || isHexChar(c) || (c >= 'a' && c <= 'z') {
			secretish++
			if secretish >= 16 {
				return false
			}
		} else {
			secretish = 0
		}
	}
	return true
}

func allBlank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// msgNUL is what encodingDefect returns for a NUL byte.
const msgNUL = csvdialect.MsgUTF16NoBOM

// encodingDefect returns why s is not clean UTF-8 text, or "" when it is. Besides invalid
// bytes it catches NUL (UTF-16 read as UTF-8) and U+FFFD (text that went through a wrong
// decoder before it reached us).
func encodingDefect(s string) string {
	// Eight bytes at a time while they are ASCII without NUL, the usual case.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		const lows, highs = 0x0101010101010101, 0x8080808080808080
		if (w|(w-lows)&^w)&highs != 0 { // a byte >= 0x80, or a zero byte
			break
		}
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == 0 {
				return msgNUL // the caller says where, or that the file is UTF-16
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError {
			if size == 1 {
				return "not valid UTF-8; save the file as UTF-8 (\"CSV UTF-8\" in Excel)"
			}
			return "U+FFFD replacement characters: the text was decoded with the wrong encoding on its way here"
		}
		i += size
	}
	return ""
}

func quoteDefect(pe *csv.ParseError) string {
	if errors.Is(pe.Err, csv.ErrBareQuote) {
		return fmt.Sprintf("a quote inside an unquoted field (line %d, byte %d); double it or quote the whole field",
			pe.Line, pe.Column)
	}
	return fmt.Sprintf("a quoted field is not closed properly (line %d, byte %d)", pe.Line, pe.Column)
}

// Next returns the next data row with the per-row problems, or io.EOF after the last row (at
// once when the header is unusable). Blank rows, including rows of empty fields that
// spreadsheets leave behind, are skipped. The error is for failed reads only: every defect in
// the data is a Problem in the Record.
func (r *CSVReader) Next() (*Record, error) {
	for {
		if r.done {
			return nil, io.EOF
		}
		r.lim.reset()
		fields, err := r.cr.Read()
		if err != nil {
			return r.readError(err, len(fields))
		}
		first, _ := r.cr.FieldPos(0)
		last, _ := r.cr.FieldPos(len(fields) - 1)
		r.lastLine = last + r.lineOffset
		if allBlank(fields) {
			continue
		}
		var reuse *recordAlloc
		if r.reuse {
			if r.last == nil {
				r.last = &recordAlloc{}
			}
			reuse = r.last
		}
		rec, secretBuf := newRecord(reuse, first+r.lineOffset, fields)
		r.checkRow(rec, secretBuf)
		return rec, nil
	}
}

// readError turns an error of encoding/csv (with the nfields fields it returned) into a record with a csv.quote problem, io.EOF or
// a read error. It is apart from Next so that the usual row pays nothing for it (a pointer
// given to errors.As escapes to the heap).
func (r *CSVReader) readError(err error, nfields int) (*Record, error) {
	if errors.Is(err, io.EOF) {
		r.done = true
		return nil, io.EOF
	}
	if errors.Is(err, errRecordTooLong) {
		r.done = true
		line := r.lastLine + 1
		if nfields > 0 {
			// encoding/csv returns what it read of the row: the line where the row starts.
			line = r.fieldLine(0)
		}
		return &Record{Line: line, Problems: []Problem{errorAt(line, "", CodeCSVQuote,
			"a row longer than 1 MiB (an unterminated quote?); reading stopped here")}}, nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line := pe.StartLine + r.lineOffset
		r.lastLine = pe.Line + r.lineOffset
		return &Record{Line: line, Problems: []Problem{errorAt(line, "", CodeCSVQuote,
			"row cannot be split into fields: "+quoteDefect(pe))}}, nil
	}
	return nil, fmt.Errorf("reading csv: %w", err)
}

// Batch is room for records read together by CSVReader.ReadBatch, so that reading and
// checking a file can run on two goroutines: one fills a batch while the other uses the
// previous one. With CSVOptions.ReuseRecord the records live inside the batch and are
// overwritten when it is filled again; otherwise every record is new and the caller's to keep.
type Batch struct {
	// Records are the records of the last ReadBatch, in file order.
	Records []*Record
	// InputOffset is the reader's InputOffset after the last of Records.
	InputOffset int64
	slots       []recordAlloc
}

// NewBatch returns a Batch of up to n records.
func NewBatch(n int) *Batch {
	return &Batch{Records: make([]*Record, 0, max(n, 1))}
}

// ReadBatch fills b with the next records, as many Next calls would return them, until b is
// full or Next would return an error. The error is the one Next returned after the records
// now in b (io.EOF at the end); once ReadBatch has returned an error, it returns it again.
func (r *CSVReader) ReadBatch(b *Batch) error {
	b.Records = b.Records[:0]
	if r.reuse && len(b.slots) < cap(b.Records) {
		b.slots = make([]recordAlloc, cap(b.Records))
	}
	if r.err != nil {
		return r.err
	}
	// Next with the record to reuse taken from b instead of r.last.
	saved := r.last
	defer func() { r.last = saved }()
	for len(b.Records) < cap(b.Records) {
		if r.reuse {
			r.last = &b.slots[len(b.Records)]
		}
		rec, err := r.Next()
		if err != nil {
			r.err = err
			b.InputOffset = r.InputOffset()
			return err
		}
		b.Records = append(b.Records, rec)
	}
	b.InputOffset = r.InputOffset()
	return nil
}

// InputOffset is how many bytes of text the reader has consumed, after a byte-order mark and
// decoding from UTF-16 (for estimating the number of rows of a file from its size).
func (r *CSVReader) InputOffset() int64 { return r.cr.InputOffset() }

// recordAlloc holds a Record with room for its fields and its secret, so that a row costs
// one allocation besides the string encoding/csv makes.
type recordAlloc struct {
	rec    Record
	fields [6]string
	secret [32]byte
}

// newRecord returns the record and the room for its secret: a new one, or a when it is not nil
// (ReuseRecord), cleared but keeping the capacity of its problem list.
func newRecord(a *recordAlloc, line int, fields []string) (*Record, []byte) {
	if a != nil {
		ps := a.rec.Problems[:0]
		*a = recordAlloc{}
		a.rec.Problems = ps
	} else {
		a = &recordAlloc{}
	}
	a.rec.Line = line
	if len(fields) <= len(a.fields) {
		a.rec.Fields = a.fields[:copy(a.fields[:], fields):len(fields)]
	} else {
		a.rec.Fields = slices.Clone(fields)
	}
	return &a.rec, a.secret[:0]
}

func (r *CSVReader) checkRow(rec *Record, secretBuf []byte) {
	line, fields := rec.Line, rec.Fields
	if len(fields) != len(r.header) {
		msg := fmt.Sprintf("the row has %d %s, the header has %d", len(fields), plural(len(fields), "field"), len(r.header))
		if len(fields) == 1 && strings.ContainsRune(fields[0], r.delim) {
			msg += "; the whole row is in one quoted cell (saved with the wrong separator?)"
		}
		rec.Problems = append(rec.Problems, errorAt(line, "", CodeCSVColumns, msg))
		return
	}
	var bad [6]bool
	for i, f := range fields {
		d := encodingDefect(f)
		if d == "" {
			continue
		}
		if d == msgNUL {
			d = csvdialect.NULDefect(f, r.fieldLine(i), r.looksUTF16)
		}
		col := ""
		if k := slices.Index(r.col[:], i); k >= 0 {
			col, bad[k] = Columns[k], true
		}
		if col == "" {
			d = "field " + strconv.Itoa(i+1) + ": " + d
		}
		rec.Problems = append(rec.Problems, errorAt(line, col, CodeCSVEncoding, d))
	}
	get := func(k int) string { return fields[r.col[k]] }
	t := &rec.Token
	t.Digits, t.Hash = 6, HashSHA1 // the Azure CSV has no column for them
	if !bad[0] {
		t.UPN = Field(get(0))
		rec.Problems = append(rec.Problems, checkUPN(line, t.UPN)...)
	}
	if !bad[1] {
		t.Serial = Field(get(1))
		rec.Problems = append(rec.Problems, checkSerial(line, t.Serial)...)
	}
	if !bad[2] {
		var secret []byte
		var ps []Problem
		if r.encoding == EncodingHex {
			secret, ps = checkHexSecret(line, get(2))
		} else {
			secret, ps = checkBase32Secret(line, get(2), secretBuf)
		}
		rec.Problems = append(rec.Problems, ps...)
		t.Secret = secret
	}
	if !bad[3] {
		period, ps := CheckInterval(line, get(3))
		rec.Problems = append(rec.Problems, ps...)
		t.Period = period
	}
	if !bad[4] {
		t.Manufacturer = Field(get(4))
		rec.Problems = append(rec.Problems, checkFreeText(line, ColManufacturer, CodeManufacturerEmpty, t.Manufacturer)...)
	}
	if !bad[5] {
		t.Model = Field(get(5))
		rec.Problems = append(rec.Problems, checkFreeText(line, ColModel, CodeModelEmpty, t.Model)...)
	}
}

// limitedReader fails a read once more than maxRecordBytes were read since the last reset,
// which the CSVReader does before each row.
type limitedReader struct {
	r io.Reader
	n int
}

func (l *limitedReader) reset() { l.n = 0 }

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n > maxRecordBytes {
		return 0, errRecordTooLong
	}
	n, err := l.r.Read(p)
	l.n += n
	return n, err
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
