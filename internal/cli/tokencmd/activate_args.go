package tokencmd

import (
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/users"
)

// textArg checks a serial number, UPN or reason given on the command line before it reaches
// the directory, the auth log or the audit log: surrounding spaces are dropped and it is put in
// NFC (the form the directory stores), and a value
// that is empty (unless allowEmpty), longer than users.MaxTextLen or holds a control or
// invisible character is a usage error (exit 2) naming the field, never echoing the value. A newline in a serial or
// UPN would otherwise be written verbatim into the logs and forge lines in their reports.
func textArg(field, s string, allowEmpty bool) (string, error) {
	v := users.Text(s)
	if v == "" && !allowEmpty {
		return "", cmdutil.Usagef("empty %s", field)
	}
	if err := users.CheckText(field, v); err != nil {
		return "", &cmdutil.UsageError{Err: err}
	}
	return v, nil
}
