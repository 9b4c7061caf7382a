package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// day0 is midnight UTC of the first day of the scripted events.
var day0 = time.Date(2026, time.November, 2, 0, 0, 0, 0, time.UTC)

func at(day int, clock string) time.Time {
	c, err := time.Parse("15:04:05", clock)
	if err != nil {
		panic(err)
	}
	return day0.AddDate(0, 0, day).Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute + time.Duration(c.Second())*time.Second)
}

func ev(t time.Time, upn, mode, result, code string) AuthEvent {
	return AuthEvent{Time: t, UPN: upn, Mode: mode, Result: result, ResultCode: code, ServerName: "mfa01", ServerIP: "10.0.0.5"}
}

const (
	hw, app, pw              = "oath-hardware", "oath-app", "app-password"
	ok, no                   = "success", "denied"
	verified                 = "SUCCESS_OATH_CODE_VERIFIED"
	incorrect, blocked, dupe = "FAILED_OATH_CODE_INCORRECT", "FAILED_USER_BLOCKED", "FAILED_OATH_CODE_DUPLICATE"
)

// scriptedEvents is the series the grouped counts are checked against: three days, three
// users (one recorded in two letter cases), three modes and four result codes, inserted out
// of time order. The boundaries are exact: an event at midnight belongs to the new day.
func scriptedEvents() []AuthEvent {
	return []AuthEvent{
		ev(at(1, "00:00:00"), "ivan@contoso.com", hw, ok, verified),
		ev(at(0, "08:00:00"), "helga@contoso.com", hw, ok, verified),
		ev(at(0, "08:00:30"), "helga@contoso.com", hw, no, dupe),
		ev(at(0, "09:15:00"), "ivan@contoso.com", pw, ok, verified),
		ev(at(0, "23:59:59"), "Helga@Contoso.com", hw, no, incorrect),
		ev(at(1, "12:00:00"), "helga@contoso.com", app, ok, verified),
		ev(at(1, "12:00:01"), "zoe@contoso.com", hw, no, blocked),
		ev(at(1, "12:00:02"), "zoe@contoso.com", hw, no, blocked),
		ev(at(3, "07:00:00"), "helga@contoso.com", hw, no, incorrect),
		ev(at(3, "07:00:30"), "helga@contoso.com", hw, ok, verified),
	}
}

func seqOf[T any](items []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, x := range items {
			if !yield(x, nil) {
				return
			}
		}
	}
}

// collect gathers an iterator into a slice (never nil), stopping at the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	out := []T{}
	for x, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func openWithEvents(t *testing.T) *DB {
	t.Helper()
	clock := &fixedClock{t: at(4, "00:00:00")}
	d := openTest(t, "", Options{Now: clock.now})
	n, err := d.AddAuthEvents(context.Background(), seqOf(scriptedEvents()))
	if err != nil || n != 10 {
		t.Fatalf("AddAuthEvents: %d, %v", n, err)
	}
	return d
}

