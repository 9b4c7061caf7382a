package pskc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/conformancetest"
)

var corpusDir = conformancetest.Path("pskc")

// judged is the date the conformance verdicts were judged on (README: policy-expired).
var judged = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

type confCase struct {
	File    string `json:"file"`
	Decrypt *struct {
		KeyHex   *string `json:"key_hex"`
		Password *string `json:"password"`
		IVHex    *string `json:"iv_hex"`
	} `json:"decrypt"`
	Verdict    string    `json:"verdict"`
	ErrorClass *string   `json:"error_class"`
	Warnings   []string  `json:"warnings"`
	Keys       []confKey `json:"keys"`
	Note       string    `json:"note"`
}

type confKey struct {
	Index         int     `json:"index"`
	Serial        *string `json:"serial"`
	KeyID         *string `json:"key_id"`
	Manufacturer  *string `json:"manufacturer"`
	Model         *string `json:"model"`
	Issuer        *string `json:"issuer"`
	User          *string `json:"user"`
	Algorithm     *string `json:"algorithm"`
	AlgorithmKind string  `json:"algorithm_kind"`
	Hash          *string `json:"hash"`
	HashDefaulted bool    `json:"hash_defaulted"`
	Digits        *int    `json:"digits"`
	TimeInterval  *int    `json:"time_interval"`
	TimeOffset    *int    `json:"time_offset"`
	TimeDrift     *int    `json:"time_drift"`
	Counter       *uint64 `json:"counter"`
	SecretHex     *string `json:"secret_hex"`
	ErrorClass    *string `json:"error_class"`
}

func loadCases(t testing.TB) []confCase {
	t.Helper()
	f, err := os.Open(filepath.Join(conformancetest.Dir(t, "pskc"), "cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []confCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c confCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("cases.jsonl: %v", err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func (c confCase) options(t testing.TB) Options {
	opts := Options{Now: judged}
	if c.Decrypt == nil {
		return opts
	}
	var err error
	if c.Decrypt.KeyHex != nil {
		if opts.Key, err = hex.DecodeString(*c.Decrypt.KeyHex); err != nil {
			t.Fatal(err)
		}
	}
	if c.Decrypt.Password != nil {
		opts.Password = []byte(*c.Decrypt.Password)
	}
	if c.Decrypt.IVHex != nil {
		if opts.IV, err = hex.DecodeString(*c.Decrypt.IVHex); err != nil {
			t.Fatal(err)
		}
	}
	return opts
}

// readAll reads a whole document the way a careful caller does.
func readAll(r io.Reader, opts Options) ([]*Key, []Warning, error) {
	rd, err := NewReader(r, opts)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	var keys []*Key
	for {
		k, err := rd.Next()
		if err == io.EOF {
			return keys, rd.Warnings(), nil
		}
		if err != nil {
			return nil, rd.Warnings(), err
		}
		keys = append(keys, k)
	}
}

func warningCodes(ws []Warning) []string {
	var codes []string
	for _, w := range ws {
		if !slices.Contains(codes, w.Code) {
			codes = append(codes, w.Code)
		}
	}
	slices.Sort(codes)
	return codes
}

func TestConformance(t *testing.T) {
	cases := loadCases(t)
	if len(cases) == 0 {
		t.Fatal("no conformance cases")
	}
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			f, err := os.Open(filepath.Join(corpusDir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			keys, warns, err := readAll(f, c.options(t))
			if c.Verdict == "reject" {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("want reject %s, got err=%v (%d keys)", *c.ErrorClass, err, len(keys))
				}
				if pe.Class != *c.ErrorClass {
					t.Fatalf("error class %q, want %q: %v", pe.Class, *c.ErrorClass, pe)
				}
				return
			}
			if err != nil {
				t.Fatalf("want accept, got %v", err)
			}
			want := c.Warnings
			if want == nil {
				want = []string{}
			}
			got := warningCodes(warns)
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("warnings %v, want %v", got, want)
			}
			if len(keys) != len(c.Keys) {
				t.Fatalf("%d keys, want %d", len(keys), len(c.Keys))
			}
			for i, wk := range c.Keys {
				compareKey(t, keys[i], wk)
			}
		})
	}
}

func compareKey(t *testing.T, k *Key, w confKey) {
	t.Helper()
	str := func(name string, got, want *string) {
		t.Helper()
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("key %d %s = %s, want %s", w.Index, name, show(got), show(want))
		}
	}
	num := func(name string, got, want *int) {
		t.Helper()
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("key %d %s = %v, want %v", w.Index, name, showInt(got), showInt(want))
		}
	}
	if k.Index != w.Index {
		t.Errorf("index %d, want %d", k.Index, w.Index)
	}
	str("serial", k.Serial, w.Serial)
	str("key_id", k.KeyID, w.KeyID)
	str("manufacturer", k.Manufacturer, w.Manufacturer)
	str("model", k.Model, w.Model)
	str("issuer", k.Issuer, w.Issuer)
	str("user", k.User, w.User)
	var alg *string
	if k.Algorithm != "" {
		alg = &k.Algorithm
	}
	str("algorithm", alg, w.Algorithm)
	if k.Kind != w.AlgorithmKind {
		t.Errorf("key %d kind %q, want %q", w.Index, k.Kind, w.AlgorithmKind)
	}
	str("hash", k.Hash, w.Hash)
	if k.HashDefaulted != w.HashDefaulted {
		t.Errorf("key %d hash_defaulted %v, want %v", w.Index, k.HashDefaulted, w.HashDefaulted)
	}
	num("digits", k.Digits, w.Digits)
	num("time_interval", k.TimeInterval, w.TimeInterval)
	num("time_offset", k.TimeOffset, w.TimeOffset)
	num("time_drift", k.TimeDrift, w.TimeDrift)
	if (k.Counter == nil) != (w.Counter == nil) || k.Counter != nil && *k.Counter != *w.Counter {
		t.Errorf("key %d counter mismatch", w.Index)
	}
	var sec *string
	if k.Secret != nil {
		s := hex.EncodeToString(k.Secret)
		sec = &s
	}
	if (sec == nil) != (w.SecretHex == nil) || sec != nil && *sec != *w.SecretHex {
		// Never print secrets, not even test ones, in failure output.
		t.Errorf("key %d secret mismatch (present=%v, want present=%v)", w.Index, sec != nil, w.SecretHex != nil)
	}
	if w.ErrorClass != nil {
		t.Errorf("key %d: per-key error class %q is not modelled", w.Index, *w.ErrorClass)
	}
}

func show(s *string) string {
	if s == nil {
		return "null"
	}
	return `"` + *s + `"`
}

func showInt(n *int) any {
	if n == nil {
		return "null"
	}
	return *n
}

func readCorpus(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
