// Package entra is the Microsoft Entra ID backend of the directory: it implements
// directory.Directory over Microsoft Graph (internal/graph). This version reads the hardware
// token inventory, the users with their OATH methods and the reports (reports.go); it imports
// tokens (import.go), assigns, unassigns and deletes them (assign.go), activates them
// (activate.go), blocks and unblocks users (block.go) and resets their registrations
// (reset.go). Every other operation is refused with an error that matches directory.ErrUnsupported and says why, and,
// where Graph can never do it, what to do instead.
//
// Entra ID keeps an audit log of its own (the directory audits), so this backend writes no audit
// rows; it has no transactions, so nothing here claims the atomicity of the SQL backends.
package entra

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/signin"
	"github.com/mfactl/mfactl/internal/graph"
)

// Options configure Open.
type Options struct {
	// GraphURL is the Graph endpoint without version (default graph.DefaultBaseURL).
	GraphURL string
	// Tokens gives the bearer tokens (a *signin.Source in the binary).
	Tokens graph.TokenSource
	// HTTPClient sends the Graph requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Parallel bounds the concurrent requests (default graph.DefaultParallel).
	Parallel int
	// Debug receives a log of every request and response, secrets redacted.
	Debug io.Writer
	// PageSize is the $top asked of every listing; 0 leaves it to Graph.
	PageSize int

	// graph lets the package's tests adjust the client (clock, sleeps).
	graph func(*graph.Options)
}

// Directory is a tenant's directory through Graph. It is safe for concurrent use.
type Directory struct {
	tenant   string
	c        *graph.Client
	parallel int
	top      int

	mu     sync.Mutex
	owners map[string]string // user object id -> UPN, so each owner is asked for once
}

var _ directory.Directory = (*Directory)(nil)

// Open prepares the directory of tenant (a tenant id, a verified domain or an entra://
// location). It sends nothing: the first operation signs in and reads.
func Open(ctx context.Context, tenant string, opts Options) (*Directory, error) {
	t, err := signin.ParseTenant(tenant)
	if err != nil {
		return nil, err
	}
	if opts.Tokens == nil {
		return nil, errors.New("entra: no token source to sign in with")
	}
	gopts := graph.Options{BaseURL: opts.GraphURL, HTTPClient: opts.HTTPClient, Tokens: opts.Tokens,
		Parallel: opts.Parallel, Debug: opts.Debug}
	if opts.graph != nil {
		opts.graph(&gopts)
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = graph.DefaultParallel
	}
	return &Directory{tenant: t, c: graph.New(gopts), parallel: parallel, top: opts.PageSize, owners: map[string]string{}}, nil
}

// Tenant is the tenant as the location names it.
func (d *Directory) Tenant() string { return d.tenant }

// Close releases nothing: the HTTP client's connections are the caller's.
func (d *Directory) Close() error { return nil }

// ---- tokens ----

// statuses maps Graph's device states to the local ones. Graph has no disabled state.
var statuses = map[graph.DeviceStatus]directory.TokenStatus{
	graph.StatusAvailable:        directory.StatusAvailable,
	graph.StatusAssigned:         directory.StatusAssigned,
	graph.StatusActivated:        directory.StatusActivated,
	graph.StatusFailedActivation: directory.StatusFailedActivation,
}

func tokenStatus(s graph.DeviceStatus) directory.TokenStatus {
	if st, ok := statuses[s]; ok {
		return st
	}
	// A state added to Graph after this version is shown as Graph names it, not guessed.
	return directory.TokenStatus(s)
}

var hashes = map[string]string{graph.HashSHA1: "SHA1", graph.HashSHA256: "SHA256"}

