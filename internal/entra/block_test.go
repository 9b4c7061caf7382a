package entra

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
)

func TestBlockUnblock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	before := len(e.fake.Requests())
	u, changed, err := e.d.BlockUser(ctx, entrafake.Adele, "left")
	if err != nil || !changed || u.State != directory.UserBlocked || u.UPN != entrafake.Adele || u.BlockedReason != "" {
		t.Fatalf("block: %+v, %v, %v", u, changed, err)
	}
	w := e.writes(before)
	if len(w) != 1 || w[0].Method != http.MethodPatch {
		t.Errorf("block sent %+v, want one PATCH", w)
	}
	if g, _ := e.fake.User(entrafake.Adele); g.AccountEnabled == nil || *g.AccountEnabled {
		t.Errorf("accountEnabled %v", g.AccountEnabled)
	}
	// Blocking a blocked user sends nothing.
	before = len(e.fake.Requests())
	if u, changed, err = e.d.BlockUser(ctx, entrafake.Megan, ""); err != nil || changed || u.State != directory.UserBlocked {
		t.Fatalf("block again: %+v, %v, %v", u, changed, err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("blocking a blocked user wrote %+v", w)
	}
	if u, changed, err = e.d.UnblockUser(ctx, entrafake.Megan); err != nil || !changed || u.State != directory.UserActive {
		t.Fatalf("unblock: %+v, %v, %v", u, changed, err)
	}
	if u, changed, err = e.d.UnblockUser(ctx, entrafake.Megan); err != nil || changed || u.State != directory.UserActive {
		t.Fatalf("unblock again: %+v, %v, %v", u, changed, err)
	}
	if _, _, err = e.d.BlockUser(ctx, "nobody@contoso.com", ""); !errors.Is(err, directory.ErrNotFound) || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("unknown user: %v", err)
	}
}
