package cmdutil

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/term"
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

// ReadCode is ReadSecret for a one-time code: spaces are dropped, so a code copied as
// authenticator apps show it ("123 456") is the code 123456. Nothing else is changed: a code
// that is not all digits of the right length simply does not match.
func (f *Factory) ReadCode(arg string, hasArg bool, prompt string) (string, error) {
	code, err := f.ReadSecret(arg, hasArg, prompt, "code")
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(code, " ", ""), nil
}
