package pskc

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// pkgResult is what a worker makes of one KeyPackage (or draft Device).
type pkgResult struct {
	keys     []*Key
	warnings []Warning
	serial   string // SerialNo, else the first Key Id (for duplicate detection)
	draft    bool   // uses a pre-RFC layout
	err      *Error
	// macAmbiguous marks err as a MAC failure with an unconfirmed MAC key: a wrong key
	// unless an earlier value of the file verified (then it is tampering).
	macAmbiguous bool
	macVerified  bool // at least one MAC verified in this package
	// encrypted says the package holds an encrypted value; plain lists its keys with a
	// plain-text secret. The Reader judges them across packages when the header did not
	// declare protection (see Reader.checkPlain).
	encrypted bool
	plain     []plainRef
}

// plainRef names a key whose secret is in plain text, for a plain-value problem raised
// once the Reader learns that other keys of the file are encrypted.
type plainRef struct {
	pkg    int
	line   int
	serial string
	name   string // keyName
}

// pkgParser holds the state of parsing one package.
type pkgParser struct {
	ctx  *cryptoCtx
	opts *Options
	now  time.Time
	res  *pkgResult
	num  int
	line int
}

func (p *pkgParser) warn(code, format string, args ...any) {
	p.res.warnings = append(p.res.warnings, Warning{Code: code, Package: p.num, Line: p.line, Message: fmt.Sprintf(format, args...)})
}

// fail records the first fatal problem of the package. The error is copied because
// header errors are shared by all packages (and workers).
func (p *pkgParser) fail(e *Error) {
	if p.res.err == nil {
		c := *e
		if c.Class == ClassWrongKey && p.ctx != nil && p.ctx.keyForPassword {
			c.Msg += keyForPasswordHint
		}
		p.res.err = &c
	}
}

// keyForPasswordHint ends a wrong-key message when a key was given for a file protected
// with a password: "wrong key or password" alone leaves the administrator trying other keys.
const keyForPasswordHint = "; the file derives its key from a password (PBKDF2): give the password, not a key"

func parsePackage(el *etree.Element, num, line int, ctx *cryptoCtx, opts *Options, now time.Time) *pkgResult {
	res := &pkgResult{}
	p := &pkgParser{ctx: ctx, opts: opts, now: now, res: res, num: num, line: line}
	if el.Tag == "Device" {
		res.draft = true
	}
	info := child(el, "DeviceInfo", "DeviceId")
	if info != nil && info.Tag == "DeviceId" {
		res.draft = true
	}
	serial := textPtr(child(info, "SerialNo"))
	manufacturer := textPtr(child(info, "Manufacturer"))
	model := textPtr(child(info, "Model"))
	deviceUser := textPtr(child(info, "UserId"))
	if serial != nil {
		res.serial = *serial
	}
	if child(el, "Signature") != nil {
		p.warn(WarnSignatureUnverified, "the package's XML signature is not verified")
	}
	keyEls := children(el, "Key", "Secret")
	if len(keyEls) > 1 {
		p.warn(WarnMultipleKeysInPackage, "the package holds %d keys", len(keyEls))
	}
	for i, kel := range keyEls {
		k := &Key{Package: num, Line: line, Serial: serial, Manufacturer: manufacturer, Model: model}
		p.parseKey(kel, k, deviceUser)
		if res.err != nil {
			if res.err.Serial == "" {
				res.err.Serial = k.SerialOrID()
			}
			break
		}
		if i == 0 && res.serial == "" {
			res.serial = k.SerialOrID()
		}
		res.keys = append(res.keys, k)
	}
	if res.err != nil {
		res.err.Package, res.err.Line = num, line
		res.keys = nil
	}
	for i := range res.warnings {
		res.warnings[i].Serial = res.serial
	}
	return res
}

var ocraSuite = regexp.MustCompile(`(?i)OCRA-\d+:[^#\s]*`)

// suiteHashes are the hashes a suite may name, longest digits first as the match prefers.
var suiteHashes = [...]struct{ digits, name string }{
	{"512", "SHA512"}, {"384", "SHA384"}, {"256", "SHA256"}, {"224", "SHA224"}, {"1", "SHA1"},
}

