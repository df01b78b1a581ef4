package doctor

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// RelayOptions are the inputs of doctor relay.
type RelayOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	// StoreKey reads the address of a signer reference's current key (see status).
	StoreKey func(ctx context.Context, ref string) (common.Address, error)
	Health   *health.Client
	// RotatedOut finds the store whose rotation retired the profile's relayer
	// address (see status).
	RotatedOut func(ctx context.Context, addr common.Address, api *common.Address) *doctor.Retired

	Address string
	Signer  string
	APIURL  string
	DB      string
	Since   time.Duration
	Blocks  string
	Limit   int
}

// NewCmdRelay returns `doctor relay`.
func NewCmdRelay(f *cmdutil.Factory, runF func(context.Context, *RelayOptions) error) *cobra.Command {
	opts := &RelayOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context, Now: f.Now, StoreKey: f.SignerAddress, Health: &health.Client{}, RotatedOut: f.RotatedOut}
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Investigate relay transaction failures: evidence, then the likely causes ranked with fixes",
		Long: `The runbook's "Relay Transaction Failures" investigation in one command. It reads:

  - the relayer's balance, nonces, what waits in the txpool (stuck below the base
    fee, or queued behind a nonce gap) and its runway
  - its recent transactions, found by scanning the last --blocks blocks, with
    status, fees and the decoded reason of every one that reverted
  - the escrow's events in the same blocks, its code and pause switch
  - every RPC URL's head, lag and latency (the backup is recommended when the
    first lags or is down)
  - the gas price and base fee against MAX_FEE_PER_GAS_GWEI
  - the API's /health (up, chain, relayer) and the secret store's current key
  - the DLQ's TX_FAIL rows of the last --since (default 1h), when a database is
    configured (--db, DATABASE_PATH or the profile's database_path): each reason
    decoded and the rows grouped by cause (InvalidSignature, DeadlinePassed,
    INSUFFICIENT_FUNDS, …) with their count and newest time. The API estimates gas
    before it relays, so a completion that would revert fails there and never
    reaches the chain: its DLQ row is the only record of it

and ends with the likely causes, most likely first, each with the evidence and the
runbook's fix: relayer out of gas · high gas prices · contract paused · RPC node
issues · invalid signatures (and nonce gaps, the API, completions the escrow
rejects, gas limits), followed by the causes the readings rule out — a cause is
ruled out only when neither the chain nor the DLQ shows it.

The relayer is --address, else the current key of --signer or the profile's
signer, else the profile's relayer address. Step 3 of the runbook (kubectl logs)
stays kubectl.

Exit codes: 0 nothing wrong found, 5 warnings only, 1 something critical, 2 bad input.`,
		Example: `  vrwxctl doctor relay --profile base-mainnet
  vrwxctl doctor relay --address 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC --blocks 500

  # With the DLQ's failed relays of the last 6 hours
  vrwxctl doctor relay --db /data/vrwx.db --since 6h
  vrwxctl doctor relay -o json | jq '.causes[0]'`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, relayRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Address, "address", "", "relayer address to investigate")
	fl.StringVar(&opts.Signer, "signer", "", "signer reference of the relayer (only the address of its current key is read)")
	fl.StringVar(&opts.APIURL, "api-url", "", "the API's base URL for /health (default VRWX_API_URL or the profile's api_url)")
	fl.StringVar(&opts.DB, "db", "", "the API's SQLite database, for its DLQ's recent TX_FAIL rows (default DATABASE_PATH or the profile's database_path, when set)")
	fl.DurationVar(&opts.Since, "since", doctor.DefaultDLQSince, "read the DLQ's TX_FAIL rows created this long ago and since")
	fl.StringVar(&opts.Blocks, "blocks", "100", "how many recent blocks to search for transactions and escrow events (the runbook's --from-block -100)")
	cmdutil.IntVar(fl, &opts.Limit, "limit", 20, "keep at most this many of the relayer's recent transactions")
	return cmd
}

// flags are the options' part that names what is read.
func (o *RelayOptions) flags() cmdutil.SystemFlags {
	return cmdutil.SystemFlags{Address: o.Address, Signer: o.Signer, APIURL: o.APIURL, DB: o.DB}
}

