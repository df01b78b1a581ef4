// Package tx implements `vrwxctl tx`: follow a transaction (status, wait) and repair
// a stuck one (speedup, cancel) — the runbook's "relayer out of gas / high gas
// prices" fixes.
package tx

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// NewCmdTx returns the `tx` group.
func NewCmdTx(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Transactions: status, wait, speed up or cancel a stuck one",
	}
	cmd.AddCommand(NewCmdStatus(f, nil), NewCmdWait(f, nil), NewCmdReplace(f, "speedup", nil), NewCmdReplace(f, "cancel", nil))
	return cmd
}

// StatusJSON is the -o json shape of tx status and tx wait.
type StatusJSON struct {
	Hash    string              `json:"txHash"`
	State   string              `json:"state"` // pending, success, reverted, unknown
	From    string              `json:"from,omitempty"`
	To      string              `json:"to,omitempty"`
	Nonce   *uint64             `json:"nonce,omitempty"`
	Value   string              `json:"valueWei,omitempty"`
	Receipt *txflow.ReceiptJSON `json:"receipt,omitempty"`
	// Revert says why a reverted transaction reverted, learnt by replaying its call.
	Revert *RevertJSON `json:"revert,omitempty"`
	// ReplacedBy is, for a transaction the node does not know that vrwxctl itself
	// replaced (tx speedup, tx cancel), what the audit log says replaced it.
	ReplacedBy *ReplacedJSON `json:"replacedBy,omitempty"`
	// NonceTakenBy (tx wait) is the transaction that took this one's nonce while it
	// was waited for — a replacement, or another run's send of the same payment at
	// a higher fee: this one can never be mined. SamePayment says whether the other
	// one is the same payment (recipient, value, calldata).
	NonceTakenBy *StatusJSON `json:"nonceTakenBy,omitempty"`
	SamePayment  bool        `json:"samePayment,omitempty"`
}

// ReplacedJSON is the transaction that replaced another at its nonce.
type ReplacedJSON struct {
	Hash    string    `json:"txHash"`
	Command string    `json:"command"`
	User    string    `json:"user"`
	Time    time.Time `json:"time"`
	// State is what the chain says of it now (pending, success, reverted, unknown).
	State string `json:"state"`
	Block uint64 `json:"block,omitempty"`
}

// RevertJSON is a reverted transaction's reason: its call replayed with eth_call on
// the state of the block before it, the revert data decoded.
type RevertJSON struct {
	// ReplayedOnBlock is the block whose state the call was replayed on.
	ReplayedOnBlock uint64 `json:"replayedOnBlock"`
	// Reproduced is false when the replay did not revert (an earlier transaction in
	// the same block changed the state the call depended on).
	Reproduced bool `json:"reproduced"`
	// Error is the decoded error (null when the data is none vrwxctl knows).
	Error *vrwx.ContractError `json:"error"`
	// Data is the raw revert data ("0x" for a revert without data).
	Data string `json:"data"`
	// Note words what could not be learnt.
	Note string `json:"note,omitempty"`
}

func parseHash(s string) (common.Hash, error) {
	h, err := cmdutil.ParseBytes32("transaction hash", s)
	return h, err
}

