package finder

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/conformancetest"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestHasherAgreesWithTOTP checks the fast code computation against tokens.TOTP for every
// hash and length, with secrets shorter and longer than a hash block.
func TestHasherAgreesWithTOTP(t *testing.T) {
	hs := newHashers()
	for _, hash := range []string{"SHA1", "SHA256", "SHA512", "sha256"} {
		for _, n := range []int{10, 20, 32, 64, 65, 128, 129, 200} {
			secret := make([]byte, n)
			rand.Read(secret)
			h, err := hs.get(hash)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.setKey(secret); err != nil {
				t.Fatal(err)
			}
			for digits := 6; digits <= 8; digits++ {
				for _, step := range []uint64{0, 1, 59_000_000, 1 << 40} {
					want, err := tokens.TOTP(secret, tokens.OTPParams{Hash: hash, Digits: digits}, int64(step))
					if err != nil {
						t.Fatal(err)
					}
					if got := fmt.Sprintf("%0*d", digits, h.code(step, pow10[digits])); got != want {
						t.Errorf("%s, %d-byte secret, %d digits, step %d: got %s, want %s", hash, n, digits, step, got, want)
					}
				}
			}
			h.wipe()
			if slices.ContainsFunc(h.istate, func(b byte) bool { return b != 0 }) || slices.ContainsFunc(h.ostate, func(b byte) bool { return b != 0 }) {
				t.Errorf("%s: wipe left the absorbed pads", hash)
			}
		}
	}
	if _, err := hs.get("MD5"); err == nil || err.Error() != `unsupported OTP hash "MD5" (want SHA1, SHA256 or SHA512)` {
		t.Errorf("MD5: %v", err)
	}
}

// TestHasherConformance checks the RFC 6238 and oathtool vectors.
func TestHasherConformance(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(conformancetest.Dir(t, "otp"), "totp-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Secret string `json:"secret_base32"`
		Hash   string `json:"hash"`
		Digits int    `json:"digits"`
		Period int    `json:"period"`
		Time   int64  `json:"unix_time"`
		Code   string `json:"code"`
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	hs := newHashers()
	for _, v := range vectors {
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(v.Secret, "="))
		if err != nil {
			t.Fatal(err)
		}
		h, err := hs.get(v.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.setKey(secret); err != nil {
			t.Fatal(err)
		}
		step := tokens.Step(time.Unix(v.Time, 0), v.Period)
		if got := fmt.Sprintf("%0*d", v.Digits, h.code(uint64(step), pow10[v.Digits])); got != v.Code {
			t.Errorf("%s %d digits %d s at %d: got %s, want %s", v.Hash, v.Digits, v.Period, v.Time, got, v.Code)
		}
	}
}

// testToken is a token of the test directory.
type testToken struct {
	serial, upn string
	secret      []byte
	hash        string
	digits      int
	period      int
}

func secretOf(i int) []byte { return []byte(fmt.Sprintf("secret-of-token-%04d", i)) }

// newDir imports the tokens into a new SQLite directory whose clock is t0.
func newDir(t *testing.T, toks []testToken) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "d.db"), store.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rows := func(yield func(directory.ImportRow, error) bool) {
		for i, tk := range toks {
			if !yield(directory.ImportRow{Line: i + 2, Serial: tk.serial, UPN: tk.upn, Secret: tk.secret,
				Period: tk.period, Digits: tk.digits, Hash: tk.hash, Manufacturer: "Contoso", Model: "K1"}, nil) {
				return
			}
		}
	}
	if _, err := db.ImportTokens(ctx, rows, directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return db
}

// codeAt is the token's code offset steps from t0.
func codeAt(t *testing.T, tk testToken, offset int) string {
	t.Helper()
	c, err := tokens.TOTP(tk.secret, tokens.OTPParams{Hash: tk.hash, Digits: tk.digits}, tokens.Step(t0, tk.period)+int64(offset))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func serials(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s/%s/%s/%d", m.Serial, m.UPN, m.Status, m.Offset))
	}
	return out
}

