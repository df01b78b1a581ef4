package dlq

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// renderReason shows what a reason holds, under the event's columns: the contract
// error with its fix, ethers' code and action, the request, the decoded call, a
// signed transaction and where it stands on chain, the node's error, and notes.
func renderReason(io *ui.IO, r *dlq.Reason) {
	if r == nil || !r.Ethers {
		return
	}
	s := io.Styles()
	fmt.Fprintln(io.Out, s.Bold.Render("reason decoded"))
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(io.Out, "  %-17s %s\n", k, v)
		}
	}
	if e := r.Error; e != nil {
		row("contract error", s.Warn.Render(e.Title())+" ("+e.Selector+"): "+e.Cause)
		row("fix", e.Fix)
	} else if r.Selector != "" {
		row("contract error", s.Warn.Render("unknown")+" (selector "+r.Selector+", data "+r.RevertData+")")
	}
	what := r.Code
	if r.Action != "" {
		what += " at " + r.Action
	}
	if r.EthersVersion != "" {
		what += " (ethers " + r.EthersVersion + ")"
	}
	row("ethers", what)
	row("revert reason", r.RevertReason)
	if q := r.Request; q != nil {
		row("request", fmt.Sprintf("from %s to %s", orDash(q.From), orDash(q.To)))
	}
	if c := r.Call; c != nil {
		if a := c.Completion; a != nil {
			row("call", fmt.Sprintf("%s(job %s, quality %d, work units %d)", c.Method, a.JobID, a.QualityScore, a.WorkUnits))
			row("completion hash", a.CompletionHash)
			row("signature", a.Signature)
		} else {
			row("call", c.Method)
		}
	}
	if t := r.Signed; t != nil {
		row("signed tx", fmt.Sprintf("%s (type %d, chain %s, nonce %d)", t.Hash, t.Type, t.ChainID, t.Nonce))
		row("", fmt.Sprintf("from %s to %s, value %s ETH", orDash(t.From), orDash(t.To), ether(t.Value)))
		row("", fmt.Sprintf("gas %d, max fee %s gwei, tip %s gwei", t.Gas, gwei(t.MaxFeePerGas), gwei(t.MaxPriorityFeePerGas)))
		if o := t.OnChain; o != nil {
			state := strings.ToUpper(o.State)
			switch o.State {
			case dlq.SignedUnused, dlq.SignedPending:
				state = s.Crit.Render(state)
			case dlq.SignedReplaced, dlq.SignedMined:
				state = s.OK.Render(state)
			}
			row("on chain", state+": "+o.Note)
		}
	}
	if n := r.Node; n != nil {
		row("node error", strings.TrimSpace(n.Code+" "+n.Message))
	}
	if rc := r.Receipt; rc != nil {
		row("receipt", fmt.Sprintf("%s in block %s, status %s, gas used %s", rc.Hash, rc.BlockNumber, rc.Status, rc.GasUsed))
	}
	for _, n := range r.Notes {
		row("note", n)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ether(wei string) string {
	v, ok := new(big.Int).SetString(wei, 10)
	if !ok {
		return wei
	}
	return units.FormatEther(v)
}

func gwei(wei string) string {
	v, ok := new(big.Int).SetString(wei, 10)
	if !ok {
		return wei
	}
	return units.FormatGwei(v)
}
