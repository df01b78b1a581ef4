package job

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/robot"
	"github.com/vrwx/vrwxctl/pkg/cli/shared"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/units"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// CompleteJSON is the -o json shape of job complete.
type CompleteJSON struct {
	Preflight *robot.VerifySigJSON `json:"preflight"`
	Tx        *txflow.Result       `json:"tx"`
	JobStatus string               `json:"jobStatus,omitempty"`
	Event     bool                 `json:"completionSubmittedEvent"`
}

// NewCmdComplete returns `job complete`.
func NewCmdComplete(f *cmdutil.Factory) *cobra.Command {
	v := &robot.VerifySigOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context, Now: f.Now, ConfigOptions: f.ConfigOptions, SkipDigestCrossCheck: true}
	var send cmdutil.SendOptions
	cmd := &cobra.Command{
		Use:   "complete ID --completion-hash H --quality Q --work-units W --sig SIG --signer REF",
		Short: "Submit a completion by hand (submitCompletionV2) after a full preflight",
		Long: `The runbook's "Manual Transaction Submission", with the checks the escrow and the API
make run first, in one round trip: the job exists, is FUNDED, its deadline has not
passed (time left shown), the claim key is unused, the robot is registered and active,
and the signature recovers to its controller. Any failed check stops here, names the
check and gives the fix — nothing is sent. Then the transaction is simulated, shown,
confirmed (--yes), sent, and its receipt and the job's new status are printed.

--signer is the account that pays the gas (the relayer); the signature is the
robot controller's, as the API received it.`,
		Example: `  # Relay a completion the API could not (a TX_FAIL in the DLQ)
  vrwxctl job complete 42 \
    --completion-hash 0x9c1f0e7a3b5d4c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e \
    --quality 100 --work-units 12 --sig 0x… \
    --signer aws-sm://vrwx/prod/relayer-key --reason INC-77`,
		Args: cmdutil.ExactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v.Job = args[0]
			ctx, cancel := f.Context(cmd.Context())
			defer cancel()
			out, err := Complete(ctx, f, "job complete", v, send)
			if err != nil {
				return err
			}
			return printComplete(f, out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&v.CompletionHash, "completion-hash", "", "completion (manifest) hash, 0x + 64 hex (required)")
	fl.StringVar(&v.Quality, "quality", "", "quality score, 0..255 (required)")
	fl.StringVar(&v.WorkUnits, "work-units", "", "work units, 0..4294967295 (required)")
	fl.StringVar(&v.Sig, "sig", "", "the controller's 65-byte signature, 0x + 130 hex (required)")
	cmdutil.AddSendFlags(fl, &send, "signer reference of the account that sends and pays gas (required)")
	return cmd
}

// Complete runs job complete's preflight and, when every check passes, sends
// submitCompletionV2 through the shared send path (confirmation, --dry-run, audit
// log, recorded under command). A failed preflight renders its verdict (text output only) and returns an
// errs.Failed error; nothing is sent. Tx.Receipt is nil after a dry run. dlq replay
// uses it so a replayed completion gets exactly the same checks.
func Complete(ctx context.Context, f *cmdutil.Factory, command string, v *robot.VerifySigOptions, send cmdutil.SendOptions) (*CompleteJSON, error) {
	id, hash, quality, workUnits, sig, err := robot.ParseCompletion(v)
	if err != nil {
		return nil, err
	}
	if send.Signer == "" {
		return nil, errs.Usagef("--signer is required: the account that sends the transaction and pays its gas")
	}
	flow, cfg, err := f.Flow(ctx, command, send)
	if err != nil {
		return nil, err
	}
	escrow, err := shared.Escrow(cfg)
	if err != nil {
		return nil, err
	}
	// The six checks run while the transaction is being prepared: both only read, and
	// a failed check stops everything before anything is signed or sent.
	var pre *robot.VerifySigJSON
	flow.Preflight = func(ctx context.Context) error {
		var err error
		if pre, err = robot.CheckCompletion(ctx, v); err != nil {
			return err
		}
		return preflightVerdict(f, pre)
	}
	data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", id, [32]byte(hash), quality, workUnits, sig)
	call := txflow.Call{Action: "submitCompletionV2", Args: []txflow.Arg{
		{Name: "jobId", Value: id.String()}, {Name: "completionHash", Value: hash.Hex()},
		{Name: "qualityScore", Value: fmt.Sprint(quality)}, {Name: "workUnits", Value: fmt.Sprint(workUnits)},
		{Name: "signature", Value: shared.Short(v.Sig)},
	}}
	res, rcpt, err := flow.Execute(ctx, chain.TxRequest{To: escrow, Data: data, Fees: cmdutil.FeePolicy(cfg)}, call)
	if err != nil {
		return nil, err
	}
	out := CompleteJSON{Preflight: pre, Tx: res}
	if rcpt != nil {
		out.Event = hasCompletionEvent(rcpt, escrow, id)
		b := flow.Chain.NewBatch()
		r := b.Call(escrow, vrwx.PackJobs(id), chain.Latest)
		if err := b.Do(ctx); err == nil && r.Err() == nil {
			if j, err := vrwx.DecodeJob(id, r.Value); err == nil {
				out.JobStatus = j.Status.String()
			}
		}
	}
	return &out, nil
}

// preflightVerdict turns a failed check into the error that stops the send, after
// showing every check with its fix.
func preflightVerdict(f *cmdutil.Factory, pre *robot.VerifySigJSON) error {
	if pre.Valid {
		f.IO.Successf("preflight passed: job %s is FUNDED, robot active, signature by its controller %s", pre.Claim.JobID, pre.Controller)
		return nil
	}
	var failed []string
	fix := ""
	for _, c := range pre.Checks {
		if c.Level == doctor.Crit {
			failed = append(failed, c.Name+" ("+c.Value+")")
			if fix == "" {
				fix = c.Fix
			}
		}
	}
	if !f.IO.JSONOutput() {
		robot.RenderVerdict(f.IO, *pre)
	}
	return errs.Failedf("preflight failed: %s; nothing was sent", strings.Join(failed, ", ")).WithFix(fix)
}

func printComplete(f *cmdutil.Factory, out *CompleteJSON) error {
	if f.IO.JSONOutput() {
		return f.IO.WriteJSON(out)
	}
	res := out.Tx
	if res.Receipt == nil {
		fmt.Fprintf(f.IO.Out, "%s (dry run, not sent)\n", res.TxHash)
		return nil
	}
	fee, _ := new(big.Int).SetString(res.Receipt.TotalFeeWei, 10)
	fmt.Fprintf(f.IO.Out, "%s mined in block %d, gas used %d, fee %s ETH\njob %s is now %s\n", res.TxHash, res.Receipt.Block, res.Receipt.GasUsed, units.FormatEther(fee), out.Preflight.Claim.JobID, out.JobStatus)
	return nil
}

func hasCompletionEvent(r *chain.Receipt, escrow common.Address, id *big.Int) bool {
	topic := vrwx.EscrowABI().Events["CompletionSubmitted"].ID
	for _, l := range r.Logs {
		if l.Address == escrow && len(l.Topics) == 2 && l.Topics[0] == topic && l.Topics[1] == common.BigToHash(id) {
			return true
		}
	}
	return false
}
