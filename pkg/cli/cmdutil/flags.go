package cmdutil

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// OneValueEach makes every single-value flag of cmd and its subcommands refuse a
// second occurrence, and a string flag refuse an empty value (exit 2). pflag keeps the last value silently, so
// `--amount 0.5ether --amount 1000ether` would send 1000 ETH; a flag that means one
// thing takes one value. Repeatable flags (--rpc-url, --status: slices and arrays)
// are left alone. Call it once the tree is built.
func OneValueEach(cmd *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if _, done := f.Value.(*onceValue); done {
			return
		}
		if _, repeatable := f.Value.(pflag.SliceValue); repeatable {
			return
		}
		f.Value = &onceValue{Value: f.Value, name: f.Name}
	}
	cmd.PersistentFlags().VisitAll(wrap)
	cmd.Flags().VisitAll(wrap)
	for _, c := range cmd.Commands() {
		OneValueEach(c)
	}
}

type onceValue struct {
	pflag.Value
	name string
	set  bool
}

func (v *onceValue) Set(s string) error {
	if v.set {
		// The values are not repeated: one of them may be what must not be echoed.
		return errs.Usagef("--%s given more than once; it takes one value", v.name).
			WithFix("give --" + v.name + " once")
	}
	v.set = true
	if s == "" && v.Value.Type() == "string" {
		// `--signer "$REF"` with REF unset would otherwise mean "not given" and
		// fall back to a default the operator did not choose.
		return errs.Usagef("--%s is empty (an unset shell variable?); it takes a value", v.name).
			WithFix("give --" + v.name + " a value, or leave the flag out")
	}
	return v.Value.Set(s)
}

// UnknownSubcommands makes cmd and every command group under it (a command with
// subcommands and no action of its own) refuse an argument that names none of its
// subcommands — `wallet blance` is exit 2 with "did you mean", not the group's help
// and exit 0, which a script would take for success; `walet` gets the same one-line
// answer, not cobra's "Did you mean this?" block, whose tab the error printer
// shows escaped. With no argument a group still prints its help.
func UnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		UnknownSubcommands(c)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	// The action exists only to refuse; the help's usage lines stay a group's
	// (`vrwxctl db [command]`, not `vrwxctl db [flags]`): cobra's own usage runs
	// while the group has no action (its subcommands, which inherit this usage,
	// keep theirs). Not a usage template: executing one links text/template, whose
	// reflect.Value.MethodByName keeps every exported method of every linked type
	// in the binary (the whole S3 client among them).
	usage := cmd.UsageFunc()
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		if !c.HasAvailableSubCommands() {
			return usage(c)
		}
		run := c.RunE
		c.RunE = nil
		defer func() { c.RunE = run }()
		return usage(c)
	})
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2 // cobra's own default for the root
		}
		e := errs.Usagef("unknown command %s for %q", redact.Quote(args[0]), c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			e = errs.Usagef("unknown command %s for %q; did you mean %q?", redact.Quote(args[0]), c.CommandPath(), s[0])
		}
		return e.WithFix("see `" + c.CommandPath() + " --help` for its commands")
	}
}

// IntVar is pflag's IntVar with ParseNumber's form: pflag reads 010 as octal 8 and
// -1 as a count. Counts are non-negative.
func IntVar(fs *pflag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var(&numberValue{name: name, max: math.MaxInt64, set: func(v uint64) { *p = int(v) }, show: func() string { return strconv.Itoa(*p) }, typ: "int"}, name, usage)
}

// Uint64Var is pflag's Uint64Var with ParseNumber's form.
func Uint64Var(fs *pflag.FlagSet, p *uint64, name string, value uint64, usage string) {
	*p = value
	fs.Var(&numberValue{name: name, max: math.MaxUint64, set: func(v uint64) { *p = v }, show: func() string { return strconv.FormatUint(*p, 10) }, typ: "uint64"}, name, usage)
}

type numberValue struct {
	name string
	max  uint64
	set  func(uint64)
	show func() string
	typ  string
}

func (v *numberValue) Set(s string) error {
	n, err := ParseUint("--"+v.name, s, v.max)
	if err != nil {
		return err
	}
	v.set(n)
	return nil
}

func (v *numberValue) String() string { return v.show() }
func (v *numberValue) Type() string   { return v.typ }

// WideFlag adds --wide to a command that prints a table: every column in full,
// whatever the terminal's width (a pipe and JSON always get them all).
func WideFlag(fl *pflag.FlagSet, io *ui.IO) {
	fl.BoolVar(&io.Wide, "wide", false, "show every column in full (on a terminal, the least important columns give way to fit its width)")
}

// FlagSuggestion returns the flag of c whose name is closest to the unknown one a
// parse error names — a typo (--amout, --singer), a missing letter, swapped ones, or
// a prefix (--treasury for --treasury-signer) — and whether there is one.
func FlagSuggestion(c *cobra.Command, err error) (string, bool) {
	var ne *pflag.NotExistError
	if !errors.As(err, &ne) || ne.GetSpecifiedName() == "" {
		return "", false
	}
	typed := strings.ToLower(strings.TrimLeft(ne.GetSpecifiedName(), "-"))
	best, bestD := "", 3
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := distance(typed, f.Name)
		if len(typed) >= 3 && strings.HasPrefix(f.Name, typed) {
			d = min(d, 1)
		}
		// A short name is a typo of another only within one edit.
		if d < bestD && (d <= 1 || len(f.Name) > 4) {
			best, bestD = f.Name, d
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	return best, best != ""
}

// distance is the edit distance between a and b, a swap of two neighbours counting
// as one edit (optimal string alignment).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
