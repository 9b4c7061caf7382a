package pskc

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"hash"
	"strings"
	"sync"

	"github.com/beevik/etree"
)

// maxIterations bounds PBKDF2 work so a hostile file cannot stall the reader for long
// (10 million HMAC-SHA1 iterations take a few seconds). A variable so the fuzz test can
// keep each input fast.
var maxIterations = 10_000_000

// encValue is an encrypted value as written: a CipherValue with its algorithm.
type encValue struct {
	alg    string // algorithm URI ("" when absent)
	cipher []byte // decoded CipherValue
	b64ok  bool   // CipherValue was valid base64
	has    bool   // a CipherValue was present
}

// parseEncrypted reads an EncryptedValue or MACKey element. For the draft PBES2 form the
// real cipher is the nested EncryptionScheme.
func parseEncrypted(el *etree.Element) encValue {
	var ev encValue
	if m := child(el, "EncryptionMethod"); m != nil {
		ev.alg, _ = attr(m, "Algorithm", "algorithm")
		if s := child(m, "EncryptionScheme"); s != nil {
			if a, _ := attr(s, "Algorithm", "algorithm"); a != "" {
				ev.alg = a
			}
		}
	}
	if cv := path(el, "CipherData", "CipherValue"); cv != nil {
		ev.has = true
		ev.cipher, ev.b64ok = decodeBase64(rawText(cv))
	}
	return ev
}

// header collects the container elements that come before the KeyPackages: how values are
// encrypted and MACed.
type header struct {
	legacyAlg     string // container-level EncryptionMethod algorithm (drafts)
	iv            []byte // legacy <IV>
	ivBad         bool
	derivation    bool // a key derivation is declared
	derivAlg      string
	salt          []byte
	saltBad       bool
	iterations    int
	iterationsBad bool
	keyLength     int
	keyLengthBad  bool
	prf           string
	asymmetric    bool // EncryptionKey carries a certificate or RSA key
	macAlg        string
	macKey        *encValue
	// protected says the container has an EncryptionKey, a MACMethod or a MACAlgorithm:
	// it protects its keys. A draft container's EncryptionMethod counts when it names a
	// cipher (resolve); a draft DigestMethod alone does not, since without encryption there
	// is no key to MAC with (drafts write algorithm="NONE" with a DigestMethod and plain
	// values).
	protected bool
}

func (h *header) encryptionKey(el *etree.Element) {
	if a, ok := attr(el, "Algorithm", "algorithm"); ok && a != "" {
		h.legacyAlg = a
	}
	if iv := child(el, "IV"); iv != nil {
		h.iv, _ = decodeBase64(rawText(iv))
		h.ivBad = h.iv == nil
	}
	if child(el, "X509Data", "KeyValue", "EncryptedKey", "RetrievalMethod") != nil {
		h.asymmetric = true
	}
	if dk := child(el, "DerivedKey"); dk != nil {
		h.derivation = true
		kdm := child(dk, "KeyDerivationMethod")
		if kdm != nil {
			h.derivAlg, _ = attr(kdm, "Algorithm", "algorithm")
			if p := child(kdm, "PBKDF2-params"); p != nil {
				if s := path(p, "Salt", "Specified"); s != nil {
					h.salt, _ = decodeBase64(rawText(s))
					h.saltBad = h.salt == nil
				}
				h.intParam(child(p, "IterationCount"), &h.iterations, &h.iterationsBad)
				h.intParam(child(p, "KeyLength"), &h.keyLength, &h.keyLengthBad)
				if prf := child(p, "PRF"); prf != nil {
					// The PRF is an attribute in RFC 6030 Figure 7 but element text in
					// some writers; both are honoured.
					if a, _ := attr(prf, "Algorithm", "algorithm"); trimXML(a) != "" {
						h.prf = a
					} else {
						h.prf = trimXML(rawText(prf))
					}
				}
			}
		}
	}
	// Legacy password-based encryption: <PBESalt>, <PBEIterationCount>.
	if s := child(el, "PBESalt"); s != nil {
		h.salt, _ = decodeBase64(rawText(s))
		h.saltBad = h.salt == nil
	}
	if it := child(el, "PBEIterationCount"); it != nil {
		h.intParam(it, &h.iterations, &h.iterationsBad)
	}
}

