package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// fileState is a file's bytes and modification time, to prove an open wrote nothing.
type fileState struct {
	data  []byte
	mtime time.Time
}

func snap(t *testing.T, path string) fileState {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{data, st.ModTime()}
}

func (s fileState) same(t *testing.T, path string) {
	t.Helper()
	now := snap(t, path)
	if !bytes.Equal(now.data, s.data) || !now.mtime.Equal(s.mtime) {
		t.Errorf("%s was changed (%d bytes, was %d)", path, len(now.data), len(s.data))
	}
}

// foreignSQLite writes a SQLite database of another program, in the rollback journal mode
// most programs use.
func foreignSQLite(t *testing.T, path string, appID int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		fmt.Sprintf(`PRAGMA application_id = %d`, appID),
		`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`,
		`INSERT INTO notes (body) VALUES ('keep me')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenRefusesForeignFiles: a --db pointing at another program's SQLite file, an empty file,
// a text file or a folder is refused by every mode, naming the path, and the file is left
// byte for byte as it was (no mfactl schema, no WAL switch, no key file).
func TestOpenRefusesForeignFiles(t *testing.T) {
	sqliteOnly(t, "the SQLite file: its header, marker, read-only open and errors")
	ctx := context.Background()
	dir := t.TempDir()
	foreign := filepath.Join(dir, "app.sqlite")
	foreignSQLite(t, foreign, 0)
	tagged := filepath.Join(dir, "tagged.sqlite")
	foreignSQLite(t, tagged, 42)
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{foreign, foreign + " is not an mfactl directory (a SQLite database without mfactl's marker)"},
		{tagged, tagged + " is not an mfactl directory (a SQLite database without mfactl's marker)"},
		{empty, empty + " is an empty file, not an mfactl directory"},
		{text, text + " is not an mfactl directory (not a SQLite database)"},
	}
	for _, tt := range tests {
		before := snap(t, tt.path)
		for _, mode := range []Mode{ModeCreate, ModeExisting, ModeReadOnly} {
			d, err := Open(ctx, tt.path, Options{Mode: mode})
			if err == nil {
				d.Close()
				t.Errorf("Open(%s, mode %d): no error", tt.path, mode)
				continue
			}
			if !errors.Is(err, ErrNotDirectory) || err.Error() != tt.want {
				t.Errorf("Open(%s, mode %d): %v\nwant: %s", tt.path, mode, err, tt.want)
			}
		}
		before.same(t, tt.path)
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			if _, err := os.Stat(tt.path + suffix); err == nil {
				t.Errorf("%s%s was created", tt.path, suffix)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultKeyName)); err == nil {
		t.Error("a key file was created beside a foreign file")
	}
}

// TestOpenMissing: only ModeCreate creates a directory; the others name the missing file and
// create nothing, not even its folder.
func TestOpenMissing(t *testing.T) {
	sqliteOnly(t, "the SQLite file: its header, marker, read-only open and errors")
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "sub")
	path := filepath.Join(dir, "mfactl.db")
	for _, mode := range []Mode{ModeExisting, ModeReadOnly} {
		_, err := Open(ctx, path, Options{Mode: mode})
		var nd *NoDirectoryError
		if !errors.As(err, &nd) || err.Error() != "no directory database at "+path {
			t.Errorf("mode %d: %v, want no directory database at %s", mode, err, path)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("folder created: %v", err)
	}
	d, err := Open(ctx, path, Options{Mode: ModeCreate})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	// The new database is complete on disk (marker in the header) and the temporary file it
	// was built in is gone.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		switch e.Name() {
		case "mfactl.db", "mfactl.db-wal", "mfactl.db-shm", DefaultKeyName:
		default:
			t.Errorf("left behind: %s", e.Name())
		}
	}
	hdr := snap(t, path).data
	if len(hdr) < 100 || hdr[68] != 'm' || hdr[69] != 'f' || hdr[70] != 'a' || hdr[71] != 'c' {
		t.Errorf("new database has no application_id marker")
	}
	for _, mode := range []Mode{ModeCreate, ModeExisting, ModeReadOnly} {
		d, err := Open(ctx, path, Options{Mode: mode})
		if err != nil {
			t.Fatalf("reopen mode %d: %v", mode, err)
		}
		d.Close()
	}
}

// TestOpenReadOnlyWritesNothing: a read-only open reads a directory without its key file and
// leaves the database file's bytes and time as they were, creates no key, and refuses writes.
func TestOpenReadOnlyWritesNothing(t *testing.T) {
	sqliteOnly(t, "the SQLite file: its header, marker, read-only open and errors")
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mfactl.db")
	d := openTest(t, dir, Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 3, 1), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	keyPath := filepath.Join(dir, DefaultKeyName)
	if err := os.Rename(keyPath, keyPath+".away"); err != nil {
		t.Fatal(err)
	}
	before := snap(t, path)

	for _, noKey := range []bool{true, false} {
		r, err := Open(ctx, path, Options{Mode: ModeReadOnly, NoKey: noKey})
		if noKey && err != nil {
			t.Fatalf("read-only open: %v", err)
		}
		if !noKey {
			// The database holds a key check value: without NoKey the key is required, and
			// a read-only open never creates one.
			if !errors.Is(err, ErrKeyMissing) {
				t.Fatalf("read-only open without the key file: %v, want ErrKeyMissing", err)
			}
			continue
		}
		toks, err := r.ListTokens(ctx, TokenFilter{})
		if err != nil || len(toks) != 3 {
			t.Errorf("listing: %d tokens, %v", len(toks), err)
		}
		if err := r.AddAudit(ctx, AuditEvent{Command: "x"}); err == nil {
			t.Error("a write through a read-only open succeeded")
		}
		r.Close()
	}
	before.same(t, path)
	if _, err := os.Stat(keyPath); err == nil {
		t.Error("read-only open created a key file")
	}
}

// TestOpenReadOnlyNewDirectoryNoKey: a read-only open of a directory that has no key check
// value yet (only users added) neither needs nor creates a key file.
func TestOpenReadOnlyNewDirectoryNoKey(t *testing.T) {
	sqliteOnly(t, "the SQLite file: its header, marker, read-only open and errors")
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mfactl.db")
	d, err := Open(ctx, path, Options{NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	before := snap(t, path)
	r, err := Open(ctx, path, Options{Mode: ModeReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	before.same(t, path)
	if _, err := os.Stat(filepath.Join(dir, DefaultKeyName)); err == nil {
		t.Error("read-only open created a key file")
	}
}

// TestOpenLegacyDirectory: a directory created before the marker (application_id 0) is still
// mfactl's: read-only opens read it unchanged, the first writable open marks it.
func TestOpenLegacyDirectory(t *testing.T) {
	sqliteOnly(t, "the SQLite file: its header, marker, read-only open and errors")
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mfactl.db")
	d := openTest(t, dir, Options{NoKey: true})
	if _, err := d.sql.Exec(`PRAGMA application_id = 0`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	before := snap(t, path)
	if before.data[71] != 0 {
		t.Fatal("marker not cleared")
	}
	r, err := Open(ctx, path, Options{Mode: ModeReadOnly, NoKey: true})
	if err != nil {
		t.Fatalf("read-only open of a legacy directory: %v", err)
	}
	r.Close()
	before.same(t, path)
	w, err := Open(ctx, path, Options{Mode: ModeExisting, NoKey: true})
	if err != nil {
		t.Fatalf("writable open of a legacy directory: %v", err)
	}
	var id int
	if err := w.sql.QueryRow(`PRAGMA application_id`).Scan(&id); err != nil || id != applicationID {
		t.Errorf("application_id %#x after a writable open (%v), want %#x", id, err, applicationID)
	}
	w.Close()
}

// TestOpenReadOnlyOldSchema: a read-only open never migrates. It reads a directory that lacks
// only index migrations, and refuses one missing a migration reads depend on, unchanged.
func TestOpenReadOnlyOldSchema(t *testing.T) {
	sqliteOnly(t, "the SQLite file: its header, marker, read-only open and errors")
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mfactl.db")
	d := openTest(t, dir, Options{NoKey: true})
	if _, err := d.sql.Exec(`DELETE FROM schema_migrations WHERE version >= 2`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	before := snap(t, path)
	r, err := Open(ctx, path, Options{Mode: ModeReadOnly, NoKey: true})
	if err != nil {
		t.Fatalf("read-only open missing an index migration: %v", err)
	}
	if v, _ := r.SchemaVersion(ctx); v != 1 {
		t.Errorf("schema version %d after a read-only open, want 1 (not migrated)", v)
	}
	r.Close()

	readCompatible[2] = false
	defer func() { readCompatible[2] = true }()
	_, err = Open(ctx, path, Options{Mode: ModeReadOnly, NoKey: true})
	want := "opening database " + path + ": schema version 1 is older than this mfactl's (3); reading it needs the upgrade that the next command changing the directory makes"
	var se *SchemaError
	if !errors.As(err, &se) || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	before.same(t, path)
}

// TestNoSpace: the driver's codes for a full device, and ENOSPC from the OS, become
// "no space left on the device holding PATH" instead of "disk I/O error (4874)".
func TestNoSpace(t *testing.T) {
	sqliteOnly(t, "the SQLite file: its header, marker, read-only open and errors")
	for _, tt := range []struct {
		code int
		want bool
	}{
		{sqlite3.SQLITE_FULL, true},
		{sqlite3.SQLITE_IOERR_SHMSIZE, true}, // 4874
		{sqlite3.SQLITE_IOERR_WRITE, false},  // also a broken disk
		{sqlite3.SQLITE_IOERR, false},
		{sqlite3.SQLITE_BUSY, false},
	} {
		if got := noSpaceCode(tt.code); got != tt.want {
			t.Errorf("noSpaceCode(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
	osErr := mapErr(fmt.Errorf("writing: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}))
	if !errors.Is(osErr, ErrNoSpace) || WithPath(osErr, "/data/mfactl.db").Error() != "no space left on the device holding /data/mfactl.db" {
		t.Errorf("ENOSPC: %v", osErr)
	}

	// A real SQLITE_FULL from the driver, through a write of the store: a database capped at
	// its current size is full.
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mfactl.db")
	d := openTest(t, dir, Options{})
	d.sql.SetMaxOpenConns(1)
	var pages int
	if err := d.sql.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := d.sql.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	_, err := d.ImportTokens(ctx, genSource(0, 2000, 100), ImportOptions{})
	var ns *NoSpaceError
	if !errors.As(err, &ns) {
		t.Fatalf("import into a full database: %v, want a NoSpaceError", err)
	}
	t.Logf("import: %v", err)
	// Writes outside a store transaction do not know the path; the CLI adds it.
	err = d.AddAudit(ctx, AuditEvent{Command: "x", Detail: string(make([]byte, 1<<20))})
	if !errors.As(err, &ns) || WithPath(err, path).Error() != "no space left on the device holding "+path {
		t.Errorf("audit into a full database: %v", err)
	}
}

// TestOpenPostgresModes is the PostgreSQL side of the open modes: a schema without a directory
// is no directory to a mode that may not create one (nothing is created), and a read-only open
// cannot write even if a listing tried to.
func TestOpenPostgresModes(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	url := pgTestURL(t, dir)
	for _, mode := range []Mode{ModeExisting, ModeReadOnly} {
		if _, err := OpenPostgres(ctx, url, Options{Mode: mode, KeyFile: filepath.Join(dir, "k")}); !errors.Is(err, ErrNoDirectory) {
			t.Fatalf("mode %d on an empty schema: %v, want ErrNoDirectory", mode, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "k")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused open created the key file: %v", err)
	}
	d := openTest(t, dir, Options{})
	if _, err := d.AddUser(ctx, User{UPN: "a@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenPostgres(ctx, url, Options{Mode: ModeReadOnly, NoKey: true})
	if err != nil {
		t.Fatalf("read-only open without a key: %v", err)
	}
	defer ro.Close()
	if u, err := ro.GetUser(ctx, "A@contoso.com"); err != nil || u.UPN != "a@contoso.com" {
		t.Fatalf("read-only GetUser: %+v, %v", u, err)
	}
	if _, err := ro.AddUser(ctx, User{UPN: "b@contoso.com"}); err == nil {
		t.Fatal("a read-only open added a user")
	}
}

// TestReadOnlyBeforeDriftAuditSchema: an mfactl that brought the drift history and the audit
// chain still reports on a directory not yet upgraded (its first write upgrades it): no drift,
// the chain not yet there, every other read as before, and nothing written.
func TestReadOnlyBeforeDriftAuditSchema(t *testing.T) {
	sqliteOnly(t, "the SQLite file: a directory of schema version 2 made by hand")
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mfactl.db")
	d := openTest(t, dir, Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 3, 3), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE drift_history`, `ALTER TABLE audit_events DROP COLUMN mac`,
		`DELETE FROM schema_migrations WHERE version >= 3`} {
		if _, err := d.sql.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	d.Close()
	before := snap(t, path)
	r, err := Open(ctx, path, Options{Mode: ModeReadOnly, KeyFile: filepath.Join(dir, "mfactl.key")})
	if err != nil {
		t.Fatalf("read-only open of a schema 2 directory: %v", err)
	}
	defer r.Close()
	for p, err := range r.DriftHistory(ctx) {
		t.Fatalf("drift history of a schema 2 directory: %+v, %v; want none", p, err)
	}
	if _, err := r.VerifyAuditChain(ctx, nil); err == nil || !strings.Contains(err.Error(), "not chained yet") {
		t.Fatalf("audit chain of a schema 2 directory: %v, want 'not chained yet'", err)
	}
	if ts, err := r.ListTokens(ctx, TokenFilter{}); err != nil || len(ts) != 3 {
		t.Fatalf("tokens of a schema 2 directory: %d, %v", len(ts), err)
	}
	if v, _ := r.SchemaVersion(ctx); v != 2 {
		t.Errorf("schema version %d after a read-only open, want 2 (not migrated)", v)
	}
	r.Close()
	before.same(t, path)
}
