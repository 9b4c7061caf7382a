// Command mfactl administers OATH TOTP hardware tokens in an MFA directory.
package main

import (
	"os"

	"github.com/mfactl/mfactl/internal/cli"
)

func main() { os.Exit(cli.Main()) }
