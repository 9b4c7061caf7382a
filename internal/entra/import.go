package entra

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
)

// CodeUnsupported is the problem of a row Entra ID cannot hold: more than 6 digits, SHA512, or
// a period other than 30 or 60 seconds.
const CodeUnsupported = "entra.unsupported"

// CodeGraph is the problem of a row Graph refused or failed while the import ran; the message
// carries Graph's error code and the client-request-id.
const CodeGraph = "graph.error"

// secretEncoding is what Graph wants for secretKey: Base32, upper case, without padding.
var secretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// importAction is what an import does with one row.
type importAction int

const (
	actNone     importAction = iota // unchanged, skipped or rejected
	actCreate                       // a new device (then assigned when the row names a user)
	actAssign                       // an existing unassigned device with the row's data: assign it
	actUpdate                       // an existing unassigned device with other data: update (then assign)
	actRejected                     // rejected while the import ran
)

type importRow struct {
	directory.ImportRow
	hash   string // Graph's hash function
	period int
	userID string // the owner's object id, "" for stock
	dev    *graph.Device
	act    importAction
	// outcome and detail are set for the rows the writes do not decide: unchanged, skipped,
	// rejected and failed ones.
	outcome, detail string
}

// ImportTokens imports tokens into the tenant's inventory. Graph has no transactions, so the
// promise differs from the SQL backends': the source is read to its end first, and nothing is
// sent when it yields an error or, without SkipInvalid, when a row has a problem; then the new
// tokens are created (in bulk where Graph allows), the tokens whose data changed updated
// (DuplicateUpdate, only while unassigned: Graph changes nothing else), and the rows that name
// a user assigned. A failure half-way leaves what was done; importing the same rows again
// finishes the job: a token created by the failed run but not assigned is assigned (and
// counted as imported), one already assigned to the row's user is unchanged, and nothing is
// created twice.
//
// Graph never returns secrets, so an existing token is unchanged when its manufacturer, model,
// period, hash and (when the row names one) owner match; its secret cannot be compared, nor
// changed. Users are never created: a UPN the tenant does not have is a user.unknown problem.
// Graph enforces the per-user method limit itself; its refusal is the row's problem.
func (d *Directory) ImportTokens(ctx context.Context, src iter.Seq2[directory.ImportRow, error], opts directory.ImportOptions) (directory.ImportResult, error) {
	var res directory.ImportResult
	if opts.OnDuplicate == "" {
		opts.OnDuplicate = directory.DuplicateFail
	}
	switch opts.OnDuplicate {
	case directory.DuplicateFail, directory.DuplicateSkip, directory.DuplicateUpdate:
	default:
		return res, fmt.Errorf("importing tokens: unknown duplicate policy %q", opts.OnDuplicate)
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = directory.DefaultMaxProblems
	}
	im := &entraImport{d: d, opts: opts, res: &res}

	// Everything is read before anything is sent: an invalid file writes nothing.
	defer func() {
		for i := range im.rows {
			clear(im.rows[i].Secret)
		}
	}()
	for row, err := range src {
		if err != nil {
			return res, err
		}
		row.Secret = append([]byte(nil), row.Secret...)
		im.rows = append(im.rows, importRow{ImportRow: row})
	}
	res.Rows = len(im.rows)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("import cancelled; nothing was written: %w", err)
	}
	if err := im.classify(ctx); err != nil {
		return res, err
	}
	if res.Rejected > 0 && !opts.SkipInvalid {
		im.progress()
		// Nothing is sent: the outcomes are the plan, for a report to settle (rejected rows
		// keep their code, the others were not imported).
		im.outcomes()
		return res, &directory.ImportError{Rejected: res.Rejected}
	}
	if opts.DryRun {
		im.progress()
		im.outcomes()
		return res, nil
	}
	im.run(ctx)
	res.Committed = true
	im.progress()
	im.outcomes()
	return res, nil
}

