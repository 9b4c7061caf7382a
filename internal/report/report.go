// Package report builds mfactl's reports on the directory: the usage of second factors (auth
// events listed or counted per day, user, method or result), who has registered what, the
// hardware-token inventory and the audit trail of admin changes.
//
// Counting happens in SQL (GROUP BY over covering indexes) and listings are iterators over
// database cursors, so a report over ten million auth events takes seconds and memory that
// does not grow with the directory. No report carries secret material: the store types it
// returns hold no secrets (token seeds and password hashes are never read).
//
// docs/performance.md has the figures over 10,000,000 auth events and 1,000,000 tokens;
// bench.sh reproduces them.
package report

import (
	"context"
	"errors"
	"iter"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mfactl/mfactl/internal/directory"
)

// Store is what the reports read from the directory; every directory.Directory has it.
type Store interface {
	GetUser(ctx context.Context, upn string) (directory.User, error)
	UsageEvents(ctx context.Context, f directory.UsageFilter) iter.Seq2[directory.AuthEvent, error]
	UsageCounts(ctx context.Context, f directory.UsageFilter, by directory.UsageDimension) iter.Seq2[directory.UsageCount, error]
	RegistrationUsers(ctx context.Context) iter.Seq2[directory.User, error]
	TokenInventory(ctx context.Context) ([]directory.InventoryRow, error)
	UnusedTokens(ctx context.Context, cutoff time.Time) iter.Seq2[directory.Token, error]
	AuditEvents(ctx context.Context, f directory.AuditFilter) iter.Seq2[directory.AuditEvent, error]
	DriftHistory(ctx context.Context) iter.Seq2[directory.DriftPoint, error]
	VerifyAuditChain(ctx context.Context, keptHead []byte) (directory.AuditChain, error)
}

// Reporter runs reports over a directory with a clock (for ages such as --unused-for).
type Reporter struct {
	store Store
	now   func() time.Time
}

// New returns a Reporter over s; now nil means time.Now.
func New(s Store, now func() time.Time) *Reporter {
	if now == nil {
		now = time.Now
	}
	return &Reporter{store: s, now: now}
}

// Results of auth events.
const (
	ResultSuccess = "success"
	ResultDenied  = "denied"
)

// UsageQuery selects the auth events of a usage report; zero fields match everything.
type UsageQuery struct {
	Window
	User   string // UPN, case-insensitive for users in the directory
	Result string // "", ResultSuccess or ResultDenied
	Mode   string // authentication mode as recorded, e.g. "oath-hardware"
}

// GroupBy is a dimension of the grouped usage report (--by).
type GroupBy string

// Dimensions of the grouped usage report.
const (
	ByDay    GroupBy = "day"    // UTC calendar day, YYYY-MM-DD
	ByUser   GroupBy = "user"   // UPN as recorded
	ByMethod GroupBy = "method" // authentication mode: oath-hardware, app-password, ...
	ByResult GroupBy = "result" // result code: SUCCESS_OATH_CODE_VERIFIED, FAILED_..., so denial reasons are groups too
)

// GroupBys lists the dimensions in the order help text shows them.
var GroupBys = []GroupBy{ByDay, ByUser, ByMethod, ByResult}

var dimensions = map[GroupBy]directory.UsageDimension{
	ByDay: directory.ByDay, ByUser: directory.ByUser, ByMethod: directory.ByMode, ByResult: directory.ByResultCode,
}

// Group counts the auth events of one group. Success and Denied count those results; Total
// counts every event of the group.
type Group struct {
	Group   string
	Success int64
	Denied  int64
	Total   int64
}

// Reason counts the denied auth events with one result code.
type Reason struct {
	ResultCode string
	Count      int64
}

