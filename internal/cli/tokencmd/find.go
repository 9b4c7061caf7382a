package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/finder"
)

type findOptions struct {
	f        *cmdutil.Factory
	format   string
	codes    []string
	statuses []directory.TokenStatus
	window   int
	one      bool
}

func newFindCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &findOptions{f: f}
	var status string
	cmd := &cobra.Command{
		Use:   "find CODE NEXT-CODE",
		Short: "Find a token by the codes it shows",
		Long: fmt.Sprintf(`Find the token whose label is gone: read the code it shows, wait for the next one, and give
both. mfactl computes the codes of every token of the directory around now, each with its own
time interval, digits and hash, and lists the tokens whose code at some time step is CODE and
at the next step NEXT-CODE, with the fields of "tokens list".

A token that has verified codes is searched around the drift it learned, %d step each way; one
that never has (stock, or assigned and not yet activated) %d step each way by default, the
usual verification window; --window widens that for a clock that drifted in a drawer
(activation absorbs 10 steps). --status limits the search to tokens in some statuses
(comma-separated, or all, the default).

A 6-digit code matches about one token in a million at each time step by chance, so one code
alone is refused; --one searches with it anyway and warns that the answer is ambiguous in a
large directory. Several tokens matching both codes (tokens that share a secret) are all
listed, with a warning. No token matching exits with 1.

The search is audited: who searched, the serial numbers found (or none) and how many tokens
were searched; never the codes. It needs the master key.`, finder.UsedWindow, finder.DefaultWindow),
		Example: `  $ mfactl tokens find 287082 359152
  $ mfactl tokens find "287 082" "359 152" --status available,assigned -o json
  $ mfactl tokens find 287082 359152 --window 40`,
		Args: cmdutil.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.statuses, err = parseStatuses(status); err != nil {
				return err
			}
			if opts.window < 1 || opts.window > finder.MaxWindow {
				return cmdutil.Usagef("--window: %d is out of range 1..%d", opts.window, finder.MaxWindow)
			}
			opts.codes = args
			return findRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&status, "status", "all", "search only tokens in these `statuses` (comma-separated): all, "+strings.Join(tokenStatuses, ", "))
	fl.IntVar(&opts.window, "window", finder.DefaultWindow, "time `steps` each way searched for tokens that never verified a code (1 to 100)")
	fl.BoolVar(&opts.one, "one", false, "search with a single code (ambiguous in a large directory)")
	return cmd
}

// parseStatuses reads --status: "all" (nil: every token) or a comma-separated list.
func parseStatuses(s string) ([]directory.TokenStatus, error) {
	var out []directory.TokenStatus
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "all":
			return nil, nil
		case slices.Contains(tokenStatuses, p):
			if !slices.Contains(out, directory.TokenStatus(p)) {
				out = append(out, directory.TokenStatus(p))
			}
		default:
			return nil, cmdutil.Usagef("--status: unknown status %q (want all, %s)", p, strings.Join(tokenStatuses, ", "))
		}
	}
	return out, nil
}

func findRun(ctx context.Context, opts *findOptions) error {
	f := opts.f
	q := finder.Query{Codes: opts.codes, AllowOne: opts.one, Statuses: opts.statuses, Window: opts.window}
	if f.Now != nil {
		q.Now = f.Now()
	}
	// Refuse what cannot be searched before the directory is opened: these refusals are the
	// command line's, and no search took place to audit.
	if err := q.Check(); err != nil {
		return findUsage(err)
	}
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	res, err := finder.Find(ctx, db, q)
	statuses := "all statuses"
	if len(opts.statuses) > 0 {
		statuses = "statuses " + joinStatuses(opts.statuses)
	}
	detail := fmt.Sprintf("%d tokens searched (%s), window %s each way (%s for tokens that verified codes)",
		res.Searched, statuses, steps(res.Window), steps(finder.UsedWindow))
	if len(opts.codes) == 1 {
		detail += ", one code"
	}
	if err != nil {
		_ = db.RecordSearch(context.WithoutCancel(ctx), "none", "failure", detail+": "+err.Error())
		return fmt.Errorf("finding a token: %w", err)
	}
	target, result := "none", "failure"
	if len(res.Matches) > 0 {
		names := make([]string, len(res.Matches))
		for i, m := range res.Matches {
			names[i] = m.Serial
		}
		target, result = strings.Join(names, ", "), "success"
	}
	if err := db.RecordSearch(ctx, target, result, detail); err != nil {
		return fmt.Errorf("recording the search in the audit log: %w", err)
	}

	if len(res.Matches) == 0 {
		what := "these codes"
		if len(opts.codes) == 1 {
			what = "this code"
		}
		return cmdutil.WithHint(fmt.Errorf("no token shows %s now: %d tokens searched (%s), %s each way", what, res.Searched, statuses, steps(res.Window)),
			"check that the codes were read in order, one right after the other; for a token whose clock drifted further, try a wider --window; --status all searches every token")
	}
	switch {
	case len(opts.codes) == 1:
		fmt.Fprintf(f.IO.ErrOut, "mfactl: warning: one code matched %d of %d tokens; a single code is ambiguous in a large directory: confirm with the next code the token shows\n",
			len(res.Matches), res.Searched)
	case len(res.Matches) > 1:
		fmt.Fprintf(f.IO.ErrOut, "mfactl: warning: %d tokens show these codes: they share a secret, or the match is chance; check each with tokens show\n",
			len(res.Matches))
	}

	timeCell := view.TimeCells(opts.format == cmdutil.FormatTable && f.IO.IsStdoutTTY())
	views := make([]view.Token, 0, len(res.Matches))
	cells := make([][]string, 0, len(res.Matches))
	for _, m := range res.Matches {
		t, err := db.GetToken(ctx, m.Serial)
		if err != nil {
			return fmt.Errorf("reading token %s: %w", m.Serial, err)
		}
		v := view.NewToken(t)
		views = append(views, v)
		cells = append(cells, v.Cells(timeCell))
	}
	return render.Rows(f.IO.Out, opts.format, views, view.TokenHeader, cells)
}

// findUsage makes the refusals of a query (one code, malformed codes) usage errors, with the
// hint that names the flag.
func findUsage(err error) error {
	switch {
	case errors.Is(err, finder.ErrOneCode):
		return cmdutil.WithHint(&cmdutil.UsageError{Err: err}, "--one searches with a single code anyway")
	case errors.Is(err, finder.ErrCodeLengths):
		return &cmdutil.UsageError{Err: err}
	}
	return cmdutil.CodeUsage(err)
}

func joinStatuses(s []directory.TokenStatus) string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return strings.Join(out, ", ")
}

// steps says n time steps in words: "1 step", "10 steps".
func steps(n int) string {
	if n == 1 {
		return "1 step"
	}
	return fmt.Sprintf("%d steps", n)
}