func (o *RelayOptions) validate() (uint64, error) {
	if err := o.flags().Validate(); err != nil {
		return 0, err
	}
	n, err := cmdutil.ParseUint("--blocks", o.Blocks, math.MaxUint64)
	if err != nil || n == 0 || n > 100_000 {
		return 0, errs.Usagef("--blocks %s is not a block count (expected an integer from 1 to 100000: decimal digits, or 0x followed by hex digits)", redact.Quote(o.Blocks))
	}
	if o.Since <= 0 {
		return 0, errs.Usagef("--since %s is not positive (expected a duration such as 1h or 30m)", o.Since)
	}
	if o.Limit < 1 || o.Limit > 1000 {
		return 0, errs.Usagef("--limit %d is out of range (expected 1 to 1000)", o.Limit)
	}
	return n, nil
}

// RelayJSON is the -o json shape of doctor relay.
type RelayJSON struct {
	Profile      string           `json:"profile"`
	ChainID      uint64           `json:"chainId"`
	Relayer      string           `json:"relayer"`
	RelayerFrom  string           `json:"relayerFrom,omitempty"`
	FromBlock    uint64           `json:"fromBlock"`
	ToBlock      uint64           `json:"toBlock"`
	ReadMs       float64          `json:"readMs"`
	Level        doctor.Level     `json:"level"`
	Checks       []doctor.Check   `json:"checks"`
	Transactions []history.TxJSON `json:"transactions"`
	Events       map[string]int   `json:"events"`
	// DLQ is the recent TX_FAIL rows by decoded cause (absent without a database).
	DLQ      *dlq.Failures  `json:"dlq,omitempty"`
	Causes   []RankedCause  `json:"causes"`
	RuledOut []doctor.Cause `json:"ruledOut"`
	// NotJudged are the causes nothing could be read for (the RPC down).
	NotJudged []doctor.Cause `json:"notJudged,omitempty"`
}

// RankedCause is a likely cause with its rank (1 = most likely).
type RankedCause struct {
	Rank int `json:"rank"`
	doctor.Cause
}

// ranked numbers the likely causes from the most likely; both lists are empty, not
// null, in JSON when there are none.
func ranked(causes, ruledOut []doctor.Cause) ([]RankedCause, []doctor.Cause) {
	out := make([]RankedCause, 0, len(causes))
	for i, cs := range causes {
		out = append(out, RankedCause{Rank: i + 1, Cause: cs})
	}
	if ruledOut == nil {
		ruledOut = []doctor.Cause{}
	}
	return out, ruledOut
}

// report prints a diagnosis, as JSON or through render, and exits by its level:
// 0 nothing wrong, 5 warnings only, 1 something critical.
func report(io *ui.IO, level doctor.Level, out any, render func()) error {
	if io.JSONOutput() {
		if err := io.WriteJSON(out); err != nil {
			return err
		}
	} else {
		render()
	}
	if k := doctor.ExitKind(level); k != errs.OK {
		return errs.Exit(k)
	}
	return nil
}