func TestUsageCounts(t *testing.T) {
	d := openWithEvents(t)
	ctx := context.Background()
	tests := []struct {
		name string
		f    UsageFilter
		by   UsageDimension
		want []UsageCount
	}{
		{"by day", UsageFilter{}, ByDay, []UsageCount{
			{Key: "2026-11-02", Success: 2, Denied: 2, Total: 4}, {Key: "2026-11-03", Success: 2, Denied: 2, Total: 4}, {Key: "2026-11-05", Success: 1, Denied: 1, Total: 2}}},
		{"by user: recorded UPNs, biggest first", UsageFilter{}, ByUser, []UsageCount{
			{Key: "helga@contoso.com", Success: 3, Denied: 2, Total: 5}, {Key: "ivan@contoso.com", Success: 2, Denied: 0, Total: 2}, {Key: "zoe@contoso.com", Success: 0, Denied: 2, Total: 2}, {Key: "Helga@Contoso.com", Success: 0, Denied: 1, Total: 1}}},
		{"by mode", UsageFilter{}, ByMode, []UsageCount{
			{Key: hw, Success: 3, Denied: 5, Total: 8}, {Key: pw, Success: 1, Denied: 0, Total: 1}, {Key: app, Success: 1, Denied: 0, Total: 1}}},
		{"by result code: ties by name", UsageFilter{}, ByResultCode, []UsageCount{
			{Key: verified, Success: 5, Denied: 0, Total: 5}, {Key: incorrect, Success: 0, Denied: 2, Total: 2}, {Key: blocked, Success: 0, Denied: 2, Total: 2}, {Key: dupe, Success: 0, Denied: 1, Total: 1}}},
		{"denial reasons", UsageFilter{Result: no}, ByResultCode, []UsageCount{
			{Key: incorrect, Success: 0, Denied: 2, Total: 2}, {Key: blocked, Success: 0, Denied: 2, Total: 2}, {Key: dupe, Success: 0, Denied: 1, Total: 1}}},
		{"since is inclusive, until exclusive", UsageFilter{Since: at(0, "08:00:30"), Until: at(1, "12:00:01")}, ByDay, []UsageCount{
			{Key: "2026-11-02", Success: 1, Denied: 2, Total: 3}, {Key: "2026-11-03", Success: 2, Denied: 0, Total: 2}}},
		{"until at midnight leaves the new day out", UsageFilter{Until: at(1, "00:00:00")}, ByDay, []UsageCount{
			{Key: "2026-11-02", Success: 2, Denied: 2, Total: 4}}},
		{"since mid-day keeps that day's later events", UsageFilter{Since: at(3, "07:00:01")}, ByDay, []UsageCount{
			{Key: "2026-11-05", Success: 1, Denied: 0, Total: 1}}},
		{"empty window in the future", UsageFilter{Since: at(10, "00:00:00")}, ByDay, []UsageCount{}},
		{"both letter cases of a user", UsageFilter{UPNs: []string{"helga@contoso.com", "Helga@Contoso.com"}}, ByDay, []UsageCount{
			{Key: "2026-11-02", Success: 1, Denied: 2, Total: 3}, {Key: "2026-11-03", Success: 1, Denied: 0, Total: 1}, {Key: "2026-11-05", Success: 1, Denied: 1, Total: 2}}},
		{"mode and result", UsageFilter{Mode: hw, Result: ok}, ByUser, []UsageCount{
			{Key: "helga@contoso.com", Success: 2, Denied: 0, Total: 2}, {Key: "ivan@contoso.com", Success: 1, Denied: 0, Total: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(d.UsageCounts(ctx, tt.f, tt.by))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
	if _, err := collect(d.UsageCounts(ctx, UsageFilter{}, "week")); err == nil || err.Error() != `counting auth events: unknown dimension "week"` {
		t.Errorf("unknown dimension: %v", err)
	}
}

func TestUsageEvents(t *testing.T) {
	d := openWithEvents(t)
	ctx := context.Background()
	list := func(f UsageFilter) []string {
		t.Helper()
		var out []string
		for e, err := range d.UsageEvents(ctx, f) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e.Time.Format("02T15:04:05")+" "+e.UPN+" "+e.ResultCode)
		}
		return out
	}
	want := []string{
		"02T08:00:00 helga@contoso.com " + verified,
		"02T08:00:30 helga@contoso.com " + dupe,
		"02T23:59:59 Helga@Contoso.com " + incorrect,
		"03T12:00:00 helga@contoso.com " + verified,
		"05T07:00:00 helga@contoso.com " + incorrect,
		"05T07:00:30 helga@contoso.com " + verified,
	}
	if got := list(UsageFilter{UPNs: []string{"helga@contoso.com", "Helga@Contoso.com"}}); !slices.Equal(got, want) {
		t.Errorf("time order over both cases:\n%s", strings.Join(got, "\n"))
	}
	if got := list(UsageFilter{Since: at(1, "00:00:00"), Until: at(1, "12:00:01"), Mode: hw}); !slices.Equal(got, []string{"03T00:00:00 ivan@contoso.com " + verified}) {
		t.Errorf("window and mode: %q", got)
	}
	if got := list(UsageFilter{Result: no, Mode: pw}); got != nil {
		t.Errorf("no match: %q", got)
	}
	// All fields come back as written.
	for e, err := range d.UsageEvents(ctx, UsageFilter{Since: at(0, "09:15:00"), Until: at(0, "09:15:01")}) {
		want := ev(at(0, "09:15:00"), "ivan@contoso.com", pw, ok, verified)
		want.ID = e.ID
		if err != nil || e != want {
			t.Errorf("event %+v, %v\nwant %+v", e, err, want)
		}
	}
}

// The grouped counts must read their covering index in group order: no table rows and no sort
// of the events (a sort of ten million rows is what made these reports slow). EXPLAIN QUERY
// PLAN is stable for a given schema without planner statistics, which mfactl never gathers.
func TestUsageCountsPlans(t *testing.T) {
	sqliteOnly(t, "EXPLAIN QUERY PLAN of SQLite")
	d := openTest(t, "", Options{})
	window := UsageFilter{Since: day0, Until: day0.AddDate(0, 0, 30)}
	tests := []struct {
		f     UsageFilter
		by    UsageDimension
		index string
	}{
		{UsageFilter{}, ByDay, "SCAN auth_events USING COVERING INDEX auth_events_day_result"},
		{window, ByDay, "SEARCH auth_events USING COVERING INDEX auth_events_day_result (<expr>>? AND <expr><?)"},
		{UsageFilter{}, ByUser, "SCAN auth_events USING COVERING INDEX auth_events_upn_result"},
		{UsageFilter{}, ByMode, "SCAN auth_events USING COVERING INDEX auth_events_mode_result"},
		{UsageFilter{}, ByResultCode, "SCAN auth_events USING COVERING INDEX auth_events_result_code"},
		{UsageFilter{Result: "denied"}, ByResultCode, "SEARCH auth_events USING COVERING INDEX auth_events_result_code (result=?)"},
		{UsageFilter{Result: "denied", Since: day0}, ByResultCode, "SEARCH auth_events USING COVERING INDEX auth_events_result_code (result=?)"},
		// One user's denial reasons (the second section of report usage --user).
		{UsageFilter{Result: "denied", UPNs: []string{"helga@contoso.com"}}, ByResultCode,
			"SEARCH auth_events USING COVERING INDEX auth_events_upn_result (upn=? AND result=?)"},
		{UsageFilter{UPNs: []string{"helga@contoso.com"}}, ByDay, "SEARCH auth_events USING COVERING INDEX auth_events_upn_result (upn=?)"},
		{UsageFilter{Result: "denied", Mode: "oath-hardware"}, ByResultCode,
			"SEARCH auth_events USING COVERING INDEX auth_events_mode_result (mode=? AND result=?)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %+v", tt.by, tt.f), func(t *testing.T) {
			// The events are read by the inner query (a co-routine) from the index alone; only
			// the groups it yields are sorted, never the events.
			plan := strings.Split(usagePlan(t, d, tt.f, tt.by), "\n")
			want := tt.index
			if tt.f.UPNs != nil && tt.by == ByDay {
				want += "\nUSE TEMP B-TREE FOR GROUP BY" // one user's events, sorted by day
			}
			outer := slices.Index(plan, "SCAN counts")
			if plan[0] != "CO-ROUTINE counts" || outer < 0 || strings.Join(plan[1:outer], "\n") != want {
				t.Errorf("plan:\n%s\nwant the inner query:\n%s", strings.Join(plan, "\n"), want)
			}
		})
	}
	var plan []string
	rows, err := d.sql.Query(`EXPLAIN QUERY PLAN SELECT manufacturer, model, COUNT(*), COUNT(CASE WHEN user_id IS NULL THEN 1 END)
		FROM tokens GROUP BY manufacturer, model ORDER BY manufacturer, model`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		rows.Scan(&id, &parent, &notUsed, &detail)
		plan = append(plan, detail)
	}
	if want := []string{"SCAN tokens USING COVERING INDEX tokens_inventory"}; !slices.Equal(plan, want) {
		t.Errorf("inventory plan %q, want %q", plan, want)
	}
}

// usagePlan explains the query UsageCounts runs.
func usagePlan(t *testing.T, d *DB, f UsageFilter, by UsageDimension) string {
	t.Helper()
	q, args, err := usageCountsQuery(f, by, d.dialect)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := d.sql.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

func TestAddAuthEventsAllOrNothing(t *testing.T) {
	clock := &fixedClock{t: day0}
	d := openTest(t, "", Options{Now: clock.now})
	ctx := context.Background()
	// 600 events take full and partial batches; a zero time is the clock's.
	var events []AuthEvent
	for i := range 600 {
		e := ev(day0.Add(time.Duration(i)*time.Second), fmt.Sprintf("u%03d@contoso.com", i), hw, ok, verified)
		if i == 599 {
			e.Time = time.Time{}
		}
		events = append(events, e)
	}
	n, err := d.AddAuthEvents(ctx, seqOf(events))
	if err != nil || n != 600 || count(t, d, "auth_events") != 600 {
		t.Fatalf("AddAuthEvents: %d, %v; %d rows", n, err, count(t, d, "auth_events"))
	}
	got, _ := collect(d.UsageCounts(ctx, UsageFilter{UPNs: []string{"u599@contoso.com"}}, ByDay))
	if len(got) != 1 || got[0].Key != "2026-11-02" {
		t.Errorf("zero time: %v", got)
	}
	// An error from the source after 300 events writes none of them.
	failing := func(yield func(AuthEvent, error) bool) {
		for i, e := range events[:300] {
			if !yield(e, nil) {
				return
			}
			if i == 299 {
				yield(AuthEvent{}, errors.New("log line 301: bad time"))
				return
			}
		}
	}
	n, err = d.AddAuthEvents(ctx, failing)
	if err == nil || err.Error() != "recording auth events: log line 301: bad time" || n != 0 {
		t.Errorf("failing source: %d, %v", n, err)
	}
	if c := count(t, d, "auth_events"); c != 600 {
		t.Errorf("%d rows after a failed batch, want 600", c)
	}
}

// setToken changes stored token columns directly, to build states that take many commands.
func setToken(t *testing.T, d *DB, serial, set string, args ...any) {
	t.Helper()
	res, err := d.sql.Exec(`UPDATE tokens SET `+set+` WHERE serial_key = ?`, append(args, Key(serial))...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("token %s not found", serial)
	}
}

func TestTokenInventoryAndUnused(t *testing.T) {
	now := day0.AddDate(0, 6, 0)
	clock := &fixedClock{t: now}
	d := openTest(t, "", Options{Now: clock.now})
	ctx := context.Background()
	rows := genRows(0, 9, 0)
	rows[5].Manufacturer, rows[5].Model = "Fabrikam", "C200"
	rows[6].Manufacturer, rows[6].Model = "Fabrikam", "C200"
	rows[7].Manufacturer, rows[7].Model = "", ""
	if _, err := d.ImportTokens(ctx, seqOf(rows), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"helga@contoso.com", "ivan@contoso.com"} {
		if _, err := d.AddUser(ctx, User{UPN: u}); err != nil {
			t.Fatal(err)
		}
	}
	cutoff := now.AddDate(0, 0, -90)
	old, recent := unix(cutoff.Add(-time.Second)), unix(cutoff.Add(time.Second))
	// A token is idle since its last use, else its activation, else its last change.
	// SN00000000: activated, last used just before the cutoff            -> unused
	// SN00000001: activated long ago, last used just after the cutoff    -> used
	// SN00000002: activated exactly at the cutoff, never used            -> unused (inclusive)
	// SN00000003: assigned (pending) long ago, never activated           -> unused
	// SN00000004: available stock                                        -> not handed out
	// SN00000005: Fabrikam, disabled stock
	// SN00000006: Fabrikam, failed activation just now, owner            -> used (being activated)
	// SN00000007: no manufacturer, disabled with an owner, used long ago -> unused
	// SN00000008: activated just now, never used                         -> used
	setToken(t, d, "SN00000000", `user_id = 1, status = 'activated', activated_at = ?, last_used_at = ?`, old-1000, old)
	setToken(t, d, "SN00000001", `user_id = 1, status = 'activated', activated_at = ?, last_used_at = ?`, old-1000, recent)
	setToken(t, d, "SN00000002", `user_id = 2, status = 'activated', activated_at = ?`, unix(cutoff))
	setToken(t, d, "SN00000003", `user_id = 2, status = 'assigned', updated_at = ?`, old-2000)
	setToken(t, d, "SN00000005", `status = 'disabled'`)
	setToken(t, d, "SN00000006", `user_id = 2, status = 'failed_activation', updated_at = ?`, unix(now))
	setToken(t, d, "SN00000007", `user_id = 1, status = 'disabled', last_used_at = ?`, old-5000)
	setToken(t, d, "SN00000008", `user_id = 2, status = 'activated', activated_at = ?`, unix(now))
	inv, err := d.TokenInventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []InventoryRow{
		{Manufacturer: "", Model: "", Total: 1, Disabled: 1},
		{Manufacturer: "Contoso", Model: "HardwareKey", Total: 6, Available: 1, Assigned: 1, Activated: 4, Unassigned: 1},
		{Manufacturer: "Fabrikam", Model: "C200", Total: 2, FailedActivation: 1, Disabled: 1, Unassigned: 1},
	}
	if !reflect.DeepEqual(inv, want) {
		t.Errorf("inventory\n%+v\nwant\n%+v", inv, want)
	}

	var got []string
	for tok, err := range d.UnusedTokens(ctx, cutoff) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tok.Serial+" "+tok.UPN+" "+string(tok.Status))
	}
	wantUnused := []string{ // the longest idle first
		"SN00000007 helga@contoso.com disabled",
		"SN00000003 ivan@contoso.com assigned",
		"SN00000000 helga@contoso.com activated",
		"SN00000002 ivan@contoso.com activated",
	}
	if !slices.Equal(got, wantUnused) {
		t.Errorf("unused:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantUnused, "\n"))
	}
}

func TestRegistrationUsers(t *testing.T) {
	d := openTest(t, "", Options{})
	ctx := context.Background()
	for _, u := range []User{
		{UPN: "zoe@contoso.com", DisplayName: "Zoe"},
		{UPN: "Adele@contoso.com", DisplayName: "Adele", MustRegister: true},
		{UPN: "ivan@contoso.com", State: UserBlocked, BlockedReason: "left"},
		{UPN: "helga@contoso.com"},
		{UPN: "bob@contoso.com"},
	} {
		if _, err := d.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.ImportTokens(ctx, genSource(0, 3, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// zoe: one activated token and one pending; helga: an authenticator app; bob: an app
	// password only (not an OATH method).
	setToken(t, d, "SN00000000", `user_id = (SELECT id FROM users WHERE upn_key = 'zoe@contoso.com'), status = 'activated'`)
	setToken(t, d, "SN00000001", `user_id = (SELECT id FROM users WHERE upn_key = 'zoe@contoso.com'), status = 'assigned'`)
	if _, err := d.AddAuthApp(ctx, "helga@contoso.com", NewAuthApp{Name: "phone", Secret: []byte("12345678901234567890")}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddAppPassword(ctx, "bob@contoso.com", "mail", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for u, err := range d.RegistrationUsers(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %q must=%v methods=%d activated=%d pending=%d apppw=%d",
			u.UPN, u.State, u.BlockedReason, u.MustRegister, u.Methods, u.TokensActivated, u.TokensPending, u.AppPasswords))
	}
	want := []string{ // no method first, each part by case-folded UPN
		`Adele@contoso.com active "" must=true methods=0 activated=0 pending=0 apppw=0`,
		`bob@contoso.com active "" must=false methods=0 activated=0 pending=0 apppw=1`,
		`ivan@contoso.com blocked "left" must=false methods=0 activated=0 pending=0 apppw=0`,
		`helga@contoso.com active "" must=false methods=1 activated=0 pending=0 apppw=0`,
		`zoe@contoso.com active "" must=false methods=2 activated=1 pending=1 apppw=0`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("registration:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Breaking out of the loop early closes the cursor: the database stays usable.
	for range d.RegistrationUsers(ctx) {
		break
	}
	if _, err := d.AddUser(ctx, User{UPN: "new@contoso.com"}); err != nil {
		t.Errorf("after an early break: %v", err)
	}
}

func TestAuditEvents(t *testing.T) {
	d := openTest(t, "", Options{})
	ctx := context.Background()
	for i, cmd := range []string{"tokens assign", "tokens import", "users reset"} {
		// Inserted out of time order: the iterator sorts by time.
		if err := d.AddAudit(ctx, AuditEvent{Time: day0.Add(time.Duration(2-i) * time.Hour), Actor: "root", Command: cmd}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for e, err := range d.AuditEvents(ctx, AuditFilter{Since: day0, Until: day0.Add(2 * time.Hour)}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Time.Format("15:04")+" "+e.Command)
	}
	if want := []string{"00:00 users reset", "01:00 tokens import"}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}