// hashIn names the hash a suite string mentions, "" when none: the first "sha" (any case),
// an optional '-', then 512, 384, 256, 224 or 1 not followed by another digit ("HMAC-SHA256",
// "sha1", "OCRA-1:HOTP-SHA512-8"). It runs once per key, so it avoids a regular expression.
func hashIn(s string) string {
	for i := 0; i+3 < len(s); i++ {
		if s[i]|0x20 != 's' || s[i+1]|0x20 != 'h' || s[i+2]|0x20 != 'a' {
			continue
		}
		j := i + 3
		if s[j] == '-' {
			j++
		}
		for _, h := range suiteHashes {
			if strings.HasPrefix(s[j:], h.digits) {
				if e := j + len(h.digits); e == len(s) || s[e] < '0' || s[e] > '9' {
					return h.name
				}
			}
		}
	}
	return ""
}

// kindOf classifies an algorithm URI by its last segment (":totp", "#totp", bare "HOTP")
// or an OCRA suite anywhere in it.
func kindOf(alg string) string {
	l := strings.ToLower(trimXML(alg))
	if strings.Contains(l, "ocra-") {
		return KindOCRA
	}
	seg := l
	if i := strings.LastIndexAny(l, ":#/"); i >= 0 {
		seg = l[i+1:]
	}
	switch seg {
	case "totp":
		return KindTOTP
	case "hotp":
		return KindHOTP
	case "ocra":
		return KindOCRA
	}
	return KindOther
}

func (p *pkgParser) parseKey(kel *etree.Element, k *Key, deviceUser *string) {
	res := p.res
	if kel.Tag == "Secret" {
		res.draft = true
	}
	if id, ok := attr(kel, "Id"); ok {
		k.KeyID = &id
	} else if id, ok := attr(kel, "KeyId", "SecretId"); ok {
		k.KeyID = &id
		res.draft = true
	}
	if a, ok := attr(kel, "Algorithm"); ok {
		k.Algorithm = a
	} else if a, ok := attr(kel, "KeyAlgorithm", "SecretAlgorithm"); ok {
		k.Algorithm = a
		res.draft = true
	}
	k.Kind = kindOf(k.Algorithm)
	k.Issuer = textPtr(child(kel, "Issuer"))
	k.User = textPtr(child(kel, "UserId"))
	k.DeviceUser = deviceUser
	if k.User == nil {
		k.User = deviceUser
	}

	params := child(kel, "AlgorithmParameters")
	usage := child(kel, "Usage")
	if usage != nil {
		res.draft = true
		for _, a := range []string{"OTP", "CR", "Integrity", "Encrypt", "Unlock"} {
			p.boolAttr(usage, a)
		}
	}
	var suite *string
	if params != nil {
		suite = textPtr(child(params, "Suite"))
	}
	for _, holder := range []*etree.Element{params, usage} {
		if holder == nil {
			continue
		}
		if rf := child(holder, "ResponseFormat"); rf != nil && k.Digits == nil {
			k.Digits = p.intAttr(rf, "Length", "length")
			if e, ok := attr(rf, "Encoding", "encoding", "Format", "format"); ok {
				k.Encoding = &e
			}
			p.boolAttr(rf, "CheckDigits", "CheckDigit")
		}
		if cf := child(holder, "ChallengeFormat"); cf != nil {
			p.intAttr(cf, "Min", "min")
			p.intAttr(cf, "Max", "max")
			p.boolAttr(cf, "CheckDigits", "CheckDigit")
		}
	}

	// Hash: HOTP/TOTP from <Suite> (SHA1 assumed, with a warning, when it names none);
	// OCRA from its suite; none for other algorithms.
	switch k.Kind {
	case KindHOTP, KindTOTP:
		h := ""
		if suite != nil {
			h = hashIn(*suite)
		}
		if h == "" {
			h = "SHA1"
			k.HashDefaulted = true
			p.warn(WarnHashDefaulted, "key %s names no hash; SHA1 assumed", keyName(k))
		}
		k.Hash = &h
	case KindOCRA:
		s := ""
		if suite != nil && ocraSuite.MatchString(*suite) {
			s = ocraSuite.FindString(*suite)
		} else {
			s = ocraSuite.FindString(k.Algorithm)
		}
		if fields := strings.Split(s, ":"); len(fields) >= 2 {
			if h := hashIn(fields[1]); h != "" {
				k.Hash = &h
			}
		}
	}

	// Data values.
	var secretEl, counterEl, timeEl, intervalEl, driftEl *etree.Element
	for _, d := range children(kel, "Data") {
		if name, ok := attr(d, "Name", "name"); ok {
			res.draft = true
			switch strings.ToLower(trimXML(name)) {
			case "secret":
				secretEl = d
			case "counter":
				counterEl = d
			case "time":
				timeEl = d
			case "time_interval", "timeinterval":
				intervalEl = d
			case "time_drift", "timedrift":
				driftEl = d
			}
			continue
		}
		if e := child(d, "Secret"); e != nil {
			secretEl = e
		}
		if e := child(d, "Counter"); e != nil {
			counterEl = e
		}
		if e := child(d, "Time"); e != nil {
			timeEl = e
		}
		if e := child(d, "TimeInterval"); e != nil {
			intervalEl = e
		}
		if e := child(d, "TimeDrift"); e != nil {
			driftEl = e
		}
	}
	if secretEl != nil {
		p.secret(secretEl, k)
	}
	if v, ok := p.intValue(counterEl, "Counter"); ok {
		if v.neg {
			p.fail(newError(ClassIntegerInvalid, "Counter is negative"))
		} else {
			u := v.u
			k.Counter = &u
		}
	}
	k.TimeOffset = p.smallInt(timeEl, "Time")
	k.TimeInterval = p.smallInt(intervalEl, "TimeInterval")
	k.TimeDrift = p.smallInt(driftEl, "TimeDrift")
	if res.err != nil {
		return
	}

	// Policy.
	policy := child(kel, "Policy")
	var expiry *time.Time
	if policy != nil {
		p.date(child(policy, "StartDate"))
		expiry = p.date(child(policy, "ExpiryDate"))
		if n := child(policy, "NumberOfTransactions"); n != nil {
			if _, ok := parseAttrInt(rawText(n)); !ok {
				p.fail(newError(ClassIntegerInvalid, "Policy NumberOfTransactions is not an integer"))
			}
		}
		if pin := child(policy, "PINPolicy"); pin != nil {
			p.intAttr(pin, "MaxFailedAttempts")
			p.intAttr(pin, "MinLength")
			p.intAttr(pin, "MaxLength")
		}
	}
	p.date(child(kel, "StartDate"))
	if e := p.date(child(kel, "ExpiryDate")); expiry == nil {
		expiry = e
	}
	if res.err != nil {
		return
	}
	k.ExpiryDate = expiry
	if expiry != nil && expiry.Before(p.now) {
		p.warn(WarnPolicyExpired, "key %s expired on %s", keyName(k), expiry.UTC().Format(time.RFC3339))
	}
	if k.Kind == KindTOTP && k.TimeInterval == nil {
		p.warn(WarnIntervalDefaulted, "TOTP key %s has no TimeInterval; 30 seconds assumed", keyName(k))
	}
}

