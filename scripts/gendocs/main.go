// Command gendocs writes the command reference (docs/cli, markdown) and the man
// pages (docs/man) from vrwxctl's command tree. `make docs` runs it.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vrwx/vrwxctl/internal/docgen"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func main() {
	root, err := devchain.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
	if err := docgen.Write(filepath.Join(root, "docs", "cli"), filepath.Join(root, "docs", "man")); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
