// Package monitor reads the state of the whole VRWX system at one moment — each
// relayer's balance and nonces, gas price and base fee, the escrow's job count, every
// RPC endpoint's head and latency, the API's /health, and the DLQ depth from the API's
// database — without judging it. The exporter publishes these readings; `status` and
// `doctor` can judge the same ones.
//
// The chain values come from one JSON-RPC batch (one HTTP request); the other RPC
// URLs, the API and the database are read at the same time, so a read costs about
// one round trip of its slowest part. Each part fails on its own: a dead RPC, API or
// database is a reading that says so, never a failed read of everything.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Reader says what to read and through which clients. Zero fields are not read:
// no Escrow, no escrow reading; no APIURL, no API reading; no DBPath, the database
// is never touched.
type Reader struct {
	// Chain is the failover client the batched chain reads go through.
	Chain *chain.Client
	// Endpoints are single-URL clients for every RPC URL, in failover order (see
	// NewEndpoints); each is probed for its head and latency. The one Chain is using
	// is not probed again: the batch itself measures it.
	Endpoints []*chain.Client
	Relayers  []common.Address
	Escrow    *common.Address
	// Health reads APIURL's /health (nil: a default client).
	Health *health.Client
	APIURL string
	// DBPath is the API's SQLite database, opened read-only for each read and closed
	// again, so a restore is never blocked by a monitor holding it open.
	DBPath string
	Now    func() time.Time
}

// NewEndpoints returns one client per URL, each bound to chainID (a URL on another
// chain reads as down, refused by the chain-id guard) and without retries: a probe
// measures the endpoint as it is.
func NewEndpoints(urls []string, chainID uint64) []*chain.Client {
	out := make([]*chain.Client, len(urls))
	for i, u := range urls {
		out[i] = chain.New(chain.Options{URLs: []string{u}, ChainID: chainID, Retries: -1})
	}
	return out
}

// Readings is the state of the system at At.
type Readings struct {
	At time.Time
	// Duration is how long the whole read took.
	Duration time.Duration
	Chain    Chain
	Gas      Gas
	Head     Head
	Relayers []Relayer
	// Escrow is nil when no escrow address is configured.
	Escrow *Escrow
	// RPCs has one reading per endpoint, in failover order.
	RPCs []RPC
	// API is nil when no API URL is configured.
	API *API
	// DLQ is nil when no database is configured.
	DLQ *DLQ
}

// Chain is the outcome of the batched read.
type Chain struct {
	Up  bool
	Err error
	// RPC is the (redacted) URL that answered.
	RPC     string
	ChainID uint64
	Latency time.Duration
}

// Gas is the network's fee level.
type Gas struct {
	Price *big.Int // eth_gasPrice, wei
	// BaseFee is the latest block's base fee (nil before London).
	BaseFee *big.Int
	Err     error
}

// Head is the latest block as the batch saw it.
type Head struct {
	Number uint64
	Time   time.Time
	Err    error
}

// Relayer is one relayer account.
type Relayer struct {
	Address      common.Address
	Balance      *big.Int // wei
	NonceLatest  uint64
	NoncePending uint64
	Err          error
}

// Pending is how many of the account's transactions wait in the mempool.
func (r Relayer) Pending() uint64 {
	if r.NoncePending > r.NonceLatest {
		return r.NoncePending - r.NonceLatest
	}
	return 0
}

// Escrow is the JobEscrow's job count.
type Escrow struct {
	Address  common.Address
	JobCount *big.Int
	Err      error
}

// RPC is one endpoint's head and latency.
type RPC struct {
	// Index is the URL's place in the failover order (0 = first).
	Index int
	// URL is redacted: providers put API keys in their URLs.
	URL      string
	Up       bool
	Err      error
	Head     uint64
	HeadTime time.Time
	Latency  time.Duration
	// Lag is how many blocks this endpoint's head is behind the highest head any
	// endpoint reported (0 for the leader; meaningless when down).
	Lag uint64
}

// API is the API's /health.
type API struct {
	URL string
	// Up is true when /health answered 200 with its JSON and status "ok".
	Up      bool
	Err     error
	Latency time.Duration
	// Health is the answer (nil when there was none to decode).
	Health *health.Health
}

