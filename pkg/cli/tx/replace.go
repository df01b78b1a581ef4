package tx

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// replaceBump is how much a replacement raises both fees: geth's pool needs at least
// 10% on the tip and the fee cap; 12.5% clears it with room for rounding.
var replaceBump = big.NewRat(1125, 1000)

// ReplaceOptions are the inputs of tx speedup and tx cancel.
type ReplaceOptions struct {
	IO      *ui.IO
	Flow    func(ctx context.Context, command string, so cmdutil.SendOptions) (*txflow.Flow, *config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	DryRun  bool
	Yes     bool

	// Verb is speedup or cancel.
	Verb  string
	Nonce string
	Hash  string
	Send  cmdutil.SendOptions
}

// ReplaceJSON is the -o json shape of tx speedup / cancel.
type ReplaceJSON struct {
	Replaced string `json:"replacedTxHash,omitempty"`
	*txflow.Result
}

// NewCmdReplace returns `tx speedup` or `tx cancel`.
func NewCmdReplace(f *cmdutil.Factory, verb string, runF func(context.Context, *ReplaceOptions) error) *cobra.Command {
	opts := &ReplaceOptions{IO: f.IO, Flow: f.Flow, Context: f.Context, Verb: verb}
	short := "Resend a stuck transaction with fees raised by 12.5% (same nonce, same call)"
	long := `Replace the signer's pending transaction at --nonce with the same transaction and both
fees raised by at least 12.5% (the node's replacement minimum is 10%), capped by
MAX_FEE_PER_GAS_GWEI. The pending transaction is found in the node's txpool; pass
--hash when the node does not expose its pool.`
	example := `  # The relayer's nonce 42 is stuck because gas prices rose
  vrwxctl tx speedup --nonce 42 --signer aws-sm://vrwx/prod/relayer-key --yes`
	if verb == "cancel" {
		short = "Cancel a stuck transaction: a zero-value self-transfer at its nonce with raised fees"
		long = `Replace the signer's pending transaction at --nonce with a zero-value transfer to
itself, fees raised by at least 12.5% over the stuck one, so the nonce is used up and
the original can never be mined.`
		example = `  vrwxctl tx cancel --nonce 42 --signer aws-sm://vrwx/prod/relayer-key --yes`
	}
	cmd := &cobra.Command{
		Use:     verb + " --nonce N --signer REF",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, replaceRun)
		},
	}
	cmd.Flags().StringVar(&opts.Nonce, "nonce", "", "nonce of the stuck transaction (required)")
	cmd.Flags().StringVar(&opts.Hash, "hash", "", "hash of the stuck transaction, when the node has no txpool API")
	cmdutil.AddSendFlags(cmd.Flags(), &opts.Send, "signer reference of the account that sent it (required)")
	cmdutil.HoldsHash(cmd, "hash")
	return cmd
}

// validate parses --nonce and --hash before anything is read.
func (opts *ReplaceOptions) validate() (uint64, common.Hash, error) {
	var hash common.Hash
	if opts.Nonce == "" {
		return 0, hash, errs.Usagef("--nonce is required (the nonce of the stuck transaction; `vrwxctl wallet nonce` shows it)")
	}
	nonce, err := cmdutil.ParseUint("--nonce", opts.Nonce, math.MaxUint64)
	if err != nil {
		return 0, hash, err
	}
	if opts.Hash != "" {
		if hash, err = parseHash(opts.Hash); err != nil {
			return 0, hash, err
		}
	}
	return nonce, hash, nil
}

