package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base32"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/conformancetest"
	"github.com/mfactl/mfactl/internal/iostreams"
	"github.com/mfactl/mfactl/internal/pskc"
)

// pskcCase is one line of ../shared/conformance/pskc/cases.jsonl (see its README).
type pskcCase struct {
	File    string `json:"file"`
	Decrypt *struct {
		KeyHex   *string `json:"key_hex"`
		Password *string `json:"password"`
		IVHex    *string `json:"iv_hex"`
	} `json:"decrypt"`
	Verdict    string   `json:"verdict"`
	ErrorClass *string  `json:"error_class"`
	Warnings   []string `json:"warnings"`
	Keys       []struct {
		Serial       *string `json:"serial"`
		KeyID        *string `json:"key_id"`
		Kind         string  `json:"algorithm_kind"`
		Hash         *string `json:"hash"`
		Digits       *int    `json:"digits"`
		TimeInterval *int    `json:"time_interval"`
		SecretHex    *string `json:"secret_hex"`
	} `json:"keys"`
}

// pskcJudged is the date the corpus verdicts were judged on (its README: policy-expired).
var pskcJudged = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func loadPSKCCases(t *testing.T) (string, []pskcCase) {
	t.Helper()
	dir := conformancetest.Dir(t, "pskc")
	data, err := os.ReadFile(filepath.Join(dir, "cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []pskcCase
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c pskcCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("cases.jsonl: %v", err)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	return dir, cases
}

// runMfactl runs one command line in-process with the given environment.
func runMfactl(env map[string]string, args ...string) (code int, stdout, stderr string) {
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.NewFactory(ios, func(k string) string { return env[k] })
	f.Now = func() time.Time { return pskcJudged }
	code = cli.Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

// decryptArgs gives the case's key through a key file (hex, as vendors send it) and its
// password through MFACTL_PSKC_PASSWORD, so both ways in are exercised.
func (c pskcCase) decryptArgs(t *testing.T) ([]string, map[string]string) {
	var args []string
	env := map[string]string{}
	if c.Decrypt == nil {
		return args, env
	}
	if c.Decrypt.KeyHex != nil {
		path := filepath.Join(t.TempDir(), "psk.hex")
		if err := os.WriteFile(path, []byte(*c.Decrypt.KeyHex+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--pskc-key-file", path)
	}
	if c.Decrypt.Password != nil {
		env["MFACTL_PSKC_PASSWORD"] = *c.Decrypt.Password
	}
	if c.Decrypt.IVHex != nil {
		args = append(args, "--pskc-iv", *c.Decrypt.IVHex)
	}
	return args, env
}

// convertible reports whether key i passes the Azure token rules, as its expected reading
// says: TOTP, 6 digits, SHA-1, 30 or 60 seconds (absent: 30), a secret of at most 80 bytes
// (128 Base32 characters), a serial, not a repeated serial.
func (c pskcCase) convertible(i int) bool {
	k := c.Keys[i]
	serial := c.serial(i)
	for j := range i {
		if strings.EqualFold(c.serial(j), serial) {
			return false
		}
	}
	return k.Kind == "totp" && k.Digits != nil && *k.Digits == 6 && k.Hash != nil && *k.Hash == "SHA1" &&
		(k.TimeInterval == nil || *k.TimeInterval == 30 || *k.TimeInterval == 60) &&
		k.SecretHex != nil && *k.SecretHex != "" && len(*k.SecretHex)/2 <= 80 && serial != ""
}

func (c pskcCase) serial(i int) string {
	k := c.Keys[i]
	if k.Serial != nil && *k.Serial != "" {
		return *k.Serial
	}
	if k.KeyID != nil {
		return *k.KeyID
	}
	return ""
}

type validateJSON struct {
	Valid bool `json:"valid"`
	Files []struct {
		Format   string `json:"format"`
		Rows     int    `json:"rows"`
		Problems []struct {
			Line     int    `json:"line"`
			Severity string `json:"severity"`
			Code     string `json:"code"`
			Message  string `json:"message"`
			Package  int    `json:"package"`
		} `json:"problems"`
	} `json:"files"`
}

// TestPSKCConformance runs every case of ../shared/conformance/pskc/cases.jsonl through
// `mfactl tokens validate -o json`: a rejected file exits 1 with the problem pskc.<class>;
// an accepted file shows exactly the expected reader warnings as pskc.<code> problems, one
// row per key, and is valid exactly when every key passes the token rules. Accepted files
// of TOTP keys then go through `tokens convert`, which must write the expected secrets.
func TestPSKCConformance(t *testing.T) {
	dir, cases := loadPSKCCases(t)
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			path := filepath.Join(dir, c.File)
			dargs, env := c.decryptArgs(t)
			args := append([]string{"tokens", "validate", "-o", "json"}, dargs...)
			head, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !pskc.Sniff(head[:min(len(head), 512)]) {
				// Not XML by content (a CSV named .pskcxml): --format auto reads it as CSV,
				// so ask for PSKC explicitly to get the reader's verdict.
				args = append(args, "--format", "pskc")
			}
			code, stdout, stderr := runMfactl(env, append(args, path)...)
			var report validateJSON
			if err := json.Unmarshal([]byte(stdout), &report); err != nil || len(report.Files) != 1 {
				t.Fatalf("exit %d, bad JSON (%v): %s\nstderr: %s", code, err, stdout, stderr)
			}
			file := report.Files[0]
			if file.Format != "pskc" {
				t.Errorf("format %q, want pskc", file.Format)
			}
			var pskcErrors, pskcWarnings []string
			for _, p := range file.Problems {
				if !strings.HasPrefix(p.Code, "pskc.") {
					continue
				}
				code := strings.TrimPrefix(p.Code, "pskc.")
				if p.Severity == "error" {
					pskcErrors = append(pskcErrors, code)
				} else if !slices.Contains(pskcWarnings, code) {
					pskcWarnings = append(pskcWarnings, code)
				}
			}
			slices.Sort(pskcWarnings)

			if c.Verdict == "reject" {
				if code != 1 || report.Valid {
					t.Errorf("exit %d valid %v, want 1 and false", code, report.Valid)
				}
				if !slices.Equal(pskcErrors, []string{*c.ErrorClass}) {
					t.Errorf("pskc errors %q, want [%s]; problems %+v", pskcErrors, *c.ErrorClass, file.Problems)
				}
				return
			}
			if len(pskcErrors) > 0 {
				t.Fatalf("accepted file refused: %q; problems %+v", pskcErrors, file.Problems)
			}
			want := c.Warnings
			if want == nil {
				want = []string{}
			}
			if pskcWarnings == nil {
				pskcWarnings = []string{}
			}
			if !slices.Equal(pskcWarnings, want) {
				t.Errorf("pskc warnings %q, want %q", pskcWarnings, want)
			}
			if file.Rows != len(c.Keys) {
				t.Errorf("%d rows, want %d keys", file.Rows, len(c.Keys))
			}
			allValid := true
			anyTOTP := false
			for i, k := range c.Keys {
				allValid = allValid && c.convertible(i)
				anyTOTP = anyTOTP || k.Kind == "totp"
			}
			wantCode := 1
			if allValid {
				wantCode = 0
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d (keys pass the token rules: %v); problems %+v", code, wantCode, allValid, file.Problems)
			}
			for _, p := range file.Problems {
				if p.Package == 0 && !strings.HasPrefix(p.Code, "pskc.") {
					t.Errorf("problem %s names no key package", p.Code)
				}
			}
			if anyTOTP && len(c.Keys) > 0 {
				checkConvert(t, c, path, dargs, env)
			}
		})
	}
}

// checkConvert converts an accepted file with --skip-invalid and a UPN map naming an owner
// for every serial, and checks the rows: the convertible keys, in order, with their secrets
// in Base32.
func checkConvert(t *testing.T, c pskcCase, path string, dargs []string, env map[string]string) {
	t.Helper()
	var upnMap strings.Builder
	upnMap.WriteString("serial number,upn\n")
	var mapped []string
	for i := range c.Keys {
		s := c.serial(i)
		if s == "" || slices.ContainsFunc(mapped, func(m string) bool { return strings.EqualFold(m, s) }) {
			continue
		}
		mapped = append(mapped, s)
		fmt.Fprintf(&upnMap, "%s,owner%d@contoso.example\n", csvQuote(s), i)
	}
	mapPath := filepath.Join(t.TempDir(), "owners.csv")
	if err := os.WriteFile(mapPath, []byte(upnMap.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"tokens", "convert", "--skip-invalid", "--upn-map", mapPath}, dargs...)
	code, stdout, stderr := runMfactl(env, append(args, path)...)

	var want []string
	converted, skipped := 0, 0
	for i, k := range c.Keys {
		if !c.convertible(i) {
			skipped++
			continue
		}
		converted++
		secret, err := hex.DecodeString(*k.SecretHex)
		if err != nil {
			t.Fatal(err)
		}
		interval := 30
		if k.TimeInterval != nil {
			interval = *k.TimeInterval
		}
		want = append(want, strings.Join([]string{
			fmt.Sprintf("owner%d@contoso.example", i), c.serial(i),
			base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret), strconv.Itoa(interval),
		}, "|"))
	}
	wantCode := 0
	switch {
	case converted == 0:
		wantCode = 1
	case skipped > 0:
		wantCode = 3
	}
	if code != wantCode {
		t.Fatalf("convert exit %d, want %d\nstderr: %s", code, wantCode, stderr)
	}
	if converted == 0 {
		if stdout != "" {
			t.Errorf("convert wrote %q for a file without a valid token", stdout)
		}
		return
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if lines[0] != "upn,serial number,secret key,time interval,manufacturer,model" {
		t.Fatalf("header %q", lines[0])
	}
	var got []string
	for _, row := range readCSV(t, stdout)[1:] {
		got = append(got, strings.Join(row[:4], "|"))
	}
	if !slices.Equal(got, want) {
		// The rows hold (test) secrets: say which serials differ rather than print them.
		t.Errorf("converted rows differ: %d rows, want %d (serials and secrets compared)", len(got), len(want))
	}
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("convert output is not CSV: %v", err)
	}
	return rows
}

func csvQuote(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
