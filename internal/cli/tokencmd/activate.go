package tokencmd

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/progress"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/csvdialect"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
	"github.com/mfactl/mfactl/internal/users"
)

type activateOptions struct {
	f        *cmdutil.Factory
	format   string
	serial   string
	codeArg  string
	hasCode  bool
	from     string
	activate auth.ActivateOptions
}

func newActivateCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &activateOptions{f: f}
	var clientIP string
	cmd := &cobra.Command{
		Use:   "activate {SERIAL [CODE] | --from FILE}",
		Short: "Activate tokens with the codes they show",
		Long: `Activate an assigned hardware token by proving possession: enter the code the token shows.
Codes within --window time steps (default 10, that is five minutes of a 30-second token) on either
side of now are accepted, to absorb the drift of a token that sat in a drawer; the offset found
becomes the token's drift. A wrong code makes the token failed_activation, and 10 failed
activations in a row lock it (disabled) until 'mfactl tokens enable'.

The code is the CODE argument, "-" to read it from standard input, or asked for (hidden) when
standard input is a terminal. White space around it and spaces inside it ("123 456") are
ignored, and full-width digits read as digits; anything else that is not the token's 6 digits
is a usage error (exit 2) and no attempt. A code the token showed at or before its last accepted
step (a re-issued token) is FAILED_OATH_CODE_DUPLICATE or FAILED_OATH_CODE_OLD and counts no
failed activation. --user assigns the token to that user first, as 'tokens assign' would, so
both happen in one step.

--from FILE activates in bulk from a CSV file with a header naming the columns "serial number"
and "code", and optionally "upn" (which assigns the token first), matched ignoring case, spaces,
underscores and hyphens; "-" reads standard input. The whole file is checked first: a code
that is not 6 digits (read as above; shorter when a spreadsheet dropped its leading zero) stops
it before any activation.
It prints one result per row, in file order, and exits 3 when some rows failed, 1 when all did.
On Microsoft Entra ID the rows run --parallel at a time (the rows of one token in file order);
a progress bar is shown on a terminal when it takes longer than a second.

Every attempt is recorded in the authentication log (docs/auth-events.md) and the audit log.
-o json prints {"serial_number", "upn", "status", "drift", "failed_attempts", "result",
"result_code", "reason"}; with --from, {"file", "rows", "activated", "failed", "results"} where
each result also has its "line".`,
		Example: `  $ mfactl tokens activate GALT2100400 123456
  $ mfactl tokens activate GALT2100400 --user adele.vance@contoso.com
  $ echo 123456 | mfactl tokens activate GALT2100400 -
  $ mfactl tokens activate --from codes.csv -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.activate.Window < 0 || opts.activate.Window > tokens.MaxWindow {
				return cmdutil.Usagef("--window: %d is out of range 0..%d", opts.activate.Window, tokens.MaxWindow)
			}
			if opts.activate.ClientIP, err = cmdutil.ParseClientIP(clientIP); err != nil {
				return err
			}
			if cmd.Flags().Changed("user") {
				if opts.activate.AssignTo, err = textArg("--user", opts.activate.AssignTo, false); err != nil {
					return err
				}
			}
			if opts.from != "" {
				if len(args) > 0 {
					return cmdutil.Usagef("--from reads serial numbers and codes from the file; give no SERIAL or CODE")
				}
				if opts.activate.AssignTo != "" {
					return cmdutil.Usagef("--user cannot be combined with --from; give each row's user in a upn column")
				}
				return activateFileRun(cmd.Context(), cmd, opts)
			}
			if err := cmdutil.RangeArgs(1, 2)(cmd, args); err != nil {
				return err
			}
			if opts.serial, err = textArg("serial number", args[0], false); err != nil {
				return err
			}
			if len(args) == 2 {
				opts.codeArg, opts.hasCode = args[1], true
			}
			return activateRun(cmd.Context(), cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.activate.AssignTo, "user", "", "assign the token to this user (`UPN`) first")
	fl.IntVar(&opts.activate.Window, "window", auth.DefaultActivationWindow, "accept codes up to `N` time steps early or late")
	fl.StringVar(&opts.from, "from", "", "activate the tokens listed in this CSV `file` (serial number,code[,upn])")
	fl.StringVar(&clientIP, "client-ip", "", "record this client `address` in the authentication log")
	return cmd
}

func activateRun(ctx context.Context, cmd *cobra.Command, opts *activateOptions) error {
	f := opts.f
	// The directory first: no code is asked for when there is nothing to check it against.
	svc, err := openActivator(ctx, f)
	if err != nil {
		return err
	}
	code, err := f.ReadCode(opts.codeArg, opts.hasCode, fmt.Sprintf("Code shown on token %s: ", opts.serial))
	if err != nil {
		return err
	}
	r, err := activateOne(ctx, cmd, f, svc, opts.serial, code, opts.activate)
	if err != nil {
		return err
	}
	if err := writeActivation(f, opts.format, r); err != nil {
		return err
	}
	if !r.Success {
		return cmdutil.ErrSilent
	}
	return nil
}

// activator activates a token with a code it shows: auth.Service on SQLite and PostgreSQL,
// which checks the code and records the attempt; the tenant itself on Entra ID, which checks
// the code and keeps its own audit log.
type activator interface {
	Activate(ctx context.Context, serial, code string, opts auth.ActivateOptions) (auth.Result, error)
}

func openActivator(ctx context.Context, f *cmdutil.Factory) (activator, error) {
	d, err := f.WriteDirectory(ctx)
	if err != nil {
		return nil, err
	}
	if a, ok := d.(activator); ok && cmdutil.IsEntra(d) {
		return a, nil
	}
	db, ok := d.(auth.Store)
	if !ok {
		return nil, fmt.Errorf("the directory %T cannot check codes", d)
	}
	return auth.New(db, f.Now, authServer()), nil
}

// activateOne activates one token (the directory audits the attempt with the change it makes).
// A refused assignment (--user) is an error with a hint; a denied activation is a result.
func activateOne(ctx context.Context, cmd *cobra.Command, f *cmdutil.Factory, svc activator, serial, code string, opts auth.ActivateOptions) (auth.Result, error) {
	r, err := svc.Activate(ctx, serial, code, opts)
	if err != nil {
		var nf *directory.NotFoundError
		switch {
		case errors.Is(err, tokens.ErrMalformedCode):
			return r, cmdutil.CodeUsage(err) // no attempt was made: nothing to audit
		case errors.As(err, &nf) && nf.Kind == "user" && cmdutil.IsEntra(svc):
			return r, cmdutil.WithHint(err, "users come from the tenant: create the user in Entra ID first")
		case errors.As(err, &nf) && nf.Kind == "user":
			return r, cmdutil.WithHint(err, fmt.Sprintf("add the user first: mfactl users add %s", opts.AssignTo))
		case errors.Is(err, directory.ErrTokenDisabled):
			return r, err // --force would not help: the message says to enable it
		case errors.Is(err, directory.ErrConflict):
			return r, cmdutil.WithHint(err, "unassign it first, or move it with mfactl tokens assign --force")
		}
		return r, err
	}
	return r, nil
}

// authServer names this host in auth events.
func authServer() auth.Server {
	h := cmdutil.Host()
	return auth.Server{Name: h.Name, IP: h.IP}
}

// activationView is one activation in the -o json output (and the columns of table and CSV).
type activationView struct {
	SerialNumber   string `json:"serial_number"`
	UPN            string `json:"upn"`
	Status         string `json:"status"`
	Drift          int    `json:"drift"`
	FailedAttempts int    `json:"failed_attempts"`
	Result         string `json:"result"`
	ResultCode     string `json:"result_code"`
	Reason         string `json:"reason"`
}

var activationHeader = []string{"serial number", "upn", "status", "drift", "failed attempts", "result", "result code", "reason"}

func newActivationView(r auth.Result) activationView {
	return activationView{
		SerialNumber: r.Serial, UPN: r.UPN, Status: string(r.Status), Drift: r.Drift, FailedAttempts: r.FailedAttempts,
		Result: r.ResultWord(), ResultCode: r.Code, Reason: r.Reason,
	}
}

func (v activationView) cells() []string {
	return []string{v.SerialNumber, v.UPN, v.Status, strconv.Itoa(v.Drift), strconv.Itoa(v.FailedAttempts), v.Result, v.ResultCode, v.Reason}
}

func writeActivation(f *cmdutil.Factory, format string, r auth.Result) error {
	v := newActivationView(r)
	return render.Rows(f.IO.Out, format, v, activationHeader, [][]string{v.cells()})
}

// bulkRowView is one row of a bulk activation.
type bulkRowView struct {
	Line int `json:"line"`
	activationView
}

type bulkView struct {
	File      string        `json:"file"`
	Rows      int           `json:"rows"`
	Activated int           `json:"activated"`
	Failed    int           `json:"failed"`
	Results   []bulkRowView `json:"results"`
}

// bulkCodeDigits is the length of every token's code: the token rules admit 6 digits only.
const bulkCodeDigits = 6

// bulkRow is a row of the --from file.
type bulkRow struct {
	line   int
	serial string
	code   string
	upn    string
}

func activateFileRun(ctx context.Context, cmd *cobra.Command, opts *activateOptions) error {
	f := opts.f
	name := opts.from
	if name == "-" {
		name = "<stdin>"
	}
	var in io.Reader = f.IO.In
	if opts.from != "-" {
		file, err := os.Open(opts.from)
		if err != nil {
			return fmt.Errorf("opening the activation file: %w", err)
		}
		defer file.Close()
		in = file
	}
	rows, err := readBulkRows(in, name)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("%s: no rows to activate", name)
	}
	svc, err := openActivator(ctx, f)
	if err != nil {
		return err
	}
	// On Entra ID each row is one or more Graph round trips: --parallel rows at a time. The SQL
	// backends check a code in a few milliseconds under one writer lock: one after the other.
	parallel := 1
	if cmdutil.IsEntra(svc) {
		parallel = max(f.Parallel, 1)
	}
	bar := progress.New(f, bulkProgressDelay)
	defer bar.Done()
	var ran atomic.Int64
	outs := runBulkRows(ctx, rows, parallel, func() { bar.Count("activating", int(ran.Add(1)), len(rows), "rows") },
		func(row bulkRow) bulkOutcome {
			o := opts.activate
			o.AssignTo = row.upn
			r, err := activateOne(ctx, cmd, f, svc, row.serial, row.code, o)
			v := bulkRowView{Line: row.line, activationView: newActivationView(r)}
			if err != nil {
				if !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, directory.ErrConflict) && !errors.Is(err, directory.ErrLimit) && !errors.Is(err, directory.ErrRefused) {
					return bulkOutcome{err: fmt.Errorf("%s:%d: %w", name, row.line, err)}
				}
				// The row's assignment was refused: a failed row, not an attempt.
				v.activationView = activationView{SerialNumber: row.serial, UPN: row.upn, Result: "error", Reason: err.Error()}
			}
			return bulkOutcome{view: v, activated: r.Success && err == nil}
		})
	bar.Done()
	view := bulkView{File: name, Results: []bulkRowView{}}
	var runErr error
	stopped := false
	for _, o := range outs {
		switch {
		case !o.ran:
			stopped = true
			continue
		case o.err != nil:
			// The first in file order; rows that were running beside it are still shown.
			if runErr == nil {
				runErr = o.err
			}
			continue
		}
		view.Results = append(view.Results, o.view)
		view.Rows++
		if o.activated {
			view.Activated++
		} else {
			view.Failed++
		}
	}
	if runErr == nil && stopped {
		runErr = ctx.Err()
	}
	if err := writeBulk(f, opts.format, view); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	if !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "%s: %s: %d activated, %d failed\n", name, plural(view.Rows, "row"), view.Activated, view.Failed)
	}
	switch {
	case view.Failed == 0:
		return nil
	case view.Activated == 0:
		return cmdutil.ErrSilent
	default:
		return cmdutil.ErrPartial
	}
}

func writeBulk(f *cmdutil.Factory, format string, view bulkView) error {
	if format == cmdutil.FormatJSON {
		return render.JSON(f.IO.Out, view)
	}
	header := append([]string{"line"}, activationHeader...)
	cells := make([][]string, 0, len(view.Results))
	for _, r := range view.Results {
		cells = append(cells, append([]string{strconv.Itoa(r.Line)}, r.cells()...))
	}
	if format == cmdutil.FormatCSV {
		return render.CSV(f.IO.Out, header, cells)
	}
	return render.Table(f.IO.Out, header, cells)
}

// readBulkRows reads the whole --from file before anything is activated, so a malformed file
// changes nothing. Errors name the file and line but never quote a cell: it may hold a code.
func readBulkRows(r io.Reader, name string) ([]bulkRow, error) {
	in, err := csvdialect.Open(r, ',', 0)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	cr := in.NewReader()
	cr.FieldsPerRecord = 0 // every row as wide as the header
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file; want a header naming the columns serial number and code", name)
	}
	if err != nil {
		return nil, bulkCSVError(name, in.LineOffset, err)
	}
	hline, _ := cr.FieldPos(0)
	hline += in.LineOffset
	// The header holds no secret, but only the separator is named.
	if err := csvdialect.CheckSeparator(hline, header, in.Delimiter, func(folded string) bool {
		_, ok := bulkColumns[folded]
		return ok
	}); err != nil {
		return nil, cmdutil.CSVSeparatorHint(fmt.Errorf("%s:%d: %w", name, hline, err), "")
	}
	col := map[string]int{}
	for i, h := range header {
		key, ok := bulkColumns[csvdialect.Fold(h)]
		if !ok {
			return nil, fmt.Errorf("%s:%d: the header must name the columns serial number and code, and optionally upn (column %d is neither)", name, hline, i+1)
		}
		if _, dup := col[key]; dup {
			return nil, fmt.Errorf("%s:%d: column %s appears twice", name, hline, key)
		}
		col[key] = i
	}
	for _, need := range []string{"serial number", "code"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s:%d: no %s column; the header must name the columns serial number and code, and optionally upn", name, hline, need)
		}
	}
	var rows []bulkRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, bulkCSVError(name, in.LineOffset, err)
		}
		line, _ := cr.FieldPos(0)
		line += in.LineOffset
		row := bulkRow{line: line, serial: users.Text(rec[col["serial number"]]), code: rec[col["code"]]}
		if i, ok := col["upn"]; ok {
			row.upn = users.Text(rec[i])
		}
		if row.serial == "" {
			return nil, fmt.Errorf("%s:%d: serial number: empty", name, line)
		}
		if row.code, err = bulkCode(row.code); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		// Serials and UPNs end up in the auth and audit logs: no control characters there.
		if err := users.CheckText("serial number", row.serial); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if err := users.CheckText("upn", row.upn); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		rows = append(rows, row)
	}
}

// bulkCode normalises a code cell the way every code is (tokens.NormalizeCode), so a file
// row and a typed code are read alike; what cannot be a token's code stops the file before
// any activation, since trying it could only count failures. The error never quotes the cell.
func bulkCode(cell string) (string, error) {
	if strings.TrimFunc(cell, unicode.IsSpace) == "" {
		return "", errors.New("code: empty")
	}
	code, err := tokens.NormalizeCode(cell)
	var ce *tokens.CodeError
	if errors.As(err, &ce) && !ce.NotDigits && ce.Digits < bulkCodeDigits {
		// Excel reads 012345 as the number 12345: trying it would only count a failed
		// activation against a token whose code was right.
		return "", fmt.Errorf("code: %d digits, want %d; a spreadsheet drops leading zeros unless the column is formatted as text", ce.Digits, bulkCodeDigits)
	}
	if err != nil {
		return "", err
	}
	return code, tokens.CheckCodeLength(code, bulkCodeDigits)
}

// bulkColumns are the columns of the --from file by their folded names (csvdialect.Fold: case,
// spaces, underscores and hyphens ignored, so "Serial_Number", "serialnumber" and
// "serial-number" are all the serial number column), like the token and user files' headers.
var bulkColumns = map[string]string{"serialnumber": "serial number", "code": "code", "upn": "upn"}

// bulkCSVError reports a CSV syntax error by line without the offending text.
func bulkCSVError(name string, lineOffset int, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %v", name, pe.Line+lineOffset, pe.Err)
	}
	return fmt.Errorf("reading %s: %w", name, err)
}
