package job

import (
	"bufio"
	"context"
	"errors"
	"math/big"
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
	Limit      int
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

--limit N stops at the first N matching jobs in id order; stderr says how many
matched and, when the limit stopped the scan, the --from that goes on from there.

Progress goes to stderr on a terminal for long scans (and with -v); stdout gets
only the table or the JSON. On a terminal the table fits its width (buyer and
robot are left out first; --wide shows them) and goes through the pager
(VRWXCTL_PAGER, PAGER, less -FRX; --no-pager).`,
		Example: `  # Everything waiting on someone
  vrwxctl job list --overdue --settleable

  # A robot's funded jobs, as JSON
  vrwxctl job list --status FUNDED --robot 0x5c8d1e4f0d4f6ce5bd5a0dfd4e39f6e9b5f3a4a1c2b3d4e5f60718293a4b5c6d -o json

  # A window of ids
  vrwxctl job list --from 1000 --to 1999 --status COMPLETED,SETTLED

  # The first 50 funded jobs, every column
  vrwxctl job list --status FUNDED --limit 50 --wide`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, listRun)
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
	cmdutil.IntVar(fl, &opts.Limit, "limit", 0, "stop at the first N matching jobs in id order (0: all)")
	cmdutil.WideFlag(fl, f.IO)
	_ = cmd.RegisterFlagCompletionFunc("status", statusCompletions)
	cmdutil.HoldsHash(cmd, "robot")
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

// validate parses the filters and the id range; nothing is read before they pass.
func (opts *ListOptions) validate() (jobs.Filter, *big.Int, *big.Int, error) {
	f := jobs.Filter{Overdue: opts.Overdue, Settleable: opts.Settleable}
	for _, name := range opts.Statuses {
		st, err := vrwx.ParseStatus(name)
		if err != nil {
			return f, nil, nil, errs.Usagef("--status %s is not a job status (expected one of CREATED, FUNDED, COMPLETED, SETTLED, DISPUTED, REFUNDED)", redact.Quote(name))
		}
		if f.Statuses == nil {
			f.Statuses = map[vrwx.Status]bool{}
		}
		f.Statuses[st] = true
	}
	if opts.Robot != "" {
		h, err := cmdutil.ParseBytes32("--robot", opts.Robot)
		if err != nil {
			return f, nil, nil, err
		}
		f.Robot = &h
	}
	if opts.Buyer != "" {
		a, err := units.ParseAddress(opts.Buyer)
		if err != nil {
			return f, nil, nil, errs.Usagef("--buyer: %v", err)
		}
		f.Buyer = &a
	}
	var from, to *big.Int
	var err error
	if opts.From != "" {
		if from, err = cmdutil.ParseUint256("--from", opts.From); err != nil {
			return f, nil, nil, err
		}
	}
	if opts.To != "" {
		if to, err = cmdutil.ParseUint256("--to", opts.To); err != nil {
			return f, nil, nil, err
		}
	}
	if from != nil && to != nil && from.Cmp(to) > 0 {
		return f, nil, nil, errs.Usagef("--from %s is after --to %s (expected --from <= --to)", from, to)
	}
	if opts.Limit < 0 {
		return f, nil, nil, errs.Usagef("--limit %d is negative (expected 0 for all, or a count)", opts.Limit)
	}
	return f, from, to, nil
}

// errLimit stops a scan that found --limit jobs.
var errLimit = errors.New("--limit reached")

// limited passes jobs to fn until limit of them were passed (0: no limit), then
// stops the scan with errLimit; last is the id of the last job passed.
func limited(limit int, fn func(*vrwx.Job) error) (func(*vrwx.Job) error, *int, **big.Int) {
	n, last := 0, new(*big.Int)
	return func(j *vrwx.Job) error {
		if err := fn(j); err != nil {
			return err
		}
		n++
		*last = j.ID
		if limit > 0 && n >= limit {
			return errLimit
		}
		return nil
	}, &n, last
}

// maxScan is the largest range one scan reads.
const maxScan = 1 << 31

func listRun(ctx context.Context, opts *ListOptions) error {
	filter, from, to, err := opts.validate()
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

	scan, err := jobs.OpenScan(ctx, c, escrow, from, to, opts.Now())
	if err != nil {
		return err
	}
	if scan.Decimals < 0 {
		opts.IO.Warnf("settlement token decimals unreadable: prices are shown raw")
	}
	size := scan.Size()
	if size.Cmp(big.NewInt(maxScan)) > 0 {
		return errs.Usagef("scan of %s..%s is too large (expected at most 2^31 ids; narrow it with --from/--to)", scan.From, scan.To)
	}
	n := int(size.Int64())
	out := ListJSON{ChainID: c.ChainID(), Escrow: escrow.Hex(), JobCount: scan.JobCount.String(), From: scan.From.String(), To: scan.To.String(), Scanned: n, Jobs: []JobJSON{}}
	progress := newProgress(opts.IO, n)
	defer progress.done()
	start, read := time.Now(), uint64(0)
	step := func(flush func() error) func(uint64) error {
		return func(r uint64) error { read = r; return progress.step(int(r), flush) }
	}
	const narrow = "--from/--to"
	// Each window's jobs go to stdout as soon as it is read: a scan of a million jobs
	// holds one window (two while the next is read), whatever the output.
	if opts.IO.JSONOutput() {
		l, err := opts.IO.StartJSONList(out)
		if err != nil {
			return err
		}
		add, _, _ := limited(opts.Limit, func(j *vrwx.Job) error { return l.Add(toJSON(j, scan.Decimals, scan.Now)) })
		err = scan.Each(ctx, filter, add, step(l.Flush))
		if err != nil && !errors.Is(err, errLimit) {
			// The jobs already printed stay; the document ends with the error.
			return l.Fail(timedOut(ctx, err, time.Since(start), read, uint64(n), "jobs", narrow))
		}
		return l.Close()
	}
	opts.IO.StartPager()
	progress.tty = progress.tty && !opts.IO.Paging()
	s := opts.IO.Styles()
	w := bufio.NewWriterSize(opts.IO.Out, 64<<10)
	t := ui.NewStreamTable(w, s, listColumns(scan)...)
	t.Fit(opts.IO.TableWidth(), ui.Drop("BUYER"), ui.Drop("ROBOT"), ui.Shrink("DEADLINE", 12))
	cells := make([]string, len(listColumnNames))
	add, matched, last := limited(opts.Limit, func(j *vrwx.Job) error { return addRow(t, s, scan, j, cells) })
	err = scan.Each(ctx, filter, add, step(w.Flush))
	stopped := errors.Is(err, errLimit)
	if stopped {
		err = nil
	}
	if err != nil {
		progress.done()
		_ = w.Flush() // the rows read before the error stay
		return timedOut(ctx, err, time.Since(start), read, uint64(n), "jobs", narrow)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	progress.done()
	opts.IO.SayHidden(t.Hidden())
	switch {
	case t.Rows() == 0:
		opts.IO.Infof("no jobs match (scanned %d of %s)", n, scan.JobCount)
	case stopped && (*last).Cmp(scan.To) < 0:
		next := new(big.Int).Add(*last, big.NewInt(1))
		opts.IO.Infof("the first %d matching jobs, ids %s..%s of %s..%s: --limit stopped the scan (--from %s goes on; --limit 0 lists all)",
			*matched, scan.From, *last, scan.From, scan.To, next)
	default:
		opts.IO.Infof("%d of %d jobs match", t.Rows(), n)
	}
	return nil
}

// listColumnNames are job list's table columns.
var listColumnNames = []string{"ID", "STATUS", "PRICE", "DEADLINE", "ROBOT", "BUYER", "NOTE"}

// Column widths a row cannot know in advance are set from what the column holds:
// priceDigits integer digits of a price (a billion tokens), rawPriceDigits for a raw
// amount when the decimals are unknown, a deadline as ui.Relative writes one up to a
// thousand days away. A larger value pushes its own row right, and only that row.
const (
	priceDigits    = 9
	rawPriceDigits = 18
	deadlineWidth  = len("passed 999d23h ago")
)

// listColumns sizes job list's columns before the first job is read, from the scan:
// the digits of its last id, the longest status name, a price in the token's decimals
// and symbol, a relative deadline, a shortened bytes32 or address.
func listColumns(scan *jobs.Scan) []ui.Column {
	status := 0
	for _, name := range vrwx.StatusNames() {
		status = max(status, len(name))
	}
	price := rawPriceDigits
	if scan.Decimals >= 0 {
		price = priceDigits + 1 + scan.Decimals
		if scan.Symbol != "" {
			price += 1 + len([]rune(scan.Symbol))
		}
	}
	short := len([]rune(ui.Short(common.Hash{}.Hex())))
	widths := []int{len(scan.To.String()), status, price, deadlineWidth, short, short, 0}
	cols := make([]ui.Column, len(listColumnNames))
	for i, name := range listColumnNames {
		cols[i] = ui.Column{Header: name, Width: widths[i]}
	}
	return cols
}

// addRow writes job j as a row of the listing's table; cells is reused row to row.
func addRow(t *ui.StreamTable, s ui.Styles, scan *jobs.Scan, j *vrwx.Job, cells []string) error {
	price := j.Price.String()
	if scan.Decimals >= 0 {
		price = units.FormatFixed(j.Price, scan.Decimals)
		if scan.Symbol != "" {
			price += " " + scan.Symbol
		}
	}
	deadline := j.Deadline.String()
	if dl, ok := vrwx.UnixTime(j.Deadline); ok {
		deadline = ui.Relative(dl, scan.Now)
	}
	note, ns := "", s.Faint
	switch {
	case j.Overdue(scan.Now):
		note, ns = "overdue", s.Crit
	case j.Settleable(scan.Now):
		note, ns = "settleable", s.OK
	}
	cells = append(cells[:0], j.ID.String(), j.Status.String(), price, deadline, ui.Short(j.RobotID.Hex()), ui.Short(j.Buyer.Hex()), note)
	return t.Row(cells, []*lipgloss.Style{nil, statusStyle(s, j.Status), nil, nil, nil, nil, &ns})
}
