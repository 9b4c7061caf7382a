package tokens

import (
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// TOTP (RFC 6238) is HOTP (RFC 4226) with the time step as the counter. The code computation
// is pquerna/otp's; the scan over a window of steps is ours, because activation and
// verification need to know which step matched (it becomes the token's drift and its last used
// step) and pquerna's TOTP validation only answers yes or no.

// MaxWindow bounds the window MatchCode accepts: 100 steps each way is 50 minutes of drift at
// 30 s, far more than any activation needs, and keeps a mistyped --window from turning a
// 1-in-a-million guess into a likely one.
const MaxWindow = 100

// Step returns the RFC 6238 time step of t for a period in seconds: floor(unix time / period).
// Times before 1970 give negative steps, which have no code.
func Step(t time.Time, period int) int64 {
	if period <= 0 {
		period = 30
	}
	s := t.Unix()
	p := int64(period)
	q := s / p
	if s%p != 0 && s < 0 {
		q-- // floor, not truncation
	}
	return q
}

// OTPParams are what a code depends on besides the secret and the step.
type OTPParams struct {
	Hash   string // HashSHA1, HashSHA256 or HashSHA512 (any letter case)
	Digits int    // 6 to 8
}

func (p OTPParams) opts() (hotp.ValidateOpts, error) {
	var o hotp.ValidateOpts
	switch strings.ToUpper(p.Hash) {
	case HashSHA1, "":
		o.Algorithm = otp.AlgorithmSHA1
	case HashSHA256:
		o.Algorithm = otp.AlgorithmSHA256
	case HashSHA512:
		o.Algorithm = otp.AlgorithmSHA512
	default:
		return o, fmt.Errorf("unsupported OTP hash %q (want SHA1, SHA256 or SHA512)", p.Hash)
	}
	if p.Digits < 6 || p.Digits > 8 {
		return o, fmt.Errorf("unsupported number of OTP digits %d (want 6 to 8)", p.Digits)
	}
	o.Digits = otp.Digits(p.Digits)
	return o, nil
}

// TOTP returns the code of a time step as a string of exactly p.Digits digits (leading zeros
// included). It fails only for parameters it does not support or a negative step.
func TOTP(secret []byte, p OTPParams, step int64) (string, error) {
	o, err := p.opts()
	if err != nil {
		return "", err
	}
	if step < 0 {
		return "", fmt.Errorf("negative time step %d", step)
	}
	return hotp.GenerateCodeCustom(base32.StdEncoding.EncodeToString(secret), uint64(step), o)
}

// MatchCode looks for code among the steps center-window .. center+window and returns the
// offset (matched step minus center) of the match nearest to center; ties go to the earlier
// step. Every step of the window is computed and compared in constant time whether or not one
// matched, so timing tells nothing about where (or whether) the code matched.
//
// A code that is not exactly p.Digits ASCII digits is simply not a match, never an error: it
// is what someone typed. Errors are for parameters TOTP does not support and for a window
// outside 0..MaxWindow.
func MatchCode(secret []byte, p OTPParams, code string, center int64, window int) (offset int, ok bool, err error) {
	o, err := p.opts()
	if err != nil {
		return 0, false, err
	}
	if window < 0 || window > MaxWindow {
		return 0, false, fmt.Errorf("window of %d steps out of range 0..%d", window, MaxWindow)
	}
	wellFormed := len(code) == p.Digits
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			wellFormed = false
		}
	}
	key := base32.StdEncoding.EncodeToString(secret)
	given := []byte(code)
	best := window + 1
	for off := -window; off <= window; off++ {
		step := center + int64(off)
		if step < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(key, uint64(step), o)
		if err != nil {
			return 0, false, err
		}
		eq := subtle.ConstantTimeCompare([]byte(want), given) == 1
		if eq && abs(off) < abs(best) {
			best = off
		}
	}
	if !wellFormed || best > window {
		return 0, false, nil
	}
	return best, true, nil
}

// MinCodeDigits and MaxCodeDigits bound the length of any code (OTPParams.Digits).
const (
	MinCodeDigits = 6
	MaxCodeDigits = 8
)

// ErrMalformedCode is matched (errors.Is) by a CodeError.
var ErrMalformedCode = errors.New("malformed code")

// CodeError is input that cannot be any token's code, so it was never tried. Its message says
// what is wrong without repeating what was typed.
type CodeError struct {
	NotDigits bool // it holds a character other than a digit or a space
	Digits    int  // how many digits it has, when NotDigits is false
	Want      int  // the token's number of digits; 0: any of MinCodeDigits..MaxCodeDigits
}

func (e *CodeError) Error() string {
	switch {
	case e.NotDigits:
		return "malformed code: it holds a character other than a digit"
	case e.Want != 0:
		return fmt.Sprintf("malformed code: %d digits, want %d", e.Digits, e.Want)
	}
	return fmt.Sprintf("malformed code: %d digits, want %d to %d", e.Digits, MinCodeDigits, MaxCodeDigits)
}

// Is makes errors.Is(err, ErrMalformedCode) true.
func (e *CodeError) Is(target error) bool { return target == ErrMalformedCode }

// NormalizeCode turns a code as it was typed, pasted or read from a file into the ASCII digits
// MatchCode compares, or a CodeError. It is the one place that decides what a code may look
// like, so the argument, standard input, the prompt and bulk files all agree:
//   - white space at either end goes (unicode.IsSpace: a line ending, a tab, a no-break space
//     copied from a web page or a chat);
//   - space separators inside go ("123 456" as authenticator apps show it, also with a no-break,
//     thin or narrow no-break space, unicode category Zs), but not tabs or line breaks, which no
//     app puts inside a code;
//   - full-width digits (U+FF10-FF19, from an East Asian input method) are the ASCII digits.
//
// Anything else (a letter, a hyphen, other digit scripts) and a length outside
// MinCodeDigits..MaxCodeDigits is a CodeError: it cannot match any token, and counting it as a
// failed attempt would lock a user or a token over a typing slip. The caller that knows the
// token checks the exact length with CheckCodeLength.
func NormalizeCode(s string) (string, error) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '\uFF10' && r <= '\uFF19':
			b.WriteByte(byte('0' + r - '\uFF10'))
		case unicode.Is(unicode.Zs, r):
		default:
			return "", &CodeError{NotDigits: true}
		}
	}
	code := b.String()
	if n := len(code); n < MinCodeDigits || n > MaxCodeDigits {
		return "", &CodeError{Digits: n}
	}
	return code, nil
}

// CheckCodeLength says whether a normalised code has the digits of a token whose codes have
// digits digits: a CodeError when not.
func CheckCodeLength(code string, digits int) error {
	if len(code) != digits {
		return &CodeError{Digits: len(code), Want: digits}
	}
	return nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
