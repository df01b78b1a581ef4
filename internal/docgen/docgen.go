// Package docgen writes vrwxctl's command reference from the command tree itself:
// markdown pages (docs/cli) and man pages (docs/man), with cobra's doc generator.
// It lives outside pkg/ so the binary does not link the generator; `make docs`
// runs it and a test fails when the committed pages differ from the tree.
package docgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/root"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// manDate is the date on every man page: a fixed one, so regenerating changes a
// page only when its command changed.
var manDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Tree returns the full command tree as the binary builds it, with an empty
// environment (so no default depends on the machine) and cobra's own completion
// and help commands added.
func Tree() *cobra.Command {
	f := &cmdutil.Factory{IO: ui.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}), Globals: &cmdutil.Globals{},
		LookupEnv: func(string) (string, bool) { return "", false }, Now: func() time.Time { return manDate }}
	cmd := root.NewCmdRoot(f)
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultCompletionCmd()
	cmd.DisableAutoGenTag = true
	return cmd
}

// Write writes the markdown reference into mdDir and the man pages into manDir,
// replacing what is there.
func Write(mdDir, manDir string) error {
	for _, d := range []string{mdDir, manDir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("clear %s: %w", d, err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	if err := doc.GenMarkdownTree(Tree(), mdDir); err != nil {
		return fmt.Errorf("markdown reference: %w", err)
	}
	header := &doc.GenManHeader{Title: "VRWXCTL", Section: "1", Date: &manDate, Source: "vrwxctl", Manual: "vrwxctl manual"}
	if err := doc.GenManTree(Tree(), header, manDir); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	return nil
}

// Files reads every file under dir, by name.
func Files(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}
