package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/secrets"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	sqliteOnly(t, "the database file and its permissions")
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "data", "mfactl")
	d, err := Open(context.Background(), filepath.Join(dir, "mfactl.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.KeyCreated() {
		t.Error("KeyCreated false on a new database")
	}
	if d.KeyPath() != filepath.Join(dir, "mfactl.key") {
		t.Errorf("key path %s, want beside the database", d.KeyPath())
	}
	if _, err := d.ImportTokens(context.Background(), genSource(0, 3, 1), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"mfactl.db", "mfactl.db-wal", "mfactl.db-shm", "mfactl.key"} {
		if m := mode(t, filepath.Join(dir, f)); m != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", f, m)
		}
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("directory mode %04o, want 0700", m)
	}
}

func TestOpenKeyMissingOrWrong(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := testDBName(t, dir)
	keyPath := filepath.Join(dir, "mfactl.key")
	d := openTest(t, dir, Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 2, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// Reopening with the same key works and does not create one.
	d2, err := openBackend(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d2.KeyCreated() {
		t.Error("reopen created a key")
	}
	d2.Close()

	os.Rename(keyPath, keyPath+".bak")
	_, err = openBackend(t, dir, Options{})
	if !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("missing key: %v, want ErrKeyMissing", err)
	}
	want := "key file " + keyPath + " not found; the database " + dbPath + " holds encrypted secrets"
	if err.Error() != want {
		t.Errorf("message %q\nwant %q", err, want)
	}
	if _, statErr := os.Stat(keyPath); statErr == nil {
		t.Fatal("a new key file was created for a database holding secrets")
	}

	// NoKey opens it for commands that never decrypt; secret operations then refuse.
	d3, err := openBackend(t, dir, Options{NoKey: true})
	if err != nil {
		t.Fatalf("NoKey open: %v", err)
	}
	if _, err := d3.TokenSecret(ctx, "SN00000000"); !errors.Is(err, ErrNoKey) {
		t.Errorf("TokenSecret without key: %v, want ErrNoKey", err)
	}
	if n, _ := d3.ListTokens(ctx, TokenFilter{}); len(n) != 2 {
		t.Errorf("listing without key: %d tokens, want 2", len(n))
	}
	d3.Close()

	// Another valid key is detected before anything is decrypted.
	other := filepath.Join(dir, "other.key")
	if _, _, err := secrets.LoadOrCreateKey(other, true); err != nil {
		t.Fatal(err)
	}
	_, err = openBackend(t, dir, Options{KeyFile: other})
	if !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("wrong key: %v, want ErrKeyMismatch", err)
	}
	if want := "key file " + other + " does not match database " + dbPath; err.Error() != want {
		t.Errorf("message %q\nwant %q", err, want)
	}
	var ke *KeyError
	if !errors.As(err, &ke) || ke.KeyFile != other || ke.DB != dbPath {
		t.Errorf("not a *KeyError naming both files: %#v", err)
	}

	os.Rename(keyPath+".bak", keyPath)
	d4, err := openBackend(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d4.Close()
	if _, err := d4.TokenSecret(ctx, "SN00000001"); err != nil {
		t.Fatalf("secret after restoring the key: %v", err)
	}
}

func TestOpenNewDatabaseUsesExistingKey(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.key")
	want, _, err := secrets.LoadOrCreateKey(key, true)
	if err != nil {
		t.Fatal(err)
	}
	d := openTest(t, dir, Options{KeyFile: key})
	if d.KeyCreated() {
		t.Error("KeyCreated true although the key file existed")
	}
	s, _ := secrets.NewSealer(want)
	check, _, _ := d.getMeta(context.Background(), metaKeyCheck)
	if !s.MatchesCheckValue(check) {
		t.Error("check value is not the existing key's")
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		d := openTest(t, dir, Options{})
		v, err := d.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := loadMigrations()
		if v != ms[len(ms)-1].version {
			t.Fatalf("schema version %d, want %d", v, ms[len(ms)-1].version)
		}
		if n := count(t, d, "schema_migrations"); n != len(ms) {
			t.Fatalf("open %d: %d schema_migrations rows, want %d", i, n, len(ms))
		}
		if err := d.IntegrityCheck(ctx); err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	d := openTest(t, dir, Options{})
	if _, err := d.sql.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err := openBackend(t, dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 9999 is newer") {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	sqliteOnly(t, "SQLite connection settings")
	d := openTest(t, "", Options{})
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1",
	} {
		var got string
		if err := d.sql.QueryRow(`PRAGMA ` + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/srv/data")
	p, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/srv/data", "mfactl", "mfactl.db"); p != want {
		t.Errorf("DefaultPath %s, want %s", p, want)
	}
	if k := DefaultKeyPath(p); k != filepath.Join("/srv/data", "mfactl", "mfactl.key") {
		t.Errorf("DefaultKeyPath %s", k)
	}
	if runtime.GOOS == "linux" {
		t.Setenv("XDG_DATA_HOME", "")
		t.Setenv("HOME", "/home/ada")
		p, _ := DefaultPath()
		if want := "/home/ada/.local/share/mfactl/mfactl.db"; p != want {
			t.Errorf("DefaultPath without XDG_DATA_HOME %s, want %s", p, want)
		}
	}
}

func TestOpenPathWithSpecialCharacters(t *testing.T) {
	sqliteOnly(t, "a database file path")
	dir := filepath.Join(t.TempDir(), "a dir?#%")
	d := openTest(t, dir, Options{})
	if _, err := os.Stat(filepath.Join(dir, "mfactl.db")); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
	if err := d.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenNotADatabaseFile: --db naming a directory or a file that is not a database says so,
// instead of a driver error about creating schema_migrations.
func TestOpenNotADatabaseFile(t *testing.T) {
	sqliteOnly(t, "a database file path")
	ctx := context.Background()
	dir := t.TempDir()
	text := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(text, []byte("upn,serial number,secret key,time interval,manufacturer,model\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{dir, dir + " is a folder, not a directory database file"},
		{text, text + " is not an mfactl directory (not a SQLite database)"},
	} {
		d, err := Open(ctx, tc.path, Options{NoKey: true})
		if err == nil {
			d.Close()
			t.Errorf("Open(%s): no error", tc.path)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Open(%s): %v\nwant: %s", tc.path, err, tc.want)
		}
	}
}

// TestOpenKeyFileIsADirectory: a key path that is a directory is named as such, not as a key
// file readable by others (whose advice, chmod 600, does not help).
func TestOpenKeyFileIsADirectory(t *testing.T) {
	sqliteOnly(t, "opens a database file (the key check is shared code)")
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")
	if err := os.Mkdir(keyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), filepath.Join(dir, "x.db"), Options{KeyFile: keyDir})
	if err == nil {
		d.Close()
		t.Fatal("Open: no error")
	}
	want := "key file " + keyDir + " is a directory; --key-file and MFACTL_KEY_FILE name the key file itself"
	if err.Error() != want {
		t.Errorf("Open: %v\nwant: %s", err, want)
	}
}