func describe(ctx context.Context, c *chain.Client, h common.Hash) (*StatusJSON, *chain.Receipt, error) {
	out := &StatusJSON{Hash: h.Hex(), State: "unknown"}
	info, err := c.TransactionByHash(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	if info != nil {
		out.From = info.From.Hex()
		if info.Tx.To() != nil {
			out.To = info.Tx.To().Hex()
		}
		n := info.Tx.Nonce()
		out.Nonce, out.Value = &n, info.Tx.Value().String()
		out.State = "pending"
	}
	r, err := c.ReceiptOf(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	if r != nil {
		out.Receipt = txflow.DecodeReceipt(r)
		out.State = out.Receipt.Status
		if !r.Succeeded() && info != nil {
			out.Revert = revertReason(ctx, c, info, uint64(r.BlockNumber))
		}
	}
	return out, r, nil
}

// revertReason replays a reverted transaction's call to learn what it reverted with.
// A failed replay is a note, not an error: the receipt already says it reverted.
func revertReason(ctx context.Context, c *chain.Client, info *chain.TxInfo, block uint64) *RevertJSON {
	rep, err := c.Replay(ctx, info, block)
	if err != nil {
		return &RevertJSON{ReplayedOnBlock: block - 1, Data: "0x", Note: "the call could not be replayed: " + err.Error()}
	}
	out := &RevertJSON{ReplayedOnBlock: rep.Block, Reproduced: rep.Reverted, Data: hexutil.Encode(rep.RevertData)}
	switch {
	case !rep.Reverted:
		out.Note = fmt.Sprintf("replayed on block %d's state the call does not revert: an earlier transaction in block %d changed what it depended on", rep.Block, block)
	case len(rep.RevertData) == 0:
		out.Note = "it reverted without revert data (" + rep.Message + ")"
	default:
		if out.Error = vrwx.DecodeRevert(rep.RevertData); out.Error == nil {
			out.Note = "the revert data is none of the errors vrwxctl knows"
		}
	}
	return out
}

func render(io *ui.IO, s *StatusJSON) error {
	if io.JSONOutput() {
		return io.WriteJSON(s)
	}
	st := io.Styles()
	state := s.State
	switch s.State {
	case "success":
		state = st.OK.Render(state)
	case "reverted", "unknown":
		state = st.Crit.Render(state)
	case "pending", "replaced":
		state = st.Warn.Render(state)
	}
	fmt.Fprintf(io.Out, "%s  %s\n", s.Hash, state)
	if r := s.ReplacedBy; r != nil {
		mined := r.State
		if r.Block > 0 {
			mined = fmt.Sprintf("%s in block %d", r.State, r.Block)
		}
		fmt.Fprintf(io.Out, "  replaced by %s (%s by %s, %s): %s\n", r.Hash, r.Command, r.User, ui.FormatUTC(r.Time), mined)
		fmt.Fprintln(io.Out, st.Faint.Render("  the node no longer knows this one: its nonce went to the replacement; do not send it again"))
	}
	if s.From != "" {
		fmt.Fprintf(io.Out, "  from %s  to %s  nonce %d  value %s wei\n", s.From, s.To, *s.Nonce, s.Value)
	}
	if r := s.Receipt; r != nil {
		fee, _ := new(big.Int).SetString(r.TotalFeeWei, 10)
		fmt.Fprintf(io.Out, "  block %d  gas used %d  fee %s ETH (L1 data fee %s wei)\n", r.Block, r.GasUsed, units.FormatEther(fee), r.L1FeeWei)
	}
	if rv := s.Revert; rv != nil {
		switch {
		case rv.Error != nil:
			fmt.Fprintf(io.Out, "  reverted with %s: %s\n", st.Crit.Render(rv.Error.Title()), rv.Error.Cause)
			if rv.Error.Fix != "" {
				fmt.Fprintf(io.Out, "    fix: %s\n", rv.Error.Fix)
			}
		case rv.Data != "0x":
			fmt.Fprintf(io.Out, "  reverted with data %s: %s\n", rv.Data, rv.Note)
		default:
			fmt.Fprintf(io.Out, "  %s\n", rv.Note)
		}
		fmt.Fprintln(io.Out, st.Faint.Render(fmt.Sprintf("  (reason from replaying the call on block %d's state)", rv.ReplayedOnBlock)))
	}
	return nil
}

// replaced reports a waited-for transaction whose nonce another one took: the
// other one's status, and whether the payment was made all the same.
func replaced(ctx context.Context, io *ui.IO, c *chain.Client, h, other common.Hash, same bool) error {
	o, _, err := describe(ctx, c, other)
	if err != nil {
		return err
	}
	what := "another transaction"
	if same {
		what = "the same payment (recipient, value, calldata): a replacement at a higher fee, or another run's send of it"
	}
	s := &StatusJSON{Hash: h.Hex(), State: "replaced", NonceTakenBy: o, SamePayment: same}
	if io.JSONOutput() {
		if err := io.WriteJSON(s); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(io.Out, "%s  %s: its nonce went to %s, %s\n", h.Hex(), io.Styles().Warn.Render("replaced"), other.Hex(), what)
		if err := render(io, o); err != nil {
			return err
		}
	}
	if !same {
		return errs.Failedf("%s will never be mined: its nonce went to %s, another transaction", h.Hex(), other.Hex()).
			WithFix("if its payment is still to be made, send it again")
	}
	return outcome(o)
}

func outcome(s *StatusJSON) error {
	switch s.State {
	case "reverted":
		return errs.Exit(errs.Failed)
	case "unknown":
		return errs.Failedf("transaction %s is unknown to the node (never sent, dropped, or on another chain)", s.Hash).
			WithFix("check the hash and --profile; `vrwxctl audit list --tx " + s.Hash + "` shows whether vrwxctl sent it; a transaction that was dropped (not replaced) can be sent again")
	}
	return nil
}

// replacedBy asks the audit log whether vrwxctl replaced h, and the chain what
// became of the replacement.
func replacedBy(ctx context.Context, c *chain.Client, log *audit.Log, h common.Hash) (*ReplacedJSON, error) {
	entries, err := log.Read()
	if err != nil {
		return nil, err
	}
	r := audit.ReplacementOf(entries, h.Hex())
	if r == nil {
		return nil, nil
	}
	out := &ReplacedJSON{Hash: r.Sent.TxHash, Command: r.Sent.Command, User: r.Sent.User, Time: r.Sent.Time, State: "unknown"}
	s, _, err := describe(ctx, c, common.HexToHash(r.Sent.TxHash))
	if err != nil {
		return nil, err
	}
	out.State = s.State
	if s.Receipt != nil {
		out.Block = s.Receipt.Block
	}
	return out, nil
}

// StatusOptions are the inputs of tx status and tx wait.
type StatusOptions struct {
	IO      *ui.IO
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	// Audit is the audit log, asked about a transaction the node does not know.
	Audit func() *audit.Log

	Hash string
	// Wait waits for the receipt first (tx wait).
	Wait bool
}

// NewCmdStatus returns `tx status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, Chain: f.Chain, Context: f.Context, Audit: func() *audit.Log { return audit.Open(audit.DefaultPath(f.StateDir())) }}
	cmd := &cobra.Command{
		Use:   "status HASH",
		Short: "Show whether a transaction is pending, mined or reverted, with its fees",
		Long: `Ask the chain about HASH: pending, mined (success or reverted, with the decoded
revert reason and the fees) or unknown. A transaction the node does not know that
vrwxctl itself replaced (tx speedup, tx cancel) is reported as replaced, with the
replacement's hash, who sent it and when (from the audit log), and its own state.

Exit codes: 0 pending, mined or replaced; 1 reverted or unknown; 2 bad input.`,
		Example: `  vrwxctl tx status 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060
  vrwxctl tx status 0x5c50…2060 -o json | jq -r .state`,
		Args: cmdutil.ExactArgs(1, "HASH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Hash = args[0]
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, statusRun)
		},
	}
	cmdutil.ArgsHoldHashes(cmd)
	return cmd
}

