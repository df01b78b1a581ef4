package dlq

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/job"
	"github.com/vrwx/vrwxctl/pkg/cli/robot"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// ReplayJSON is the -o json shape of dlq replay: the completion rebuilt from the
// event, job complete's result (preflight, transaction, the job's new status), and
// the event after it was marked RETRIED (null on a dry run).
type ReplayJSON struct {
	Completion dlq.Completion    `json:"completion"`
	Complete   *job.CompleteJSON `json:"complete"`
	Event      *dlq.Event        `json:"event"`
}

// NewCmdReplay returns `dlq replay`.
func NewCmdReplay(f *cmdutil.Factory, dbFlag *string) *cobra.Command {
	var quality, workUnits string
	var send cmdutil.SendOptions
	cmd := &cobra.Command{
		Use:   "replay ID --signer REF [--quality Q] [--work-units W]",
		Short: "Submit a failed completion (TX_FAIL) again, then mark the event RETRIED",
		Long: `Rebuild the completion a TX_FAIL event holds — job id, manifest (completion) hash
and the controller's signature from its payload — and submit it with
submitCompletionV2 exactly as vrwxctl job complete does: the full preflight first
(job FUNDED and within its deadline, claim unused, robot active, signature by its
controller), then simulate, confirm (--yes), send and wait.

Quality score and work units come from the payload; when it lacks them, give
--quality and --work-units. On success the event is marked RETRIED with the
transaction hash in its notes. A failed preflight sends nothing and leaves the
event unresolved (exit 1).`,
		Example: `  vrwxctl dlq list --type TX_FAIL --unresolved
  vrwxctl dlq replay 17 --signer aws-sm://vrwx/prod/relayer-key --reason INC-77 --yes

  # The payload lacks quality and work units
  vrwxctl dlq replay 18 --signer env://RELAYER_PRIVATE_KEY --quality 100 --work-units 12`,
		Args: cmdutil.ExactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			if send.Signer == "" {
				return errs.Usagef("--signer is required: the account that sends the transaction and pays its gas")
			}
			ctx, cancel := f.Context(cmd.Context())
			defer cancel()
			return replayRun(ctx, f, *dbFlag, id, quality, workUnits, send)
		},
	}
	fl := cmd.Flags()
	cmdutil.AddSendFlags(fl, &send, "signer reference of the account that sends and pays gas (required)")
	fl.StringVar(&quality, "quality", "", "quality score 0..255, when the payload lacks it")
	fl.StringVar(&workUnits, "work-units", "", "work units 0..4294967295, when the payload lacks them")
	return cmd
}

func replayRun(ctx context.Context, f *cmdutil.Factory, dbFlag string, id int64, quality, workUnits string, send cmdutil.SendOptions) error {
	db, _, err := openDB(ctx, f, dbFlag, true)
	if err != nil {
		return err
	}
	defer db.Close()
	e, err := dlq.Get(ctx, db, id)
	if err != nil {
		return err
	}
	if e.Resolved() {
		return alreadyResolved(e)
	}
	c, err := dlq.TxFailCompletion(e)
	if err != nil {
		return err
	}
	q, qerr := pick("--quality", "qualityScore", c.QualityScore, quality)
	w, werr := pick("--work-units", "workUnits", c.WorkUnits, workUnits)
	var missing []string
	for _, m := range []struct {
		err  error
		flag string
	}{{qerr, "--quality"}, {werr, "--work-units"}} {
		if m.err == errMissing {
			missing = append(missing, m.flag)
		} else if m.err != nil {
			return m.err
		}
	}
	if len(missing) > 0 {
		return errs.Usagef("DLQ event %d's payload has no quality score or work units: give %s", id, strings.Join(missing, " and "))
	}
	v := &robot.VerifySigOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context, Now: f.Now, ConfigOptions: f.ConfigOptions,
		Job: c.JobID, CompletionHash: c.ManifestHash, Quality: q, WorkUnits: w, Sig: c.ControllerSig}
	if send.Reason == "" {
		send.Reason = fmt.Sprintf("dlq replay %d", id)
	}
	res, err := job.Complete(ctx, f, "dlq replay", v, send)
	if err != nil {
		return err
	}
	out := ReplayJSON{Completion: c, Complete: res}
	if res.Tx.Receipt != nil {
		resolved, err := dlq.Resolve(ctx, db, id, dlq.ResolutionRetried, "replayed by vrwxctl: tx "+res.Tx.TxHash, f.Now())
		if err != nil {
			return errs.Failedf("completion sent (tx %s, job %s is %s) but marking DLQ event %d RETRIED failed", res.Tx.TxHash, c.JobID, res.JobStatus, id).
				Wrap(err).WithFix(fmt.Sprintf("vrwxctl dlq resolve %d --as MANUAL --notes \"replayed: tx %s\"", id, res.Tx.TxHash))
		}
		out.Event = &resolved
	}
	if f.IO.JSONOutput() {
		return f.IO.WriteJSON(out)
	}
	if res.Tx.Receipt == nil {
		fmt.Fprintf(f.IO.Out, "%s (dry run, not sent); DLQ event %d left unresolved\n", res.Tx.TxHash, id)
		return nil
	}
	fmt.Fprintf(f.IO.Out, "%s mined in block %d\njob %s is now %s\nDLQ event %d resolved as RETRIED\n",
		res.Tx.TxHash, res.Tx.Receipt.Block, c.JobID, res.JobStatus, id)
	return nil
}

var errMissing = errs.Usagef("missing")

// pick returns the payload's value, or the flag's when the payload lacks it; a flag
// that contradicts the payload is bad input, because the controller signed the
// payload's value and any other would not verify.
func pick(flag, field string, payload *uint64, value string) (string, error) {
	if payload == nil {
		if value == "" {
			return "", errMissing
		}
		return value, nil
	}
	p := strconv.FormatUint(*payload, 10)
	if value != "" && value != p {
		return "", errs.Usagef("%s %s: the event's payload has %s %s, which the controller signed", flag, value, field, p)
	}
	return p, nil
}