// token maps a device to the local model. Graph has no digits field, but Entra ID accepts only
// 6-digit hardware tokens, so every token it holds has 6. Graph keeps no creation, activation,
// drift or failure data: those stay zero (null or 0 in the listings).
func (d *Directory) token(ctx context.Context, dev graph.Device) (directory.Token, error) {
	t := directory.Token{
		Serial: dev.SerialNumber, Manufacturer: dev.Manufacturer, Model: dev.Model,
		Period: int(dev.TimeIntervalInSeconds), Digits: 6, Status: tokenStatus(dev.Status),
		Hash: cmp.Or(hashes[strings.ToLower(dev.HashFunction)], dev.HashFunction),
	}
	if dev.LastUsedDateTime != nil {
		t.LastUsedAt = dev.LastUsedDateTime.UTC()
	}
	if dev.AssignedTo != nil && dev.AssignedTo.ID != "" {
		upn, err := d.ownerUPN(ctx, dev.AssignedTo.ID)
		if err != nil {
			return t, fmt.Errorf("token %s: reading its owner %s: %w", dev.SerialNumber, dev.AssignedTo.ID, err)
		}
		t.UPN = upn
	}
	return t, nil
}

// ownerUPN resolves a user's object id to the UPN, once per id per command. A user Graph no
// longer has (deleted since the assignment) is shown by its id rather than failing the listing.
func (d *Directory) ownerUPN(ctx context.Context, id string) (string, error) {
	d.mu.Lock()
	upn, ok := d.owners[id]
	d.mu.Unlock()
	if ok {
		return upn, nil
	}
	u, err := d.c.GetUser(ctx, id)
	switch {
	case graph.IsNotFound(err):
		upn = id
	case err != nil:
		return "", err
	default:
		upn = u.UserPrincipalName
	}
	d.mu.Lock()
	d.owners[id] = upn
	d.mu.Unlock()
	return upn, nil
}

// devices reads every page of the inventory.
func (d *Directory) devices(ctx context.Context) ([]graph.Device, error) {
	return d.c.ListDevices(ctx, graph.ListOptions{Top: d.top})
}

// allTokens is the whole inventory in the local model, ordered by serial number as locally.
func (d *Directory) allTokens(ctx context.Context) ([]directory.Token, error) {
	devs, err := d.devices(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the hardware tokens of %s: %w", d.tenant, err)
	}
	out := make([]directory.Token, 0, len(devs))
	for _, dev := range devs {
		t, err := d.token(ctx, dev)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b directory.Token) int {
		return cmp.Or(cmp.Compare(directory.Key(a.Serial), directory.Key(b.Serial)), cmp.Compare(a.Serial, b.Serial))
	})
	return out, nil
}

func matches(t directory.Token, f directory.TokenFilter) bool {
	eq := func(want, have string) bool { return want == "" || directory.Key(want) == directory.Key(have) }
	return eq(f.UPN, t.UPN) && (f.Status == "" || f.Status == t.Status) && eq(f.Manufacturer, t.Manufacturer) && eq(f.Model, t.Model)
}