// keyName names a key in messages: its Id, else its serial, else "without Id".
func keyName(k *Key) string {
	if k.KeyID != nil && *k.KeyID != "" {
		return fmt.Sprintf("%q", *k.KeyID)
	}
	if s := k.SerialOrID(); s != "" {
		return fmt.Sprintf("%q", s)
	}
	return "(no Id)"
}

func (p *pkgParser) intAttr(el *etree.Element, names ...string) *int {
	v, ok := attr(el, names...)
	if !ok || trimXML(v) == "" {
		return nil
	}
	n, ok := parseAttrInt(v)
	if !ok {
		p.fail(newError(ClassIntegerInvalid, "%s/@%s is not an integer", el.Tag, names[0]))
		return nil
	}
	return &n
}

func (p *pkgParser) boolAttr(el *etree.Element, names ...string) {
	v, ok := attr(el, names...)
	if !ok || trimXML(v) == "" {
		return
	}
	if _, ok := parseBool(v); !ok {
		p.fail(newError(ClassBooleanInvalid, "%s/@%s is not a boolean (true, false, 1 or 0)", el.Tag, names[0]))
	}
}

func (p *pkgParser) date(el *etree.Element) *time.Time {
	if el == nil {
		return nil
	}
	t, ok := parseDate(rawText(el))
	if !ok {
		p.fail(newError(ClassDateInvalid, "%s is not an xs:dateTime", el.Tag))
		return nil
	}
	return &t
}

func (p *pkgParser) smallInt(el *etree.Element, name string) *int {
	v, ok := p.intValue(el, name)
	if !ok {
		return nil
	}
	n, ok := v.asInt()
	if !ok || n > 1<<53 || n < -(1<<53) {
		p.fail(newError(ClassIntegerInvalid, "%s is out of range", name))
		return nil
	}
	return &n
}

// valueParts finds the plain or encrypted form of a Data value (RFC: PlainValue,
// EncryptedValue, ValueMAC; drafts: Value, ValueDigest).
type valueParts struct {
	plain   *string
	enc     *encValue
	mac     []byte
	macBad  bool
	present bool
}

