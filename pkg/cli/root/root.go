// Package root builds the vrwxctl command tree and its global flags.
package root

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"
	auditcmd "github.com/vrwx/vrwxctl/pkg/cli/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	configcmd "github.com/vrwx/vrwxctl/pkg/cli/config"
	contractscmd "github.com/vrwx/vrwxctl/pkg/cli/contracts"
	dbcmd "github.com/vrwx/vrwxctl/pkg/cli/db"
	dlqcmd "github.com/vrwx/vrwxctl/pkg/cli/dlq"
	doctorcmd "github.com/vrwx/vrwxctl/pkg/cli/doctor"
	exportercmd "github.com/vrwx/vrwxctl/pkg/cli/exporter"
	healthcmd "github.com/vrwx/vrwxctl/pkg/cli/health"
	jobcmd "github.com/vrwx/vrwxctl/pkg/cli/job"
	keycmd "github.com/vrwx/vrwxctl/pkg/cli/key"
	robotcmd "github.com/vrwx/vrwxctl/pkg/cli/robot"
	statuscmd "github.com/vrwx/vrwxctl/pkg/cli/status"
	txcmd "github.com/vrwx/vrwxctl/pkg/cli/tx"
	versioncmd "github.com/vrwx/vrwxctl/pkg/cli/version"
	walletcmd "github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

const annotationRun = "vrwxctl/run-started"

// RunStarted reports whether a command got past flag and argument parsing.
func RunStarted(cmd *cobra.Command) bool { return cmd.Annotations[annotationRun] == "yes" }

// commandGroups are the top-level commands, in the order help lists them, each
// with the constructor that builds it and everything below it.
type commandGroup struct {
	name, group string
	build       func(*cmdutil.Factory) *cobra.Command
}

var commandGroups = []commandGroup{
	{"status", "ops", func(f *cmdutil.Factory) *cobra.Command { return statuscmd.NewCmdStatus(f, nil) }},
	{"doctor", "ops", doctorcmd.NewCmdDoctor},
	{"health", "ops", func(f *cmdutil.Factory) *cobra.Command { return healthcmd.NewCmdHealth(f, nil) }},
	{"wallet", "ops", walletcmd.NewCmdWallet},
	{"job", "ops", jobcmd.NewCmdJob},
	{"robot", "ops", robotcmd.NewCmdRobot},
	{"contracts", "ops", contractscmd.NewCmdContracts},
	{"tx", "ops", txcmd.NewCmdTx},
	{"key", "ops", keycmd.NewCmdKey},
	{"audit", "ops", auditcmd.NewCmdAudit},
	{"db", "ops", dbcmd.NewCmdDB},
	{"dlq", "ops", dlqcmd.NewCmdDLQ},
	{"exporter", "ops", func(f *cmdutil.Factory) *cobra.Command { return exportercmd.NewCmdExporter(f, nil) }},
	{"config", "tool", configcmd.NewCmdConfig},
	{"version", "tool", func(f *cmdutil.Factory) *cobra.Command { return versioncmd.NewCmdVersion(f, nil) }},
}

// NewCmdRoot returns the root command with every command group attached.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command { return NewCmdRootFor(f, nil) }

