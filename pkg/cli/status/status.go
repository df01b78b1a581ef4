// Package status implements `vrwxctl status`: the whole system on one screen —
// relayer, gas, chain, every RPC, contracts, API, the secret store's current key,
// the DLQ and the newest backup — read at once (pkg/monitor) and judged by the same
// checks as doctor and the exporter (pkg/doctor), each line with its fix.
package status

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/watch"
)

// SpendWindows are the spend-rate windows status asks for, longest first: a day and
// an hour of Base blocks (2 s each), and the 128 blocks of state every full node
// keeps. The oldest one the node still has state for is used.
var SpendWindows = []uint64{43_200, 1_800, 128}

// Options are the inputs of status.
type Options struct {
	IO     *ui.IO
	Config func() (*config.Config, error)
	Chain  func() (*chain.Client, error)
	// Retired tells whether the account is a key a rotation retired (nil: never).
	Retired func(ctx context.Context, acct cmdutil.Account) *doctor.Retired
	// RotatedOut finds the store whose rotation retired the profile's relayer
	// address, so status checks that store's current key instead (nil: never).
	RotatedOut func(ctx context.Context, addr common.Address, api *common.Address) *doctor.Retired
	Context    func(context.Context) (context.Context, context.CancelFunc)
	Now        func() time.Time
	// StoreKey returns the address of a signer reference's CURRENT key. The relayer
	// status checks is that key's account when it comes from a signer, and the
	// store's current key is compared with the API's relayerAddress. Key rotation
	// (issue 13) may set a store-aware reader here; the default reads the reference.
	StoreKey func(ctx context.Context, ref string) (common.Address, error)
	Health   *health.Client

	Address string
	Signer  string
	APIURL  string
	DB      string
	Backups string
	Replica string

	// Watch reads again every Interval until Ctrl-C.
	Watch    bool
	Interval time.Duration
	// ReadTimeout bounds each read of a watch (--timeout); NewTicker is the watch's
	// clock (time.NewTicker when nil).
	ReadTimeout time.Duration
	NewTicker   func(time.Duration) watch.Ticker
	intervalSet bool
}

// NewCmdStatus returns `vrwxctl status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Chain: f.Chain, Retired: f.RetiredRelayer, RotatedOut: f.RotatedOut, Context: f.Context, Now: f.Now, StoreKey: f.SignerAddress, Health: &health.Client{}}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "The whole system on one screen, judged against the runbook's thresholds, with fixes",
		Long: `Read the whole system at once and judge every line against the runbook's thresholds,
with the fix beside each warning:

  relayer    balance (warning < 0.2 ETH, critical < 0.05), nonces, transactions
             waiting, stuck (fee cap below the base fee) or queued behind a nonce
             gap, and the runway in days at its recent spend rate
  gas        gas price and base fee (warning > 50 gwei, critical > 100), and
             MAX_FEE_PER_GAS_GWEI against the base fee (below it, relays cannot be mined)
  chain/rpc  the head's age; every RPC URL up, its lag behind the highest head, latency
  contracts  the escrow's and registry's code, the pause switch ("no pause switch"
             when the escrow has none), jobCount
  api        /health reachable and ok, chainId = the profile's, relayerAddress = the
             relayer checked here, latency (warning > 2 s, critical > 5 s)
  keys       the secret store's current key = the API's relayerAddress (a rotation
             half done shows here)
  database   DLQ depth (warning > 10, critical > 50), when --db or DATABASE_PATH is set
  backup     age of the newest backup, when --backups or VRWX_BACKUP_LOCATION is set;
             how far litestream's replica is behind (warning > 15m, critical > 1h,
             the runbook's RPO), when --replica or VRWX_REPLICA is set

The relayer is --address, else the account of --signer, else the profile's signer
(its store's CURRENT key, so after a rotation the new one), else the profile's
relayer. An address that a rotation retired (a previous version in the signer's
store) is reported as retired, never suggested for funding. Every threshold is a
profile setting (vrwxctl config view). The chain is read in one batched request,
plus one more for what needs the head (spend window, txpool on nodes without
txpool_contentFrom); the other RPC URLs, the API, the database, the store and the
backups are read at the same time.

--watch keeps it on screen during an incident: it reads again every --interval
(5s), redraws in place on the terminal's alternate screen with the time of the
last read and what changed since the one before marked ▸, and leaves the last
reading on the screen when Ctrl-C ends it (exit 130). In a pipe it writes one
document per read: the text report under a time line, or one JSON object per
line with -o json. Each read is bounded by --timeout.

Exit codes: 0 all ok, 5 warnings only, 1 something critical; with --watch 130
(Ctrl-C) or 143 (SIGTERM).`,
		Example: `  vrwxctl status --profile base-mainnet
  vrwxctl status --watch --interval 10s
  vrwxctl status --watch -o json | jq -c '{at, level}'  # one line per read
  vrwxctl status --signer aws-sm://vrwx/prod/relayer-key -o json | jq '.checks[] | select(.level != "ok")'
  DATABASE_PATH=/data/vrwx.db vrwxctl status --backups s3://vrwx-backups/prod --replica s3://vrwx-backups/db
  vrwxctl status --address 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC --api-url https://api.vrwx.io`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			bound := opts.Context
			opts.intervalSet = cmd.Flags().Changed("interval")
			if opts.Watch {
				// A watch runs until Ctrl-C; --timeout bounds each read instead.
				bound, opts.ReadTimeout = nil, f.Globals.Timeout
			}
			return cmdutil.Run(cmd.Context(), bound, opts, runF, run)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Watch, "watch", false, "read again every --interval and redraw in place until Ctrl-C (one document per read in a pipe)")
	fl.DurationVar(&opts.Interval, "interval", 5*time.Second, "with --watch, the time between reads (at least 1s)")
	fl.StringVar(&opts.Address, "address", "", "relayer address to check")
	fl.StringVar(&opts.Signer, "signer", "", "signer reference of the relayer (only the address of its current key is read)")
	fl.StringVar(&opts.APIURL, "api-url", "", "the API's base URL for /health (default VRWX_API_URL or the profile's api_url)")
	fl.StringVar(&opts.DB, "db", "", "the API's SQLite database, for the DLQ depth (default DATABASE_PATH or the profile's database_path, when set)")
	fl.StringVar(&opts.Backups, "backups", "", "where database backups go, directory or s3://bucket/prefix (default VRWX_BACKUP_LOCATION or backup_location)")
	fl.StringVar(&opts.Replica, "replica", "", "litestream replica of the database, file:///dir or s3://bucket/path (default VRWX_REPLICA or replica)")
	return cmd
}

