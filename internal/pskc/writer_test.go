package pskc

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"strconv"
)

// This file is a small PSKC writer used only by tests: round trips, the fuzz seeds and
// the benchmark files. It writes what vendors write (RFC 6030 layout, MACKey encrypted
// with the pre-shared or derived key, IV prepended to each CipherValue).

type testKey struct {
	serial, id, manufacturer, model, user string
	algorithm, suite                      string
	digits, interval                      int
	counter                               *uint64
	secret                                []byte
}

type testEnc struct {
	cipher     string // fragment: aes128-cbc, kw-aes128, tripledes-cbc, kw-tripledes, ...
	key        []byte // pre-shared key (or nil with password)
	password   string
	iterations int
	prf        string // PBKDF2 PRF fragment ("" = default)
	prfAsText  bool   // write the PRF as element text instead of an attribute
	mac        string // MAC fragment, e.g. hmac-sha1 ("" = none)
	macKey     []byte
	noMACValue bool // omit ValueMAC (to test mac-missing)
}

const (
	xmlencNS = "http://www.w3.org/2001/04/xmlenc#"
	dsigNS   = "http://www.w3.org/2000/09/xmldsig#"
)

// writePSKC writes keys as a PSKC document; enc nil writes plaintext.
func writePSKC(w io.Writer, keys []testKey, enc *testEnc) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<pskc:KeyContainer Version=\"1.0\" xmlns:pskc=\"%s\" xmlns:xenc=\"%s\" xmlns:ds=\"%s\" xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\">\n", NamespaceRFC6030, xmlencNS, dsigNS)
	var key, macKey []byte
	var alg *cipherAlg
	if enc != nil {
		var err *Error
		if alg, err = lookupCipher("#" + enc.cipher); err != nil {
			return err
		}
		key = enc.key
		bw.WriteString(" <pskc:EncryptionKey>\n")
		if enc.password != "" {
			salt := []byte("0123456789abcdef")
			prf := "hmac-sha1"
			if enc.prf != "" {
				prf = enc.prf
			}
			h, _ := lookupHash(prf)
			n := alg.keySize
			if alg.des {
				n = 24
			}
			key, _ = pbkdf2.Key(h, enc.password, salt, enc.iterations, n)
			fmt.Fprintf(bw, "  <xenc11:DerivedKey><xenc11:KeyDerivationMethod Algorithm=\"http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2\"><xenc11:PBKDF2-params><Salt><Specified>%s</Specified></Salt><IterationCount>%d</IterationCount><KeyLength>%d</KeyLength>",
				base64.StdEncoding.EncodeToString(salt), enc.iterations, n)
			switch {
			case enc.prf == "":
			case enc.prfAsText:
				fmt.Fprintf(bw, "<PRF>http://www.w3.org/2001/04/xmldsig-more#%s</PRF>", enc.prf)
			default:
				fmt.Fprintf(bw, "<PRF Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#%s\"/>", enc.prf)
			}
			bw.WriteString("</xenc11:PBKDF2-params></xenc11:KeyDerivationMethod></xenc11:DerivedKey>\n")
		} else {
			bw.WriteString("  <ds:KeyName>Pre-shared-key</ds:KeyName>\n")
		}
		bw.WriteString(" </pskc:EncryptionKey>\n")
		if enc.mac != "" {
			macKey = enc.macKey
			fmt.Fprintf(bw, " <pskc:MACMethod Algorithm=\"%s%s\">\n  <pskc:MACKey>\n", dsigNS, enc.mac)
			writeEncrypted(bw, alg, key, macKey)
			bw.WriteString("  </pskc:MACKey>\n </pskc:MACMethod>\n")
		}
	}
	for _, k := range keys {
		bw.WriteString(" <pskc:KeyPackage>\n  <pskc:DeviceInfo>\n")
		elem(bw, "   ", "Manufacturer", k.manufacturer)
		elem(bw, "   ", "SerialNo", k.serial)
		elem(bw, "   ", "Model", k.model)
		bw.WriteString("  </pskc:DeviceInfo>\n")
		fmt.Fprintf(bw, "  <pskc:Key Id=\"%s\" Algorithm=\"%s\">\n", k.id, k.algorithm)
		elem(bw, "   ", "Issuer", "Contoso")
		bw.WriteString("   <pskc:AlgorithmParameters>\n")
		elem(bw, "    ", "Suite", k.suite)
		if k.digits > 0 {
			fmt.Fprintf(bw, "    <pskc:ResponseFormat Length=\"%d\" Encoding=\"DECIMAL\"/>\n", k.digits)
		}
		bw.WriteString("   </pskc:AlgorithmParameters>\n   <pskc:Data>\n    <pskc:Secret>\n")
		if enc == nil {
			fmt.Fprintf(bw, "     <pskc:PlainValue>%s</pskc:PlainValue>\n", base64.StdEncoding.EncodeToString(k.secret))
		} else {
			bw.WriteString("     <pskc:EncryptedValue>\n")
			ct := writeEncrypted(bw, alg, key, k.secret)
			bw.WriteString("     </pskc:EncryptedValue>\n")
			if enc.mac != "" && !enc.noMACValue {
				h, _ := lookupHash(enc.mac)
				fmt.Fprintf(bw, "     <pskc:ValueMAC>%s</pskc:ValueMAC>\n", base64.StdEncoding.EncodeToString(computeMAC(h, macKey, ct)))
			}
		}
		bw.WriteString("    </pskc:Secret>\n")
		if k.counter != nil {
			fmt.Fprintf(bw, "    <pskc:Counter><pskc:PlainValue>%d</pskc:PlainValue></pskc:Counter>\n", *k.counter)
		}
		if k.interval > 0 {
			bw.WriteString("    <pskc:Time><pskc:PlainValue>0</pskc:PlainValue></pskc:Time>\n")
			fmt.Fprintf(bw, "    <pskc:TimeInterval><pskc:PlainValue>%d</pskc:PlainValue></pskc:TimeInterval>\n", k.interval)
		}
		bw.WriteString("   </pskc:Data>\n")
		elem(bw, "   ", "UserId", k.user)
		bw.WriteString("  </pskc:Key>\n </pskc:KeyPackage>\n")
	}
	bw.WriteString("</pskc:KeyContainer>\n")
	return bw.Flush()
}

