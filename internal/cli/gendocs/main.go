// Command gendocs regenerates mfactl's CLI reference, man pages and exit-code table in docs/
// from the cobra command tree: go run ./internal/cli/gendocs [-dir docs].
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mfactl/mfactl/internal/cli"
)

func main() {
	dir := flag.String("dir", "docs", "output `directory`")
	flag.Parse()
	if err := cli.GenerateDocs(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