// filter turns q into the store's filter. A user in the directory is matched both as typed and
// as stored, since events record the UPN as stored while people type it in any case; events
// of UPNs that are not (or no longer) in the directory keep the spelling of each attempt, so
// they match in any letter case.
func (r *Reporter) filter(ctx context.Context, q UsageQuery) (directory.UsageFilter, error) {
	switch q.Result {
	case "", ResultSuccess, ResultDenied:
	default:
		return directory.UsageFilter{}, invalid("--result", "%q is not success or denied", q.Result)
	}
	f := directory.UsageFilter{Since: q.Since, Until: q.Until, Result: q.Result, Mode: q.Mode}
	if q.User != "" {
		f.UPNs = []string{q.User}
		u, err := r.store.GetUser(ctx, q.User)
		switch {
		case errors.Is(err, directory.ErrNotFound):
			f.UPNs, f.UPNAnyCase = nil, q.User
		case err != nil:
			return directory.UsageFilter{}, err
		case u.UPN != q.User:
			f.UPNs = append(f.UPNs, u.UPN)
		}
	}
	return f, nil
}

// Events returns the auth events of q in time order, read from the directory as the caller
// iterates. Calling the returned function again runs the query again.
func (r *Reporter) Events(ctx context.Context, q UsageQuery) (iter.Seq2[directory.AuthEvent, error], error) {
	f, err := r.filter(ctx, q)
	if err != nil {
		return nil, err
	}
	return r.store.UsageEvents(ctx, f), nil
}

// Groups counts the auth events of q per group: days in calendar order, other dimensions by
// total descending, then by name. Only groups with events appear. The groups are read from
// the directory as the caller iterates (there may be one per user); calling the returned
// function again runs the query again.
func (r *Reporter) Groups(ctx context.Context, q UsageQuery, by GroupBy) (iter.Seq2[Group, error], error) {
	dim, ok := dimensions[by]
	if !ok {
		return nil, invalid("--by", "%q is not day, user, method or result", by)
	}
	f, err := r.filter(ctx, q)
	if err != nil {
		return nil, err
	}
	return func(yield func(Group, error) bool) {
		for c, err := range r.store.UsageCounts(ctx, f, dim) {
			if !yield(Group{Group: c.Key, Success: c.Success, Denied: c.Denied, Total: c.Total}, err) || err != nil {
				return
			}
		}
	}, nil
}

// DenialReasons counts the denied auth events of q per result code, most frequent first. A
// query for successes only has no denials.
func (r *Reporter) DenialReasons(ctx context.Context, q UsageQuery) ([]Reason, error) {
	out := []Reason{}
	if q.Result == ResultSuccess {
		return out, nil
	}
	q.Result = ResultDenied
	f, err := r.filter(ctx, q)
	if err != nil {
		return nil, err
	}
	for c, err := range r.store.UsageCounts(ctx, f, directory.ByResultCode) {
		if err != nil {
			return nil, err
		}
		out = append(out, Reason{ResultCode: c.Key, Count: c.Denied})
	}
	return out, nil
}

// Registration returns every user with their methods: users without any OATH method first,
// then the others, each part by UPN. Calling the returned function again runs the query again.
func (r *Reporter) Registration(ctx context.Context) iter.Seq2[directory.User, error] {
	return r.store.RegistrationUsers(ctx)
}

// RegistrationTotals sums the registration report.
type RegistrationTotals struct {
	Users           int64
	NoMethod        int64 // users without any OATH method
	MustRegister    int64
	Blocked         int64
	Methods         int64
	TokensActivated int64
	TokensPending   int64
	AppPasswords    int64
}

// Add counts one user.
func (t *RegistrationTotals) Add(u directory.User) {
	t.Users++
	if u.Methods == 0 {
		t.NoMethod++
	}
	if u.MustRegister {
		t.MustRegister++
	}
	if u.State == directory.UserBlocked {
		t.Blocked++
	}
	t.Methods += int64(u.Methods)
	t.TokensActivated += int64(u.TokensActivated)
	t.TokensPending += int64(u.TokensPending)
	t.AppPasswords += int64(u.AppPasswords)
}

