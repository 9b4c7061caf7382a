package cmdutil

import (
	"errors"

	"github.com/mfactl/mfactl/internal/csvdialect"
)

// CSVSeparatorHint adds to a *csvdialect.SeparatorError in err how to read the file with the
// separator it was saved with: delimiterFlag names the command's delimiter option, or is "" for
// a command without one (the file can then say it in a "sep=" first line, as Excel writes).
// Other errors are returned as they are.
func CSVSeparatorHint(err error, delimiterFlag string) error {
	var se *csvdialect.SeparatorError
	if !errors.As(err, &se) {
		return err
	}
	if delimiterFlag != "" {
		return WithHint(err, "pass "+delimiterFlag+" "+csvdialect.FlagValue(se.Sep))
	}
	return WithHint(err, `add the line "sep=`+string(se.Sep)+`" at the top of the file, or save it as comma-separated CSV`)
}