func elem(w *bufio.Writer, indent, name, text string) {
	if text != "" {
		fmt.Fprintf(w, "%s<pskc:%s>%s</pskc:%s>\n", indent, name, text, name)
	}
}

// writeEncrypted writes EncryptionMethod and CipherData for pt and returns the
// CipherValue bytes.
func writeEncrypted(w *bufio.Writer, alg *cipherAlg, key, pt []byte) []byte {
	var ct []byte
	k, _ := alg.checkKey(key)
	switch {
	case alg.cbc:
		ct = encryptCBC(alg.block(k), pt)
	case alg.des:
		ct = tripleDESWrap(k, pt)
	default:
		ct = aesWrap(k, pt)
	}
	fmt.Fprintf(w, "      <xenc:EncryptionMethod Algorithm=\"%s%s\"/>\n      <xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData>\n",
		xmlencNS, alg.name, base64.StdEncoding.EncodeToString(ct))
	return ct
}

func encryptCBC(b cipher.Block, pt []byte) []byte {
	bs := b.BlockSize()
	n := bs - len(pt)%bs
	padded := append(append([]byte(nil), pt...), make([]byte, n)...)
	for i := len(pt); i < len(padded); i++ {
		padded[i] = byte(n)
	}
	out := make([]byte, bs+len(padded))
	rand.Read(out[:bs])
	cipher.NewCBCEncrypter(b, out[:bs]).CryptBlocks(out[bs:], padded)
	return out
}

// aesWrap is RFC 3394 (a multiple of 8 bytes) or RFC 5649 (any other length).
func aesWrap(key, pt []byte) []byte {
	b, _ := aes.NewCipher(key)
	a := make([]byte, 8)
	copy(a, kwIV)
	r := append([]byte(nil), pt...)
	if len(pt)%8 != 0 {
		a = []byte{0xA6, 0x59, 0x59, 0xA6, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(a[4:], uint32(len(pt)))
		r = append(r, make([]byte, 8-len(pt)%8)...)
		if len(r) == 8 {
			out := make([]byte, 16)
			b.Encrypt(out, append(a, r...))
			return out
		}
	}
	n := len(r) / 8
	buf := make([]byte, 16)
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(buf, a)
			copy(buf[8:], r[(i-1)*8:i*8])
			b.Encrypt(buf, buf)
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a, binary.BigEndian.Uint64(buf[:8])^t)
			copy(r[(i-1)*8:i*8], buf[8:])
		}
	}
	return append(a, r...)
}

// tripleDESWrap is RFC 3217.
func tripleDESWrap(key, cek []byte) []byte {
	b, _ := des.NewTripleDESCipher(key)
	sum := sha1.Sum(cek)
	cekicv := append(append([]byte(nil), cek...), sum[:8]...)
	iv := make([]byte, 8)
	rand.Read(iv)
	tmp1 := make([]byte, len(cekicv))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(tmp1, cekicv)
	tmp2 := append(iv, tmp1...)
	for i, j := 0, len(tmp2)-1; i < j; i, j = i+1, j-1 {
		tmp2[i], tmp2[j] = tmp2[j], tmp2[i]
	}
	out := make([]byte, len(tmp2))
	cipher.NewCBCEncrypter(b, tdesWrapIV).CryptBlocks(out, tmp2)
	return out
}

// genTOTP makes n TOTP keys like a hardware-token vendor's bulk file.
func genTOTP(n int) []testKey {
	keys := make([]testKey, n)
	for i := range keys {
		secret := make([]byte, 20)
		binary.BigEndian.PutUint64(secret, uint64(i)*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(secret[8:], uint64(i+1)*0xC2B2AE3D27D4EB4F)
		serial := strconv.Itoa(2600000000000 + i)
		keys[i] = testKey{serial: serial, id: serial, manufacturer: "Feitian Technology Co.,Ltd", model: "c200",
			user: fmt.Sprintf("user%06d@contoso.example", i), algorithm: "urn:ietf:params:xml:ns:keyprov:pskc:totp",
			suite: "HMAC-SHA1", digits: 6, interval: 30, secret: secret}
	}
	return keys
}

func computeMAC(h func() hash.Hash, key, data []byte) []byte {
	m := hmac.New(h, key)
	m.Write(data)
	return m.Sum(nil)
}
