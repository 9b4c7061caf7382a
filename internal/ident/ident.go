// Package ident holds the text rules every input format shares, so that a name means one thing
// whichever way it entered: Unicode normalisation (a UPN typed with a combining accent is the
// same user as one with the precomposed letter), the characters no identifier or listed text
// may hold (control characters that drive a terminal, invisible and bidirectional characters
// that make two different names look alike or reorder what a table shows), and the mixed-script
// check that flags look-alike UPNs. It depends on nothing of the project, so the token rules,
// the users domain, the store and the commands can all use it.
package ident

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NFC returns s in Unicode Normalization Form C. Values are normalised where they enter the
// program (files, arguments) and in store keys, so that the NFD and NFC spellings of a name are
// one name. ASCII, nearly every value, is returned without work.
func NFC(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return norm.NFC.String(s)
		}
	}
	return s
}

// Class says why a character is refused.
type Class int

const (
	// Control is a C0 or C1 control character, DEL, or the Unicode line and paragraph
	// separators: they move the cursor, change colours or break lines on a terminal.
	Control Class = iota + 1
	// Invisible is a format character (Unicode category Cf: zero-width characters, bidirectional
	// controls, the byte order mark...), another default-ignorable character (such as the Hangul
	// filler) or a private-use character: none shows as what it is, so two different values
	// would look the same, or a table would be reordered on screen.
	Invisible
)

// Defect is the first character of a value that the text rules refuse.
type Defect struct {
	Rune  rune
	Class Class
}

// String describes the character by code point and name, never by printing it (printing it
// would do what the rule prevents): "U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control
// character".
func (d Defect) String() string {
	s := fmt.Sprintf("U+%04X", d.Rune)
	if n := names[d.Rune]; n != "" {
		s += " " + n
	} else if d.Rune < 0x20 {
		s += " " + c0Names[d.Rune]
	}
	switch {
	case d.Class == Control:
		return s + ", a control character"
	case isBidi(d.Rune):
		return s + ", a bidirectional control character"
	case unicode.Is(unicode.Co, d.Rune):
		return s + ", a private-use character"
	}
	return s + ", an invisible character"
}

// CheckID returns the first character an identifier (a UPN, a serial number) must not hold:
// a control character or any invisible one (see Class).
func CheckID(s string) (Defect, bool) { return find(s, false) }

// CheckText returns the first character free text (a manufacturer, a model, a display name)
// must not hold. It is CheckID except that the zero-width joiner and non-joiner are allowed:
// Persian and Indic names and emoji sequences need them to be written correctly.
func CheckText(s string) (Defect, bool) { return find(s, true) }

func find(s string, joiners bool) (Defect, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return Defect{rune(c), Control}, true
		}
		if c < utf8.RuneSelf {
			continue
		}
		for _, r := range s[i:] {
			if cl := classify(r, joiners); cl != 0 {
				return Defect{r, cl}, true
			}
		}
		break
	}
	return Defect{}, false
}

func classify(r rune, joiners bool) Class {
	switch {
	case r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0x2028 || r == 0x2029:
		return Control
	case r < 0xa0:
		return 0
	case joiners && (r == 0x200c || r == 0x200d):
		return 0
	case unicode.Is(unicode.Prepended_Concatenation_Mark, r):
		// Arabic number signs and the like are Cf but visible marks of their script.
		return 0
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r),
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r):
		return Invisible
	}
	return 0
}

