package root_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/root"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// treeLeak is what the whole-tree test types: a private key, alone and inside
// longer values, and credential-bearing URLs, well-formed or not.
type treeLeak struct {
	key      string
	payloads []string
	// creds are the strings no output may show.
	creds []string
	// windows are every 16-digit window of the key: none may appear.
	windows []string
}

func newTreeLeak(t *testing.T) treeLeak {
	k := randomKey(t)
	l := treeLeak{key: k}
	l.payloads = []string{
		k, "0x" + strings.ToUpper(k) + "00", "/x/" + k, "file:///x/" + k + "00",
		"ftp://user:S3cr3tPassA@host/ApiKeyB1q",
		"user:S3cr3tPassC@host/ApiKeyD2q",
		"mainnet.example.io/v2/ApiKeyE3q",
		"http://user:PwF4qz@ho st/KeyG5qz",
		"https://user:PwH6qz@rpc.example.io/v2/ApiKeyI7q?key=TokJ8qz",
	}
	l.creds = []string{"S3cr3tPassA", "ApiKeyB1q", "S3cr3tPassC", "ApiKeyD2q", "ApiKeyE3q", "PwF4qz", "KeyG5qz", "PwH6qz", "ApiKeyI7q", "TokJ8qz"}
	for i := 0; i+16 <= len(k); i++ {
		l.windows = append(l.windows, k[i:i+16])
	}
	return l
}

// check reports what r shows of the key or the credentials. revealed is set for
// `config view --reveal`, which shows URLs in full on purpose (keys still never).
func (l treeLeak) check(r clitest.Result, revealed, hash bool) []string {
	var found []string
	out := strings.ToLower(r.Stdout + r.Stderr)
	for _, w := range l.windows {
		if strings.Contains(out, w) {
			found = append(found, "16 digits of the key ("+w[:4]+"…)")
			break
		}
	}
	if !revealed {
		for _, c := range l.creds {
			if strings.Contains(out, strings.ToLower(c)) {
				found = append(found, "credential "+c)
			}
		}
	}
	// A typed key must be hidden where it is quoted (redact.Quote), not only by the
	// scrubber's registry behind it, which shows "[redacted key]".
	if !hash && strings.Contains(r.Stdout+r.Stderr, "[redacted key]") {
		found = append(found, "a typed key reached the scrubber's registry unquoted")
	}
	return found
}

// leafCommands returns every command of the tree that runs (groups refuse unknown
// subcommands and are included too), with cobra's help and completion.
func leafCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	if c.HasParent() && !c.Hidden {
		out = append(out, c)
	}
	for _, sub := range c.Commands() {
		out = append(out, leafCommands(sub)...)
	}
	return out
}

// baselines are argv lines to vary for cmd: its bare path, and the first examples
// its help gives (the real invocations an operator copies), split as a shell
// would; placeholders and pipes cut them short.
func baselines(cmd *cobra.Command) [][]string {
	path := strings.Fields(cmd.CommandPath())[1:]
	out := [][]string{path}
	text := strings.ReplaceAll(cmd.Example, "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "vrwxctl ") {
			continue
		}
		if i := strings.IndexAny(line, "|#"); i >= 0 {
			line = line[:i]
		}
		argv, err := rotation.SplitCommand(line)
		if err != nil || len(argv) < 2 {
			continue
		}
		out = append(out, argv[1:])
		if len(out) == 3 {
			break
		}
	}
	return out
}

// withFlag is argv with every occurrence of flag f removed and f set to v.
func withFlag(argv []string, f *pflag.Flag, v string) []string {
	takesValue := f.NoOptDefVal == ""
	var out []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--"+f.Name || (f.Shorthand != "" && a == "-"+f.Shorthand) {
			if takesValue {
				i++
			}
			continue
		}
		if strings.HasPrefix(a, "--"+f.Name+"=") {
			continue
		}
		out = append(out, a)
	}
	if takesValue {
		return append(out, "--"+f.Name, v)
	}
	return append(out, "--"+f.Name+"="+v)
}

// positionals returns the indexes of argv's positional arguments after the
// command path (n words), as pflag would read them with cmd's flags.
func positionals(cmd *cobra.Command, argv []string, n int) []int {
	var out []int
	for i := n; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			out = append(out, i)
			continue
		}
		if strings.Contains(a, "=") {
			continue
		}
		name := strings.TrimLeft(a, "-")
		f := cmd.Flags().Lookup(name)
		if f == nil && len(name) == 1 {
			f = cmd.Flags().ShorthandLookup(name)
		}
		if f == nil {
			f = cmd.InheritedFlags().Lookup(name)
		}
		if f != nil && f.NoOptDefVal == "" {
			i++
		}
	}
	return out
}

