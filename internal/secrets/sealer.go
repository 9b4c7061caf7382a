package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// sealVersion is the first byte of every sealed value and part of its associated data, so a
// later format can be introduced without guessing which one a stored value uses.
const sealVersion = 1

const nonceSize = 12

// FingerprintSize is the length of a Fingerprint. 128 bits of HMAC-SHA256 make an accidental
// collision between two different secrets negligible at any realistic directory size, and keep
// the index on fingerprints small.
const FingerprintSize = 16

// ErrOpen means a sealed value could not be decrypted: the key is not the one it was sealed
// with, or the value was altered or moved to another row.
var ErrOpen = errors.New("secret cannot be decrypted: the key file does not match the data")

// Labels for the subkeys derived from the master key (key separation: the encryption key, the
// fingerprint key and the key check never share key material).
const (
	labelEncrypt     = "mfactl secret encryption v1"
	labelFingerprint = "mfactl secret fingerprint v1"
	labelCheck       = "mfactl key check v1"
	labelAuditChain  = "mfactl audit-chain v1"
)

// Sealer encrypts and decrypts secrets under one master key. It is safe for concurrent use.
type Sealer struct {
	aead  cipher.AEAD
	fpKey []byte
	check []byte
	audit []byte    // the audit-chain key
	macs  sync.Pool // of hash.Hash keyed with fpKey
}

// NewSealer returns a Sealer for a master key of KeySize bytes.
func NewSealer(master []byte) (*Sealer, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(master))
	}
	encKey, err := hkdf.Key(sha256.New, master, nil, labelEncrypt, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving encryption key: %w", err)
	}
	fpKey, err := hkdf.Key(sha256.New, master, nil, labelFingerprint, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving fingerprint key: %w", err)
	}
	checkKey, err := hkdf.Key(sha256.New, master, nil, labelCheck, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving key check: %w", err)
	}
	auditKey, err := hkdf.Key(sha256.New, master, nil, labelAuditChain, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving audit-chain key: %w", err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, checkKey)
	m.Write([]byte("mfactl key check value"))
	s := &Sealer{aead: aead, fpKey: fpKey, check: m.Sum(nil), audit: auditKey}
	s.macs.New = func() any { return hmac.New(sha256.New, s.fpKey) }
	return s, nil
}

// additionalData binds a sealed value to the format version and to its serial number, folded to
// lower case because serials compare case-insensitively.
func additionalData(buf []byte, serial string) []byte {
	buf = append(buf[:0], sealVersion)
	return append(buf, strings.ToLower(serial)...)
}

// Seal encrypts plain for the token (or method) identified by serial and returns
// version || nonce || ciphertext+tag. Every call uses a fresh random nonce.
func (s *Sealer) Seal(plain []byte, serial string) []byte {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+nonceSize]); err != nil {
		// crypto/rand.Read does not fail on supported platforms (it crashes the program instead).
		panic("secrets: reading random nonce: " + err.Error())
	}
	var adBuf [64]byte
	return s.aead.Seal(out, out[1:1+nonceSize], plain, additionalData(adBuf[:0], serial))
}

// Open decrypts a value made by Seal for the same serial. Any failure returns ErrOpen, which
// never includes data.
func (s *Sealer) Open(sealed []byte, serial string) ([]byte, error) {
	if len(sealed) < 1+nonceSize+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrOpen
	}
	var adBuf [64]byte
	plain, err := s.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], additionalData(adBuf[:0], serial))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// Fingerprint returns a keyed digest of secret (HMAC-SHA256 under a subkey of the master key,
// truncated to FingerprintSize bytes). Equal secrets have equal fingerprints under the same key;
// without the key a fingerprint reveals nothing and cannot be checked against guesses.
func (s *Sealer) Fingerprint(secret []byte) []byte {
	return s.AppendFingerprint(make([]byte, 0, sha256.Size), secret)
}

// AppendFingerprint appends the Fingerprint of secret to dst; it lets bulk callers reuse
// buffers.
func (s *Sealer) AppendFingerprint(dst, secret []byte) []byte {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(secret)
	dst = m.Sum(dst)
	s.macs.Put(m)
	return dst[:len(dst)-sha256.Size+FingerprintSize]
}

// CheckValue returns the key check value: a MAC of a fixed label under a subkey of the master
// key. Stored beside the data when it is created, it lets a later open recognise a wrong key
// file before anything is decrypted or written.
func (s *Sealer) CheckValue() []byte {
	return append([]byte(nil), s.check...)
}

// MatchesCheckValue reports, in constant time, whether v is this key's check value.
func (s *Sealer) MatchesCheckValue(v []byte) bool {
	return hmac.Equal(v, s.check)
}

// AuditChainKey returns the key of the audit chain (purpose "audit-chain"): the HMAC-SHA256
// key that seals each audit row to the one before it. It is a subkey of its own, so a mac of
// the audit trail says nothing about the secrets' keys. The caller must not print it.
func (s *Sealer) AuditChainKey() []byte {
	return append([]byte(nil), s.audit...)
}
