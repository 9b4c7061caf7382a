package entra

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
)

// isMethodChange says whether a directory audit entry is a change of authentication methods:
// logged by the Authentication Methods service, or an activity that names them ("User
// registered security info", "Update hardware OATH token", ...).
func isMethodChange(a graph.DirectoryAudit) bool {
	if strings.EqualFold(a.LoggedByService, "Authentication Methods") {
		return true
	}
	act := strings.ToLower(a.ActivityDisplayName)
	for _, w := range []string{"security info", "authentication method", "oath", "hardware token"} {
		if strings.Contains(act, w) {
			return true
		}
	}
	return false
}

// auditEvent maps a directory audit entry to the audit report's event: who (the user's UPN or
// the app), the activity as the command, the first target.
func auditEvent(a graph.DirectoryAudit) directory.AuditEvent {
	e := directory.AuditEvent{Time: a.ActivityDateTime.UTC(), Command: a.ActivityDisplayName, Detail: a.ResultReason, Result: "failure"}
	if strings.EqualFold(a.Result, "success") {
		e.Result = "success"
	}
	if in := a.InitiatedBy; in != nil {
		switch {
		case in.User != nil:
			e.Actor = cmpOr(in.User.UserPrincipalName, in.User.DisplayName)
		case in.App != nil:
			e.Actor = cmpOr(in.App.DisplayName, in.App.AppID)
		}
	}
	if len(a.TargetResources) > 0 {
		e.Target = cmpOr(a.TargetResources[0].UserPrincipalName, a.TargetResources[0].DisplayName)
	}
	return e
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// AuditEvents reads Entra ID's directory audit log, keeps the changes of authentication
// methods in the window and yields them in time order.
func (d *Directory) AuditEvents(ctx context.Context, f directory.AuditFilter) iter.Seq2[directory.AuditEvent, error] {
	return func(yield func(directory.AuditEvent, error) bool) {
		var clauses []string
		if !f.Since.IsZero() {
			clauses = append(clauses, "activityDateTime ge "+f.Since.UTC().Format("2006-01-02T15:04:05Z"))
		}
		if !f.Until.IsZero() {
			clauses = append(clauses, "activityDateTime lt "+f.Until.UTC().Format("2006-01-02T15:04:05Z"))
		}
		audits, err := d.c.ListDirectoryAudits(ctx, graph.ListOptions{Filter: graph.And(clauses...), Top: d.top})
		if err != nil {
			yield(directory.AuditEvent{}, err)
			return
		}
		var out []directory.AuditEvent
		for _, a := range audits {
			e := auditEvent(a)
			if !isMethodChange(a) || !f.Since.IsZero() && e.Time.Before(f.Since) || !f.Until.IsZero() && !e.Time.Before(f.Until) {
				continue
			}
			out = append(out, e)
		}
		slices.SortStableFunc(out, func(a, b directory.AuditEvent) int { return a.Time.Compare(b.Time) })
		for _, e := range out {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// ListAudit is AuditEvents as a slice.
func (d *Directory) ListAudit(ctx context.Context, f directory.AuditFilter) ([]directory.AuditEvent, error) {
	var out []directory.AuditEvent
	for e, err := range d.AuditEvents(ctx, f) {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