// The whole command tree, with a private key and credential-bearing URLs typed
// into every flag, every positional argument, every setting's environment variable
// and config key, an unknown command and an unknown flag: no output (stdout,
// stderr, -o json) shows 16 digits of the key in a row or any credential, and the
// key is hidden where it is quoted. It runs in-process with a cancelled context (a
// command stops at its first network request; nothing is sent) and no chain.
// Each command's own flags and arguments are varied in its bare form and in the
// first example of its help; the global flags, the environment and the config file
// with the commands that read them.
func TestNothingTypedLeaksAnywhereInTheTree(t *testing.T) {
	t.Parallel()
	l := newTreeLeak(t)
	e := clitest.New(t)
	e.Vars["RPC_URL"] = deadURL(t)
	sandbox := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Absolute paths (the examples', the payloads') land in the sandbox, never on
	// the machine.
	sandboxed := func(a string) string {
		if strings.HasPrefix(a, "/") {
			return filepath.Join(sandbox, a)
		}
		return strings.Replace(a, ":///", "://"+sandbox+"/", 1)
	}
	cases := 0
	var failures atomic.Int64
	// The cases run on every core: each is an in-process run with its own
	// environment, state directory and output buffers (about 24,000 runs; one after
	// the other they made this the suite's longest test).
	var wg sync.WaitGroup
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	// run runs args (with vars set) in text and as -o json. hash says the payload
	// went into a field that holds a hash, which shows its hex on purpose.
	run := func(hash bool, vars map[string]string, args ...string) {
		t.Helper()
		for i, a := range args {
			args[i] = sandboxed(a)
		}
		ev := *e
		ev.Vars = maps.Clone(e.Vars)
		// A state directory of its own (scanned for keys at the end like the rest
		// of e.Dir): no run reads what an earlier one wrote into the audit log.
		ev.Vars["XDG_STATE_HOME"] = filepath.Join(e.Dir, "state", strconv.Itoa(cases))
		for k, v := range vars {
			ev.Vars[k] = sandboxed(v)
		}
		cases++
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			for _, out := range [][]string{nil, {"-o", "json"}} {
				r := ev.RunContext(ctx, nil, append(slices.Clone(args), out...)...)
				if found := l.check(r, slices.Contains(args, "--reveal"), hash); len(found) > 0 {
					if failures.Add(1) <= 20 {
						t.Errorf("%v:\n%s", found, r)
					}
				}
			}
		}()
	}

	var tree bytes.Buffer
	rootCmd := root.NewCmdRoot(&cmdutil.Factory{IO: ui.Test(strings.NewReader(""), &tree, &tree), Globals: &cmdutil.Globals{}})
	holdsHash := func(f *pflag.Flag) bool { _, ok := f.Annotations["vrwxctl/holds-hash"]; return ok }
	for _, cmd := range leafCommands(rootCmd) {
		n := len(strings.Fields(cmd.CommandPath())) - 1
		argsHash := cmd.Annotations["vrwxctl/holds-hash"] == "yes"
		for _, base := range baselines(cmd) {
			for _, p := range l.payloads {
				cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
					if f.Name != "help" {
						run(holdsHash(f), nil, withFlag(base, f, p)...)
					}
				})
				pos := positionals(cmd, base, n)
				if len(pos) == 0 {
					run(argsHash, nil, append(slices.Clone(base), p)...)
				}
				for _, i := range pos {
					a := slices.Clone(base)
					a[i] = p
					run(argsHash, nil, a...)
				}
				// An unknown flag.
				run(false, nil, append(slices.Clone(base), "--"+strings.TrimPrefix(p, "/"))...)
			}
		}
	}

	// The global flags, every setting's environment variable and config key, and
	// the variables that choose the profile, the config file and the directories,
	// with the commands that read them.
	readers := [][]string{
		{"config", "view"}, {"config", "view", "--reveal"}, {"status"}, {"wallet", "balance"}, {"dlq", "list"},
		{"health"}, {"key", "address"}, {"wallet", "fund", "--to", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--amount", "1gwei", "--yes"},
	}
	envs := []string{"VRWX_PROFILE", "VRWXCTL_CONFIG", "VRWXCTL_DEPLOYMENT", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "HOME", "USER"}
	for _, k := range config.Keys {
		if k.Env != "" {
			envs = append(envs, k.Env)
		}
	}
	configFile := func(body string) map[string]string {
		path := filepath.Join(sandbox, fmt.Sprintf("config-%d.yaml", cases))
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return map[string]string{"VRWXCTL_CONFIG": path}
	}
	for _, p := range l.payloads {
		var settings []map[string]string
		for _, name := range envs {
			settings = append(settings, map[string]string{name: p})
		}
		for _, k := range config.Keys {
			settings = append(settings, configFile("profiles:\n  local:\n    "+k.Name+": "+yamlQuote(p)+"\n"))
		}
		for _, body := range []string{
			"profiles:\n  local:\n    rpc_urls: [" + yamlQuote(p) + "]\n",
			"default_profile: " + yamlQuote(p) + "\n",
			"profiles:\n  " + yamlQuote(p) + ":\n    chain_id: 1\n",
			"profiles:\n  local:\n    extends: " + yamlQuote(p) + "\n",
			"profiles:\n  local:\n    " + yamlQuote(p) + ": 1\n",
			yamlQuote(p) + ": 1\n",
			"profiles:\n  local:\n    rpc_urls: [" + p + "\n", // does not parse
		} {
			settings = append(settings, configFile(body))
		}
		for _, args := range readers {
			for _, vars := range settings {
				run(false, vars, slices.Clone(args)...)
			}
			rootCmd.PersistentFlags().VisitAll(func(f *pflag.Flag) {
				if f.Name != "help" {
					run(false, nil, withFlag(args, f, p)...)
				}
			})
			// An unknown command under the root and under the reader's group.
			run(false, nil, p)
			run(false, nil, args[0], p)
		}
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d cases leaked", n, cases)
	}
	t.Logf("%d cases (each in text and -o json), nothing leaked", cases)
}

func yamlQuote(s string) string { return fmt.Sprintf("%q", s) }
