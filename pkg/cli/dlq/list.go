package dlq

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/dlqreplay"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// ListOptions are the inputs of dlq list.
type ListOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time

	DB     string
	Filter dlq.Filter
}

// NewCmdList returns `dlq list`. Its -o json shape is an array of dlq.View: each
// event with its reason decoded ([] when nothing matches).
func NewCmdList(f *cmdutil.Factory, dbFlag *string, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "list [--type T] [--unresolved] [--job ID] [--limit N]",
		Short: "List DLQ events, oldest first",
		Long: `List dead-letter events, oldest first: id, type, job, retries, state, age, the
error the reason decodes to, and the reason. A TX_FAIL reason is ethers' error message
as the API stored it; ERROR names what it holds: the contract error the relay
reverted with at estimateGas (InvalidSignature, DeadlinePassed, InvalidStatus, …),
or ethers' code when no contract error is in it (INSUFFICIENT_FUNDS, …). dlq show
decodes the rest (the calldata, a signed transaction). Types: ` + strings.Join(dlq.Types, ", ") + `.`,
		Example: `  # What the "DLQ Depth" alert counts
  vrwxctl dlq list --unresolved

  # Failed completions of one job, as JSON
  vrwxctl dlq list --type TX_FAIL --job 42 -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB = *dbFlag
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, listRun)
		},
	}
	fl := cmd.Flags()
	cmdutil.WideFlag(fl, f.IO)
	fl.StringVar(&opts.Filter.Type, "type", "", "only this event type (e.g. TX_FAIL)")
	fl.BoolVar(&opts.Filter.Unresolved, "unresolved", false, "only unresolved events")
	fl.StringVar(&opts.Filter.JobID, "job", "", "only events of this job id")
	cmdutil.IntVar(fl, &opts.Filter.Limit, "limit", 100, "at most this many events")
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(dlq.Types, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// validate checks the filter and returns it with the type in its canonical case.
func (opts *ListOptions) validate() (dlq.Filter, error) {
	filter := opts.Filter
	if filter.Limit < 1 {
		return filter, errs.Usagef("--limit %d: expected at least 1", filter.Limit)
	}
	if filter.Type != "" {
		t, err := dlq.NormalizeType(filter.Type)
		if err != nil {
			return filter, err
		}
		filter.Type = t
	}
	if filter.JobID != "" {
		id, err := cmdutil.ParseUint256("--job", filter.JobID)
		if err != nil {
			return filter, err
		}
		filter.JobID = id.String() // the column holds decimal: 0x4d and 077 are job 77

	}
	return filter, nil
}

func listRun(ctx context.Context, opts *ListOptions) error {
	filter, err := opts.validate()
	if err != nil {
		return err
	}
	db, _, err := openDB(ctx, opts.IO, opts.Config, opts.DB, false)
	if err != nil {
		return err
	}
	defer db.Close()
	events, err := dlq.List(ctx, db, filter)
	if err != nil {
		return err
	}
	views := make([]dlq.View, len(events))
	for i, e := range events {
		views[i] = e.Decode()
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(views)
	}
	if len(events) == 0 {
		opts.IO.Infof("no DLQ events match")
		return nil
	}
	now := opts.Now()
	t := ui.NewTable("ID", "TYPE", "JOB", "RETRIES", "STATE", "AGE", "ERROR", "REASON")
	for _, v := range views {
		e := v.Event
		job := e.JobID
		if job == "" {
			job = "-"
		}
		cause := v.Decoded.Cause()
		if cause == "" {
			cause = "-"
		}
		t.Row(fmt.Sprint(e.ID), e.Type, job, fmt.Sprint(e.RetryCount), state(e), ui.Duration(now.Sub(e.CreatedAt)), cause, clip(v.Decoded.Message, 50))
	}
	t.Fit(ui.Shrink("REASON", 20), ui.Drop("RETRIES"), ui.Drop("TYPE"))
	opts.IO.StartPager()
	opts.IO.RenderTable(t)
	if len(events) == filter.Limit {
		opts.IO.Infof("showing the first %d; raise --limit for more", filter.Limit)
	}
	return nil
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// ShowOptions are the inputs of dlq show.
type ShowOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)

	DB string
	ID string
}

// NewCmdShow returns `dlq show`. Its -o json shape is one dlq.View: the event with
// its reason decoded.
func NewCmdShow(f *cmdutil.Factory, dbFlag *string, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context}
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one DLQ event: its reason decoded, its payload pretty-printed",
		Long: `Show every column of one dead-letter event: type, job, manifest hash, reason,
error code, retries, resolution, the payload indented for reading, and the error
stack. A missing id is an error (exit 1).

The reason is read as data. The live API stores ethers' error message, which holds:
  - for a relay that would revert (it fails at estimateGas, so nothing reaches the
    chain): the revert data — shown as the contract error by name with its
    arguments and the runbook's fix — and the calldata the API built, shown as
    submitCompletionV2's arguments: the job, completion hash, quality score, work
    units and signature exactly as the controller signed them;
  - for a relayer out of ETH (INSUFFICIENT_FUNDS): the whole signed transaction —
    its sender, chain, nonce, fees, gas and calldata. vrwxctl asks the profile's
    chain whether that nonce is still unused: while it is, anyone holding the
    database file can broadcast the transaction (a warning says so).
A reason of any other shape is shown as it is.`,
		Example: `  vrwxctl dlq show 17
  vrwxctl dlq show 17 -o json | jq .decoded.error.name
  vrwxctl dlq show 17 -o json | jq -r .payload | jq .`,
		Args: cmdutil.ExactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.ID = *dbFlag, args[0]
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, showRun)
		},
	}
}

func showRun(ctx context.Context, opts *ShowOptions) error {
	id, err := parseID(opts.ID)
	if err != nil {
		return err
	}
	db, _, err := openDB(ctx, opts.IO, opts.Config, opts.DB, false)
	if err != nil {
		return err
	}
	defer db.Close()
	e, err := dlq.Get(ctx, db, id)
	if err != nil {
		return err
	}
	v := e.Decode()
	if s := v.Decoded.Signed; s != nil {
		s.OnChain = checkSigned(ctx, opts.Chain, s)
		if s.OnChain.State == dlq.SignedUnused {
			opts.IO.Warnf("DLQ event %d holds a signed transaction that can still be broadcast: %s", e.ID, s.OnChain.Note)
		}
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(v)
	}
	renderEvent(opts.IO, v)
	return nil
}

// checkSigned asks the profile's chain about a reason's signed transaction, within
// a few seconds: a chain that cannot be reached leaves it unchecked, it does not
// fail the command.
func checkSigned(ctx context.Context, open func() (*chain.Client, error), s *dlq.SignedTx) *dlq.SignedState {
	c, err := open()
	if err != nil {
		return &dlq.SignedState{State: dlq.SignedUnchecked, Note: "no chain client: " + err.Error()}
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, signedCheckTimeout)
	defer cancel()
	return dlqreplay.CheckSigned(ctx, c, s)
}

// signedCheckTimeout bounds dlq show's one chain read.
const signedCheckTimeout = 5 * time.Second

func renderEvent(io *ui.IO, v dlq.View) {
	e := v.Event
	s := io.Styles()
	fmt.Fprintf(io.Out, "%s %d  %s  %s\n", s.Bold.Render("DLQ EVENT"), e.ID, e.Type, state(e))
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(io.Out, "  %-17s %s\n", k, v)
		}
	}
	row("job", e.JobID)
	row("manifest hash", e.ManifestHash)
	row("connector", e.ConnectorType)
	row("service", e.ServiceType)
	row("reason", e.Reason)
	row("error code", e.ErrorCode)
	row("retries", fmt.Sprintf("%d of %d", e.RetryCount, dlq.MaxRetries))
	if e.NextRetryAt != nil {
		row("next retry", formatTime(e.NextRetryAt))
	}
	if e.LastRetryAt != nil {
		row("last retry", formatTime(e.LastRetryAt))
	}
	row("created", formatTime(&e.CreatedAt))
	if e.Resolved() {
		row("resolved", formatTime(e.ResolvedAt)+" as "+e.ResolutionType)
		row("notes", e.ResolutionNotes)
	}
	renderReason(io, v.Decoded)
	fmt.Fprintln(io.Out, s.Bold.Render("payload"))
	fmt.Fprintln(io.Out, e.PrettyPayload())
	if e.ErrorStack != "" {
		fmt.Fprintln(io.Out, s.Bold.Render("error stack"))
		fmt.Fprintln(io.Out, e.ErrorStack)
	}
}
