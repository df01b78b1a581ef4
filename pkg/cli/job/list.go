package job

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// ListOptions are the inputs of job list.
type ListOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time

	From       string
	To         string
	Statuses   []string
	Robot      string
	Buyer      string
	Overdue    bool
	Settleable bool
}

// NewCmdList returns `job list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Scan every job (batched) and filter by status, robot, buyer, overdue, settleable",
		Long: `Read jobs 1..jobCount (or --from/--to) with batched eth_calls, 100 per JSON-RPC
batch and 4 batches in flight, and print those that match every filter given.

--overdue selects FUNDED jobs past their deadline (the buyer can refund);
--settleable selects COMPLETED jobs whose challenge window is over (anyone can
settle). Given together they select either kind: the jobs waiting on someone.
Deadlines are judged against the later of the wall clock and the chain head's time.

Progress goes to stderr on a terminal for long scans (and with -v); stdout gets
only the table or the JSON.`,
		Example: `  # Everything waiting on someone
  vrwxctl job list --overdue --settleable

  # A robot's funded jobs, as JSON
  vrwxctl job list --status FUNDED --robot 0x5c8d1e4f0d4f6ce5bd5a0dfd4e39f6e9b5f3a4a1c2b3d4e5f60718293a4b5c6d -o json

  # A window of ids
  vrwxctl job list --from 1000 --to 1999 --status COMPLETED,SETTLED`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := opts.Context(cmd.Context())
			defer cancel()
			if runF != nil {
				return runF(ctx, opts)
			}
			return listRun(ctx, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.From, "from", "", "first job id to scan (default 1)")
	fl.StringVar(&opts.To, "to", "", "last job id to scan (default jobCount)")
	fl.StringSliceVar(&opts.Statuses, "status", nil, "only jobs in these statuses (repeatable or comma-separated): CREATED, FUNDED, COMPLETED, SETTLED, DISPUTED, REFUNDED")
	fl.StringVar(&opts.Robot, "robot", "", "only jobs of this robot id (0x + 64 hex)")
	fl.StringVar(&opts.Buyer, "buyer", "", "only jobs of this buyer address")
	fl.BoolVar(&opts.Overdue, "overdue", false, "only FUNDED jobs past their deadline")
	fl.BoolVar(&opts.Settleable, "settleable", false, "only COMPLETED jobs whose settleAfter has passed")
	_ = cmd.RegisterFlagCompletionFunc("status", statusCompletions)
	return cmd
}

// ListJSON is the -o json shape of job list.
type ListJSON struct {
	ChainID uint64 `json:"chainId"`
	Escrow  string `json:"escrow"`
	// JobCount is the escrow's jobCount(); From..To is the range scanned (To < From
	// when there was nothing to scan).
	JobCount string `json:"jobCount"`
	From     string `json:"from"`
	To       string `json:"to"`
	Scanned  int    `json:"scanned"`
	// Jobs are the matching jobs in id order; [] when none match.
	Jobs []JobJSON `json:"jobs"`
}

// listFilter is the parsed filters.
type listFilter struct {
	statuses   map[vrwx.Status]bool
	robot      *common.Hash
	buyer      *common.Address
	overdue    bool
	settleable bool
}

func (f *listFilter) match(j *vrwx.Job, now time.Time) bool {
	if len(f.statuses) > 0 && !f.statuses[j.Status] {
		return false
	}
	if f.robot != nil && j.RobotID != *f.robot {
		return false
	}
	if f.buyer != nil && j.Buyer != *f.buyer {
		return false
	}
	if f.overdue || f.settleable {
		if !(f.overdue && j.Overdue(now)) && !(f.settleable && j.Settleable(now)) {
			return false
		}
	}
	return true
}