// DLQ is the DLQ's state, read from the database.
type DLQ struct {
	Path    string
	Err     error
	Summary dlq.Summary
}

// Read reads everything at once; it never fails as a whole. ctx bounds it.
func (r *Reader) Read(ctx context.Context) Readings {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	out := Readings{At: start, RPCs: make([]RPC, len(r.Endpoints))}
	var primary string
	if r.Chain != nil {
		primary = r.Chain.URL()
	}
	var wg sync.WaitGroup
	if r.Chain != nil {
		wg.Go(func() { r.readChain(ctx, &out) })
	}
	for i, ep := range r.Endpoints {
		out.RPCs[i] = RPC{Index: i, URL: chain.RedactURL(ep.URL())}
		if ep.URL() == primary {
			continue
		}
		wg.Go(func() { out.RPCs[i] = probe(ctx, i, ep) })
	}
	if r.APIURL != "" {
		out.API = &API{URL: health.URL(r.APIURL)}
		wg.Go(func() { r.readAPI(ctx, out.API) })
	}
	if r.DBPath != "" {
		out.DLQ = &DLQ{Path: r.DBPath}
		wg.Go(func() { readDLQ(ctx, out.DLQ, start) })
	}
	wg.Wait()
	r.fillPrimary(&out, primary)
	setLags(out.RPCs)
	out.Duration = now().Sub(start)
	return out
}

func (r *Reader) readChain(ctx context.Context, out *Readings) {
	c := r.Chain
	out.Chain.ChainID = c.ChainID()
	b := c.NewBatch()
	type relayerCalls struct {
		bal             *chain.Result[hexutil.Big]
		latest, pending *chain.Result[hexutil.Uint64]
	}
	calls := make([]relayerCalls, len(r.Relayers))
	for i, a := range r.Relayers {
		calls[i] = relayerCalls{bal: b.Balance(a, chain.Latest), latest: b.Nonce(a, chain.Latest), pending: b.Nonce(a, chain.Pending)}
	}
	gas := b.GasPrice()
	head := b.Header(chain.Latest)
	var jobCount *chain.Result[hexutil.Bytes]
	if r.Escrow != nil {
		jobCount = b.Call(*r.Escrow, vrwx.Pack(vrwx.EscrowABI(), "jobCount"), chain.Latest)
	}
	start := time.Now()
	err := b.Do(ctx)
	out.Chain.Latency = time.Since(start)
	out.Chain.RPC = chain.RedactURL(c.URL())
	if err != nil {
		out.Chain.Err = err
		out.Gas.Err, out.Head.Err = err, err
		out.Relayers = make([]Relayer, len(r.Relayers))
		for i, a := range r.Relayers {
			out.Relayers[i] = Relayer{Address: a, Err: err}
		}
		if r.Escrow != nil {
			out.Escrow = &Escrow{Address: *r.Escrow, Err: err}
		}
		return
	}
	out.Chain.Up = true
	out.Relayers = make([]Relayer, len(r.Relayers))
	for i, a := range r.Relayers {
		rl := Relayer{Address: a}
		switch {
		case calls[i].bal.Err() != nil:
			rl.Err = fmt.Errorf("eth_getBalance %s: %w", a.Hex(), calls[i].bal.Err())
		case calls[i].latest.Err() != nil:
			rl.Err = fmt.Errorf("eth_getTransactionCount %s latest: %w", a.Hex(), calls[i].latest.Err())
		case calls[i].pending.Err() != nil:
			rl.Err = fmt.Errorf("eth_getTransactionCount %s pending: %w", a.Hex(), calls[i].pending.Err())
		default:
			rl.Balance = calls[i].bal.Value.ToInt()
			rl.NonceLatest, rl.NoncePending = uint64(calls[i].latest.Value), uint64(calls[i].pending.Value)
		}
		out.Relayers[i] = rl
	}
	if err := gas.Err(); err != nil {
		out.Gas.Err = fmt.Errorf("eth_gasPrice: %w", err)
	} else {
		out.Gas.Price = gas.Value.ToInt()
	}
	switch {
	case head.Err() != nil:
		out.Head.Err = fmt.Errorf("eth_getBlockByNumber latest: %w", head.Err())
	case head.Value == nil:
		out.Head.Err = errors.New("the RPC returned no latest block")
	default:
		out.Head.Number, out.Head.Time = uint64(head.Value.Number), time.Unix(int64(head.Value.Time), 0)
		if head.Value.BaseFee != nil {
			out.Gas.BaseFee = head.Value.BaseFee.ToInt()
		}
	}
	if r.Escrow != nil {
		e := &Escrow{Address: *r.Escrow}
		if err := jobCount.Err(); err != nil {
			e.Err = fmt.Errorf("jobCount() on %s: %w", r.Escrow.Hex(), err)
		} else if n, err := vrwx.DecodeUint(jobCount.Value); err != nil {
			e.Err = fmt.Errorf("jobCount() on %s: %v (is there a JobEscrow at that address?)", r.Escrow.Hex(), err)
		} else {
			e.JobCount = n
		}
		out.Escrow = e
	}
}

