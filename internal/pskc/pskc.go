// Package pskc reads RFC 6030 Portable Symmetric Key Container (PSKC) files and their
// pre-RFC draft layouts as a stream: one KeyPackage (or draft Device) is held in memory at a
// time, so a file of any size is read in flat memory.
//
// The reader decrypts values protected with a pre-shared key or a PBKDF2 password, checks
// every MAC in constant time before a value is used, refuses DOCTYPEs and entities before
// parsing, and reports problems with the stable codes of the conformance policy
// (shared/conformance/pskc/README.md): errors are "pskc.<class>", warnings "pskc.<code>".
// Messages never contain secret material.
package pskc

import (
	"fmt"
	"strings"
	"time"
)

// Error classes: a *Error with one of these refuses the whole file.
const (
	ClassXML                   = "xml"                    // not well-formed, truncated, or not XML
	ClassDoctype               = "doctype"                // DOCTYPE or entity declaration
	ClassNotPSKC               = "not-pskc"               // root is not KeyContainer/SecretContainer
	ClassVersion               = "version"                // RFC layout with a Version other than 1/1.0
	ClassWrongKey              = "wrong-key"              // wrong key or password
	ClassMACMissing            = "mac-missing"            // CBC value without ValueMAC or MAC algorithm
	ClassMACMismatch           = "mac-mismatch"           // MAC key is right but a ValueMAC does not verify
	ClassUnsupportedAlgorithm  = "unsupported-algorithm"  // camellia, GCM, unknown URIs, no algorithm
	ClassAsymmetricUnsupported = "asymmetric-unsupported" // RSA key transport
	ClassIncompleteDerivation  = "incomplete-derivation"  // PBKDF2 without salt, iterations or length
	ClassSecretInvalid         = "secret-invalid"         // empty secret or not strict base64
	ClassIntegerInvalid        = "integer-invalid"        // integer field that is not an integer
	ClassBooleanInvalid        = "boolean-invalid"        // boolean attribute not true/false/1/0
	// ClassKeyRequired is not in the conformance list: the file holds encrypted values but
	// no key (or the wrong kind of key material, e.g. a key where a password is needed) was
	// given, so the caller can ask for one.
	ClassKeyRequired = "key-required"
	// ClassDateInvalid is not in the conformance list: a policy date that is not an
	// xs:dateTime, so expiry cannot be judged.
	ClassDateInvalid = "date-invalid"
	// ClassPlainValue is not in the conformance list: a secret in plain text (PlainValue, or
	// a draft Value without digest) in a file that encrypts or MACs its keys. The MAC covers
	// only encrypted values, so anyone who can edit the file can swap such a secret for one
	// of their own choosing and the file still verifies. Refused unless
	// Options.AllowPlainValue, which reports it as the warning WarnPlainValue instead.
	ClassPlainValue = "plain-value"
)

// Warning codes (see the conformance README for their exact meaning).
const (
	WarnNamespace             = "namespace"
	WarnNoVersion             = "no-version"
	WarnDraftFormat           = "draft-format"
	WarnSecretLooksHex        = "secret-looks-hex"
	WarnSecretLooksBase32     = "secret-looks-base32"
	WarnSecretShort           = "secret-short"
	WarnIntervalDefaulted     = "interval-defaulted"
	WarnHashDefaulted         = "hash-defaulted"
	WarnSignatureUnverified   = "signature-unverified"
	WarnDuplicateSerial       = "duplicate-serial"
	WarnPolicyExpired         = "policy-expired"
	WarnCharset               = "charset"
	WarnMultipleKeysInPackage = "multiple-keys-in-package"
	// WarnPlainValue is not in the conformance list: ClassPlainValue accepted because the
	// caller allowed it; raised on every such key.
	WarnPlainValue = "plain-value"
)

// Key kinds, from the last segment of the algorithm URI.
const (
	KindTOTP  = "totp"
	KindHOTP  = "hotp"
	KindOCRA  = "ocra"
	KindOther = "other"
)

