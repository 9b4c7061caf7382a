package usercmd

import (
	"bytes"
	"testing"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
)

// The streaming writer prints byte for byte what the renderers print for the whole list.
func TestUserListWriterMatchesTheRenderers(t *testing.T) {
	users := []view.User{
		{
			UserIdentity: view.UserIdentity{UPN: "a@contoso.com", DisplayName: "A <&>", Phone: "+1 4255551234", State: "active"},
			UserMethods:  view.UserMethods{Methods: 2, TokensPending: 1},
		},
		{
			UserIdentity: view.UserIdentity{UPN: "b@contoso.com", Email: "=cmd@contoso.com", State: "blocked"},
			UserMethods:  view.UserMethods{MustRegister: true},
		},
	}
	for n := 0; n <= len(users); n++ {
		views := users[:n:n] // never nil, also when empty
		var rows [][]string
		for _, v := range views {
			rows = append(rows, v.Cells())
		}
		for _, format := range []string{cmdutil.FormatJSON, cmdutil.FormatCSV, cmdutil.FormatTable} {
			var want, got bytes.Buffer
			switch format {
			case cmdutil.FormatJSON:
				render.JSON(&want, views)
			case cmdutil.FormatCSV:
				render.CSV(&want, view.UserHeader, rows)
			default:
				render.Table(&want, view.UserHeader, rows)
			}
			w := render.NewStream(&got, format, view.UserHeader)
			for _, v := range views {
				if err := w.Add(v, v.Cells()); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("%d users as %s:\n%s\nwant:\n%s", n, format, &got, &want)
			}
		}
	}
}
