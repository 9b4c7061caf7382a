package pskc

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
	"strings"
)

// cipherAlg describes a supported value encryption algorithm.
type cipherAlg struct {
	name    string // normalised fragment, e.g. "aes128-cbc"
	cbc     bool   // CBC mode (needs a MAC); otherwise a key wrap
	des     bool   // triple DES (16- or 24-byte key)
	keySize int    // AES key size; 0 for triple DES
	pad     bool   // RFC 5649 padded AES key wrap
}

// fragment returns the lower-cased part of an algorithm URI after '#' (or the whole
// value for bare legacy names such as "HMAC-SHA1"): URIs are matched by fragment,
// case-insensitively.
func fragment(uri string) string {
	uri = strings.ToLower(trimXML(uri))
	if i := strings.LastIndexByte(uri, '#'); i >= 0 {
		return uri[i+1:]
	}
	return uri
}

// lookupCipher classifies an encryption algorithm URI. A nil result comes with the error
// class and message explaining the refusal.
func lookupCipher(uri string) (*cipherAlg, *Error) {
	f := fragment(uri)
	switch f {
	case "":
		return nil, newError(ClassUnsupportedAlgorithm, "no encryption algorithm given")
	case "aes128-cbc", "aes192-cbc", "aes256-cbc":
		size := map[string]int{"aes128-cbc": 16, "aes192-cbc": 24, "aes256-cbc": 32}[f]
		return &cipherAlg{name: f, cbc: true, keySize: size}, nil
	case "tripledes-cbc", "3des-cbc", "des-ede3-cbc":
		return &cipherAlg{name: "tripledes-cbc", cbc: true, des: true}, nil
	case "kw-aes128", "kw-aes192", "kw-aes256":
		size := map[string]int{"kw-aes128": 16, "kw-aes192": 24, "kw-aes256": 32}[f]
		return &cipherAlg{name: f, keySize: size}, nil
	case "kw-aes-128-pad", "kw-aes-192-pad", "kw-aes-256-pad":
		size := map[string]int{"kw-aes-128-pad": 16, "kw-aes-192-pad": 24, "kw-aes-256-pad": 32}[f]
		return &cipherAlg{name: f, keySize: size, pad: true}, nil
	case "kw-tripledes":
		return &cipherAlg{name: f, des: true}, nil
	}
	switch {
	case strings.Contains(f, "camellia"):
		return nil, newError(ClassUnsupportedAlgorithm, "Camellia encryption (%s) is not supported", f)
	case strings.Contains(f, "gcm"):
		return nil, newError(ClassUnsupportedAlgorithm, "AES-GCM encryption (%s) is not supported", f)
	case strings.HasPrefix(f, "rsa"):
		return nil, newError(ClassAsymmetricUnsupported, "RSA key transport (%s) is not supported; ask the vendor for a pre-shared key or password", f)
	}
	return nil, newError(ClassUnsupportedAlgorithm, "unknown encryption algorithm %q", limit(uri))
}

