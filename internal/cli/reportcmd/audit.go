package reportcmd

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/report"
	"github.com/mfactl/mfactl/internal/store"
)

type auditOptions struct {
	f      *cmdutil.Factory
	format string
	query  report.AuditQuery
	verify bool
	head   string
}

func newAuditCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &auditOptions{f: f}
	var win windowFlags
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Report the changes made by admin commands",
		Long: `List the audit trail in time order: one event per change made by an mfactl command, with
who made it (OS user and host), the command, its target, the result and a detail (never secret
material). Fields: time, actor, host, command, target, result, detail.

Filters combine: --since/--until, --user (the changes concerning a UPN: those whose target it
is, such as users block, and those whose detail names it, such as tokens assign; any letter
case) and --result (success or failure).

--since and --until take RFC 3339 dates or times (2026-11-01, 2026-11-01T08:00:00Z; a date is
midnight UTC) or an age before now (30d, 12h, 1w, 1d12h); --until is exclusive. Times are UTC.

--verify checks instead that the audit trail is intact. Every audit row carries a MAC
(HMAC-SHA256 under a key derived from the master key) of its content and of the row before it,
so a row edited, deleted, inserted or moved behind mfactl's back breaks the chain: --verify
names the first bad row (its id, time and what is wrong) and exits 1. It needs the master key
(--key-file or MFACTL_KEY_FILE) and opens the directory read-only. On success it prints the
number of rows and the chain head, the MAC of the last row: keep the head elsewhere (a ticket,
another machine), since rows cut from the end leave a valid, shorter chain that only a kept
head reveals. --head HEX checks that a head kept earlier is still in the chain (rows added
since are fine) and exits 1 when it is not.`,
		Example: `  $ mfactl report audit --since 7d
  $ mfactl report audit --since 2026-11-01 --until 2026-11-02 -o json
  $ mfactl report audit --user helga@contoso.com --result failure -o csv
  $ mfactl report audit --verify
  $ mfactl report audit --verify --head 3f9c...e1 -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.query.Window, err = win.window(f); err != nil {
				return err
			}
			if cmd.Flags().Changed("head") && !opts.verify {
				return cmdutil.Usagef("--head needs --verify")
			}
			if opts.verify {
				for _, name := range []string{"since", "until", "user", "result"} {
					if cmd.Flags().Changed(name) {
						return cmdutil.Usagef("--verify checks the whole trail; it takes no --%s", name)
					}
				}
				return verifyRun(cmd.Context(), opts)
			}
			switch opts.query.Result {
			case "", report.AuditSuccess, report.AuditFailure:
			default:
				return cmdutil.Usagef("--result: %q is not success or failure", opts.query.Result)
			}
			return auditRun(cmd.Context(), opts)
		},
	}
	win.register(cmd)
	cmd.Flags().StringVar(&opts.query.User, "user", "", "only the changes concerning this `UPN` (its target, or named in its detail)")
	cmd.Flags().StringVar(&opts.query.Result, "result", "", "only changes with this `result`: success or failure")
	cmd.Flags().BoolVar(&opts.verify, "verify", false, "check that the audit trail is intact and print its chain head (needs the key file)")
	cmd.Flags().StringVar(&opts.head, "head", "", "with --verify: a chain `head` kept earlier, which must still be in the chain")
	return cmd
}

// auditView is an audit event, with the columns of docs/audit.md.
type auditView struct {
	Time    string `json:"time"`
	Actor   string `json:"actor"`
	Host    string `json:"host"`
	Command string `json:"command"`
	Target  string `json:"target"`
	Result  string `json:"result"`
	Detail  string `json:"detail"`
}

var auditColumns = []string{"time", "actor", "host", "command", "target", "result", "detail"}

func auditRun(ctx context.Context, opts *auditOptions) error {
	return runReportAnywhere(ctx, opts.f, opts.format, func(r *report.Reporter, p *printer) (err error) {
		events, err := r.AuditTrail(ctx, opts.query)
		if err != nil {
			return usageError(err)
		}
		_, err = render.WriteListing(p.out, p.format, render.Listing[directory.AuditEvent]{
			Header: auditColumns,
			Rows:   func() iter.Seq2[directory.AuditEvent, error] { return events },
			Cells: func(e directory.AuditEvent) []string {
				return []string{p.time(e.Time), e.Actor, e.Host, e.Command, e.Target, e.Result, e.Detail}
			},
			View: func(e directory.AuditEvent) any {
				return auditView{Time: view.RFC3339(e.Time), Actor: e.Actor, Host: e.Host, Command: e.Command,
					Target: e.Target, Result: e.Result, Detail: e.Detail}
			},
		})
		if err != nil {
			return fmt.Errorf("reporting the audit trail: %w", err)
		}
		return nil
	})
}

// auditCheckView is `report audit --verify` in JSON.
type auditCheckView struct {
	Intact       bool   `json:"intact"`
	Rows         int64  `json:"rows"`
	Head         string `json:"head"`
	HeadID       int64  `json:"head_id"`
	KeptHead     string `json:"kept_head,omitempty"`
	KeptHeadRows int64  `json:"kept_head_rows,omitempty"`
	Problem      string `json:"problem,omitempty"`
}

var auditCheckColumns = []string{"intact", "rows", "head", "head_id", "kept_head", "kept_head_rows", "problem"}

// verifyRun checks the audit chain. It opens the directory read-only with the key, prints the
// outcome on standard output in the chosen format and returns the tampering as the error (exit
// 1), so that the output stays data and the error says what is wrong.
func verifyRun(ctx context.Context, opts *auditOptions) (err error) {
	f := opts.f
	var kept []byte
	if opts.head != "" {
		if kept, err = report.ParseHead(opts.head); err != nil {
			return usageError(err)
		}
	}
	db, err := f.KeyedReadStore(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	p := newPrinter(f, opts.format)
	defer func() {
		if ferr := p.flush(); err == nil {
			err = ferr
		}
	}()
	c, verr := report.New(db, f.Now).VerifyAudit(ctx, kept)
	var tampered *report.AuditTamperedError
	if verr != nil && !errors.As(verr, &tampered) {
		if errors.Is(verr, store.ErrNoKey) {
			return cmdutil.WithHint(fmt.Errorf("checking the audit trail: %w", verr),
				"the directory has no master key yet; the first command that stores a secret creates it")
		}
		return fmt.Errorf("checking the audit trail: %w", verr)
	}
	v := auditCheckView{Intact: verr == nil, Rows: c.Rows, Head: c.HeadHex(), HeadID: c.HeadID}
	if kept != nil {
		v.KeptHead, v.KeptHeadRows = hex.EncodeToString(kept), c.KeptHeadRows
	}
	if tampered != nil {
		v.Problem = tampered.Msg
	}
	switch opts.format {
	case cmdutil.FormatJSON:
		err = render.JSON(p.out, v)
	case cmdutil.FormatCSV:
		err = render.CSV(p.out, auditCheckColumns, [][]string{{strconv.FormatBool(v.Intact), itoa(v.Rows), v.Head,
			itoa(v.HeadID), v.KeptHead, itoa(v.KeptHeadRows), v.Problem}})
	default:
		if tampered == nil {
			fmt.Fprintf(p.out, "audit trail intact: %d rows\nchain head: %s (row %d)\n", v.Rows, v.Head, v.HeadID)
			if kept != nil {
				fmt.Fprintf(p.out, "kept head found at row %d; %d rows added since\n", c.KeptHeadID, c.Rows-c.KeptHeadRows)
			}
		}
	}
	if err != nil {
		return err
	}
	if tampered != nil {
		return tampered
	}
	return nil
}