func TestFind(t *testing.T) {
	toks := []testToken{
		{"TOK0000", "ada@contoso.com", secretOf(0), "SHA1", 6, 30},
		{"TOK0001", "", secretOf(1), "SHA1", 6, 30},
		{"TOK0002", "", secretOf(2), "SHA256", 8, 60},
		{"TOK0003", "", secretOf(3), "SHA512", 6, 30},
		{"TOK0004", "bob@contoso.com", secretOf(1), "SHA1", 6, 30}, // TOK0001's secret
	}
	for i := 5; i < 300; i++ {
		toks = append(toks, testToken{fmt.Sprintf("TOK%04d", i), "", secretOf(i), "SHA1", 6, 30})
	}
	db := newDir(t, toks)
	ctx := context.Background()
	find := func(q Query) Result {
		t.Helper()
		q.Now = t0
		r, err := Find(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"now", Query{Codes: []string{codeAt(t, toks[0], 0), codeAt(t, toks[0], 1)}}, []string{"TOK0000/ada@contoso.com/assigned/0"}},
		{"spaces and full-width digits", Query{Codes: []string{" " + codeAt(t, toks[3], 0)[:3] + " " + codeAt(t, toks[3], 0)[3:] + "\n", fullWidth(codeAt(t, toks[3], 1))}},
			[]string{"TOK0003//available/0"}},
		{"60 s, SHA256, 8 digits, 4 steps slow, window 10", Query{Codes: []string{codeAt(t, toks[2], -4), codeAt(t, toks[2], -3)}, Window: 10}, []string{"TOK0002//available/-4"}},
		{"10 steps fast, window 10", Query{Codes: []string{codeAt(t, toks[7], 10), codeAt(t, toks[7], 11)}, Window: 10}, []string{"TOK0007//available/10"}},
		{"11 steps fast: outside the default window", Query{Codes: []string{codeAt(t, toks[7], 11), codeAt(t, toks[7], 12)}}, nil},
		{"2 steps fast is outside the default window", Query{Codes: []string{codeAt(t, toks[7], 2), codeAt(t, toks[7], 3)}}, nil},
		{"11 steps fast, window 11", Query{Codes: []string{codeAt(t, toks[7], 11), codeAt(t, toks[7], 12)}, Window: 11}, []string{"TOK0007//available/11"}},
		{"codes in the wrong order", Query{Codes: []string{codeAt(t, toks[7], 1), codeAt(t, toks[7], 0)}}, nil},
		{"two serials with one secret", Query{Codes: []string{codeAt(t, toks[1], 0), codeAt(t, toks[1], 1)}},
			[]string{"TOK0001//available/0", "TOK0004/bob@contoso.com/assigned/0"}},
		{"status filter", Query{Codes: []string{codeAt(t, toks[1], 0), codeAt(t, toks[1], 1)}, Statuses: []directory.TokenStatus{directory.StatusAvailable}},
			[]string{"TOK0001//available/0"}},
		{"status filter excludes it", Query{Codes: []string{codeAt(t, toks[0], 0), codeAt(t, toks[0], 1)}, Statuses: []directory.TokenStatus{directory.StatusAvailable, directory.StatusActivated}}, nil},
		{"one code allowed", Query{Codes: []string{codeAt(t, toks[5], 0)}, AllowOne: true}, []string{"TOK0005//available/0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := find(tc.q)
			if got := serials(r.Matches); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	r := find(Query{Codes: []string{codeAt(t, toks[0], 0), codeAt(t, toks[0], 1)}, Workers: 3})
	if r.Searched != 300 || r.Computed != 299 || r.Window != DefaultWindow {
		t.Errorf("searched %d, computed %d, window %d; want 300, 299 (one 8-digit token), %d", r.Searched, r.Computed, r.Window, DefaultWindow)
	}
	r = find(Query{Codes: []string{codeAt(t, toks[0], 0), codeAt(t, toks[0], 1)}, Statuses: []directory.TokenStatus{directory.StatusAssigned}})
	if r.Searched != 2 {
		t.Errorf("assigned: searched %d, want 2", r.Searched)
	}
}

// TestFindUsedTokenWindow: a token that verified codes is searched around its learned drift
// with the verification window, not the wide one.
func TestFindUsedTokenWindow(t *testing.T) {
	toks := []testToken{{"TOK0000", "ada@contoso.com", secretOf(0), "SHA1", 6, 30}}
	db := newDir(t, toks)
	ctx := context.Background()
	// Activation at t0 with the token 5 steps slow: drift -5, last step set.
	code := codeAt(t, toks[0], -5)
	if _, ok, _ := tokens.MatchCode(toks[0].secret, tokens.OTPParams{Hash: "SHA1", Digits: 6}, code, tokens.Step(t0, 30), 10); !ok {
		t.Fatal("setup")
	}
	if err := db.InAuthTx(ctx, func(tx directory.AuthTx) error {
		tk, err := tx.Token("TOK0000")
		if err != nil {
			return err
		}
		_, err = tx.ActivateToken(tk.ID, tokens.Step(t0, 30)-5, -5)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		offset int
		found  bool
	}{{-5, true}, {-6, true}, {-4, true}, {-7, false}, {0, false}, {-3, false}} {
		r, err := Find(ctx, db, Query{Codes: []string{codeAt(t, toks[0], tc.offset), codeAt(t, toks[0], tc.offset+1)}, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Matches) == 1; got != tc.found {
			t.Errorf("offset %d: found %v, want %v", tc.offset, got, tc.found)
		} else if got && (r.Matches[0].Offset != tc.offset || r.Matches[0].Status != directory.StatusActivated) {
			t.Errorf("offset %d: %+v", tc.offset, r.Matches[0])
		}
	}
}

func fullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r - '0' + '\uFF10')
	}
	return b.String()
}

func TestFindRefusals(t *testing.T) {
	db := newDir(t, []testToken{{"TOK0000", "", secretOf(0), "SHA1", 6, 30}})
	ctx := context.Background()
	for _, tc := range []struct {
		q    Query
		want string
		is   error
	}{
		{Query{Codes: []string{"123456"}}, ErrOneCode.Error(), ErrOneCode},
		{Query{}, "no code to look for", nil},
		{Query{Codes: []string{"123456", "234567", "345678"}}, "3 codes given: want the code the token shows and the next one", nil},
		{Query{Codes: []string{"123456", "2345678"}}, ErrCodeLengths.Error(), ErrCodeLengths},
		{Query{Codes: []string{"12345", "234567"}}, "malformed code: 5 digits, want 6 to 8", tokens.ErrMalformedCode},
		{Query{Codes: []string{"123456", "23456x"}}, "malformed code: it holds a character other than a digit", tokens.ErrMalformedCode},
		{Query{Codes: []string{"123456", "234567"}, Window: 101}, "window of 101 steps out of range 1..100", nil},
	} {
		_, err := Find(ctx, db, tc.q)
		if err == nil || err.Error() != tc.want || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%v: got %v, want %q", tc.q.Codes, err, tc.want)
		}
	}
	// The one-code message says why and what to do.
	if !strings.Contains(ErrOneCode.Error(), "one token in a million") || !strings.Contains(ErrOneCode.Error(), "read the next code") {
		t.Error(ErrOneCode)
	}
}

// TestFindWrongKey: a secret that cannot be decrypted stops the search with an error naming
// the token, never a partial result.
func TestFindWrongKey(t *testing.T) {
	toks := []testToken{{"TOK0000", "", secretOf(0), "SHA1", 6, 30}}
	db := newDir(t, toks)
	src := wrongKey{db}
	_, err := Find(context.Background(), src, Query{Codes: []string{"123456", "234567"}, Now: t0})
	if err == nil || err.Error() != "decrypting the secret of token TOK0000: secret cannot be decrypted: the key file does not match the data" {
		t.Errorf("got %v", err)
	}
}

// wrongKey opens secrets as the wrong serial would, which the sealing refuses like a wrong key.
type wrongKey struct{ *store.DB }

func (w wrongKey) OpenSealed(sealed []byte, serial string) ([]byte, error) {
	_, err := w.DB.OpenSealed(sealed, serial+"x")
	if err != nil {
		return nil, fmt.Errorf("decrypting the secret of token %s: %w", serial, errors.Unwrap(err))
	}
	return nil, errors.New("opened with the wrong serial")
}