func replaceRun(ctx context.Context, opts *ReplaceOptions) error {
	verb := opts.Verb
	nonce, hash, err := opts.validate()
	if err != nil {
		return err
	}
	flow, cfg, err := opts.Flow(ctx, "tx "+verb, opts.Send)
	if err != nil {
		return err
	}
	flow.DryRun, flow.Yes = opts.DryRun, opts.Yes
	from := flow.Signer.Address()
	stuck, err := findStuck(ctx, flow.Chain, from, nonce, hash)
	if err != nil {
		return err
	}
	if stuck == nil {
		return nothingPending(ctx, flow.Chain, from, nonce)
	}
	req := chain.TxRequest{Nonce: &nonce, Fees: cmdutil.FeePolicy(cfg)}
	call := txflow.Call{Action: verb, Args: []txflow.Arg{{Name: "nonce", Value: fmt.Sprint(nonce)}, {Name: "replaces", Value: stuck.Tx.Hash().Hex()}}}
	req.MinMaxFee = bump(stuck.Tx.GasFeeCap())
	req.MinPriority = bump(stuck.Tx.GasTipCap())
	switch {
	case verb == "cancel":
		req.To, req.Value, req.GasLimit = from, new(big.Int), 21000
	default:
		if stuck.Tx.To() == nil {
			return errs.Usagef("the stuck transaction creates a contract; vrwxctl only replaces calls and transfers (cancel it instead)")
		}
		req.To, req.Value, req.Data, req.GasLimit = *stuck.Tx.To(), stuck.Tx.Value(), stuck.Tx.Data(), stuck.Tx.Gas()
		call.Args = append(call.Args, txflow.Arg{Name: "to", Value: req.To.Hex()}, txflow.Arg{Name: "value", Value: units.FormatEther(req.Value) + " ETH"})
	}
	res, rcpt, err := flow.Execute(ctx, req, call)
	if err != nil {
		return err
	}
	out := ReplaceJSON{Result: res}
	if stuck != nil {
		out.Replaced = stuck.Tx.Hash().Hex()
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	if rcpt == nil {
		fmt.Fprintf(opts.IO.Out, "%s (dry run, not sent)\n", res.TxHash)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "%s mined in block %d: nonce %d is used; %s\n", res.TxHash, rcpt.BlockNumber, nonce, out.replacedText())
	return nil
}

// nothingPending refuses a replacement at a nonce where nothing is pending: signing
// there would leave a nonce gap (cancel) or have nothing to copy (speedup). It says
// what is pending instead.
func nothingPending(ctx context.Context, c *chain.Client, from common.Address, nonce uint64) error {
	pending, err := c.PendingFrom(ctx, from)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return errs.Failedf("nothing from %s is pending at nonce %d, and the node's txpool shows nothing pending from it; nothing was signed", from.Hex(), nonce).
			WithFix("check `vrwxctl wallet nonce`; if the node hides its txpool, pass --hash of the stuck transaction")
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].Tx.Nonce() < pending[j].Tx.Nonce() })
	var list []string
	for _, p := range pending {
		list = append(list, fmt.Sprintf("nonce %d: %s", p.Tx.Nonce(), p.Tx.Hash().Hex()))
	}
	return errs.Failedf("nothing from %s is pending at nonce %d; nothing was signed. Pending instead: %s", from.Hex(), nonce, strings.Join(list, ", ")).
		WithFix(fmt.Sprintf("run it again with --nonce %d (the oldest pending)", pending[0].Tx.Nonce()))
}

func (r ReplaceJSON) replacedText() string {
	if r.Replaced == "" {
		return "no pending transaction was known at that nonce"
	}
	return r.Replaced + " can no longer be mined"
}

// findStuck finds the pending transaction: by --hash, else in the txpool. A nonce
// already mined is an error: there is nothing left to replace.
func findStuck(ctx context.Context, c *chain.Client, from common.Address, nonce uint64, hash common.Hash) (*chain.TxInfo, error) {
	b := c.NewBatch()
	latest := b.Nonce(from, chain.Latest)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if latest.Err() == nil && nonce < uint64(latest.Value) {
		return nil, errs.Failedf("nonce %d of %s is already mined (next nonce is %d): nothing to replace", nonce, from.Hex(), uint64(latest.Value)).
			WithFix("check `vrwxctl wallet nonce`; the stuck transaction is at the mined nonce or later")
	}
	if hash != (common.Hash{}) {
		info, err := c.TransactionByHash(ctx, hash)
		if err != nil {
			return nil, err
		}
		if info == nil {
			return nil, errs.Failedf("transaction %s is unknown to the node", hash.Hex())
		}
		if info.From != from || info.Tx.Nonce() != nonce {
			return nil, errs.Usagef("transaction %s is from %s at nonce %d, not from %s at nonce %d", hash.Hex(), info.From.Hex(), info.Tx.Nonce(), from.Hex(), nonce)
		}
		return info, nil
	}
	info, ok, err := c.PendingByNonce(ctx, from, nonce)
	if err != nil || !ok {
		return nil, err
	}
	return info, nil
}

func bump(v *big.Int) *big.Int {
	n := new(big.Int).Mul(v, replaceBump.Num())
	q, r := new(big.Int).QuoRem(n, replaceBump.Denom(), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}
