package tokencmd

import (
	"io"

	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
)

// tokenDetailView is what `tokens show` adds to the listing view.
type tokenDetailView struct {
	view.Token
	DisabledReason string  `json:"disabled_reason"`
	SourceFile     string  `json:"source_file"`
	UpdatedAt      *string `json:"updated_at"`
}

func newTokenDetailView(t directory.Token) tokenDetailView {
	return tokenDetailView{
		Token:          view.NewToken(t),
		DisabledReason: t.DisabledReason,
		SourceFile:     t.SourceFile,
		UpdatedAt:      view.TimeJSON(t.UpdatedAt),
	}
}

// writeKeyValues is render.KeyValues under the name import.go calls.
func writeKeyValues(w io.Writer, pairs [][2]string) error { return render.KeyValues(w, pairs) }
