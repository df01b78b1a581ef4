package dlq

import (
	"context"
	"errors"
	"fmt"
	"math"
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
// result (preflight, transaction, the job's new status), and the event after it was
// marked RETRIED (null on a dry run).
type ReplayJSON struct {
	Completion dlq.Completion     `json:"completion"`
	Values     ClaimValues        `json:"values"`
	Complete   *completion.Result `json:"complete"`
	Event      *dlq.Event         `json:"event"`
}

// ClaimValues are the quality score and work units a replay submits, each with
// where it came from: "payload" (the row's own field), "derived" (computed from the
// payload as the API does), or the flag that gave it.
type ClaimValues struct {
	QualityScore  uint64 `json:"qualityScore"`
	QualityFrom   string `json:"qualityFrom"`
	WorkUnits     uint64 `json:"workUnits"`
	WorkUnitsFrom string `json:"workUnitsFrom"`
	// Rule and Assumed describe the derivation when either value is derived, or
	// when a flag overrode a derivable value.
	Rule    string   `json:"rule,omitempty"`
	Assumed []string `json:"assumed,omitempty"`
}

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

Quality score and work units: the live API does not store them — its TX_FAIL
payload is the webhook body, from which it computed both before relaying, and the
controller signed exactly those. They are derived from the payload the same way
(inspection, security_patrol, delivery; JavaScript's Math.round) and shown before
anything is sent. --quality and --work-units override a derived value; a payload
that carries the values itself (older API versions) is taken as it is. A delivery
without startTs or endTs used the API's clock: the row's created_at stands in for
it, and the summary says so.

On success the event is marked RETRIED with the transaction hash (and --reason)
in its notes. A failed preflight sends nothing and leaves the event unresolved
(exit 1).

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

  # Override what the payload derives (the controller must have signed these)
  vrwxctl dlq replay 18 --signer env://RELAYER_PRIVATE_KEY --quality 100 --work-units 12`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.IDs = *dbFlag, args
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
			return nil, errs.Usagef("--type %q: expected TX_FAIL, the only replayable type", opts.Type)
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
	for flag, v := range map[string]string{"--quality": opts.Quality, "--work-units": opts.WorkUnits} {
		if v == "" {
			continue
		}
		if _, err := cmdutil.ParseUint(flag, v, math.MaxUint64); err != nil {
			return nil, err
		}
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
	c, err := dlq.TxFailCompletion(e)
	if err != nil {
		return err
	}
	vals, err := claimValues(e.ID, c, opts.Quality, opts.WorkUnits)
	if err != nil {
		return err
	}
	claim, err := claimOf(c, vals)
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
	renderValues(opts.IO, e, c, vals)
	res, err := completion.Submit(ctx, flow, k, cmdutil.FeePolicy(cfg), claim)
	var e2 *errs.Error
	if errors.As(err, &e2) && strings.HasPrefix(e2.Msg, "preflight failed: signer") && (vals.QualityFrom == "derived" || vals.WorkUnitsFrom == "derived") {
		// The derivation is the API's rule as the spec states it; a controller that
		// signed other values points at an API that computed differently.
		return e2.WithFix(fmt.Sprintf("the quality score and work units were derived from the payload; if the controller signed other values, give them: vrwxctl dlq replay %d --quality Q --work-units W", id))
	}
	if err != nil {
		return err
	}
	out := ReplayJSON{Completion: c, Values: vals, Complete: res}
	if res.Tx.Receipt != nil {
		resolved, err := dlq.Resolve(ctx, db, id, dlq.ResolutionRetried, replayNotes(res.Tx.TxHash, opts.Send.Reason), opts.Now())
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

// replayNotes is what a replayed row's resolution_notes say: the transaction, and
// the operator's --reason when given.
func replayNotes(txHash, reason string) string {
	notes := "replayed by vrwxctl: tx " + txHash
	if r := strings.TrimSpace(reason); r != "" {
		notes += "; reason: " + r
	}
	return notes
}

// renderValues shows, before the transaction's summary, which completion the row
// rebuilds into and where its quality and work units came from.
func renderValues(io *ui.IO, e dlq.Event, c dlq.Completion, v ClaimValues) {
	s := io.ErrStyles()
	w := io.ErrOut
	row := func(k, val string) { fmt.Fprintf(w, "  %-10s %s\n", s.Faint.Render(k), val) }
	fmt.Fprintln(w, s.Bold.Render(fmt.Sprintf("DLQ event %d → completion of job %s", e.ID, c.JobID)))
	row("quality", fmt.Sprintf("%d  (%s)", v.QualityScore, v.QualityFrom))
	row("work units", fmt.Sprintf("%d  (%s)", v.WorkUnits, v.WorkUnitsFrom))
	if v.Rule != "" {
		row("derived", v.Rule)
	}
	for _, a := range v.Assumed {
		row("assumed", s.Warn.Render(a))
	}
}

// claimValues picks the quality score and work units of a row: the payload's own
// (a contradicting flag is bad input: the controller signed the payload's value),
// else the flag, else what the payload derives. Neither is bad input naming both
// the flags and why the payload does not derive them.
func claimValues(id int64, c dlq.Completion, quality, workUnits string) (ClaimValues, error) {
	var v ClaimValues
	var derivedQ, derivedW *uint64
	if c.Derived != nil {
		derivedQ, derivedW = &c.Derived.QualityScore, &c.Derived.WorkUnits
	}
	var err error
	var missing []string
	if v.QualityScore, v.QualityFrom, err = pick("--quality", "qualityScore", c.QualityScore, derivedQ, quality); errors.Is(err, errMissing) {
		missing = append(missing, "--quality")
	} else if err != nil {
		return v, err
	}
	if v.WorkUnits, v.WorkUnitsFrom, err = pick("--work-units", "workUnits", c.WorkUnits, derivedW, workUnits); errors.Is(err, errMissing) {
		missing = append(missing, "--work-units")
	} else if err != nil {
		return v, err
	}
	if len(missing) > 0 {
		return v, errs.Usagef("DLQ event %d's payload has no quality score and work units, and they cannot be derived from it (%s): give %s",
			id, c.DeriveError, strings.Join(missing, " and "))
	}
	if c.Derived != nil && (v.QualityFrom != "payload" || v.WorkUnitsFrom != "payload") {
		v.Rule, v.Assumed = c.Derived.Rule, c.Derived.Assumed
	}
	return v, nil
}

// claimOf is the submitCompletionV2 claim of a row with its chosen values.
func claimOf(c dlq.Completion, v ClaimValues) (completion.Claim, error) {
	return cmdutil.ParseCompletion(cmdutil.CompletionFlags{Job: c.JobID, CompletionHash: c.ManifestHash,
		Quality: strconv.FormatUint(v.QualityScore, 10), WorkUnits: strconv.FormatUint(v.WorkUnits, 10), Sig: c.ControllerSig})
}

var errMissing = errors.New("missing")

// pick returns a value and where it came from: the payload's own (a flag that
// contradicts it is bad input, because the controller signed the payload's value),
// else the flag (which overrides a derived value), else the derived one.
func pick(flag, field string, payload, derived *uint64, value string) (uint64, string, error) {
	var fromFlag *uint64
	if value != "" {
		n, err := cmdutil.ParseUint(flag, value, math.MaxUint64)
		if err != nil {
			return 0, "", err
		}
		fromFlag = &n
	}
	switch {
	case payload != nil && fromFlag != nil && *fromFlag != *payload:
		return 0, "", errs.Usagef("%s %s: the event's payload has %s %d, which the controller signed", flag, value, field, *payload)
	case payload != nil:
		return *payload, "payload", nil
	case fromFlag != nil && derived != nil && *derived != *fromFlag:
		return *fromFlag, fmt.Sprintf("%s, overriding the derived %d", flag, *derived), nil
	case fromFlag != nil:
		return *fromFlag, flag, nil
	case derived != nil:
		return *derived, "derived", nil
	}
	return 0, "", errMissing
}