func parseListInput(opts *ListOptions) (*listFilter, *big.Int, *big.Int, error) {
	f := &listFilter{overdue: opts.Overdue, settleable: opts.Settleable}
	for _, name := range opts.Statuses {
		st, err := vrwx.ParseStatus(name)
		if err != nil {
			return nil, nil, nil, errs.Usagef("--status %q is not a job status (expected one of CREATED, FUNDED, COMPLETED, SETTLED, DISPUTED, REFUNDED)", name)
		}
		if f.statuses == nil {
			f.statuses = map[vrwx.Status]bool{}
		}
		f.statuses[st] = true
	}
	if opts.Robot != "" {
		h, err := cmdutil.ParseBytes32("--robot", opts.Robot)
		if err != nil {
			return nil, nil, nil, err
		}
		f.robot = &h
	}
	if opts.Buyer != "" {
		a, err := units.ParseAddress(opts.Buyer)
		if err != nil {
			return nil, nil, nil, errs.Usagef("--buyer: %v", err)
		}
		f.buyer = &a
	}
	var from, to *big.Int
	var err error
	if opts.From != "" {
		if from, err = cmdutil.ParseUint256("--from", opts.From); err != nil {
			return nil, nil, nil, err
		}
	}
	if opts.To != "" {
		if to, err = cmdutil.ParseUint256("--to", opts.To); err != nil {
			return nil, nil, nil, err
		}
	}
	if from != nil && to != nil && from.Cmp(to) > 0 {
		return nil, nil, nil, errs.Usagef("--from %s is after --to %s (expected --from <= --to)", from, to)
	}
	return f, from, to, nil
}

// scanWindow is how many ids one scan step reads (10 JSON-RPC batches of 100): small
// enough for steady progress, large enough to keep 4 batches in flight.
const scanWindow = 1000

