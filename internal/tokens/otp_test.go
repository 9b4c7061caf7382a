package tokens

import (
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/conformancetest"
)

type totpVector struct {
	Source   string `json:"source"`
	Secret   string `json:"secret_base32"`
	Hash     string `json:"hash"`
	Digits   int    `json:"digits"`
	Period   int    `json:"period"`
	UnixTime int64  `json:"unix_time"`
	Code     string `json:"code"`
}

func loadVectors(t *testing.T) []totpVector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(conformancetest.Dir(t, "otp"), "totp-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []totpVector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func decodeB32(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTOTPVectors checks TOTP against RFC 6238 appendix B and oathtool's codes, and that
// MatchCode finds each code at offset 0 with the exact string (leading zeros included).
func TestTOTPVectors(t *testing.T) {
	for i, v := range loadVectors(t) {
		t.Run(fmt.Sprintf("%d_%s_%s_%d", i, v.Hash, v.Secret[:8], v.UnixTime), func(t *testing.T) {
			secret := decodeB32(t, v.Secret)
			p := OTPParams{Hash: v.Hash, Digits: v.Digits}
			step := Step(time.Unix(v.UnixTime, 0), v.Period)
			got, err := TOTP(secret, p, step)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.Code {
				t.Fatalf("TOTP = %q, want %q (%s)", got, v.Code, v.Source)
			}
			off, ok, err := MatchCode(secret, p, v.Code, step, 1)
			if err != nil || !ok || off != 0 {
				t.Fatalf("MatchCode(own code) = %d %v %v", off, ok, err)
			}
			// Seen from three steps later, the same code is three steps in the past.
			off, ok, err = MatchCode(secret, p, v.Code, step+3, 3)
			if err != nil || !ok || off != -3 {
				t.Fatalf("MatchCode from step+3 = %d %v %v, want -3", off, ok, err)
			}
			// ... and outside a window of two.
			if _, ok, _ := MatchCode(secret, p, v.Code, step+3, 2); ok {
				t.Fatal("matched outside the window")
			}
		})
	}
}

func TestStep(t *testing.T) {
	cases := []struct {
		unix   int64
		period int
		want   int64
	}{
		{0, 30, 0}, {29, 30, 0}, {30, 30, 1}, {59, 30, 1}, {59, 60, 0}, {60, 60, 1},
		{1111111109, 30, 37037036}, {1111111111, 30, 37037037},
		{-1, 30, -1}, {-30, 30, -1}, {-31, 30, -2},
	}
	for _, c := range cases {
		if got := Step(time.Unix(c.unix, 0), c.period); got != c.want {
			t.Errorf("Step(%d, %d) = %d, want %d", c.unix, c.period, got, c.want)
		}
	}
}

// TestMatchCodeOffsets: a token running N steps slow or fast is found at offset -N or +N.
func TestMatchCodeOffsets(t *testing.T) {
	secret := []byte("12345678901234567890")
	p := OTPParams{Hash: "sha1", Digits: 6}
	center := Step(time.Unix(1700000000, 0), 30)
	for _, drift := range []int{-10, -7, -1, 0, 1, 4, 10} {
		code, err := TOTP(secret, p, center+int64(drift))
		if err != nil {
			t.Fatal(err)
		}
		off, ok, err := MatchCode(secret, p, code, center, 10)
		if err != nil || !ok || off != drift {
			t.Errorf("drift %d: MatchCode = %d %v %v", drift, off, ok, err)
		}
	}
	// Window 0 accepts only the center step.
	code, _ := TOTP(secret, p, center+1)
	if _, ok, _ := MatchCode(secret, p, code, center, 0); ok {
		t.Error("window 0 accepted the next step")
	}
}

// TestMatchCodeMalformed: anything but exactly Digits ASCII digits is incorrect, never a
// panic or an error.
func TestMatchCodeMalformed(t *testing.T) {
	secret := decodeB32(t, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	p := OTPParams{Hash: "SHA1", Digits: 8}
	step := Step(time.Unix(1111111109, 0), 30)
	good := "07081804"
	for _, code := range []string{
		"", "7081804", "007081804", "7081804 ", " 7081804", "0708180٤", "0708 1804", "07081804\n",
		"0708180a", "-7081804", "+7081804", "０7081804", "\x0007081804"[:8], good[:7] + "\x00",
	} {
		if off, ok, err := MatchCode(secret, p, code, step, 10); ok || err != nil || off != 0 {
			t.Errorf("MatchCode(%q) = %d %v %v, want no match", code, off, ok, err)
		}
	}
	if _, ok, err := MatchCode(secret, p, good, step, 10); !ok || err != nil {
		t.Fatalf("the good code did not match: %v", err)
	}
}

// TestMatchCodeNearest: when a code happens to appear at two steps of the window, the step
// nearest the center wins (the smallest drift), the earlier one on a tie.
func TestMatchCodeNearest(t *testing.T) {
	p := OTPParams{Hash: "SHA1", Digits: 6}
	// A 6-digit code repeats within 20 steps about once every 50,000 steps: walk the steps
	// keeping the last 20 codes until one repeats.
	secret := []byte("repeat-search-secret")
	found := false
	var a, b int64
	var ring [20]string
	for s := int64(0); s < 5_000_000 && !found; s++ {
		c, _ := TOTP(secret, p, s)
		for back := int64(1); back <= 20 && back <= s; back++ {
			if ring[(s-back)%20] == c {
				a, b, found = s-back, s, true
				break
			}
		}
		ring[s%20] = c
	}
	if !found {
		t.Fatal("no repeated code within 20 steps in the searched range")
	}
	code, _ := TOTP(secret, p, a)
	// Centered nearer b: b wins.
	off, ok, _ := MatchCode(secret, p, code, b, int(b-a))
	if !ok || off != 0 {
		t.Errorf("centered on b: offset %d %v, want 0", off, ok)
	}
	// Centered exactly between them (when possible): the earlier wins.
	if (b-a)%2 == 0 {
		mid := a + (b-a)/2
		off, ok, _ = MatchCode(secret, p, code, mid, int(b-a)/2)
		if !ok || off != -int(b-a)/2 {
			t.Errorf("centered between: offset %d %v, want %d", off, ok, -int(b-a)/2)
		}
	}
}

func TestOTPParamsErrors(t *testing.T) {
	s := []byte("12345678901234567890")
	if _, err := TOTP(s, OTPParams{Hash: "MD5", Digits: 6}, 1); err == nil || err.Error() != `unsupported OTP hash "MD5" (want SHA1, SHA256 or SHA512)` {
		t.Errorf("MD5: %v", err)
	}
	if _, err := TOTP(s, OTPParams{Hash: "SHA1", Digits: 5}, 1); err == nil || err.Error() != "unsupported number of OTP digits 5 (want 6 to 8)" {
		t.Errorf("5 digits: %v", err)
	}
	if _, err := TOTP(s, OTPParams{Hash: "SHA1", Digits: 6}, -1); err == nil || err.Error() != "negative time step -1" {
		t.Errorf("negative step: %v", err)
	}
	if _, _, err := MatchCode(s, OTPParams{Hash: "SHA1", Digits: 6}, "123456", 5, MaxWindow+1); err == nil || err.Error() != "window of 101 steps out of range 0..100" {
		t.Errorf("window: %v", err)
	}
	// Near the epoch the window is cut at step 0 instead of failing.
	code, _ := TOTP(s, OTPParams{Hash: "SHA1", Digits: 6}, 0)
	if off, ok, err := MatchCode(s, OTPParams{Hash: "SHA1", Digits: 6}, code, 2, 10); err != nil || !ok || off != -2 {
		t.Errorf("near the epoch: %d %v %v", off, ok, err)
	}
}

func BenchmarkMatchCodeWindow10(b *testing.B) {
	s := []byte("12345678901234567890")
	p := OTPParams{Hash: "SHA1", Digits: 6}
	for b.Loop() {
		MatchCode(s, p, "123456", 56666666, 10)
	}
}

// TestNormalizeCode: white space at the ends of any kind (a line ending left by a script, a tab
// from a spreadsheet, a no-break space from a web page) and the spaces apps group digits with
// are not part of the code; anything else that is not a digit, or a length no token has, is
// refused without the code in the message.
func TestNormalizeCode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"123456", "123456"},
		{"123456\n", "123456"},
		{"123456\r\n", "123456"},
		{"123456\t", "123456"},
		{"\t 123456 \n", "123456"},
		{"\u00a0123456", "123456"},
		{"123456\u00a0\u2003", "123456"},
		{"\u3000123456", "123456"},
		{"123 456", "123456"},
		{"123\u00a0456", "123456"},
		{"123\u2009456", "123456"},
		{"123\u202f456", "123456"},
		{" 1 2 3 4 5 6 ", "123456"},
		{"\uff11\uff12\uff13\uff14\uff15\uff16", "123456"},
		{"012345", "012345"},
		{"12345678", "12345678"},
		{"1234567", "1234567"},
	} {
		got, err := NormalizeCode(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"", "malformed code: 0 digits, want 6 to 8"},
		{" \n", "malformed code: 0 digits, want 6 to 8"},
		{"12345", "malformed code: 5 digits, want 6 to 8"},
		{"057 34", "malformed code: 5 digits, want 6 to 8"},
		{"123456789", "malformed code: 9 digits, want 6 to 8"},
		{"abcdef", "malformed code: it holds a character other than a digit"},
		{"12345a", "malformed code: it holds a character other than a digit"},
		{"123-456", "malformed code: it holds a character other than a digit"},
		{"123\t456", "malformed code: it holds a character other than a digit"},
		{"123\n456", "malformed code: it holds a character other than a digit"},
		{"١٢٣٤٥٦", "malformed code: it holds a character other than a digit"}, // Arabic-Indic digits
		{"123456\x00", "malformed code: it holds a character other than a digit"},
	} {
		got, err := NormalizeCode(c.in)
		if err == nil || err.Error() != c.msg || got != "" || !errors.Is(err, ErrMalformedCode) {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", c.in, got, err, c.msg)
		}
	}
	if err := CheckCodeLength("1234567", 6); err == nil || err.Error() != "malformed code: 7 digits, want 6" || !errors.Is(err, ErrMalformedCode) {
		t.Errorf("CheckCodeLength: %v", err)
	}
	if err := CheckCodeLength("123456", 6); err != nil {
		t.Errorf("CheckCodeLength: %v", err)
	}
}