func relayRun(ctx context.Context, opts *RelayOptions) error {
	start := time.Now()
	blocks, err := opts.validate()
	if err != nil {
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
	if !tg.FromSigner && tg.Relayer == (common.Address{}) {
		return errs.Usagef("no relayer to investigate: profile %q has no signer or relayer address", cfg.Profile).
			WithFix("pass --address or --signer REF, or set signer / relayer in the profile")
	}
	var followed *cmdutil.Followed
	if tg.FromProfileAddress && opts.RotatedOut != nil {
		if ret := opts.RotatedOut(ctx, tg.Relayer, nil); ret != nil {
			followed = cmdutil.FollowRotation(tg, ret, opts.StoreKey)
		}
	}
	tg.Reader.Contracts = true
	tg.Reader.SpendBlocks = []uint64{43_200, 1_800, 128}
	d := &doctor.Relay{Reader: tg.Reader, Relayer: tg.Relayer, RelayerFrom: tg.RelayerFrom, ChainID: c.ChainID(),
		Blocks: blocks, Limit: opts.Limit, Thresholds: cmdutil.SystemThresholds(cfg), Now: opts.Now, DLQSince: opts.Since,
		TreasuryRef: cfg.String("treasury_signer")}
	if tg.FromSigner {
		d.RelayerRef = tg.SignerRef
	}
	if followed != nil {
		d.RotatedOut, d.ProfileRelayer = followed.Retired, followed.Old
	}
	rep, err := d.Run(ctx)
	if err != nil {
		return errs.Failedf("doctor relay").Wrap(err)
	}
	if errs.KindOf(rep.Readings.Chain.Err) == errs.Refused {
		// The chain-id guard refused the RPC: a safety rail, not a reading to judge.
		return rep.Readings.Chain.Err
	}
	level := doctor.Worst(rep.Checks)
	out := RelayJSON{Profile: cfg.Profile, ChainID: c.ChainID(), Relayer: rep.Relayer.Hex(), RelayerFrom: tg.RelayerFrom,
		FromBlock: rep.From, ToBlock: rep.To, ReadMs: float64(time.Since(start).Microseconds()) / 1000, Level: level,
		Checks: rep.Checks, Transactions: []history.TxJSON{}, Events: rep.Events, DLQ: rep.DLQ}
	if rep.History != nil {
		for _, t := range rep.History.Mined {
			out.Transactions = append(out.Transactions, t.JSON())
		}
	}
	out.Causes, out.RuledOut = ranked(rep.Causes, rep.RuledOut)
	out.NotJudged = rep.NotJudged
	return report(opts.IO, level, out, func() { renderRelay(opts.IO, out) })
}

func renderRelay(io *ui.IO, out RelayJSON) {
	s := io.Styles()
	io.Heading(s.Bold.Render("DOCTOR relay")+" "+out.Relayer,
		fmt.Sprintf("profile %s · chain %d · blocks %d..%d · %s · read in %.1f ms", out.Profile, out.ChainID, out.FromBlock, out.ToBlock, out.RelayerFrom, out.ReadMs))
	io.RenderSections(out.Checks)
	if len(out.Causes) == 0 {
		fmt.Fprintln(io.Out, s.OK.Render("NO CAUSE FOUND")+": nothing the chain, the RPCs or the API show explains relay failures; look at the API's logs (kubectl logs -l app=vrwx-api --tail=100 | grep -i RELAY)")
	} else {
		fmt.Fprintln(io.Out, s.Bold.Render("LIKELY CAUSES")+" (most likely first)")
		for _, c := range out.Causes {
			icon := s.Warn.Render("!")
			if c.Level == doctor.Crit {
				icon = s.Crit.Render("✗")
			}
			counts := ""
			if c.DLQRows > 0 {
				counts = s.Faint.Render(fmt.Sprintf("  %d DLQ row(s), newest %s", c.DLQRows, ui.FormatUTC(*c.Newest)))
			}
			fmt.Fprintf(io.Out, "  %d. %s %s%s\n", c.Rank, icon, s.Bold.Render(c.Name), counts)
			for _, e := range c.Evidence {
				fmt.Fprintf(io.Out, "       %s\n", e)
			}
			if c.Fix != "" {
				fmt.Fprintf(io.Out, "       %s %s\n", s.Bold.Render("fix:"), c.Fix)
			}
		}
	}
	if len(out.RuledOut) > 0 {
		var parts []string
		for _, c := range out.RuledOut {
			parts = append(parts, c.Name+" ("+strings.Join(c.Evidence, "; ")+")")
		}
		fmt.Fprintln(io.Out, s.Faint.Render("ruled out: "+strings.Join(parts, ", ")))
	}
	if len(out.NotJudged) > 0 {
		var parts []string
		for _, c := range out.NotJudged {
			parts = append(parts, c.Name+" ("+strings.Join(c.Evidence, "; ")+")")
		}
		fmt.Fprintln(io.Out, s.Faint.Render("not judged: "+strings.Join(parts, ", ")))
	}
}
