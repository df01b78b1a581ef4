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
	"github.com/vrwx/vrwxctl/pkg/ui"
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
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
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
}

// NewCmdStatus returns `vrwxctl status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Chain: f.Chain, Retired: f.RetiredRelayer, Context: f.Context, Now: f.Now, StoreKey: f.SignerAddress, Health: &health.Client{}}
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

Exit codes: 0 all ok, 5 warnings only, 1 something critical.`,
		Example: `  vrwxctl status --profile base-mainnet
  vrwxctl status --signer aws-sm://vrwx/prod/relayer-key -o json | jq '.checks[] | select(.level != "ok")'
  DATABASE_PATH=/data/vrwx.db vrwxctl status --backups s3://vrwx-backups/prod --replica s3://vrwx-backups/db
  vrwxctl status --address 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC --api-url https://api.vrwx.io`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, run)
		},
	}
	fl := cmd.Flags()
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
	Profile     string `json:"profile"`
	ChainID     uint64 `json:"chainId"`
	RPC         string `json:"rpc"`
	Relayer     string `json:"relayer"`
	RelayerFrom string `json:"relayerFrom,omitempty"`
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

func run(ctx context.Context, opts *Options) error {
	if err := opts.flags().Validate(); err != nil {
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
	r := tg.Reader.Read(ctx)
	if errs.KindOf(r.Chain.Err) == errs.Refused {
		// The chain-id guard refused the RPC: a safety rail, not a reading to judge.
		return r.Chain.Err
	}
	if tg.FromSigner && r.Store != nil && r.Store.Err == nil {
		tg.Relayer = r.Store.Address
	}
	if tg.FromSigner && r.Store != nil && r.Store.Err != nil {
		// Without the key there is no relayer to read: say why, with the store's words.
		return errs.Failedf("reading the relayer's address from %s", r.Store.Ref).Wrap(r.Store.Err)
	}
	var retired *doctor.Retired
	// The store's current key is the relayer, never a retired one; an address given
	// by hand, or a version reference, may be a key a rotation retired.
	if opts.Retired != nil && tg.Relayer != (common.Address{}) && (!tg.FromSigner || opts.Signer != "") {
		retired = opts.Retired(ctx, cmdutil.Account{Address: tg.Relayer, SignerRef: opts.Signer})
	}
	checks := doctor.SystemChecks(doctor.System{Readings: r, ChainID: c.ChainID(), Relayer: tg.Relayer, RelayerFrom: tg.RelayerFrom, Retired: retired, Now: opts.Now()},
		cmdutil.SystemThresholds(cfg))
	level := doctor.Worst(checks)
	out := JSON{Profile: cfg.Profile, ChainID: c.ChainID(), RPC: r.Chain.RPC, RelayerFrom: tg.RelayerFrom,
		ReadMs: float64(r.Duration.Microseconds()) / 1000, RPCRoundTrips: r.Rounds, Level: level, Checks: checks}
	if tg.Relayer != (common.Address{}) {
		out.Relayer = tg.Relayer.Hex()
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		render(opts.IO, out, r)
	}
	if k := doctor.ExitKind(level); k != errs.OK {
		return errs.Exit(k)
	}
	return nil
}

func render(io *ui.IO, out JSON, r monitor.Readings) {
	s := io.Styles()
	who := out.Relayer
	if who == "" {
		who = "(no relayer)"
	}
	fmt.Fprintf(io.Out, "%s %s  %s\n", s.Bold.Render("STATUS"), who,
		s.Faint.Render(fmt.Sprintf("profile %s · chain %d · %s · read in %s (%d RPC round trip(s))", out.Profile, out.ChainID, r.Chain.RPC,
			r.Duration.Round(100*time.Microsecond), r.Rounds)))
	io.RenderSections(out.Checks)
	switch out.Level {
	case doctor.Crit:
		fmt.Fprintln(io.Out, s.Crit.Render("CRITICAL")+": act on the red lines above")
	case doctor.Warn:
		fmt.Fprintln(io.Out, s.Warn.Render("WARNINGS")+": see the fixes above")
	default:
		fmt.Fprintln(io.Out, s.OK.Render("OK"))
	}
}
