package root_test

import (
	"io"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/root"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Help on a real terminal fits it, for every command: a flag's or a command's description that does
// not fit continues under itself instead of breaking inside a word at the first
// column, and the description's prose is reflowed to the width. The words are the
// pipe's, in the same order; a pipe gets cobra's lines. Commands to copy (usage
// lines, examples) are left whole.
func TestHelpFitsTheTerminal(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	argvs := [][]string{{"--help"}}
	for _, c := range leafCommands(root.NewCmdRoot(&cmdutil.Factory{IO: ui.Test(strings.NewReader(""), io.Discard, io.Discard), Globals: &cmdutil.Globals{}})) {
		argvs = append(argvs, append(strings.Fields(c.CommandPath())[1:], "--help"))
	}
	for _, args := range argvs {
		pipe := e.MustRun(0, args...)
		for _, width := range []int{80, 100} {
			tm := e.Terminal(width, 200, args...)
			if code := tm.Wait(); code != 0 {
				t.Fatalf("%v at %d columns: exit %d\n%s", args, width, code, tm.Text())
			}
			screen := tm.Text()
			examples := false
			for _, l := range strings.Split(screen, "\n") {
				// Commands to copy (the usage line, the examples) stay whole.
				if l != "" && !strings.HasPrefix(l, " ") {
					examples = l == "Examples:"
				}
				if examples || strings.HasPrefix(l, "  vrwxctl ") {
					continue
				}
				if ui.Width(l) > width {
					t.Errorf("%v at %d columns: a line of %d cells: %q", args, width, ui.Width(l), l)
				}
			}
			if got, want := strings.Fields(screen), strings.Fields(pipe.Stdout); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%v at %d columns: the words differ from the pipe's:\n%s\nwant\n%s", args, width, screen, pipe.Stdout)
			}
			// A wrapped flag description continues in the description column.
			if width == 80 && strings.Contains(pipe.Stdout, "--no-pager") && !strings.Contains(screen, "\n                              ") {
				t.Errorf("%v at 80 columns: no description continues under itself:\n%s", args, screen)
			}
		}
	}
}
