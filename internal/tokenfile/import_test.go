package tokenfile

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"

	"github.com/mfactl/mfactl/internal/tokens"
)

func TestProblemListKeepsTheFirstByLine(t *testing.T) {
	l := problemList{max: 3}
	// The directory's problems arrive a batch late, after the file's of later lines.
	for _, line := range []int{5, 6, 7, 8, 9, 2, 10, 3} {
		l.add(tokens.Problem{Line: line, Code: fmt.Sprint("c", line)})
	}
	got := l.list()
	if l.total != 8 || len(got) != 3 || got[0].Line != 2 || got[1].Line != 3 || got[2].Line != 5 {
		t.Fatalf("total %d, kept %+v; want 8 and lines 2, 3, 5", l.total, got)
	}
	if empty := (&problemList{max: 3}).list(); empty == nil || len(empty) != 0 {
		t.Fatalf("empty list = %#v, want a non-nil empty slice (JSON [])", empty)
	}
	file := problemList{max: 10}
	dir := problemList{max: 10}
	file.add(tokens.Problem{Line: 4, Code: "file"})
	dir.add(tokens.Problem{Line: 4, Code: "dir"})
	dir.add(tokens.Problem{Line: 1, Code: "dir1"})
	merged := mergeProblems(&file, &dir)
	if len(merged) != 3 || merged[0].Code != "dir1" || merged[1].Code != "file" || merged[2].Code != "dir" {
		t.Fatalf("merged %+v: want line 1, then line 4 with the file's problem first", merged)
	}
}

const importHeader = "upn,serial number,secret key,time interval,manufacturer,model\n"

// importRow is a valid CSV row of the token file for serial n.
func importRow(upn string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	s := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	s[len(s)-1], s[len(s)-2] = alphabet[n%32], alphabet[n/32%32]
	return fmt.Sprintf("%s,SN%04d,%s,30,Contoso,Key\n", upn, n, s)
}

func openImportDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countTokens(t *testing.T, db *store.DB) int {
	t.Helper()
	ts, err := db.ListTokens(context.Background(), directory.TokenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(ts)
}

// watch records the callbacks of an import as "rejected 3", "sent 4", "dir-rejected 4".
type watch struct {
	mu     sync.Mutex
	events []string
	codes  []string
	// sourceRead counts the calls of SourceRead.
	sourceRead int
}

func (w *watch) add(s string) { w.mu.Lock(); w.events = append(w.events, s); w.mu.Unlock() }

func (w *watch) options(opts ImportOptions) ImportOptions {
	opts.Name = "t.csv"
	opts.Rejected = func(rec *tokens.Record) { w.add(fmt.Sprint("rejected ", rec.Line)) }
	opts.Sent = func(rec *tokens.Record) { w.add(fmt.Sprint("sent ", rec.Line)) }
	opts.DirectoryRejected = func(line int) { w.add(fmt.Sprint("dir-rejected ", line)) }
	opts.SourceRead = func() { w.mu.Lock(); w.sourceRead++; w.mu.Unlock() }
	opts.Problem = func(p tokens.Problem) {
		w.mu.Lock()
		w.codes = append(w.codes, fmt.Sprint(p.Line, " ", p.Code))
		w.mu.Unlock()
	}
	return opts
}

func problemLines(ps []tokens.Problem) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprint(p.Line, " ", p.Code))
	}
	return strings.Join(s, ", ")
}

