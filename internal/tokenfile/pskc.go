package tokenfile

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mfactl/mfactl/internal/ident"
	"github.com/mfactl/mfactl/internal/pskc"
	"github.com/mfactl/mfactl/internal/tokens"
)

// pskcSource turns the keys of a PSKC reader into records. The reader's warnings are
// attached to the record of the first key of their package; container warnings, and those
// of packages without keys, are file problems.
type pskcSource struct {
	f       *File
	rd      *pskc.Reader
	seen    int // warnings of rd already handed out
	lastPkg int
	done    bool
}

func (f *File) openPSKC(r io.Reader) error {
	rd, err := pskc.NewReader(r, f.opts.PSKC)
	if err != nil {
		var pe *pskc.Error
		if !errors.As(err, &pe) {
			return fmt.Errorf("reading pskc: %w", err)
		}
		f.Problems = f.strictify(append(f.Problems, errorProblem(pe)))
		f.next = func() (*tokens.Record, error) { return nil, io.EOF }
		return nil
	}
	s := &pskcSource{f: f, rd: rd}
	for _, w := range s.newWarnings() {
		f.Problems = append(f.Problems, warningProblem(w))
	}
	f.Problems = f.strictify(f.Problems)
	f.next = s.next
	f.close = rd.Close
	return nil
}

func (s *pskcSource) newWarnings() []pskc.Warning {
	ws := s.rd.Warnings()
	if s.seen >= len(ws) {
		return nil
	}
	ws = ws[s.seen:]
	s.seen += len(ws)
	return ws
}

func (s *pskcSource) next() (*tokens.Record, error) {
	if s.done {
		return nil, io.EOF
	}
	k, err := s.rd.Next()
	if err != nil {
		s.done = true
		s.rd.Close()
		if err == io.EOF {
			if late := s.fileWarnings(s.newWarnings()); late != nil {
				return nil, late
			}
			return nil, io.EOF
		}
		var pe *pskc.Error
		if errors.As(err, &pe) {
			return nil, &InvalidError{Problems: s.f.strictify([]tokens.Problem{errorProblem(pe)}), Err: pe}
		}
		return nil, fmt.Errorf("reading pskc: %w", err)
	}
	rec := s.record(k)
	var other []pskc.Warning
	for _, w := range s.newWarnings() {
		// All warnings of a package arrive with its first key.
		if w.Package == k.Package && k.Package != s.lastPkg {
			p := warningProblem(w)
			if p.Serial == "" {
				p.Serial = printableSerial(rec.Token.Serial)
			}
			rec.Problems = append(rec.Problems, p)
		} else {
			other = append(other, w)
		}
	}
	s.lastPkg = k.Package
	if late := s.fileWarnings(other); late != nil {
		s.done = true
		s.rd.Close()
		return nil, late
	}
	s.f.pkg = k.Package
	return rec, nil
}

// fileWarnings adds warnings found while reading that belong to no record to the file's
// problems. Under --strict they are errors, which may not appear in File.Problems once
// records are being read, so they refuse the file instead.
func (s *pskcSource) fileWarnings(ws []pskc.Warning) *InvalidError {
	if len(ws) == 0 {
		return nil
	}
	ps := make([]tokens.Problem, len(ws))
	for i, w := range ws {
		ps[i] = warningProblem(w)
	}
	if s.f.opts.Strict {
		return &InvalidError{Problems: s.f.strictify(ps)}
	}
	s.f.Problems = append(s.f.Problems, ps...)
	return nil
}

