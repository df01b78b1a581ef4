package job

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/jobs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// EventsOptions are the inputs of job events.
type EventsOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)

	FromBlock string
	ToBlock   string
	Job       string
	Types     []string
	Chunk     uint64
}

// NewCmdEvents returns `job events`.
func NewCmdEvents(f *cmdutil.Factory, runF func(context.Context, *EventsOptions) error) *cobra.Command {
	opts := &EventsOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Decoded JobEscrow and IdentityRegistry events (cast logs, named)",
		Long: `Print the escrow's and the IdentityRegistry's events in a block range, decoded by
name: JobCreated, JobCreatedV2, JobFunded, CompletionSubmitted, JobSettled,
JobSettledV2, JobRefunded, RobotRegistered, RobotKeyRotated, RobotMetadataUpdated.

Every log of the two contracts is read (no topic filter): a log that is none of
these events is shown raw as "unknown", with its topics and data, never dropped.
--type asks the node for the named events only.

--from-block and --to-block take a block number, "latest", or a negative offset
from the head (-100 is the runbook's "last 100 blocks", the default). --job
selects one job's events through the indexed jobId topic (escrow events only).

Long ranges are read in chunks of --chunk blocks, 4 chunks at a time, and printed
in block order as they arrive. When a provider answers "range too large" or "too
many results", the chunk is halved and the scan carries on; after a run of
answered chunks it doubles again, up to --chunk.`,
		Example: `  # The runbook's "cast logs --address $JOB_ESCROW_ADDRESS --from-block -100"
  vrwxctl job events

  # One job's history since the deployment block
  vrwxctl job events --job 42 --from-block 23800000

  # Completions only, as JSON
  vrwxctl job events --type CompletionSubmitted --from-block -5000 -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, eventsRun)
		},
	}
	fl := cmd.Flags()
	cmdutil.WideFlag(fl, f.IO)
	fl.StringVar(&opts.FromBlock, "from-block", "-100", "first block: a number, latest, or -N for N blocks before the head")
	fl.StringVar(&opts.ToBlock, "to-block", "latest", "last block: a number, latest, or -N")
	fl.StringVar(&opts.Job, "job", "", "only events of this job id")
	fl.StringSliceVar(&opts.Types, "type", nil, "only these events (repeatable or comma-separated; see the list above)")
	cmdutil.Uint64Var(fl, &opts.Chunk, "chunk", chain.DefaultLogChunk, "blocks per eth_getLogs request (halved when a provider refuses, grown back once it answers)")
	_ = cmd.RegisterFlagCompletionFunc("type", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return vrwx.EventTypeNames(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// EventJSON is one decoded event.
type EventJSON = jobs.Event

// EventsJSON is the -o json shape of job events.
type EventsJSON struct {
	ChainID   uint64      `json:"chainId"`
	Escrow    string      `json:"escrow"`
	Identity  string      `json:"identity,omitempty"`
	FromBlock uint64      `json:"fromBlock"`
	ToBlock   uint64      `json:"toBlock"`
	Events    []EventJSON `json:"events"`
}

func parseBlockRef(flag, s string) (jobs.BlockRef, error) {
	if strings.EqualFold(s, "latest") {
		return jobs.BlockRef{Latest: true}, nil
	}
	if strings.HasPrefix(s, "-") {
		n, err := cmdutil.ParseUint(flag, s[1:], math.MaxUint64)
		if err != nil {
			return jobs.BlockRef{}, errs.Usagef("%s %s is not a block (expected latest, -N blocks before the head, or a block number: decimal digits, or 0x followed by hex digits)", flag, redact.Quote(s))
		}
		return jobs.BlockRef{Relative: true, Back: n}, nil
	}
	n, err := cmdutil.ParseUint(flag, s, math.MaxUint64)
	if err != nil {
		return jobs.BlockRef{}, errs.Usagef("%s %s is not a block (expected latest, -N blocks before the head, or a block number: decimal digits, or 0x followed by hex digits)", flag, redact.Quote(s))
	}
	return jobs.BlockRef{Number: n}, nil
}

// validate parses the range, the job and the event types into a query; nothing is
// read before they pass.
func (opts *EventsOptions) validate() (jobs.EventQuery, error) {
	q := jobs.EventQuery{Chunk: opts.Chunk}
	var err error
	if q.From, err = parseBlockRef("--from-block", opts.FromBlock); err != nil {
		return q, err
	}
	if q.To, err = parseBlockRef("--to-block", opts.ToBlock); err != nil {
		return q, err
	}
	if q.From.Absolute() && q.To.Absolute() && q.From.Number > q.To.Number {
		return q, errs.Usagef("--from-block %d is after --to-block %d (expected from <= to)", q.From.Number, q.To.Number)
	}
	if opts.Chunk == 0 {
		return q, errs.Usagef("--chunk 0: expected at least 1 block per request")
	}
	if opts.Job != "" {
		if q.JobID, err = cmdutil.ParseUint256("--job", opts.Job); err != nil {
			return q, err
		}
	}
	for _, name := range opts.Types {
		et, ok := vrwx.ParseEventType(strings.TrimSpace(name))
		if !ok {
			return q, errs.Usagef("--type %s is not an event (expected one of %s)", redact.Quote(name), strings.Join(vrwx.EventTypeNames(), ", "))
		}
		q.Types = append(q.Types, et)
	}
	// With no --type the query stays empty: every log, unknown ones included.
	if q.JobID != nil && len(q.Types) > 0 {
		var byJob []vrwx.EventType
		for _, et := range q.Types {
			if et.ByJob {
				byJob = append(byJob, et)
			}
		}
		if len(byJob) == 0 {
			return q, errs.Usagef("--job selects escrow events, but --type names only IdentityRegistry events (they carry no job id)")
		}
		q.Types = byJob
	}
	return q, nil
}

// rangeError says which flags gave a range that resolved backwards.
func (opts *EventsOptions) rangeError(err error) error {
	var re *jobs.RangeError
	if errors.As(err, &re) {
		return errs.Usagef("--from-block %s (block %d) is after --to-block %s (block %d; head is %d)", opts.FromBlock, re.From, opts.ToBlock, re.To, re.Head)
	}
	return err
}

func eventsRun(ctx context.Context, opts *EventsOptions) error {
	q, err := opts.validate()
	if err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	ct, err := cmdutil.ContractsOf(cfg)
	if err != nil {
		return err
	}
	q.Escrow, q.Identity, q.HasIdentity = ct.Escrow, ct.Identity, ct.HasIdentity
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()

	q.OnHalve = func(from, to uint64, err error) {
		opts.IO.Debugf("provider refused blocks %d..%d (%v); halving the chunk", from, to, err)
	}
	ev, err := jobs.OpenEvents(ctx, c, q)
	if err != nil {
		return opts.rangeError(err)
	}
	if ev.IdentityUnknown {
		opts.IO.Warnf("no IdentityRegistry configured and the escrow's identity() is unreadable: registry events are left out")
	}
	// Each chunk's events go to stdout as soon as every chunk before it has: the
	// output is flushed after each chunk, the terminal's progress line cleared first.
	var flush func() error
	showProgress := ev.To-ev.From+1 > 10*opts.Chunk && opts.IO.ErrTTY
	shown := false
	clearProgress := func() {
		if shown {
			opts.IO.ClearProgress()
			shown = false
		}
	}
	defer clearProgress()
	start, read := time.Now(), uint64(0)
	total := ev.To - ev.From + 1
	const narrow = "--from-block/--to-block"
	ev.Progress = func(done uint64) {
		read = done - ev.From + 1
		clearProgress()
		_ = flush() // a write error stays in the writer and ends the command below
		if showProgress {
			opts.IO.Progress("reading events: block %d/%d", done, ev.To)
			shown = true
		}
	}

	out := EventsJSON{ChainID: c.ChainID(), Escrow: q.Escrow.Hex(), FromBlock: ev.From, ToBlock: ev.To, Events: []EventJSON{}}
	if ev.HasIdentity {
		out.Identity = ev.Identity.Hex()
	}
	if opts.IO.JSONOutput() {
		l, err := opts.IO.StartJSONList(out)
		if err != nil {
			return err
		}
		flush = l.Flush
		if err := ev.Each(ctx, func(e jobs.Event) error { return l.Add(e) }); err != nil {
			// The events already printed stay; the document ends with the error.
			return l.Fail(timedOut(ctx, err, time.Since(start), read, total, "blocks", narrow))
		}
		return l.Close()
	}
	opts.IO.StartPager()
	showProgress = showProgress && !opts.IO.Paging()
	s := opts.IO.Styles()
	w := bufio.NewWriterSize(opts.IO.Out, 64<<10)
	flush = w.Flush
	t := ui.NewStreamTable(w, s, eventColumns(ev)...)
	t.Fit(opts.IO.TableWidth(), ui.Shrink("DETAILS", 20), ui.Drop("TX"))
	cells := make([]string, len(eventColumnNames))
	if err := ev.Each(ctx, func(e jobs.Event) error { return addEventRow(t, s, e, cells) }); err != nil {
		clearProgress()
		_ = w.Flush() // the rows read before the error stay
		return timedOut(ctx, err, time.Since(start), read, total, "blocks", narrow)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	clearProgress()
	if t.Rows() == 0 {
		opts.IO.Infof("no events in blocks %d..%d", ev.From, ev.To)
		return nil
	}
	opts.IO.SayHidden(t.Hidden())
	opts.IO.Infof("%d events in blocks %d..%d", t.Rows(), ev.From, ev.To)
	return nil
}

// eventColumnNames are job events' table columns.
var eventColumnNames = []string{"BLOCK", "TX", "EVENT", "JOB", "DETAILS"}

// jobIDDigits is the room the JOB column keeps: ids up to a hundred million; a
// larger one pushes its own row right.
const jobIDDigits = 8

// eventColumns sizes job events' columns before the first event is read: the digits
// of the last block, a shortened hash, the longest event name.
func eventColumns(ev *jobs.Events) []ui.Column {
	name := len("unknown")
	for _, n := range vrwx.EventTypeNames() {
		name = max(name, len(n))
	}
	widths := []int{len(strconv.FormatUint(ev.To, 10)), len([]rune(ui.Short(common.Hash{}.Hex()))), name, jobIDDigits, 0}
	cols := make([]ui.Column, len(eventColumnNames))
	for i, n := range eventColumnNames {
		cols[i] = ui.Column{Header: n, Width: widths[i]}
	}
	return cols
}

// addEventRow writes event e as a row: its name bold, or warning-coloured when it is
// none of the spec's events; cells is reused row to row.
func addEventRow(t *ui.StreamTable, s ui.Styles, e jobs.Event, cells []string) error {
	name := s.Bold
	if e.Event == "unknown" {
		name = s.Warn
	}
	cells = append(cells[:0], strconv.FormatUint(e.Block, 10), ui.Short(e.TxHash), e.Event, e.JobID, details(e))
	return t.Row(cells, []*lipgloss.Style{nil, nil, &name})
}

// details is an event's arguments as "name=value" text in the event's order, long
// hashes shortened, the job id left to its own column.
func details(e jobs.Event) string {
	if e.Event == "unknown" {
		return rawDetails(e)
	}
	var parts []string
	for _, f := range e.Fields {
		if f.Name == "jobId" {
			continue
		}
		v := f.Value
		if len(v) > 42 {
			v = ui.Short(v)
		}
		parts = append(parts, f.Name+"="+v)
	}
	return strings.Join(parts, " ")
}

// rawDetails shows an unknown log as the node returned it: every topic in full (the
// first names the event, for a lookup), and the data, shortened only past 256 bytes.
func rawDetails(e jobs.Event) string {
	var parts []string
	for i, t := range e.Topics {
		parts = append(parts, fmt.Sprintf("topic%d=%s", i, t))
	}
	if len(e.Topics) == 0 {
		parts = append(parts, "no topics (anonymous)")
	}
	data := e.Data
	if n := (len(data) - 2) / 2; n > 256 {
		data = fmt.Sprintf("%s…%s (%d bytes)", data[:66], data[len(data)-64:], n)
	}
	parts = append(parts, "data="+data)
	if e.DecodeError != "" {
		parts = append(parts, "("+e.DecodeError+")")
	}
	return strings.Join(parts, " ")
}