func TestImportCommitsAValidFile(t *testing.T) {
	db := openImportDB(t)
	var w watch
	file := importHeader + importRow("a@contoso.com", 1) + importRow("b@contoso.com", 2) + importRow("a@contoso.com", 3)
	sum, err := Import(context.Background(), db, strings.NewReader(file), w.options(ImportOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	want := ImportSummary{File: "t.csv", Rows: 3, Imported: 3, UsersCreated: 2, Problems: []tokens.Problem{}, Committed: true}
	if !reflect.DeepEqual(sum, want) {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	if got := strings.Join(w.events, "; "); got != "sent 2; sent 3; sent 4" {
		t.Errorf("callbacks: %s", got)
	}
	if n := countTokens(t, db); n != 3 {
		t.Errorf("%d tokens in the directory, want 3", n)
	}
	tok, err := db.GetToken(context.Background(), "SN0001")
	if err != nil || tok.SourceFile != "t.csv" {
		t.Errorf("token SN0001: %+v, %v; want source file t.csv", tok, err)
	}
	if w.sourceRead != 1 {
		t.Errorf("SourceRead called %d times, want once", w.sourceRead)
	}
	// The same file again changes nothing.
	sum, err = Import(context.Background(), db, strings.NewReader(file), ImportOptions{Name: "t.csv"})
	if err != nil || sum.Unchanged != 3 || sum.Imported != 0 {
		t.Fatalf("second import: %+v, %v; want 3 unchanged", sum, err)
	}
}

// TestImportInvalidFileListsEveryProblem: without SkipInvalid the first bad row abandons the
// transaction, and the rest of the file is still read for all of its problems.
func TestImportInvalidFileListsEveryProblem(t *testing.T) {
	db := openImportDB(t)
	var w watch
	file := importHeader + importRow("a@contoso.com", 1) + "a@contoso.com,SN0002,notbase32!,30,C,K\n" +
		importRow("b@contoso.com", 3) + "x@contoso.com,,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,C,K\n"
	sum, err := Import(context.Background(), db, strings.NewReader(file), w.options(ImportOptions{}))
	var invalid *InvalidFileError
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want *InvalidFileError", err)
	}
	if want := "t.csv: 2 rows of 4 have errors; nothing was imported"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if invalid.Rows != 4 || invalid.Rejected != 2 || invalid.Refused || invalid.Header {
		t.Errorf("error %+v", invalid)
	}
	if sum.Rows != 4 || sum.Rejected != 2 || sum.Imported != 0 || sum.ProblemCount != len(sum.Problems) {
		t.Errorf("summary %+v", sum)
	}
	if got := problemLines(sum.Problems); !strings.HasPrefix(got, "3 ") || !strings.Contains(got, "5 ") {
		t.Errorf("problems %s: want those of lines 3 and 5", got)
	}
	if got := strings.Join(w.events, "; "); got != "sent 2; rejected 3; rejected 5" {
		t.Errorf("callbacks: %s", got)
	}
	if w.sourceRead != 0 {
		t.Errorf("SourceRead called %d times for an import that stopped at a bad row, want 0", w.sourceRead)
	}
	if n := countTokens(t, db); n != 0 {
		t.Errorf("%d tokens in the directory, want 0", n)
	}
}

func TestImportSkipInvalidIsPartial(t *testing.T) {
	db := openImportDB(t)
	var w watch
	file := importHeader + importRow("a@contoso.com", 1) + "a@contoso.com,SN0002,notbase32!,30,C,K\n" + importRow("b@contoso.com", 3)
	sum, err := Import(context.Background(), db, strings.NewReader(file), w.options(ImportOptions{SkipInvalid: true}))
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("err = %v, want ErrPartial", err)
	}
	if sum.Rows != 3 || sum.Imported != 2 || sum.Rejected != 1 || !sum.Committed {
		t.Errorf("summary %+v", sum)
	}
	if got := strings.Join(w.events, "; "); got != "sent 2; rejected 3; sent 4" {
		t.Errorf("callbacks: %s", got)
	}
	if n := countTokens(t, db); n != 2 {
		t.Errorf("%d tokens in the directory, want 2", n)
	}

	// Every row rejected: nothing of the file is in the directory, a failure.
	sum, err = Import(context.Background(), db, strings.NewReader(importHeader+"a@contoso.com,SN0009,notbase32!,30,C,K\n"),
		ImportOptions{Name: "bad.csv", SkipInvalid: true})
	var none *NoneImportedError
	if !errors.As(err, &none) || err.Error() != "bad.csv: none of its 1 row could be imported" {
		t.Fatalf("err = %v, want *NoneImportedError", err)
	}
	if sum.Rows != 1 || sum.Rejected != 1 {
		t.Errorf("summary %+v", sum)
	}
}

// TestImportDirectoryRejection: rows the directory rejects (a serial present with other data)
// roll everything back and are told by line, with their problems in the summary.
func TestImportDirectoryRejection(t *testing.T) {
	db := openImportDB(t)
	ctx := context.Background()
	if _, err := Import(ctx, db, strings.NewReader(importHeader+importRow("a@contoso.com", 1)), ImportOptions{Name: "first.csv"}); err != nil {
		t.Fatal(err)
	}
	var w watch
	file := importHeader + importRow("b@contoso.com", 2) + importRow("b@contoso.com", 1)
	sum, err := Import(ctx, db, strings.NewReader(file), w.options(ImportOptions{}))
	var rejected *RejectedError
	if !errors.As(err, &rejected) || err.Error() != "t.csv: 1 row of 2 cannot be imported into the directory; nothing was imported" {
		t.Fatalf("err = %v, want *RejectedError", err)
	}
	if rejected.Rows != 2 || rejected.Rejected != 1 || sum.Rejected != 1 || sum.Imported != 0 || sum.Committed {
		t.Errorf("error %+v, summary %+v", rejected, sum)
	}
	if got := problemLines(sum.Problems); got != "3 "+directory.CodeSerialExists {
		t.Errorf("problems %s", got)
	}
	if got := strings.Join(w.events, "; "); got != "sent 2; sent 3; dir-rejected 3" {
		t.Errorf("callbacks: %s", got)
	}
	if got := strings.Join(w.codes, ", "); got != "3 "+directory.CodeSerialExists {
		t.Errorf("problem stream: %s", got)
	}
	if n := countTokens(t, db); n != 1 {
		t.Errorf("%d tokens in the directory, want 1", n)
	}

	// A dry run of an acceptable file counts what would happen and writes nothing.
	sum, err = Import(ctx, db, strings.NewReader(importHeader+importRow("b@contoso.com", 2)), ImportOptions{Name: "t.csv", DryRun: true})
	if err != nil || sum.Imported != 1 || !sum.DryRun || sum.Committed {
		t.Fatalf("dry run: %+v, %v", sum, err)
	}
	if n := countTokens(t, db); n != 1 {
		t.Errorf("%d tokens after a dry run, want 1", n)
	}
}

func TestImportUnusableHeader(t *testing.T) {
	db := openImportDB(t)
	im, err := OpenImport(strings.NewReader("name,colour\nx,y\n"), ImportOptions{Name: "t.csv"})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if im.Format() != FormatCSV {
		t.Errorf("format %s", im.Format())
	}
	sum, err := im.Run(context.Background(), db)
	var invalid *InvalidFileError
	if !errors.As(err, &invalid) || !invalid.Header || err.Error() != "t.csv: the header is not usable; nothing was imported" {
		t.Fatalf("err = %v, want an unusable header", err)
	}
	if sum.Rows != 0 || len(sum.Problems) == 0 || sum.Problems[0].Code != tokens.CodeCSVHeader {
		t.Errorf("summary %+v", sum)
	}
}

// TestImportProblemsBounded: the summary keeps the first problems by line and counts them all.
func TestImportProblemsBounded(t *testing.T) {
	db := openImportDB(t)
	var b strings.Builder
	b.WriteString(importHeader)
	for i := range 10 {
		fmt.Fprintf(&b, "a@contoso.com,SN%04d,notbase32!,30,C,K\n", i)
	}
	sum, err := Import(context.Background(), db, strings.NewReader(b.String()), ImportOptions{Name: "t.csv", MaxListedProblems: 3})
	var invalid *InvalidFileError
	if !errors.As(err, &invalid) || invalid.Rejected != 10 {
		t.Fatalf("err = %v", err)
	}
	if len(sum.Problems) != 3 || sum.ProblemCount < 10 || sum.Problems[0].Line != 2 {
		t.Errorf("kept %d problems of %d, first %+v", len(sum.Problems), sum.ProblemCount, sum.Problems[0])
	}
}

func TestImportCancelledWritesNothing(t *testing.T) {
	db := openImportDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Import(ctx, db, strings.NewReader(importHeader+importRow("a@contoso.com", 1)), ImportOptions{Name: "t.csv"})
	var dirErr *DirectoryError
	if !errors.As(err, &dirErr) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a *DirectoryError wrapping context.Canceled", err)
	}
	if n := countTokens(t, db); n != 0 {
		t.Errorf("%d tokens, want 0", n)
	}
}