// ListTokens returns the tokens that match f, ordered by serial number.
func (d *Directory) ListTokens(ctx context.Context, f directory.TokenFilter) ([]directory.Token, error) {
	all, err := d.allTokens(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, t := range all {
		if matches(t, f) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Tokens yields the tokens that match f, ordered by serial number. Graph does not sort by serial,
// so the whole inventory is read first.
func (d *Directory) Tokens(ctx context.Context, f directory.TokenFilter) iter.Seq2[directory.Token, error] {
	return func(yield func(directory.Token, error) bool) {
		toks, err := d.ListTokens(ctx, f)
		if err != nil {
			yield(directory.Token{}, err)
			return
		}
		for _, t := range toks {
			if !yield(t, nil) {
				return
			}
		}
	}
}

// GetToken returns the token with this serial number.
func (d *Directory) GetToken(ctx context.Context, serial string) (directory.Token, error) {
	devs, err := d.c.DevicesBySerial(ctx, serial)
	if err != nil {
		return directory.Token{}, fmt.Errorf("reading token %s of %s: %w", serial, d.tenant, err)
	}
	switch len(devs) {
	case 0:
		return directory.Token{}, &directory.NotFoundError{Kind: "token", Name: serial}
	case 1:
		return d.token(ctx, devs[0])
	}
	return directory.Token{}, &directory.ConflictError{Msg: fmt.Sprintf("%s holds %d hardware tokens with serial number %s", d.tenant, len(devs), serial)}
}

// CountTokens counts the inventory by status.
func (d *Directory) CountTokens(ctx context.Context) (map[directory.TokenStatus]int, error) {
	devs, err := d.devices(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the hardware tokens of %s: %w", d.tenant, err)
	}
	out := map[directory.TokenStatus]int{}
	for _, dev := range devs {
		out[tokenStatus(dev.Status)]++
	}
	return out, nil
}

// TokenInventory counts the tokens per manufacturer and model by status, from one read of the
// inventory (no owner is resolved: the counts need none).
func (d *Directory) TokenInventory(ctx context.Context) ([]directory.InventoryRow, error) {
	devs, err := d.devices(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the hardware tokens of %s: %w", d.tenant, err)
	}
	type key struct{ m, model string }
	rows := map[key]*directory.InventoryRow{}
	for _, dev := range devs {
		k := key{dev.Manufacturer, dev.Model}
		r := rows[k]
		if r == nil {
			r = &directory.InventoryRow{Manufacturer: dev.Manufacturer, Model: dev.Model}
			rows[k] = r
		}
		r.Total++
		switch tokenStatus(dev.Status) {
		case directory.StatusAvailable:
			r.Available++
		case directory.StatusAssigned:
			r.Assigned++
		case directory.StatusActivated:
			r.Activated++
		case directory.StatusFailedActivation:
			r.FailedActivation++
		}
		if dev.AssignedTo == nil || dev.AssignedTo.ID == "" {
			r.Unassigned++
		}
	}
	out := make([]directory.InventoryRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b directory.InventoryRow) int {
		return cmp.Or(cmp.Compare(a.Manufacturer, b.Manufacturer), cmp.Compare(a.Model, b.Model))
	})
	return out, nil
}

// ---- users ----

// user maps a Graph user; an account whose sign-in is disabled is blocked.
func user(u graph.User) directory.User {
	out := directory.User{UPN: u.UserPrincipalName, DisplayName: u.DisplayName, Email: u.Mail, Phone: u.MobilePhone,
		State: directory.UserActive}
	if u.AccountEnabled != nil && !*u.AccountEnabled {
		out.State = directory.UserBlocked
	}
	return out
}

// methods fills a user's counts: the hardware tokens from the inventory (byOwner, by object
// id) and the software OATH methods from the user's authentication methods.
func (d *Directory) methods(ctx context.Context, id string, u *directory.User, byOwner map[string][]graph.Device) error {
	for _, dev := range byOwner[id] {
		u.Methods++
		switch tokenStatus(dev.Status) {
		case directory.StatusActivated:
			u.TokensActivated++
		case directory.StatusAssigned, directory.StatusFailedActivation:
			u.TokensPending++
		}
	}
	ms, err := d.c.ListAuthMethods(ctx, id)
	if err != nil {
		return fmt.Errorf("reading the authentication methods of %s: %w", u.UPN, err)
	}
	for _, m := range ms {
		if m.Kind() == graph.KindSoftwareOath {
			u.Methods++
		}
	}
	return nil
}

func (d *Directory) devicesByOwner(ctx context.Context) (map[string][]graph.Device, error) {
	devs, err := d.devices(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the hardware tokens of %s: %w", d.tenant, err)
	}
	out := map[string][]graph.Device{}
	for _, dev := range devs {
		if dev.AssignedTo != nil && dev.AssignedTo.ID != "" {
			out[dev.AssignedTo.ID] = append(out[dev.AssignedTo.ID], dev)
		}
	}
	return out, nil
}

// ListUsers returns the tenant's users ordered by UPN, with their OATH method counts: one read
// of the inventory, and one request per user for the software OATH methods, Parallel at a time.
func (d *Directory) ListUsers(ctx context.Context) ([]directory.User, error) {
	gus, err := d.c.ListUsers(ctx, graph.ListOptions{Top: d.top})
	if err != nil {
		return nil, fmt.Errorf("listing the users of %s: %w", d.tenant, err)
	}
	byOwner, err := d.devicesByOwner(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]directory.User, len(gus))
	errs := make([]error, len(gus))
	sem := make(chan struct{}, d.parallel)
	var wg sync.WaitGroup
	for i, gu := range gus {
		out[i] = user(gu)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = d.methods(ctx, gu.ID, &out[i], byOwner)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b directory.User) int { return cmp.Compare(directory.Key(a.UPN), directory.Key(b.UPN)) })
	return out, nil
}