func isBidi(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// c0Names are the Unicode name aliases of the C0 controls.
var c0Names = [32]string{
	"NULL", "START OF HEADING", "START OF TEXT", "END OF TEXT", "END OF TRANSMISSION", "ENQUIRY",
	"ACKNOWLEDGE", "BELL", "BACKSPACE", "CHARACTER TABULATION", "LINE FEED", "LINE TABULATION",
	"FORM FEED", "CARRIAGE RETURN", "SHIFT OUT", "SHIFT IN", "DATA LINK ESCAPE",
	"DEVICE CONTROL ONE", "DEVICE CONTROL TWO", "DEVICE CONTROL THREE", "DEVICE CONTROL FOUR",
	"NEGATIVE ACKNOWLEDGE", "SYNCHRONOUS IDLE", "END OF TRANSMISSION BLOCK", "CANCEL",
	"END OF MEDIUM", "SUBSTITUTE", "ESCAPE", "INFORMATION SEPARATOR FOUR",
	"INFORMATION SEPARATOR THREE", "INFORMATION SEPARATOR TWO", "INFORMATION SEPARATOR ONE",
}

// names of the other refused characters an admin is likely to meet; the rest are named by
// code point alone, which is enough to look them up (a full Unicode name table would be a large
// part of the binary for a rare error message).
var names = map[rune]string{
	0x7f: "DELETE", 0x85: "NEXT LINE", 0x90: "DEVICE CONTROL STRING",
	0x9b: "CONTROL SEQUENCE INTRODUCER", 0x9c: "STRING TERMINATOR", 0x9d: "OPERATING SYSTEM COMMAND",
	0xad: "SOFT HYPHEN", 0x034f: "COMBINING GRAPHEME JOINER", 0x061c: "ARABIC LETTER MARK",
	0x115f: "HANGUL CHOSEONG FILLER", 0x1160: "HANGUL JUNGSEONG FILLER",
	0x180e: "MONGOLIAN VOWEL SEPARATOR", 0x200b: "ZERO WIDTH SPACE", 0x200c: "ZERO WIDTH NON-JOINER",
	0x200d: "ZERO WIDTH JOINER", 0x200e: "LEFT-TO-RIGHT MARK", 0x200f: "RIGHT-TO-LEFT MARK",
	0x2028: "LINE SEPARATOR", 0x2029: "PARAGRAPH SEPARATOR",
	0x202a: "LEFT-TO-RIGHT EMBEDDING", 0x202b: "RIGHT-TO-LEFT EMBEDDING",
	0x202c: "POP DIRECTIONAL FORMATTING", 0x202d: "LEFT-TO-RIGHT OVERRIDE",
	0x202e: "RIGHT-TO-LEFT OVERRIDE", 0x2060: "WORD JOINER", 0x2061: "FUNCTION APPLICATION",
	0x2062: "INVISIBLE TIMES", 0x2063: "INVISIBLE SEPARATOR", 0x2064: "INVISIBLE PLUS",
	0x2066: "LEFT-TO-RIGHT ISOLATE", 0x2067: "RIGHT-TO-LEFT ISOLATE", 0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE", 0x3164: "HANGUL FILLER", 0xfeff: "ZERO WIDTH NO-BREAK SPACE",
	0xffa0: "HALFWIDTH HANGUL FILLER",
}

// confusable are the scripts whose letters look alike (Latin a, Cyrillic а, Greek α): mixing
// them inside one label of a name is the classic way to imitate another name.
var confusable = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
}

// Mixed is a label of a name whose letters come from more than one of Latin, Cyrillic and
// Greek: First is the script of the label's first such letter, Other that of Rune, the first
// letter of another script.
type Mixed struct {
	First, Other string
	Rune         rune
}

// String describes the mix without printing the name (the letters look the same, so the value
// would not show what is wrong): "Latin and Cyrillic letters in one label (U+0430 is Cyrillic)".
func (m Mixed) String() string {
	return fmt.Sprintf("%s and %s letters in one label (U+%04X is %s)", m.First, m.Other, m.Rune, m.Other)
}

// MixedScript checks each label of a UPN (the parts between dots and the @) and reports the
// first that mixes Latin, Cyrillic or Greek letters. Other scripts, digits and punctuation
// (Common and Inherited) are not compared: a Han or Arabic name is one script.
func MixedScript(upn string) (Mixed, bool) {
	first := -1
	for i := 0; i < len(upn); i++ {
		if upn[i] >= utf8.RuneSelf {
			first = i
			break
		}
	}
	if first < 0 {
		return Mixed{}, false // ASCII: all letters are Latin
	}
	start := 0
	for i := 0; i <= len(upn); i++ {
		if i < len(upn) && upn[i] != '.' && upn[i] != '@' {
			continue
		}
		if m, ok := mixedLabel(upn[start:i]); ok {
			return m, true
		}
		start = i + 1
	}
	return Mixed{}, false
}

func mixedLabel(label string) (Mixed, bool) {
	seen := -1
	for _, r := range label {
		if !unicode.IsLetter(r) {
			continue
		}
		for k, s := range confusable {
			if !unicode.Is(s.table, r) {
				continue
			}
			if seen < 0 {
				seen = k
			} else if seen != k {
				return Mixed{First: confusable[seen].name, Other: s.name, Rune: r}, true
			}
			break
		}
	}
	return Mixed{}, false
}
