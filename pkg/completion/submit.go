package completion

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Result is what a completion's send did: the -o json shape of job complete.
type Result struct {
	Preflight *Verdict       `json:"preflight"`
	Tx        *txflow.Result `json:"tx"`
	// JobStatus is the job's status after the receipt ("" after a dry run, or when
	// it could not be read).
	JobStatus string `json:"jobStatus,omitempty"`
	Event     bool   `json:"completionSubmittedEvent"`
}

// Submit sends submitCompletionV2 for c through flow, the shared send path
// (simulation, summary, confirmation, dry run, audit log). The checks run while the
// transaction is prepared — both only read, on the flow's chain client, which
// replaces k.Chain — and a failed check stops everything before anything is signed:
// the verdict is shown (text output) and the error names the failed checks.
// Result.Tx.Receipt is nil after a dry run.
func Submit(ctx context.Context, flow *txflow.Flow, k Checker, fees chain.FeePolicy, c Claim) (*Result, error) {
	if c := flow.Client(); c != nil {
		k.Chain = c
	}
	var pre *Verdict
	flow.Preflight = func(ctx context.Context) error {
		var err error
		if pre, err = k.Check(ctx, c); err != nil {
			return err
		}
		return preflightVerdict(flow.IO, pre)
	}
	data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", c.JobID, [32]byte(c.CompletionHash), c.QualityScore, c.WorkUnits, c.Signature)
	call := txflow.Call{Action: "submitCompletionV2", Args: []txflow.Arg{
		{Name: "jobId", Value: c.JobID.String()}, {Name: "completionHash", Value: c.CompletionHash.Hex()},
		{Name: "qualityScore", Value: fmt.Sprint(c.QualityScore)}, {Name: "workUnits", Value: fmt.Sprint(c.WorkUnits)},
		{Name: "signature", Value: ui.Short(hexutil.Encode(c.Signature))},
	}}
	res, rcpt, err := flow.Execute(ctx, chain.TxRequest{To: k.Escrow, Data: data, Fees: fees}, call)
	if err != nil {
		return nil, err
	}
	out := &Result{Preflight: pre, Tx: res}
	if rcpt != nil {
		out.Event = hasCompletionEvent(rcpt, k.Escrow, c.JobID)
		b := k.Chain.NewBatch()
		r := b.Call(k.Escrow, vrwx.PackJobs(c.JobID), chain.Latest)
		if err := b.Do(ctx); err == nil && r.Err() == nil {
			if j, err := vrwx.DecodeJob(c.JobID, r.Value); err == nil {
				out.JobStatus = j.Status.String()
			}
		}
	}
	return out, nil
}

// preflightVerdict turns a failed check into the error that stops the send, after
// showing every check with its fix.
func preflightVerdict(io *ui.IO, v *Verdict) error {
	if v.Valid {
		io.Successf("preflight passed: job %s is FUNDED, robot active, signature by its controller %s", v.Claim.JobID, v.Controller)
		return nil
	}
	if !io.JSONOutput() {
		v.Render(io)
	}
	why := strings.Join(v.failed(true), ", ")
	if v.SignatureValid() {
		why += " (the signature itself is valid)"
	}
	return &PreflightError{Err: errs.Failedf("preflight failed: %s; nothing was sent", why).WithFix(v.fix()), Verdict: v}
}

// PreflightError is a completion its checks refused before anything was signed
// (exit 1): the verdict says which checks failed, so a caller can add its own
// advice without reading the message.
type PreflightError struct {
	Err     *errs.Error
	Verdict *Verdict
}

func (e *PreflightError) Error() string { return e.Err.Error() }
func (e *PreflightError) Unwrap() error { return e.Err }

func hasCompletionEvent(r *chain.Receipt, escrow common.Address, id *big.Int) bool {
	topic := vrwx.EscrowABI().Events["CompletionSubmitted"].ID
	for _, l := range r.Logs {
		if l.Address == escrow && len(l.Topics) == 2 && l.Topics[0] == topic && l.Topics[1] == common.BigToHash(id) {
			return true
		}
	}
	return false
}
