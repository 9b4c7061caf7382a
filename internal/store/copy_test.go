package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fillCopySource gives a directory something in every table and every kind of value: owned
// and unowned tokens, a disabled one, a NULL and a set time, an authenticator app, an app
// password, a blocked user, auth and audit events.
func fillCopySource(t *testing.T, d *DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := d.ImportTokens(ctx, genSource(0, 25, 5), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ImportTokens(ctx, genSource(100, 110, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := d.DisableToken(ctx, "SN00000100", "lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddUser(ctx, User{UPN: "Lee.Gu@contoso.com", DisplayName: "Lee Gu"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddAuthApp(ctx, "lee.gu@contoso.com", NewAuthApp{Name: "phone", Issuer: "Contoso", Secret: []byte("12345678901234567890")}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddAppPassword(ctx, "lee.gu@contoso.com", "mail", "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.BlockUser(ctx, "user0000001@contoso.com", "left"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := d.AddAuthEvent(ctx, AuthEvent{Time: time.Unix(int64(1700000000+i), 0), UPN: "lee.gu@contoso.com",
			Mode: "oath-hardware", Result: "denied", ResultCode: "X"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.AddAudit(ctx, AuditEvent{Actor: "admin", Command: "tokens import", Target: "tokens.csv", Result: "success"}); err != nil {
		t.Fatal(err)
	}
	for i, drift := range []int{0, 2} {
		if _, err := d.sql.ExecContext(ctx, `INSERT INTO drift_history (token_id, time, step, drift)
			SELECT id, ?, ?, ? FROM tokens WHERE serial = 'SN00000001'`, 1700000000+i*86400, 56666666+i*2880, drift); err != nil {
			t.Fatal(err)
		}
	}
}

// openSQLiteCopy opens dir/name as a copy endpoint: without its key, which Copy takes from
// its options.
func openSQLiteCopy(t *testing.T, path string, mode Mode) *DB {
	t.Helper()
	d, err := Open(context.Background(), path, Options{Mode: mode, NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// newCopySource makes a filled SQLite directory with its own key file and returns its path
// and key file.
func newCopySource(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultDBName)
	d, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fillCopySource(t, d)
	d.Close()
	return path, filepath.Join(dir, DefaultKeyName)
}

func copyCounts(r *CopyResult) string {
	var parts []string
	for _, c := range r.Tables {
		parts = append(parts, fmt.Sprintf("%s=%d/%d", c.Table, c.Source, c.Target))
	}
	return strings.Join(parts, " ")
}

const wantCopyCounts = "meta=0/0 users=6/6 tokens=35/35 drift_history=2/2 auth_methods=1/1 app_passwords=1/1 auth_events=3/3 audit_events=1/1"

// checkCopiedSecrets opens the target with keyFile and reads every secret back.
func checkCopiedSecrets(t *testing.T, path, keyFile string) {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, path, Options{Mode: ModeExisting, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, i := range []int{0, 7, 24, 100, 109} {
		want := genRow(i, 0)
		got, err := d.TokenSecret(ctx, want.Serial)
		if err != nil {
			t.Fatalf("token %s: %v", want.Serial, err)
		}
		if !bytes.Equal(got, want.Secret) {
			t.Fatalf("token %s: secret differs after the copy", want.Serial)
		}
		// The fingerprint must be the target key's: a secret-reuse lookup finds the token.
		used, err := d.SecretInUse(ctx, want.Secret, "")
		if err != nil || len(used) != 1 || used[0] != want.Serial {
			t.Fatalf("SecretInUse(%s) = %v, %v; want the token (fingerprint under the target key)", want.Serial, used, err)
		}
	}
	subj, err := d.AuthSubject(ctx, "lee.gu@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(subj.Methods) != 1 || string(subj.Methods[0].Secret) != "12345678901234567890" {
		t.Fatalf("authenticator app after the copy: %+v", subj.Methods)
	}
	// New rows continue after the copied ids.
	if _, err := d.AddUser(ctx, User{UPN: "new@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddAudit(ctx, AuditEvent{Command: "x"}); err != nil {
		t.Fatal(err)
	}
	// The audit chain holds under the target's key: copied as it was, or chained again.
	var n int64
	if err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	chain, err := d.VerifyAuditChain(ctx, nil)
	if err != nil || chain.Break != nil || chain.Rows != n || n < 2 {
		t.Fatalf("audit chain of the target: %+v, %v; want %d rows intact", chain, err, n)
	}
}

func TestCopySameKey(t *testing.T) {
	sqliteOnly(t, "SQLite files on both sides; the round trip through PostgreSQL is TestCopyPostgresRoundTrip")
	ctx := context.Background()
	srcPath, key := newCopySource(t)
	dstPath := filepath.Join(t.TempDir(), "copy.db")
	src := openSQLiteCopy(t, srcPath, ModeReadOnly)
	dst := openSQLiteCopy(t, dstPath, ModeCreate)
	res, err := Copy(ctx, src, dst, CopyOptions{Audit: &AuditEvent{Actor: "admin", Command: "directory copy", Target: srcPath, Result: "success"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := copyCounts(res); got != wantCopyCounts {
		t.Fatalf("counts %s, want %s", got, wantCopyCounts)
	}
	if res.SourceDigest != res.TargetDigest || len(res.SourceDigest) != 64 {
		t.Fatalf("digests %s and %s", res.SourceDigest, res.TargetDigest)
	}
	if res.Secrets != SecretsAsStored || res.KeyCheck != "copied" {
		t.Fatalf("secrets %q, key check %q", res.Secrets, res.KeyCheck)
	}
	// Same key: the sealed bytes are the source's.
	var srcEnc, dstEnc []byte
	src.sql.QueryRow(`SELECT secret_enc FROM tokens WHERE id = 3`).Scan(&srcEnc)
	dst.sql.QueryRow(`SELECT secret_enc FROM tokens WHERE id = 3`).Scan(&dstEnc)
	if len(srcEnc) == 0 || !bytes.Equal(srcEnc, dstEnc) {
		t.Fatal("same key: the sealed secret should be copied byte for byte")
	}
	audit, err := dst.ListAudit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	last := audit[len(audit)-1]
	if len(audit) != 2 || last.Command != "directory copy" || last.Target != srcPath || last.Detail != res.Summary() ||
		!strings.Contains(last.Detail, "tokens=35") {
		t.Fatalf("audit of the copy: %+v", audit)
	}
	if v, err := VerifyCopy(ctx, src, dst, CopyOptions{}); err != nil || v.TargetDigest != res.SourceDigest {
		t.Fatalf("VerifyCopy after the copy: %v (%+v)", err, v)
	}
	checkCopiedSecrets(t, dstPath, key)
}

func TestCopyResealsUnderAnotherKey(t *testing.T) {
	sqliteOnly(t, "SQLite files on both sides")
	ctx := context.Background()
	srcPath, srcKey := newCopySource(t)
	// The target already has a directory (and key) of its own, still empty.
	dstDir := t.TempDir()
	dstPath := filepath.Join(dstDir, DefaultDBName)
	dstKey := filepath.Join(dstDir, DefaultKeyName)
	d0, err := Open(ctx, dstPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d0.Close()
	src := openSQLiteCopy(t, srcPath, ModeReadOnly)
	dst := openSQLiteCopy(t, dstPath, ModeExisting)

	// Without both keys nothing is written.
	for _, o := range []CopyOptions{{}, {SourceKeyFile: srcKey}, {TargetKeyFile: dstKey}} {
		_, err := Copy(ctx, src, dst, o)
		var ke *CopyKeyError
		if !errors.As(err, &ke) || !errors.Is(err, ErrKeyMismatch) {
			t.Fatalf("copy to a directory with another key, options %+v: %v, want CopyKeyError", o, err)
		}
		want := "target directory " + dstPath + " uses another master key than " + srcPath + "; re-sealing the secrets needs the key files of both"
		if err.Error() != want {
			t.Fatalf("error %q\nwant  %q", err, want)
		}
		if n := count(t, dst, "tokens") + count(t, dst, "users") + count(t, dst, "audit_events"); n != 0 {
			t.Fatalf("refused copy wrote %d rows", n)
		}
	}
	// A key file that is not the source's is refused as such.
	if _, err := Copy(ctx, src, dst, CopyOptions{SourceKeyFile: dstKey, TargetKeyFile: dstKey}); !errors.Is(err, ErrKeyMismatch) ||
		err.Error() != "key file "+dstKey+" does not match database "+srcPath {
		t.Fatalf("wrong source key: %v", err)
	}

	res, err := Copy(ctx, src, dst, CopyOptions{SourceKeyFile: srcKey, TargetKeyFile: dstKey})
	if err != nil {
		t.Fatal(err)
	}
	if res.Secrets != SecretsResealed || res.KeyCheck != "kept" || res.SourceDigest != res.TargetDigest {
		t.Fatalf("result %+v", res)
	}
	if got := copyCounts(res); got != wantCopyCounts {
		t.Fatalf("counts %s, want %s", got, wantCopyCounts)
	}
	if _, err := VerifyCopy(ctx, src, dst, CopyOptions{SourceKeyFile: srcKey, TargetKeyFile: dstKey}); err != nil {
		t.Fatalf("VerifyCopy: %v", err)
	}
	checkCopiedSecrets(t, dstPath, dstKey)
	// The source key does not open the copy.
	if _, err := Open(ctx, dstPath, Options{Mode: ModeExisting, KeyFile: srcKey}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("copy opened with the source key: %v", err)
	}
}

func TestCopyNewTargetTakesTheGivenKey(t *testing.T) {
	sqliteOnly(t, "SQLite files on both sides")
	ctx := context.Background()
	srcPath, srcKey := newCopySource(t)
	otherDir := t.TempDir()
	other, err := Open(ctx, filepath.Join(otherDir, "other.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	newKey := filepath.Join(otherDir, DefaultKeyName)
	src := openSQLiteCopy(t, srcPath, ModeReadOnly)
	dstPath := filepath.Join(t.TempDir(), "new.db")
	dst := openSQLiteCopy(t, dstPath, ModeCreate)
	// Only the target's key: the secrets cannot be re-sealed.
	if _, err := Copy(ctx, src, dst, CopyOptions{TargetKeyFile: newKey}); !errors.Is(err, ErrKeyMismatch) ||
		err.Error() != "the key file "+newKey+" is not the master key of "+srcPath+"; re-sealing the secrets under it needs the source's key file too" {
		t.Fatalf("only the target key: %v", err)
	}
	res, err := Copy(ctx, src, dst, CopyOptions{SourceKeyFile: srcKey, TargetKeyFile: newKey})
	if err != nil {
		t.Fatal(err)
	}
	if res.Secrets != SecretsResealed || res.KeyCheck != "set" {
		t.Fatalf("result %+v", res)
	}
	checkCopiedSecrets(t, dstPath, newKey)
}

func TestCopyRefusesNonEmptyTargetUnlessForced(t *testing.T) {
	sqliteOnly(t, "SQLite files on both sides")
	ctx := context.Background()
	srcPath, key := newCopySource(t)
	dstPath := filepath.Join(t.TempDir(), DefaultDBName)
	d, err := Open(ctx, dstPath, Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddUser(ctx, User{UPN: "stale@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ImportTokens(ctx, genSource(500, 502, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	src := openSQLiteCopy(t, srcPath, ModeReadOnly)
	dst := openSQLiteCopy(t, dstPath, ModeExisting)
	before := snapshot(t, dst)
	_, err = Copy(ctx, src, dst, CopyOptions{})
	if !errors.Is(err, ErrNotEmpty) || err.Error() != "target directory "+dstPath+" is not empty (1 users, 2 tokens)" {
		t.Fatalf("copy into a non-empty directory: %v", err)
	}
	if snapshot(t, dst) != before {
		t.Fatal("the refused copy changed the target")
	}
	res, err := Copy(ctx, src, dst, CopyOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := copyCounts(res); got != wantCopyCounts {
		t.Fatalf("counts %s, want %s", got, wantCopyCounts)
	}
	if snapshot(t, dst) != snapshot(t, src) {
		t.Fatal("--force: the target is not the source's copy")
	}
	if _, err := dst.GetUser(ctx, "stale@contoso.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("--force kept the old content: %v", err)
	}
}

func TestCopyDetectsDifferences(t *testing.T) {
	sqliteOnly(t, "SQLite files on both sides")
	ctx := context.Background()
	srcPath, _ := newCopySource(t)
	src := openSQLiteCopy(t, srcPath, ModeReadOnly)

	// A row changed inside the copy's transaction, before its check: refused, rolled back.
	dstPath := filepath.Join(t.TempDir(), "copy.db")
	dst := openSQLiteCopy(t, dstPath, ModeCreate)
	copyHook = func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE auth_events SET reason = 'tampered' WHERE id = 2`)
		return err
	}
	_, err := Copy(ctx, src, dst, CopyOptions{})
	copyHook = nil
	var me *MismatchError
	if !errors.As(err, &me) || !errors.Is(err, ErrDigestMismatch) || !strings.HasPrefix(err.Error(), "the copy does not match its source: digest ") {
		t.Fatalf("tampered copy: %v", err)
	}
	if n := count(t, dst, "auth_events") + count(t, dst, "tokens") + count(t, dst, "meta"); n != 0 {
		t.Fatalf("a copy that failed its check left %d rows", n)
	}

	// A row removed: the counts say which table.
	copyHook = func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM app_passwords`)
		return err
	}
	_, err = Copy(ctx, src, dst, CopyOptions{})
	copyHook = nil
	if err == nil || err.Error() != "the copy does not match its source: app_passwords: 1 rows in the source, 0 in the target" {
		t.Fatalf("copy missing a row: %v", err)
	}

	// After a good copy, a row corrupted in the target is found by VerifyCopy; so is a secret.
	if _, err := Copy(ctx, src, dst, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := dst.sql.QueryRow(`SELECT display_name FROM users WHERE id = 2`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.sql.Exec(`UPDATE users SET display_name = 'Mallory' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCopy(ctx, src, dst, CopyOptions{}); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("VerifyCopy after corrupting a user: %v", err)
	}
	if _, err := dst.sql.Exec(`UPDATE users SET display_name = ? WHERE id = 2`, name); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCopy(ctx, src, dst, CopyOptions{}); err != nil {
		t.Fatalf("VerifyCopy after restoring the user: %v", err)
	}
	if _, err := dst.sql.Exec(`UPDATE tokens SET secret_fp = X'00' WHERE id = 5`); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCopy(ctx, src, dst, CopyOptions{}); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("VerifyCopy after corrupting a fingerprint: %v", err)
	}
}

// TestCopyTablesCoverTheSchema keeps the copy complete: every column of every table of the
// schema is copied (a migration that adds one must add it to copyTables).
func TestCopyTablesCoverTheSchema(t *testing.T) {
	sqliteOnly(t, "reads the SQLite schema")
	d := openTest(t, "", Options{NoKey: true})
	rows, err := d.sql.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	byName := map[string]*copyTable{}
	for _, ct := range copyTables {
		byName[ct.name] = ct
	}
	if len(tables) != len(copyTables) {
		t.Fatalf("schema tables %v, copied %d", tables, len(copyTables))
	}
	for _, name := range tables {
		ct := byName[name]
		if ct == nil {
			t.Fatalf("table %s is not copied", name)
		}
		cr, err := d.sql.Query(`SELECT name FROM pragma_table_info(?) ORDER BY cid`, name)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for cr.Next() {
			var c string
			cr.Scan(&c)
			cols = append(cols, c)
		}
		cr.Close()
		if strings.Join(cols, ",") != strings.Join(ct.cols, ",") {
			t.Errorf("table %s: schema columns %v, copied %v", name, cols, ct.cols)
		}
	}
}

// TestCopyPostgresRoundTrip copies a SQLite directory into PostgreSQL, re-sealed under another
// key, and back into a new SQLite file: the digest holds across both engines, the ids and
// secrets survive, and PostgreSQL's sequences continue after the copied ids.
func TestCopyPostgresRoundTrip(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	srcPath, srcKey := newCopySource(t)
	src := openSQLiteCopy(t, srcPath, ModeReadOnly)
	pgDir := t.TempDir()
	pgKey := filepath.Join(pgDir, DefaultKeyName)
	// A key of its own for the PostgreSQL directory.
	other, err := Open(ctx, filepath.Join(pgDir, "other.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	pg, err := OpenPostgres(ctx, pgTestURL(t, pgDir), Options{Mode: ModeCreate, NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	res1, err := Copy(ctx, src, pg, CopyOptions{SourceKeyFile: srcKey, TargetKeyFile: pgKey,
		Audit: &AuditEvent{Command: "directory copy", Target: srcPath, Result: "success"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := copyCounts(res1); got != wantCopyCounts {
		t.Fatalf("counts %s, want %s", got, wantCopyCounts)
	}
	if res1.Secrets != SecretsResealed || res1.KeyCheck != "set" {
		t.Fatalf("result %+v", res1)
	}
	if _, err := VerifyCopy(ctx, src, pg, CopyOptions{SourceKeyFile: srcKey, TargetKeyFile: pgKey}); err != nil {
		t.Fatal(err)
	}
	// The PostgreSQL directory works with its key, and its ids continue after the copied ones.
	pgw, err := OpenPostgres(ctx, pgTestURL(t, pgDir), Options{Mode: ModeExisting, KeyFile: pgKey})
	if err != nil {
		t.Fatal(err)
	}
	defer pgw.Close()
	u, err := pgw.AddUser(ctx, User{UPN: "after@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != 7 {
		t.Fatalf("first user after the copy has id %d, want 7", u.ID)
	}
	got, err := pgw.TokenSecret(ctx, "SN00000003")
	if err != nil || !bytes.Equal(got, genRow(3, 0).Secret) {
		t.Fatalf("secret on PostgreSQL: %v", err)
	}
	if err := pgw.DeleteUser(ctx, "after@contoso.com"); err != nil {
		t.Fatal(err)
	}

	// And back, with the PostgreSQL key only: the new file takes that key.
	backPath := filepath.Join(t.TempDir(), "back.db")
	back := openSQLiteCopy(t, backPath, ModeCreate)
	res2, err := Copy(ctx, pg, back, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Secrets != SecretsAsStored || res2.KeyCheck != "copied" {
		t.Fatalf("result %+v", res2)
	}
	// Same data as the PostgreSQL side (which holds one audit event more: the copy's).
	if res2.Tables[7].Source != 2 {
		t.Fatalf("audit events copied back: %+v", res2.Tables)
	}
	if _, err := VerifyCopy(ctx, src, back, CopyOptions{SourceKeyFile: srcKey, TargetKeyFile: pgKey}); err != nil {
		t.Fatalf("source and round trip differ: %v", err)
	}
	checkCopiedSecrets(t, backPath, pgKey)
}

// TestCopyRefusesSameDirectoryUnderAnotherURL: two URLs that reach one PostgreSQL directory
// (another host name for the same server) are one directory; copying it onto itself, which
// --force would turn into deleting what is read, is refused before anything is written.
func TestCopyRefusesSameDirectoryUnderAnotherURL(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := openTest(t, dir, Options{})
	if _, err := src.AddUser(ctx, User{UPN: "a@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(pgTestURL(t, dir), "127.0.0.1", "localhost", 1)
	if other == pgTestURL(t, dir) {
		t.Skip("the test server's URL has no 127.0.0.1 to spell otherwise")
	}
	dst, err := OpenPostgres(ctx, other, Options{NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := Copy(ctx, src, dst, CopyOptions{Force: true}); err == nil || !strings.Contains(err.Error(), "are the same directory") {
		t.Fatalf("copy onto itself: %v, want 'are the same directory'", err)
	}
	if u, err := src.GetUser(ctx, "a@contoso.com"); err != nil || u.UPN != "a@contoso.com" {
		t.Fatalf("the directory after the refused copy: %+v, %v", u, err)
	}
}