// Options tell the reader how to decrypt a file and how to judge it.
type Options struct {
	// Key is the pre-shared key (already decoded, see ParseKeyMaterial). When the file
	// derives its key from a password, Key is used as the derived key.
	Key []byte
	// Password is the PBKDF2 password for files with a DerivedKey.
	Password []byte
	// IV is the legacy IV for files whose CipherValues carry none.
	IV []byte
	// AllowMissingMAC lets CBC values without a MAC through (RFC 6030 section 6.1.1 requires one).
	AllowMissingMAC bool
	// AllowPlainValue accepts plain-text secrets in a file that encrypts or MACs its keys
	// (see ClassPlainValue), with a WarnPlainValue warning on each.
	AllowPlainValue bool
	// Now is the time policy expiry is judged at; zero means time.Now().
	Now time.Time
}

// Key is one <Key> (draft: <Key> or <Secret>) of the document with its values as written:
// nil means absent; defaults are never filled in but signalled by a warning.
type Key struct {
	Index   int // 0-based over the document
	Package int // 1-based KeyPackage (or draft Device) number
	Line    int // line of the KeyPackage start tag

	Serial       *string // DeviceInfo/SerialNo
	KeyID        *string // Key/@Id
	Manufacturer *string
	Model        *string
	Issuer       *string
	User         *string // Key/UserId, else DeviceInfo/UserId
	// DeviceUser is DeviceInfo/UserId, kept apart so a caller looking for a particular
	// form of user (a UPN) can try it when Key/UserId is something else (a login, a DN).
	DeviceUser *string

	Algorithm string // URI as written ("" when absent)
	Kind      string // KindTOTP, KindHOTP, KindOCRA or KindOther
	// Hash is "SHA1", "SHA256", "SHA512" (or SHA224/SHA384) for HOTP/TOTP/OCRA keys, nil
	// for other algorithms. HashDefaulted says a HOTP/TOTP key named no hash and SHA1 was assumed.
	Hash          *string
	HashDefaulted bool

	Digits *int // ResponseFormat/@Length
	// Encoding is ResponseFormat/@Encoding (drafts: @Format) as written, e.g. "DECIMAL",
	// "HEXADECIMAL", "ALPHANUMERIC"; nil when absent.
	Encoding     *string
	TimeInterval *int
	TimeOffset   *int // Data/Time
	TimeDrift    *int // signed
	Counter      *uint64

	// Secret is the decoded (and decrypted) key; nil when the file does not carry it
	// (for example a KeyReference). It is secret material: never print or log it.
	Secret []byte

	// ExpiryDate is the key's Policy/ExpiryDate (legacy Key/ExpiryDate), nil when absent.
	ExpiryDate *time.Time
}

// SerialOrID is the serial used for display and import: SerialNo, else the Key Id, else "".
// Surrounding whitespace is not part of it: SerialNo text is trimmed as it is read, and
// the Key Id (kept as written in KeyID) is trimmed here, so Id=" 0123 " imports, maps
// (--upn-map) and is compared as the serial 0123.
func (k *Key) SerialOrID() string {
	if k.Serial != nil && *k.Serial != "" {
		return *k.Serial
	}
	if k.KeyID != nil {
		return trimXML(*k.KeyID)
	}
	return ""
}

// Error is a problem that refuses the whole file. Callers must discard any keys read
// before it: a PSKC file is valid only once Next has returned io.EOF.
type Error struct {
	Class   string // one of the Class constants
	Package int    // 1-based KeyPackage number, 0 for the container
	Serial  string // serial of the package when known
	Line    int    // 0 when unknown
	Msg     string // never contains secret material
}

// Code is the stable problem code, "pskc." + Class.
func (e *Error) Code() string { return "pskc." + e.Class }

func (e *Error) Error() string {
	var b strings.Builder
	if e.Package > 0 {
		fmt.Fprintf(&b, "key package %d", e.Package)
		if e.Serial != "" {
			fmt.Fprintf(&b, " (serial %s)", e.Serial)
		}
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	b.WriteString(" [")
	b.WriteString(e.Code())
	b.WriteString("]")
	return b.String()
}

// Warning is a finding that does not refuse the file.
type Warning struct {
	Code    string // one of the Warn constants (without the "pskc." prefix)
	Package int    // 0 for the container
	Serial  string
	Line    int
	Message string
}

// FullCode is "pskc." + Code.
func (w Warning) FullCode() string { return "pskc." + w.Code }

func (w Warning) String() string {
	e := Error{Class: w.Code, Package: w.Package, Serial: w.Serial, Line: w.Line, Msg: w.Message}
	return e.Error()
}

func newError(class, format string, args ...any) *Error {
	return &Error{Class: class, Msg: fmt.Sprintf(format, args...)}
}