// limit shortens untrusted text quoted in a message.
func limit(s string) string {
	s = trimXML(s)
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// lookupHash maps an HMAC or PRF algorithm URI ("...#hmac-sha256", "HMAC-SHA1") to a hash.
func lookupHash(uri string) (func() hash.Hash, bool) {
	switch strings.TrimPrefix(fragment(uri), "hmac-") {
	case "sha1":
		return sha1.New, true
	case "sha224":
		return sha256.New224, true
	case "sha256":
		return sha256.New, true
	case "sha384":
		return sha512.New384, true
	case "sha512":
		return sha512.New, true
	}
	return nil, false
}

var errBadKey = errors.New("bad key")

// checkKeyLen checks that key fits alg and expands a two-key triple-DES key.
func (a *cipherAlg) checkKey(key []byte) ([]byte, *Error) {
	if a.des {
		switch len(key) {
		case 24:
			return key, nil
		case 16:
			k := make([]byte, 24)
			copy(k, key)
			copy(k[16:], key[:8])
			return k, nil
		}
		return nil, newError(ClassWrongKey, "wrong key: %s needs a 16- or 24-byte key, got %d bytes", a.name, len(key))
	}
	if len(key) != a.keySize {
		return nil, newError(ClassWrongKey, "wrong key: %s needs a %d-byte key, got %d bytes", a.name, a.keySize, len(key))
	}
	return key, nil
}

func (a *cipherAlg) block(key []byte) cipher.Block {
	if a.des {
		b, _ := des.NewTripleDESCipher(key)
		return b
	}
	b, _ := aes.NewCipher(key)
	return b
}

// padResult says how a CBC plaintext's padding looked.
type padResult int

const (
	padBad    padResult = iota // last byte not a valid padding length: wrong key
	padLoose                   // valid length but the other padding bytes differ (XML Encryption allows arbitrary ones)
	padStrict                  // PKCS#7: all padding bytes equal the length
)

// decryptCBC decrypts ct (IV first unless iv is given) and removes the padding. key must
// already be checked with checkKey.
func decryptCBC(a *cipherAlg, key, iv, ct []byte) ([]byte, padResult) {
	b := a.block(key)
	bs := b.BlockSize()
	if iv == nil {
		if len(ct) < 2*bs {
			return nil, padBad
		}
		iv, ct = ct[:bs], ct[bs:]
	} else if len(iv) != bs {
		return nil, padBad
	}
	if len(ct) == 0 || len(ct)%bs != 0 {
		return nil, padBad
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(pt, ct)
	n := int(pt[len(pt)-1])
	if n == 0 || n > bs || n > len(pt) {
		return nil, padBad
	}
	res := padStrict
	for _, c := range pt[len(pt)-n:] {
		if int(c) != n {
			res = padLoose
		}
	}
	return pt[:len(pt)-n], res
}

var kwIV = []byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

// aesUnwrap undoes an RFC 3394 key wrap, or the RFC 5649 padded form (alternative IV
// A65959A6 with the message length), which python-pskc writes under the kw-aes URIs.
func aesUnwrap(key, c []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, errBadKey
	}
	if len(c) < 16 || len(c)%8 != 0 {
		return nil, errBadKey
	}
	var a [8]byte
	var r []byte
	if len(c) == 16 {
		// RFC 5649 section 4.2: a single block is decrypted with plain AES.
		var buf [16]byte
		b.Decrypt(buf[:], c)
		copy(a[:], buf[:8])
		r = append([]byte(nil), buf[8:]...)
	} else {
		n := len(c)/8 - 1
		copy(a[:], c[:8])
		r = append([]byte(nil), c[8:]...)
		var buf [16]byte
		for j := 5; j >= 0; j-- {
			for i := n; i >= 1; i-- {
				t := uint64(n*j + i)
				binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(a[:])^t)
				copy(buf[8:], r[(i-1)*8:i*8])
				b.Decrypt(buf[:], buf[:])
				copy(a[:], buf[:8])
				copy(r[(i-1)*8:i*8], buf[8:])
			}
		}
		if subtle.ConstantTimeCompare(a[:], kwIV) == 1 {
			return r, nil
		}
	}
	if !bytes.Equal(a[:4], []byte{0xA6, 0x59, 0x59, 0xA6}) {
		return nil, errBadKey
	}
	mli := int(binary.BigEndian.Uint32(a[4:]))
	if mli == 0 || mli > len(r) || mli <= len(r)-8 {
		return nil, errBadKey
	}
	for _, p := range r[mli:] {
		if p != 0 {
			return nil, errBadKey
		}
	}
	return r[:mli], nil
}

var tdesWrapIV = []byte{0x4a, 0xdd, 0xa2, 0x2c, 0x79, 0xe8, 0x21, 0x05}

// tripleDESUnwrap undoes an RFC 3217 triple-DES key wrap (CMS key checksum).
func tripleDESUnwrap(key, c []byte) ([]byte, error) {
	b, err := des.NewTripleDESCipher(key)
	if err != nil {
		return nil, errBadKey
	}
	if len(c) < 24 || len(c)%8 != 0 {
		return nil, errBadKey
	}
	tmp3 := make([]byte, len(c))
	cipher.NewCBCDecrypter(b, tdesWrapIV).CryptBlocks(tmp3, c)
	for i, j := 0, len(tmp3)-1; i < j; i, j = i+1, j-1 {
		tmp3[i], tmp3[j] = tmp3[j], tmp3[i]
	}
	iv, tmp1 := tmp3[:8], tmp3[8:]
	cekicv := make([]byte, len(tmp1))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(cekicv, tmp1)
	cek, icv := cekicv[:len(cekicv)-8], cekicv[len(cekicv)-8:]
	sum := sha1.Sum(cek)
	if subtle.ConstantTimeCompare(sum[:8], icv) != 1 {
		return nil, errBadKey
	}
	return cek, nil
}

// unwrap decrypts a key-wrapped value; a failed integrity check is a wrong key.
func unwrap(a *cipherAlg, key, c []byte) ([]byte, error) {
	if a.des {
		return tripleDESUnwrap(key, c)
	}
	return aesUnwrap(key, c)
}

// mac computes the HMAC of data with the file's MAC key. The HMAC states (the key already
// hashed into the pads) are reused across values and workers: setting one up costs as much
// as the MAC of a short secret.
func (c *cryptoCtx) mac(data []byte) []byte {
	m, _ := c.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(c.macHash, c.macKey)
	}
	m.Reset()
	m.Write(data)
	sum := m.Sum(nil)
	c.macs.Put(m)
	return sum
}
