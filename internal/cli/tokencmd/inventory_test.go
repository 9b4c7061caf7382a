package tokencmd

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/iostreams"
)

// The streaming writer must print exactly what the renderers print for the whole list, so
// that every listing looks the same however it was produced.
func TestInventoryWriterMatchesTheRenderers(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	toks := []directory.Token{
		{Serial: "A1", UPN: "a@contoso.com", Status: directory.StatusAssigned, Manufacturer: "=cmd", Model: "M", Period: 30, Hash: "SHA1", Digits: 6, CreatedAt: created},
		{Serial: "B2", Status: directory.StatusAvailable, Manufacturer: "Contoso", Model: "<b>&", Period: 60, Hash: "SHA1", Digits: 6, CreatedAt: created, ActivatedAt: created},
	}
	for _, n := range []int{0, 1, 2} {
		views := []view.Token{}
		var rows [][]string
		for _, tk := range toks[:n] {
			v := view.NewToken(tk)
			views = append(views, v)
			rows = append(rows, v.Cells(view.TimeCells(false)))
		}
		var want bytes.Buffer
		for _, format := range []string{cmdutil.FormatJSON, cmdutil.FormatCSV, cmdutil.FormatTable} {
			want.Reset()
			switch format {
			case cmdutil.FormatJSON:
				render.JSON(&want, views)
			case cmdutil.FormatCSV:
				render.CSV(&want, view.TokenHeader, rows)
			default:
				upper := make([]string, len(view.TokenHeader))
				for i, h := range view.TokenHeader {
					upper[i] = strings.ToUpper(h)
				}
				render.Table(&want, upper, rows)
			}
			var got bytes.Buffer
			w := render.NewStream(&got, format, view.TokenHeader)
			for i := range views {
				if err := w.Add(views[i], rows[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("%d tokens as %s:\n%s\nwant:\n%s", n, format, &got, &want)
			}
		}
	}
}

// On a terminal, tokens delete asks and deletes only after a yes.
func TestDeleteAsksOnATerminal(t *testing.T) {
	dir := t.TempDir()
	src := writeTokens(t, dir, 2)
	ios, _, _, _ := iostreams.Test()
	if err := runImport(t, context.Background(), ios, dir, true, src); err != nil {
		t.Fatal(err)
	}
	for _, answer := range []string{"n\n", "y\n"} {
		ios, in, _, errOut := iostreams.Test()
		ios.SetTTY(true, false, false)
		in.WriteString(answer)
		f := cmdutil.NewFactory(ios, func(string) string { return "" })
		f.DBPath = filepath.Join(dir, "mfactl.db")
		cmd := newDeleteCmd(f)
		cmd.SetArgs([]string{"SN000000"})
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.ExecuteContext(context.Background())
		db, _ := f.Store(context.Background())
		_, getErr := db.GetToken(context.Background(), "SN000000")
		f.Close()
		if answer == "n\n" && (err == nil || getErr != nil) {
			t.Errorf("answer no: err %v, token lookup %v; want a refusal and the token kept", err, getErr)
		}
		if answer == "y\n" && (err != nil || getErr == nil) {
			t.Errorf("answer yes: err %v, token lookup %v; want the token deleted", err, getErr)
		}
		if !strings.Contains(errOut.String(), "Delete token SN000000 and its secret from the directory? [y/N] ") {
			t.Errorf("prompt: %q", errOut)
		}
	}
}