// Inventory counts the hardware tokens per manufacturer and model by status, and returns the
// sums over all of them (Manufacturer and Model empty).
func (r *Reporter) Inventory(ctx context.Context) (rows []directory.InventoryRow, total directory.InventoryRow, err error) {
	rows, err = r.store.TokenInventory(ctx)
	if err != nil {
		return nil, total, err
	}
	for _, x := range rows {
		total.Total += x.Total
		total.Available += x.Available
		total.Assigned += x.Assigned
		total.Activated += x.Activated
		total.FailedActivation += x.FailedActivation
		total.Disabled += x.Disabled
		total.Unassigned += x.Unassigned
	}
	return rows, total, nil
}

// UnusedTokens returns the tokens handed out to users that have not been used for at least
// unusedFor: last used before now minus unusedFor, or never used at all (whether activated or
// still pending). The longest unused come first, never used first of all. It also returns the
// cutoff time.
func (r *Reporter) UnusedTokens(ctx context.Context, unusedFor time.Duration) (iter.Seq2[directory.Token, error], time.Time, error) {
	if unusedFor <= 0 {
		return nil, time.Time{}, invalid("--unused-for", "want a positive age like 90d")
	}
	cutoff := r.now().Add(-unusedFor).UTC()
	return r.store.UnusedTokens(ctx, cutoff), cutoff, nil
}

// Audit returns the audit events of the window in time order. Calling the returned function
// again runs the query again.
func (r *Reporter) Audit(ctx context.Context, w Window) iter.Seq2[directory.AuditEvent, error] {
	return r.store.AuditEvents(ctx, directory.AuditFilter{Since: w.Since, Until: w.Until})
}

// Results of audit events.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
)

// AuditQuery selects the events of the audit report; zero fields match everything.
type AuditQuery struct {
	Window
	// User selects the changes concerning a UPN, in any letter case: those whose target it is
	// (users add, block, reset, ...) and those whose detail names it (tokens assign, activate,
	// unassign, ...).
	User   string
	Result string // "", AuditSuccess or AuditFailure
}

// AuditTrail returns the audit events of q in time order. The user and result filters apply
// as the events are read: admin changes are few next to auth events. Calling the returned
// function again runs the query again.
func (r *Reporter) AuditTrail(ctx context.Context, q AuditQuery) (iter.Seq2[directory.AuditEvent, error], error) {
	switch q.Result {
	case "", AuditSuccess, AuditFailure:
	default:
		return nil, invalid("--result", "%q is not success or failure", q.Result)
	}
	events := r.Audit(ctx, q.Window)
	return func(yield func(directory.AuditEvent, error) bool) {
		for e, err := range events {
			if err == nil && (q.Result != "" && e.Result != q.Result || q.User != "" && !concerns(e, q.User)) {
				continue
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}, nil
}

// concerns reports whether the audit event e is about the user upn: its target is the UPN, or
// its detail names it as a whole word ("assigned to helga@contoso.com"), in any letter case.
func concerns(e directory.AuditEvent, upn string) bool {
	if strings.EqualFold(e.Target, upn) {
		return true
	}
	detail, want := strings.ToLower(e.Detail), strings.ToLower(upn)
	for i := 0; ; {
		j := strings.Index(detail[i:], want)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(want)
		before, _ := utf8.DecodeLastRuneInString(detail[:start])
		after, _ := utf8.DecodeRuneInString(detail[end:])
		if (start == 0 || !upnRune(before)) && (end == len(detail) || !upnRune(after)) {
			return true
		}
		i = start + 1
	}
}

// upnRune reports whether r can be part of a UPN, so that a match of helga@contoso.com inside
// olga.helga@contoso.com.au is not taken for it.
func upnRune(r rune) bool {
	return !unicode.IsSpace(r) && !strings.ContainsRune(`,;:()[]<>"`, r)
}
