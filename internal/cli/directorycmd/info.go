package directorycmd

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

// infoView is `directory info` in JSON.
type infoView struct {
	Backend           string        `json:"backend"`
	Location          string        `json:"location"`
	SchemaVersion     int           `json:"schema_version"`
	Users             int64         `json:"users"`
	Tokens            tokenCounts   `json:"tokens"`
	AuthenticatorApps int64         `json:"authenticator_apps"`
	AppPasswords      int64         `json:"app_passwords"`
	AuthEvents        int64         `json:"auth_events"`
	AuditEvents       int64         `json:"audit_events"`
	KeyCheck          bool          `json:"key_check_value"`
	FileSize          *int64        `json:"file_size_bytes"` // null on PostgreSQL
	statuses          []statusCount // the table's order; not in JSON
}

type tokenCounts struct {
	Total            int64 `json:"total"`
	Available        int64 `json:"available"`
	Assigned         int64 `json:"assigned"`
	Activated        int64 `json:"activated"`
	FailedActivation int64 `json:"failed_activation"`
	Disabled         int64 `json:"disabled"`
}

type statusCount struct {
	status string
	n      int64
}

func newInfoCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show the backend, schema and size of the directory",
		Long: `Show the directory in use (--db or MFACTL_DB): its backend (SQLite or PostgreSQL), where it lives
(a URL without its password), its schema version, how many users, tokens (by status),
authenticator apps, app passwords, authentication and audit events it holds, whether it has a
master key (a key check value) and, for SQLite, the size of its file.

It reads the directory without changing it and needs no key file.`,
		Example: `  $ mfactl directory info
  $ mfactl directory info --db postgres://mfactl@db.contoso.com/mfa -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV)
			if err != nil {
				return err
			}
			return infoRun(cmd.Context(), f, format)
		},
	}
}

func infoRun(ctx context.Context, f *cmdutil.Factory, format string) error {
	db, err := f.ReadStore(ctx)
	if err != nil {
		return err
	}
	in, err := db.Info(ctx)
	if err != nil {
		return fmt.Errorf("describing the directory: %w", err)
	}
	v := infoView{
		Backend: in.Backend.String(), Location: in.Location, SchemaVersion: in.SchemaVersion, Users: in.Users,
		AuthenticatorApps: in.AuthApps, AppPasswords: in.AppPasswords, AuthEvents: in.AuthEvents,
		AuditEvents: in.AuditEvents, KeyCheck: in.KeyCheck,
	}
	if in.Backend == store.KindSQLite {
		size := in.FileSize
		v.FileSize = &size
	}
	t := &v.Tokens
	for _, s := range store.TokenStatuses {
		n := in.Tokens[s]
		t.Total += n
		switch s {
		case directory.StatusAvailable:
			t.Available = n
		case directory.StatusAssigned:
			t.Assigned = n
		case directory.StatusActivated:
			t.Activated = n
		case directory.StatusFailedActivation:
			t.FailedActivation = n
		case directory.StatusDisabled:
			t.Disabled = n
		}
		v.statuses = append(v.statuses, statusCount{string(s), n})
	}
	header := []string{"backend", "location", "schema version", "users", "tokens"}
	cells := []string{v.Backend, v.Location, strconv.Itoa(v.SchemaVersion), itoa(v.Users), itoa(t.Total)}
	for _, s := range v.statuses {
		header = append(header, "tokens "+s.status)
		cells = append(cells, itoa(s.n))
	}
	header = append(header, "authenticator apps", "app passwords", "auth events", "audit events", "key check value", "file size")
	size := ""
	if v.FileSize != nil {
		size = itoa(*v.FileSize)
		if format == cmdutil.FormatTable {
			size = humanSize(*v.FileSize)
		}
	}
	cells = append(cells, itoa(v.AuthenticatorApps), itoa(v.AppPasswords), itoa(v.AuthEvents), itoa(v.AuditEvents),
		yesNo(v.KeyCheck, format), size)
	return render.Record(f.IO.Out, format, v, header, cells)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func yesNo(b bool, format string) string {
	if format == cmdutil.FormatTable {
		if b {
			return "yes"
		}
		return "no"
	}
	return strconv.FormatBool(b)
}

// humanSize is a byte count for people: bytes exactly below 1 KiB, else one decimal.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTPE"[exp], n)
}