func (p *pkgParser) parts(el *etree.Element) valueParts {
	var v valueParts
	if m := child(el, "ValueMAC", "ValueDigest"); m != nil {
		v.mac, _ = decodeBase64(rawText(m))
		v.macBad = v.mac == nil
	}
	if pv := child(el, "PlainValue"); pv != nil {
		s := rawText(pv)
		v.plain, v.present = &s, true
		return v
	}
	if ev := child(el, "EncryptedValue"); ev != nil {
		e := parseEncrypted(ev)
		v.enc, v.present = &e, true
		p.res.encrypted = true
		return v
	}
	if lv := child(el, "Value"); lv != nil {
		s := rawText(lv)
		v.present = true
		// A draft <Value> is encrypted when the container declares a cipher and the value
		// carries a digest; otherwise it is plain base64.
		if p.ctx.legacyCipher != "" && (v.mac != nil || v.macBad) {
			e := encValue{alg: p.ctx.legacyCipher, has: true}
			e.cipher, e.b64ok = decodeBase64(s)
			v.enc = &e
			p.res.encrypted = true
		} else {
			v.plain = &s
		}
	}
	return v
}

func (p *pkgParser) secret(el *etree.Element, k *Key) {
	v := p.parts(el)
	if !v.present {
		return
	}
	var b []byte
	var text []byte
	if v.plain != nil {
		if !p.plainSecret(k) {
			return
		}
		t := stripXMLSpace(*v.plain)
		if t == "" {
			p.fail(newError(ClassSecretInvalid, "the secret is empty"))
			return
		}
		var ok bool
		if b, ok = decodeBase64(t); !ok {
			p.fail(newError(ClassSecretInvalid, "the secret is not valid base64 (standard alphabet with padding)"))
			return
		}
		text = []byte(t)
	} else {
		if !v.enc.b64ok {
			p.fail(newError(ClassSecretInvalid, "the encrypted secret's CipherValue is not valid base64"))
			return
		}
		var ok bool
		if b, ok = p.decrypt(v, "secret"); !ok {
			return
		}
	}
	if len(b) == 0 {
		p.fail(newError(ClassSecretInvalid, "the secret is empty"))
		return
	}
	k.Secret = b
	if isHexText(text) || isHexText(b) {
		p.warn(WarnSecretLooksHex, "the secret of key %s looks like hex text; check the vendor did not write hex where base64 belongs", keyName(k))
	}
	if isBase32Text(text) || isBase32Text(b) {
		p.warn(WarnSecretLooksBase32, "the secret of key %s looks like Base32 text; check the vendor did not write Base32 where base64 belongs", keyName(k))
	}
	if len(b) < 16 {
		p.warn(WarnSecretShort, "the secret of key %s is %d bytes, shorter than the 16 bytes RFC 4226 requires", keyName(k), len(b))
	}
}

// plainSecret judges a plain-text secret: in a file whose header declares encryption or a
// MAC it is refused (or, when allowed, warned about), since the MAC does not cover it and
// it may have been swapped; otherwise it is noted so the Reader can judge it once it knows
// whether other keys of the file are encrypted. False when the key was refused.
//
// Only the secret is judged: RFC 6030's own encrypted example (Figure 6) and vendors'
// encrypted exports carry Counter, Time and TimeInterval as PlainValue, and none of them
// can turn a token into one whose codes an attacker knows.
func (p *pkgParser) plainSecret(k *Key) bool {
	if !p.ctx.protected {
		p.res.plain = append(p.res.plain, plainRef{pkg: p.num, line: p.line, serial: k.SerialOrID(), name: keyName(k)})
		return true
	}
	if !p.opts.AllowPlainValue {
		p.fail(newError(ClassPlainValue, plainValueRefused, keyName(k), "a file that encrypts or MACs its keys"))
		return false
	}
	p.warn(WarnPlainValue, plainValueAllowed, keyName(k), "a file that encrypts or MACs its keys")
	return true
}

// The plain-value messages: key name, then what protects the file's other values.
const (
	plainValueRefused = "the secret of key %s is in plain text (PlainValue) in %s: the MAC does not cover it, so it may have been swapped"
	plainValueAllowed = "the secret of key %s is in plain text (PlainValue) in %s: the MAC does not cover it; accepted as allowed"
)

