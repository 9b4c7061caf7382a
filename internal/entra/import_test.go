package entra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
)

func rowsOf(rows ...directory.ImportRow) iter.Seq2[directory.ImportRow, error] {
	return func(yield func(directory.ImportRow, error) bool) {
		for i, r := range rows {
			r.Line = i + 2
			if r.Secret == nil {
				r.Secret = []byte("12345678901234567890" + r.Serial)
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

func galt(serial, upn string) directory.ImportRow {
	return directory.ImportRow{Serial: serial, UPN: upn, Manufacturer: "Gemalto", Model: "GALT-100", Period: 30, Hash: "SHA1"}
}

// owner is the UPN of the user the fake says holds the token, "" when none.
func (e *env) owner(t *testing.T, serial string) string {
	t.Helper()
	dev, ok := e.fake.Device(serial)
	if !ok {
		t.Fatalf("token %s is not in the fake", serial)
	}
	if dev.AssignedTo == nil {
		return ""
	}
	u, ok := e.fake.User(dev.AssignedTo.ID)
	if !ok {
		t.Fatalf("token %s assigned to unknown user %s", serial, dev.AssignedTo.ID)
	}
	return u.UserPrincipalName
}

func checkCounts(t *testing.T, res directory.ImportResult, imported, unchanged, updated, skipped, rejected int) {
	t.Helper()
	if res.Imported != imported || res.Unchanged != unchanged || res.Updated != updated || res.Skipped != skipped || res.Rejected != rejected || res.UsersCreated != 0 {
		t.Errorf("counts %+v, want imported %d unchanged %d updated %d skipped %d rejected %d", res, imported, unchanged, updated, skipped, rejected)
	}
}

func TestImportCreatesAssignsAndRunsAgainUnchanged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rows := rowsOf(galt("NEW001", "Diego.Siciliani@contoso.com"), galt("NEW002", ""),
		directory.ImportRow{Serial: "NEW003", UPN: entrafake.Adele, Manufacturer: "Yubico", Model: "YK", Period: 60, Hash: "SHA256", Digits: 6},
		galt("GALT0001", ""), galt("GALT0002", entrafake.Adele), galt("GALT0003", ""))
	res, err := e.d.ImportTokens(ctx, rows, directory.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 3, 3, 0, 0, 0)
	if res.Rows != 6 || !res.Committed || len(res.Problems) != 0 {
		t.Errorf("result %+v", res)
	}
	for serial, want := range map[string]string{"NEW001": entrafake.Diego, "NEW002": "", "NEW003": entrafake.Adele, "GALT0003": entrafake.Megan} {
		if got := e.owner(t, serial); got != want {
			t.Errorf("%s assigned to %q, want %q", serial, got, want)
		}
	}
	dev, _ := e.fake.Device("NEW003")
	if want := secretEncoding.EncodeToString([]byte("12345678901234567890NEW003")); string(dev.SecretKey) != want ||
		dev.HashFunction != graph.HashSHA256 || dev.TimeIntervalInSeconds != 60 || dev.Model != "YK" {
		t.Errorf("NEW003 as created: %+v", dev)
	}
	if n := e.fake.CountRequests(http.MethodPatch, "/beta/directory/authenticationMethodDevices/hardwareOathDevices"); n != 1 {
		t.Errorf("%d bulk creates, want 1", n)
	}

	before := len(e.fake.Requests())
	res, err = e.d.ImportTokens(ctx, rows, directory.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 0, 6, 0, 0, 0)
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("the second run wrote: %+v", w)
	}
	if e.fake.DeviceCount() != 7 {
		t.Errorf("%d devices, want 7", e.fake.DeviceCount())
	}
}

func TestImportUnknownUserAndUnsupportedRows(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rows := rowsOf(galt("NEW001", "nobody@contoso.com"), galt("NEW002", entrafake.Diego),
		directory.ImportRow{Serial: "NEW003", Manufacturer: "X", Model: "Y", Digits: 8},
		directory.ImportRow{Serial: "NEW004", Manufacturer: "X", Model: "Y", Hash: "SHA512"})
	before := len(e.fake.Requests())
	res, err := e.d.ImportTokens(ctx, rows, directory.ImportOptions{})
	var ie *directory.ImportError
	if !errors.As(err, &ie) || ie.Rejected != 3 {
		t.Fatalf("err %v", err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("a rejected import wrote: %+v", w)
	}
	want := []directory.RowProblem{
		{Line: 2, Serial: "NEW001", Column: "upn", Code: directory.CodeUserUnknown, Message: "user nobody@contoso.com is not in " + entrafake.Domain},
		{Line: 4, Serial: "NEW003", Column: "digits", Code: CodeUnsupported, Message: "token NEW003 has 8 digits; Microsoft Entra ID accepts 6-digit hardware tokens only"},
		{Line: 5, Serial: "NEW004", Column: "hash", Code: CodeUnsupported, Message: "token NEW004 uses SHA512; Microsoft Entra ID accepts SHA1 and SHA256 only"},
	}
	if len(res.Problems) != len(want) {
		t.Fatalf("problems %+v", res.Problems)
	}
	for i := range want {
		if res.Problems[i] != want[i] {
			t.Errorf("problem %d: %+v, want %+v", i, res.Problems[i], want[i])
		}
	}
	res, err = e.d.ImportTokens(ctx, rows, directory.ImportOptions{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 1, 0, 0, 0, 3)
	if got := e.owner(t, "NEW002"); got != entrafake.Diego {
		t.Errorf("NEW002 owner %q", got)
	}
	if _, ok := e.fake.Device("NEW001"); ok {
		t.Error("the row of an unknown user was created")
	}
}

func TestImportDuplicatePolicies(t *testing.T) {
	ctx := context.Background()
	other := galt("GALT0001", "")
	other.Model = "GALT-200"
	megan := galt("GALT0003", "")
	megan.Model = "GALT-200"

	e := newEnv(t)
	before := len(e.fake.Requests())
	res, err := e.d.ImportTokens(ctx, rowsOf(other, galt("NEW001", "")), directory.ImportOptions{})
	if !errors.Is(err, directory.ErrRejected) || len(res.Problems) != 1 || res.Problems[0].Code != directory.CodeSerialExists ||
		res.Problems[0].Message != "token GALT0001 is already in "+entrafake.Domain+" with other data" {
		t.Fatalf("fail: %+v, %v", res, err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("wrote: %+v", w)
	}

	res, err = e.d.ImportTokens(ctx, rowsOf(other, megan), directory.ImportOptions{OnDuplicate: directory.DuplicateSkip})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 0, 0, 0, 2, 0)

	// Owner change: a token assigned to another user is another datum.
	toDiego := galt("GALT0003", entrafake.Diego)
	res, err = e.d.ImportTokens(ctx, rowsOf(other, megan, toDiego), directory.ImportOptions{OnDuplicate: directory.DuplicateUpdate, SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 0, 0, 1, 0, 2)
	if dev, _ := e.fake.Device("GALT0001"); dev.Model != "GALT-200" {
		t.Errorf("GALT0001 not updated: %+v", dev)
	}
	if dev, _ := e.fake.Device("GALT0003"); dev.Model != "GALT-100" || e.owner(t, "GALT0003") != entrafake.Megan {
		t.Errorf("an assigned token was changed: %+v", dev)
	}
	wantMsg := "token GALT0003 is assigned to " + entrafake.Megan + "; Graph changes a token only while it is unassigned: unassign it first"
	if len(res.Problems) != 2 || res.Problems[0].Message != wantMsg || res.Problems[1].Message != wantMsg {
		t.Errorf("problems %+v", res.Problems)
	}
	// Updated and assigned in one run.
	up := galt("GALT0001", entrafake.Diego)
	up.Model = "GALT-300"
	res, err = e.d.ImportTokens(ctx, rowsOf(up), directory.ImportOptions{OnDuplicate: directory.DuplicateUpdate})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 0, 0, 1, 0, 0)
	if dev, _ := e.fake.Device("GALT0001"); dev.Model != "GALT-300" || e.owner(t, "GALT0001") != entrafake.Diego {
		t.Errorf("GALT0001: %+v", dev)
	}
}

func TestImportDryRunSendsNoWrite(t *testing.T) {
	e := newEnv(t)
	other := galt("GALT0001", "")
	other.Model = "GALT-200"
	before := len(e.fake.Requests())
	res, err := e.d.ImportTokens(context.Background(), rowsOf(galt("NEW001", entrafake.Diego), galt("GALT0002", entrafake.Adele), other),
		directory.ImportOptions{DryRun: true, OnDuplicate: directory.DuplicateUpdate})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 1, 1, 1, 0, 0)
	if res.Committed {
		t.Error("a dry run committed")
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("a dry run wrote: %+v", w)
	}
	if e.fake.DeviceCount() != 4 {
		t.Errorf("%d devices", e.fake.DeviceCount())
	}
}

func TestImportSourceErrorSendsNothing(t *testing.T) {
	e := newEnv(t)
	bad := errors.New("the token file has rows with errors (the first on line 3)")
	src := func(yield func(directory.ImportRow, error) bool) {
		if !yield(galt("NEW001", ""), nil) {
			return
		}
		yield(directory.ImportRow{}, bad)
	}
	before := len(e.fake.Requests())
	if _, err := e.d.ImportTokens(context.Background(), src, directory.ImportOptions{}); !errors.Is(err, bad) {
		t.Fatalf("err %v", err)
	}
	if n := len(e.fake.Requests()) - before; n != 0 {
		t.Errorf("%d requests sent for an invalid file", n)
	}
}

// A bulk create refused as a whole falls back to one POST per token; Graph's 400 for one of
// them is that row's problem, with the code and the client-request-id, never the secret.
func TestImportBulkRefusedFallsBackPerDevice(t *testing.T) {
	e := newEnv(t)
	e.fake.RefuseBulk(http.StatusBadRequest)
	long := galt("NEW002", "")
	long.Secret = bytes.Repeat([]byte{0xA5}, 81) // 130 Base32 characters: over Graph's 128
	secret := secretEncoding.EncodeToString(long.Secret)
	posts := e.fake.CountRequests(http.MethodPost, "/beta/directory/authenticationMethodDevices/hardwareOathDevices")
	res, err := e.d.ImportTokens(context.Background(), rowsOf(galt("NEW001", entrafake.Diego), long, galt("NEW003", "")), directory.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 2, 0, 0, 0, 1)
	if n := e.fake.CountRequests(http.MethodPost, "/beta/directory/authenticationMethodDevices/hardwareOathDevices") - posts; n != 3 {
		t.Errorf("%d single creates, want 3", n)
	}
	if e.owner(t, "NEW001") != entrafake.Diego {
		t.Error("NEW001 not assigned")
	}
	if len(res.Problems) != 1 {
		t.Fatalf("problems %+v", res.Problems)
	}
	p := res.Problems[0]
	if p.Line != 3 || p.Code != CodeGraph || !strings.HasPrefix(p.Message, "creating token NEW002: graph POST ") ||
		!strings.Contains(p.Message, "400 bad request: badRequest: secretKey must be") || !strings.Contains(p.Message, "client-request-id ") {
		t.Errorf("problem %+v", p)
	}
	if strings.Contains(p.Message, secret) || strings.Contains(p.Message, secret[:16]) {
		t.Error("the problem shows the secret")
	}
}

// A run that fails half-way (one assignment answered 500) leaves what it did; the same import
// run again finishes the job with no duplicate and nothing assigned twice.
func TestImportAgainAfterHalfwayFailureFinishes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rows := rowsOf(galt("NEW001", entrafake.Diego), galt("NEW002", entrafake.Adele), galt("NEW003", entrafake.Diego))
	// list of the inventory, 2 users, the bulk create, then the assignments: fail the second.
	e.fake.FailAt(len(e.fake.Requests())+1+2+1+2, graphfake.Fail500)
	res, err := e.d.ImportTokens(ctx, rows, directory.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 2, 0, 0, 0, 1)
	if len(res.Problems) != 1 || res.Problems[0].Code != CodeGraph ||
		!strings.Contains(res.Problems[0].Message, "(it was created: import again to assign it): graph POST ") ||
		!strings.Contains(res.Problems[0].Message, "500 internal server error") {
		t.Fatalf("problems %+v", res.Problems)
	}
	failed := res.Problems[0].Serial
	if e.owner(t, failed) != "" {
		t.Fatalf("%s assigned though its assignment failed", failed)
	}
	assigns := e.fake.CountRequests(http.MethodPost, "/beta/users/")

	res, err = e.d.ImportTokens(ctx, rows, directory.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 1, 2, 0, 0, 0)
	if n := e.fake.CountRequests(http.MethodPost, "/beta/users/") - assigns; n != 1 {
		t.Errorf("%d assignments on the second run, want 1", n)
	}
	if e.fake.DeviceCount() != 7 {
		t.Errorf("%d devices, want 7 (no duplicate)", e.fake.DeviceCount())
	}
	for serial, want := range map[string]string{"NEW001": entrafake.Diego, "NEW002": entrafake.Adele, "NEW003": entrafake.Diego} {
		if got := e.owner(t, serial); got != want {
			t.Errorf("%s assigned to %q, want %q", serial, got, want)
		}
	}
}

// A bulk create whose answer is lost (applied, then the connection dropped) is looked up by
// serial number: the tokens are found, assigned, and nothing is created twice.
func TestImportBulkOutcomeUnknownIsLookedUp(t *testing.T) {
	e := newEnv(t)
	rows := rowsOf(galt("NEW001", entrafake.Diego), galt("NEW002", ""))
	e.fake.FailAt(len(e.fake.Requests())+1+1+1, graphfake.FailDropAfter)
	res, err := e.d.ImportTokens(context.Background(), rows, directory.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 2, 0, 0, 0, 0)
	if e.fake.DeviceCount() != 6 || e.owner(t, "NEW001") != entrafake.Diego {
		t.Errorf("%d devices, NEW001 owner %q", e.fake.DeviceCount(), e.owner(t, "NEW001"))
	}
}

// OnOutcome hears of every row in source order: the rows written, and for the one whose write
// failed Graph's error and the request ids, never the secret; the run after says the failed
// row was assigned and the others unchanged.
func TestImportOnOutcomeReportsEachRow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rows := rowsOf(galt("NEW001", entrafake.Diego), galt("NEW002", entrafake.Adele), galt("NEW003", ""))
	// list of the inventory, 2 users, the bulk create, then the assignments: fail the second.
	e.fake.FailAt(len(e.fake.Requests())+1+2+1+2, graphfake.Fail500)
	var got []directory.RowOutcome
	opts := directory.ImportOptions{OnOutcome: func(o directory.RowOutcome) { got = append(got, o) }}
	res, err := e.d.ImportTokens(ctx, rows, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 {
		t.Fatalf("problems %+v", res.Problems)
	}
	failed := res.Problems[0].Serial
	if len(got) != 3 {
		t.Fatalf("outcomes %+v", got)
	}
	for i, o := range got {
		if want := []string{"NEW001", "NEW002", "NEW003"}[i]; o.Serial != want || o.Line != i+2 {
			t.Errorf("outcome %d is %+v, want serial %s in source order", i, o, want)
		}
		switch {
		case o.Serial == failed:
			if o.Outcome != directory.OutcomeFailed || !regexp.MustCompile(`^UnknownError client-request-id=\S+ request-id=\S+$`).MatchString(o.Detail) {
				t.Errorf("failed row %+v", o)
			}
		case o.Outcome != directory.OutcomeCreated || o.Detail != "":
			t.Errorf("created row %+v", o)
		}
	}

	got = nil
	if _, err := e.d.ImportTokens(ctx, rows, opts); err != nil {
		t.Fatal(err)
	}
	for _, o := range got {
		want := directory.OutcomeUnchanged
		if o.Serial == failed {
			want = directory.OutcomeAssigned
		}
		if o.Outcome != want || o.Detail != "" {
			t.Errorf("second run: %+v, want %s", o, want)
		}
	}
	if len(got) != 3 {
		t.Errorf("second run: outcomes %+v", got)
	}
}

// A rejected import sends nothing but still tells each row's outcome, as planned: the
// rejected rows with their problem code, the others as they would have been written (a report
// settles them as not imported, since the result is not committed).
func TestImportOnOutcomeOfARejectedImport(t *testing.T) {
	e := newEnv(t)
	rows := rowsOf(galt("NEW001", "nobody@contoso.com"), galt("NEW002", entrafake.Diego),
		directory.ImportRow{Serial: "NEW003", Manufacturer: "X", Model: "Y", Digits: 8})
	var got []directory.RowOutcome
	res, err := e.d.ImportTokens(context.Background(), rows, directory.ImportOptions{
		OnOutcome: func(o directory.RowOutcome) { got = append(got, o) }})
	if !errors.Is(err, directory.ErrRejected) || res.Committed {
		t.Fatalf("err %v, committed %v", err, res.Committed)
	}
	want := []directory.RowOutcome{
		{Line: 2, Serial: "NEW001", UPN: "nobody@contoso.com", Outcome: directory.OutcomeRejected, Detail: directory.CodeUserUnknown},
		{Line: 3, Serial: "NEW002", UPN: entrafake.Diego, Outcome: directory.OutcomeCreated},
		{Line: 4, Serial: "NEW003", Outcome: directory.OutcomeRejected, Detail: CodeUnsupported},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outcomes\n%+v\nwant\n%+v", got, want)
	}
}

// TestImportReportsWorkAsItGoes: OnWork hears each phase begin with its total (the users to
// look up, the tokens to create, to update, to assign), then every step done, in order, one
// call at a time although the requests run in parallel.
func TestImportReportsWorkAsItGoes(t *testing.T) {
	e := newEnv(t)
	changed := galt("GALT0001", entrafake.Diego)
	changed.Model = "GALT-200"
	rows := rowsOf(galt("NEW001", entrafake.Diego), galt("NEW002", entrafake.Adele), galt("NEW003", ""), changed,
		galt("GALT0003", ""), galt("NEW004", "Adele.Vance@contoso.com"))
	var (
		got     []directory.Work
		running atomic.Bool
	)
	res, err := e.d.ImportTokens(context.Background(), rows, directory.ImportOptions{
		OnDuplicate: directory.DuplicateUpdate,
		OnWork: func(w directory.Work) {
			if !running.CompareAndSwap(false, true) {
				t.Error("OnWork called while another call ran")
			}
			time.Sleep(time.Millisecond)
			got = append(got, w)
			running.Store(false)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 4, 1, 1, 0, 0)
	want := []directory.Work{
		{Phase: directory.WorkChecking, Done: 0, Total: 2}, {Phase: directory.WorkChecking, Done: 1, Total: 2}, {Phase: directory.WorkChecking, Done: 2, Total: 2},
		{Phase: directory.WorkCreating, Done: 0, Total: 4}, {Phase: directory.WorkCreating, Done: 4, Total: 4},
		{Phase: directory.WorkUpdating, Done: 0, Total: 1}, {Phase: directory.WorkUpdating, Done: 1, Total: 1},
		{Phase: directory.WorkAssigning, Done: 0, Total: 4}, {Phase: directory.WorkAssigning, Done: 1, Total: 4},
		{Phase: directory.WorkAssigning, Done: 2, Total: 4}, {Phase: directory.WorkAssigning, Done: 3, Total: 4},
		{Phase: directory.WorkAssigning, Done: 4, Total: 4},
	}
	if !slices.Equal(got, want) {
		t.Errorf("work reported:\n%v\nwant:\n%v", got, want)
	}
}

// TestImportWorkCountsFailedWritesAndManyGroups: a failed write is a step done too, so the bar
// reaches its end; the creations are reported group by group.
func TestImportWorkCountsFailedWritesAndManyGroups(t *testing.T) {
	e := newEnv(t)
	e.d.parallel = 2
	var src []directory.ImportRow
	for i := range 450 {
		src = append(src, galt(fmt.Sprintf("BULK%04d", i), ""))
	}
	src = append(src, galt("NEW001", entrafake.Diego), galt("NEW002", entrafake.Diego))
	// The second assignment fails: after the device list, 3 bulk creates of up to 200, the
	// user look-up and the first assignment.
	var got []directory.Work
	var mu sync.Mutex
	opts := directory.ImportOptions{SkipInvalid: true, OnWork: func(w directory.Work) {
		mu.Lock()
		got = append(got, w)
		if w.Phase == directory.WorkAssigning && w.Done == 0 {
			e.fake.FailAt(len(e.fake.Requests())+2, graphfake.Fail500)
		}
		mu.Unlock()
	}}
	res, err := e.d.ImportTokens(context.Background(), rowsOf(src...), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 1 || res.Imported != 451 {
		t.Errorf("result %+v", res)
	}
	var creating, assigning []int
	for _, w := range got {
		switch w.Phase {
		case directory.WorkCreating:
			creating = append(creating, w.Done)
			if w.Total != 452 {
				t.Errorf("creating total %d, want 452", w.Total)
			}
		case directory.WorkAssigning:
			assigning = append(assigning, w.Done)
			if w.Total != 2 {
				t.Errorf("assigning total %d, want 2", w.Total)
			}
		}
	}
	if want := []int{0, 200, 400, 452}; !slices.Equal(creating, want) {
		t.Errorf("creating reported %v, want %v", creating, want)
	}
	if want := []int{0, 1, 2}; !slices.Equal(assigning, want) {
		t.Errorf("assigning reported %v, want %v", assigning, want)
	}
}
