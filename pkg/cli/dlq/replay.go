package dlq

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// ReplayOptions are the inputs of dlq replay.
type ReplayOptions struct {
	IO       *ui.IO
	Config   func() (*config.Config, error)
	Flow     func(ctx context.Context, command string, so cmdutil.SendOptions) (*txflow.Flow, *config.Config, error)
	Profiles func() ([]config.ProfileInfo, error)
	Context  func(context.Context) (context.Context, context.CancelFunc)
	Now      func() time.Time
	DryRun   bool
	Yes      bool

	DB        string
	ID        string
	Quality   string
	WorkUnits string
	Send      cmdutil.SendOptions
}

// ReplayJSON is the -o json shape of dlq replay: the completion rebuilt from the
// event, the completion's result (preflight, transaction, the job's new status), and
// the event after it was marked RETRIED (null on a dry run).
type ReplayJSON struct {
	Completion dlq.Completion     `json:"completion"`
	Complete   *completion.Result `json:"complete"`
	Event      *dlq.Event         `json:"event"`
}

// NewCmdReplay returns `dlq replay`.
func NewCmdReplay(f *cmdutil.Factory, dbFlag *string, runF func(context.Context, *ReplayOptions) error) *cobra.Command {
	opts := &ReplayOptions{IO: f.IO, Config: f.Config, Flow: f.Flow, Profiles: f.Profiles, Context: f.Context, Now: f.Now}
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
			opts.DB, opts.ID = *dbFlag, args[0]
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			ctx, cancel := opts.Context(cmd.Context())
			defer cancel()
			if runF != nil {
				return runF(ctx, opts)
			}
			return replayRun(ctx, opts)
		},
	}
	fl := cmd.Flags()
	cmdutil.AddSendFlags(fl, &opts.Send, "signer reference of the account that sends and pays gas (required)")
	fl.StringVar(&opts.Quality, "quality", "", "quality score 0..255, when the payload lacks it")
	fl.StringVar(&opts.WorkUnits, "work-units", "", "work units 0..4294967295, when the payload lacks them")
	return cmd
}

// validate returns the event id; a sender is required before the database is opened.
func (opts *ReplayOptions) validate() (int64, error) {
	id, err := parseID(opts.ID)
	if err != nil {
		return 0, err
	}
	if opts.Send.Signer == "" {
		return 0, errs.Usagef("--signer is required: the account that sends the transaction and pays its gas")
	}
	return id, nil
}

func replayRun(ctx context.Context, opts *ReplayOptions) error {
	id, err := opts.validate()
	if err != nil {
		return err
	}
	db, _, err := openDB(ctx, opts.IO, opts.Config, opts.DB, true)
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
	claim, err := opts.claimOf(e.ID, c)
	if err != nil {
		return err
	}
	send := opts.Send
	if send.Reason == "" {
		send.Reason = fmt.Sprintf("dlq replay %d", id)
	}
	flow, cfg, err := opts.Flow(ctx, "dlq replay", send)
	if err != nil {
		return err
	}
	flow.DryRun, flow.Yes = opts.DryRun, opts.Yes
	k, err := cmdutil.CompletionChecker(opts.IO, cfg, opts.Profiles, opts.Now)
	if err != nil {
		return err
	}
	res, err := completion.Submit(ctx, flow, k, cmdutil.FeePolicy(cfg), claim)
	if err != nil {
		return err
	}
	out := ReplayJSON{Completion: c, Complete: res}
	if res.Tx.Receipt != nil {
		resolved, err := dlq.Resolve(ctx, db, id, dlq.ResolutionRetried, "replayed by vrwxctl: tx "+res.Tx.TxHash, opts.Now())
		if err != nil {
			return errs.Failedf("completion sent (tx %s, job %s is %s) but marking DLQ event %d RETRIED failed", res.Tx.TxHash, c.JobID, res.JobStatus, id).
				Wrap(err).WithFix(fmt.Sprintf("vrwxctl dlq resolve %d --as MANUAL --notes \"replayed: tx %s\"", id, res.Tx.TxHash))
		}
		out.Event = &resolved
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	if res.Tx.Receipt == nil {
		fmt.Fprintf(opts.IO.Out, "%s (dry run, not sent); DLQ event %d left unresolved\n", res.Tx.TxHash, id)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "%s mined in block %d\njob %s is now %s\nDLQ event %d resolved as RETRIED\n",
		res.Tx.TxHash, res.Tx.Receipt.Block, c.JobID, res.JobStatus, id)
	return nil
}

// claimOf is the completion of a TX_FAIL row, quality and work units from the
// payload or, when it lacks them, from --quality and --work-units.
func (opts *ReplayOptions) claimOf(id int64, c dlq.Completion) (completion.Claim, error) {
	q, qerr := pick("--quality", "qualityScore", c.QualityScore, opts.Quality)
	w, werr := pick("--work-units", "workUnits", c.WorkUnits, opts.WorkUnits)
	var missing []string
	for _, m := range []struct {
		err  error
		flag string
	}{{qerr, "--quality"}, {werr, "--work-units"}} {
		if m.err == errMissing {
			missing = append(missing, m.flag)
		} else if m.err != nil {
			return completion.Claim{}, m.err
		}
	}
	if len(missing) > 0 {
		return completion.Claim{}, errs.Usagef("DLQ event %d's payload has no quality score or work units: give %s", id, strings.Join(missing, " and "))
	}
	return cmdutil.ParseCompletion(cmdutil.CompletionFlags{Job: c.JobID, CompletionHash: c.ManifestHash, Quality: q, WorkUnits: w, Sig: c.ControllerSig})
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