// JSON is the -o json shape of status.
type JSON struct {
	// At is when the read started.
	At          time.Time `json:"at"`
	Profile     string    `json:"profile"`
	ChainID     uint64    `json:"chainId"`
	RPC         string    `json:"rpc"`
	Relayer     string    `json:"relayer"`
	RelayerFrom string    `json:"relayerFrom,omitempty"`
	// ReadMs is how long the whole read took; RPCRoundTrips how many chain round
	// trips it made one after the other.
	ReadMs        float64        `json:"readMs"`
	RPCRoundTrips int            `json:"rpcRoundTrips"`
	Level         doctor.Level   `json:"level"`
	Checks        []doctor.Check `json:"checks"`
}

// flags are the options' part that names what is read.
func (o *Options) flags() cmdutil.SystemFlags {
	return cmdutil.SystemFlags{Address: o.Address, Signer: o.Signer, APIURL: o.APIURL, DB: o.DB, Backups: o.Backups, Replica: o.Replica}
}

// validate checks the flags before anything is read.
func (o *Options) validate() error {
	if err := o.flags().Validate(); err != nil {
		return err
	}
	switch {
	case o.intervalSet && !o.Watch:
		return errs.Usagef("--interval is the time between the reads of --watch (expected --watch --interval %s)", o.Interval)
	case o.Watch && o.Interval < time.Second:
		return errs.Usagef("--interval %s is too short (expected at least 1s: every read asks the RPC, the API, the store)", o.Interval)
	}
	return nil
}

// reading is one status read, judged.
type reading struct {
	out JSON
	r   monitor.Readings
}

func run(ctx context.Context, opts *Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()
	src, err := opts.flags().Sources(opts.StoreKey, opts.Health, opts.Now)
	if err != nil {
		return err
	}
	tg, err := monitor.ForProfile(cfg, c, src)
	if err != nil {
		return err
	}
	tg.Reader.Contracts, tg.Reader.Pools, tg.Reader.SpendBlocks = true, true, SpendWindows
	var followed *cmdutil.Followed
	if tg.FromProfileAddress && opts.RotatedOut != nil {
		if ret := opts.RotatedOut(ctx, tg.Relayer, nil); ret != nil {
			followed = cmdutil.FollowRotation(tg, ret, opts.StoreKey)
		}
	}
	read := func(ctx context.Context) (reading, error) { return readOnce(ctx, opts, cfg, c, tg, &followed) }
	if opts.Watch {
		return watchRun(ctx, opts, read)
	}
	rd, err := read(ctx)
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(rd.out); err != nil {
			return err
		}
	} else {
		render(opts.IO, rd.out, rd.r)
	}
	if k := doctor.ExitKind(rd.out.Level); k != errs.OK {
		return errs.Exit(k)
	}
	return nil
}

