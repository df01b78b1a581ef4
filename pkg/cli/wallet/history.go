package wallet

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// HistoryOptions are the inputs of wallet history.
type HistoryOptions struct {
	IO      *ui.IO
	Chain   func() (*chain.Client, error)
	Resolve func(ctx context.Context, address, signerRef string) (cmdutil.Account, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time

	Address string
	Signer  string
	Blocks  string
	Limit   int
}

// NewCmdHistory returns `wallet history`.
func NewCmdHistory(f *cmdutil.Factory, runF func(context.Context, *HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{IO: f.IO, Chain: f.Chain, Resolve: f.ResolveAccount, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "history [ADDRESS]",
		Short: "An account's recent transactions: status, fees, decoded reverts, and what waits in the txpool",
		Long: `List the transactions an account sent in the last --blocks blocks, newest first, with
their status, the fee each paid and — for the ones that reverted — the reason,
decoded to the escrow's errors; then what waits in the node's txpool (pending, or
queued behind a missing nonce).

This is the runbook's "Recent transactions" row: "cast logs --address
$RELAYER_ADDRESS" finds nothing, because an account emits no logs. vrwxctl asks
the node's Otterscan index where it has one (anvil, Erigon, reth) and otherwise
scans the window: the account's nonce at every block shows which blocks to read.
A reverted transaction is replayed on its parent block's state for its reason.

Exit codes: 0 listed (also when some reverted), 2 bad input.`,
		Example: `  vrwxctl wallet history 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
  vrwxctl wallet history --signer env://RELAYER_PRIVATE_KEY --blocks 5000 --limit 50
  vrwxctl wallet history 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC -o json | jq '.transactions[] | select(.state=="reverted")'`,
		Args: cmdutil.MaxArgs(1, "ADDRESS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Address = args[0]
			}
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, historyRun)
		},
	}
	cmd.Flags().StringVar(&opts.Signer, "signer", "", "signer reference whose address to read")
	cmd.Flags().StringVar(&opts.Blocks, "blocks", "1000", "how many blocks back from the head to search")
	cmdutil.IntVar(cmd.Flags(), &opts.Limit, "limit", 20, "show at most this many mined transactions (the newest)")
	cmdutil.WideFlag(cmd.Flags(), f.IO)
	return cmd
}

func (o *HistoryOptions) validate() (uint64, error) {
	if err := cmdutil.OneAccount(o.Address, o.Signer); err != nil {
		return 0, err
	}
	n, err := cmdutil.ParseUint("--blocks", o.Blocks, math.MaxUint64)
	if err != nil || n == 0 || n > 1_000_000 {
		return 0, errs.Usagef("--blocks %s is not a block count (expected an integer from 1 to 1000000: decimal digits, or 0x followed by hex digits)", redact.Quote(o.Blocks))
	}
	if o.Limit < 1 || o.Limit > 10_000 {
		return 0, errs.Usagef("--limit %d is out of range (expected 1 to 10000)", o.Limit)
	}
	return n, nil
}

// HistoryJSON is the -o json shape of wallet history.
type HistoryJSON struct {
	Address   string `json:"address"`
	FromBlock uint64 `json:"fromBlock"`
	ToBlock   uint64 `json:"toBlock"`
	// Source is how the transactions were found: "otterscan" or "scan".
	Source string   `json:"source"`
	More   bool     `json:"more"`
	Notes  []string `json:"notes"`
	// TxPool is null when the node does not expose its txpool.
	TxPool       *PoolJSON        `json:"txpool"`
	Transactions []history.TxJSON `json:"transactions"`
}

// PoolJSON is the account's part of the node's txpool.
type PoolJSON struct {
	Pending []history.TxJSON `json:"pending"`
	Queued  []history.TxJSON `json:"queued"`
}