// fillPrimary records the endpoint the batch went to: the batch measured it.
func (r *Reader) fillPrimary(out *Readings, primary string) {
	if r.Chain == nil {
		return
	}
	for i, ep := range r.Endpoints {
		if ep.URL() != primary {
			continue
		}
		rpc := &out.RPCs[i]
		switch {
		case out.Chain.Err != nil:
			rpc.Err = out.Chain.Err
		case r.Chain.URL() != primary:
			rpc.Err = fmt.Errorf("did not answer the batched read; the client failed over to %s", chain.RedactURL(r.Chain.URL()))
		case out.Head.Err != nil:
			rpc.Err = out.Head.Err
		default:
			rpc.Up, rpc.Head, rpc.HeadTime, rpc.Latency = true, out.Head.Number, out.Head.Time, out.Chain.Latency
		}
	}
}

// probe reads one endpoint's head (chain-id guard included on the first probe).
func probe(ctx context.Context, i int, ep *chain.Client) RPC {
	out := RPC{Index: i, URL: chain.RedactURL(ep.URL())}
	b := ep.NewBatch()
	head := b.Header(chain.Latest)
	start := time.Now()
	err := b.Do(ctx)
	out.Latency = time.Since(start)
	switch {
	case err != nil:
		out.Err = err
	case head.Err() != nil:
		out.Err = fmt.Errorf("eth_getBlockByNumber latest: %w", head.Err())
	case head.Value == nil:
		out.Err = errors.New("the RPC returned no latest block")
	default:
		out.Up, out.Head, out.HeadTime = true, uint64(head.Value.Number), time.Unix(int64(head.Value.Time), 0)
	}
	return out
}

func setLags(rpcs []RPC) {
	var top uint64
	for _, r := range rpcs {
		if r.Up && r.Head > top {
			top = r.Head
		}
	}
	for i := range rpcs {
		if rpcs[i].Up {
			rpcs[i].Lag = top - rpcs[i].Head
		}
	}
}

func (r *Reader) readAPI(ctx context.Context, out *API) {
	c := r.Health
	if c == nil {
		c = &health.Client{}
	}
	res, err := c.Get(ctx, r.APIURL)
	out.Latency = res.Latency
	if res.URL != "" {
		out.URL = res.URL
	}
	if err != nil {
		out.Err = err
		return
	}
	h := res.Health
	out.Health = &h
	if h.Status != "ok" {
		out.Err = fmt.Errorf("API %s reports status %q", out.URL, h.Status)
		return
	}
	out.Up = true
}

func readDLQ(ctx context.Context, out *DLQ, now time.Time) {
	// A missing file is worth saying plainly; SQLite's read-only open would only say
	// "unable to open database file".
	if _, err := os.Stat(out.Path); errors.Is(err, fs.ErrNotExist) {
		out.Err = fmt.Errorf("database %s does not exist", out.Path)
		return
	}
	db, err := apidb.OpenReadOnly(out.Path)
	if err != nil {
		out.Err = err
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	sum, err := dlq.Stats(ctx, db, now)
	if err != nil {
		out.Err = fmt.Errorf("database %s: %w", out.Path, err)
		return
	}
	out.Summary = sum
}
