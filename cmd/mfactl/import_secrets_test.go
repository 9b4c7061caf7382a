package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
)

// exampleSecrets returns the raw secrets of the example files: the Base32 column of
// examples/tokens.csv and the PlainValue secrets (Base64) of examples/tokens.pskc.
func exampleSecrets(t *testing.T) [][]byte {
	t.Helper()
	csvData, err := os.ReadFile(filepath.Join(examplesDir(), "tokens.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i, line := range strings.Split(strings.TrimSpace(string(csvData)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, ",")
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(f[2])
		if err != nil {
			t.Fatalf("tokens.csv line %d: %v", i+1, err)
		}
		out = append(out, raw)
	}
	pskcData, err := os.ReadFile(filepath.Join(examplesDir(), "tokens.pskc"))
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(pskcData))
	inSecret := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if el.Name.Local == "Secret" {
				inSecret = true
			}
			if el.Name.Local == "PlainValue" && inSecret {
				var v string
				if err := dec.DecodeElement(&v, &el); err != nil {
					t.Fatal(err)
				}
				raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, raw)
				inSecret = false
			}
		case xml.EndElement:
			if el.Name.Local == "Secret" {
				inSecret = false
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("found %d example secrets, want the 15 of tokens.csv and the 5 of tokens.pskc", len(out))
	}
	// The search must find them where they are, or finding nothing proves nothing.
	if findSecret(csvData, out[:1]) == "" || findSecret(pskcData, out[len(out)-1:]) == "" {
		t.Fatal("the secret search does not find the secrets in the example files themselves")
	}
	return out
}

// secretForms are the ways a secret could leak: raw bytes, Base32 (as in the Azure CSV, with
// and without padding, either case), hex (either case) and Base64.
func secretForms(raw []byte) []string {
	b32 := base32.StdEncoding.EncodeToString(raw)
	forms := []string{
		string(raw),
		b32, strings.TrimRight(b32, "="), strings.ToLower(strings.TrimRight(b32, "=")),
		hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)),
		base64.StdEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw),
	}
	return forms
}

// findSecret reports which form of which secret data contains, or "".
func findSecret(data []byte, secrets [][]byte) string {
	for _, s := range secrets {
		for _, form := range secretForms(s) {
			if bytes.Contains(data, []byte(form)) {
				return form
			}
		}
	}
	return ""
}

// TestNoSecretInAnyOutput runs every import and inventory command in every output format over
// the example files and checks that no secret appears on stdout or stderr, in any encoding,
// nor in the audit log. The problems of a file with secret errors must not quote them either.
func TestNoSecretInAnyOutput(t *testing.T) {
	secrets := exampleSecrets(t)
	// The Azure documentation's example secret is hex; it must not be echoed when rejected.
	docSecret, _ := hex.DecodeString("1234567890abcdef1234567890abcdef")
	secrets = append(secrets, docSecret, []byte("1234567890abcdef1234567890abcdef"))
	dir := t.TempDir()
	csvFile := filepath.Join(examplesDir(), "tokens.csv")
	pskcFile := filepath.Join(examplesDir(), "tokens.pskc")
	docFile := filepath.Join(examplesDir(), "azure-doc-example.csv")
	formats := []string{"table", "json", "csv"}
	var runs [][]string
	for _, o := range []string{"table", "json"} {
		runs = append(runs,
			[]string{"tokens", "import", "-o", o, "--dry-run", csvFile},
			[]string{"tokens", "import", "-o", o, csvFile},
			[]string{"tokens", "import", "-o", o, pskcFile},
			[]string{"tokens", "import", "-o", o, "--on-duplicate", "update", csvFile},
			[]string{"tokens", "import", "-o", o, docFile},
			[]string{"tokens", "import", "-o", o, "--skip-invalid", docFile},
			[]string{"tokens", "import", "-o", o, "--secret-encoding", "hex", "--dry-run", docFile},
		)
	}
	for _, o := range formats {
		runs = append(runs,
			[]string{"tokens", "list", "-o", o},
			[]string{"tokens", "show", "-o", o, "GALT2100400"},
			[]string{"tokens", "show", "-o", o, "FT261100404"},
			[]string{"users", "list", "-o", o},
			[]string{"users", "show", "-o", o, "adele.vance@contoso.com"},
		)
	}
	runs = append(runs,
		[]string{"tokens", "assign", "FT261100404", "lee.gu@contoso.com"},
		[]string{"tokens", "assign", "--force", "FT261100404", "adele.vance@contoso.com"},
		[]string{"tokens", "unassign", "FT261100404"},
		[]string{"tokens", "disable", "GALT2100401"},
		[]string{"tokens", "enable", "GALT2100401"},
		[]string{"tokens", "delete", "--yes", "GALT2100402"},
		[]string{"users", "delete", "--yes", "lee.gu@contoso.com"},
	)
	ran := 0
	for _, args := range runs {
		code, stdout, stderr := inProcess(t, dir, "", args...)
		if code != 0 && code != 1 && code != 3 {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
		if code == 0 {
			ran++
		}
		if form := findSecret([]byte(stdout+stderr), secrets); form != "" {
			t.Errorf("%v: a secret appears in the output (as %q)", args, form)
		}
	}
	if ran < len(runs)-6 {
		t.Errorf("only %d of %d commands succeeded: the check proves little", ran, len(runs))
	}
	db := openDirectory(t, dir)
	events, err := db.ListAudit(context.Background(), directory.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 10 {
		t.Errorf("%d audit events, want one per change", len(events))
	}
	for _, e := range events {
		if form := findSecret([]byte(e.Target+" "+e.Detail), secrets); form != "" {
			t.Errorf("audit event %+v holds a secret (as %q)", e, form)
		}
	}
}

// TestNoSecretInDatabaseFiles imports the example files with mfactl processes and reads the
// database file and its write-ahead log byte by byte: no secret may be there in any encoding.
// The test keeps a connection open during the second import, so that SQLite keeps its WAL
// (the last connection to close would fold it into the database and delete it).
func TestNoSecretInDatabaseFiles(t *testing.T) {
	secrets := exampleSecrets(t)
	dir := t.TempDir()
	if out, err := mfactlProcess(t, dir, "tokens", "import", filepath.Join(examplesDir(), "tokens.csv")).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	db := openDirectory(t, dir)
	if n := tokenCount(t, db); n != 15 {
		t.Fatalf("%d tokens after importing tokens.csv, want 15", n)
	}
	if out, err := mfactlProcess(t, dir, "tokens", "import", filepath.Join(examplesDir(), "tokens.pskc")).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, name := range []string{"mfactl.db", "mfactl.db-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 {
			t.Fatalf("%s is empty: the check would prove nothing", name)
		}
		if form := findSecret(data, secrets); form != "" {
			t.Errorf("%s holds a secret (as %q)", name, form)
		}
	}
	// And the secrets are there, encrypted: each one decrypts with the key.
	got, err := db.TokenSecret(context.Background(), "GALT2100400")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, secrets[0]) {
		t.Error("the stored secret of GALT2100400 does not decrypt to the file's")
	}
	if n := tokenCount(t, db); n != 20 {
		t.Errorf("%d tokens after importing both examples, want 20", n)
	}
}