// outcomes tells OnOutcome what became of each row, in source order.
func (im *entraImport) outcomes() {
	if im.opts.OnOutcome == nil {
		return
	}
	for i := range im.rows {
		r := &im.rows[i]
		o := directory.RowOutcome{Line: r.Line, Serial: r.Serial, UPN: r.UPN, Outcome: r.outcome, Detail: r.detail}
		if o.Outcome == "" {
			switch r.act {
			case actCreate:
				o.Outcome = directory.OutcomeCreated
			case actAssign:
				o.Outcome = directory.OutcomeAssigned
			case actUpdate:
				o.Outcome = directory.OutcomeUpdated
			default:
				o.Outcome = directory.OutcomeUnchanged
			}
		}
		im.opts.OnOutcome(o)
	}
}

type entraImport struct {
	d    *Directory
	opts directory.ImportOptions
	res  *directory.ImportResult
	rows []importRow

	mu       sync.Mutex // guards res and the problems while the writes run in parallel
	problems []directory.RowProblem
}

func (im *entraImport) progress() {
	if im.opts.Progress != nil {
		im.opts.Progress(len(im.rows))
	}
}

// reject books a problem of row r. Problems found while classifying are reported in row order;
// those of the writes as they come.
func (im *entraImport) reject(r *importRow, column, code, msg string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	r.act = actRejected
	r.outcome, r.detail = directory.OutcomeRejected, code
	im.res.Rejected++
	p := directory.RowProblem{Line: r.Line, Serial: r.Serial, Column: column, Code: code, Message: msg}
	if len(im.res.Problems) < im.opts.MaxProblems {
		im.res.Problems = append(im.res.Problems, p)
	}
	if im.opts.OnProblem != nil {
		im.opts.OnProblem(p)
	}
}

func (im *entraImport) count(f func(*directory.ImportResult)) {
	im.mu.Lock()
	f(im.res)
	im.mu.Unlock()
}

// graphHash maps a row's hash to Graph's name; "" when Entra ID has no such token.
func graphHash(h string) string {
	switch strings.ToUpper(h) {
	case "", "SHA1":
		return graph.HashSHA1
	case "SHA256":
		return graph.HashSHA256
	}
	return ""
}

// classify reads the inventory and the users the rows name, and decides each row.
func (im *entraImport) classify(ctx context.Context) error {
	d := im.d
	devs, err := d.devices(ctx)
	if err != nil {
		return fmt.Errorf("listing the hardware tokens of %s: %w", d.tenant, err)
	}
	bySerial := map[string][]graph.Device{}
	for _, dev := range devs {
		k := directory.Key(dev.SerialNumber)
		bySerial[k] = append(bySerial[k], dev)
	}
	users, err := im.resolveUsers(ctx)
	if err != nil {
		return err
	}
	for i := range im.rows {
		r := &im.rows[i]
		r.period = r.Period
		if r.period == 0 {
			r.period = 30
		}
		r.hash = graphHash(r.Hash)
		switch {
		case r.Digits != 0 && r.Digits != 6:
			im.reject(r, "digits", CodeUnsupported, fmt.Sprintf("token %s has %d digits; Microsoft Entra ID accepts 6-digit hardware tokens only", r.Serial, r.Digits))
			continue
		case r.hash == "":
			im.reject(r, "hash", CodeUnsupported, fmt.Sprintf("token %s uses %s; Microsoft Entra ID accepts SHA1 and SHA256 only", r.Serial, r.Hash))
			continue
		case r.period != 30 && r.period != 60:
			im.reject(r, "time interval", CodeUnsupported, fmt.Sprintf("token %s has a period of %d s; Microsoft Entra ID accepts 30 and 60 only", r.Serial, r.period))
			continue
		}
		if r.UPN != "" {
			id, ok := users[directory.Key(r.UPN)]
			if !ok {
				im.reject(r, "upn", directory.CodeUserUnknown, fmt.Sprintf("user %s is not in %s", r.UPN, d.tenant))
				continue
			}
			r.userID = id
		}
		existing := bySerial[directory.Key(r.Serial)]
		switch len(existing) {
		case 0:
			r.act = actCreate
			bySerial[directory.Key(r.Serial)] = []graph.Device{{SerialNumber: r.Serial}} // a repeat in the file is a duplicate
			im.res.Imported++
			continue
		case 1:
		default:
			im.reject(r, "serial number", directory.CodeSerialExists, fmt.Sprintf("%s holds %d hardware tokens with serial number %s; delete the extra ones first", d.tenant, len(existing), r.Serial))
			continue
		}
		dev := existing[0]
		r.dev = &dev
		if dev.ID == "" {
			im.reject(r, "serial number", directory.CodeSerialExists, fmt.Sprintf("serial number %s appears more than once", r.Serial))
			continue
		}
		owner := ""
		if dev.AssignedTo != nil {
			owner = dev.AssignedTo.ID
		}
		sameData := dev.Manufacturer == r.Manufacturer && dev.Model == r.Model && int(dev.TimeIntervalInSeconds) == r.period &&
			strings.EqualFold(dev.HashFunction, r.hash)
		sameOwner := r.userID == "" || owner == r.userID
		switch {
		case sameData && sameOwner:
			im.res.Unchanged++
			r.outcome = directory.OutcomeUnchanged
		case sameData && owner == "":
			// Created by an earlier run that failed before assigning it: finish the job.
			r.act = actAssign
			im.res.Imported++
		case im.opts.OnDuplicate == directory.DuplicateSkip:
			im.res.Skipped++
			r.outcome = directory.OutcomeSkipped
		case im.opts.OnDuplicate == directory.DuplicateUpdate && owner == "":
			r.act = actUpdate
			im.res.Updated++
		case im.opts.OnDuplicate == directory.DuplicateUpdate:
			im.reject(r, "serial number", directory.CodeSerialExists, fmt.Sprintf("token %s is assigned to %s; Graph changes a token only while it is unassigned: unassign it first",
				r.Serial, im.ownerName(ctx, owner)))
		default:
			im.reject(r, "serial number", directory.CodeSerialExists, fmt.Sprintf("token %s is already in %s with other data", r.Serial, d.tenant))
		}
	}
	return nil
}

