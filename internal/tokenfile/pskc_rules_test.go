package tokenfile

import (
	"slices"
	"strings"
	"testing"
)

// A TOTP key whose Time (T0) is not the epoch, or whose codes are not decimal, was read as if
// it were a standard token: Time and ResponseFormat Encoding were dropped, and the token's
// real codes then failed activation. Both refuse the key (not the file), naming the value.
func TestPSKCTimeOriginAndEncodingRefused(t *testing.T) {
	tests := []struct {
		name, from, to string
		want           []string // "severity code: message"
	}{
		{"time 0", "</Secret>", "</Secret><Time><PlainValue>0</PlainValue></Time>", nil},
		{"time 1200", "</Secret>", "</Secret><Time><PlainValue>1200</PlainValue></Time>", []string{
			"error time-origin.unsupported: the token counts time from 1200 seconds after the Unix epoch (Time), not from the epoch; Azure and mfactl cannot represent another origin, so its codes would not match"}},
		{"time negative", "</Secret>", "</Secret><Time><PlainValue>-30</PlainValue></Time>", []string{
			"error time-origin.unsupported: the token counts time from 30 seconds before the Unix epoch (Time), not from the epoch; Azure and mfactl cannot represent another origin, so its codes would not match"}},
		// Time means nothing to a HOTP key: only algorithm.unsupported.
		{"hotp time ignored", "pskc:totp\"><AlgorithmParameters>", "pskc:hotp\"><AlgorithmParameters>", []string{
			"error algorithm.unsupported: HOTP, not TOTP; only time-based (TOTP) tokens can be used"}},
		{"decimal", `Encoding="DECIMAL"`, `Encoding="decimal"`, nil},
		{"hexadecimal", `Encoding="DECIMAL"`, `Encoding="HEXADECIMAL"`, []string{
			`error encoding.unsupported: codes in "HEXADECIMAL" (ResponseFormat Encoding) are not supported; only DECIMAL`}},
		{"alphanumeric", `Encoding="DECIMAL"`, `Encoding="ALPHANUMERIC"`, []string{
			`error encoding.unsupported: codes in "ALPHANUMERIC" (ResponseFormat Encoding) are not supported; only DECIMAL`}},
		{"draft format attribute", `Encoding="DECIMAL"`, `Format="BASE64"`, []string{
			`error encoding.unsupported: codes in "BASE64" (ResponseFormat Encoding) are not supported; only DECIMAL`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := container(keyPackage{serial: "S", suite: "SHA1"})
			if !strings.Contains(doc, tt.from) {
				t.Fatalf("%q not in the document", tt.from)
			}
			doc = strings.Replace(doc, tt.from, tt.to, 1)
			if strings.Contains(tt.to, "hotp") {
				doc = strings.Replace(doc, "</Secret>", "</Secret><Time><PlainValue>1200</PlainValue></Time>", 1)
			}
			want := tt.want
			f, recs, err := readAll(t, doc, pskcOpts())
			if err != nil || len(recs) != 1 {
				t.Fatalf("%d records, %v", len(recs), err)
			}
			wantCodes(t, "file", f.Problems)
			got := []string{}
			for _, p := range recs[0].Problems {
				if p.Code == "pskc.secret-looks-hex" {
					continue
				}
				if p.Line != 3 || p.Package != 1 || p.Serial != "S" {
					t.Errorf("%s at line %d package %d serial %q", p.Code, p.Line, p.Package, p.Serial)
				}
				got = append(got, string(p.Severity)+" "+p.Code+": "+p.Message)
			}
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems\n got %q\nwant %q", got, want)
			}
			if len(want) > 0 && recs[0].Valid() {
				t.Error("record valid")
			}
		})
	}
}