// record maps one key to a record and applies the token rules to it.
func (s *pskcSource) record(k *pskc.Key) *tokens.Record {
	t := tokens.Token{
		Serial:       tokens.Field(k.SerialOrID()),
		Secret:       k.Secret,
		Period:       30, // RFC 6238's default; the reader warns interval-defaulted
		Hash:         tokens.HashSHA1,
		Manufacturer: tokens.Field(deref(k.Manufacturer)),
		Model:        tokens.Field(deref(k.Model)),
	}
	if k.TimeInterval != nil {
		t.Period = *k.TimeInterval
	}
	if k.Digits != nil {
		t.Digits = *k.Digits
	}
	if k.Hash != nil {
		t.Hash = tokens.NormalizeHash(*k.Hash)
	}
	// UserId is free text (a login name, an LDAP DN...): only a UPN is taken as the owner,
	// from Key/UserId or else DeviceInfo/UserId, so a key naming a login does not hide the
	// UPN its device names. A UserId holding a control or invisible character is refused
	// whatever it names (upn.invalid, upn.invisible), as the same text in a CSV would be.
	var ps []tokens.Problem
	upnFound := false
	for _, u := range []*string{k.User, k.DeviceUser} {
		if u == nil {
			continue
		}
		s := tokens.Field(*u)
		if _, bad := ident.CheckID(s); bad {
			ps = append(ps, tokens.CheckUPN(k.Line, s)...)
			continue
		}
		if upnPs := tokens.CheckUPN(0, s); s != "" && !upnFound {
			if _, bad := tokens.FirstError(upnPs); !bad {
				t.UPN, upnFound = s, true
				ps = append(ps, upnPs...) // upn.mixed-script
			}
		}
	}
	rec := &tokens.Record{Line: k.Line, Token: t}

	ps = append(ps, tokens.CheckSerial(k.Line, t.Serial)...)
	ps = append(ps, tokens.CheckText(k.Line, tokens.ColManufacturer, t.Manufacturer)...)
	ps = append(ps, tokens.CheckText(k.Line, tokens.ColModel, t.Model)...)
	ps = append(ps, tokens.CheckText(k.Line, tokens.ColIssuer, tokens.Field(deref(k.Issuer)))...)
	for _, p := range s.f.opts.Rules.CheckKey(tokens.KeyFacts{
		Kind: keyKind(k.Kind), Hash: t.Hash, Digits: t.Digits, Period: t.Period, Secret: k.Secret,
	}) {
		switch p.Code {
		case tokens.CodeSecretShort:
			continue // the reader reports pskc.secret-short at the same 16-byte limit
		case tokens.CodeDigitsUnsupported:
			if k.Digits == nil {
				p.Message = "the key does not say how many digits its codes have (ResponseFormat Length); only 6 is supported"
			}
		case tokens.CodeSecretEmpty:
			p.Message = "the key carries no secret"
		}
		ps = append(ps, p)
	}
	ps = append(ps, pskcOnlyRules(k)...)
	for i := range ps {
		ps[i].Line = k.Line
		ps[i].Package = k.Package
		ps[i].Serial = printableSerial(t.Serial)
	}
	rec.Problems = ps
	return rec
}

// Codes for PSKC key facts the Azure CSV has no column for. Like digits.unsupported they
// refuse the key, not the file: the PSKC reader accepts such keys (they are valid PSKC).
const (
	// CodeEncodingUnsupported: codes that are not decimal digits (ResponseFormat Encoding
	// HEXADECIMAL, ALPHANUMERIC...), which no authenticator app or Azure would compare.
	CodeEncodingUnsupported = "encoding.unsupported"
	// CodeTimeOriginUnsupported: a TOTP key whose Time (T0, the moment its step count
	// starts) is not the Unix epoch. Azure and mfactl count steps from the epoch, so every
	// code would be computed for the wrong step and activation would fail.
	CodeTimeOriginUnsupported = "time-origin.unsupported"
)

// pskcOnlyRules checks what only a PSKC key can say: its code encoding and its time origin.
func pskcOnlyRules(k *pskc.Key) []tokens.Problem {
	var ps []tokens.Problem
	if k.Encoding != nil {
		if e := strings.TrimSpace(*k.Encoding); e != "" && !strings.EqualFold(e, "DECIMAL") {
			ps = append(ps, tokens.Problem{Severity: tokens.SeverityError, Column: "encoding", Code: CodeEncodingUnsupported,
				Message: fmt.Sprintf("codes in %q (ResponseFormat Encoding) are not supported; only DECIMAL", limitText(e))})
		}
	}
	if k.Kind == pskc.KindTOTP && k.TimeOffset != nil && *k.TimeOffset != 0 {
		t0, rel := *k.TimeOffset, "after"
		if t0 < 0 {
			t0, rel = -t0, "before"
		}
		ps = append(ps, tokens.Problem{Severity: tokens.SeverityError, Column: "time", Code: CodeTimeOriginUnsupported,
			Message: fmt.Sprintf("the token counts time from %d seconds %s the Unix epoch (Time), not from the epoch; "+
				"Azure and mfactl cannot represent another origin, so its codes would not match", t0, rel)})
	}
	return ps
}

// limitText keeps a value from the file short in a message.
func limitText(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// keyKind maps the reader's algorithm kind to the token rules' kind.
func keyKind(kind string) string {
	switch kind {
	case pskc.KindTOTP:
		return tokens.KindTOTP
	case pskc.KindHOTP:
		return tokens.KindHOTP
	case pskc.KindOCRA:
		return tokens.KindOCRA
	}
	return tokens.KindOther
}

func errorProblem(e *pskc.Error) tokens.Problem {
	return tokens.Problem{Line: e.Line, Severity: tokens.SeverityError, Code: e.Code(), Message: e.Msg,
		Package: e.Package, Serial: printableSerial(e.Serial)}
}

func warningProblem(w pskc.Warning) tokens.Problem {
	return tokens.Problem{Line: w.Line, Severity: tokens.SeverityWarning, Code: w.FullCode(), Message: w.Message,
		Package: w.Package, Serial: printableSerial(w.Serial)}
}

// printableSerial is the serial a problem names, or "" when the serial holds a character the
// rules refuse: printing it would do on the terminal what serial.control prevents. The key
// package number still says which key it is.
func printableSerial(s string) string {
	if _, bad := ident.CheckID(s); bad {
		return ""
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
