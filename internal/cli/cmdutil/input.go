package cmdutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mfactl/mfactl/internal/tokens"
)

// ReadSecret gets a code or password that must not be a flag value in shell history when it
// can be avoided: the argument (codes only; hasArg), standard input for "-", or a hidden
// prompt on stderr when standard input is a terminal. Only the line ending is removed; anything
// else is part of what was typed. what names the value in messages ("code", "app password").
func (f *Factory) ReadSecret(arg string, hasArg bool, prompt, what string) (string, error) {
	switch {
	case hasArg && arg != "-":
		return arg, nil
	case f.IO.IsStdinTTY():
		fmt.Fprint(f.IO.ErrOut, prompt)
		var line string
		if file, ok := f.IO.In.(*os.File); ok {
			b, err := term.ReadPassword(int(file.Fd()))
			fmt.Fprintln(f.IO.ErrOut)
			if err != nil {
				return "", fmt.Errorf("reading the %s: %w", what, err)
			}
			line = string(b)
		} else {
			var err error
			if line, err = readLine(f.IO.In, what); err != nil {
				return "", err
			}
		}
		if line == "" {
			return "", Usagef("no %s entered", what)
		}
		return line, nil
	case hasArg:
		line, err := readLine(f.IO.In, what)
		if err != nil {
			return "", err
		}
		if line == "" {
			return "", Usagef("no %s on standard input", what)
		}
		return line, nil
	default:
		return "", Usagef("no %s given: pass %s, or - to read it from standard input", what, strings.ToUpper(what))
	}
}

// readLine reads one line of at most 1 KiB without its line ending.
func readLine(in io.Reader, what string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(in, 1024)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the %s: %w", what, err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// ParseClientIP checks a --client-ip value: an IPv4 or IPv6 address, or empty.
func ParseClientIP(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", Usagef("--client-ip: %q is not an IP address", s)
	}
	return a.String(), nil
}

// ReadCode is ReadSecret for a one-time code, normalised by tokens.NormalizeCode wherever it
// came from: white space around it and the spaces apps group it with ("123 456") are not part
// of it. What still cannot be a code (letters, too few or too many digits) is a usage error
// before any attempt, so a typing slip never counts toward a lockout; the message never
// repeats the code.
func (f *Factory) ReadCode(arg string, hasArg bool, prompt string) (string, error) {
	code, err := f.ReadSecret(arg, hasArg, prompt, "code")
	if err != nil {
		return "", err
	}
	code, err = tokens.NormalizeCode(code)
	if err != nil {
		return "", &UsageError{Err: err}
	}
	return code, nil
}

// CodeUsage turns a malformed-code error of internal/auth (a code with a length the token's
// codes do not have, found once the token is known) into the usage error ReadCode gives for
// the other malformed codes; other errors are returned as they are.
func CodeUsage(err error) error {
	if errors.Is(err, tokens.ErrMalformedCode) {
		return &UsageError{Err: err}
	}
	return err
}
