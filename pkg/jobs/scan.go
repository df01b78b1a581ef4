// Package jobs reads the escrow's jobs the way an operator asks about them: every
// job of an id range, read in batched windows and handed over one at a time in id
// order, and the escrow's and registry's events over a block range, read in chunks
// and handed over in chain order. Nothing is collected: memory stays flat however
// many jobs or events there are, and a caller can print each one as it arrives.
package jobs

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// DefaultWindow is how many ids one scan step reads (10 JSON-RPC batches of 100):
// small enough for steady progress and flat memory, large enough to keep the
// client's 4 batches in flight.
const DefaultWindow = 1000

// Filter selects jobs; the zero Filter selects every job.
type Filter struct {
	// Statuses, when not empty, are the statuses wanted.
	Statuses map[vrwx.Status]bool
	Robot    *common.Hash
	Buyer    *common.Address
	// Overdue selects FUNDED jobs past their deadline, Settleable COMPLETED jobs past
	// settleAfter; both together select either kind.
	Overdue, Settleable bool
}

// Match reports whether j passes every part of the filter at now.
func (f *Filter) Match(j *vrwx.Job, now time.Time) bool {
	if len(f.Statuses) > 0 && !f.Statuses[j.Status] {
		return false
	}
	if f.Robot != nil && j.RobotID != *f.Robot {
		return false
	}
	if f.Buyer != nil && j.Buyer != *f.Buyer {
		return false
	}
	if f.Overdue || f.Settleable {
		if !(f.Overdue && j.Overdue(now)) && !(f.Settleable && j.Settleable(now)) {
			return false
		}
	}
	return true
}

// Scan is a range of job ids about to be read, with what a listing shows beside the
// jobs: the settlement token's decimals and symbol, and the time deadlines are
// judged against.
type Scan struct {
	c      *chain.Client
	Escrow common.Address
	// JobCount is the escrow's jobCount(); From..To is the range to read, To < From
	// when there is nothing to read.
	JobCount *big.Int
	From, To *big.Int
	// Decimals is the token's decimals, -1 when they could not be read; Symbol is ""
	// when it could not be read.
	Decimals int
	Symbol   string
	// Now is the later of the wall clock and the head's time.
	Now time.Time
	// Window is how many ids one step reads (DefaultWindow when 0).
	Window int
}

// OpenScan reads, in one round trip, the escrow's jobCount, its token's decimals and
// symbol, and the head; then sets the range: from (default 1) to the smaller of to
// and jobCount.
func OpenScan(ctx context.Context, c *chain.Client, escrow common.Address, from, to *big.Int, wall time.Time) (*Scan, error) {
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
		return nil, err
	}
	countW := res[countStep.Index()].Word(0)
	if countW == nil {
		return nil, errs.Failedf("escrow %s: jobCount() %s on chain %d", escrow.Hex(), failure(res[countStep.Index()]), c.ChainID()).
			WithFix("check JOB_ESCROW_ADDRESS / the profile's escrow (vrwxctl contracts check)")
	}
	s := &Scan{c: c, Escrow: escrow, JobCount: new(big.Int).SetBytes(countW), Decimals: -1}
	if w := res[decStep.Index()].Word(0); w != nil {
		if d, err := vrwx.DecodeDecimals(w); err == nil {
			s.Decimals = int(d)
		}
	}
	if r := res[symStep.Index()]; r.OK {
		s.Symbol, _ = vrwx.DecodeSymbol(r.Data)
	}
	var headTime uint64
	if extra[0].Error == nil && head != nil {
		headTime = uint64(head.Time)
	}
	s.Now = vrwx.Now(wall, headTime)
	s.From, s.To = big.NewInt(1), new(big.Int).Set(s.JobCount)
	if from != nil {
		s.From = new(big.Int).Set(from)
	}
	if to != nil && to.Cmp(s.JobCount) < 0 {
		s.To = new(big.Int).Set(to)
	}
	return s, nil
}

// Size is the number of ids in the range (0 when To < From).
func (s *Scan) Size() *big.Int {
	if s.From.Cmp(s.To) > 0 {
		return new(big.Int)
	}
	return new(big.Int).Add(new(big.Int).Sub(s.To, s.From), big.NewInt(1))
}

// Each reads the range in windows of Window ids, in id order, and calls fn with every
// job that exists and matches filter; progress, when set, is called after each
// window's jobs with how many ids have been read (the moment to flush output). The
// next window is read while this one is handed over, so the node is never idle
// between windows; at most two windows are held. An error from fn or progress stops
// the scan and is returned.
func (s *Scan) Each(ctx context.Context, filter Filter, fn func(*vrwx.Job) error, progress func(read uint64) error) error {
	window := s.Window
	if window <= 0 {
		window = DefaultWindow
	}
	ctx, cancel := context.WithCancel(ctx)
	windows := make(chan scanWindow)
	go s.read(ctx, window, windows)
	defer func() {
		// Stop the reader and wait for it, so nothing is left reading after a return.
		cancel()
		for range windows {
		}
	}()
	var read uint64
	for w := range windows {
		if w.err != nil {
			return w.err
		}
		for i, r := range w.calls {
			if err := r.Err(); err != nil {
				return errs.Failedf("jobs(%s) on escrow %s", w.ids[i], s.Escrow.Hex()).Wrap(err)
			}
			j, err := vrwx.DecodeJob(w.ids[i], r.Value)
			if err != nil {
				return errs.Failedf("escrow %s", s.Escrow.Hex()).Wrap(err)
			}
			if j.Exists() && filter.Match(j, s.Now) {
				if err := fn(j); err != nil {
					return err
				}
			}
		}
		read += uint64(len(w.ids))
		if progress != nil {
			if err := progress(read); err != nil {
				return err
			}
		}
	}
	// The reader stops early, without an error of its own, only when ctx ended.
	return ctx.Err()
}

// scanWindow is one window's ids and their jobs(id) answers, or why it failed.
type scanWindow struct {
	ids   []*big.Int
	calls []*chain.Result[hexutil.Bytes]
	err   error
}

// read sends the range's windows in order on out, each read in one call of the
// client's batching (JSON-RPC batches of 100, 4 in flight), and closes out after the
// last window, a failed one, or when ctx ends.
func (s *Scan) read(ctx context.Context, window int, out chan<- scanWindow) {
	defer close(out)
	for start := new(big.Int).Set(s.From); start.Cmp(s.To) <= 0; {
		w := scanWindow{ids: make([]*big.Int, 0, window), calls: make([]*chain.Result[hexutil.Bytes], 0, window)}
		b := s.c.NewBatch()
		for id := new(big.Int).Set(start); len(w.ids) < window && id.Cmp(s.To) <= 0; id = new(big.Int).Add(id, big.NewInt(1)) {
			w.ids = append(w.ids, id)
			w.calls = append(w.calls, b.Call(s.Escrow, vrwx.PackJobs(id), chain.Latest))
		}
		w.err = b.Do(ctx)
		select {
		case out <- w:
		case <-ctx.Done():
			return
		}
		if w.err != nil {
			return
		}
		start = new(big.Int).Add(w.ids[len(w.ids)-1], big.NewInt(1))
	}
}

// failure says why a step returned no uint256.
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