func (p *pkgParser) intValue(el *etree.Element, name string) (intValue, bool) {
	if el == nil || p.res.err != nil {
		return intValue{}, false
	}
	v := p.parts(el)
	if !v.present {
		return intValue{}, false
	}
	if v.plain != nil {
		iv, ok := parsePlainInt(*v.plain)
		if !ok {
			p.fail(newError(ClassIntegerInvalid, "%s is not an integer", name))
		}
		return iv, ok
	}
	if !v.enc.b64ok {
		p.fail(newError(ClassIntegerInvalid, "the encrypted %s's CipherValue is not valid base64", name))
		return intValue{}, false
	}
	b, ok := p.decrypt(v, name)
	if !ok {
		return intValue{}, false
	}
	iv, ok := bytesInt(b)
	if !ok {
		p.fail(newError(ClassIntegerInvalid, "the decrypted %s is not an integer", name))
	}
	return iv, ok
}

// decrypt checks the MAC of an encrypted value and decrypts it. The MAC is verified in
// constant time before the plaintext is used; a CBC value needs one.
func (p *pkgParser) decrypt(v valueParts, what string) ([]byte, bool) {
	c := p.ctx
	alg, err := lookupCipher(v.enc.alg)
	if err != nil {
		err.Msg = what + ": " + err.Msg
		if err.Class == ClassUnsupportedAlgorithm && c.asymmetric && trimXML(v.enc.alg) == "" {
			err = newError(ClassAsymmetricUnsupported, "%s: the file is encrypted to a public key, which is not supported", what)
		}
		p.fail(err)
		return nil, false
	}
	hasMAC := v.mac != nil || v.macBad
	if c.macHashErr != nil && hasMAC {
		p.fail(c.macHashErr)
		return nil, false
	}
	checkMAC := hasMAC && c.macHash != nil
	if alg.cbc && !checkMAC && !p.opts.AllowMissingMAC {
		switch {
		case !hasMAC:
			p.fail(newError(ClassMACMissing, "%s: %s value without a ValueMAC (RFC 6030 section 6.1.1 requires one)", what, alg.name))
		default:
			p.fail(newError(ClassMACMissing, "%s: %s value with a ValueMAC but no MAC algorithm (MACMethod) to check it", what, alg.name))
		}
		return nil, false
	}
	if c.keyErr != nil {
		p.fail(c.keyErr)
		return nil, false
	}
	key, kerr := alg.checkKey(c.key)
	if kerr != nil {
		p.fail(kerr)
		return nil, false
	}
	if checkMAC && c.macKeyErr != nil {
		p.fail(c.macKeyErr)
		return nil, false
	}

	var pt []byte
	if alg.cbc {
		var pad padResult
		if checkMAC {
			if v.mac != nil && macEqual(c.mac(v.enc.cipher), v.mac) {
				pt, pad = decryptCBC(alg, key, c.iv, v.enc.cipher)
				if pad == padBad {
					p.fail(newError(ClassWrongKey, "%s: the MAC verifies but the value does not decrypt: wrong key", what))
					return nil, false
				}
				p.res.macVerified = true
				return pt, true
			}
			// Pre-RFC convention: the MAC is over the plaintext.
			pt, pad = decryptCBC(alg, key, c.iv, v.enc.cipher)
			if pad != padBad && v.mac != nil && macEqual(c.mac(pt), v.mac) {
				p.res.macVerified = true
				return pt, true
			}
			p.macFailure(what)
			return nil, false
		}
		pt, pad = decryptCBC(alg, key, c.iv, v.enc.cipher)
		if pad == padBad {
			p.fail(newError(ClassWrongKey, "%s: wrong key or password (the value does not decrypt)", what))
			return nil, false
		}
		return pt, true
	}
	pt, uerr := unwrap(alg, key, v.enc.cipher)
	if uerr != nil {
		p.fail(newError(ClassWrongKey, "%s: wrong key or password (the key unwrap integrity check fails)", what))
		return nil, false
	}
	if checkMAC {
		if v.mac == nil || !macEqual(c.mac(v.enc.cipher), v.mac) && !macEqual(c.mac(pt), v.mac) {
			p.fail(newError(ClassMACMismatch, "%s: the ValueMAC does not verify (the file was altered)", what))
			return nil, false
		}
		p.res.macVerified = true
	}
	return pt, true
}

func (p *pkgParser) macFailure(what string) {
	if p.ctx.macKeyConfirmed {
		p.fail(newError(ClassMACMismatch, "%s: the ValueMAC does not verify although the MAC key decrypts: the file was altered", what))
		return
	}
	if p.res.err == nil {
		p.res.macAmbiguous = true
	}
	p.fail(newError(ClassWrongKey, "%s: wrong key or password (the ValueMAC does not verify)", what))
}