func (im *entraImport) ownerName(ctx context.Context, id string) string {
	if upn, err := im.d.ownerUPN(ctx, id); err == nil {
		return upn
	}
	return id
}

// resolveUsers looks up every UPN the rows name, Parallel at a time: key -> object id. A UPN the
// tenant does not have is left out.
func (im *entraImport) resolveUsers(ctx context.Context) (map[string]string, error) {
	var upns []string
	seen := map[string]bool{}
	for _, r := range im.rows {
		if k := directory.Key(r.UPN); r.UPN != "" && !seen[k] {
			seen[k] = true
			upns = append(upns, r.UPN)
		}
	}
	ids := make([]string, len(upns))
	errs := make([]error, len(upns))
	work := im.begin(directory.WorkChecking, len(upns))
	im.d.pool(len(upns), func(i int) {
		defer work.step(1)
		u, err := im.d.c.GetUser(ctx, upns[i])
		switch {
		case graph.IsNotFound(err):
		case err != nil:
			errs[i] = fmt.Errorf("reading user %s of %s: %w", upns[i], im.d.tenant, err)
		default:
			ids[i] = u.ID
			im.d.mu.Lock()
			im.d.owners[u.ID] = u.UserPrincipalName
			im.d.mu.Unlock()
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, upn := range upns {
		if ids[i] != "" {
			out[directory.Key(upn)] = ids[i]
		}
	}
	return out, nil
}

// pool runs fn(0..n-1) with at most Parallel running at once.
func (d *Directory) pool(n int, fn func(int)) {
	sem := make(chan struct{}, d.parallel)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// run sends the writes: the creations in bulk, the updates, then the assignments. A row whose
// write fails is rejected with Graph's error and leaves the others alone.
func (im *entraImport) run(ctx context.Context) {
	d := im.d
	var create []*importRow
	var devices []graph.Device
	for i := range im.rows {
		r := &im.rows[i]
		if r.act != actCreate {
			continue
		}
		create = append(create, r)
		devices = append(devices, graph.Device{SerialNumber: r.Serial, Manufacturer: r.Manufacturer, Model: r.Model,
			SecretKey: graph.Secret(secretEncoding.EncodeToString(r.Secret)), TimeIntervalInSeconds: graph.Seconds(r.period), HashFunction: r.hash})
	}
	if len(devices) > 0 {
		// In groups of what the client sends at once, so that the progress moves as they
		// complete rather than once at the end.
		work := im.begin(directory.WorkCreating, len(devices))
		group := d.parallel * graph.DefaultBulkSize
		results := make([]graph.CreateResult, 0, len(devices))
		for start := 0; start < len(devices); start += group {
			end := min(start+group, len(devices))
			results = append(results, d.c.CreateDevices(ctx, devices[start:end])...)
			work.step(end - start)
		}
		for i := range devices {
			devices[i].SecretKey = ""
		}
		d.pool(len(results), func(k int) {
			res, r := results[k], create[k]
			if res.Err == nil {
				r.dev = res.Device
				return
			}
			if errors.Is(res.Err, graph.ErrNotInBulkResponse) || graph.IsOutcomeUnknown(res.Err) {
				// It may exist: look before calling it failed, so a re-run has nothing to guess.
				devs, err := d.c.DevicesBySerial(ctx, r.Serial)
				if err == nil && len(devs) == 1 {
					r.dev = &devs[0]
					return
				}
				if err == nil {
					err = res.Err
				}
				im.failed(r, fmt.Sprintf("creating token %s: the outcome is unknown; import again to finish", r.Serial), err)
				return
			}
			im.failed(r, "creating token "+r.Serial, res.Err)
		})
	}
	work := im.begin(directory.WorkUpdating, im.countRows(func(r *importRow) bool { return r.act == actUpdate }))
	d.pool(len(im.rows), func(i int) {
		r := &im.rows[i]
		if r.act != actUpdate {
			return
		}
		defer work.step(1)
		upd := graph.DeviceUpdate{Manufacturer: &r.Manufacturer, Model: &r.Model, HashFunction: &r.hash}
		s := graph.Seconds(r.period)
		upd.TimeIntervalInSeconds = &s
		if err := d.c.UpdateDevice(ctx, r.dev.ID, upd); err != nil {
			im.failed(r, "updating token "+r.Serial, err)
		}
	})
	toAssign := func(r *importRow) bool {
		return r.userID != "" && r.dev != nil && (r.act == actCreate || r.act == actAssign || r.act == actUpdate)
	}
	work = im.begin(directory.WorkAssigning, im.countRows(toAssign))
	d.pool(len(im.rows), func(i int) {
		r := &im.rows[i]
		if !toAssign(r) {
			return
		}
		defer work.step(1)
		if _, err := d.c.AssignDevice(ctx, r.userID, r.dev.ID); err != nil {
			what := "assigning token " + r.Serial + " to " + r.UPN
			if r.act == actCreate {
				what += " (it was created: import again to assign it)"
			}
			im.failed(r, what, err)
		}
	})
}

// countRows counts the rows for which ok is true.
func (im *entraImport) countRows(ok func(*importRow) bool) int {
	n := 0
	for i := range im.rows {
		if ok(&im.rows[i]) {
			n++
		}
	}
	return n
}

// begin starts a phase of total steps, reported to OnWork.
func (im *entraImport) begin(phase string, total int) *workMeter {
	return beginWork(im.opts.OnWork, phase, total)
}

// failed rejects a row whose write failed; it no longer counts as imported or updated.
func (im *entraImport) failed(r *importRow, what string, err error) {
	act := r.act
	im.count(func(res *directory.ImportResult) {
		switch act {
		case actCreate, actAssign:
			res.Imported--
		case actUpdate:
			res.Updated--
		}
	})
	im.reject(r, "", CodeGraph, fmt.Sprintf("%s: %v", what, err))
	r.outcome, r.detail = directory.OutcomeFailed, failureDetail(err)
}

// failureDetail is what a report says of a failed write: Graph's error code and the request
// ids Microsoft support traces it by; never the message, which may quote the request.
func failureDetail(err error) string {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		if errors.Is(err, graph.ErrNotInBulkResponse) {
			return "notInBulkResponse"
		}
		return "error"
	}
	parts := []string{}
	if ge.Code != "" {
		parts = append(parts, ge.Code)
	} else if ge.StatusCode != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", ge.StatusCode))
	} else {
		parts = append(parts, "noResponse")
	}
	if ge.ClientRequestID != "" {
		parts = append(parts, "client-request-id="+ge.ClientRequestID)
	}
	if ge.RequestID != "" {
		parts = append(parts, "request-id="+ge.RequestID)
	}
	return strings.Join(parts, " ")
}
