package store

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestImportBasic(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	rows := genRows(0, 600, 250)        // several batches; 250 users with 2-3 tokens each
	rows = append(rows, genRow(600, 0)) // stock token without owner
	var progress []int
	res, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{Progress: func(n int) { progress = append(progress, n) }})
	if err != nil {
		t.Fatal(err)
	}
	want := ImportResult{Rows: 601, Imported: 601, UsersCreated: 250, Committed: true}
	if !equalResult(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 601 {
		t.Errorf("progress calls %v, want ending at 601", progress)
	}
	if n := count(t, d, "tokens"); n != 601 {
		t.Errorf("%d tokens stored", n)
	}
	if n := count(t, d, "users"); n != 250 {
		t.Errorf("%d users stored", n)
	}
	tok, err := d.GetToken(ctx, "sn00000007") // case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	if tok.Serial != "SN00000007" || tok.UPN != "user0000007@contoso.com" || tok.Status != StatusAssigned ||
		tok.Period != 30 || tok.Digits != 6 || tok.Hash != "SHA1" || tok.Manufacturer != "Contoso" || tok.SourceFile != "tokens.csv" {
		t.Errorf("token %+v", tok)
	}
	stock, _ := d.GetToken(ctx, "SN00000600")
	if stock.Status != StatusAvailable || stock.UPN != "" {
		t.Errorf("stock token %+v, want available without owner", stock)
	}
	secret, err := d.TokenSecret(ctx, "SN00000007")
	if err != nil || !bytes.Equal(secret, genRow(7, 0).Secret) {
		t.Fatalf("secret round trip failed: %v", err)
	}
	mine, _ := d.ListTokens(ctx, TokenFilter{UPN: "USER0000007@contoso.com"})
	if len(mine) != 3 || mine[0].Serial != "SN00000007" || mine[1].Serial != "SN00000257" || mine[2].Serial != "SN00000507" {
		t.Errorf("tokens of user 7: %+v", mine)
	}
	if err := d.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func equalResult(a, b ImportResult) bool {
	return a.Rows == b.Rows && a.Imported == b.Imported && a.Unchanged == b.Unchanged && a.Updated == b.Updated &&
		a.Skipped == b.Skipped && a.Rejected == b.Rejected && a.UsersCreated == b.UsersCreated && a.Committed == b.Committed
}

func TestImportIdempotent(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	d := openTest(t, "", Options{Now: clock.now})
	if _, err := d.ImportTokens(ctx, genSource(0, 700, 300), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, d)
	clock.t = clock.t.Add(time.Hour)
	for _, policy := range []DuplicatePolicy{DuplicateFail, DuplicateSkip, DuplicateUpdate} {
		res, err := d.ImportTokens(ctx, genSource(0, 700, 300), ImportOptions{OnDuplicate: policy})
		if err != nil {
			t.Fatalf("%s: %v", policy, err)
		}
		if want := (ImportResult{Rows: 700, Unchanged: 700, Committed: true}); !equalResult(res, want) {
			t.Fatalf("%s: re-import %+v, want %+v", policy, res, want)
		}
		if snapshot(t, d) != before {
			t.Fatalf("%s: re-import of identical rows changed the database", policy)
		}
	}
	// A row without owner matches an assigned token: a vendor's stock file stays a no-op.
	noOwner := genRow(5, 0)
	res, err := d.ImportTokens(ctx, rowsOf([]ImportRow{noOwner}), ImportOptions{})
	if err != nil || res.Unchanged != 1 {
		t.Fatalf("row without owner: %+v %v", res, err)
	}
	if tok, _ := d.GetToken(ctx, noOwner.Serial); tok.UPN == "" {
		t.Error("row without owner unassigned the token")
	}
}

// mutate changes one field of row i so that it differs from the directory.
func changed(i int, f func(*ImportRow)) ImportRow {
	r := genRow(i, 10)
	f(&r)
	return r
}

func TestImportDuplicatePolicies(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *DB {
		d := openTest(t, "", Options{})
		if _, err := d.ImportTokens(ctx, genSource(0, 20, 10), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	file := func() []ImportRow {
		return []ImportRow{
			changed(1, func(r *ImportRow) { r.Model = "NewModel" }),
			genRow(2, 10), // identical
			changed(3, func(r *ImportRow) { r.Secret = bytes.Repeat([]byte{7}, 20) }),
			genRow(100, 10), // new
		}
	}

	t.Run("fail", func(t *testing.T) {
		d := setup(t)
		before := snapshot(t, d)
		var seen []RowProblem
		res, err := d.ImportTokens(ctx, rowsOf(file()), ImportOptions{OnProblem: func(p RowProblem) { seen = append(seen, p) }})
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("err %v, want ErrRejected", err)
		}
		if err.Error() != "import rejected: 2 rows cannot be imported; nothing was written" {
			t.Errorf("message %q", err)
		}
		wantProblems := []RowProblem{
			{Line: 3, Serial: "SN00000001", Column: "serial number", Code: CodeSerialExists, Message: "token SN00000001 is already in the directory with different data"},
			{Line: 5, Serial: "SN00000003", Column: "serial number", Code: CodeSerialExists, Message: "token SN00000003 is already in the directory with different data"},
		}
		if !equalProblems(res.Problems, wantProblems) || !equalProblems(seen, wantProblems) {
			t.Errorf("problems %+v\nOnProblem %+v\nwant %+v", res.Problems, seen, wantProblems)
		}
		if res.Rejected != 2 || res.Committed || res.Unchanged != 1 || res.Imported != 1 {
			t.Errorf("result %+v", res)
		}
		if snapshot(t, d) != before {
			t.Error("rejected import changed the database")
		}
	})
	t.Run("skip", func(t *testing.T) {
		d := setup(t)
		res, err := d.ImportTokens(ctx, rowsOf(file()), ImportOptions{OnDuplicate: DuplicateSkip})
		if err != nil {
			t.Fatal(err)
		}
		if want := (ImportResult{Rows: 4, Imported: 1, Unchanged: 1, Skipped: 2, Committed: true}); !equalResult(res, want) {
			t.Errorf("result %+v, want %+v", res, want)
		}
		if tok, _ := d.GetToken(ctx, "SN00000001"); tok.Model != "HardwareKey" {
			t.Error("skip changed the token")
		}
		if _, err := d.GetToken(ctx, "SN00000100"); err != nil {
			t.Error("new row not imported")
		}
	})
	t.Run("update", func(t *testing.T) {
		d := setup(t)
		// Token 1 and 3 were activated: a new model keeps the activation, a new secret voids it.
		if _, err := d.sql.Exec(`UPDATE tokens SET status = 'activated', activated_at = 1, drift = 2 WHERE serial_key IN ('sn00000001', 'sn00000003')`); err != nil {
			t.Fatal(err)
		}
		res, err := d.ImportTokens(ctx, rowsOf(file()), ImportOptions{OnDuplicate: DuplicateUpdate})
		if err != nil {
			t.Fatal(err)
		}
		if want := (ImportResult{Rows: 4, Imported: 1, Unchanged: 1, Updated: 2, Committed: true}); !equalResult(res, want) {
			t.Errorf("result %+v, want %+v", res, want)
		}
		t1, _ := d.GetToken(ctx, "SN00000001")
		if t1.Model != "NewModel" || t1.Status != StatusActivated || t1.Drift != 2 {
			t.Errorf("model update: %+v", t1)
		}
		t3, _ := d.GetToken(ctx, "SN00000003")
		if t3.Status != StatusAssigned || !t3.ActivatedAt.IsZero() || t3.Drift != 0 {
			t.Errorf("secret update kept the activation: %+v", t3)
		}
		secret, err := d.TokenSecret(ctx, "SN00000003")
		if err != nil || !bytes.Equal(secret, bytes.Repeat([]byte{7}, 20)) {
			t.Errorf("updated secret not stored: %v", err)
		}
		// Updating again with the same file is now all identical.
		res, err = d.ImportTokens(ctx, rowsOf(file()), ImportOptions{OnDuplicate: DuplicateUpdate})
		if err != nil || res.Unchanged != 4 {
			t.Errorf("second update: %+v %v", res, err)
		}
	})
	t.Run("update moves owner", func(t *testing.T) {
		d := setup(t)
		r := changed(4, func(r *ImportRow) { r.UPN = "Other@Contoso.com" })
		res, err := d.ImportTokens(ctx, rowsOf([]ImportRow{r}), ImportOptions{OnDuplicate: DuplicateUpdate})
		if err != nil || res.Updated != 1 || res.UsersCreated != 1 {
			t.Fatalf("%+v %v", res, err)
		}
		if tok, _ := d.GetToken(ctx, r.Serial); tok.UPN != "Other@Contoso.com" || tok.Status != StatusAssigned {
			t.Errorf("token %+v", tok)
		}
	})
}

func equalProblems(a, b []RowProblem) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestImportSkipInvalidAndDryRun(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 5, 5), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	file := append(genRows(5, 10, 5), changed(1, func(r *ImportRow) { r.Period = 60 }))
	before := snapshot(t, d)

	res, err := d.ImportTokens(ctx, rowsOf(file), ImportOptions{DryRun: true, SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ImportResult{Rows: 6, Imported: 5, Rejected: 1}); !equalResult(res, want) {
		t.Errorf("dry run %+v, want %+v", res, want)
	}
	if snapshot(t, d) != before {
		t.Fatal("dry run changed the database")
	}

	res, err = d.ImportTokens(ctx, rowsOf(file), ImportOptions{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ImportResult{Rows: 6, Imported: 5, Rejected: 1, Committed: true}); !equalResult(res, want) {
		t.Errorf("skip-invalid %+v, want %+v", res, want)
	}
	if len(res.Problems) != 1 || res.Problems[0].Code != CodeSerialExists || res.Problems[0].Line != 3 {
		t.Errorf("problems %+v", res.Problems)
	}
	if n := count(t, d, "tokens"); n != 10 {
		t.Errorf("%d tokens, want 10", n)
	}
}

func TestImportFailureChangesNothing(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 10, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, d)
	// 1000 new rows with new users, and one conflicting row at the very end.
	file := append(genRows(10, 1010, 400), changed(3, func(r *ImportRow) { r.Manufacturer = "X" }))
	res, err := d.ImportTokens(ctx, rowsOf(file), ImportOptions{})
	if !errors.Is(err, ErrRejected) || res.Committed {
		t.Fatalf("err %v committed %v", err, res.Committed)
	}
	if snapshot(t, d) != before || count(t, d, "users") != 0 {
		t.Fatal("failed import left rows behind")
	}
}

func TestImportSourceErrorRollsBack(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	boom := errors.New("reading tokens.csv: unexpected EOF")
	src := func(yield func(ImportRow, error) bool) {
		for i := 0; i < 700; i++ {
			if !yield(genRow(i, 10), nil) {
				return
			}
		}
		yield(ImportRow{}, boom)
	}
	_, err := d.ImportTokens(ctx, src, ImportOptions{})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the source's error", err)
	}
	if n := count(t, d, "tokens") + count(t, d, "users"); n != 0 {
		t.Fatalf("%d rows left after a source error", n)
	}
}

func TestImportCancelRollsBack(t *testing.T) {
	d := openTest(t, "", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	audit := &AuditEvent{Actor: "ada", Command: "tokens import", Target: "tokens.csv"}
	src := func(yield func(ImportRow, error) bool) {
		for i := 0; i < 5000; i++ {
			if i == 3000 {
				cancel() // Ctrl-C after several batches were written
			}
			if !yield(genRow(i, 2000), nil) {
				return
			}
		}
	}
	_, err := d.ImportTokens(ctx, src, ImportOptions{Audit: audit})
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "import cancelled; nothing was written") {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n := count(t, d, "tokens") + count(t, d, "users"); n != 0 {
		t.Fatalf("%d rows left after cancellation", n)
	}
	events, _ := d.ListAudit(context.Background(), AuditFilter{})
	if len(events) != 1 || events[0].Result != "failure" || !strings.Contains(events[0].Detail, "cancelled") {
		t.Errorf("audit after cancel: %+v", events)
	}
}

func TestImportUsers(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if _, err := d.AddUser(ctx, User{UPN: "Known@Contoso.com"}); err != nil {
		t.Fatal(err)
	}
	rows := []ImportRow{genRow(0, 0), genRow(1, 0), genRow(2, 0)}
	rows[0].UPN = "known@contoso.com"
	rows[1].UPN = "stranger@contoso.com"
	rows[2].UPN = "STRANGER@contoso.com"

	res, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{RequireExistingUsers: true})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("err %v, want ErrRejected", err)
	}
	want := []RowProblem{
		{Line: 3, Serial: "SN00000001", Column: "upn", Code: CodeUserUnknown, Message: "user stranger@contoso.com is not in the directory"},
		{Line: 4, Serial: "SN00000002", Column: "upn", Code: CodeUserUnknown, Message: "user STRANGER@contoso.com is not in the directory"},
	}
	if !equalProblems(res.Problems, want) {
		t.Errorf("problems %+v", res.Problems)
	}

	res, err = d.ImportTokens(ctx, rowsOf(rows), ImportOptions{})
	if err != nil || res.UsersCreated != 1 || res.Imported != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	u, err := d.GetUser(ctx, "stranger@CONTOSO.com")
	if err != nil || u.UPN != "stranger@contoso.com" || u.Methods != 2 || u.TokensPending != 2 {
		t.Errorf("created user %+v %v", u, err)
	}
	if tok, _ := d.GetToken(ctx, "SN00000000"); tok.UPN != "Known@Contoso.com" {
		t.Errorf("token of the existing user shows %q", tok.UPN)
	}
}

