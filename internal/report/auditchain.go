package report

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// ErrAuditTampered means the audit trail does not check out: a row was changed, deleted,
// inserted or moved, or rows were cut from its end (against a kept head).
var ErrAuditTampered = errors.New("the audit trail does not check out")

// AuditTamperedError says what the check of the audit chain found wrong.
type AuditTamperedError struct{ Msg string }

func (e *AuditTamperedError) Error() string        { return "audit trail: " + e.Msg }
func (e *AuditTamperedError) Is(target error) bool { return target == ErrAuditTampered }

// AuditCheck is the outcome of VerifyAudit.
type AuditCheck struct {
	directory.AuditChain
	// KeptHead is the head given to the check (nil: none).
	KeptHead []byte
}

// HeadHex is the chain head in hex, empty for an empty trail.
func (c AuditCheck) HeadHex() string { return hex.EncodeToString(c.Head) }

// ParseHead reads a chain head kept from an earlier check (64 hex digits).
func ParseHead(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return nil, invalid("--head", "want the 64 hex digits of a chain head that an earlier check printed")
	}
	return b, nil
}

// VerifyAudit checks the audit chain and, when keptHead is not nil, that the head kept earlier
// is still in it (rows added since are fine; rows cut from the end are not). The check is
// returned with a *AuditTamperedError when something does not check out.
func (r *Reporter) VerifyAudit(ctx context.Context, keptHead []byte) (AuditCheck, error) {
	chain, err := r.store.VerifyAuditChain(ctx, keptHead)
	c := AuditCheck{AuditChain: chain, KeptHead: keptHead}
	if err != nil {
		return c, err
	}
	if b := chain.Break; b != nil {
		return c, &AuditTamperedError{Msg: fmt.Sprintf("row %d (%s): %s", b.ID, b.Time.UTC().Format(time.RFC3339), b.Problem)}
	}
	if keptHead != nil && chain.KeptHeadID == 0 {
		return c, &AuditTamperedError{Msg: fmt.Sprintf("the kept head %s is not in the chain (%d rows, head %s): "+
			"rows were deleted from the end, or the head is another directory's", hex.EncodeToString(keptHead), chain.Rows, c.HeadHex())}
	}
	return c, nil
}
