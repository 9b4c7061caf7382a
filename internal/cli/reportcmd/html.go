package reportcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/report"
	"github.com/mfactl/mfactl/internal/store"
)

type htmlOptions struct {
	f     *cmdutil.Factory
	out   string
	query report.HTMLQuery
}

// htmlFileMode is the mode of the written report. The page holds no secret (no seed, code or
// password) but does name users by UPN; it is made to be handed to managers and auditors, and
// the UPNs are those anyone in the organisation can look up in its address book, so it is
// readable by all like any document (0644) rather than private to its writer like the secret
// files mfactl writes (0600). The umask does not apply, since the mode is set after writing.
const htmlFileMode = 0o644

func newHTMLCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &htmlOptions{f: f}
	var since string
	cmd := &cobra.Command{
		Use:   "html --out FILE",
		Short: "Write a self-contained HTML report for managers and auditors",
		Long: `Write one HTML page summing up the directory: registration coverage (users with and without
an OATH method, who must register again, who is blocked), the token stock by model and status,
successes and denials per UTC day since --since (default 30d) as a stacked bar chart, the
denial reasons, and the tokens unused for 90 days (their count and the first 50). The drift
outliers and the audit chain sections say "not available in this directory" until the
directory can tell.

The file is self-contained: inline CSS and SVG charts, no script, font, image or link to
anything else, so it opens offline, can be mailed or archived, and prints to PDF on A4 (a page
per section). It holds no secret; it names users by UPN, so it is written readable by all
(mode 0644), through a temporary file renamed into place.`,
		Example: `  $ mfactl report html --out report.html
  $ mfactl report html --out q4.html --since 2026-10-01 --title "MFA report, Q4 2026"`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := f.OutputFormat(cmd, "html"); err != nil {
				return err
			}
			if opts.out == "" {
				return cmdutil.Usagef("--out: required: the file to write the report to")
			}
			win, err := report.ParseWindow(since, "", f.Now())
			if err != nil {
				return usageError(err)
			}
			opts.query.Since = win.Since
			return htmlRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "write the report to `file` (replaced if it exists)")
	cmd.Flags().StringVar(&since, "since", "30d", "usage sections from `time`: RFC 3339 (2026-11-01, 2026-11-01T08:00:00Z) or an age (30d, 12h)")
	cmd.Flags().StringVar(&opts.query.Title, "title", "MFA report", "the page's `title`")
	return cmd
}

func htmlRun(ctx context.Context, opts *htmlOptions) (err error) {
	if opts.f.OnEntra() {
		// A tenant: what Graph reports; drift and the audit chain say why they are missing.
		d, err := opts.f.ReadDirectory(ctx)
		if err != nil {
			return err
		}
		data, err := report.New(d, opts.f.Now).HTMLData(ctx, opts.query)
		if err != nil {
			return fmt.Errorf("reporting: %w", usageError(err))
		}
		data.AuditChainNote = "Not available: Microsoft Entra ID keeps its own audit log (the directory audits, which mfactl report audit lists); mfactl keeps no audit chain in a tenant."
		return writeHTML(opts, data)
	}
	// With the master key at hand the page also says whether the audit chain is intact; the
	// rest of the report needs no key, so a missing key file only leaves that section out.
	db, err := opts.f.KeyedReadStore(ctx)
	keyed := err == nil
	if errors.Is(err, store.ErrKeyMissing) {
		db, err = openDirectory(ctx, opts.f)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	data, err := report.New(db, opts.f.Now).HTMLData(ctx, opts.query)
	if err != nil {
		return fmt.Errorf("reporting: %w", usageError(err))
	}
	if !keyed {
		data.AuditChainNote = "Not checked: the audit chain is checked with the master key (--key-file or MFACTL_KEY_FILE)."
	} else {
		chain, err := db.VerifyAuditChain(ctx, nil)
		if err != nil {
			return fmt.Errorf("checking the audit chain: %w", err)
		}
		status := &report.ChainStatus{Intact: chain.Break == nil, Events: chain.Rows, CheckedAt: opts.f.Now().UTC()}
		if chain.Break != nil {
			status.FirstBad, status.Detail = chain.Break.ID, chain.Break.Problem
		} else if len(chain.Head) > 0 {
			status.Detail = fmt.Sprintf("Chain head %x (row %d): keep it elsewhere, and check it later with mfactl report audit --verify --head.", chain.Head, chain.HeadID)
		}
		data.AuditChain = status
	}
	return writeHTML(opts, data)
}

// writeHTML renders the page and writes it into place.
func writeHTML(opts *htmlOptions, data *report.HTMLData) error {
	// The page is a few hundred kilobytes at most (tables stop at 50 rows and one per model),
	// so it is rendered in memory: nothing is written unless all of it was read.
	var page bytes.Buffer
	if err := report.WriteHTML(&page, data); err != nil {
		return err
	}
	out, err := cmdutil.WritePending(opts.out, page.Bytes(), htmlFileMode)
	if err == nil {
		defer out.Discard()
		err = out.Commit()
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", opts.out, err)
	}
	opts.f.Note("mfactl: wrote %s", opts.out)
	return nil
}
