package tokens

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mfactl/mfactl/internal/ident"
)

// The field rules of docs/formats.md. Each takes the 1-based line and the field as read and
// returns problems naming the canonical column. None of them echoes a value that could be
// secret: when columns are shifted, any field may hold the secret, so only the serial number
// (needed to name duplicates) and short numbers are ever quoted.

// Field is a text field's value as it enters the domain, from any format: white space around it
// trimmed and in Unicode Normalization Form C, so that the NFD and NFC spellings of a UPN or a
// serial are one value (store keys are normalised the same way).
func Field(s string) string { return ident.NFC(strings.TrimSpace(s)) }

// CheckUPN checks a UPN field: required, local@domain, no spaces, control or invisible
// characters, a dot in the domain; a warning when a label mixes look-alike scripts. The caller
// passes the value through Field first when it keeps it.
func CheckUPN(line int, upn string) []Problem { return checkUPN(line, Field(upn)) }

// checkUPN is CheckUPN on a value already trimmed and normalised.
func checkUPN(line int, upn string) []Problem {
	if upn == "" {
		return []Problem{errorAt(line, ColUPN, CodeUPNEmpty, "required")}
	}
	if d, bad := ident.CheckID(upn); bad {
		// A control character in a UPN was upn.invalid before the invisible ones were refused;
		// it stays so (codes are stable).
		code := CodeUPNInvisible
		if d.Class == ident.Control {
			code = CodeUPNInvalid
		}
		return []Problem{errorAt(line, ColUPN, code, "contains "+d.String())}
	}
	if msg := upnDefect(upn); msg != "" {
		return []Problem{errorAt(line, ColUPN, CodeUPNInvalid, ""+msg)}
	}
	if m, mixed := ident.MixedScript(upn); mixed {
		return []Problem{warningAt(line, ColUPN, CodeUPNMixedScript,
			"mixes "+m.String()+"; check that it does not imitate another name")}
	}
	return nil
}

// upnDefect returns why upn is not a user principal name, or "" when it is one.
func upnDefect(upn string) string {
	at := -1
	for i := 0; i < len(upn); i++ {
		c := upn[i]
		if c >= utf8.RuneSelf {
			for _, r := range upn[i:] {
				if unicode.IsSpace(r) || unicode.IsControl(r) {
					return "contains a space"
				}
			}
			if at < 0 {
				at = strings.IndexByte(upn, '@')
			}
			break
		}
		if c <= ' ' || c == 0x7f { // controls are refused before, by checkUPN
			return "contains a space"
		}
		if c == '@' && at < 0 {
			at = i
		}
	}
	if at < 0 {
		return "not of the form local@domain (no @)"
	}
	if strings.IndexByte(upn[at+1:], '@') >= 0 {
		return "not of the form local@domain (more than one @)"
	}
	if at == 0 {
		return "not of the form local@domain (nothing before @)"
	}
	domain := upn[at+1:]
	if strings.IndexByte(domain, '.') < 0 {
		return "the domain has no dot"
	}
	if domain[0] == '.' || domain[len(domain)-1] == '.' || strings.Contains(domain, "..") {
		return "the domain has an empty label (leading, trailing or double dot)"
	}
	return ""
}

// FirstError returns the first error of ps: a warning (upn.mixed-script) leaves a value usable.
func FirstError(ps []Problem) (Problem, bool) {
	for _, p := range ps {
		if p.IsError() {
			return p, true
		}
	}
	return Problem{}, false
}

// CheckSerial checks a serial number field: required, no control or invisible characters, not
// mangled by a spreadsheet. The caller passes the value through Field first when it keeps it.
func CheckSerial(line int, serial string) []Problem {
	return checkSerial(line, Field(serial))
}

// checkSerial is CheckSerial on a value already trimmed and normalised.
func checkSerial(line int, serial string) []Problem {
	if serial == "" {
		return []Problem{errorAt(line, ColSerial, CodeSerialEmpty, "required")}
	}
	if d, bad := ident.CheckID(serial); bad {
		code := CodeSerialInvisible
		if d.Class == ident.Control {
			code = CodeSerialControl
		}
		return []Problem{errorAt(line, ColSerial, code, "contains "+d.String())}
	}
	if how := spreadsheetDamage(serial); how != "" {
		return []Problem{errorAt(line, ColSerial, CodeSerialExcel, "looks like a spreadsheet turned it into "+
			how+"; format the column as text and export again from the vendor's file")}
	}
	return nil
}

// spreadsheetDamage recognises the two forms a numeric serial takes after a spreadsheet (or a
// data frame library) stored it as a number: scientific notation with a signed exponent, the
// way Excel writes it ("1.23457E+06", "1,23457E+06" in comma-decimal locales), and a float
// with a zero fraction ("1000001.0"). Serials that lost leading zeros cannot be recognised.
func spreadsheetDamage(s string) string {
	i := digitsEnd(s, 0)
	if i == 0 {
		return ""
	}
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		j := digitsEnd(s, i+1)
		if j == i+1 {
			return ""
		}
		if j == len(s) {
			if s[i] == '.' && strings.Trim(s[i+1:], "0") == "" {
				return "a decimal number"
			}
			return ""
		}
		i = j
	}
	if i+2 < len(s) && (s[i] == 'E' || s[i] == 'e') && (s[i+1] == '+' || s[i+1] == '-') &&
		digitsEnd(s, i+2) == len(s) {
		return "scientific notation"
	}
	return ""
}

