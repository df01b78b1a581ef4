package root

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

func TestFirstCommand(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" = the whole tree
	}{
		{[]string{"wallet", "balance", "0x1"}, "wallet"},
		{[]string{"--profile", "prod", "status"}, "status"},
		{[]string{"--profile=prod", "-o", "json", "job", "list"}, "job"},
		{[]string{"-ojson", "version"}, "version"},
		{[]string{"-o=json", "version"}, "version"},
		{[]string{"-vo", "json", "tx", "status"}, "tx"},
		{[]string{"-vojson", "tx", "status"}, "tx"},
		{[]string{"-v", "--yes", "--dry-run", "--no-color", "--no-pager", "key", "rotate"}, "key"},
		{[]string{"--timeout", "5s", "--rpc-url", "http://x", "--config", "c.yaml", "doctor", "relay"}, "doctor"},
		{[]string{"--verbose=false", "db", "list"}, "db"},
		{[]string{"wallet", "--help"}, "wallet"},
		// What only the whole tree answers as cobra does.
		{[]string{"--help"}, ""},
		{[]string{"-h", "wallet"}, ""},
		{[]string{"--adress", "0x0", "status"}, ""},
		{[]string{"-x", "status"}, ""},
		{[]string{"--", "wallet"}, ""},
		{[]string{"-", "wallet"}, ""},
		{[]string{"--profile"}, ""},
		{[]string{"-o"}, ""},
		{nil, ""},
		{[]string{"wallt", "balance"}, "wallt"},
		{[]string{"help", "wallet"}, "help"},
		{[]string{"__complete", "wallet", ""}, "__complete"},
	}
	var out strings.Builder
	global := NewCmdRoot(testFactory(&out)).PersistentFlags()
	for _, tc := range cases {
		if got := firstCommand(global, tc.args); got != tc.want {
			t.Errorf("firstCommand(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func testFactory(out *strings.Builder) *cmdutil.Factory {
	return &cmdutil.Factory{IO: ui.Test(strings.NewReader(""), out, out), Globals: &cmdutil.Globals{}}
}

// run executes args against tree and returns everything it printed and its error.
func run(tree *cobra.Command, out *strings.Builder, args []string) string {
	tree.SetArgs(args)
	err := tree.Execute()
	s := out.String()
	if err != nil {
		s += "\nerror: " + err.Error()
	}
	return s
}

// Every command, built in its group alone, is the command of the whole tree: the
// same help (usage, flags, global flags, examples) and the same answer to a
// mistyped subcommand.
func TestEachGroupAloneIsTheWholeTreesGroup(t *testing.T) {
	var out strings.Builder
	whole := NewCmdRoot(testFactory(&out))
	var names []string
	for _, c := range whole.Commands() {
		names = append(names, c.Name())
	}
	for _, g := range commandGroups {
		if !slices.Contains(names, g.name) {
			t.Errorf("commandGroups names %q; the tree has %q", g.name, names)
		}
	}
	var paths [][]string
	groups := map[string]bool{} // commands with subcommands
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasParent() {
			p := strings.Fields(c.CommandPath())[1:]
			paths = append(paths, p)
			groups[strings.Join(p, " ")] = c.HasSubCommands()
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(whole)
	for _, p := range paths {
		if len(p) == 0 || p[0] == "help" || p[0] == "completion" {
			continue
		}
		argvs := [][]string{append(slices.Clone(p), "--help")}
		if groups[strings.Join(p, " ")] {
			argvs = append(argvs, append(slices.Clone(p), "nosuch"))
		}
		for _, args := range argvs {
			var a, b strings.Builder
			want := run(NewCmdRoot(testFactory(&a)), &a, args)
			if name := firstCommand(whole.PersistentFlags(), args); name != p[0] {
				t.Fatalf("firstCommand(%q) = %q", args, name)
			}
			got := run(NewCmdRootFor(testFactory(&b), args), &b, args)
			if !strings.Contains(want, "Usage:") && !strings.Contains(want, "nosuch") {
				t.Errorf("vrwxctl %s printed neither help nor the unknown command:\n%s", strings.Join(args, " "), want)
			}
			if got != want {
				t.Errorf("vrwxctl %s, group alone:\n%s\nwhole tree:\n%s", strings.Join(args, " "), got, want)
			}
		}
	}
	if len(paths) < 50 {
		t.Fatalf("walked %d commands; the tree has more", len(paths))
	}
}