// NewCmdRootFor returns the tree that runs args: the root with only the command
// group args name when they name one (`vrwxctl wallet balance …` builds the wallet
// commands and none of the others), else the whole tree. A command runs the same
// either way; building one group of fifteen is start-up time every command saves.
// Help, completion, a mistyped command and anything the scan below does not
// understand get the whole tree, so what they print is unchanged.
func NewCmdRootFor(f *cmdutil.Factory, args []string) *cobra.Command {
	g := f.Globals
	cmd := &cobra.Command{
		Use:   "vrwxctl <command>",
		Short: "Operate the VRWX relayer: status, keys, wallets, jobs, transactions, database",
		Long: `vrwxctl replaces the VRWX operations runbook's hand-typed cast, aws and sqlite3
commands with one binary: batched reads, keys that never travel in argv, decoded
contract errors with fixes, confirmations before anything is sent, and JSON output.

With no --profile (or VRWX_PROFILE, or default_profile in the config file) the
profile is "local": nothing touches a real chain by accident.`,
		Example: `  # What is wrong right now?
  vrwxctl status --profile base-mainnet

  # Balance of an address, as JSON
  vrwxctl wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC -o json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{},
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			c.Root().Annotations[annotationRun] = "yes"
			format, err := ui.ParseFormat(g.Output)
			if err != nil {
				return err
			}
			f.IO.Format = format
			f.IO.Verbose = g.Verbose
			if g.NoColor {
				f.IO.NoColor = true
			}
			if g.NoPager {
				f.IO.NoPager = true
			}
			// What the user typed is registered with the scrubber (hash fields aside)
			// before anything can repeat it.
			cmdutil.RegisterInput(c, args)
			if fl := c.Flags().Lookup("timeout"); fl != nil && fl.Changed && g.Timeout <= 0 {
				return errs.Usagef("--timeout %s is not positive (expected a duration such as 30s or 2m)", g.Timeout).
					WithFix("give --timeout a positive duration, or leave it out")
			}
			for _, u := range g.RPCURLs {
				if err := config.CheckURL(u); err != nil {
					return errs.Usagef("--rpc-url: %v", err)
				}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(flagError)

	pf := cmd.PersistentFlags()
	pf.StringVar(&g.Profile, "profile", "", "profile to use: base-mainnet, base-sepolia, local, or one from the config file (env VRWX_PROFILE; default local)")
	pf.StringVar(&g.ConfigPath, "config", "", "config file (env VRWXCTL_CONFIG; default $XDG_CONFIG_HOME/vrwxctl/config.yaml)")
	pf.StringArrayVar(&g.RPCURLs, "rpc-url", nil, "RPC endpoint; repeat for failover order (env RPC_URL)")
	pf.StringVarP(&g.Output, "output", "o", "text", "output format: text or json")
	pf.BoolVar(&g.Yes, "yes", false, "answer yes to confirmations (required without a terminal)")
	pf.BoolVar(&g.DryRun, "dry-run", false, "build, sign and simulate, but send or write nothing")
	pf.DurationVar(&g.Timeout, "timeout", 60*time.Second, "give up after this long (exit 4)")
	pf.BoolVar(&g.NoColor, "no-color", false, "no colour in output (also NO_COLOR)")
	pf.BoolVar(&g.NoPager, "no-pager", false, "print long listings directly instead of through the pager on a terminal (VRWXCTL_PAGER, PAGER, default less -FRX)")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "show RPC failover, retries and other detail on stderr")

	_ = cmd.RegisterFlagCompletionFunc("profile", func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		infos, err := config.Profiles(f.ConfigOptions())
		if err != nil {
			return config.BuiltinProfiles(), cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]string, 0, len(infos))
		for _, p := range infos {
			names = append(names, p.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))

	// The group args name, read with the root's own flags; none: every group.
	only := firstCommand(pf, args)
	if !slices.ContainsFunc(commandGroups, func(grp commandGroup) bool { return grp.name == only }) {
		only = ""
	}
	cmd.AddGroup(&cobra.Group{ID: "ops", Title: "Operations:"}, &cobra.Group{ID: "tool", Title: "Tool:"})
	for _, grp := range commandGroups {
		if only != "" && grp.name != only {
			continue
		}
		c := grp.build(f)
		c.GroupID = grp.group
		cmd.AddCommand(c)
	}
	cmd.SetHelpCommand(newCmdHelp())
	cmd.SetHelpCommandGroupID("tool")
	cmd.SetCompletionCommandGroupID("tool")
	// cobra adds help and completion when the tree runs; added now, the passes below
	// reach them too (`completion nosuch` is exit 2, not the group's help). The
	// completion commands keep the writer they are made with.
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultCompletionCmd()
	// Help fits the terminal it is read on (every command inherits the root's).
	width := func() int {
		if f.IO.OutTTY {
			return f.IO.OutWidth
		}
		return 0
	}
	cmd.SetUsageFunc(usageFunc(width))
	cmd.SetHelpFunc(helpFunc(width))
	cmdutil.OneValueEach(cmd)
	cmdutil.UnknownSubcommands(cmd)
	return cmd
}

// firstCommand returns the first word of args that is not one of the root's
// persistent flags or such a flag's value: the top-level command cobra will run.
// It is "" when args hold a flag the root does not have (a command's own flag
// before the command, -h, a typo): then only the whole tree can answer as cobra
// would.
func firstCommand(global *pflag.FlagSet, args []string) string {
	takesValue := func(fl *pflag.Flag) bool { return fl.NoOptDefVal == "" }
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--" || a == "-":
			return ""
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			fl := global.Lookup(name)
			if fl == nil {
				return ""
			}
			if takesValue(fl) && !hasValue {
				i++
			}
		case strings.HasPrefix(a, "-"):
			// Shorthands, alone or run together: -v, -o json, -ojson, -vo json.
			for j := 1; j < len(a); j++ {
				fl := global.ShorthandLookup(a[j : j+1])
				if fl == nil {
					return ""
				}
				if takesValue(fl) {
					if j == len(a)-1 {
						i++
					}
					break
				}
			}
		default:
			return a
		}
	}
	return ""
}

// flagError words pflag's parse errors (unknown flag, bad value, missing value) as
// usage errors. pflag quotes what it could not parse, and its messages are rebuilt
// around redact.Quote: the value may be a key typed in the wrong place.
func flagError(c *cobra.Command, err error) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return e
	}
	fix := "see `" + c.CommandPath() + " --help`"
	var (
		notExist *pflag.NotExistError
		invalid  *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &notExist) && notExist.GetSpecifiedShortnames() != "":
		return errs.Usagef("unknown shorthand flag %s in %s", redact.Quote(notExist.GetSpecifiedName()[:1]), redact.Quote("-"+notExist.GetSpecifiedShortnames())).WithFix(fix)
	case errors.As(err, &notExist):
		unknown := errs.Usagef("unknown flag %s", redact.Quote("--"+notExist.GetSpecifiedName()))
		if name, ok := cmdutil.FlagSuggestion(c, err); ok {
			return errs.Usagef("%s; did you mean --%s?", unknown.Msg, name).WithFix(fix + " for its flags")
		}
		return unknown.WithFix(fix)
	case errors.As(err, &invalid):
		what := invalid.GetFlag().Value.Type()
		if what == "duration" {
			what = "duration (expected e.g. 30s or 2m)"
		}
		return errs.Usagef("--%s %s is not a valid %s", invalid.GetFlag().Name, redact.Quote(invalid.GetValue()), what).WithFix(fix)
	case errors.As(err, &syntax):
		return errs.Usagef("bad flag syntax: %s", redact.Quote(syntax.GetSpecifiedFlag())).WithFix(fix)
	}
	return errs.Usagef("%s", redact.MaskText(err.Error())).WithFix(fix)
}

// helpOptions are the inputs of help: the tree and the path of the command asked about.
type helpOptions struct {
	Root  *cobra.Command
	Topic []string
}

func helpRun(_ context.Context, o *helpOptions) error {
	// A command of commands takes any word (to refuse it with a suggestion), so
	// Find returns the last command it matched and what it could not: a topic with
	// words left over names no command.
	target, rest, err := o.Root.Find(o.Topic)
	if target == nil || err != nil || len(rest) > 0 {
		topic := make([]string, len(o.Topic))
		for i, a := range o.Topic {
			topic[i] = redact.Quote(a)
		}
		return errs.Usagef("unknown help topic %s", strings.Join(topic, " ")).
			WithFix("see `vrwxctl --help` for the commands")
	}
	return target.Help()
}

// newCmdHelp is cobra's help command, except that an unknown topic is a usage error
// (exit 2) that quotes the topic through redact.Quote.
func newCmdHelp() *cobra.Command {
	return &cobra.Command{
		Use:     "help [command]",
		Short:   "Help about any command",
		Long:    "Help provides help for any command: vrwxctl help [path to command].",
		Example: `  vrwxctl help key rotate`,
		RunE: func(c *cobra.Command, args []string) error {
			return cmdutil.Run(c.Context(), nil, &helpOptions{Root: c.Root(), Topic: args}, nil, helpRun)
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, _, err := c.Root().Find(args)
			if err != nil || target == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range target.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
}