// rowsTold records what OnRow says, one "line outcome serial upn detail" string per row.
func rowsTold(opts *ImportOptions) *[]string {
	var mu sync.Mutex
	var got []string
	opts.OnRow = func(o directory.RowOutcome) {
		mu.Lock()
		got = append(got, strings.TrimSpace(fmt.Sprintf("%d %s %s %s %s", o.Line, o.Outcome, o.Serial, o.UPN, o.Detail)))
		mu.Unlock()
	}
	return &got
}

// OnRow is told every row of the file once, in file order: rejected by the file rules with its
// error codes, sent to the directory, or, after a bad row abandoned the import, not imported.
func TestImportOnRowTellsEveryRow(t *testing.T) {
	file := importHeader + importRow("a@contoso.com", 1) + "b@contoso.com,SN0002,notbase32!,30,C,K\n" +
		importRow("c@contoso.com", 3) + "x@contoso.com,,notbase32!,30,C,K\n" + importRow("d at contoso", 5)
	for _, tc := range []struct {
		skip bool
		want []string
	}{
		{false, []string{"2 sent SN0001 a@contoso.com", "3 rejected SN0002 b@contoso.com secret.base32",
			"4 not-imported SN0003 c@contoso.com", "5 rejected  x@contoso.com serial.empty secret.base32",
			"6 rejected SN0005 d at contoso upn.invalid"}},
		{true, []string{"2 sent SN0001 a@contoso.com", "3 rejected SN0002 b@contoso.com secret.base32",
			"4 sent SN0003 c@contoso.com", "5 rejected  x@contoso.com serial.empty secret.base32",
			"6 rejected SN0005 d at contoso upn.invalid"}},
	} {
		opts := ImportOptions{Name: "t.csv", SkipInvalid: tc.skip}
		got := rowsTold(&opts)
		_, err := Import(context.Background(), openImportDB(t), strings.NewReader(file), opts)
		if err == nil {
			t.Fatal("imported a file with bad rows")
		}
		if !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("skip-invalid %v: OnRow told\n%s\nwant\n%s", tc.skip, strings.Join(*got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

// failingDirectory reads one row of the source, then fails.
type failingDirectory struct{}

func (failingDirectory) ImportTokens(ctx context.Context, src iter.Seq2[directory.ImportRow, error], opts directory.ImportOptions) (directory.ImportResult, error) {
	for range src {
		break
	}
	return directory.ImportResult{}, errors.New("disk I/O error")
}

// After the directory failed, ReadRest reads the rest of the file for OnRow: the row the
// directory got is sent (it never told its fate), the others not imported or rejected.
func TestImportReadRestAfterAFailure(t *testing.T) {
	file := importHeader + importRow("a@contoso.com", 1) + importRow("b@contoso.com", 2) + "c@contoso.com,SN0003,notbase32!,30,C,K\n"
	opts := ImportOptions{Name: "t.csv"}
	got := rowsTold(&opts)
	im, err := OpenImport(strings.NewReader(file), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	_, err = im.Run(context.Background(), failingDirectory{})
	var dirErr *DirectoryError
	if !errors.As(err, &dirErr) {
		t.Fatalf("err = %v, want a *DirectoryError", err)
	}
	if err := im.ReadRest(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"2 sent SN0001 a@contoso.com", "3 not-imported SN0002 b@contoso.com", "4 rejected SN0003 c@contoso.com secret.base32"}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("OnRow told\n%s\nwant\n%s", strings.Join(*got, "\n"), strings.Join(want, "\n"))
	}
}