func TestImportUserLimit(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	// Three methods already in the directory: two tokens and an authenticator app.
	first := []ImportRow{genRow(0, 0), genRow(1, 0)}
	for i := range first {
		first[i].UPN = "helga@contoso.com"
	}
	if _, err := d.ImportTokens(ctx, rowsOf(first), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.sql.Exec(`INSERT INTO auth_methods (id, user_id, secret_enc, secret_fp, created_at, updated_at)
		SELECT 'app1', id, ?, ?, 0, 0 FROM users`, []byte{0}, []byte{0}); err != nil {
		t.Fatal(err)
	}
	var file []ImportRow
	for i := 10; i < 14; i++ {
		r := genRow(i, 0)
		r.UPN = "Helga@contoso.com"
		file = append(file, r)
	}
	file = append(file, genRow(20, 3)) // someone else
	res, err := d.ImportTokens(ctx, rowsOf(file), ImportOptions{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []RowProblem{
		{Line: 14, Serial: "SN00000012", Column: "upn", Code: CodeUserLimit, Message: "user Helga@contoso.com would have more than 5 OATH methods"},
		{Line: 15, Serial: "SN00000013", Column: "upn", Code: CodeUserLimit, Message: "user Helga@contoso.com would have more than 5 OATH methods"},
	}
	if !equalProblems(res.Problems, want) || res.Imported != 3 {
		t.Errorf("result %+v", res)
	}
	if n, _ := d.CountMethods(ctx, "helga@contoso.com"); n != 5 {
		t.Errorf("helga has %d methods, want 5", n)
	}
	// An identical re-import does not count against the limit.
	res, err = d.ImportTokens(ctx, rowsOf(file[:2]), ImportOptions{})
	if err != nil || res.Unchanged != 2 {
		t.Errorf("re-import at the limit: %+v %v", res, err)
	}
}

func TestImportRepeatedSerialInFile(t *testing.T) {
	// The file rules reject this earlier (serial.duplicate); the store must still stay
	// consistent: the second occurrence compares against the first.
	d := openTest(t, "", Options{})
	a := genRow(1, 0)
	b := genRow(1, 0)
	b.Serial = "sn00000001"
	res, err := d.ImportTokens(context.Background(), rowsOf([]ImportRow{a, b}), ImportOptions{})
	if err != nil || res.Imported != 1 || res.Unchanged != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestImportAudit(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	audit := &AuditEvent{Actor: "ada", Host: "h1", Command: "tokens import", Target: "tokens.csv"}
	if _, err := d.ImportTokens(ctx, genSource(0, 3, 2), ImportOptions{Audit: audit, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ImportTokens(ctx, genSource(0, 3, 2), ImportOptions{Audit: audit}); err != nil {
		t.Fatal(err)
	}
	events, err := d.ListAudit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d audit events, want 1 (dry runs are not audited)", len(events))
	}
	e := events[0]
	if e.Actor != "ada" || e.Command != "tokens import" || e.Result != "success" ||
		e.Detail != "rows=3 imported=3 unchanged=0 updated=0 skipped=0 rejected=0 users_created=2" {
		t.Errorf("audit event %+v", e)
	}
}

// TestImportConcurrent runs two imports from two handles at once: both succeed (one waits
// for the other's lock) or one fails with ErrBusy; the database stays sound.
func TestImportConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openTest(t, dir, Options{})
	b := openTest(t, dir, Options{})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, d := range []*DB{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Overlapping serials and users: the loser of the race sees the winner's rows.
			_, errs[i] = d.ImportTokens(ctx, genSource(i*1000, 3000+i*1000, 1000), ImportOptions{OnDuplicate: DuplicateSkip})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrBusy):
		default:
			t.Fatalf("concurrent import: %v", err)
		}
	}
	if ok == 0 {
		t.Fatal("both imports failed")
	}
	wantTokens := 3000
	if ok == 2 {
		wantTokens = 4000
	}
	if n := count(t, a, "tokens"); n != wantTokens {
		t.Errorf("%d tokens, want %d", n, wantTokens)
	}
	if err := a.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestImportBusy holds the write lock in one handle and checks that another handle gives up
// with a clear ErrBusy, then that the first import still commits.
func TestImportBusy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openTest(t, dir, Options{})
	b := openTest(t, dir, Options{BusyTimeout: 50 * time.Millisecond})
	holding, release := make(chan struct{}), make(chan struct{})
	var src iter.Seq2[ImportRow, error] = func(yield func(ImportRow, error) bool) {
		for i := 0; i < 600; i++ {
			if i == 300 { // after the first batch: the lock is held
				close(holding)
				<-release
			}
			if !yield(genRow(i, 300), nil) {
				return
			}
		}
	}
	done := make(chan error)
	go func() {
		_, err := a.ImportTokens(ctx, src, ImportOptions{})
		done <- err
	}()
	<-holding
	_, err := b.ImportTokens(ctx, genSource(1000, 1010, 0), ImportOptions{})
	if !errors.Is(err, ErrBusy) {
		t.Errorf("second writer: %v, want ErrBusy", err)
	} else if err.Error() != "database is busy (another mfactl is writing); try again" {
		t.Errorf("busy message %q", err)
	}
	// An audit row is chained to the one before it, so it is written in a write transaction
	// under the writer lock on both backends.
	if err := b.AddAudit(ctx, AuditEvent{Command: "x"}); !errors.Is(err, ErrBusy) {
		t.Errorf("AddAudit while locked: %v, want ErrBusy", err)
	}
	// Readers are not blocked by the writer (WAL).
	if _, err := b.ListTokens(ctx, TokenFilter{}); err != nil {
		t.Errorf("reading while another process writes: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, "tokens"); n != 600 {
		t.Errorf("%d tokens, want 600", n)
	}
}

// TestNoSecretInFiles scans the database and its WAL for the secrets in raw, Base32 and hex.
func TestNoSecretInFiles(t *testing.T) {
	sqliteOnly(t, "scans the database and WAL files")
	ctx := context.Background()
	dir := t.TempDir()
	d := openTest(t, dir, Options{})
	rows := genRows(0, 200, 50)
	if _, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// Update some secrets too, so old and new values pass through the WAL.
	upd := genRows(0, 10, 50)
	for i := range upd {
		upd[i].Secret = bytes.Repeat([]byte{byte(0xA0 + i)}, 20)
	}
	if _, err := d.ImportTokens(ctx, rowsOf(upd), ImportOptions{OnDuplicate: DuplicateUpdate}); err != nil {
		t.Fatal(err)
	}
	all := append(rows, upd...)
	scan := func(stage string) {
		for _, name := range []string{"mfactl.db", "mfactl.db-wal"} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				if os.IsNotExist(err) && name != "mfactl.db" {
					continue
				}
				t.Fatal(err)
			}
			upper := bytes.ToUpper(data)
			for _, r := range all {
				needles := map[string][]byte{
					"raw":    r.Secret,
					"base32": []byte(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(r.Secret)),
					"hex":    []byte(strings.ToUpper(hex.EncodeToString(r.Secret))),
				}
				for kind, n := range needles {
					hay := data
					if kind != "raw" {
						hay = upper
					}
					if bytes.Contains(hay, n) {
						t.Fatalf("%s: %s holds the secret of %s (%s)", stage, name, r.Serial, kind)
					}
				}
			}
		}
	}
	scan("before checkpoint")
	d.Close()
	scan("after close")
}

func hasFPIndex(t *testing.T, d *DB) bool {
	t.Helper()
	var n int
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'tokens_secret_fp'`
	if d.dialect == dialectPostgres {
		q = `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'tokens_secret_fp'`
	}
	if err := d.sql.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestImportBulkIndex covers the bulk path that drops the fingerprint index during a large
// import and rebuilds it before the commit.
func TestImportBulkIndex(t *testing.T) {
	defer func(old int64) { bulkMinRows = old }(bulkMinRows)
	bulkMinRows = 100
	ctx := context.Background()
	dir := t.TempDir()
	d := openTest(t, dir, Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 50, 50), ImportOptions{}); err != nil {
		t.Fatal(err)
	}

	// A rejected bulk import (the last row conflicts) restores the index with everything else.
	bad := append(genRows(50, 1000, 1000), changed(3, func(r *ImportRow) { r.Model = "X" }))
	if _, err := d.ImportTokens(ctx, rowsOf(bad), ImportOptions{}); !errors.Is(err, ErrRejected) {
		t.Fatalf("err %v, want ErrRejected", err)
	}
	if !hasFPIndex(t, d) || count(t, d, "tokens") != 50 {
		t.Fatal("rolled-back bulk import lost the index or left rows")
	}

	res, err := d.ImportTokens(ctx, genSource(50, 1000, 1000), ImportOptions{})
	if err != nil || res.Imported != 950 {
		t.Fatalf("%+v %v", res, err)
	}
	if !hasFPIndex(t, d) {
		t.Fatal("index not rebuilt after a bulk import")
	}
	if dup, err := d.SecretInUse(ctx, genRow(700, 0).Secret, ""); err != nil || len(dup) != 1 || dup[0] != "SN00000700" {
		t.Errorf("SecretInUse after rebuild: %v %v", dup, err)
	}
	if err := d.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}

	// Earlier versions rebuilt the index after the commit, so a crash in between left it
	// missing: Open recreates it. (PostgreSQL imports never drop it.)
	if testBackend != dialectSQLite {
		return
	}
	if _, err := d.sql.Exec(`DROP INDEX tokens_secret_fp`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d2 := openTest(t, dir, Options{})
	if !hasFPIndex(t, d2) {
		t.Fatal("Open did not recreate the missing index")
	}
}

// TestFingerprintIndexDDL keeps the rebuild statement in step with the migrations.
func TestFingerprintIndexDDL(t *testing.T) {
	sqliteOnly(t, "the index dropped and rebuilt by SQLite bulk imports")
	d := openTest(t, "", Options{})
	var ddl string
	if err := d.sql.QueryRow(`SELECT sql FROM sqlite_master WHERE name = ?`, fpIndexName).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(fpIndexDDL, "IF NOT EXISTS ", "", 1); ddl != want {
		t.Errorf("schema has %q, rebuild uses %q", ddl, want)
	}
}

func TestImportSourcePanicRollsBack(t *testing.T) {
	d := openTest(t, "", Options{})
	src := func(yield func(ImportRow, error) bool) {
		for i := 0; i < 1000; i++ {
			if i == 900 {
				panic("parser bug")
			}
			if !yield(genRow(i, 1000), nil) {
				return
			}
		}
	}
	func() {
		defer func() {
			if v := recover(); v != "parser bug" {
				t.Errorf("recovered %v, want the source's panic", v)
			}
		}()
		d.ImportTokens(context.Background(), src, ImportOptions{})
		t.Error("ImportTokens returned although the source panicked")
	}()
	if n := count(t, d, "tokens") + count(t, d, "users"); n != 0 {
		t.Fatalf("%d rows committed from a panicking source", n)
	}
}

func TestImportDefaults(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	r := genRow(1, 0)
	r.Hash, r.Digits, r.Period = "", 0, 0
	if _, err := d.ImportTokens(ctx, rowsOf([]ImportRow{r}), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, _ := d.GetToken(ctx, r.Serial)
	if tok.Hash != "SHA1" || tok.Digits != 6 || tok.Period != 30 {
		t.Errorf("defaults not applied: %+v", tok)
	}
	r.Hash, r.Digits, r.Period = "sha1", 6, 30
	if res, err := d.ImportTokens(ctx, rowsOf([]ImportRow{r}), ImportOptions{}); err != nil || res.Unchanged != 1 {
		t.Errorf("explicit defaults are not identical to implicit ones: %+v %v", res, err)
	}
}

// TestImportBulkKnownKeys covers the bulk path that stops looking up keys the import knows are
// absent (keyFilter): after the filters start, rows naming serials and users that are in the
// directory, or earlier in the same file, must still find them.
func TestImportBulkKnownKeys(t *testing.T) {
	defer func(old int64) { bulkMinRows = old }(bulkMinRows)
	bulkMinRows = 100
	ctx := context.Background()
	d := openTest(t, "", Options{})
	// The directory: 50 tokens, each with its own user, and 50 more users without tokens.
	if _, err := d.ImportTokens(ctx, genSource(0, 50, 70), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.sql.Exec(`INSERT INTO users (upn, upn_key, created_at, updated_at)
		SELECT 'User' || substr(upn, 5), upn_key || '.x', 0, 0 FROM users`); err != nil {
		t.Fatal(err)
	}
	existingUsers := count(t, d, "users")

	// 2,000 new tokens with new users (the filters start after 100), then rows that must be
	// found: a token of the directory (unchanged), a serial repeated from the start of this
	// file (unchanged) and new tokens for users of the directory, one named in another case.
	rows := genRows(1000, 3000, 0)
	for i := range rows {
		rows[i].UPN = fmt.Sprintf("new%05d@contoso.com", i)
	}
	rows = append(rows, genRow(7, 70), rows[5])
	rows[len(rows)-1].Serial = strings.ToLower(rows[5].Serial)
	mine := genRow(5000, 0)
	mine.UPN = "USER0000003@contoso.com.x" // a user of the directory, in another case
	rows = append(rows, mine)
	res, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2001 || res.Unchanged != 2 || res.UsersCreated != 2000 {
		t.Fatalf("%+v", res)
	}
	if n := count(t, d, "users"); n != existingUsers+2000 {
		t.Errorf("%d users, want %d: an existing user was created again", n, existingUsers+2000)
	}
	var owner string
	if err := d.sql.QueryRow(`SELECT u.upn FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.serial_key = ?`,
		Key(mine.Serial)).Scan(&owner); err != nil || owner != "User0000003@contoso.com" {
		t.Errorf("owner %q %v, want the existing user", owner, err)
	}

	// The method limit still counts the directory's tokens of a user found after the start.
	full := genRows(6000, 6400, 0)
	for i := range full {
		full[i].UPN = fmt.Sprintf("other%05d@contoso.com", i)
	}
	for i := range 5 {
		r := genRow(7000+i, 0)
		r.UPN = genRow(3, 70).UPN // holds one token already: the fifth new one is too many
		full = append(full, r)
	}
	res, err = d.ImportTokens(ctx, rowsOf(full), ImportOptions{SkipInvalid: true})
	if err != nil || res.Imported != 404 || res.Rejected != 1 || res.Problems[0].Code != CodeUserLimit {
		t.Fatalf("%+v %v", res, err)
	}
	if err := d.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFilter(t *testing.T) {
	var f keyFilter
	if f.absent("a") {
		t.Fatal("a filter that is off says a key is absent")
	}
	const n = 300_000 // past the first part, so that two are consulted
	if err := f.start(func(add func(string)) error {
		for i := range n / 2 {
			add(fmt.Sprintf("in%d", i))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := n / 2; i < n; i++ {
		f.noted(fmt.Sprintf("in%d", i))
	}
	for i := range n {
		if f.absent(fmt.Sprintf("in%d", i)) {
			t.Fatalf("key %d added but reported absent", i)
		}
	}
	maybe := 0
	for i := range n {
		if !f.absent(fmt.Sprintf("out%d", i)) {
			maybe++
		}
	}
	// Each part answers "maybe" for under 1% of absent keys.
	if rate := float64(maybe) / n; rate > 0.03 {
		t.Errorf("false positive rate %.3f", rate)
	}
	t.Logf("false positive rate %.4f", float64(maybe)/n)
	if len(f.parts) != 2 {
		t.Errorf("%d parts for %d keys", len(f.parts), n)
	}
}

// TestImportMixedRows checks what each row of a multi-row statement stores when the rows
// differ in every column, with and without an owner.
func TestImportMixedRows(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	var rows []ImportRow
	for i := range 7 { // statements of 4, 2 and 1 rows (chunks)
		r := genRow(i, 0)
		if i%2 == 0 {
			r.UPN = fmt.Sprintf("u%d@contoso.com", i)
		}
		if i < 6 {
			r.Hash = []string{"SHA1", "SHA256", "SHA512"}[i%3]
			r.Digits = 6 + 2*(i%2)
			r.Period = 30 * (1 + i%2)
			r.Manufacturer = fmt.Sprintf("M%d", i)
			r.Model = fmt.Sprintf("X%d", i)
			r.SourceFile = fmt.Sprintf("f%d.csv", i)
		}
		rows = append(rows, r)
	}
	if res, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{}); err != nil || res.Imported != 7 {
		t.Fatalf("%+v %v", res, err)
	}
	for _, r := range rows {
		tok, err := d.GetToken(ctx, r.Serial)
		if err != nil {
			t.Fatal(err)
		}
		status := StatusAvailable
		if r.UPN != "" {
			status = StatusAssigned
		}
		got := fmt.Sprint(tok.UPN, tok.Hash, tok.Digits, tok.Period, tok.Manufacturer, tok.Model, tok.SourceFile, tok.Status)
		want := fmt.Sprint(r.UPN, r.Hash, r.Digits, r.Period, r.Manufacturer, r.Model, r.SourceFile, status)
		if got != want {
			t.Errorf("%s: stored %s, want %s", r.Serial, got, want)
		}
	}
	if res, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{}); err != nil || res.Unchanged != 7 {
		t.Errorf("re-import: %+v %v", res, err)
	}
}

// TestImportAuditRejected: a rejected import wrote nothing, so its audit event counts no token
// imported and no user created even though the store had prepared them; rows the source
// rejected itself (SourceCounts) are counted with the store's.
func TestImportAuditRejected(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 1, 1), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	changed := genRows(0, 3, 3)
	changed[0].Model = "other model" // serial.exists under DuplicateFail
	audit := &AuditEvent{Actor: "ada", Host: "h1", Command: "tokens import", Target: "tokens.csv"}
	_, err := d.ImportTokens(ctx, rowsOf(changed), ImportOptions{
		Audit:        audit,
		SourceCounts: func() (int, int) { return 5, 2 },
	})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("import: %v, want ErrRejected", err)
	}
	if _, err := d.ImportTokens(ctx, genSource(1, 3, 3), ImportOptions{
		Audit:        audit,
		SkipInvalid:  true,
		SourceCounts: func() (int, int) { return 4, 1 },
	}); err != nil {
		t.Fatal(err)
	}
	events, err := d.ListAudit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Result+"|"+e.Detail)
	}
	want := []string{
		"failure|rows=5 imported=0 unchanged=0 updated=0 skipped=0 rejected=3 users_created=0; import rejected: 1 rows cannot be imported; nothing was written",
		"success|rows=4 imported=2 unchanged=0 updated=0 skipped=0 rejected=1 users_created=2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit details:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A new token whose secret another token of the directory already holds is imported with a
// secret.reused warning naming that token (never the secret), before and after a bulk import
// drops the fingerprint index; identical rows and a token's own secret raise nothing, and
// WarningsAreErrors rejects the row instead.
func TestImportWarnsOfSecretsHeldInTheDirectory(t *testing.T) {
	defer func(old int64) { bulkMinRows = old }(bulkMinRows)
	bulkMinRows = 100
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, 50, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	reuse := func(i, of int) ImportRow {
		r := genRow(i, 0)
		r.Secret = genRow(of, 0).Secret
		return r
	}
	// 300 new rows: the index is dropped after the first batch of 256; rows 1000 and 1280 reuse secrets of
	// tokens 8 and 7, one before and one after the drop; row 3 is the directory's own token.
	rows := genRows(1000, 1300, 0)
	rows[0] = reuse(1000, 8)
	rows[280] = reuse(1280, 7)
	rows = append(rows, genRow(3, 0))
	var seen []RowProblem
	res, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{OnProblem: func(p RowProblem) { seen = append(seen, p) }})
	if err != nil || res.Imported != 300 || res.Unchanged != 1 || res.Rejected != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	want := []RowProblem{
		{Line: 1002, Serial: "SN00001000", Column: "secret key", Code: "secret.reused", Warning: true,
			Message: "the same secret as token SN00000008 in the directory; every token needs its own"},
		{Line: 1282, Serial: "SN00001280", Column: "secret key", Code: "secret.reused", Warning: true,
			Message: "the same secret as token SN00000007 in the directory; every token needs its own"},
	}
	if !reflect.DeepEqual(seen, want) || !reflect.DeepEqual(res.Problems, want) {
		t.Errorf("problems\n%+v\n%+v\nwant\n%+v", seen, res.Problems, want)
	}

	// Importing the same file again brings no new secret: nothing to say.
	res, err = d.ImportTokens(ctx, rowsOf(rows), ImportOptions{})
	if err != nil || res.Unchanged != 301 || len(res.Problems) != 0 {
		t.Fatalf("re-import: %+v, %v", res, err)
	}

	// Under WarningsAreErrors the row is rejected.
	res, err = d.ImportTokens(ctx, rowsOf([]ImportRow{reuse(2000, 9)}), ImportOptions{WarningsAreErrors: true})
	if !errors.Is(err, ErrRejected) || res.Rejected != 1 || len(res.Problems) != 1 || res.Problems[0].Warning ||
		res.Problems[0].Message != "the same secret as token SN00000009 in the directory; every token needs its own" {
		t.Fatalf("strict: %+v, %v", res, err)
	}
}

// OnOutcome hears of every row the store received, in source order, once its batch is
// written: created, updated, unchanged, skipped, or rejected with the problem code. A rejected
// import tells them too (the report maps them, as nothing was committed).
func TestImportOnOutcome(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *DB {
		d := openTest(t, "", Options{})
		if _, err := d.ImportTokens(ctx, genSource(0, 20, 10), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	file := func() []ImportRow {
		return []ImportRow{
			changed(1, func(r *ImportRow) { r.Model = "NewModel" }),
			genRow(2, 10), // identical
			changed(3, func(r *ImportRow) { r.Secret = bytes.Repeat([]byte{7}, 20) }),
			genRow(100, 10), // new
			changed(101, func(r *ImportRow) { r.UPN = "nobody@contoso.com" }),
		}
	}
	o := func(line int, serial, upn, outcome, detail string) RowOutcome {
		return RowOutcome{Line: line, Serial: serial, UPN: upn, Outcome: outcome, Detail: detail}
	}
	for _, tc := range []struct {
		name      string
		opts      ImportOptions
		committed bool
		want      []RowOutcome
	}{
		{"fail", ImportOptions{RequireExistingUsers: true}, false, []RowOutcome{
			o(3, "SN00000001", "user0000001@contoso.com", "rejected", "serial.exists"),
			o(4, "SN00000002", "user0000002@contoso.com", "unchanged", ""),
			o(5, "SN00000003", "user0000003@contoso.com", "rejected", "serial.exists"),
			o(102, "SN00000100", "user0000000@contoso.com", "created", ""),
			o(103, "SN00000101", "nobody@contoso.com", "rejected", "user.unknown"),
		}},
		{"skip", ImportOptions{OnDuplicate: DuplicateSkip, SkipInvalid: true, RequireExistingUsers: true}, true, []RowOutcome{
			o(3, "SN00000001", "user0000001@contoso.com", "skipped", ""),
			o(4, "SN00000002", "user0000002@contoso.com", "unchanged", ""),
			o(5, "SN00000003", "user0000003@contoso.com", "skipped", ""),
			o(102, "SN00000100", "user0000000@contoso.com", "created", ""),
			o(103, "SN00000101", "nobody@contoso.com", "rejected", "user.unknown"),
		}},
		{"update", ImportOptions{OnDuplicate: DuplicateUpdate}, true, []RowOutcome{
			o(3, "SN00000001", "user0000001@contoso.com", "updated", ""),
			o(4, "SN00000002", "user0000002@contoso.com", "unchanged", ""),
			o(5, "SN00000003", "user0000003@contoso.com", "updated", ""),
			o(102, "SN00000100", "user0000000@contoso.com", "created", ""),
			o(103, "SN00000101", "nobody@contoso.com", "created", ""),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := setup(t)
			var got []RowOutcome
			tc.opts.OnOutcome = func(o RowOutcome) { got = append(got, o) }
			res, err := d.ImportTokens(ctx, rowsOf(file()), tc.opts)
			if res.Committed != tc.committed {
				t.Fatalf("committed %v (err %v), want %v", res.Committed, err, tc.committed)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("outcomes\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}

	t.Run("batches in order", func(t *testing.T) {
		d := openTest(t, "", Options{})
		var lines []int
		res, err := d.ImportTokens(ctx, genSource(0, 700, 300), ImportOptions{OnOutcome: func(o RowOutcome) {
			if o.Outcome != "created" {
				t.Errorf("line %d: %s", o.Line, o.Outcome)
			}
			lines = append(lines, o.Line)
		}})
		if err != nil || !res.Committed {
			t.Fatal(err)
		}
		if len(lines) != 700 {
			t.Fatalf("%d outcomes, want 700", len(lines))
		}
		for i, l := range lines {
			if l != i+2 {
				t.Fatalf("outcome %d is line %d, want %d", i, l, i+2)
			}
		}
	})
}
