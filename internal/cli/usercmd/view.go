package usercmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/store"
)

// userView is a user in listings (SPEC section 10). Other user verbs that print users reuse it,
// so every command shows a user the same way.
type userView struct {
	UPN             string `json:"upn"`
	DisplayName     string `json:"display_name"`
	Email           string `json:"email"`
	Phone           string `json:"phone"`
	State           string `json:"state"`
	MustRegister    bool   `json:"must_register"`
	Methods         int    `json:"methods"`
	TokensActivated int    `json:"tokens_activated"`
	TokensPending   int    `json:"tokens_pending"`
	AppPasswords    int    `json:"app_passwords"`
}

func newUserView(u store.User) userView {
	return userView{
		UPN:             u.UPN,
		DisplayName:     u.DisplayName,
		Email:           u.Email,
		Phone:           u.Phone,
		State:           string(u.State),
		MustRegister:    u.MustRegister,
		Methods:         u.Methods,
		TokensActivated: u.TokensActivated,
		TokensPending:   u.TokensPending,
		AppPasswords:    u.AppPasswords,
	}
}

// userHeader names the table and CSV columns, in the order of the JSON fields. The first four
// are the columns `users import` reads, so `users list -o csv` can be imported again.
var userHeader = []string{
	"upn", "display name", "email", "phone", "state", "must register", "methods", "tokens activated",
	"tokens pending", "app passwords",
}

// cells is v as table or CSV cells.
func (v userView) cells() []string {
	return []string{
		v.UPN, v.DisplayName, v.Email, v.Phone, v.State, strconv.FormatBool(v.MustRegister),
		strconv.Itoa(v.Methods), strconv.Itoa(v.TokensActivated), strconv.Itoa(v.TokensPending),
		strconv.Itoa(v.AppPasswords),
	}
}

// userTimeJSON is t in RFC 3339 UTC, or nil (JSON null) for the zero time ("never").
func userTimeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// userTimeCell formats a time for a table or CSV cell: empty for never, RFC 3339 UTC for
// programs and files, a shorter local time for a person at a terminal (human).
func userTimeCell(s *string, human bool) string {
	if s == nil {
		return ""
	}
	if !human {
		return *s
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return *s
	}
	return t.Local().Format("2006-01-02 15:04")
}

// writeUserKeyValues writes one "name  value" line per pair with the values aligned: the table
// form of a single record.
func writeUserKeyValues(w io.Writer, pairs [][2]string) error {
	width := 0
	for _, p := range pairs {
		width = max(width, len(p[0]))
	}
	var b strings.Builder
	for _, p := range pairs {
		b.WriteString(strings.TrimRight(fmt.Sprintf("%-*s  %s", width, p[0], p[1]), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// auditUserChange records the outcome of a change to one user. A refusal by the directory (not
// found, a conflict) is recorded as a failure; errors of the machinery are not, since
// recording would fail the same way. It returns the error to report: opErr, or the failure to
// record a change that was made.
func auditUserChange(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, target, detail string, opErr error) error {
	if opErr != nil {
		if errors.Is(opErr, store.ErrNotFound) || errors.Is(opErr, store.ErrConflict) {
			_ = f.Audit(context.WithoutCancel(ctx), cmd, target, "failure", opErr.Error())
		}
		return opErr
	}
	if err := f.Audit(context.WithoutCancel(ctx), cmd, target, "success", detail); err != nil {
		return fmt.Errorf("the change was made but recording it in the audit log failed: %w", err)
	}
	return nil
}

// userNote prints a confirmation on stderr (stdout is for data) unless --quiet.
func userNote(f *cmdutil.Factory, format string, args ...any) {
	if !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, format+"\n", args...)
	}
}