// NewCmdWait returns `tx wait`.
func NewCmdWait(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, Chain: f.Chain, Context: f.Context, Wait: true}
	cmd := &cobra.Command{
		Use:   "wait HASH",
		Short: "Wait until a transaction is mined (exit 4 on --timeout, 1 if it reverted)",
		Long: `Wait for HASH's receipt, then print it. Use it to follow a transaction whose send
timed out, instead of sending again (which risks paying twice).

On a terminal the wait shows the time elapsed and what is left of --timeout. When
the node drops HASH because another transaction took its nonce (a speedup, a
cancel, or another run's send of the same payment at a higher fee), the wait
follows that one and says whether it is the same payment: exit 0 when the same
payment was mined, 1 when HASH's payment was not made. Ctrl-C stops the wait
(exit 130), not the transaction.`,
		Example: `  vrwxctl tx wait 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 --timeout 10m`,
		Args:    cmdutil.ExactArgs(1, "HASH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Hash = args[0]
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, statusRun)
		},
	}
	cmdutil.ArgsHoldHashes(cmd)
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	h, err := parseHash(opts.Hash)
	if err != nil {
		return err
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()
	if opts.Wait {
		fl := &txflow.Flow{Chain: c, IO: opts.IO}
		_, took, same, err := fl.Follow(ctx, h)
		if errors.Is(err, errs.ErrInterrupted) {
			return errs.WithFix(err, "it is not cancelled by stopping the wait: run `vrwxctl tx wait "+h.Hex()+"` again to follow it")
		}
		if err != nil {
			return err
		}
		if took != nil {
			return replaced(ctx, opts.IO, c, h, took.Hash, same)
		}
	}
	s, _, err := describe(ctx, c, h)
	if err != nil {
		return err
	}
	if s.State == "unknown" && opts.Audit != nil {
		rep, err := replacedBy(ctx, c, opts.Audit(), h)
		if err != nil {
			opts.IO.Warnf("the audit log could not be read for a replacement of %s: %v", h.Hex(), err)
		}
		if rep != nil {
			s.State, s.ReplacedBy = "replaced", rep
		}
	}
	if err := render(opts.IO, s); err != nil {
		return err
	}
	return outcome(s)
}
