package tokenfile

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The workload of the `tokens convert` target in docs/performance.md: 100,000 TOTP keys, plaintext and
// AES-128-CBC + HMAC-SHA1. (scripts/bench-pskc.sh compares the command with pskc2csv.)
const benchKeys = 100_000

var (
	benchPSK    = []byte("0123456789abcdef")
	benchMACKey = []byte("mac key for the benchmark file..")
)

// writeBenchPSKC writes n TOTP keys like a vendor file, encrypted when enc is set.
func writeBenchPSKC(tb testing.TB, path string, n int, enc bool) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	block, err := aes.NewCipher(benchPSK)
	if err != nil {
		tb.Fatal(err)
	}
	// encrypt returns base64(IV || AES-128-CBC(PKCS#7(p))) and its HMAC-SHA1 over the
	// ciphertext with the IV, as RFC 6030 Figure 6 does. The IV is derived from a counter:
	// benchmark data, not a real file.
	var ivCounter uint64
	encrypt := func(p []byte) (string, string) {
		ivCounter++
		pad := aes.BlockSize - len(p)%aes.BlockSize
		buf := make([]byte, aes.BlockSize+len(p)+pad)
		binary.BigEndian.PutUint64(buf[8:16], ivCounter)
		copy(buf[aes.BlockSize:], p)
		for i := len(buf) - pad; i < len(buf); i++ {
			buf[i] = byte(pad)
		}
		cipher.NewCBCEncrypter(block, buf[:aes.BlockSize]).CryptBlocks(buf[aes.BlockSize:], buf[aes.BlockSize:])
		m := hmac.New(sha1.New, benchMACKey)
		m.Write(buf)
		return base64.StdEncoding.EncodeToString(buf), base64.StdEncoding.EncodeToString(m.Sum(nil))
	}

	fmt.Fprintln(w, `<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintln(w, `<pskc:KeyContainer Version="1.0" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">`)
	if enc {
		macKey, _ := encrypt(benchMACKey)
		fmt.Fprintf(w, ` <pskc:EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></pskc:EncryptionKey>
 <pskc:MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"><pskc:MACKey>
  <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
  <xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData>
 </pskc:MACKey></pskc:MACMethod>
`, macKey)
	}
	secret := make([]byte, 20)
	for i := range n {
		binary.BigEndian.PutUint64(secret, uint64(i)*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(secret[8:], uint64(i+1)*0xC2B2AE3D27D4EB4F)
		binary.BigEndian.PutUint32(secret[16:], uint32(i)*0x85EBCA6B+1)
		value := "<pskc:PlainValue>" + base64.StdEncoding.EncodeToString(secret) + "</pskc:PlainValue>"
		if enc {
			c, mac := encrypt(secret)
			value = `<pskc:EncryptedValue><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>` +
				"<xenc:CipherData><xenc:CipherValue>" + c + "</xenc:CipherValue></xenc:CipherData></pskc:EncryptedValue>" +
				"<pskc:ValueMAC>" + mac + "</pskc:ValueMAC>"
		}
		serial := 2600000000000 + i
		fmt.Fprintf(w, ` <pskc:KeyPackage>
  <pskc:DeviceInfo><pskc:Manufacturer>Feitian Technology Co.,Ltd</pskc:Manufacturer><pskc:SerialNo>%d</pskc:SerialNo><pskc:Model>c200</pskc:Model></pskc:DeviceInfo>
  <pskc:Key Id="%d" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
   <pskc:Issuer>Contoso</pskc:Issuer>
   <pskc:AlgorithmParameters><pskc:Suite>HMAC-SHA1</pskc:Suite><pskc:ResponseFormat Length="6" Encoding="DECIMAL"/></pskc:AlgorithmParameters>
   <pskc:Data><pskc:Secret>%s</pskc:Secret><pskc:Time><pskc:PlainValue>0</pskc:PlainValue></pskc:Time><pskc:TimeInterval><pskc:PlainValue>30</pskc:PlainValue></pskc:TimeInterval></pskc:Data>
   <pskc:UserId>user%06d@contoso.example</pskc:UserId>
  </pskc:Key>
 </pskc:KeyPackage>
`, serial, serial, value, i)
	}
	fmt.Fprintln(w, "</pskc:KeyContainer>")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func benchmarkConvert(b *testing.B, enc bool) {
	path := filepath.Join(b.TempDir(), "bench.pskc")
	writeBenchPSKC(b, path, benchKeys, enc)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	opts := ConvertOptions{}
	if enc {
		opts.Read.PSKC.Key = benchPSK
	}
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Convert(context.Background(), f, io.Discard, opts)
		f.Close()
		if err != nil || !res.OK(false) || res.Written != benchKeys {
			b.Fatalf("err %v, %d written, problems %v", err, res.Written, res.Problems)
		}
	}
}

// BenchmarkConvert100kPlain converts 100,000 plaintext TOTP keys to the Azure CSV.
func BenchmarkConvert100kPlain(b *testing.B) { benchmarkConvert(b, false) }

// BenchmarkConvert100kAES128CBC converts the same keys encrypted with AES-128-CBC + HMAC-SHA1.
func BenchmarkConvert100kAES128CBC(b *testing.B) { benchmarkConvert(b, true) }

// The generator must write what the reader accepts: a few keys, every one valid.
func TestBenchFileIsValid(t *testing.T) {
	for _, enc := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "small.pskc")
		writeBenchPSKC(t, path, 3, enc)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		opts := ConvertOptions{}
		if enc {
			opts.Read.PSKC.Key = benchPSK
		}
		res, err := Convert(context.Background(), f, io.Discard, opts)
		f.Close()
		if err != nil || !res.OK(false) || res.Written != 3 || len(res.Problems) != 0 {
			t.Errorf("encrypted %v: err %v, %d written, problems %v", enc, err, res.Written, res.Problems)
		}
	}
}
