package cmdutil

import (
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/iostreams"
)

func TestConfirm(t *testing.T) {
	for _, tc := range []struct {
		tty    bool
		yes    bool
		answer string
		ok     bool
		usage  bool
	}{
		{tty: false, yes: true, ok: true},
		{tty: false, yes: false, usage: true},
		{tty: true, answer: "y\n", ok: true},
		{tty: true, answer: "YES\n", ok: true},
		{tty: true, answer: "n\n"},
		{tty: true, answer: "\n"},
		{tty: true, answer: ""}, // end of input
	} {
		ios, in, _, errOut := iostreams.Test()
		ios.SetTTY(tc.tty, false, false)
		in.WriteString(tc.answer)
		f := NewFactory(ios, func(string) string { return "" })
		ok, err := f.Confirm("Delete token X?", tc.yes, "delete tokens")
		if tc.usage {
			if ExitCode(err) != ExitUsage || err.Error() != "refusing to delete tokens without confirmation: pass --yes" {
				t.Errorf("%+v: err %v, want the --yes usage error", tc, err)
			}
			continue
		}
		if err != nil || ok != tc.ok {
			t.Errorf("%+v: ok=%v err=%v, want ok=%v", tc, ok, err, tc.ok)
		}
		if tc.tty && !tc.yes && !strings.HasPrefix(errOut.String(), "Delete token X? [y/N] ") {
			t.Errorf("%+v: prompt %q, want it on stderr", tc, errOut)
		}
	}
}