func (h *header) intParam(el *etree.Element, dst *int, bad *bool) {
	if el == nil {
		return
	}
	v, ok := parseAttrInt(rawText(el))
	if !ok || v <= 0 {
		*bad = true
		return
	}
	*dst = v
}

func (h *header) macMethod(el *etree.Element) {
	if a, ok := attr(el, "Algorithm", "algorithm"); ok {
		h.macAlg = a
	}
	if mk := child(el, "MACKey"); mk != nil {
		ev := parseEncrypted(mk)
		if ev.has || ev.alg != "" {
			h.macKey = &ev
		}
	}
}

// cryptoCtx is the resolved header: immutable once built, shared by the package workers.
type cryptoCtx struct {
	legacyCipher string // normalised legacy algorithm URI for <Value> elements ("" = none)
	iv           []byte
	key          []byte
	keyErr       *Error
	macHash      func() hash.Hash
	macHashErr   *Error
	macAlgGiven  bool
	macKey       []byte
	macKeyErr    *Error
	// macKeyConfirmed says the MAC key decrypted with proper padding of more than one byte or an intact key
	// wrap, so a MAC that then fails means tampering rather than a wrong key.
	macKeyConfirmed bool
	asymmetric      bool
	// protected is header.protected: a plain-text secret is then refused (ClassPlainValue).
	protected bool
	// keyForPassword says a key was given for a file that derives its key from a password:
	// when it does not decrypt, the message says the password is what the file wants.
	keyForPassword bool
	// macs recycles HMAC states keyed with macKey (see mac); macKey never changes once the
	// context is built.
	macs sync.Pool
}

// legacyPBE maps draft algorithm names such as "PBE-3DES112-CBC" to the cipher URI and the
// PBKDF2 key length they imply.
func legacyPBE(alg string) (cipherURI string, keyLen int, ok bool) {
	f := fragment(alg)
	if !strings.HasPrefix(f, "pbe-") {
		return "", 0, false
	}
	switch strings.TrimPrefix(f, "pbe-") {
	case "3des112-cbc", "tripledes112-cbc":
		return "#tripledes-cbc", 16, true
	case "3des168-cbc", "3des-cbc", "tripledes-cbc":
		return "#tripledes-cbc", 24, true
	case "aes128-cbc":
		return "#aes128-cbc", 16, true
	case "aes192-cbc":
		return "#aes192-cbc", 24, true
	case "aes256-cbc":
		return "#aes256-cbc", 32, true
	}
	return "", 0, false
}

func (h *header) resolve(opts *Options) *cryptoCtx {
	c := &cryptoCtx{asymmetric: h.asymmetric, protected: h.protected}
	// Legacy container algorithm.
	pbeKeyLen := 0
	if f := fragment(h.legacyAlg); f != "" && f != "none" {
		c.protected = true
		c.legacyCipher = h.legacyAlg
		if uri, n, ok := legacyPBE(h.legacyAlg); ok {
			c.legacyCipher = uri
			pbeKeyLen = n
			if !h.derivation {
				h.derivation = true
				h.derivAlg = "#pbkdf2"
			}
		}
	}
	if opts.IV != nil {
		c.iv = opts.IV
	} else if h.iv != nil {
		c.iv = h.iv
	}

	// Encryption key.
	switch {
	case h.asymmetric && len(opts.Key) == 0:
		c.keyErr = newError(ClassAsymmetricUnsupported, "the file is encrypted to a public key (RSA key transport), which is not supported; ask the vendor for a pre-shared key or password")
	case len(opts.Key) > 0:
		c.key = opts.Key
		c.keyForPassword = h.derivation
	case len(opts.Password) > 0:
		if !h.derivation {
			c.keyErr = newError(ClassKeyRequired, "the file uses a pre-shared key, not a password")
			break
		}
		c.key, c.keyErr = h.derive(opts.Password, pbeKeyLen)
	default:
		if h.derivation {
			c.keyErr = newError(ClassKeyRequired, "the file holds encrypted values: a password is needed")
		} else {
			c.keyErr = newError(ClassKeyRequired, "the file holds encrypted values: a pre-shared key is needed")
		}
	}

	// MAC algorithm and key.
	if trimXML(h.macAlg) != "" {
		c.macAlgGiven = true
		var ok bool
		if c.macHash, ok = lookupHash(h.macAlg); !ok {
			c.macHashErr = newError(ClassUnsupportedAlgorithm, "unknown MAC algorithm %q", limit(h.macAlg))
		}
	}
	switch {
	case c.keyErr != nil:
		c.macKeyErr = c.keyErr
	case h.macKey != nil:
		c.macKey, c.macKeyConfirmed, c.macKeyErr = c.decryptMACKey(h.macKey)
	default:
		// Older convention: no MACKey, the encryption key is the MAC key.
		c.macKey = c.key
	}
	return c
}