func historyRun(ctx context.Context, opts *HistoryOptions) error {
	blocks, err := opts.validate()
	if err != nil {
		return err
	}
	acct, err := opts.Resolve(ctx, opts.Address, opts.Signer)
	if err != nil {
		return err
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := (&history.Finder{Chain: c, Address: acct.Address, Blocks: blocks, Limit: opts.Limit}).Find(ctx)
	if err != nil {
		return err
	}
	out := HistoryJSON{Address: acct.Address.Hex(), FromBlock: r.From, ToBlock: r.To, Source: r.Source, More: r.More,
		Notes: r.Notes, Transactions: []history.TxJSON{}}
	if out.Notes == nil {
		out.Notes = []string{}
	}
	for _, t := range r.Mined {
		out.Transactions = append(out.Transactions, t.JSON())
	}
	if r.Pool.Known {
		out.TxPool = &PoolJSON{Pending: []history.TxJSON{}, Queued: []history.TxJSON{}}
		for _, t := range r.Pool.Pending {
			out.TxPool.Pending = append(out.TxPool.Pending, t.JSON())
		}
		for _, t := range r.Pool.Queued {
			out.TxPool.Queued = append(out.TxPool.Queued, t.JSON())
		}
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	renderHistory(opts.IO, r, opts.Now())
	return nil
}

func renderHistory(io *ui.IO, r *history.Result, now time.Time) {
	s := io.Styles()
	how := "Otterscan index"
	if r.Source == "scan" {
		how = "nonce scan"
	}
	fmt.Fprintf(io.Out, "%s %s  %s\n", s.Bold.Render("HISTORY"), r.Address.Hex(),
		s.Faint.Render(fmt.Sprintf("blocks %d..%d · %s", r.From, r.To, how)))
	if !r.Pool.Known {
		io.Warnf("the node does not expose its txpool: pending and queued transactions are not shown (%v)", r.Pool.Err)
	}
	t := ui.NewTable("NONCE", "STATE", "BLOCK", "AGE", "TO", "METHOD", "VALUE ETH", "FEE ETH", "HASH", "REASON")
	row := func(x history.Tx) {
		block, age, fee, to := "-", "-", "-", "-"
		if x.Block > 0 {
			block = strconv.FormatUint(x.Block, 10)
		}
		if !x.Time.IsZero() {
			age = ui.Duration(max(now.Sub(x.Time), 0).Truncate(time.Second)) + " ago"
		}
		if x.Fee != nil {
			fee = units.FormatEther(x.Fee)
		}
		if x.To != nil {
			to = ui.Short(x.To.Hex())
		}
		method := x.Method()
		if method == "" {
			method = "transfer"
		}
		state := string(x.State)
		style := &s.OK
		switch x.State {
		case history.Reverted, history.Queued:
			style = &s.Crit
		case history.Pending:
			style = &s.Warn
		}
		reason := x.Reason()
		if x.State == history.Queued {
			reason = "waits for a missing nonce"
		}
		cells := []string{strconv.FormatUint(x.Nonce, 10), state, block, age, to, method, units.FormatEther(x.Value), fee, x.Hash.Hex(), reason}
		t.StyledRow(cells, []*lipgloss.Style{nil, style})
	}
	for _, x := range r.Pool.Queued {
		row(x)
	}
	for i := len(r.Pool.Pending) - 1; i >= 0; i-- {
		row(r.Pool.Pending[i])
	}
	for _, x := range r.Mined {
		row(x)
	}
	if t.Len() == 0 {
		fmt.Fprintf(io.Out, "no transactions from %s in blocks %d..%d, none waiting\n", r.Address.Hex(), r.From, r.To)
	} else {
		t.Fit(ui.Shrink("REASON", 16), ui.Drop("BLOCK"), ui.Shrink("HASH", 14), ui.Drop("FEE ETH"), ui.Drop("REASON"), ui.Drop("METHOD"))
		io.RenderTable(t)
	}
	if r.More {
		fmt.Fprintln(io.Out, s.Faint.Render("more transactions in the window: raise --limit"))
	}
	for _, n := range r.Notes {
		io.Warnf("%s", n)
	}
}