// readOnce reads the whole system once and judges it.
func readOnce(ctx context.Context, opts *Options, cfg *config.Config, c *chain.Client, tg *monitor.Target, followed **cmdutil.Followed) (reading, error) {
	r := tg.Reader.Read(ctx)
	if api := apiRelayer(r); tg.FromProfileAddress && opts.RotatedOut != nil && api != nil && *api != tg.Relayer {
		// The API relays from another key than the profile's address: when that key
		// is the current key of a store this host changed, the address is what is
		// out of date. The relayer in service is read again (once: tg follows it).
		if ret := opts.RotatedOut(ctx, tg.Relayer, api); ret != nil {
			*followed = cmdutil.FollowRotation(tg, ret, opts.StoreKey)
			r = tg.Reader.Read(ctx)
		}
	}
	if errs.KindOf(r.Chain.Err) == errs.Refused {
		// The chain-id guard refused the RPC: a safety rail, not a reading to judge.
		return reading{}, r.Chain.Err
	}
	relayer := tg.Relayer
	if tg.FromSigner && r.Store != nil && r.Store.Err == nil {
		relayer = r.Store.Address
	}
	if tg.FromSigner && r.Store != nil && r.Store.Err != nil {
		// Without the key there is no relayer to read: say why, with the store's words.
		return reading{}, errs.Failedf("reading the relayer's address from %s", redact.Mask(r.Store.Ref)).Wrap(r.Store.Err)
	}
	var retired *doctor.Retired
	// The store's current key is the relayer, never a retired one; an address given
	// by hand, or a version reference, may be a key a rotation retired.
	if opts.Retired != nil && relayer != (common.Address{}) && (!tg.FromSigner || opts.Signer != "") {
		retired = opts.Retired(ctx, cmdutil.Account{Address: relayer, SignerRef: opts.Signer})
	}
	sys := doctor.System{Readings: r, ChainID: c.ChainID(), Relayer: relayer, RelayerFrom: tg.RelayerFrom, Retired: retired, Now: opts.Now(),
		RelayerRef: relayerRef(tg), TreasuryRef: cfg.String("treasury_signer")}
	if f := *followed; f != nil {
		sys.RotatedOut, sys.ProfileRelayer = f.Retired, f.Old
	}
	checks := doctor.SystemChecks(sys,
		cmdutil.SystemThresholds(cfg))
	level := doctor.Worst(checks)
	out := JSON{At: r.At.UTC(), Profile: cfg.Profile, ChainID: c.ChainID(), RPC: r.Chain.RPC, RelayerFrom: tg.RelayerFrom,
		ReadMs: float64(r.Duration.Microseconds()) / 1000, RPCRoundTrips: r.Rounds, Level: level, Checks: checks}
	if relayer != (common.Address{}) {
		out.Relayer = relayer.Hex()
	}
	return reading{out: out, r: r}, nil
}

// relayerRef is the signer reference of the relayer under check, "" when it is an
// address.
func relayerRef(tg *monitor.Target) string {
	if tg.FromSigner {
		return tg.SignerRef
	}
	return ""
}

// apiRelayer is the address the API relays from, nil when it did not say.
func apiRelayer(r monitor.Readings) *common.Address {
	if r.API == nil || r.API.Health == nil {
		return nil
	}
	return r.API.Health.RelayerAddress
}

func render(io *ui.IO, out JSON, r monitor.Readings) { renderChanged(io, out, r, nil) }

// renderChanged is render with the checks changed since a watch's last read marked.
func renderChanged(io *ui.IO, out JSON, r monitor.Readings, changed func(report.Check) bool) {
	s := io.Styles()
	who := out.Relayer
	if who == "" {
		who = "(no relayer)"
	}
	io.Heading(s.Bold.Render("STATUS")+" "+who,
		fmt.Sprintf("profile %s · chain %d · %s · read in %s (%d RPC round trip(s))", out.Profile, out.ChainID, r.Chain.RPC,
			r.Duration.Round(100*time.Microsecond), r.Rounds))
	io.RenderSectionsChanged(out.Checks, changed)
	switch out.Level {
	case doctor.Crit:
		fmt.Fprintln(io.Out, s.Crit.Render("CRITICAL")+": act on the red lines above")
	case doctor.Warn:
		fmt.Fprintln(io.Out, s.Warn.Render("WARNINGS")+": see the fixes above")
	default:
		fmt.Fprintln(io.Out, s.OK.Render("OK"))
	}
}
