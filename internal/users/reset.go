package users

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mfactl/mfactl/internal/csvdialect"
	"github.com/mfactl/mfactl/internal/directory"
)

// ResetStore is what Reset needs of the directory.
type ResetStore interface {
	GetUser(ctx context.Context, upn string) (directory.User, error)
	ResetRegistrations(ctx context.Context, upns []string, dryRun bool) ([]directory.RegistrationReset, error)
}

// UnknownUsersError names the users a bulk operation was given that are not in the directory.
// Nothing was changed.
type UnknownUsersError struct {
	UPNs []string // in input order
}

// maxNamed bounds how many unknown users an error names.
const maxNamed = 10

func (e *UnknownUsersError) Error() string {
	if len(e.UPNs) == 1 {
		return fmt.Sprintf("user %s not found", e.UPNs[0])
	}
	names := e.UPNs
	more := ""
	if len(names) > maxNamed {
		names, more = names[:maxNamed], fmt.Sprintf(" and %d more", len(e.UPNs)-maxNamed)
	}
	return fmt.Sprintf("%d users not found: %s%s", len(e.UPNs), strings.Join(names, ", "), more)
}

// Is makes errors.Is(err, directory.ErrNotFound) true.
func (e *UnknownUsersError) Is(target error) bool { return target == directory.ErrNotFound }

// Dedupe returns upns without repeats (UPNs compare case-insensitively), keeping the first
// spelling of each, in input order.
func Dedupe(upns []string) []string {
	seen := make(map[string]bool, len(upns))
	out := make([]string, 0, len(upns))
	for _, u := range upns {
		if k := directory.Key(u); !seen[k] {
			seen[k] = true
			out = append(out, u)
		}
	}
	return out
}

// Reset requires the users to register their MFA methods again: their hardware tokens are
// unassigned and deactivated (back to stock; disabled tokens stay disabled), their
// authenticator-app registrations removed and must_register set; app passwords are kept. It
// is all or nothing: when any UPN is unknown it changes nothing and returns an
// *UnknownUsersError naming them all. With dryRun it returns the same plan and changes
// nothing. The result has one entry per distinct user, in input order.
func Reset(ctx context.Context, st ResetStore, upns []string, dryRun bool) ([]directory.RegistrationReset, error) {
	upns = Dedupe(upns)
	res, err := st.ResetRegistrations(ctx, upns, dryRun)
	if errors.Is(err, directory.ErrNotFound) {
		// Rare: look every user up, to name all the unknown ones at once.
		var unknown []string
		for _, upn := range upns {
			if _, err := st.GetUser(ctx, upn); errors.Is(err, directory.ErrNotFound) {
				unknown = append(unknown, upn)
			}
		}
		if len(unknown) > 0 {
			return nil, &UnknownUsersError{UPNs: unknown}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("resetting MFA registration: %w", err)
	}
	return res, nil
}

// ReadUPNs reads the UPNs from a CSV file with a header row that has a "upn" column (other
// columns are ignored, so a users or tokens file can be reused). The file is read like every
// CSV file (csvdialect): UTF-8 or UTF-16 with a byte-order mark, an Excel "sep=" first line. name
// is used in errors, which carry the line like the Go toolchain: "users.csv:3: empty upn". A
// header saved with another separator is a *csvdialect.SeparatorError.
func ReadUPNs(r io.Reader, name string) ([]string, error) {
	in, err := csvdialect.Open(r, ',', 0)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	cr := in.NewReader()
	cr.ReuseRecord = true
	lineOf := func(field int) int {
		l, _ := cr.FieldPos(field)
		return l + in.LineOffset
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file; want a header row with a upn column", name)
	}
	if err != nil {
		return nil, csvError(name, in.LineOffset, err)
	}
	hline := lineOf(0)
	isUPN := func(folded string) bool { return folded == "upn" }
	if err := csvdialect.CheckSeparator(hline, header, in.Delimiter, isUPN); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, hline, err)
	}
	col := -1
	for i, h := range header {
		if isUPN(csvdialect.Fold(h)) {
			col = i
			break
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s:%d: no upn column in the header", name, hline)
	}
	out := []string{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, csvError(name, in.LineOffset, err)
		}
		line := lineOf(0)
		upn := ""
		if col < len(rec) {
			upn = Text(rec[col])
		}
		if upn == "" {
			return nil, fmt.Errorf("%s:%d: empty upn", name, line)
		}
		if err := CheckText("upn", upn); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, upn)
	}
}

func csvError(name string, lineOffset int, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %w", name, pe.Line+lineOffset, pe.Err)
	}
	return fmt.Errorf("reading %s: %w", name, err)
}
