package ident

import (
	"strings"
	"testing"
)

func TestNFC(t *testing.T) {
	nfd, nfc := "rene\u0301@contoso.com", "ren\u00e9@contoso.com"
	if got := NFC(nfd); got != nfc {
		t.Errorf("NFC(%+q) = %+q, want %+q", nfd, got, nfc)
	}
	if got := NFC(nfc); got != nfc {
		t.Errorf("NFC(%+q) = %+q, want it unchanged", nfc, got)
	}
	if got := NFC("ada@contoso.com"); got != "ada@contoso.com" {
		t.Errorf("NFC changed ASCII: %q", got)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		in       string
		id, text bool // refused as an identifier, as free text
		class    Class
		rune     rune
		desc     string
	}{
		{in: "ada@contoso.com"},
		{in: "Zoë Ωmega 山田 مرحبا"},
		{in: "\u0600123"}, // Arabic number sign: Cf but visible
		{in: "a\x1b[31mb", id: true, text: true, class: Control, rune: 0x1b, desc: "U+001B ESCAPE, a control character"},
		{in: "ring\a", id: true, text: true, class: Control, rune: 7, desc: "U+0007 BELL, a control character"},
		{in: "tab\there", id: true, text: true, class: Control, rune: 9, desc: "U+0009 CHARACTER TABULATION, a control character"},
		{in: "del\x7f", id: true, text: true, class: Control, rune: 0x7f, desc: "U+007F DELETE, a control character"},
		{in: "é\u009b31m", id: true, text: true, class: Control, rune: 0x9b, desc: "U+009B CONTROL SEQUENCE INTRODUCER, a control character"},
		{in: "a\u2028b", id: true, text: true, class: Control, rune: 0x2028, desc: "U+2028 LINE SEPARATOR, a control character"},
		{in: "admin\u202eoc.evil", id: true, text: true, class: Invisible, rune: 0x202e, desc: "U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control character"},
		{in: "a\u2066b", id: true, text: true, class: Invisible, rune: 0x2066, desc: "U+2066 LEFT-TO-RIGHT ISOLATE, a bidirectional control character"},
		{in: "a\u200fb", id: true, text: true, class: Invisible, rune: 0x200f, desc: "U+200F RIGHT-TO-LEFT MARK, a bidirectional control character"},
		{in: "a\u200bb", id: true, text: true, class: Invisible, rune: 0x200b, desc: "U+200B ZERO WIDTH SPACE, an invisible character"},
		{in: "a\u2060b", id: true, text: true, class: Invisible, rune: 0x2060, desc: "U+2060 WORD JOINER, an invisible character"},
		{in: "a\ufeffb", id: true, text: true, class: Invisible, rune: 0xfeff, desc: "U+FEFF ZERO WIDTH NO-BREAK SPACE, an invisible character"},
		{in: "a\u00adb", id: true, text: true, class: Invisible, rune: 0xad, desc: "U+00AD SOFT HYPHEN, an invisible character"},
		{in: "a\u3164b", id: true, text: true, class: Invisible, rune: 0x3164, desc: "U+3164 HANGUL FILLER, an invisible character"},
		{in: "a\U000E0041b", id: true, text: true, class: Invisible, rune: 0xe0041, desc: "U+E0041, an invisible character"},
		{in: "a\ue000b", id: true, text: true, class: Invisible, rune: 0xe000, desc: "U+E000, a private-use character"},
		{in: "می\u200cخواهم", id: true, class: Invisible, rune: 0x200c, desc: "U+200C ZERO WIDTH NON-JOINER, an invisible character"},
		{in: "👩\u200d💻", id: true, class: Invisible, rune: 0x200d, desc: "U+200D ZERO WIDTH JOINER, an invisible character"},
	}
	for _, tt := range tests {
		for _, mode := range []struct {
			name  string
			check func(string) (Defect, bool)
			want  bool
		}{{"CheckID", CheckID, tt.id}, {"CheckText", CheckText, tt.text}} {
			d, found := mode.check(tt.in)
			if found != mode.want {
				t.Errorf("%s(%+q) found = %v, want %v", mode.name, tt.in, found, mode.want)
				continue
			}
			if !found {
				continue
			}
			if d.Class != tt.class || d.Rune != tt.rune || d.String() != tt.desc {
				t.Errorf("%s(%+q) = %v %U %q, want %v %U %q", mode.name, tt.in, d.Class, d.Rune, d, tt.class, tt.rune, tt.desc)
			}
			if strings.ContainsRune(d.String(), tt.rune) {
				t.Errorf("%s(%+q): the description prints the character itself", mode.name, tt.in)
			}
		}
	}
}

func TestMixedScript(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when not mixed
	}{
		{"paypal@contoso.com", ""},
		{"p\u0430ypal@contoso.com", "Latin and Cyrillic letters in one label (U+0430 is Cyrillic)"},
		{"ada@c\u03bfntoso.com", "Latin and Greek letters in one label (U+03BF is Greek)"},
		{"\u0430\u0434\u0430@contoso.com", ""},          // a Cyrillic local part, a Latin domain
		{"\u0430\u0434\u0430.lovelace@contoso.com", ""}, // each label one script
		{"ren\u00e9@contoso.com", ""},
		{"\u5c71\u7530taro@contoso.com", ""}, // Han with Latin is not a look-alike mix
		{"\u0441\u0435\u0440\u0433\u0435\u0439x@contoso.com", "Cyrillic and Latin letters in one label (U+0078 is Latin)"},
	}
	for _, tt := range tests {
		m, mixed := MixedScript(tt.in)
		got := ""
		if mixed {
			got = m.String()
		}
		if got != tt.want {
			t.Errorf("MixedScript(%+q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
