package dlq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/dlqreplay"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
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

	DB  string
	IDs []string
	// All replays every unresolved TX_FAIL row; Type, when given with it, must say
	// TX_FAIL (the only replayable type).
	All       bool
	Type      string
	Quality   string
	WorkUnits string
	Send      cmdutil.SendOptions
}

// ReplayJSON is the -o json shape of dlq replay of one event: the completion rebuilt
// from the event, the values submitted and where they came from, the completion's
// result (preflight, transaction, the job's new status), the event after it was
// marked retried and RETRIED, and the job's idempotency record after it was set
// COMPLETED (both null on a dry run).
type ReplayJSON struct {
	Completion  dlq.Completion     `json:"completion"`
	Values      ClaimValues        `json:"values"`
	Complete    *completion.Result `json:"complete"`
	Event       *dlq.Event         `json:"event"`
	Idempotency *dlq.Idempotency   `json:"idempotency"`
}

// ClaimValues are the quality score and work units a replay submits, each with
// where it came from: "payload", "derived", or the flag that gave it
// (dlqreplay.Values).
type ClaimValues = dlqreplay.Values

// NewCmdReplay returns `dlq replay`.
func NewCmdReplay(f *cmdutil.Factory, dbFlag *string, runF func(context.Context, *ReplayOptions) error) *cobra.Command {
	opts := &ReplayOptions{IO: f.IO, Config: f.Config, Flow: f.Flow, Profiles: f.Profiles, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "replay ID... | --all [--type TX_FAIL]  --signer REF",
		Short: "Submit failed completions (TX_FAIL) again, then mark their events RETRIED",
		Long: `Rebuild the completion a TX_FAIL event holds — job id, manifest (completion) hash
and the controller's signature from its payload — and submit it with
submitCompletionV2 exactly as vrwxctl job complete does: the full preflight first
(job FUNDED and within its deadline, claim unused, robot active, signature by its
controller), then simulate, confirm (--yes), send and wait.

Quality score and work units: the live API does not store them in the payload
(the webhook body, from which it computed both before relaying), but the row's
reason holds the calldata of the relay that failed — the values the API built and
the controller signed — and those are used ("reason" in the summary). Only when the
reason holds none are they derived from the payload as the API derives them
(inspection, security_patrol, delivery; JavaScript's Math.round; "derived"); a
delivery without startTs or endTs used the API's clock, for which the row's
created_at stands in, and the summary says so. --quality and --work-units override
a derived value; a payload that carries the values itself (older API versions) is
taken as it is.

On success the API's records are left as its own successful retry leaves them, in
one short write transaction: the event's retry_count + 1 and last_retry_at, resolved
RETRIED with the transaction hash (and --reason) in its notes; the job's idempotency
record (base:{chainId}:job:{jobId}) COMPLETED with the webhook's success response
(accepted, success, txHash, blockNumber, gasUsed), so the API's status endpoint
answers COMPLETED and a client's next POST gets the cached answer instead of a new
relay. A failed preflight sends nothing, leaves the event unresolved (exit 1) and
says what to do: a signature made for another chain or escrow names them.

Several IDs, or --all (every unresolved TX_FAIL row), replay in bulk: every row is
rebuilt and checked first, ONE summary lists what will be sent and what is
skipped and why, ONE confirmation covers them all, then each is sent in turn and
its outcome reported (-o json: one document with every row). A row that fails
leaves the others going; an answer that leaves a send's fate unknown stops the
run. Exit 0 only when every row was replayed.`,
		Example: `  vrwxctl dlq list --type TX_FAIL --unresolved
  vrwxctl dlq replay 17 --signer aws-sm://vrwx/prod/relayer-key --reason INC-77 --yes

  # Every unresolved TX_FAIL row: one summary, one confirmation
  vrwxctl dlq replay --type TX_FAIL --all --signer aws-sm://vrwx/prod/relayer-key --reason INC-77

  # A few rows, as JSON
  vrwxctl dlq replay 17 18 21 --signer env://RELAYER_PRIVATE_KEY --yes -o json

  # See what would happen to every row, unfunded senders included; nothing is sent
  vrwxctl dlq replay --all --signer env://RELAYER_PRIVATE_KEY --dry-run

  # Override what the payload derives (the controller must have signed these)
  vrwxctl dlq replay 18 --signer env://RELAYER_PRIVATE_KEY --quality 100 --work-units 12`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.IDs = *dbFlag, args
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, replayRun)
		},
	}
	fl := cmd.Flags()
	cmdutil.AddSendFlags(fl, &opts.Send, "signer reference of the account that sends and pays gas (required)")
	fl.BoolVar(&opts.All, "all", false, "replay every unresolved TX_FAIL event")
	fl.StringVar(&opts.Type, "type", "", "with --all: the event type, TX_FAIL (the only replayable one)")
	fl.StringVar(&opts.Quality, "quality", "", "quality score 0..255, overriding what the payload derives (one event only)")
	fl.StringVar(&opts.WorkUnits, "work-units", "", "work units 0..4294967295, overriding what the payload derives (one event only)")
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"TX_FAIL"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// validate returns the event ids (none with --all); flag combinations and a sender
// are checked before the database is opened.
func (opts *ReplayOptions) validate() ([]int64, error) {
	if opts.Type != "" {
		t, err := dlq.NormalizeType(opts.Type)
		if err != nil {
			return nil, errs.Usagef("--type %s: expected TX_FAIL, the only replayable type", redact.Quote(opts.Type))
		}
		if t != "TX_FAIL" {
			return nil, errs.Usagef("--type %s: only TX_FAIL events can be replayed (resolve others with vrwxctl dlq resolve)", t)
		}
		if !opts.All {
			return nil, errs.Usagef("--type selects rows for --all; with event ids, leave it out")
		}
	}
	switch {
	case opts.All && len(opts.IDs) > 0:
		return nil, errs.Usagef("give event ids or --all, not both")
	case !opts.All && len(opts.IDs) == 0:
		return nil, errs.Usagef("no event to replay: give one or more event ids, or --all for every unresolved TX_FAIL event")
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, s := range opts.IDs {
		id, err := parseID(s)
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if (opts.All || len(ids) > 1) && (opts.Quality != "" || opts.WorkUnits != "") {
		return nil, errs.Usagef("--quality and --work-units apply to one event: in bulk, every row's values come from its own payload")
	}
	// The form is checked here, before the database: the one number form of every
	// command (010 is ten, 0x0a too).
	if _, err := opts.overrides(); err != nil {
		return nil, err
	}
	if opts.Send.Signer == "" {
		return nil, errs.Usagef("--signer is required: the account that sends the transactions and pays their gas")
	}
	return ids, nil
}

func replayRun(ctx context.Context, opts *ReplayOptions) error {
	ids, err := opts.validate()
	if err != nil {
		return err
	}
	if !opts.All && len(ids) == 1 {
		return replayOne(ctx, opts, ids[0])
	}
	return replayBulk(ctx, opts, ids)
}

func replayOne(ctx context.Context, opts *ReplayOptions, id int64) error {
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
	o, err := opts.overrides()
	if err != nil {
		return err
	}
	b, err := dlqreplay.Build(e, o)
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
	renderValues(opts.IO, e, b.Completion, b.Values)
	rp := &dlqreplay.Replayer{DB: db, Flow: flow, Checker: k, Fees: cmdutil.FeePolicy(cfg), Now: opts.Now, Reason: opts.Send.Reason}
	sent, err := rp.Send(ctx, id, b.Claim)
	if err != nil {
		return replayError(err, id, b)
	}
	res := sent.Result
	out := ReplayJSON{Completion: b.Completion, Values: b.Values, Complete: res, Event: sent.Event}
	if sent.Records != nil {
		out.Idempotency = sent.Records.Idempotency
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	if res.Tx.Receipt == nil {
		fmt.Fprintf(opts.IO.Out, "%s (dry run, not sent); DLQ event %d left unresolved\n", res.Tx.TxHash, id)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "%s mined in block %d\njob %s is now %s\nDLQ event %d resolved as RETRIED (retry %d)\n",
		res.Tx.TxHash, res.Tx.Receipt.Block, b.Completion.JobID, res.JobStatus, id, sent.Event.RetryCount)
	if r := sent.Records; r != nil && r.Idempotency != nil {
		before := r.IdempotencyBefore
		if before == "" {
			before = "none"
		}
		fmt.Fprintf(opts.IO.Out, "idempotency key %s: %s (was %s): the API's status endpoint answers COMPLETED\n", r.Idempotency.Key, r.Idempotency.Status, before)
	}
	return nil
}

// replayError adds the operator's next step to a single replay's failure: what the
// refused checks call for (dlqreplay.Hint: the domain a signature was made for, the
// values the controller signed, a row to resolve), the resolve that records a
// completion that was mined but not marked.
func replayError(err error, id int64, b dlqreplay.Built) error {
	var pe *completion.PreflightError
	if errors.As(err, &pe) {
		if h := dlqreplay.Hint(id, b.Values, pe.Verdict); h != "" {
			return pe.Err.WithFix(h)
		}
		return err
	}
	var unresolved *dlqreplay.UnresolvedError
	if errors.As(err, &unresolved) {
		res := unresolved.Result
		return errs.Failedf("completion sent (tx %s, job %s is %s) but marking DLQ event %d RETRIED (and its job's idempotency record COMPLETED) failed", res.Tx.TxHash, b.Completion.JobID, res.JobStatus, id).
			Wrap(unresolved.Err).WithFix(fmt.Sprintf("vrwxctl dlq resolve %d --as MANUAL --notes \"replayed: tx %s\"", id, res.Tx.TxHash))
	}
	return err
}

// overrides are the --quality and --work-units values, named by their flags: the
// names are the values' origin in the summary and JSON, and what an error asks for.
func (opts *ReplayOptions) overrides() (dlqreplay.Overrides, error) {
	o := dlqreplay.Overrides{
		Quality:   dlqreplay.Override{Name: "--quality", Text: opts.Quality},
		WorkUnits: dlqreplay.Override{Name: "--work-units", Text: opts.WorkUnits},
	}
	for _, ov := range []*dlqreplay.Override{&o.Quality, &o.WorkUnits} {
		if ov.Text == "" {
			continue
		}
		n, err := cmdutil.ParseUint(ov.Name, ov.Text, math.MaxUint64)
		if err != nil {
			return o, err
		}
		ov.Value = &n
	}
	return o, nil
}

// renderValues shows, before the transaction's summary, which completion the row
// rebuilds into and where its quality and work units came from.
func renderValues(io *ui.IO, e dlq.Event, c dlq.Completion, v ClaimValues) {
	s := io.ErrStyles()
	fmt.Fprintln(io.ErrOut, s.Bold.Render(fmt.Sprintf("DLQ event %d → completion of job %s", e.ID, c.JobID)))
	var fl ui.Fields
	fl.Row("quality", fmt.Sprintf("%d  (%s)", v.QualityScore, v.QualityFrom))
	fl.Row("work units", fmt.Sprintf("%d  (%s)", v.WorkUnits, v.WorkUnitsFrom))
	if v.Rule != "" {
		fl.Row("derived", v.Rule)
	}
	for _, a := range v.Assumed {
		fl.Warn("assumed", a)
	}
	io.RenderFields(&fl)
}
