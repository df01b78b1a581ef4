package root_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/root"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

var (
	vrwxctlLine = regexp.MustCompile("vrwxctl((?: [a-z][a-z0-9-]*)+)([^`\"\n]*)")
	flagRE      = regexp.MustCompile(`(?:^|[\s(\[])(--[a-z][a-z0-9-]*)`)
)

// Every `vrwxctl …` an error's fix, a help text or an example names — in any string
// of the program's source — is a command of the real tree, and every flag written
// after it is one that command takes. Advice naming a flag that does not exist
// (`config view --all`) sends the operator nowhere at 3 a.m.
func TestAdviceNamesRealCommandsAndFlags(t *testing.T) {
	t.Parallel()
	tree := commandTree()
	tree.InitDefaultHelpCmd()
	tree.InitDefaultCompletionCmd()
	checked := 0
	err := filepath.WalkDir(filepath.Join("..", "..", ".."), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != filepath.Join("..", "..", "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		return eachString(path, func(where, s string) {
			for _, seg := range mentions(s) {
				m := vrwxctlLine.FindStringSubmatch(seg)
				words := strings.Fields(m[1])
				if !isCommand(tree, words[0]) {
					continue // prose: "vrwxctl never overwrites a backup"
				}
				checked++
				cmd, rest := find(tree, words)
				if cmd.HasSubCommands() && len(rest) > 0 {
					t.Errorf("%s: `%s` has no command %q (in %q)", where, cmd.CommandPath(), rest[0], seg)
					continue
				}
				tail := strings.Join(rest, " ") + m[2]
				if i := strings.IndexAny(tail, ";`"); i >= 0 {
					tail = tail[:i]
				}
				for _, fm := range flagRE.FindAllStringSubmatch(tail, -1) {
					name := strings.TrimPrefix(fm[1], "--")
					if name != "help" && cmd.Flag(name) == nil {
						t.Errorf("%s: `%s` takes no flag --%s (in %q)", where, cmd.CommandPath(), name, seg)
					}
				}
			}
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d `vrwxctl …` texts checked", checked)
	if checked < 50 {
		t.Fatalf("only %d `vrwxctl …` texts found: the scan is not reading the sources", checked)
	}
}

// eachString calls fn with every string literal of the Go file at path, unquoted,
// and where it stands (file:line:column).
func eachString(path string, fn func(where, s string)) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return err
	}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		if s, err := strconv.Unquote(lit.Value); err == nil {
			fn(fset.Position(lit.Pos()).String(), s)
		}
		return true
	})
	return nil
}

// mentions splits s at each "vrwxctl " into the texts that follow it.
func mentions(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "vrwxctl ")
		if i < 0 {
			return out
		}
		s = s[i:]
		j := strings.Index(s[len("vrwxctl "):], "vrwxctl ")
		if j < 0 {
			if vrwxctlLine.MatchString(s) {
				out = append(out, s)
			}
			return out
		}
		if seg := s[:len("vrwxctl ")+j]; vrwxctlLine.MatchString(seg) {
			out = append(out, seg)
		}
		s = s[len("vrwxctl ")+j:]
	}
}

// commandTree is the command tree as vrwxctl builds it, on buffers.
func commandTree() *cobra.Command {
	return root.NewCmdRoot(&cmdutil.Factory{IO: ui.Test(strings.NewReader(""), &strings.Builder{}, &strings.Builder{}), Globals: &cmdutil.Globals{}})
}

func isCommand(tree *cobra.Command, name string) bool {
	for _, c := range tree.Commands() {
		if c.Name() == name {
			return true
		}
	}
	return false
}

// find walks words down the command tree; rest are the words after the command.
func find(c *cobra.Command, words []string) (*cobra.Command, []string) {
	for i, w := range words {
		var next *cobra.Command
		for _, sub := range c.Commands() {
			if sub.Name() == w || sub.HasAlias(w) {
				next = sub
			}
		}
		if next == nil {
			return c, words[i:]
		}
		c = next
	}
	return c, nil
}

// foreignTool finds a command of another tool in a piece of advice: the flags
// after it are that tool's (`kubectl logs --tail=100`).
var foreignTool = regexp.MustCompile(`(^|[\s(])(kubectl|cast|aws|sqlite3|anvil|docker|helm|make|go|curl)\s`)

// Libraries and workflows write the fix for what they found where they find it,
// and may name vrwxctl's flags in it (`pass --rpc-url`, `check --db`). Every flag so
// named, outside pkg/cli, is one some command of the real tree (or the root) takes;
// `vrwxctl cmd --flag` texts are checked against their command above.
func TestLibraryAdviceNamesRealFlags(t *testing.T) {
	t.Parallel()
	tree := commandTree()
	flags := map[string]bool{"help": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { flags[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { flags[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(tree)
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Dir}}{{range .GoFiles}} {{.}}{{end}}", "github.com/vrwx/vrwxctl/cmd/vrwxctl").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		rest, ok := strings.CutPrefix(fields[0], "github.com/vrwx/vrwxctl/pkg/")
		if !ok || rest == "cli" || strings.HasPrefix(rest, "cli/") {
			continue
		}
		for _, name := range fields[2:] {
			err := eachString(filepath.Join(fields[1], name), func(where, s string) {
				for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(";()`\n", r) }) {
					if foreignTool.MatchString(seg) || strings.Contains(seg, "vrwxctl ") || !strings.Contains(strings.TrimSpace(seg), " ") {
						continue // another tool's, checked above, or a word that is data ("--ol-s3")
					}
					for _, fm := range flagRE.FindAllStringSubmatch(seg, -1) {
						checked++
						if name := strings.TrimPrefix(fm[1], "--"); !flags[name] {
							t.Errorf("%s: no command takes --%s (in %q)", where, name, seg)
						}
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d flags named outside pkg/cli checked", checked)
	if checked < 20 {
		t.Fatalf("only %d flags found outside pkg/cli: the scan is not reading the sources", checked)
	}
}
