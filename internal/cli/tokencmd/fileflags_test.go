package tokencmd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/iostreams"
)

func testFactory(env map[string]string, stdin string) *cmdutil.Factory {
	ios, in, _, _ := iostreams.Test()
	in.WriteString(stdin)
	f := cmdutil.NewFactory(ios, func(k string) string { return env[k] })
	f.Now = func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }
	return f
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func defaultFlags() fileFlags {
	return fileFlags{format: "auto", delimiter: ",", secretEncoding: "base32"}
}

func TestReadOptionsDecryptionMaterial(t *testing.T) {
	raw := "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
	tests := []struct {
		name     string
		key      string // file content, or "" for none
		password string
		stdin    string
		env      map[string]string
		keyArg   string // "-" for stdin
		wantKey  []byte
		wantPass string
	}{
		{name: "hex key file", key: "0x00010203 04050607\r\n08090a0b0c0d0e0f\n", wantKey: []byte(raw)},
		{name: "raw key file", key: raw, wantKey: []byte(raw)},
		{name: "raw key ending in a newline byte", key: raw[:15] + "\n", wantKey: []byte(raw[:15] + "\n")},
		{name: "password without its newline", password: "qwerty\n", wantPass: "qwerty"},
		{name: "password without its CRLF", password: "qwerty\r\n", wantPass: "qwerty"},
		{name: "only one newline trimmed", password: "qwerty\n\n", wantPass: "qwerty\n"},
		{name: "password keeps its spaces", password: " two words ", wantPass: " two words "},
		{name: "key from stdin", keyArg: "-", stdin: "000102030405060708090a0b0c0d0e0f\n", wantKey: []byte(raw)},
		{name: "key from the environment", env: map[string]string{envPSKCKey: "000102030405060708090a0b0c0d0e0f"}, wantKey: []byte(raw)},
		{name: "password from the environment", env: map[string]string{envPSKCPassword: "pw\n"}, wantPass: "pw\n"},
		{name: "a flag wins over the environment", password: "fromfile", env: map[string]string{envPSKCKey: "00", envPSKCPassword: "x"}, wantPass: "fromfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ff := defaultFlags()
			if tt.key != "" {
				ff.pskcKeyFile = writeFile(t, tt.key)
			}
			if tt.keyArg != "" {
				ff.pskcKeyFile = tt.keyArg
			}
			if tt.password != "" {
				ff.pskcPasswordFile = writeFile(t, tt.password)
			}
			o, err := ff.readOptions(testFactory(tt.env, tt.stdin), []string{"seeds.pskc"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(o.PSKC.Key, tt.wantKey) || string(o.PSKC.Password) != tt.wantPass {
				t.Errorf("key %x password %q, want %x %q", o.PSKC.Key, o.PSKC.Password, tt.wantKey, tt.wantPass)
			}
			if !o.PSKC.Now.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("policy judged at %v, not the factory's clock", o.PSKC.Now)
			}
		})
	}
}

func TestReadOptionsErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, ff *fileFlags)
		env   map[string]string
		files []string
		usage bool
		want  string
	}{
		{"stdin twice", func(t *testing.T, ff *fileFlags) { ff.pskcKeyFile = "-" }, nil, []string{"a.pskc", "-"}, true,
			"--pskc-key-file -: standard input cannot hold both the token file and the secret; put one of them in a file"},
		{"password stdin twice", func(t *testing.T, ff *fileFlags) { ff.pskcPasswordFile = "-" }, nil, []string{"-"}, true,
			"--pskc-password-file -: standard input cannot hold both the token file and the secret; put one of them in a file"},
		{"key and password", func(t *testing.T, ff *fileFlags) { ff.pskcKeyFile, ff.pskcPasswordFile = "k", "p" }, nil, nil, true,
			"--pskc-key-file and --pskc-password-file exclude each other: a file is encrypted with a key or with a password"},
		{"both env", func(t *testing.T, ff *fileFlags) {}, map[string]string{envPSKCKey: "00", envPSKCPassword: "x"}, nil, true,
			"MFACTL_PSKC_KEY and MFACTL_PSKC_PASSWORD are both set; set only the one the file needs"},
		{"bad iv", func(t *testing.T, ff *fileFlags) { ff.pskcIV = "0011" }, nil, nil, true,
			"--pskc-iv: want 16 or 32 hex digits (an 8- or 16-byte IV)"},
		{"short raw key", func(t *testing.T, ff *fileFlags) { ff.pskcKeyFile = writeFile(t, "not a key") }, nil, nil, false,
			"key is neither hex nor a raw 16-, 24- or 32-byte key"},
		{"empty password", func(t *testing.T, ff *fileFlags) { ff.pskcPasswordFile = writeFile(t, "\n") }, nil, nil, false,
			"the password is empty"},
		{"env key not hex", func(t *testing.T, ff *fileFlags) {}, map[string]string{envPSKCKey: "secret-ish-value"}, nil, false,
			"reading MFACTL_PSKC_KEY: want the key in hex"},
		{"env key odd hex", func(t *testing.T, ff *fileFlags) {}, map[string]string{envPSKCKey: "0x123"}, nil, false,
			"reading MFACTL_PSKC_KEY: key is hex with an odd number of digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ff := defaultFlags()
			tt.setup(t, &ff)
			_, err := ff.readOptions(testFactory(tt.env, ""), tt.files)
			if err == nil {
				t.Fatal("no error")
			}
			var usage *cmdutil.UsageError
			if errors.As(err, &usage) != tt.usage {
				t.Errorf("usage error %v, want %v: %v", !tt.usage, tt.usage, err)
			}
			if got := err.Error(); got != tt.want && !bytes.HasSuffix([]byte(got), []byte(": "+tt.want)) {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
}
