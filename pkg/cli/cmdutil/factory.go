// Package cmdutil holds what every vrwxctl command shares: the Factory that hands a
// command its dependencies (IO, configuration, chain client, clock), the global
// flags, and argument helpers that turn bad input into exit code 2.
package cmdutil

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Globals are the root command's persistent flags.
type Globals struct {
	Profile    string
	ConfigPath string
	RPCURLs    []string
	Output     string
	Yes        bool
	DryRun     bool
	Timeout    time.Duration
	NoColor    bool
	NoPager    bool
	Verbose    bool
}

// Factory gives commands their dependencies; tests build one around buffers and a
// real chain.
type Factory struct {
	IO      *ui.IO
	Globals *Globals
	// LookupEnv reads the environment (os.LookupEnv in the binary).
	LookupEnv func(string) (string, bool)
	// Environ lists the whole environment (os.Environ in the binary; nil: none),
	// for the one child vrwxctl starts, key rotate's deploy command.
	Environ func() []string
	Now     func() time.Time

	configOnce sync.Once
	config     *config.Config
	configErr  error
}

// Config loads the configuration once: built-in < deployment < file < env < flags.
func (f *Factory) Config() (*config.Config, error) {
	f.configOnce.Do(func() {
		opts := config.Options{
			ConfigPath: f.Globals.ConfigPath,
			Profile:    f.Globals.Profile,
			LookupEnv:  f.LookupEnv,
			Flags:      map[string]string{},
			FlagNames:  map[string]string{},
		}
		if len(f.Globals.RPCURLs) > 0 {
			opts.Flags["rpc_urls"] = strings.Join(f.Globals.RPCURLs, ",")
			opts.FlagNames["rpc_urls"] = "--rpc-url"
		}
		f.config, f.configErr = config.Load(opts)
	})
	return f.config, f.configErr
}

// ConfigOptions are the options Config used, for commands that list profiles.
func (f *Factory) ConfigOptions() config.Options {
	return config.Options{ConfigPath: f.Globals.ConfigPath, Profile: f.Globals.Profile, LookupEnv: f.LookupEnv}
}

// Profiles lists the built-in and configured profiles, each resolved.
func (f *Factory) Profiles() ([]config.ProfileInfo, error) { return config.Profiles(f.ConfigOptions()) }

// Chain returns a client for the profile's RPC URLs, guarded by its chain id. It does
// no I/O: the guard runs with the first read.
func (f *Factory) Chain() (*chain.Client, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	id, err := cfg.ChainID()
	if err != nil {
		return nil, err
	}
	urls, err := cfg.RPCURLs()
	if err != nil {
		return nil, err
	}
	opts := chain.Options{URLs: urls, ChainID: id, Logf: f.IO.Debugf, AttemptTimeout: AttemptTimeout(f.Globals.Timeout)}
	if cfg.Profile == "local" {
		opts.NotListening = localNotRunning(urls)
	}
	return chain.New(opts), nil
}

// localNotRunning words a refused connection on the local profile: the chain that
// `make devchain` leaves running is not (or no longer) there.
func localNotRunning(urls []string) func(error) error {
	return func(err error) error {
		shown := make([]string, len(urls))
		for i, u := range urls {
			shown[i] = chain.RedactURL(u)
		}
		return errs.Failedf("the local chain is not running: nothing listens at %s (connection refused)", strings.Join(shown, ", ")).Wrap(err).
			WithFix("start it with `make devchain` in the vrwxctl checkout (`make devchain PORT=8546` for another port; `make devchain-stop` stops it); " +
				"outside the checkout, point vrwxctl at its deployment with VRWXCTL_DEPLOYMENT=<checkout>/.devchain/deployment.json, or use --profile for a real network")
	}
}

// AttemptTimeout is how long one request may take on one RPC URL before the next URL
// is tried: a third of --timeout, between 1 s and 15 s, so a hanging first endpoint
// leaves the others most of the budget.
func AttemptTimeout(total time.Duration) time.Duration {
	if total <= 0 {
		return 15 * time.Second
	}
	return min(max((total/3).Round(100*time.Millisecond), time.Second), 15*time.Second)
}

// Context returns a context bounded by --timeout.
func (f *Factory) Context(parent context.Context) (context.Context, context.CancelFunc) {
	if f.Globals.Timeout > 0 {
		return context.WithTimeout(parent, f.Globals.Timeout)
	}
	return context.WithCancel(parent)
}

// Run ends every command's RunE: the context bounded by --timeout (bound; nil leaves
// the command's own context), then the test's runF when one was given, else the
// command's run.
func Run[O any](parent context.Context, bound func(context.Context) (context.Context, context.CancelFunc), opts O, runF, run func(context.Context, O) error) error {
	ctx := parent
	if bound != nil {
		var cancel context.CancelFunc
		ctx, cancel = bound(parent)
		defer cancel()
	}
	if runF != nil {
		return runF(ctx, opts)
	}
	return run(ctx, opts)
}