func listRun(ctx context.Context, opts *ListOptions) error {
	filter, from, to, err := parseListInput(opts)
	if err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	escrow, err := cmdutil.Escrow(cfg)
	if err != nil {
		return err
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()

	// One round trip: jobCount, the token's decimals and symbol, and the head.
	var p vrwx.Program
	e := vrwx.ConstAddress(escrow)
	countStep := p.Call(e, vrwx.Pack(vrwx.EscrowABI(), "jobCount"), 1)
	tokenStep := p.Call(e, vrwx.Pack(vrwx.EscrowABI(), "token"), 1)
	decStep := p.Call(tokenStep.Word(0), vrwx.Pack(vrwx.ERC20ABI(), "decimals"), 1)
	symStep := p.Call(tokenStep.Word(0), vrwx.Pack(vrwx.ERC20ABI(), "symbol"), 3)
	var head *chain.Head
	extra := []rpc.BatchElem{{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &head}}
	res, err := vrwx.RunProgram(ctx, c, &p, "latest", extra...)
	if err != nil {
		return err
	}
	countW := res[countStep.Index()].Word(0)
	if countW == nil {
		return errs.Failedf("escrow %s: jobCount() %s on chain %d", escrow.Hex(), failure(res[countStep.Index()]), c.ChainID()).
			WithFix("check JOB_ESCROW_ADDRESS / the profile's escrow (vrwxctl contracts check)")
	}
	jobCount := new(big.Int).SetBytes(countW)
	decimals, symbol := -1, ""
	if w := res[decStep.Index()].Word(0); w != nil {
		if d, err := vrwx.DecodeDecimals(w); err == nil {
			decimals = int(d)
		}
	}
	if r := res[symStep.Index()]; r.OK {
		symbol, _ = vrwx.DecodeSymbol(r.Data)
	}
	if decimals < 0 {
		opts.IO.Warnf("settlement token decimals unreadable: prices are shown raw")
	}
	var headTime uint64
	if extra[0].Error == nil && head != nil {
		headTime = uint64(head.Time)
	}
	now := vrwx.Now(opts.Now(), headTime)

	if from == nil {
		from = big.NewInt(1)
	}
	if to == nil || to.Cmp(jobCount) > 0 {
		to = new(big.Int).Set(jobCount)
	}
	out := ListJSON{ChainID: c.ChainID(), Escrow: escrow.Hex(), JobCount: jobCount.String(), From: from.String(), To: to.String(), Jobs: []JobJSON{}}
	var matched []*vrwx.Job
	if from.Cmp(to) <= 0 {
		total := new(big.Int).Sub(to, from)
		if !total.IsInt64() || total.Int64() >= 1<<31 {
			return errs.Usagef("scan of %s..%s is too large (expected at most 2^31 ids; narrow it with --from/--to)", from, to)
		}
		n := int(total.Int64()) + 1
		progress := newProgress(opts.IO, n)
		for start := 0; start < n; start += scanWindow {
			k := min(scanWindow, n-start)
			b := c.NewBatch()
			ids := make([]*big.Int, k)
			calls := make([]*chain.Result[hexutil.Bytes], k)
			for i := range k {
				ids[i] = new(big.Int).Add(from, big.NewInt(int64(start+i)))
				calls[i] = b.Call(escrow, vrwx.PackJobs(ids[i]), chain.Latest)
			}
			if err := b.Do(ctx); err != nil {
				return err
			}
			for i, r := range calls {
				if err := r.Err(); err != nil {
					return errs.Failedf("jobs(%s) on escrow %s", ids[i], escrow.Hex()).Wrap(err)
				}
				j, err := vrwx.DecodeJob(ids[i], r.Value)
				if err != nil {
					return errs.Failedf("escrow %s", escrow.Hex()).Wrap(err)
				}
				if j.Exists() && filter.match(j, now) {
					matched = append(matched, j)
				}
			}
			out.Scanned += k
			progress.update(out.Scanned)
		}
		progress.done()
	}

	if opts.IO.JSONOutput() {
		return writeListJSON(opts.IO, out, matched, decimals, now)
	}
	if len(matched) == 0 {
		opts.IO.Infof("no jobs match (scanned %d of %s)", out.Scanned, jobCount)
		return nil
	}
	s := opts.IO.Styles()
	t := ui.NewTable("ID", "STATUS", "PRICE", "DEADLINE", "ROBOT", "BUYER", "NOTE")
	for _, j := range matched {
		price := j.Price.String()
		if decimals >= 0 {
			price = units.FormatFixed(j.Price, decimals)
			if symbol != "" {
				price += " " + symbol
			}
		}
		deadline := j.Deadline.String()
		if dl, ok := vrwx.UnixTime(j.Deadline); ok {
			deadline = ui.Relative(dl, now)
		}
		od, st := j.Overdue(now), j.Settleable(now)
		note, ns := "", s.Faint
		switch {
		case od:
			note, ns = "overdue", s.Crit
		case st:
			note, ns = "settleable", s.OK
		}
		t.StyledRow([]string{j.ID.String(), j.Status.String(), price, deadline, ui.Short(j.RobotID.Hex()), ui.Short(j.Buyer.Hex()), note},
			[]*lipgloss.Style{nil, statusStyle(s, j.Status), nil, nil, nil, nil, &ns})
	}
	t.Render(opts.IO.Out, s)
	opts.IO.Infof("%d of %d jobs match", len(matched), out.Scanned)
	return nil
}

// writeListJSON streams the jobs so a 10,000-job answer never sits in memory twice.
func writeListJSON(io *ui.IO, out ListJSON, jobs []*vrwx.Job, decimals int, now time.Time) error {
	w := bufio.NewWriterSize(io.Out, 64<<10)
	head, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	// head ends with `"jobs": []` and "}": write up to the list, then the items.
	prefix := head[:len(head)-len("[]\n}")]
	if _, err := w.Write(prefix); err != nil {
		return err
	}
	if len(jobs) == 0 {
		_, err := w.WriteString("[]\n}\n")
		if err == nil {
			err = w.Flush()
		}
		return err
	}
	w.WriteString("[")
	for i, j := range jobs {
		item, err := json.MarshalIndent(toJSON(j, decimals, now), "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			w.WriteString(",")
		}
		w.WriteString("\n    ")
		w.Write(item)
	}
	w.WriteString("\n  ]\n}\n")
	return w.Flush()
}

func failure(r vrwx.StepResult) string {
	switch {
	case !r.OK && r.Err != nil:
		if ce := vrwx.DecodeCallError(r.Err); ce != nil {
			return "reverted " + ce.Name
		}
		return "failed: " + r.Err.Error()
	case !r.OK:
		return "reverted"
	case r.Size == 0:
		return "returned no data (no contract at that address?)"
	}
	return fmt.Sprintf("returned %d bytes, not a uint256", r.Size)
}