func digitsEnd(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// CheckInterval checks the time interval field and returns the period in seconds (0 when the
// field is invalid).
func CheckInterval(line int, interval string) (int, []Problem) {
	switch v := strings.TrimSpace(interval); v {
	case "30":
		return 30, nil
	case "60":
		return 60, nil
	case "":
		return 0, []Problem{errorAt(line, ColInterval, CodeIntervalInvalid, "required; must be 30 or 60")}
	default:
		if len(v) <= 6 && digitsEnd(v, 0) == len(v) {
			return 0, []Problem{errorAt(line, ColInterval, CodeIntervalInvalid,
				fmt.Sprintf("%s is not allowed; must be 30 or 60", v))}
		}
		return 0, []Problem{errorAt(line, ColInterval, CodeIntervalInvalid, "must be 30 or 60 (seconds)")}
	}
}

// checkFreeText applies the rules of the manufacturer and model fields: the text rules of
// CheckText, and the manufacturer.empty and model.empty warnings.
func checkFreeText(line int, column, code, value string) []Problem {
	if value == "" { // trimmed by the caller
		return []Problem{warningAt(line, column, code, "empty; the cloud API requires it")}
	}
	return CheckText(line, column, value)
}

// CheckText applies the text rule of a free-text field (ColManufacturer, ColModel, ColIssuer):
// no control character (a terminal would obey it when the value is listed), code
// "<column>.control", and no invisible or bidirectional character, "<column>.invisible".
func CheckText(line int, column, value string) []Problem {
	d, bad := ident.CheckText(value)
	if !bad {
		return nil
	}
	code := column + ".invisible"
	if d.Class == ident.Control {
		code = column + ".control"
	}
	return []Problem{errorAt(line, column, code, "contains "+d.String())}
}

// CheckSecret checks a secret key field in the given encoding (EncodingBase32 when empty) and
// returns the decoded secret when it is usable (no error problem).
func CheckSecret(line int, field, encoding string) ([]byte, []Problem) {
	if encoding == EncodingHex {
		return checkHexSecret(line, field)
	}
	return checkBase32Secret(line, field, nil)
}

// Token kinds of KeyFacts, from the PSKC algorithm URI.
const (
	KindTOTP  = "totp"
	KindHOTP  = "hotp"
	KindOCRA  = "ocra"
	KindOther = "other"
)

// KeyFacts are the facts about one key read from a format other than the Azure CSV (a PSKC
// KeyPackage after decryption), checked by Rules.CheckKey.
type KeyFacts struct {
	Kind   string // KindTOTP, KindHOTP, KindOCRA or KindOther
	Hash   string // HashSHA1, HashSHA256, ... ("SHA-1" and lower case are accepted; "" is SHA1)
	Digits int
	Period int // seconds
	Secret []byte
}

// Rules is the rule set for token facts. The zero value is the Azure rule set: TOTP, SHA-1,
// 6 digits, 30 or 60 seconds.
type Rules struct {
	// AllowSHA256 accepts HMAC-SHA-256 tokens (the directory can verify them; Azure cannot).
	AllowSHA256 bool
}

// CheckKey checks k against the rules and returns its problems with Line 0: the caller sets
// Line, Package and Serial. Messages never contain the secret.
func (r Rules) CheckKey(k KeyFacts) []Problem {
	var ps []Problem
	if k.Kind != KindTOTP {
		what := k.Kind
		if what == "" || what == KindOther {
			what = "not TOTP"
		} else {
			what = strings.ToUpper(what) + ", not TOTP"
		}
		ps = append(ps, errorAt(0, "algorithm", CodeAlgorithmUnsupported,
			""+what+"; only time-based (TOTP) tokens can be used"))
	}
	if k.Digits != 6 {
		ps = append(ps, errorAt(0, "digits", CodeDigitsUnsupported,
			fmt.Sprintf("%d-digit codes are not supported; only 6", k.Digits)))
	}
	switch h := NormalizeHash(k.Hash); {
	case h == HashSHA1 || h == "": // absent means the RFC 6238 default
	case h == HashSHA256 && r.AllowSHA256:
	default:
		allowed := "SHA1"
		if r.AllowSHA256 {
			allowed = "SHA1 or SHA256"
		}
		ps = append(ps, errorAt(0, "hash", CodeHashUnsupported,
			fmt.Sprintf("%s is not supported; only %s", h, allowed)))
	}
	if k.Period != 30 && k.Period != 60 {
		ps = append(ps, errorAt(0, ColInterval, CodeIntervalInvalid,
			fmt.Sprintf("%d is not allowed; must be 30 or 60", k.Period)))
	}
	switch n := len(k.Secret); {
	case n == 0:
		ps = append(ps, errorAt(0, ColSecret, CodeSecretEmpty, "empty"))
	case Base32Len(n) > MaxSecretBase32:
		ps = append(ps, errorAt(0, ColSecret, CodeSecretTooLong, fmt.Sprintf(
			"%d bytes (%d Base32 characters), more than the %d allowed", n, Base32Len(n), MaxSecretBase32)))
	default:
		ps = appendSecretWarnings(ps, 0, k.Secret)
	}
	return ps
}

// NormalizeHash maps the spellings of a hash name ("sha1", "SHA-1", "HMAC-SHA1") to HashSHA1,
// HashSHA256 or HashSHA512; anything else is returned upper-cased. An empty name stays empty.
func NormalizeHash(h string) string {
	u := strings.ToUpper(strings.TrimSpace(h))
	u = strings.TrimPrefix(u, "HMAC-")
	u = strings.ReplaceAll(u, "-", "")
	switch u {
	case "SHA1":
		return HashSHA1
	case "SHA256":
		return HashSHA256
	case "SHA512":
		return HashSHA512
	}
	return u
}
