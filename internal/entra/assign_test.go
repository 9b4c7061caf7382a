package entra

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
)

func TestAssignUnassignAndMove(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	prev, err := e.d.AssignToken(ctx, "GALT0001", "Diego.Siciliani@contoso.com", false, 0)
	if err != nil || prev != "" || e.owner(t, "GALT0001") != entrafake.Diego {
		t.Fatalf("assign: %q, %v, owner %q", prev, err, e.owner(t, "GALT0001"))
	}
	// Again: already the owner's, nothing sent.
	before := len(e.fake.Requests())
	prev, err = e.d.AssignToken(ctx, "galt0001", entrafake.Diego, false, 0)
	if err != nil || prev != entrafake.Diego {
		t.Fatalf("assign again: %q, %v", prev, err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("assigning to the owner wrote: %+v", w)
	}
	// Another user's token: refused without force, nothing sent.
	_, err = e.d.AssignToken(ctx, "GALT0003", entrafake.Diego, false, 0)
	if !errors.Is(err, directory.ErrConflict) || err.Error() != "token GALT0003 is already assigned to "+entrafake.Megan {
		t.Fatalf("assign taken: %v", err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("a refused assignment wrote: %+v", w)
	}
	// Force moves it: unassign, then assign.
	prev, err = e.d.AssignToken(ctx, "GALT0003", entrafake.Diego, true, 0)
	if err != nil || prev != entrafake.Megan || e.owner(t, "GALT0003") != entrafake.Diego {
		t.Fatalf("move: %q, %v, owner %q", prev, err, e.owner(t, "GALT0003"))
	}
	w := e.writes(before)
	if len(w) != 2 || w[0].Method != http.MethodDelete || w[1].Method != http.MethodPost {
		t.Errorf("a move sent %+v, want DELETE then POST", w)
	}

	_, err = e.d.AssignToken(ctx, "NOPE1", entrafake.Diego, false, 0)
	if !errors.Is(err, directory.ErrNotFound) || err.Error() != "token NOPE1 not found" {
		t.Errorf("unknown token: %v", err)
	}
	_, err = e.d.AssignToken(ctx, "GALT0001", "nobody@contoso.com", false, 0)
	if !errors.Is(err, directory.ErrNotFound) || err.Error() != "user nobody@contoso.com not found" {
		t.Errorf("unknown user: %v", err)
	}

	prev, err = e.d.UnassignToken(ctx, "GALT0002")
	if err != nil || prev != entrafake.Adele || e.owner(t, "GALT0002") != "" {
		t.Fatalf("unassign: %q, %v", prev, err)
	}
	if dev, _ := e.fake.Device("GALT0002"); dev.Status != "available" {
		t.Errorf("unassigned token is %s", dev.Status)
	}
	before = len(e.fake.Requests())
	prev, err = e.d.UnassignToken(ctx, "GALT0002")
	if err != nil || prev != "" {
		t.Errorf("unassign again: %q, %v", prev, err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("unassigning a stock token wrote: %+v", w)
	}
}

// A forced move whose assignment fails says the token was unassigned, so the operator knows
// where it stands.
func TestMoveFailingHalfway(t *testing.T) {
	e := newEnv(t)
	// the device, the user, the previous owner, the owner's methods, the unassign, then the assign.
	e.fake.FailAt(len(e.fake.Requests())+6, graphfake.Fail500)
	_, err := e.d.AssignToken(context.Background(), "GALT0003", entrafake.Diego, true, 0)
	if err == nil {
		t.Fatal("no error")
	}
	want := "it was unassigned from " + entrafake.Megan + " but not assigned to " + entrafake.Diego + ": graph POST "
	if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("error %q", got)
	}
	if e.owner(t, "GALT0003") != "" {
		t.Error("token still assigned")
	}
}

func TestDeleteTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := len(e.fake.Requests())
	// One assigned, one missing: nothing deleted.
	err := e.d.DeleteTokens(ctx, "GALT0001", "GALT0003")
	if !errors.Is(err, directory.ErrConflict) || err.Error() != "token GALT0003 is assigned to "+entrafake.Megan+"; Microsoft Entra ID deletes only unassigned tokens" {
		t.Fatalf("assigned: %v", err)
	}
	if err := e.d.DeleteTokens(ctx, "GALT0001", "NOPE1"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if w := e.writes(before); len(w) != 0 {
		t.Errorf("refused deletes wrote: %+v", w)
	}
	if err := e.d.DeleteTokens(ctx, "GALT0001"); err != nil {
		t.Fatal(err)
	}
	if err := e.d.DeleteTokensForce(ctx, "GALT0003", "YK0004"); err != nil {
		t.Fatal(err)
	}
	if e.fake.DeviceCount() != 1 {
		t.Errorf("%d devices left, want 1", e.fake.DeviceCount())
	}
	if _, ok := e.fake.Device("GALT0002"); !ok {
		t.Error("GALT0002 deleted")
	}
}
