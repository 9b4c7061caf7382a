package users

import (
	"context"
	"fmt"

	"github.com/mfactl/mfactl/internal/directory"
)

// DeleteStore is what deleting users needs of the directory.
type DeleteStore interface {
	GetUser(ctx context.Context, upn string) (directory.User, error)
	ListTokens(ctx context.Context, f directory.TokenFilter) ([]directory.Token, error)
	DeleteUser(ctx context.Context, upn string) error
	RecordRefusal(ctx context.Context, target string, err error) error
}

// DeletePlan is what deleting users takes with them, for the question asked before: their
// hardware tokens go back to stock, their app passwords and authenticator apps are deleted.
type DeletePlan struct {
	Users        []directory.User // each once, in the order named
	Tokens       int              // hardware tokens that go back to stock
	AppPasswords int
	AuthApps     int // authenticator apps, which go with their user
}

// PlanDelete looks every user up first, so that a typo deletes nobody and the question says
// what goes. One unknown user refuses the whole plan; the refusal is audited, since attempts
// matter to the reader of the audit trail. A user named twice is planned once.
func PlanDelete(ctx context.Context, st DeleteStore, upns []string) (DeletePlan, error) {
	var plan DeletePlan
	seen := map[string]bool{}
	for _, upn := range upns {
		u, err := st.GetUser(ctx, upn)
		if err != nil {
			err = fmt.Errorf("deleting users: %w; nothing was deleted", err)
			_ = st.RecordRefusal(ctx, upn, err)
			return DeletePlan{}, err
		}
		if seen[directory.Key(u.UPN)] {
			continue
		}
		ts, err := st.ListTokens(ctx, directory.TokenFilter{UPN: u.UPN})
		if err != nil {
			return DeletePlan{}, fmt.Errorf("deleting users: %w", err)
		}
		seen[directory.Key(u.UPN)] = true
		plan.Users = append(plan.Users, u)
		plan.Tokens += len(ts)
		plan.AppPasswords += u.AppPasswords
		plan.AuthApps += u.Methods - len(ts)
	}
	return plan, nil
}

// Execute deletes the planned users one by one and returns those it deleted, all of them
// unless the error says why it stopped.
func (p DeletePlan) Execute(ctx context.Context, st DeleteStore) ([]directory.User, error) {
	for i, u := range p.Users {
		if err := st.DeleteUser(ctx, u.UPN); err != nil {
			return p.Users[:i], fmt.Errorf("deleting user %s: %w", u.UPN, err)
		}
	}
	return p.Users, nil
}
