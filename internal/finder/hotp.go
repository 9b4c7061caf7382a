package finder

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"

	"github.com/mfactl/mfactl/internal/tokens"
)

// A search computes tens of millions of codes, so it does not go through tokens.TOTP (which
// Base32-encodes the secret, builds an HMAC and formats a string for every code): each worker
// keeps one pair of hash states per algorithm, absorbs the token's HMAC pads once (RFC 2104:
// the inner and outer key blocks), and per step restores the absorbed states, hashes the
// 8-byte counter and truncates (RFC 4226) straight to an integer. No allocation per step or
// per token; the test checks every result against tokens.TOTP.

// hasher is one algorithm's pair of hash states and the token's absorbed pads.
type hasher struct {
	inner, outer hash.Hash
	block        int
	istate       []byte // inner state after the key block XOR ipad
	ostate       []byte // outer state after the key block XOR opad
	sum          [sha512.Size]byte
	pad          [sha512.BlockSize]byte
	msg          [8]byte // a field, so that passing it to Write does not allocate
	inU, outU    encoding.BinaryUnmarshaler
}

func newHasher(h func() hash.Hash) *hasher {
	in, out := h(), h()
	return &hasher{inner: in, outer: out, block: in.BlockSize(),
		inU: in.(encoding.BinaryUnmarshaler), outU: out.(encoding.BinaryUnmarshaler)}
}

// setKey absorbs the HMAC key: the secret, hashed first when longer than a block.
func (h *hasher) setKey(secret []byte) error {
	key := secret
	if len(key) > h.block {
		h.inner.Reset()
		h.inner.Write(key)
		key = h.inner.Sum(h.sum[:0])
	}
	var err error
	for i, st := range []*[]byte{&h.istate, &h.ostate} {
		x := byte(0x36)
		d := h.inner
		if i == 1 {
			x, d = 0x5c, h.outer
		}
		clear(h.pad[:])
		copy(h.pad[:], key)
		for j := range h.block {
			h.pad[j] ^= x
		}
		d.Reset()
		d.Write(h.pad[:h.block])
		if *st, err = d.(encoding.BinaryAppender).AppendBinary((*st)[:0]); err != nil {
			return fmt.Errorf("keeping the HMAC state: %w", err)
		}
	}
	clear(h.pad[:])
	clear(h.sum[:])
	return nil
}

// code returns the HOTP value of counter, reduced to digits digits (mod is 10^digits).
func (h *hasher) code(counter uint64, mod uint32) uint32 {
	binary.BigEndian.PutUint64(h.msg[:], counter)
	_ = h.inU.UnmarshalBinary(h.istate)
	h.inner.Write(h.msg[:])
	s := h.inner.Sum(h.sum[:0])
	_ = h.outU.UnmarshalBinary(h.ostate)
	h.outer.Write(s)
	s = h.outer.Sum(h.sum[:0])
	off := s[len(s)-1] & 0x0f
	v := binary.BigEndian.Uint32(s[off:off+4]) & 0x7fffffff
	return v % mod
}

// wipe forgets the token's key: the absorbed pads and both hash states.
func (h *hasher) wipe() {
	clear(h.istate)
	clear(h.ostate)
	clear(h.sum[:])
	h.inner.Reset()
	h.outer.Reset()
}

// hashers is a worker's set of hashers, one per algorithm.
type hashers struct {
	sha1, sha256, sha512 *hasher
}

func newHashers() *hashers {
	return &hashers{sha1: newHasher(sha1.New), sha256: newHasher(sha256.New), sha512: newHasher(sha512.New)}
}

func (hs *hashers) get(name string) (*hasher, error) {
	switch strings.ToUpper(name) {
	case tokens.HashSHA1, "":
		return hs.sha1, nil
	case tokens.HashSHA256:
		return hs.sha256, nil
	case tokens.HashSHA512:
		return hs.sha512, nil
	}
	return nil, fmt.Errorf("unsupported OTP hash %q (want SHA1, SHA256 or SHA512)", name)
}

// pow10 is 10^digits for the code lengths tokens have.
var pow10 = [...]uint32{6: 1_000_000, 7: 10_000_000, 8: 100_000_000}