func (c *cryptoCtx) decryptMACKey(ev *encValue) ([]byte, bool, *Error) {
	alg, err := lookupCipher(ev.alg)
	if err != nil {
		err.Msg = "MAC key: " + err.Msg
		return nil, false, err
	}
	if !ev.has || !ev.b64ok || len(ev.cipher) == 0 {
		return nil, false, newError(ClassMACMismatch, "MAC key: CipherValue is missing or not base64")
	}
	key, kerr := alg.checkKey(c.key)
	if kerr != nil {
		return nil, false, kerr
	}
	if alg.cbc {
		pt, pad := decryptCBC(alg, key, c.iv, ev.cipher)
		if pad == padBad || len(pt) == 0 {
			return nil, false, newError(ClassWrongKey, "wrong key or password: the MAC key does not decrypt")
		}
		// Proper padding confirms the key only when it is more than one byte: a wrong key
		// ends in 0x01, one byte of valid padding, once in 256 files.
		bs := alg.block(key).BlockSize()
		padLen := len(ev.cipher) - len(pt)
		if c.iv == nil {
			padLen -= bs
		}
		return pt, pad == padStrict && padLen > 1, nil
	}
	pt, uerr := unwrap(alg, key, ev.cipher)
	if uerr != nil || len(pt) == 0 {
		return nil, false, newError(ClassWrongKey, "wrong key or password: the MAC key does not unwrap")
	}
	return pt, true, nil
}

func (h *header) derive(password []byte, pbeKeyLen int) ([]byte, *Error) {
	if f := fragment(h.derivAlg); f != "pbkdf2" {
		if f == "" {
			return nil, newError(ClassIncompleteDerivation, "key derivation without an algorithm")
		}
		return nil, newError(ClassUnsupportedAlgorithm, "unknown key derivation algorithm %q", limit(h.derivAlg))
	}
	keyLen := h.keyLength
	if keyLen == 0 && !h.keyLengthBad {
		keyLen = pbeKeyLen
	}
	switch {
	case h.salt == nil:
		return nil, newError(ClassIncompleteDerivation, "PBKDF2 without a valid salt")
	case h.iterations == 0:
		return nil, newError(ClassIncompleteDerivation, "PBKDF2 without a valid iteration count")
	case keyLen == 0:
		return nil, newError(ClassIncompleteDerivation, "PBKDF2 without a valid key length")
	case h.iterations > maxIterations:
		return nil, newError(ClassIncompleteDerivation, "PBKDF2 iteration count %d is above the limit of %d", h.iterations, maxIterations)
	case keyLen > 64:
		return nil, newError(ClassIncompleteDerivation, "PBKDF2 key length %d is too large", keyLen)
	}
	prfURI := h.prf
	if trimXML(prfURI) == "" {
		prfURI = "hmac-sha1" // the PKCS #5 default
	}
	hf, ok := lookupHash(prfURI)
	if !ok {
		return nil, newError(ClassUnsupportedAlgorithm, "unknown PBKDF2 pseudorandom function %q", limit(h.prf))
	}
	k, err := pbkdf2.Key(hf, string(password), h.salt, h.iterations, keyLen)
	if err != nil {
		return nil, newError(ClassIncompleteDerivation, "PBKDF2 parameters rejected")
	}
	return k, nil
}

// macEqual compares MACs in constant time.
func macEqual(a, b []byte) bool { return hmac.Equal(a, b) }
