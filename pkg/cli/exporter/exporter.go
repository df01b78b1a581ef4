// Package exporter implements `vrwxctl exporter`: a long-lived Prometheus endpoint for
// the runbook's metrics (relayer balances and nonces, gas, RPC endpoints, the API's
// /health, the DLQ depth), read in one batched chain round trip per interval however
// many scrapers ask.
package exporter

import (
	"context"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/exporter"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Options are the inputs of exporter.
type Options struct {
	IO            *ui.IO
	Config        func() (*config.Config, error)
	Chain         func() (*chain.Client, error)
	SignerAddress func(ctx context.Context, ref string) (common.Address, error)
	Now           func() time.Time
	// Listen opens the listening socket (net.Listen in the binary).
	Listen func(network, addr string) (net.Listener, error)

	Addr        string
	Relayers    []string
	Signer      string
	APIURL      string
	DB          string
	Interval    time.Duration
	ReadTimeout time.Duration
	RelayWindow time.Duration
}

// NewCmdExporter returns `vrwxctl exporter`.
func NewCmdExporter(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Chain: f.Chain, SignerAddress: f.SignerAddress, Now: f.Now, Listen: net.Listen}
	cmd := &cobra.Command{
		Use:   "exporter --listen ADDR",
		Short: "Serve the runbook's metrics to Prometheus (balances, nonces, gas, RPCs, API, DLQ)",
		Long: `Serve Prometheus metrics at http://ADDR/metrics, and /healthz for liveness probes.

Published: vrwx_relayer_balance_eth (one series per relayer, label address), the
relayers' latest and pending nonces and pending count, gas price and base fee in
gwei, the profile's MAX_FEE_PER_GAS_GWEI, the escrow's job count, each RPC URL's
up/head/lag/latency, vrwx_api_up and /health latency, vrwx_dlq_unresolved (read-only
from the API's database), and the exporter's own refresh metrics.
docs/monitoring/README.md lists every metric; docs/monitoring/alerts.yaml alerts on them.

The runbook's relay metrics, which the API does not export, come from durable
records: vrwx_relay_tx_total, vrwx_relay_tx_success_total and
vrwx_relay_tx_failed_total count the relayers' transactions mined (succeeded,
reverted) from the chain (source="chain") and the DLQ's TX_FAIL rows of relays that
failed before the chain (source="dlq"); vrwx_relay_gas_used is the histogram of their
gas, vrwx_completion_latency_seconds that of the idempotency records' request →
COMPLETED times. The database part counts all the API's rows; the chain part
counts from the first block of the --relay-window the exporter started in (an
hour, aligned to the Unix epoch; label since), so a restart never makes a counter go
back: within the window it counts the same blocks again, in a later one its series
are new.

Readings are reused for --interval: any number of scrapers within it cost one
batched chain round trip (plus one request per extra RPC URL, sent at the same time).
An RPC, API or database outage is a metric saying down; the process keeps running
until SIGTERM or SIGINT, then stops cleanly (exit 0). --timeout does not apply.

Relayers: every --relayer, plus the account of --signer (only its address is read);
with neither, the profile's signer or relayer address. A signer's address is read
again before every refresh, so after a key rotation the exporter watches the new
relayer without a restart. Prefer --relayer in
deployments: the exporter then needs no access to the key store.
The API is --api-url, else VRWX_API_URL / the profile's api_url. The database is
--db, else DATABASE_PATH / database_path when set (not the built-in default): with
none, the database is never touched. It is opened read-only for each refresh and
closed again, so it never blocks a restore.`,
		Example: `  # Next to Prometheus, on the production profile
  vrwxctl exporter --listen :9469 --profile base-mainnet --relayer 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC

  # With the DLQ depth, as a sidecar of the API (same volume)
  DATABASE_PATH=/data/vrwx.db vrwxctl exporter --listen :9469 --interval 30s

  curl -s localhost:9469/metrics | grep vrwx_relayer_balance_eth`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Long-lived: bounded by SIGTERM/SIGINT (the root context), not --timeout.
			return cmdutil.Run(cmd.Context(), nil, opts, runF, exporterRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "listen", "", "address to serve on, host:port or :port (required; e.g. :9469)")
	fl.StringArrayVar(&opts.Relayers, "relayer", nil, "relayer address to watch (repeatable)")
	fl.StringVar(&opts.Signer, "signer", "", "also watch the account of this signer reference (only its address is read)")
	fl.StringVar(&opts.APIURL, "api-url", "", "the API's base URL for /health (default VRWX_API_URL or the profile's api_url)")
	fl.StringVar(&opts.DB, "db", "", "the API's SQLite database, for vrwx_dlq_unresolved (default DATABASE_PATH or the profile's database_path, when set)")
	fl.DurationVar(&opts.Interval, "interval", 15*time.Second, "reuse readings this long; set to Prometheus's scrape interval")
	fl.DurationVar(&opts.ReadTimeout, "read-timeout", 10*time.Second, "give up on a part (RPC, API, database) after this long; it then reads as down")
	fl.DurationVar(&opts.RelayWindow, "relay-window", time.Hour, "the chain's relay counters count from the first block of the window (of this length, aligned to the Unix epoch) the exporter started in")
	return cmd
}

func (o *Options) validate() error {
	if o.Addr == "" {
		return errs.Usagef("--listen is required (expected host:port or :port, e.g. :9469)")
	}
	if !listenAddr(o.Addr) {
		return errs.Usagef("--listen %s is not an address (expected host:port or :port with a port from 0 to 65535, e.g. :9469 or 127.0.0.1:9469)", redact.Quote(o.Addr))
	}
	if o.Interval <= 0 {
		return errs.Usagef("--interval %s is not positive (expected a duration such as 15s)", o.Interval)
	}
	if o.ReadTimeout <= 0 {
		return errs.Usagef("--read-timeout %s is not positive (expected a duration such as 10s)", o.ReadTimeout)
	}
	if o.RelayWindow < time.Minute {
		return errs.Usagef("--relay-window %s is too short (expected a duration of a minute or more, such as 1h)", o.RelayWindow)
	}
	if o.APIURL != "" {
		if err := config.CheckURL(o.APIURL); err != nil {
			return errs.Usagef("--api-url: %v", err)
		}
	}
	for _, r := range o.Relayers {
		if err := units.CheckAddress(r); err != nil {
			return errs.Usagef("--relayer: %v", err)
		}
	}
	if o.Signer != "" {
		if _, err := secrets.ParseRef(o.Signer); err != nil {
			return err
		}
	}
	return nil
}

// listenAddr reports whether s is host:port or :port, the host a name or an IP
// address and the port a number from 0 to 65535: what --listen means, checked
// before anything is read.
func listenAddr(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" || len(port) > 5 {
		return false
	}
	n := 0
	for _, c := range []byte(port) {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	for _, c := range []byte(host) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// sources is what the exporter reads, resolved from flags and the profile.
type sources struct {
	reader   *monitor.Reader
	maxFee   *big.Int
	relayers []string
	// read refreshes the readings (the reader's, following a signer's current key
	// when one was given).
	read func(ctx context.Context) monitor.Readings
}

func exporterRun(ctx context.Context, opts *Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	src, err := resolve(ctx, opts, cfg)
	if err != nil {
		return err
	}
	l, err := opts.Listen("tcp", opts.Addr)
	if err != nil {
		return errs.Failedf("listen on %s", redact.Mask(opts.Addr)).Wrap(err).
			WithFix("choose a free port with --listen, or stop what holds this one")
	}
	e := exporter.New(exporter.Options{
		Read:         src.read,
		Interval:     opts.Interval,
		ReadTimeout:  opts.ReadTimeout,
		MaxFeePerGas: src.maxFee,
		Now:          opts.Now,
		Logf:         opts.IO.Warnf,
		Relay:        &exporter.RelayOptions{Chain: src.reader.Chain, DBPath: src.reader.DBPath, Window: opts.RelayWindow},
	})
	r := src.reader
	opts.IO.Successf("exporter listening on http://%s/metrics (profile %s, chain %d)", l.Addr(), cfg.Profile, r.Chain.ChainID())
	opts.IO.Infof("  relayers: %s", orNone(strings.Join(src.relayers, ", "), "none (gas, RPC and API metrics only)"))
	urls := make([]string, len(r.Endpoints))
	for i, ep := range r.Endpoints {
		urls[i] = chain.RedactURL(ep.URL())
	}
	opts.IO.Infof("  RPC: %s", strings.Join(urls, ", "))
	if r.Escrow != nil {
		opts.IO.Infof("  escrow: %s", r.Escrow.Hex())
	}
	opts.IO.Infof("  API: %s", orNone(redacted(r.APIURL), "none"))
	opts.IO.Infof("  database: %s", orNone(redact.Mask(r.DBPath), "none (vrwx_dlq_unresolved not published)"))
	if r.Replica != nil {
		opts.IO.Infof("  replica: %s (litestream; vrwx_db_replica_age_seconds)", redact.Mask(r.Replica.String()))
	}
	defer r.Chain.Close()
	if err := e.Serve(ctx, l); err != nil {
		return errs.Failedf("%v", err)
	}
	opts.IO.Infof("exporter stopped")
	return nil
}

func resolve(ctx context.Context, opts *Options, cfg *config.Config) (*sources, error) {
	c, err := opts.Chain()
	if err != nil {
		return nil, err
	}
	given := make([]common.Address, 0, len(opts.Relayers))
	for _, s := range opts.Relayers {
		a, err := units.ParseAddress(s)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(given, a) {
			given = append(given, a)
		}
	}
	tg, err := monitor.ForProfile(cfg, c, monitor.Sources{Relayers: given, RelayersFrom: "--relayer", Signer: opts.Signer,
		APIURL: opts.APIURL, DB: opts.DB, Health: &health.Client{Timeout: opts.ReadTimeout}, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	r := tg.Reader
	// No metric is made of the backups: listing them on every refresh would cost
	// for nothing. A litestream replica (the profile's replica) is read: its
	// position's age is the RPO's metric.
	r.Backups = nil
	src := &sources{reader: r, read: r.Read}
	// The signer's account is watched with the addresses given (--signer), or alone
	// (the profile's signer when nothing else is given); its address is read again
	// before every refresh, so a rotation's new key is followed.
	if ref := tg.SignerRef; ref != "" && (opts.Signer != "" || len(given) == 0) {
		a, err := opts.SignerAddress(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(r.Relayers, a) {
			fl := &follow{reader: r, ref: ref, idx: len(r.Relayers), resolve: opts.SignerAddress, logf: opts.IO.Warnf}
			src.read = fl.read
			r.Relayers = append(r.Relayers, a)
		}
	}
	for _, a := range r.Relayers {
		src.relayers = append(src.relayers, a.Hex())
	}
	if fee, ok := cfg.Decimal("max_fee_gwei"); ok {
		src.maxFee = units.GweiToWei(fee)
	}
	return src, nil
}

func redacted(u string) string {
	if u == "" {
		return ""
	}
	return chain.RedactURL(u)
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
