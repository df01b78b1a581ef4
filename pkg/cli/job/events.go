package job

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
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
JobSettledV2, RobotRegistered, RobotKeyRotated, RobotMetadataUpdated.

--from-block and --to-block take a block number, "latest", or a negative offset
from the head (-100 is the runbook's "last 100 blocks", the default). --job
selects one job's events through the indexed jobId topic (escrow events only).

Long ranges are read in chunks of --chunk blocks; when a provider answers "range
too large" or "too many results", the chunk is halved and the scan carries on.`,
		Example: `  # The runbook's "cast logs --address $JOB_ESCROW_ADDRESS --from-block -100"
  vrwxctl job events

  # One job's history since the deployment block
  vrwxctl job events --job 42 --from-block 23800000

  # Completions only, as JSON
  vrwxctl job events --type CompletionSubmitted --from-block -5000 -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := opts.Context(cmd.Context())
			defer cancel()
			if runF != nil {
				return runF(ctx, opts)
			}
			return eventsRun(ctx, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.FromBlock, "from-block", "-100", "first block: a number, latest, or -N for N blocks before the head")
	fl.StringVar(&opts.ToBlock, "to-block", "latest", "last block: a number, latest, or -N")
	fl.StringVar(&opts.Job, "job", "", "only events of this job id")
	fl.StringSliceVar(&opts.Types, "type", nil, "only these events (repeatable or comma-separated; see the list above)")
	fl.Uint64Var(&opts.Chunk, "chunk", chain.DefaultLogChunk, "blocks per eth_getLogs request (halved automatically when a provider refuses)")
	_ = cmd.RegisterFlagCompletionFunc("type", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return vrwx.EventTypeNames(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// EventJSON is one decoded event.
type EventJSON struct {
	Block    uint64 `json:"block"`
	TxHash   string `json:"txHash"`
	LogIndex uint   `json:"logIndex"`
	// Contract is "escrow" or "identity"; Event is the event's name ("unknown" for
	// a log that is none of the spec's events, with its raw topics and data in Args).
	Contract string `json:"contract"`
	Address  string `json:"address"`
	Event    string `json:"event"`
	JobID    string `json:"jobId,omitempty"`
	RobotID  string `json:"robotId,omitempty"`
	// Args are the event's arguments by name, formatted as text (uint256 in decimal).
	Args map[string]string `json:"args"`
}

// EventsJSON is the -o json shape of job events.
type EventsJSON struct {
	ChainID   uint64      `json:"chainId"`
	Escrow    string      `json:"escrow"`
	Identity  string      `json:"identity,omitempty"`
	FromBlock uint64      `json:"fromBlock"`
	ToBlock   uint64      `json:"toBlock"`
	Events    []EventJSON `json:"events"`
}

// blockSpec is a parsed --from-block / --to-block.
type blockSpec struct {
	latest bool
	offset uint64 // blocks before the head (for -N)
	abs    uint64
	rel    bool
}

func parseBlockSpec(flag, s string) (blockSpec, error) {
	if strings.EqualFold(s, "latest") {
		return blockSpec{latest: true}, nil
	}
	if strings.HasPrefix(s, "-") {
		n, err := strconv.ParseUint(s[1:], 10, 64)
		if err != nil {
			return blockSpec{}, errs.Usagef("%s %q is not a block (expected a number, latest, or -N blocks before the head)", flag, s)
		}
		return blockSpec{rel: true, offset: n}, nil
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return blockSpec{}, errs.Usagef("%s %q is not a block (expected a number, latest, or -N blocks before the head)", flag, s)
	}
	return blockSpec{abs: n}, nil
}

func (b blockSpec) resolve(head uint64) uint64 {
	switch {
	case b.latest:
		return head
	case b.rel:
		if b.offset > head {
			return 0
		}
		return head - b.offset
	}
	return b.abs
}

func eventsRun(ctx context.Context, opts *EventsOptions) error {
	from, err := parseBlockSpec("--from-block", opts.FromBlock)
	if err != nil {
		return err
	}
	to, err := parseBlockSpec("--to-block", opts.ToBlock)
	if err != nil {
		return err
	}
	if !from.latest && !from.rel && !to.latest && !to.rel && from.abs > to.abs {
		return errs.Usagef("--from-block %d is after --to-block %d (expected from <= to)", from.abs, to.abs)
	}
	if opts.Chunk == 0 {
		return errs.Usagef("--chunk 0: expected at least 1 block per request")
	}
	var jobID *big.Int
	if opts.Job != "" {
		if jobID, err = cmdutil.ParseUint256("--job", opts.Job); err != nil {
			return err
		}
	}
	var types []vrwx.EventType
	for _, name := range opts.Types {
		et, ok := vrwx.ParseEventType(strings.TrimSpace(name))
		if !ok {
			return errs.Usagef("--type %q is not an event (expected one of %s)", name, strings.Join(vrwx.EventTypeNames(), ", "))
		}
		types = append(types, et)
	}
	if len(types) == 0 {
		types = vrwx.EventTypes()
	}
	if jobID != nil {
		var byJob []vrwx.EventType
		for _, et := range types {
			if et.ByJob {
				byJob = append(byJob, et)
			}
		}
		if len(byJob) == 0 {
			return errs.Usagef("--job selects escrow events, but --type names only IdentityRegistry events (they carry no job id)")
		}
		types = byJob
	}
	wantEscrow, wantIdentity := false, false
	var topic0 []common.Hash
	for _, et := range types {
		topic0 = append(topic0, et.Topic)
		if et.Contract == vrwx.ContractEscrow {
			wantEscrow = true
		} else {
			wantIdentity = true
		}
	}

	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	ct, err := cmdutil.ContractsOf(cfg)
	if err != nil {
		return err
	}
	escrow, identity, haveIdentity := ct.Escrow, ct.Identity, ct.HasIdentity
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()

	// The head, and the escrow's registry when the profile names none: one round trip.
	b := c.NewBatch()
	headR := b.Header(chain.Latest)
	var identCall *chain.Result[hexutil.Bytes]
	if wantIdentity && !haveIdentity {
		identCall = b.Call(escrow, vrwx.Pack(vrwx.EscrowABI(), "identity"), chain.Latest)
	}
	if err := b.Do(ctx); err != nil {
		return err
	}
	if err := headR.Err(); err != nil || headR.Value == nil {
		return errs.Failedf("reading the head block from %s", chain.RedactURL(c.URL())).Wrap(err)
	}
	head := uint64(headR.Value.Number)
	if identCall != nil {
		if identCall.Err() == nil {
			if a, err := vrwx.DecodeAddress(identCall.Value); err == nil && a != (common.Address{}) {
				identity, haveIdentity = a, true
			}
		}
		if !haveIdentity {
			opts.IO.Warnf("no IdentityRegistry configured and the escrow's identity() is unreadable: registry events are left out")
		}
	}
	fromN, toN := from.resolve(head), to.resolve(head)
	if toN > head {
		toN = head
	}
	if fromN > toN {
		return errs.Usagef("--from-block %s (block %d) is after --to-block %s (block %d; head is %d)", opts.FromBlock, fromN, opts.ToBlock, toN, head)
	}

	q := chain.LogQuery{From: fromN, To: toN, Chunk: opts.Chunk, Topics: [][]common.Hash{topic0}}
	if wantEscrow {
		q.Addresses = append(q.Addresses, escrow)
	}
	if wantIdentity && haveIdentity {
		q.Addresses = append(q.Addresses, identity)
	}
	if len(q.Addresses) == 0 {
		return errs.Failedf("no contract to read events from")
	}
	if jobID != nil {
		q.Topics = append(q.Topics, []common.Hash{common.BigToHash(jobID)})
	}
	q.OnHalve = func(from, to uint64, err error) {
		opts.IO.Debugf("provider refused blocks %d..%d (%v); halving the chunk", from, to, err)
	}
	span := toN - fromN + 1
	if span > 10*opts.Chunk && opts.IO.ErrTTY {
		q.Progress = func(done uint64) {
			fmt.Fprintf(opts.IO.ErrOut, "\rreading events: block %d/%d", done, toN)
		}
	}
	logs, err := c.Logs(ctx, q)
	if q.Progress != nil {
		fmt.Fprint(opts.IO.ErrOut, "\r\033[K")
	}
	if err != nil {
		return err
	}

	out := EventsJSON{ChainID: c.ChainID(), Escrow: escrow.Hex(), FromBlock: fromN, ToBlock: toN, Events: []EventJSON{}}
	if haveIdentity {
		out.Identity = identity.Hex()
	}
	var details []string
	for _, l := range logs {
		if l.Removed {
			continue
		}
		contract := vrwx.ContractEscrow
		if l.Address != escrow {
			contract = vrwx.ContractIdentity
		}
		ev, detail := eventJSON(l, contract)
		out.Events = append(out.Events, ev)
		details = append(details, detail)
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	if len(out.Events) == 0 {
		opts.IO.Infof("no events in blocks %d..%d", fromN, toN)
		return nil
	}
	s := opts.IO.Styles()
	t := ui.NewTable("BLOCK", "TX", "EVENT", "JOB", "DETAILS")
	for i, ev := range out.Events {
		name := s.Bold
		if ev.Event == "unknown" {
			name = s.Warn
		}
		t.StyledRow([]string{fmt.Sprint(ev.Block), ui.Short(ev.TxHash), ev.Event, ev.JobID, details[i]},
			[]*lipgloss.Style{nil, nil, &name})
	}
	t.Render(opts.IO.Out, s)
	opts.IO.Infof("%d events in blocks %d..%d", len(out.Events), fromN, toN)
	return nil
}

// eventJSON decodes l; the second result is its arguments as "name=value" text in
// the event's order, long hashes shortened, the job id left to its own column.
func eventJSON(l types.Log, contract string) (EventJSON, string) {
	out := EventJSON{Block: l.BlockNumber, TxHash: l.TxHash.Hex(), LogIndex: l.Index, Contract: contract, Address: l.Address.Hex(), Args: map[string]string{}}
	ev, err := vrwx.DecodeEvent(l, contract)
	if err != nil {
		out.Event = "unknown"
		for i, t := range l.Topics {
			out.Args[fmt.Sprintf("topic%d", i)] = t.Hex()
		}
		out.Args["data"] = fmt.Sprintf("0x%x", l.Data)
		return out, "topic0=" + ui.Short(out.Args["topic0"])
	}
	out.Event = ev.Name
	if ev.JobID != nil {
		out.JobID = ev.JobID.String()
	}
	if ev.RobotID != nil {
		out.RobotID = ev.RobotID.Hex()
	}
	var parts []string
	for _, f := range ev.Fields {
		out.Args[f.Name] = f.Value
		if f.Name == "jobId" {
			continue
		}
		v := f.Value
		if len(v) > 42 {
			v = ui.Short(v)
		}
		parts = append(parts, f.Name+"="+v)
	}
	return out, strings.Join(parts, " ")
}