// Users yields the users of ListUsers.
func (d *Directory) Users(ctx context.Context) iter.Seq2[directory.User, error] {
	return func(yield func(directory.User, error) bool) {
		us, err := d.ListUsers(ctx)
		if err != nil {
			yield(directory.User{}, err)
			return
		}
		for _, u := range us {
			if !yield(u, nil) {
				return
			}
		}
	}
}

// GetUser returns one user with their OATH method counts.
func (d *Directory) GetUser(ctx context.Context, upn string) (directory.User, error) {
	gu, err := d.c.GetUser(ctx, upn)
	if graph.IsNotFound(err) {
		return directory.User{}, &directory.NotFoundError{Kind: "user", Name: upn}
	}
	if err != nil {
		return directory.User{}, fmt.Errorf("reading user %s of %s: %w", upn, d.tenant, err)
	}
	u := user(*gu)
	oath, err := d.c.ListUserOathMethods(ctx, gu.ID)
	if err != nil {
		return directory.User{}, fmt.Errorf("reading the hardware tokens of %s: %w", u.UPN, err)
	}
	byOwner := map[string][]graph.Device{}
	for _, m := range oath {
		if m.Device != nil {
			byOwner[gu.ID] = append(byOwner[gu.ID], *m.Device)
		}
	}
	d.mu.Lock()
	d.owners[gu.ID] = gu.UserPrincipalName
	d.mu.Unlock()
	if err := d.methods(ctx, gu.ID, &u, byOwner); err != nil {
		return directory.User{}, err
	}
	return u, nil
}

// CountMethods counts the user's OATH methods (hardware and software).
func (d *Directory) CountMethods(ctx context.Context, upn string) (int, error) {
	u, err := d.GetUser(ctx, upn)
	return u.Methods, err
}

// ListAuthApps returns the user's software OATH methods: Graph gives their id and creation
// time only (no name, issuer or parameters, and never the secret).
func (d *Directory) ListAuthApps(ctx context.Context, upn string) ([]directory.AuthApp, error) {
	ms, err := d.c.ListAuthMethods(ctx, upn)
	if graph.IsNotFound(err) {
		return nil, &directory.NotFoundError{Kind: "user", Name: upn}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the authentication methods of %s: %w", upn, err)
	}
	var out []directory.AuthApp
	for _, m := range ms {
		if m.Kind() != graph.KindSoftwareOath {
			continue
		}
		a := directory.AuthApp{ID: m.ID, UPN: upn}
		if m.CreatedDateTime != nil {
			a.CreatedAt = m.CreatedDateTime.UTC()
		}
		out = append(out, a)
	}
	return out, nil
}

// UnusedTokens yields the tokens with an owner that were not used since cutoff, the longest
// idle first, then by serial. Graph keeps only the last use of a token (no assignment or
// activation time), so a token never used counts as unused whatever its age, and comes first.
func (d *Directory) UnusedTokens(ctx context.Context, cutoff time.Time) iter.Seq2[directory.Token, error] {
	return func(yield func(directory.Token, error) bool) {
		var idle []directory.Token
		for t, err := range d.Tokens(ctx, directory.TokenFilter{}) {
			if err != nil {
				yield(directory.Token{}, err)
				return
			}
			if t.UPN != "" && !t.LastUsedAt.After(cutoff) {
				idle = append(idle, t)
			}
		}
		slices.SortStableFunc(idle, func(a, b directory.Token) int {
			return cmp.Or(a.LastUsedAt.Compare(b.LastUsedAt), cmp.Compare(directory.Key(a.Serial), directory.Key(b.Serial)))
		})
		for _, t := range idle {
			if !yield(t, nil) {
				return
			}
		}
	}
}
