package usercmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
)

type listOptions struct {
	f      *cmdutil.Factory
	format string
}

func newListCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &listOptions{f: f}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the users in the directory",
		Long: `List the directory's users, ordered by UPN, with their state and OATH methods: methods counts
hardware tokens plus authenticator apps (at most 5), tokens_activated and tokens_pending
(assigned, not yet activated) the hardware tokens, app_passwords the app passwords.

-o json prints an array of objects (upn, display_name, email, phone, state, must_register,
methods, tokens_activated, tokens_pending, app_passwords); -o csv the same columns, the first
four named as "users import" reads them.`,
		Example: `  $ mfactl users list
  $ mfactl users list -o json
  $ mfactl users list -o csv > users.csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			return listRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func listRun(ctx context.Context, opts *listOptions) error {
	f := opts.f
	db, err := f.Store(ctx)
	if err != nil {
		return err
	}
	w := newUserListWriter(f.IO.Out, opts.format)
	for u, err := range db.Users(ctx) {
		if err != nil {
			return fmt.Errorf("listing users: %w", err)
		}
		if err := w.add(view.NewUser(u)); err != nil {
			return err
		}
	}
	return w.close()
}

// userListWriter writes users as they are read, so that JSON and CSV listings of a directory
// with a million users stream in constant memory; a table needs every row to align its
// columns and is written at the end. The output is byte for byte that of render.JSON,
// render.CSV and render.Table for the whole list.
type userListWriter struct {
	format string
	bw     *bufio.Writer
	csv    *csv.Writer
	enc    *json.Encoder
	buf    bytes.Buffer
	rows   [][]string
	n      int
}

func newUserListWriter(w io.Writer, format string) *userListWriter {
	lw := &userListWriter{format: format, bw: bufio.NewWriterSize(w, 64<<10)}
	lw.enc = json.NewEncoder(&lw.buf)
	lw.enc.SetIndent("  ", "  ")
	lw.enc.SetEscapeHTML(false)
	lw.csv = csv.NewWriter(lw.bw)
	return lw
}

func (lw *userListWriter) add(v view.User) error {
	defer func() { lw.n++ }()
	switch lw.format {
	case cmdutil.FormatJSON:
		lw.buf.Reset()
		if err := lw.enc.Encode(v); err != nil {
			return err
		}
		if lw.n == 0 {
			lw.bw.WriteString("[\n  ")
		} else {
			lw.bw.WriteString(",\n  ")
		}
		_, err := lw.bw.Write(bytes.TrimSuffix(lw.buf.Bytes(), []byte("\n")))
		return err
	case cmdutil.FormatCSV:
		if lw.n == 0 {
			if err := lw.csv.Write(view.UserHeader); err != nil {
				return err
			}
		}
		cells := v.Cells()
		for i := range cells {
			cells[i] = render.NeutraliseFormula(cells[i])
		}
		return lw.csv.Write(cells)
	default:
		lw.rows = append(lw.rows, v.Cells())
		return nil
	}
}

func (lw *userListWriter) close() error {
	switch lw.format {
	case cmdutil.FormatJSON:
		if lw.n == 0 {
			lw.bw.WriteString("[]\n")
		} else {
			lw.bw.WriteString("\n]\n")
		}
	case cmdutil.FormatCSV:
		if lw.n == 0 {
			if err := lw.csv.Write(view.UserHeader); err != nil {
				return err
			}
		}
		lw.csv.Flush()
		if err := lw.csv.Error(); err != nil {
			return err
		}
	default:
		if err := render.Table(lw.bw, view.UserHeader, lw.rows); err != nil {
			return err
		}
	}
	return lw.bw.Flush()
}
